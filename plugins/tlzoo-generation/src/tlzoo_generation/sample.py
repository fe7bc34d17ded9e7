"""Paths of the built-in sample (synthetic; see sample_data/README.md)."""

from __future__ import annotations

from importlib.resources import files


def paths() -> dict[str, str]:
    folder = files("tlzoo_generation") / "sample_data"
    return {split: str(folder / f"{split}.jsonl") for split in ("train", "validation")}
