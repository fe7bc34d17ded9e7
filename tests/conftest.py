"""Shared fixtures: the core's own test task ``toy`` (a fake plugin) and its data, the classification sample,
and quiet, fast tiny-bert training calls."""

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


@pytest.fixture(scope="session")
def toy_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where ``tlzoo-toy`` looks installed: its entry point registers :mod:`tlzoo.testing.toytask`."""
    from tlzoo.testing.fakes import write_distribution

    site = tmp_path_factory.mktemp("toy-site")
    write_distribution(site, "tlzoo-toy", entry_points={"toy": "tlzoo.testing.toytask"})
    return site


@pytest.fixture
def toy_plugin(toy_site: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """Task ``toy`` installed as a plugin, for this process and the CLI processes it starts."""
    from tlzoo import plugins

    monkeypatch.syspath_prepend(str(toy_site))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(toy_site), os.environ.get("PYTHONPATH")])))
    plugins.reset()
    yield
    plugins.reset()


@pytest.fixture(scope="session")
def toy_sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from tlzoo.testing.toytask import write_sample

    return write_sample(tmp_path_factory.mktemp("toy-data"))


@pytest.fixture
def toy_options(toy_plugin: None, toy_sample: dict[str, str], tmp_path: Path) -> dict:
    return {"backbone": "tiny-bert", "train": toy_sample["train"], "validation": toy_sample["validation"],
            "output": str(tmp_path / "run"), "max_steps": 12, "learning_rate": 3e-3, "batch_size": 16,
            "quiet": True, "seed": 0, "logging_steps": 1, "warmup_ratio": 0.0}
