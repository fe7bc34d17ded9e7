"""Shared metrics, registered as an internal plugin; any task can reuse them by name."""

from __future__ import annotations

from tlzoo.api import Spec
from tlzoo.hookspecs import hookimpl

_SCORES = "tlzoo.metrics.scores"
_METRICS = (
    ("accuracy", "Accuracy", "fraction of exact label matches", "accuracy"),
    ("classification", "ClassificationReport",
     "accuracy, macro/weighted precision, recall and F1, per-class report, ROC-AUC for binary tasks", "accuracy"),
    ("multilabel", "MultiLabelReport", "micro/macro F1, precision, recall and subset accuracy", "micro_f1"),
    ("regression", "RegressionReport", "Pearson, Spearman and mean squared error", "pearson"),
)


@hookimpl
def tlzoo_register(registry) -> None:
    for name, attr, description, primary in _METRICS:
        registry.add(Spec(name, "metric", f"{_SCORES}:{attr}", description, {"primary": primary}))
