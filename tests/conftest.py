"""Shared fixtures: the classification sample and a quiet, fast tiny-bert training call."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "datasets"

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def sample() -> dict[str, str]:
    from tlzoo_classification.sample import paths

    return paths()


@pytest.fixture
def tiny_options(sample: dict[str, str], tmp_path: Path) -> dict:
    return {"backbone": "tiny-bert", "train": sample["train"], "validation": sample["validation"],
            "output": str(tmp_path / "run"), "max_steps": 12, "learning_rate": 3e-3, "batch_size": 16,
            "quiet": True, "seed": 0, "logging_steps": 1, "warmup_ratio": 0.0}
