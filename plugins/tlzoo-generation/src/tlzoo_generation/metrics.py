"""The ``completion`` metric: exact match and ROUGE-L against the best reference, and output diversity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tlzoo.metrics.rouge import rouge
from tlzoo.seq2seq.task import generation_stats


def normalise(text: str) -> str:
    """Whitespace runs as one space, ends stripped: a completion that differs only in spacing still matches."""
    return " ".join(text.split())


class CompletionScores:
    """``exact_match`` (% of outputs equal to one of their references after :func:`normalise`), ``rougeL``
    (F-measure x100, best reference), ``distinct`` (share of distinct outputs) and ``gen_len`` (words)."""

    name, primary, greater_is_better, consumes = "completion", "rougeL", True, "text"

    def compute(self, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, Any]:
        if len(predictions) != len(references):
            raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
        matches = sum(normalise(p) in {normalise(r) for r in refs} for p, refs in zip(predictions, references))
        return {"exact_match": 100 * matches / max(len(predictions), 1),
                **rouge(predictions, references, ("rougeL",)), **generation_stats(predictions)}
