"""The squad metric against hand-computed official scores."""

from __future__ import annotations

import pytest
from tlzoo_qa.metric import SquadMetric, exact_match, f1_score, normalize_answer


def test_normalisation_drops_case_punctuation_articles_and_spaces() -> None:
    assert normalize_answer("  The  Eiffel-Tower!  ") == "eiffeltower"
    assert normalize_answer("A cat, an owl and THE dog.") == "cat owl and dog"
    assert normalize_answer("theatre") == "theatre"  # articles only as whole words


@pytest.mark.parametrize(("prediction", "gold", "em", "f1"), [
    ("the Eiffel Tower.", "Eiffel tower", 1.0, 1.0),
    ("Paris, France", "Paris", 0.0, 2 / 3),           # precision 1/2, recall 1
    ("in the year 1889", "1889", 0.0, 0.5),            # "in year 1889": P 1/3, R 1
    ("Denver Broncos", "Carolina Panthers", 0.0, 0.0),
    ("", "Paris", 0.0, 0.0),
    ("", "", 1.0, 1.0),
    ("the", "a", 1.0, 1.0),                           # both normalise to nothing
])
def test_exact_match_and_f1(prediction: str, gold: str, em: float, f1: float) -> None:
    assert exact_match(prediction, gold) == em
    assert f1_score(prediction, gold) == pytest.approx(f1)


def test_f1_counts_repeated_tokens_once_each() -> None:
    # prediction "red red car" vs gold "red car": common tokens red x1, car x1 -> P 2/3, R 1, F1 0.8
    assert f1_score("red red car", "red car") == pytest.approx(0.8)


def test_best_gold_answer_counts_and_scores_are_percentages() -> None:
    predictions = ["Denver Broncos", {"text": "Paris, France"}, "Santa Clara"]
    references = [["Denver Broncos", "Broncos"], ["Paris"], ["Levi's Stadium", "Santa Clara, California"]]
    result = SquadMetric().compute(predictions, references)
    # EM: 1, 0, 0 ; F1: 1, 2/3, (P 1, R 2/3 -> 0.8)
    assert result == pytest.approx({"exact_match": 100 / 3, "f1": 100 * (1 + 2 / 3 + 0.8) / 3, "total": 3})


def test_v2_breakdown_when_some_questions_have_no_answer() -> None:
    predictions = ["1889", "", "Gustave", ""]
    references = [["1889"], [], [], ["Eiffel"]]
    result = SquadMetric().compute(predictions, references)
    assert result == pytest.approx({
        "exact_match": 50.0, "f1": 50.0, "total": 4,
        "HasAns_exact_match": 50.0, "HasAns_f1": 50.0, "HasAns_total": 2,
        "NoAns_exact_match": 50.0, "NoAns_f1": 50.0, "NoAns_total": 2})


def test_v1_data_has_no_breakdown_and_lengths_must_match() -> None:
    assert set(SquadMetric().compute(["a"], [["a"]])) == {"exact_match", "f1", "total"}
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        SquadMetric().compute(["a", "b"], [["a"]])
