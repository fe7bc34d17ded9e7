"""The similarity tasks' metrics, in numpy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


class StsCorrelation:
    """Spearman and Pearson correlation x100 between predicted and gold similarity (the STS convention)."""

    name, primary, greater_is_better, consumes = "sts", "spearman", True, "score"

    def compute(self, predictions: Sequence[Any], references: Sequence[float]) -> dict[str, Any]:
        from tlzoo.metrics.scores import RegressionReport

        scores = RegressionReport().compute(predictions, references)
        return {"spearman": 100 * scores["spearman"], "pearson": 100 * scores["pearson"]}


class Retrieval:
    """Recall@1/5/10 and MRR@10 from the rank (1 = first) of each query's own partner among all candidates."""

    name, primary, greater_is_better, consumes = "retrieval", "mrr@10", True, "rank"

    def compute(self, predictions: Sequence[int], references: Sequence[Any]) -> dict[str, Any]:
        if len(predictions) != len(references):
            raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
        ranks = np.asarray(predictions, dtype=float)
        if not len(ranks):
            return {"recall@1": float("nan"), "recall@5": float("nan"), "recall@10": float("nan"),
                    "mrr@10": float("nan")}
        return {**{f"recall@{k}": float((ranks <= k).mean()) for k in (1, 5, 10)},
                "mrr@10": float(np.where(ranks <= 10, 1 / ranks, 0.0).mean())}
