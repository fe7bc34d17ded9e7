"""The official SemEval-2010 Task 8 score against a hand-worked example of the scorer's rules (v1.2)."""

from __future__ import annotations

import pytest
from tlzoo_relation.metric import SemEvalScore

CE12, CE21 = "Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)"
CW12, CW21 = "Component-Whole(e1,e2)", "Component-Whole(e2,e1)"
MC12 = "Member-Collection(e1,e2)"

# gold       predicted   what the scorer does with it
EXAMPLE = [
    (CE12, CE12),  # Cause-Effect: true positive
    (CE12, CE21),  # Cause-Effect: right relation, wrong direction (xDIRx): a miss, and it counts as proposed
    (CE21, CE21),  # Cause-Effect: true positive
    (CW12, CW12),  # Component-Whole: true positive
    (CW21, "Other"),  # Component-Whole: missed
    ("Other", CW12),  # Component-Whole: a false positive
    ("Other", "Other"),  # nothing (Other is no relation)
    ("Other", MC12),  # Member-Collection is not in the key: counted nowhere in the averages
]


def test_official_score_follows_the_scorer_by_hand() -> None:
    # Cause-Effect:    TP 2, proposed 2 + 1 wrong-direction = 3, gold 3 -> P 2/3, R 2/3, F1 2/3
    # Component-Whole: TP 1, proposed 2 (one for Other), gold 2   -> P 1/2, R 1/2, F1 1/2
    # macro over the 2 relations in the key: F1 (2/3 + 1/2) / 2 = 7/12
    # micro: 3 correct of 3 + 2 = 5 proposed and 3 + 2 = 5 gold -> 3/5
    gold, predicted = zip(*EXAMPLE)
    result = SemEvalScore().compute(list(predicted), list(gold))
    assert result["official_f1"] == pytest.approx(7 / 12)
    assert result["macro_precision"] == pytest.approx(7 / 12)
    assert result["micro_f1"] == pytest.approx(3 / 5)
    assert result["micro_precision"] == pytest.approx(3 / 5) and result["micro_recall"] == pytest.approx(3 / 5)
    assert result["accuracy"] == pytest.approx(4 / 8)
    assert result["wrong_direction"] == 1
    assert result["per_relation"]["Cause-Effect"] == {"precision": pytest.approx(2 / 3), "recall": pytest.approx(2 / 3),
                                                      "f1": pytest.approx(2 / 3), "support": 3, "wrong_direction": 1}
    assert set(result["per_relation"]) == {"Cause-Effect", "Component-Whole"}


def test_a_wrong_direction_costs_precision_as_well_as_recall() -> None:
    """The v1.2 fix: without it, Cause-Effect's precision here would be 1/1, not 1/2."""
    result = SemEvalScore().compute([CE12, CE12], [CE12, CE21])
    assert result["per_relation"]["Cause-Effect"]["precision"] == pytest.approx(1 / 2)
    assert result["per_relation"]["Cause-Effect"]["recall"] == pytest.approx(1 / 2)


def test_perfect_and_hopeless_predictions() -> None:
    gold = [CE12, CW21, "Other", MC12]
    assert SemEvalScore().compute(gold, gold)["official_f1"] == 1.0
    assert SemEvalScore().compute(["Other"] * 4, gold)["official_f1"] == 0.0


def test_the_negative_label_is_configurable_and_predictions_may_be_dicts() -> None:
    gold = ["per:title", "no_relation", "org:founded"]
    predicted = [{"label": "per:title"}, {"label": "per:title"}, {"label": "no_relation"}]
    result = SemEvalScore(negative="no_relation").compute(predicted, gold)
    # per:title P 1/2 R 1 F1 2/3; org:founded F1 0 -> macro 1/3
    assert result["official_f1"] == pytest.approx(1 / 3)
    assert set(result["per_relation"]) == {"per:title", "org:founded"}
