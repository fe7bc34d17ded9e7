"""The official SemEval-2010 Task 8 score, implemented from the rules of the task's scorer
(``semeval2010_task8_scorer-v1.2.pl``), for any directed relation labels.

The scorer evaluates three ways; the official score is the third, "(9+1)-way evaluation with
directionality taken into account", macro-averaged F1:

- Labels are compared as relations without their direction (``Cause-Effect(e1,e2)`` is relation
  ``Cause-Effect``), nine relations plus ``Other``.
- A prediction with the gold relation *and* direction is a true positive of that relation. One with
  the gold relation but the wrong direction is counted apart (``xDIRx``): it is a false negative of
  that relation *and* it counts in that relation's precision denominator (the v1.2 fix), so it costs
  both precision and recall. Any other prediction counts for the relation it names.
- For each relation R in the answer key except ``Other``: P = TP / (predictions naming R, in either
  direction), R = TP / (gold examples of R, in either direction), F1 = 2PR / (P + R), 0 when undefined.
- The official score is the mean of those F1s over the relations present in the key (not the F1 of the
  mean P and R); ``Other`` never counts as a relation but its false positives and negatives hurt the
  others. Micro-averaged P/R/F1 pool the same counts over those relations.

The scorer prints percentages; the keys here are fractions (``official_f1`` 0.8 is 80.00 %). Labels
without a ``(eX,eY)`` suffix (e.g. TACRED's ``per:title``) are relations of their own with no direction,
and ``negative`` names the label that plays ``Other`` (``no_relation`` for TACRED).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from tlzoo_relation.marked import split_label


class SemEvalScore:
    """``official_f1`` (primary), macro P/R, micro P/R/F1, ``wrong_direction`` and per-relation scores."""

    name, primary, greater_is_better, consumes = "semeval2010", "official_f1", True, "label"

    def __init__(self, negative: str = "Other") -> None:
        self.negative = negative

    def compute(self, predictions: Sequence[Any], references: Sequence[Any]) -> dict[str, Any]:
        predicted = [p["label"] if isinstance(p, Mapping) else p for p in predictions]
        if len(predicted) != len(references):
            raise ValueError(f"{len(predicted)} predictions for {len(references)} references")
        true_positive: Counter[str] = Counter()
        proposed: Counter[str] = Counter()
        wrong_direction: Counter[str] = Counter()
        gold: Counter[str] = Counter()
        for guess, answer in zip(predicted, references):
            guess_relation, _ = split_label(str(guess))
            answer_relation, _ = split_label(str(answer))
            gold[answer_relation] += 1
            if guess == answer:
                true_positive[answer_relation] += 1
                proposed[guess_relation] += 1
            elif guess_relation == answer_relation:
                wrong_direction[answer_relation] += 1
            else:
                proposed[guess_relation] += 1
        relations = sorted(r for r in gold if r != self.negative)
        per_relation: dict[str, dict[str, Any]] = {}
        for relation in relations:
            attempted = proposed[relation] + wrong_direction[relation]
            precision = true_positive[relation] / attempted if proposed[relation] else 0.0
            recall = true_positive[relation] / gold[relation]
            per_relation[relation] = {"precision": precision, "recall": recall, "f1": _f1(precision, recall),
                                      "support": gold[relation], "wrong_direction": wrong_direction[relation]}
        count = max(len(relations), 1)
        correct = sum(true_positive[r] for r in relations)
        attempted = sum(proposed[r] + wrong_direction[r] for r in relations)
        answered = sum(gold[r] for r in relations)
        micro_p = correct / attempted if attempted else 0.0
        micro_r = correct / answered if answered else 0.0
        return {
            "official_f1": sum(s["f1"] for s in per_relation.values()) / count,
            "macro_precision": sum(s["precision"] for s in per_relation.values()) / count,
            "macro_recall": sum(s["recall"] for s in per_relation.values()) / count,
            "micro_f1": _f1(micro_p, micro_r), "micro_precision": micro_p, "micro_recall": micro_r,
            "accuracy": sum(p == r for p, r in zip(predicted, references)) / max(len(references), 1),
            "wrong_direction": sum(wrong_direction.values()),
            "per_relation": per_relation,
        }


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
