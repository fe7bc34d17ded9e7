"""ROUGE with stemming on hand-checkable examples, the best of several references, length, diversity."""

from __future__ import annotations

import pytest

from tlzoo.metrics.rouge import RougeScores, sentence_lines


def test_rouge_by_hand() -> None:
    # Unigrams: 2 of 3 shared -> F1 2/3. Bigrams: "the cat" of {the cat, cat sat} -> 1/2. LCS 2 of 3 -> 2/3.
    scores = RougeScores().compute(["the cat sat"], [["the cat ran"]])
    assert scores["rouge1"] == pytest.approx(200 / 3)
    assert scores["rouge2"] == pytest.approx(50)
    assert scores["rougeL"] == pytest.approx(200 / 3)
    assert scores["rougeLsum"] == pytest.approx(200 / 3)


def test_stemming() -> None:
    assert RougeScores().compute(["cats running"], [["cat runs"]])["rouge1"] == pytest.approx(100)


def test_best_reference_counts() -> None:
    scores = RougeScores().compute(["the cat sat", "a dog"], [["the cat ran", "the cat sat"], ["a bird"]])
    assert scores["rouge1"] == pytest.approx((100 + 50) / 2)


def test_lsum_splits_sentences() -> None:
    assert sentence_lines("One here. Two there! Three?") == "One here.\nTwo there!\nThree?"
    # Summary-level LCS matches each sentence separately, so sentence order does not matter;
    # plain ROUGE-L over the whole text only finds the longer of the two sentences in order.
    scores = RougeScores().compute(["b b b. a a."], [["a a. b b b."]])
    assert scores["rougeLsum"] == pytest.approx(100)
    assert scores["rougeL"] == pytest.approx(60)


def test_length_diversity_and_empty_output() -> None:
    scores = RougeScores().compute(["", "same words", "same words"], [["x"], ["y"], ["z"]])
    assert scores["rouge1"] == 0
    assert scores["gen_len"] == pytest.approx(4 / 3) and scores["distinct"] == pytest.approx(2 / 3)
