"""seqeval scores in default and strict mode on a known example."""

from __future__ import annotations

import pytest
from tlzoo_ner.metric import SeqevalReport, SeqevalStrict


def scores_both(predictions, references, scheme):
    """What the ner task reports: the seqeval and seqeval-strict metrics together."""
    return {**SeqevalReport(scheme).compute(predictions, references),
            **SeqevalStrict(scheme).compute(predictions, references)}

TRUE = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
PRED = [["I-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG"]]


def test_default_and_strict_modes_differ_as_expected() -> None:
    scores = scores_both(PRED, TRUE, "IOB2")
    # default mode: PER (started by I-PER) and LOC are right, ORG is too long -> 2 of 3 both ways
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["f1"] == pytest.approx(2 / 3)
    # strict IOB2: the span starting with I-PER is not an entity -> 1 right of 2 predicted, 3 true
    assert scores["strict_precision"] == pytest.approx(1 / 2)
    assert scores["strict_recall"] == pytest.approx(1 / 3)
    assert scores["strict_f1"] == pytest.approx(0.4)
    assert scores["token_accuracy"] == pytest.approx(4 / 6)
    assert scores["per_type"]["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert scores["per_type"]["ORG"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert scores["strict_per_type"]["PER"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert (scores["scheme"], scores["strict_scheme"]) == ("IOB2", "IOB2")


def test_bilou_is_scored_like_iobes_and_plain_tags_per_word() -> None:
    bilou = scores_both([["B-PER", "L-PER", "U-LOC"]], [["B-PER", "L-PER", "O"]], "BILOU")
    assert (bilou["precision"], bilou["recall"], bilou["strict_f1"]) == (0.5, 1.0, pytest.approx(2 / 3))
    plain = scores_both([["NN", "VB", "NN"]], [["NN", "NN", "NN"]], "none")
    assert plain["f1"] == pytest.approx(2 / 3) and plain["token_accuracy"] == pytest.approx(2 / 3)


def test_no_entities_anywhere_scores_zero_without_warnings() -> None:
    scores = scores_both([["O"]], [["O"]], "IOB2")
    assert scores["f1"] == 0.0 and scores["token_accuracy"] == 1.0 and scores["per_type"] == {}


def test_text_report_shows_both_modes() -> None:
    report = SeqevalReport("IOB2").text_report(PRED, TRUE)
    assert "default mode" in report and "strict mode, scheme IOB2" in report and "0.6667" in report


def test_mismatched_lengths_are_an_error() -> None:
    with pytest.raises(ValueError, match="sentence 0: 1 predicted tags for 2 words"):
        SeqevalReport().compute([["O"]], [["O", "O"]])
