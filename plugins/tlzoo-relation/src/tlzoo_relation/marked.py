"""Relation examples as plain Python: a text with two entity spans, parsed from marked text or checked
from character offsets, and relation labels split into relation and direction. No torch, no datasets.

Marked text puts ``<e1>...</e1>`` and ``<e2>...</e2>`` around the two entities (the SemEval-2010 Task 8
form); ``e1`` is the first argument of a directed label such as ``Component-Whole(e2,e1)``. Spans are
``[start, end)`` character offsets into the unmarked text; the ``head`` is ``e1``, the ``tail`` ``e2``.
Problems raise :class:`ValueError` with a message that says what was expected; callers add the file and
line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TAGS = ("<e1>", "</e1>", "<e2>", "</e2>")
_TAG = re.compile(r"</?e[12]>")
_DIRECTED = re.compile(r"^(?P<relation>.+)\((?P<first>e[12]),(?P<second>e[12])\)$")
EXPECTED_MARKUP = "<e1>...</e1> and <e2>...</e2> around the two entities"


@dataclass(frozen=True)
class Span:
    """``[start, end)`` character offsets of an entity, and its type (``""`` when not given)."""

    start: int
    end: int
    type: str = ""


@dataclass(frozen=True)
class Example:
    """A text with its two entities: ``head`` (``e1``) and ``tail`` (``e2``)."""

    text: str
    head: Span
    tail: Span


def parse_marked(marked: str) -> Example:
    """The unmarked text and the two spans of ``<e1>..</e1>``/``<e2>..</e2>`` marked text."""
    found: dict[str, int] = {}
    plain: list[str] = []
    length, cursor = 0, 0
    for match in _TAG.finditer(marked):
        plain.append(marked[cursor:match.start()])
        length += match.start() - cursor
        cursor = match.end()
        tag = match.group()
        if tag in found:
            raise ValueError(f"{tag} appears twice; expected {EXPECTED_MARKUP}, once each")
        found[tag] = length
    plain.append(marked[cursor:])
    missing = [tag for tag in TAGS if tag not in found]
    if missing:
        listed = " or ".join([", ".join(missing[:-1]), missing[-1]] if len(missing) > 1 else missing)
        raise ValueError(f"no {listed} marker; expected {EXPECTED_MARKUP}")
    spans = []
    for entity in ("e1", "e2"):
        start, end = found[f"<{entity}>"], found[f"</{entity}>"]
        if end < start:
            raise ValueError(f"</{entity}> comes before <{entity}>; expected {EXPECTED_MARKUP}")
        spans.append(Span(start, end))
    text = "".join(plain)
    problem = span_problem(text, spans[0], spans[1])
    if problem:
        raise ValueError(problem)
    return Example(text, spans[0], spans[1])


def span_problem(text: str, head: Span, tail: Span) -> str | None:
    """Why two spans cannot be the entities of ``text`` (out of range, empty, overlapping), or None."""
    for name, span in (("head (e1)", head), ("tail (e2)", tail)):
        if not (0 <= span.start < span.end <= len(text)):
            if span.start == span.end and 0 <= span.start <= len(text):
                return f"the {name} entity is empty (offsets {span.start}-{span.end}); expected some text"
            return (f"the {name} span {span.start}-{span.end} is outside the text (0-{len(text)}); expected "
                    f"0 <= start < end <= {len(text)}")
    if head.start < tail.end and tail.start < head.end:
        return (f"the head (e1) span {head.start}-{head.end} and the tail (e2) span {tail.start}-{tail.end} "
                f"overlap; expected two separate entities")
    return None


def parse_span(value: Any) -> Span:
    """A span given as ``[start, end]``, ``{"start": .., "end": .., "type": ..}`` or ``"start:end"``."""
    if isinstance(value, str):
        parts = re.split(r"[:,]", value.strip())
        if len(parts) == 2 and all(p.strip().lstrip("-").isdigit() for p in parts):
            return Span(int(parts[0]), int(parts[1]))
    elif isinstance(value, Mapping) and "start" in value and "end" in value:
        start, end, kind = value["start"], value["end"], value.get("type")
        if _is_int(start) and _is_int(end) and (kind is None or isinstance(kind, str)):
            return Span(int(start), int(end), kind or "")
    elif isinstance(value, Sequence) and len(value) == 2 and all(_is_int(v) for v in value):
        return Span(int(value[0]), int(value[1]))
    shown = repr(value) if len(repr(value)) < 60 else repr(value)[:57] + "..."
    raise ValueError(f"span {shown} is not character offsets; expected [start, end], \"start:end\" or "
                     f'{{"start": int, "end": int, "type": str (optional)}}')


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def split_label(label: str) -> tuple[str, str | None]:
    """``Component-Whole(e2,e1)`` -> ``("Component-Whole", "e2,e1")``; an undirected label -> ``(label, None)``."""
    match = _DIRECTED.match(label)
    if match and match.group("first") != match.group("second"):
        return match.group("relation"), f"{match.group('first')},{match.group('second')}"
    return label, None


def mark(example: Example, markers: Mapping[str, tuple[str, str]]) -> str:
    """The text with marker strings around the entities: ``markers["e1"] = (open, close)``, and ``e2``."""
    inserts = sorted([(example.head.start, 1, markers["e1"][0]), (example.head.end, 0, markers["e1"][1]),
                      (example.tail.start, 1, markers["e2"][0]), (example.tail.end, 0, markers["e2"][1])])
    pieces, cursor = [], 0
    for offset, _, marker in inserts:
        pieces += [example.text[cursor:offset], marker]
        cursor = offset
    pieces.append(example.text[cursor:])
    return "".join(pieces)


def marker_pair(entity: str, entity_type: str = "") -> tuple[str, str]:
    """The opening and closing markers of ``e1`` or ``e2``, typed (``<e1:PER>``) when a type is given."""
    suffix = f":{entity_type}" if entity_type else ""
    return f"<{entity}{suffix}>", f"</{entity}{suffix}>"
