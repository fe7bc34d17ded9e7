"""Tag schemes: detecting which one a file uses, reading entities out of tags, writing them back.

Supported schemes:

- ``IOB2`` (BIO): ``B-X`` starts every entity, ``I-X`` continues it.
- ``IOB1``: ``I-X`` starts an entity; ``B-X`` only separates two adjacent entities of one type
  (the original CoNLL-2003 files).
- ``IOBES`` (BIOES): ``S-X`` single-word entity, ``B-X`` ... ``I-X`` ... ``E-X`` longer ones.
- ``BILOU``: IOBES with ``U`` for ``S`` and ``L`` for ``E``.
- ``none``: plain per-word tags without prefixes (POS tags, chunk types); each tagged word is
  its own span.

Reading entities (:func:`entity_spans`) follows seqeval's default-mode chunking, so the spans
``predict`` returns are exactly the ones seqeval's default mode scores. For IOB tags that means an
invalid sequence is repaired this way: ``I-X`` after ``O``, at the start of a sentence, or after a
tag of another type starts a new entity of type X; ``B-X`` always starts a new entity. With
IOBES/BILOU, an ``I``/``E`` that cannot continue the open entity also starts a new one, and
``E``/``S`` close the entity they are in. :func:`repair` writes the spans back in the scheme, so the
tags a user gets are always valid.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from tlzoo.api import TlzooError

SCHEMES = ("IOB2", "IOB1", "IOBES", "BILOU", "none")
OUTSIDE = "O"
_PREFIXED = re.compile(r"^([BIESLU])-(.+)$")
_LETTER_DASH = re.compile(r"^[A-Za-z]-")
_TO_IOBES = {"L": "E", "U": "S"}

Span = tuple[str, int, int]
"""An entity: its type, its first word and the word after its last (end exclusive)."""


def split_tag(tag: str, scheme: str) -> tuple[str, str]:
    """``(prefix, type)`` with IOBES prefixes (BILOU is mapped); ``("O", "")`` outside entities."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    if scheme == "none":
        return "S", tag
    match = _PREFIXED.match(tag)
    if match is None:
        raise ValueError(f"tag {tag!r} does not fit the {scheme} scheme")
    return _TO_IOBES.get(match[1], match[1]) if scheme == "BILOU" else match[1], match[2]


def entity_spans(tags: Sequence[str], scheme: str) -> list[Span]:
    """The entities in ``tags``, read with seqeval's default-mode rules (see the module docstring)."""
    spans: list[Span] = []
    open_type: str | None = None
    start = 0
    for index, tag in enumerate(tags):
        prefix, kind = split_tag(tag, scheme)
        if open_type is not None and not (prefix in ("I", "E") and kind == open_type):
            spans.append((open_type, start, index))
            open_type = None
        if prefix == OUTSIDE:
            continue
        if open_type is None:
            open_type, start = kind, index
        if prefix in ("E", "S"):
            spans.append((open_type, start, index + 1))
            open_type = None
    if open_type is not None:
        spans.append((open_type, start, len(tags)))
    return spans


def spans_to_tags(spans: Sequence[Span], length: int, scheme: str) -> list[str]:
    """Write non-overlapping spans as ``length`` tags in ``scheme``."""
    tags = [OUTSIDE] * length
    previous: Span | None = None
    for kind, start, end in spans:
        size = end - start
        if scheme == "none":
            body = [kind] * size
        elif scheme == "IOB1":
            touches = previous is not None and previous[0] == kind and previous[2] == start
            body = [f"{'B' if touches else 'I'}-{kind}"] + [f"I-{kind}"] * (size - 1)
        elif scheme == "IOB2":
            body = [f"B-{kind}"] + [f"I-{kind}"] * (size - 1)
        else:
            single, last = ("S", "E") if scheme == "IOBES" else ("U", "L")
            body = ([f"{single}-{kind}"] if size == 1 else
                    [f"B-{kind}"] + [f"I-{kind}"] * (size - 2) + [f"{last}-{kind}"])
        tags[start:end] = body
        previous = (kind, start, end)
    return tags


def repair(tags: Sequence[str], scheme: str) -> list[str]:
    """The valid tag sequence for the entities :func:`entity_spans` reads in ``tags``."""
    return spans_to_tags(entity_spans(tags, scheme), len(tags), scheme)


def continuation_tag(tag: str, labels: Sequence[str]) -> str:
    """The label for the 2nd..nth sub-token of a word tagged ``tag`` (B-X becomes I-X when known)."""
    match = _PREFIXED.match(tag)
    if match and match[1] == "B" and f"I-{match[2]}" in labels:
        return f"I-{match[2]}"
    return tag


Locate = Callable[[int, int], str]
"""Where word ``w`` of sentence ``s`` is, for error messages (e.g. ``"data.txt, line 12"``)."""


def detect_scheme(sequences: Sequence[Sequence[str]], locate: Locate) -> str:
    """The scheme of a file's tags, or a :class:`TlzooError` saying where the first misfit tag is."""
    prefixes: dict[str, tuple[int, int]] = {}
    first_plain: tuple[int, int] | None = None
    for s, tags in enumerate(sequences):
        for w, tag in enumerate(tags):
            if tag == OUTSIDE:
                continue
            match = _PREFIXED.match(tag)
            if match:
                prefixes.setdefault(match[1], (s, w))
            elif _LETTER_DASH.match(tag) or not tag.strip():
                raise TlzooError(f"{locate(s, w)}: tag {tag!r} does not fit a known tag scheme; expected O, "
                                 f"B-/I-/E-/S-/L-/U- followed by a type, or plain tags without prefixes")
            elif first_plain is None:
                first_plain = (s, w)
    if not prefixes:
        return "none"
    if first_plain is not None:
        s, w = first_plain
        first = locate(*min(prefixes.values()))
        raise TlzooError(f"{locate(s, w)}: tag {sequences[s][w]!r} has no B-/I- style prefix, but other tags "
                         f"do (first at {first}); a file must use one tag scheme")
    used = set(prefixes)
    if used <= {"B", "I"}:
        return "IOB1" if _looks_iob1(sequences) else "IOB2"
    for scheme, allowed in (("IOBES", {"B", "I", "E", "S"}), ("BILOU", {"B", "I", "L", "U"})):
        if used <= allowed:
            return scheme
    s, w = max(prefixes[p] for p in used & set("ESLU"))
    raise TlzooError(f"{locate(s, w)}: tag {sequences[s][w]!r} mixes IOBES (E-, S-) and BILOU (L-, U-) "
                     f"prefixes; a file must use one tag scheme ({', '.join(SCHEMES)})")


def _looks_iob1(sequences: Sequence[Sequence[str]]) -> bool:
    """IOB1 when some entity starts with I- and no B- follows an O (IOB2 files start entities with B-)."""
    i_starts = False
    for tags in sequences:
        previous = OUTSIDE
        for tag in tags:
            prefix, kind = split_tag(tag, "IOB2")
            previous_kind = split_tag(previous, "IOB2")[1]
            if prefix == "B" and previous == OUTSIDE:
                return False
            if prefix == "I" and kind != previous_kind:
                i_starts = True
            previous = tag
    return i_starts
