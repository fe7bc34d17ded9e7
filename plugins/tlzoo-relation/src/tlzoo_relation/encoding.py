"""Tokenising marked text so that both entities survive ``max_length``.

A plain cut at ``max_length`` would drop an entity that sits late in a long text, and with it the
marker the head reads. A text that does not fit is cut around its markers instead: the tokens from the
first marker to the last with context on both sides, or, when the two entities are too far apart for
that, a window at each entity, joined.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any


def encode_marked(tokenizer: Any, marked: Sequence[str], markers: Collection[int], max_length: int) -> dict[str, list]:
    """The tokenizer's columns for each marked text, and ``truncated`` (whether the text was cut)."""
    full = tokenizer(list(marked), truncation=False, return_offsets_mapping=True)
    texts, truncated = list(marked), [False] * len(marked)
    for i, ids in enumerate(full["input_ids"]):
        if len(ids) > max_length:
            texts[i], truncated[i] = _window(marked[i], ids, full["offset_mapping"][i], markers, max_length), True
    encoded = tokenizer(texts, truncation=True, max_length=max_length) if any(truncated) else full
    columns = {k: list(v) for k, v in encoded.items() if k != "offset_mapping"}
    columns["truncated"] = truncated
    return columns


def _window(text: str, ids: Sequence[int], offsets: Sequence[Sequence[int]], markers: Collection[int],
            max_length: int) -> str:
    """The part of ``text`` around its markers that fits ``max_length`` tokens (a few spare for re-tokenising)."""
    content = [i for i, (start, end) in enumerate(offsets) if end > start]  # not [CLS], [SEP]...
    budget = max(max_length - (len(ids) - len(content)) - 4, 2)
    found = [k for k, i in enumerate(content) if ids[i] in markers]
    if not found:
        return _chars(text, offsets, content[:budget])
    first, last = found[0], found[-1]
    if last - first < budget:
        start = max(0, min(first - (budget - (last - first + 1)) // 2, len(content) - budget))
        return _chars(text, offsets, content[start:start + budget])
    # entities too far apart: a window from each entity's opening marker (the one the head reads); the
    # markers come in text order, opening and closing of one entity, then of the other
    second = found[2] if len(found) > 2 else last
    half = budget // 2
    return " ".join([_chars(text, offsets, content[first:first + half]),
                     _chars(text, offsets, content[second:second + budget - half])])


def _chars(text: str, offsets: Sequence[Sequence[int]], tokens: Sequence[int]) -> str:
    return text[offsets[tokens[0]][0]:offsets[tokens[-1]][1]] if tokens else ""
