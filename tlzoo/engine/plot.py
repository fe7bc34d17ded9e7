"""PNGs: training loss and validation metrics against optimizer steps; a confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def plot_curves(records: Sequence[dict[str, Any]], primary_metric: str, path: Path) -> Path | None:
    train = [(r["step"], r["loss"]) for r in records if r.get("event") == "train"]
    evals = [(r["step"], r) for r in records if r.get("event") == "eval"]
    if not train and not evals:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, loss_axis = plt.subplots(figsize=(7, 4))
    if train:
        loss_axis.plot(*zip(*train), label="training loss", color="tab:blue")
    eval_losses = [(s, r["eval_loss"]) for s, r in evals if "eval_loss" in r]
    if eval_losses:
        loss_axis.plot(*zip(*eval_losses), "o-", label="validation loss", color="tab:orange")
    loss_axis.set_xlabel("optimizer step")
    loss_axis.set_ylabel("loss")
    handles, labels = loss_axis.get_legend_handles_labels()
    metric_points = [(s, r[f"eval_{primary_metric}"]) for s, r in evals if f"eval_{primary_metric}" in r]
    if metric_points and primary_metric != "loss":
        metric_axis = loss_axis.twinx()
        metric_axis.plot(*zip(*metric_points), "s--", color="tab:green", label=f"validation {primary_metric}")
        metric_axis.set_ylabel(primary_metric)
        more_handles, more_labels = metric_axis.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    loss_axis.legend(handles, labels, loc="best")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def confusion_matrix_png(matrix: list[list[int]], labels: list[str], folder: str,
                         name: str = "confusion_matrix.png") -> str:
    """``folder/name``: the matrix (rows: true label, columns: predicted) as a heat map with its counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(4.0, 0.6 * len(labels) + 2)
    figure, axis = plt.subplots(figsize=(size, size))
    axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    peak = max((max(row) for row in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            axis.text(j, i, str(value), ha="center", va="center", color="white" if value > peak / 2 else "black")
    figure.tight_layout()
    path = Path(folder) / name
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return str(path)


def confusion_matrix_artifact(predictions: Sequence[Any], references: Sequence[Any], labels: Sequence[Any],
                              folder: str) -> list[str]:
    """An evaluation's ``confusion_matrix.png`` for single-label predictions over ``labels`` (a task's
    ``write_artifacts``)."""
    from tlzoo.metrics.scores import ClassificationReport

    report = ClassificationReport(list(labels)).compute(predictions, references)
    return [confusion_matrix_png(report["confusion_matrix"], report["labels"], folder)]
