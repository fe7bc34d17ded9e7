"""Plain-text tables for the CLI (no dependency: listing must start fast)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import click


def print_table(rows: Sequence[Mapping[str, str]], columns: Sequence[str], max_width: int = 60) -> None:
    """Aligned columns; cells are cut at ``max_width`` except in the last column (errors stay whole)."""
    if not rows:
        click.echo("(none)")
        return
    last = len(columns) - 1
    cells = [[str(row.get(c, ""))[:None if i == last else max_width] for i, c in enumerate(columns)] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip())
    for r in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
