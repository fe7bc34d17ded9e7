"""Paths of the built-in sample dataset (synthetic; see sample_data/README.md)."""

from __future__ import annotations

from importlib.resources import files


def paths() -> dict[str, str]:
    folder = files("tlzoo_relation") / "sample_data"
    return {"train": str(folder / "sample_train.txt"), "validation": str(folder / "sample_validation.jsonl")}
