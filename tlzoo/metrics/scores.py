"""Classification, multi-label and regression metrics in numpy: offline, exact, no scripts to fetch.

A ``label`` prediction is the label itself or a dict with ``label`` (and optionally ``scores``, the
probability of each label by name, which enables ROC-AUC); a ``labels`` prediction is a collection of
labels or a dict with ``labels`` (and optionally ``scores``); a ``score`` prediction is a number or a
dict with ``score``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def _prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), 0.0)
        recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-12), 0.0)
    return precision, recall, f1


def roc_auc(scores: Sequence[float], positives: Sequence[bool]) -> float:
    """Area under the ROC curve via the rank-sum (Mann-Whitney) formula, ties averaged."""
    scores_arr = np.asarray(scores, dtype=float)
    labels = np.asarray(positives, dtype=bool)
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _average_ranks(scores_arr)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=float)
    sorted_values = values[order]
    start = 0
    for end in range(1, len(values) + 1):
        if end == len(values) or sorted_values[end] != sorted_values[start]:
            ranks[order[start:end]] = (start + end + 1) / 2
            start = end
    return ranks


def _field(predictions: Sequence[Any], key: str) -> list[Any]:
    """Each prediction's ``key`` when it is a dict (a task's full prediction), else the prediction."""
    return [p[key] if isinstance(p, Mapping) else p for p in predictions]


def _same_length(predictions: Sequence[Any], references: Sequence[Any]) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")


class Accuracy:
    name, primary, greater_is_better, consumes = "accuracy", "accuracy", True, "label"

    def compute(self, predictions: Sequence[Any], references: Sequence[Any]) -> dict[str, Any]:
        _same_length(predictions, references)
        matches = sum(p == r for p, r in zip(_field(predictions, "label"), references))
        return {"accuracy": matches / max(len(references), 1)}


def _confusion(predicted: Sequence[Any], references: Sequence[Any], labels: Sequence[Any] | None) -> tuple[
        list[Any], np.ndarray]:
    """The label order (given, else sorted) and the confusion matrix (rows: true, columns: predicted)."""
    _same_length(predicted, references)
    labels = list(labels) if labels is not None else sorted(set(references) | set(predicted), key=str)
    index = {label: i for i, label in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for p, r in zip(predicted, references):
        confusion[index[r], index[p]] += 1
    return labels, confusion


class MatthewsCorrelation:
    """Matthews correlation coefficient (Gorodkin's multi-class form): -1..1, 0 for chance or a constant
    prediction; robust to class imbalance, unlike accuracy."""

    name, primary, greater_is_better, consumes = "mcc", "mcc", True, "label"

    def __init__(self, labels: Sequence[Any] | None = None) -> None:
        self.labels = labels

    def compute(self, predictions: Sequence[Any], references: Sequence[Any]) -> dict[str, Any]:
        _, confusion = _confusion(_field(predictions, "label"), references, self.labels)
        c = confusion.astype(float)
        total, correct = c.sum(), np.trace(c)
        predicted, true = c.sum(axis=0), c.sum(axis=1)
        numerator = correct * total - predicted @ true
        denominator = np.sqrt(total ** 2 - predicted @ predicted) * np.sqrt(total ** 2 - true @ true)
        return {"mcc": float(numerator / denominator) if denominator else 0.0}


class ClassificationReport:
    """Single-label scores; predictions with ``scores`` (probability of each label) add ROC-AUC for two labels."""

    name, primary, greater_is_better, consumes = "classification", "accuracy", True, "label"

    def __init__(self, labels: Sequence[Any] | None = None) -> None:
        self.labels = labels

    def compute(self, predictions: Sequence[Any], references: Sequence[Any]) -> dict[str, Any]:
        labels, confusion = _confusion(_field(predictions, "label"), references, self.labels)
        index = {label: i for i, label in enumerate(labels)}
        k = len(labels)
        tp = np.diag(confusion).astype(float)
        fp = confusion.sum(axis=0) - tp
        fn = confusion.sum(axis=1) - tp
        support = confusion.sum(axis=1)
        precision, recall, f1 = _prf(tp, fp, fn)
        present = support > 0
        weights = support / max(support.sum(), 1)
        result: dict[str, Any] = {
            "accuracy": float(tp.sum() / max(confusion.sum(), 1)),
            "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
            "macro_precision": float(precision[present].mean()) if present.any() else 0.0,
            "macro_recall": float(recall[present].mean()) if present.any() else 0.0,
            "weighted_f1": float((f1 * weights).sum()),
            "weighted_precision": float((precision * weights).sum()),
            "weighted_recall": float((recall * weights).sum()),
            "per_class": {str(label): {"precision": float(precision[i]), "recall": float(recall[i]),
                                       "f1": float(f1[i]), "support": int(support[i])}
                          for i, label in enumerate(labels)},
            "confusion_matrix": confusion.tolist(),
            "labels": [str(label) for label in labels],
        }
        if k == 2 and predictions and all(isinstance(p, Mapping) and "scores" in p for p in predictions):
            positive = str(labels[1])
            result["roc_auc"] = roc_auc([p["scores"][positive] for p in predictions],
                                        [index[r] == 1 for r in references])
        return result


class MultiLabelReport:
    """Scores for label sets (collections of labels per example); predictions with ``scores`` (each
    label's probability) also get ``micro_f1_at_0.5``, the micro F1 with every threshold at 0.5."""

    name, primary, greater_is_better, consumes = "multilabel", "micro_f1", True, "labels"

    def __init__(self, labels: Sequence[Any] | None = None) -> None:
        self.labels = labels

    def compute(self, predictions: Sequence[Any], references: Sequence[Sequence[Any]]) -> dict[str, Any]:
        result = self._scores(_field(predictions, "labels"), references)
        if predictions and all(isinstance(p, Mapping) and "scores" in p for p in predictions):
            at_half = [[label for label, score in p["scores"].items() if score >= 0.5] for p in predictions]
            result["micro_f1_at_0.5"] = self._scores(at_half, references)["micro_f1"]
        return result

    def _scores(self, predictions: Sequence[Sequence[Any]], references: Sequence[Sequence[Any]]) -> dict[str, Any]:
        _same_length(predictions, references)
        labels = list(self.labels) if self.labels is not None else sorted(
            {x for s in [*predictions, *references] for x in s}, key=str)
        index = {label: i for i, label in enumerate(labels)}
        pred = np.zeros((len(predictions), len(labels)), dtype=bool)
        gold = np.zeros_like(pred)
        for row, (p, r) in enumerate(zip(predictions, references)):
            pred[row, [index[x] for x in p]] = True
            gold[row, [index[x] for x in r]] = True
        tp = (pred & gold).sum(axis=0).astype(float)
        fp = (pred & ~gold).sum(axis=0).astype(float)
        fn = (~pred & gold).sum(axis=0).astype(float)
        _, _, f1 = _prf(tp, fp, fn)
        micro_p, micro_r, micro_f1 = _prf(tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True))
        return {"micro_f1": float(micro_f1[0]), "micro_precision": float(micro_p[0]),
                "micro_recall": float(micro_r[0]), "macro_f1": float(f1.mean()) if len(labels) else 0.0,
                "subset_accuracy": float((pred == gold).all(axis=1).mean()) if len(pred) else 0.0,
                "per_label_f1": {str(label): float(f1[i]) for i, label in enumerate(labels)}}


class RegressionReport:
    name, primary, greater_is_better, consumes = "regression", "pearson", True, "score"

    def compute(self, predictions: Sequence[Any], references: Sequence[float]) -> dict[str, Any]:
        _same_length(predictions, references)
        pred = np.asarray(_field(predictions, "score"), dtype=float)
        gold = np.asarray(references, dtype=float)
        return {"pearson": _pearson(pred, gold), "spearman": _pearson(_average_ranks(pred), _average_ranks(gold)),
                "mse": float(np.mean((pred - gold) ** 2)) if len(pred) else float("nan")}


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])
