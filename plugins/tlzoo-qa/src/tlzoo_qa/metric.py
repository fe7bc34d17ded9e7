"""The official SQuAD exact match and F1, offline and without ``evaluate``.

Answers are normalised as in the official scripts (lower-case, punctuation and the articles
a/an/the removed, whitespace collapsed) and each prediction takes its best score over the gold
answers. An unanswerable question has no gold answers; it scores 1 only for an empty prediction
(SQuAD v2.0 rules, which also decide the F1 of empty answers). Scores are percentages, as the
official scripts report them.
"""

from __future__ import annotations

import collections
import re
import string
from collections.abc import Sequence
from typing import Any

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower-case, drop punctuation and articles, collapse whitespace (the official order)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    """Token-overlap F1 of the normalised answers; two empty answers agree, one empty scores 0."""
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = collections.Counter(pred_tokens) & collections.Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def score_one(prediction: str, golds: Sequence[str]) -> tuple[float, float]:
    """(exact match, F1) of one prediction: the best over ``golds``; no golds means unanswerable."""
    golds = list(golds) or [""]
    return max(exact_match(prediction, g) for g in golds), max(f1_score(prediction, g) for g in golds)


class SquadMetric:
    """``compute(predictions, references)``: predictions are answer strings ("" for no answer)
    or dicts with a ``text`` key; references are lists of gold answer texts (empty: unanswerable).

    Returns ``exact_match``, ``f1`` and ``total``; when some questions are unanswerable (v2.0
    data) also the ``HasAns_*`` and ``NoAns_*`` breakdowns of the official v2.0 script.
    """

    name, primary, greater_is_better, consumes = "squad", "f1", True, "span"

    def compute(self, predictions: Sequence[Any], references: Sequence[Sequence[str]]) -> dict[str, Any]:
        if len(predictions) != len(references):
            raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
        texts = [p["text"] if isinstance(p, dict) else p for p in predictions]
        scores = [score_one(text, golds) for text, golds in zip(texts, references, strict=True)]
        result = _summary("", scores)
        answerable = [bool(golds) for golds in references]
        if not all(answerable):
            result.update(_summary("HasAns_", [s for s, a in zip(scores, answerable, strict=True) if a]))
            result.update(_summary("NoAns_", [s for s, a in zip(scores, answerable, strict=True) if not a]))
        return result


def _summary(prefix: str, scores: Sequence[tuple[float, float]]) -> dict[str, Any]:
    total = len(scores)
    return {f"{prefix}exact_match": 100.0 * sum(s[0] for s in scores) / max(total, 1),
            f"{prefix}f1": 100.0 * sum(s[1] for s in scores) / max(total, 1),
            f"{prefix}total": total}
