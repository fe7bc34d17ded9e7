"""ROUGE with Porter stemming through Google's ``rouge_score`` (offline), best reference per example: the ``rouge``
metric of the text-to-text tasks, and :func:`rouge` for metrics that report some ROUGE types among others."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tlzoo.seq2seq.task import generation_stats

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def sentence_lines(text: str) -> str:
    """One sentence per line, which ROUGE-Lsum needs (a regex split: no tokenizer data to download)."""
    return "\n".join(s for s in _SENTENCE_END.split(text.strip()) if s)


class RougeScores:
    """F-measures x100 averaged over examples, each against its best-matching reference (per ROUGE
    type, as ``rouge_score``'s ``score_multi`` does), plus the outputs' average length in words and
    the share of distinct outputs."""

    name, primary, greater_is_better, consumes = "rouge", "rougeL", True, "text"

    def compute(self, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, Any]:
        return {**rouge(predictions, references, ROUGE_TYPES), **generation_stats(predictions)}


def rouge(predictions: Sequence[str], references: Sequence[Sequence[str]],
          types: Sequence[str] = ROUGE_TYPES) -> dict[str, float]:
    """The F-measures of ``types`` x100, averaged over examples, each against its best reference."""
    from rouge_score.rouge_scorer import RougeScorer

    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    scorer = RougeScorer(list(types), use_stemmer=True)
    totals = dict.fromkeys(types, 0.0)
    for prediction, refs in zip(predictions, references, strict=True):
        scores = scorer.score_multi([sentence_lines(r) for r in refs], sentence_lines(prediction))
        for key in types:
            totals[key] += scores[key].fmeasure
    count = max(len(predictions), 1)
    return {key: 100 * total / count for key, total in totals.items()}
