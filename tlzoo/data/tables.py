"""Tables for the tasks: read any table format through the data-source layer, then find columns in it.

A *table* is a ``datasets.Dataset`` of a file's own columns, as a table reader (CSV, TSV, JSON,
JSONL, a hub dataset, or a format a plugin adds) returns it; see :mod:`tlzoo.data.formats`.
Errors raise :class:`TlzooError` naming the file, the line and what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tlzoo.api import TlzooError
from tlzoo.data.source import DataSource, as_source


def read_table(path: str | DataSource, streaming: bool = False) -> Any:
    """The table at ``path`` (a path, ``hub:...`` or a :class:`DataSource` with its ``--format``).

    With ``streaming`` the result is an ``IterableDataset`` read lazily (nothing converted to Arrow).
    """
    _, table = as_source(path).read(("table",), streaming=streaming)
    return table


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
