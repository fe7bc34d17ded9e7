"""The one data-source layer: every task reads its files through a :class:`DataSource`.

A source is a local file (optionally ``.gz``, ``.bz2`` or ``.xz`` compressed) or a hub dataset
``hub:NAME[:CONFIG]@SPLIT``. It chooses the reader (a ``dataset`` component of the catalog) by
``--format NAME`` or else by the file's extension, checks that the file exists and is not empty, opens
it decompressed, and decodes it line by line so that bad bytes are reported with their line. Readers
turn it into rows; :meth:`DataSource.where` names the file line of a row for the tasks' own checks.

Nothing here imports torch or transformers; ``datasets`` is imported by the readers when they read.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tlzoo.api import TlzooError
from tlzoo.hub import is_hub_dataset

COMPRESSIONS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
HUB_FORMAT = "hub"


@dataclass(frozen=True)
class DataSource:
    """A data file or hub dataset, and the format it is read as (``None``: chosen by extension)."""

    path: str
    format: str | None = None

    def __str__(self) -> str:
        return self.path

    def __fspath__(self) -> str:
        return self.path

    @property
    def is_hub(self) -> bool:
        return is_hub_dataset(self.path)

    @property
    def compression(self) -> str:
        """``.gz``, ``.bz2``, ``.xz`` or ``""``."""
        suffix = Path(self.path).suffix.lower()
        return suffix if suffix in COMPRESSIONS else ""

    @property
    def extension(self) -> str:
        """The last suffix before any compression suffix, lower-case: ``train.jsonl.gz`` -> ``.jsonl``."""
        name = Path(self.path).name
        if self.compression:
            name = name[:-len(self.compression)]
        return Path(name).suffix.lower()

    def check(self, split: str, expected: str) -> None:
        """The file exists and is not empty (hub datasets are checked when read)."""
        if self.is_hub:
            return
        file = Path(self.path)
        if not file.is_file():
            raise TlzooError(f"{split} file {self.path} does not exist")
        if file.stat().st_size == 0:
            raise TlzooError(f"{split} file {self.path} is empty; expected {expected}")

    def open_binary(self) -> IO[bytes]:
        opener = COMPRESSIONS.get(self.compression, open)
        try:
            return opener(self.path, "rb")  # type: ignore[operator]
        except OSError as exc:
            raise TlzooError(f"{self.path}: cannot be read ({exc.strerror or exc})") from exc

    def lines(self, expected: str = "UTF-8 text") -> Iterator[tuple[int, str]]:
        """``(line number, text)`` of each line, decompressed and decoded one line at a time, so a byte
        that is not UTF-8 is reported with its line. Line ends are kept; a leading BOM is dropped."""
        with self.open_binary() as handle:
            number = 0
            try:
                for number, raw in enumerate(handle, 1):
                    try:
                        text = raw.decode("utf-8")
                    except UnicodeDecodeError as exc:
                        raise TlzooError(f"{self.path}, line {number}: not UTF-8 text (byte {exc.start + 1} of "
                                         f"the line); expected {expected}") from None
                    yield number, text.removeprefix("\ufeff") if number == 1 else text
            except (OSError, EOFError, lzma.LZMAError) as exc:
                raise TlzooError(f"{self.path}, line {number + 1}: the {self.compression} data is damaged "
                                 f"({exc})") from exc

    def text(self, expected: str = "UTF-8 text") -> str:
        """The whole file as text (see :meth:`lines`)."""
        return "".join(line for _, line in self.lines(expected))

    def reader(self, accepts: Sequence[str] = ("table",), prefer: Sequence[str] = (),
               fallback: str | None = None) -> Any:
        """The reader for this source, built from the catalog.

        ``--format`` wins; else a reader claiming the extension, the task's own (``prefer``) before
        table readers; else ``fallback``. ``accepts`` are the row kinds (``produces``) the task reads:
        a reader of another kind is an error listing the formats that fit.
        """
        from tlzoo.plugins import registry

        specs = registry().specs("dataset")
        fitting = [s for s in specs if s.metadata.get("produces") in accepts]
        if self.is_hub:
            name = HUB_FORMAT
        elif self.format:
            name = self.format
        else:
            claims = [s for s in fitting if self.extension in s.metadata.get("extensions", ())]
            claims.sort(key=lambda s: (s.name not in prefer, s.metadata.get("produces") != "table"))
            name = claims[0].name if claims else fallback or ""
            if not name:
                raise TlzooError(f"{self.path}: no reader for {self.extension or 'extension-less'} files; "
                                 f"this task reads {describe(fitting)}; name the format with --format NAME")
        spec = next((s for s in specs if s.name == name), None)
        if spec is None:
            raise TlzooError(f"{self.path}: no data format named {name!r}; this task reads {describe(fitting)} "
                             f"(see 'tlzoo list datasets')")
        if spec not in fitting:
            raise TlzooError(f"{self.path}: format {name!r} gives {spec.metadata.get('produces')} rows, which "
                             f"this task does not read; it reads {describe(fitting)}")
        return spec.build()

    def read(self, accepts: Sequence[str] = ("table",), prefer: Sequence[str] = (), fallback: str | None = None,
             **options: Any) -> tuple[Any, Any]:
        """``(reader, rows)``: the chosen reader (its ``produces`` says what the rows are) and its rows."""
        reader = self.reader(accepts, prefer, fallback)
        return reader, reader.read(self, **options)

    def where(self, row: int) -> str:
        """``"file, line N"`` (or ``row N``/``record N``) of row ``row`` (0-based) of a table reader."""
        reader = self.reader()
        locate = getattr(reader, "location", None)
        return locate(self, row) if locate else f"{self.path}, row {row + 1}"


def describe(specs: Sequence[Any]) -> str:
    """``csv (.csv), conll (.conll, .txt), hub (hub:NAME[:CONFIG]@SPLIT)`` for an error message."""
    def one(spec: Any) -> str:
        extensions = ", ".join(spec.metadata.get("extensions") or ())
        if spec.name == HUB_FORMAT:
            extensions = "hub:NAME[:CONFIG]@SPLIT"
        return f"{spec.name} ({extensions})" if extensions else spec.name
    return ", ".join(one(s) for s in specs) or "(no format)"


def as_source(path: str | DataSource, format: str | None = None) -> DataSource:
    """``path`` as a source (a source passes through, keeping its format unless one is given)."""
    if isinstance(path, DataSource):
        return DataSource(path.path, format or path.format)
    return DataSource(str(path), format)
