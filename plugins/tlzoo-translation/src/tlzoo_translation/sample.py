"""Paths of the built-in sample (synthetic; see sample_data/README.md)."""

from __future__ import annotations

from importlib.resources import files


def paths() -> dict[str, str]:
    """English sides of the aligned en/de pairs; the task finds each ``.de`` file beside them."""
    folder = files("tlzoo_translation") / "sample_data"
    return {split: str(folder / f"{split}.en") for split in ("train", "validation")}
