"""Plain-text tables for the CLI (no dependency: listing must start fast)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import click


def print_table(rows: Sequence[Mapping[str, str]], columns: Sequence[str], max_width: int = 60) -> None:
    if not rows:
        click.echo("(none)")
        return
    cells = [[str(row.get(c, ""))[:max_width] for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    click.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip())
    for r in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
