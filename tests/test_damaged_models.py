"""A damaged model folder, or one whose task plugin is missing: one line naming the folder and the file.

Each damage is checked through ``tlzoo.load`` (a TlzooError) and the real CLI's predict and
evaluate (exit code 1, a single ``error:`` line, no traceback).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import tlzoo
from tlzoo.api import TlzooError
from tlzoo.testing.toytask import NAME as TOY


@pytest.fixture(scope="module")
def trained(toy_plugin_for_module: None, toy_sample: dict[str, str],
            tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("damaged") / "run"
    tlzoo.train(TOY, backbone="tiny-bert", train=toy_sample["train"], validation=toy_sample["validation"],
                output=str(out), max_steps=1, batch_size=8, quiet=True, seed=0)
    return out, toy_sample["validation"]


def _edit_manifest(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        manifest = json.loads((folder / "tlzoo.json").read_text())
        change(manifest)
        (folder / "tlzoo.json").write_text(json.dumps(manifest))
    return damage


def _truncate(name: str, keep: float) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[:int(len(data) * keep)])
    return damage


def _missing_plugin(manifest: dict) -> None:
    manifest["task"] = "tagging-x"
    manifest["plugin"]["distribution"] = "tlzoo-tagging-x"


DAMAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "no weights": (lambda f: (f / "model.safetensors").unlink(), "model.safetensors is missing"),
    "truncated weights": (_truncate("model.safetensors", 0.5), "model.safetensors is truncated"),
    "garbage weights": (lambda f: (f / "model.safetensors").write_bytes(b"\x00" * 64),
                        "model.safetensors is corrupt"),
    "no tokenizer": (lambda f: (f / "tokenizer.json").unlink(), "tokenizer.json is missing"),
    "no tokenizer config": (lambda f: (f / "tokenizer_config.json").unlink(), "tokenizer_config.json is missing"),
    "no model config": (lambda f: (f / "config.json").unlink(), "config.json is missing"),
    "truncated manifest": (_truncate("tlzoo.json", 0.5), "tlzoo.json is corrupt"),
    "manifest without task": (_edit_manifest(lambda m: m.pop("task")), "tlzoo.json is corrupt (no 'task')"),
    "no manifest": (lambda f: (f / "tlzoo.json").unlink(), "is not a tlzoo model folder (no tlzoo.json)"),
    "missing plugin": (_edit_manifest(_missing_plugin),
                       "needs task 'tagging-x' from plugin tlzoo-tagging-x, which is not installed; install it "
                       "with 'tlzoo install tagging-x' or pip install tlzoo-tagging-x"),
}


@pytest.fixture(params=list(DAMAGES))
def damaged(request: pytest.FixtureRequest, trained: tuple[Path, str], tmp_path: Path) -> tuple[Path, str, str]:
    source, validation = trained
    folder = tmp_path / "model"
    shutil.copytree(source, folder)
    damage, message = DAMAGES[request.param]
    damage(folder)
    return folder, message, validation


def test_load_names_the_damage(damaged: tuple[Path, str, str]) -> None:
    folder, message, _ = damaged
    with pytest.raises(TlzooError) as error:
        tlzoo.load(str(folder))
    assert str(folder) in str(error.value) and message in str(error.value)


def test_cli_names_the_damage_in_one_line(damaged: tuple[Path, str, str]) -> None:
    folder, message, validation = damaged
    for args in (["predict", str(folder), "--text", "a film"], ["evaluate", str(folder), "--data", validation]):
        result = subprocess.run([sys.executable, "-m", "tlzoo", *args], capture_output=True, text=True, timeout=300)
        assert result.returncode == 1, result.stdout
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert str(folder) in lines[0] and message in lines[0], lines[0]


def test_an_intact_copy_loads(trained: tuple[Path, str], tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(trained[0], folder)
    assert len(tlzoo.load(str(folder)).predict(["a film", "another"])) == 2
