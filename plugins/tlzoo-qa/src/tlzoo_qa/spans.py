"""Answer spans from start/end logits over all windows of a context (HF ``run_qa``'s n-best search).

In each window the ``n_best`` highest start and end logits are paired; a pair is a candidate when
both tokens lie in the context, the end does not precede the start and the span is at most
``max_answer_length`` tokens. Candidates from every window are ranked by start + end logit. With
``allow_no_answer`` (SQuAD v2.0) the null score is the lowest start + end logit at position 0 over
the windows, and the answer is empty when it beats the best span by more than ``null_threshold``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Window:
    """One window's logits (trimmed to its real length) and its context character offsets."""

    start_logits: np.ndarray
    end_logits: np.ndarray
    offsets: Sequence[Sequence[int] | None]


@dataclass(frozen=True)
class Candidate:
    score: float
    start: int
    end: int


def window_candidates(window: Window, n_best: int, max_answer_length: int) -> list[Candidate]:
    start_logits = np.asarray(window.start_logits, dtype=np.float64)
    end_logits = np.asarray(window.end_logits, dtype=np.float64)
    in_context = np.array([o is not None for o in window.offsets], dtype=bool)
    top_starts = np.argsort(-start_logits, kind="stable")[:n_best]
    top_ends = np.argsort(-end_logits, kind="stable")[:n_best]
    top_starts, top_ends = top_starts[in_context[top_starts]], top_ends[in_context[top_ends]]
    starts, ends = np.meshgrid(top_starts, top_ends, indexing="ij")
    keep = (ends >= starts) & (ends - starts + 1 <= max_answer_length)
    scores = start_logits[starts] + end_logits[ends]
    return [Candidate(float(score), int(window.offsets[s][0]), int(window.offsets[e][1]))  # type: ignore[index]
            for s, e, score in zip(starts[keep], ends[keep], scores[keep], strict=True)]


def best_answer(context: str, windows: Sequence[Window], n_best: int = 20, max_answer_length: int = 30,
                allow_no_answer: bool = False, null_threshold: float = 0.0) -> dict[str, Any]:
    """``{"text", "score", "start", "end"}`` with ``text == context[start:end]``; ``score`` is the
    answer's probability among the n-best (and the null answer, when allowed). No answer gives
    ``text`` "" and ``start``/``end`` ``None``."""
    candidates = sorted((c for w in windows for c in window_candidates(w, n_best, max_answer_length)),
                        key=lambda c: -c.score)[:n_best]
    scores = [c.score for c in candidates]
    null_score = None
    if allow_no_answer and windows:
        null_score = min(float(w.start_logits[0] + w.end_logits[0]) for w in windows)
        scores.append(null_score)
    if not scores:
        return {"text": "", "score": 0.0, "start": None, "end": None}
    exp = np.exp(np.asarray(scores) - max(scores))
    probabilities = exp / exp.sum()
    if null_score is not None and (not candidates or null_score - candidates[0].score > null_threshold):
        return {"text": "", "score": float(probabilities[-1]), "start": None, "end": None}
    best = candidates[0]
    return {"text": context[best.start:best.end], "score": float(probabilities[0]),
            "start": best.start, "end": best.end}
