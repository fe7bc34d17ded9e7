"""Shared metrics, registered as an internal plugin; every task whose predictions they consume can use them.

The listing facts (``primary``, ``consumes``) are written here so that ``tlzoo list`` imports nothing;
``tlzoo check`` and the core tests verify them against the classes.
"""

from __future__ import annotations

from tlzoo.api import Spec
from tlzoo.hookspecs import hookimpl

_SCORES = "tlzoo.metrics.scores"
_METRICS = (
    ("accuracy", "Accuracy", "fraction of exact label matches", "accuracy", "label"),
    ("mcc", "MatthewsCorrelation", "Matthews correlation coefficient (multi-class), robust to imbalance",
     "mcc", "label"),
    ("classification", "ClassificationReport",
     "accuracy, macro/weighted precision, recall and F1, per-class report, ROC-AUC for binary tasks", "accuracy",
     "label"),
    ("multilabel", "MultiLabelReport", "micro/macro F1, precision, recall and subset accuracy", "micro_f1",
     "labels"),
    ("regression", "RegressionReport", "Pearson, Spearman and mean squared error", "pearson", "score"),
)


@hookimpl
def tlzoo_register(registry) -> None:
    for name, attr, description, primary, consumes in _METRICS:
        registry.add(Spec(name, "metric", f"{_SCORES}:{attr}", description,
                          {"primary": primary, "consumes": consumes}))
    registry.add(Spec("rouge", "metric", "tlzoo.metrics.rouge:RougeScores",
                      "ROUGE-1/2/L/Lsum F-measures with stemming (best reference per example), plus output length "
                      "and diversity", {"primary": "rougeL", "consumes": "text"}))
