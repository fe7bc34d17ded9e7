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


def _install_toy(site: Path):  # noqa: ANN202
    """Its own MonkeyPatch, so a test's ``monkeypatch.undo()`` leaves the task installed."""
    from tlzoo import plugins

    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(site))
        patch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])))
        plugins.reset()
        yield
    plugins.reset()


@pytest.fixture
def toy_plugin(toy_site: Path):  # noqa: ANN201
    """Task ``toy`` installed as a plugin, for this process and the CLI processes it starts."""
    yield from _install_toy(toy_site)


@pytest.fixture(scope="module")
def toy_plugin_for_module(toy_site: Path):  # noqa: ANN201
    """``toy_plugin`` for a whole module, for module-scoped fixtures that train or start processes."""
    yield from _install_toy(toy_site)


@pytest.fixture
def fixture_components(tmp_path: Path) -> Path:
    """A folder where the test plugin ``tlzoo-fixture-components`` (``tests/fixture_plugins``: a Parquet reader,
    an ``error-rate`` metric and a ``max-pool`` head) looks installed; put it on the path to use the plugin."""
    from tlzoo.testing.fakes import write_distribution

    site = tmp_path / "fixture-site"
    site.mkdir()
    (site / "tlzoo_fixture_components").symlink_to(REPO / "tests" / "fixture_plugins" / "tlzoo_fixture_components")
    write_distribution(site, "tlzoo-fixture-components", entry_points={"fixture": "tlzoo_fixture_components"})
    return site


@pytest.fixture(scope="session")
def toy_sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    from tlzoo.testing.toytask import write_sample

    return write_sample(tmp_path_factory.mktemp("toy-data"))


@pytest.fixture
def toy_options(toy_plugin: None, toy_sample: dict[str, str], tmp_path: Path) -> dict:
    return {"backbone": "tiny-bert", "train": toy_sample["train"], "validation": toy_sample["validation"],
            "output": str(tmp_path / "run"), "max_steps": 12, "learning_rate": 3e-3, "batch_size": 16,
            "quiet": True, "seed": 0, "logging_steps": 1, "warmup_ratio": 0.0}


# -- tlzoo serve: tiny models of several tasks, and real servers in subprocesses ------------------------

@pytest.fixture(scope="session")
def serve_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Folders of tiny models trained for two steps: classification, ner, extractive-qa, translation."""
    from tlzoo_classification.sample import paths as classification
    from tlzoo_ner.sample import paths as ner
    from tlzoo_qa.sample import paths as qa
    from tlzoo_translation.sample import paths as translation

    import tlzoo

    root = tmp_path_factory.mktemp("serve-models")
    folders = {}
    for task, paths, backbone in (("classification", classification, "tiny-bert"), ("ner", ner, "tiny-bert"),
                                  ("extractive-qa", qa, "tiny-bert"), ("translation", translation, "tiny-bart")):
        data = paths()
        folders[task] = str(root / task)
        tlzoo.train(task, backbone=backbone, train=data["train"], validation=data.get("validation"),
                    output=folders[task], max_steps=2, batch_size=8, quiet=True, seed=0)
    return folders


@pytest.fixture(scope="session")
def served(serve_models: dict[str, str]):
    """One server for the session's read-only tests: classification, ner, qa (extractive-qa), translation.
    Stopped with SIGINT at the end, which must exit 0."""
    import signal

    from tlzoo.testing.serving import Server

    running = Server([serve_models["classification"], f"ner={serve_models['ner']}",
                      f"qa={serve_models['extractive-qa']}", serve_models["translation"]])
    yield running
    assert running.stop(signal.SIGINT) == 0, running.log()[-2000:]


@pytest.fixture
def serve():
    """``serve(*args, env=None)`` starts ``tlzoo serve ARGS`` on a free loopback port and waits for /ready;
    returns the running server (``.url``, ``.process``, ``.stop()``). Servers still running are stopped."""
    from tlzoo.testing.serving import Server

    servers: list[Server] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Server:
        servers.append(Server(list(args), env))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()

