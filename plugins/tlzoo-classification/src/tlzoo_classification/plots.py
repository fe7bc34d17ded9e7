"""Confusion-matrix PNG for single-label classification."""

from __future__ import annotations

from pathlib import Path


def confusion_matrix_png(matrix: list[list[int]], labels: list[str], folder: str,
                         name: str = "confusion_matrix.png") -> str:
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
