"""Read CSV, TSV, JSON and JSONL files into a ``datasets.Dataset`` (Arrow, memory-mapped, cached).

TSV is read with quoting off (SST-2 and GLUE put bare quotes inside sentences); CSV follows the
usual RFC 4180 quoting. JSONL is checked line by line first so a malformed line is reported by
number. ``hub:NAME[:CONFIG]@SPLIT`` loads a hub dataset instead (when the hub is reachable).
Errors raise :class:`TlzooError` naming the file, the line and what was expected.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tlzoo.api import TlzooError
from tlzoo.hub import is_hub_dataset, load_hub_dataset

FORMATS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "jsonl"}


def file_format(path: str) -> str:
    suffixes = [s.lower() for s in Path(path).suffixes if s.lower() != ".gz"]
    fmt = FORMATS.get(suffixes[-1] if suffixes else "")
    if fmt is None:
        raise TlzooError(f"{path}: unsupported file type; expected one of {', '.join(FORMATS)}")
    return fmt


def iter_jsonl(path: str, expected: str = "one JSON object per line") -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line; a bad line is an error naming it."""
    with open(path, encoding="utf-8-sig") as handle:
        try:
            lines = list(handle)
        except UnicodeDecodeError as exc:
            raise TlzooError(f"{path}: not UTF-8 text (byte {exc.start}); expected {expected}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TlzooError(f"{path}, line {number}: not valid JSON ({exc.msg}); expected {expected}") from exc
        if not isinstance(value, dict):
            raise TlzooError(f"{path}, line {number}: expected a JSON object, got {type(value).__name__}")
        yield number, value


def _check_table(path: str, delimiter: str, quoting: int) -> int:
    records = 0
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = csv.reader(handle, delimiter=delimiter, quoting=quoting)
        header = next(rows, None)
        if not header:
            raise TlzooError(f"{path}, line 1: expected a header row with column names")
        for row in rows:
            if row and len(row) != len(header):
                raise TlzooError(f"{path}, line {rows.line_num}: {len(row)} fields, expected {len(header)} "
                                 f"({delimiter!r}-separated, like the header)")
            records += bool(row)
    return records


def _check_json_start(path: str) -> None:
    """A JSON file opens with a list or an object (JSON lines). Arrow's reader crashes the process
    (a segmentation fault) on a file that starts with a bare value such as ``null``."""
    with open(path, encoding="utf-8-sig") as handle:
        raw = handle.read(4096)
    head = raw.lstrip()
    if head and head[0] not in "[{":
        line = 1 + raw[:len(raw) - len(head)].count("\n")
        raise TlzooError(f"{path}, line {line}: expected a JSON list of objects or one JSON object per line, "
                         f"got {head[:20]!r}")


def read_table(path: str, fmt: str | None = None, streaming: bool = False) -> Any:
    """Load ``path`` with the matching ``datasets`` builder after a streaming syntax check.

    With ``streaming`` the result is an ``IterableDataset`` read lazily (nothing converted to Arrow).
    """
    from datasets import load_dataset

    if is_hub_dataset(path):
        return load_hub_dataset(path)
    fmt = fmt or file_format(path)
    if Path(path).stat().st_size == 0:
        raise TlzooError(f"{path} is empty; expected a {fmt} file with a header or records")
    records = None
    try:
        if fmt == "jsonl":
            records = sum(1 for _ in iter_jsonl(path))
        elif fmt in ("csv", "tsv"):
            delimiter, quoting = ("\t", csv.QUOTE_NONE) if fmt == "tsv" else (",", csv.QUOTE_MINIMAL)
            records = _check_table(path, delimiter, quoting)
        elif fmt == "json":
            _check_json_start(path)
    except UnicodeDecodeError as exc:
        raise TlzooError(f"{path}: not UTF-8 text (byte {exc.start}); expected a UTF-8 {fmt} file") from exc
    if records == 0:
        raise TlzooError(f"{path} holds no examples; expected at least one record")
    try:
        if fmt in ("csv", "tsv"):
            kwargs: dict[str, Any] = {"sep": "\t", "quoting": csv.QUOTE_NONE} if fmt == "tsv" else {}
            dataset = load_dataset("csv", data_files=path, split="train", encoding="utf-8-sig",
                                   keep_default_na=False, streaming=streaming, **kwargs)
        else:
            dataset = load_dataset("json", data_files=path, split="train", streaming=streaming)
        if streaming and dataset.column_names is None:
            # The CSV builder announces no columns when streaming; infer them from the first rows.
            dataset = dataset._resolve_features()
    except Exception as exc:  # datasets wraps parser errors in several types
        cause = exc.__cause__ or exc
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0][:200]
        raise TlzooError(f"{path}: could not be read as {fmt} ({reason})") from exc
    return dataset


def require_columns(dataset: Any, path: str, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in dataset.column_names]
    if missing:
        raise TlzooError(f"{path}: missing column(s) {', '.join(map(repr, missing))} for {what}; the file has "
                         f"{', '.join(map(repr, dataset.column_names))}")


def detect_column(dataset: Any, path: str, explicit: str | None, candidates: Sequence[str], what: str,
                  flag: str) -> str:
    """The explicit column if given (and present), else the first candidate found (case-insensitive)."""
    if explicit:
        require_columns(dataset, path, [explicit], what)
        return explicit
    by_lower = {c.lower(): c for c in dataset.column_names}
    for candidate in candidates:
        if candidate.lower() in by_lower:
            return by_lower[candidate.lower()]
    raise TlzooError(f"{path}: no {what} column found (looked for {', '.join(candidates)}); the file has "
                     f"{', '.join(map(repr, dataset.column_names))}; name it with {flag}")


def column_values(dataset: Any, column: str) -> list[Any]:
    """All values of a column, for a ``Dataset`` (columnar read) or an ``IterableDataset`` (one pass)."""
    if hasattr(dataset, "__len__"):
        return list(dataset[column])
    return [row[column] for row in dataset.select_columns([column])]
