"""The built-in sample: small synthetic SQuAD-format files for demos, tests and ``tlzoo check``."""

from __future__ import annotations

from importlib import resources


def paths() -> dict[str, str]:
    """``{"train": path, "validation": path}`` of the sample files shipped in this package."""
    folder = resources.files("tlzoo_qa") / "data"
    return {split: str(folder / f"sample_{split}.json") for split in ("train", "validation")}
