"""Counting a ``datasets.Dataset``'s table reads: the check that code reads a column once, not once per row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def counted_reads() -> Iterator[list[int]]:
    """Within the block, each ``Dataset`` read (a row, a column, a slice) appends to the yielded list."""
    import datasets

    reads: list[int] = []
    real = datasets.Dataset._getitem

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return real(self, *args, **kwargs)

    datasets.Dataset._getitem = counting
    try:
        yield reads
    finally:
        datasets.Dataset._getitem = real
