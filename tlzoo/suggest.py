"""'Did you mean' for every kind of name a user types: options, backbones, tasks."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable


def close_names(name: str, known: Iterable[str], cutoff: float = 0.8) -> list[str]:
    """Up to three of ``known`` that look like a typo of ``name``, closest first."""
    return difflib.get_close_matches(name, sorted(set(known)), n=3, cutoff=cutoff)


def did_you_mean(name: str, known: Iterable[str], shown: Callable[[str], str] = repr,
                 cutoff: float = 0.8) -> str:
    """``"; did you mean 'x'?"`` (``shown`` formats each name), or ``""`` when nothing is close."""
    close = close_names(name, known, cutoff)
    return f"; did you mean {' or '.join(shown(c) for c in close)}?" if close else ""
