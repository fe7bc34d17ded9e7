"""Paths of the built-in sample datasets (synthetic; see sample_data/README.md)."""

from __future__ import annotations

from importlib.resources import files


def _pair(stem: str, suffix: str) -> dict[str, str]:
    folder = files("tlzoo_similarity") / "sample_data"
    return {split: str(folder / f"{stem}_{split}.{suffix}") for split in ("train", "validation")}


def similarity_paths() -> dict[str, str]:
    return _pair("sts", "tsv")


def embedding_paths() -> dict[str, str]:
    return _pair("pairs", "jsonl")
