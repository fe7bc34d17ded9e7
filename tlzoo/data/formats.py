"""The core's table readers: CSV, TSV, JSON, JSONL and hub datasets, registered as ``dataset`` components.

A table reader returns the file's own columns as a ``datasets.Dataset`` (Arrow, memory-mapped,
cached); each task then finds its columns in it. TSV is read with quoting off (SST-2 and GLUE put
bare quotes inside sentences); CSV follows RFC 4180 quoting. Every file is first checked line by line
(through :class:`~tlzoo.data.source.DataSource`, which decompresses and decodes), so a bad line is
reported by number before ``datasets`` sees it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from itertools import islice
from typing import Any, ClassVar

from tlzoo.api import Spec, TlzooError
from tlzoo.data.source import DataSource
from tlzoo.hookspecs import hookimpl


def iter_jsonl(source: DataSource, expected: str = "one JSON object per line") -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line; a bad line is an error naming it."""
    for number, line in source.lines(expected):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TlzooError(f"{source}, line {number}: not valid JSON ({exc.msg}); expected {expected}") from exc
        if not isinstance(value, dict):
            raise TlzooError(f"{source}, line {number}: expected a JSON object, got {type(value).__name__}")
        yield number, value


def _load(builder: str, source: DataSource, streaming: bool, **kwargs: Any) -> Any:
    from datasets import load_dataset

    try:
        dataset = load_dataset(builder, data_files=source.path, split="train", streaming=streaming, **kwargs)
        if streaming and dataset.column_names is None:
            # The CSV builder announces no columns when streaming; infer them from the first rows.
            dataset = dataset._resolve_features()
    except Exception as exc:  # datasets wraps parser errors in several types
        cause = exc.__cause__ or exc
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0][:200]
        raise TlzooError(f"{source}: could not be read as {builder} ({reason})") from exc
    return dataset


def _no_records(source: DataSource, what: str) -> TlzooError:
    return TlzooError(f"{source} holds no examples; expected {what}")


class CsvReader:
    """Comma-separated rows under a header line of column names."""

    name: ClassVar[str] = "csv"
    extensions: ClassVar[tuple[str, ...]] = (".csv",)
    produces: ClassVar[str] = "table"
    delimiter: ClassVar[str] = ","
    quoting: ClassVar[int] = csv.QUOTE_MINIMAL

    def read(self, source: DataSource, streaming: bool = False) -> Any:
        what = f"a {self.name} file with a header line of column names"
        rows = csv.reader((line for _, line in source.lines(f"UTF-8 {self.name}")), delimiter=self.delimiter,
                          quoting=self.quoting)
        records = 0
        try:
            header = next(rows, None)
            if not header:
                raise TlzooError(f"{source}, line 1: expected a header line with column names")
            for row in rows:
                if row and len(row) != len(header):
                    raise TlzooError(f"{source}, line {rows.line_num}: {len(row)} fields, expected {len(header)} "
                                     f"({self.delimiter!r}-separated, like the header on line 1)")
                records += bool(row)
        except csv.Error as exc:
            raise TlzooError(f"{source}, line {rows.line_num}: not valid {self.name} ({exc})") from None
        if not records:
            raise _no_records(source, f"{what} and at least one row")
        extra = {"sep": "\t", "quoting": csv.QUOTE_NONE} if self.delimiter == "\t" else {}
        return _load("csv", source, streaming, encoding="utf-8-sig", keep_default_na=False, **extra)

    def location(self, source: DataSource, row: int) -> str:
        return f"{source}, line {row + 2}"  # under the header line


class TsvReader(CsvReader):
    """Tab-separated rows under a header line; quotes are ordinary characters."""

    name = "tsv"
    extensions = (".tsv",)
    delimiter = "\t"
    quoting = csv.QUOTE_NONE


class JsonlReader:
    """One JSON object per line."""

    name: ClassVar[str] = "jsonl"
    extensions: ClassVar[tuple[str, ...]] = (".jsonl",)
    produces: ClassVar[str] = "table"

    def read(self, source: DataSource, streaming: bool = False) -> Any:
        if not sum(1 for _ in iter_jsonl(source)):
            raise _no_records(source, "at least one JSON object")
        return _load("json", source, streaming)

    def location(self, source: DataSource, row: int) -> str:
        """The line of the row-th object (blank lines hold none); only called to report an error."""
        filled = (number for number, line in source.lines() if line.strip())
        return f"{source}, line {next(islice(filled, row, None), row + 1)}"


class JsonReader:
    """A JSON list of objects (or one object per line)."""

    name: ClassVar[str] = "json"
    extensions: ClassVar[tuple[str, ...]] = (".json",)
    produces: ClassVar[str] = "table"

    def read(self, source: DataSource, streaming: bool = False) -> Any:
        # Arrow's reader crashes the process (a segmentation fault) on a file that starts with a bare
        # value such as ``null``: check the opening first.
        for number, line in source.lines("a JSON list of objects"):
            head = line.lstrip()
            if head:
                if head[0] not in "[{":
                    raise TlzooError(f"{source}, line {number}: expected a JSON list of objects or one JSON object "
                                     f"per line, got {head[:20]!r}")
                break
        return _load("json", source, streaming)

    def location(self, source: DataSource, row: int) -> str:
        return f"{source}, record {row + 1}"


class HubReader:
    """hub:NAME[:CONFIG]@SPLIT, a dataset from the HuggingFace Hub, when it can be reached."""

    name: ClassVar[str] = "hub"
    extensions: ClassVar[tuple[str, ...]] = ()
    produces: ClassVar[str] = "table"

    def read(self, source: DataSource, streaming: bool = False) -> Any:
        from tlzoo.hub import load_hub_dataset

        return load_hub_dataset(source.path)

    def location(self, source: DataSource, row: int) -> str:
        return f"{source}, row {row + 1}"


READERS = (CsvReader, TsvReader, JsonReader, JsonlReader, HubReader)


def reader_spec(reader: type, factory: str, description: str) -> Spec:
    """The ``dataset`` spec of a reader class; its listing facts come from the class."""
    return Spec(reader.name, "dataset", factory, description,
                {"extensions": list(reader.extensions), "produces": reader.produces})


@hookimpl
def tlzoo_register(registry: Any) -> None:
    for reader in READERS:
        registry.add(reader_spec(reader, f"{__name__}:{reader.__name__}", (reader.__doc__ or "").strip()))
