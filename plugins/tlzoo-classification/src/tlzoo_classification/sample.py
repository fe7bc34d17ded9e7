"""Paths of the built-in sample datasets (synthetic; see sample_data/README.md)."""

from __future__ import annotations

from importlib.resources import files


def _pair(stem: str, suffix: str) -> dict[str, str]:
    folder = files("tlzoo_classification") / "sample_data"
    return {split: str(folder / f"{stem}_{split}.{suffix}") for split in ("train", "validation")}


def paths() -> dict[str, str]:
    return _pair("sentiment", "csv")


def multilabel_paths() -> dict[str, str]:
    return _pair("topics", "jsonl")


def regression_paths() -> dict[str, str]:
    return _pair("similarity", "tsv")
