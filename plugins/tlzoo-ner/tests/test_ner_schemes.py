"""Scheme detection, entity reading (= seqeval default mode) and the repair of invalid tag sequences."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tlzoo_ner.schemes import continuation_tag, detect_scheme, entity_spans, repair, spans_to_tags


def where(s: int, w: int) -> str:
    return f"sentence {s}, word {w}"


@pytest.mark.parametrize(("sequences", "scheme"), [
    ([["B-PER", "I-PER", "O", "B-LOC"]], "IOB2"),
    ([["I-PER", "I-PER", "O", "I-LOC", "B-LOC"]], "IOB1"),
    ([["S-PER", "O", "B-LOC", "E-LOC"]], "IOBES"),
    ([["U-PER", "O", "B-LOC", "L-LOC"]], "BILOU"),
    ([["NN", "VBZ", "-LRB-", "O"]], "none"),
    ([["O", "O"]], "none"),
])
def test_detect_scheme(sequences: list[list[str]], scheme: str) -> None:
    assert detect_scheme(sequences, where) == scheme


def test_repair_rule() -> None:
    # I-X after O, at the start, or after another type starts a new entity; B-X always starts one.
    tags = ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG", "I-ORG", "B-ORG"]
    assert entity_spans(tags, "IOB2") == [("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 5), ("ORG", 5, 7),
                                          ("ORG", 7, 8)]
    assert repair(tags, "IOB2") == ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "B-ORG", "I-ORG", "B-ORG"]
    assert repair(tags, "IOB1") == ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG", "I-ORG", "B-ORG"]
    assert repair(["I-PER", "E-PER", "I-PER", "S-LOC", "E-LOC"], "IOBES") == [
        "B-PER", "E-PER", "S-PER", "S-LOC", "S-LOC"]
    assert repair(["B-PER", "I-PER", "O", "U-LOC"], "BILOU") == ["B-PER", "L-PER", "O", "U-LOC"]
    assert repair(["NN", "NN", "O"], "none") == ["NN", "NN", "O"]


def test_continuation_tag() -> None:
    labels = ["O", "B-PER", "I-PER", "B-LOC"]
    assert [continuation_tag(t, labels) for t in ["B-PER", "I-PER", "B-LOC", "O"]] == [
        "I-PER", "I-PER", "B-LOC", "O"]


IOB_TAGS = st.lists(st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]), max_size=12)
IOBES_TAGS = st.lists(st.sampled_from(["O", "B-PER", "I-PER", "E-PER", "S-PER", "B-LOC", "E-LOC", "S-LOC"]),
                      max_size=12)


@given(IOB_TAGS)
def test_entities_match_seqeval_default_mode_iob(tags: list[str]) -> None:
    from seqeval.metrics.sequence_labeling import get_entities

    assert entity_spans(tags, "IOB2") == [(t, s, e + 1) for t, s, e in get_entities(tags)]


@given(IOBES_TAGS)
def test_entities_match_seqeval_default_mode_iobes(tags: list[str]) -> None:
    from seqeval.metrics.sequence_labeling import get_entities

    assert entity_spans(tags, "IOBES") == [(t, s, e + 1) for t, s, e in get_entities(tags)]


@given(IOB_TAGS, st.sampled_from(["IOB2", "IOB1", "IOBES", "BILOU"]))
def test_repaired_tags_are_valid_and_keep_the_entities(tags: list[str], scheme: str) -> None:
    from seqeval.scheme import BILOU, IOB1, IOB2, IOBES, Tokens

    spans = entity_spans(tags, "IOB2")
    written = spans_to_tags(spans, len(tags), scheme)
    assert entity_spans(written, scheme) == spans
    strict = Tokens(written, {"IOB2": IOB2, "IOB1": IOB1, "IOBES": IOBES, "BILOU": BILOU}[scheme]).entities
    assert [(e.tag, e.start, e.end) for e in strict] == spans
