"""Marked text, spans and labels: parsing, checks and the markers put back."""

from __future__ import annotations

import pytest
from tlzoo_relation.marked import Example, Span, mark, marker_pair, parse_marked, parse_span, span_problem, split_label


def test_marked_text_gives_the_plain_text_and_both_spans() -> None:
    example = parse_marked("The <e1>engine</e1> of the <e2>car</e2> failed.")
    assert example.text == "The engine of the car failed."
    assert example.text[example.head.start:example.head.end] == "engine"
    assert example.text[example.tail.start:example.tail.end] == "car"
    tail_first = parse_marked("<e2>Rain</e2> ruined the <e1>picnic</e1>")
    assert tail_first.text[tail_first.head.start:tail_first.head.end] == "picnic"


@pytest.mark.parametrize(("marked", "message"), [
    ("The engine of the car.", "no <e1>, </e1>, <e2> or </e2> marker"),
    ("The <e1>engine</e1> of the car.", "no <e2> or </e2> marker"),
    ("The <e1>engine</e1> of the <e2>car.", "no </e2> marker"),
    ("The <e1>engine</e1> of <e1>the</e1> <e2>car</e2>.", "<e1> appears twice"),
    ("The </e1>engine<e1> of the <e2>car</e2>.", "</e1> comes before <e1>"),
    ("The <e1></e1> of the <e2>car</e2>.", "head (e1) entity is empty"),
    ("The <e1>big <e2>engine</e1> of the car</e2>.", "overlap"),
])
def test_bad_markup_says_what_is_wrong(marked: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_marked(marked)


def test_spans_in_every_accepted_form_and_their_problems() -> None:
    assert parse_span([4, 10]) == parse_span("4:10") == parse_span("4,10") == Span(4, 10)
    assert parse_span({"start": 0, "end": 3, "type": "PER"}) == Span(0, 3, "PER")
    for bad in ("four", [1], [1.5, 2], {"start": 1}, None, [True, 2]):
        with pytest.raises(ValueError, match="is not character offsets"):
            parse_span(bad)
    text = "The storm caused flooding."
    assert span_problem(text, Span(4, 9), Span(17, 25)) is None
    assert "outside the text (0-26)" in span_problem(text, Span(4, 9), Span(17, 40))
    assert "overlap" in span_problem(text, Span(4, 12), Span(10, 16))
    assert "outside" in span_problem(text, Span(-1, 3), Span(17, 25))


def test_labels_split_into_relation_and_direction() -> None:
    assert split_label("Component-Whole(e2,e1)") == ("Component-Whole", "e2,e1")
    assert split_label("Other") == ("Other", None)
    assert split_label("per:title") == ("per:title", None)
    assert split_label("Odd(e1,e1)") == ("Odd(e1,e1)", None)


def test_markers_go_back_around_the_spans_typed_or_plain() -> None:
    example = Example("Ann met Bob", Span(0, 3, "PER"), Span(8, 11, "PER"))
    assert mark(example, {"e1": marker_pair("e1"), "e2": marker_pair("e2")}) == "<e1>Ann</e1> met <e2>Bob</e2>"
    assert mark(example, {"e1": marker_pair("e1", "PER"), "e2": marker_pair("e2")}) == \
        "<e1:PER>Ann</e1:PER> met <e2>Bob</e2>"
    adjacent = Example("AB", Span(1, 2), Span(0, 1))
    assert mark(adjacent, {"e1": marker_pair("e1"), "e2": marker_pair("e2")}) == "<e2>A</e2><e1>B</e1>"
