"""Paths of the built-in sample dataset (synthetic; see sample_data/README.md)."""

from __future__ import annotations

from importlib.resources import files


def paths() -> dict[str, str]:
    folder = files("tlzoo_ner") / "sample_data"
    return {split: str(folder / f"sample_{split}.conll") for split in ("train", "validation")}
