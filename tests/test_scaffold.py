"""``tlzoo new``: the template renders into a complete plugin that, freshly generated, installs with
pip, shows up in ``tlzoo list``, and passes its own tests and ``tlzoo check`` without edits."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import tlzoo.plugins
from tlzoo.api import TlzooError
from tlzoo.cli.main import cli
from tlzoo.scaffold import SUFFIX, TASK_KINDS, TEMPLATE, render, template_values, write_plugin
from tlzoo.testing.fakes import task_plugin_source, write_distribution

EXPECTED_FILES = {".gitignore", "README.md", "pyproject.toml", "tests/test_plugin.py",
                  "src/tlzoo_intent_detection/__init__.py", "src/tlzoo_intent_detection/task.py",
                  "src/tlzoo_intent_detection/sample.py", "src/tlzoo_intent_detection/data/train.jsonl",
                  "src/tlzoo_intent_detection/data/validation.jsonl"}


@pytest.fixture(params=TASK_KINDS)
def generated(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    return write_plugin("intent-detection", tmp_path, task_kind=request.param)


def test_names_derived_from_the_plugin_name() -> None:
    values = template_values("intent-detection")
    assert values["dist"] == "tlzoo-intent-detection" and values["package"] == "tlzoo_intent_detection"
    assert values["class_name"] == "IntentDetectionTask"
    assert template_values("my-task")["class_name"] == "MyTask"
    assert re.fullmatch(r">=\d+,<\d+", values["api_range"])
    assert tlzoo.plugins.api_compatible(values["api_range"]), "a new plugin supports this core"


def test_render_replaces_placeholders_and_rejects_unknown_ones() -> None:
    assert render("{{name}} and {'a': {{dist}}} and {{ spaced }}", {"name": "x", "dist": "y"}) == \
        "x and {'a': y} and {{ spaced }}"
    with pytest.raises(KeyError, match="{{nope}}"):
        render("{{nope}}", {})


def test_every_template_file_is_inert_until_rendered() -> None:
    files = [p for p in TEMPLATE.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    assert files and all(p.name.endswith(SUFFIX) for p in files), "template files must end in .tmpl"


def test_the_generated_tree_is_complete_and_fully_rendered(generated: Path) -> None:
    assert generated.name == "tlzoo-intent-detection"
    files = {p.relative_to(generated).as_posix() for p in generated.rglob("*") if p.is_file()}
    assert files == EXPECTED_FILES
    for path in generated.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert not re.search(r"\{\{\w+\}\}", text), path
            if path.suffix == ".py":
                compile(text, str(path), "exec")
    pyproject = (generated / "pyproject.toml").read_text()
    assert '[project.entry-points.tlzoo]\nintent-detection = "tlzoo_intent_detection"' in pyproject
    init = (generated / "src/tlzoo_intent_detection/__init__.py").read_text()
    assert "TLZOO_API = " in init and "tlzoo_intent_detection.task:IntentDetectionTask" in init
    rows = [json.loads(r) for r in (generated / "src/tlzoo_intent_detection/data/train.jsonl").read_text().splitlines()]
    assert len(rows) >= 64
    task = (generated / "src/tlzoo_intent_detection/task.py").read_text()
    if "--task-kind classification" in (generated / "README.md").read_text():
        assert {r["label"] for r in rows} == {"positive", "negative"}
        assert "(BaseTask)" in task
    elif "--task-kind token" in (generated / "README.md").read_text():
        assert all(len(r["tokens"]) == len(r["tags"]) for r in rows)
        assert "from tlzoo.token_alignment import" in task, "the token skeleton reuses the core's alignment"
    else:
        assert all(set(r) == {"source", "target"} for r in rows)
        assert "(Seq2SeqTask)" in task and '"test_backbone": "tiny-bart"' in init


def test_the_cli_offers_every_task_kind(tmp_path: Path) -> None:
    for kind in TASK_KINDS:
        result = CliRunner().invoke(cli, ["new", f"some-{kind}", "--kind", kind, "-o", str(tmp_path)])
        assert result.exit_code == 0, result.output
    assert "from tlzoo.seq2seq.task import Seq2SeqTask" in (
        tmp_path / "tlzoo-some-generation/src/tlzoo_some_generation/task.py").read_text()


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is not installed")
def test_the_generated_code_is_lint_clean(generated: Path) -> None:
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--select", "E,F,W,I,B,UP",
                           "--line-length", "110", "--target-version", "py310", "."],
                          cwd=generated, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout


@pytest.mark.parametrize(("name", "message"), [
    ("Bad_Name", "must be lower-case letters and digits"), ("1st", "must be lower-case"),
    ("a--b", "must be lower-case"), ("", "must be lower-case"),
    ("ner", "tlzoo-ner is already a known plugin"), ("tlzoo-qa", "tlzoo-qa is already a known plugin"),
])
def test_bad_or_taken_names_are_refused(tmp_path: Path, name: str, message: str) -> None:
    with pytest.raises(TlzooError, match=message):
        write_plugin(name, tmp_path)
    assert not any(tmp_path.iterdir())


@pytest.fixture
def fresh_host() -> Iterator[None]:
    tlzoo.plugins.reset()
    yield
    tlzoo.plugins.reset()


def test_a_name_an_installed_plugin_uses_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    fresh_host: None) -> None:
    site = tmp_path / "site"
    write_distribution(site, "tlzoo-owner", entry_points={"owner": "tlzoo_owner_mod"},
                       modules={"tlzoo_owner_mod": task_plugin_source("taken-task")})
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(TlzooError, match="a task called 'taken-task' is already registered by tlzoo-owner"):
        write_plugin("taken-task", tmp_path / "out")


def test_an_existing_folder_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "tlzoo-mine").mkdir()
    (tmp_path / "tlzoo-mine" / "notes.txt").write_text("keep me")
    with pytest.raises(TlzooError, match="already exists and is not empty"):
        write_plugin("tlzoo-mine", tmp_path)
    assert (tmp_path / "tlzoo-mine" / "notes.txt").read_text() == "keep me"


def test_cli_new_reports_the_folder_and_one_line_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["new", "sentiment", "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"created {tmp_path / 'tlzoo-sentiment'}" in result.output
    again = CliRunner().invoke(cli, ["new", "sentiment", "-o", str(tmp_path)])
    assert again.exit_code == 1 and again.output.count("\n") == 1 and again.output.startswith("error:")
    kind = CliRunner().invoke(cli, ["new", "other", "--task-kind", "nope", "-o", str(tmp_path)])
    assert kind.exit_code == 2 and "nope" in kind.output


# --- the whole journey, with the real pip ----------------------------------------------------------


def _run(*command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TLZOO_")}
    return subprocess.run(list(command), capture_output=True, text=True, cwd=cwd, env=env, timeout=900)


@pytest.mark.installs
@pytest.mark.slow
def test_new_install_list_test_check_uninstall(tmp_path: Path) -> None:
    """One plugin per task kind, installed by one pip run; each passes its own tests and ``tlzoo check``.

    The classification plugin runs all its own tests, as before; the others skip their own
    ``test_conforms_to_tlzoo``, which calls the same kit as the ``tlzoo check`` that follows.
    """
    tag = uuid.uuid4().hex[:8]
    names = {kind: f"scaffolded-{kind}-{tag}" for kind in TASK_KINDS}
    tlzoo_cli = [sys.executable, "-m", "tlzoo"]
    for kind, name in names.items():
        created = _run(*tlzoo_cli, "new", name, "--task-kind", kind, "--output", str(tmp_path))
        assert created.returncode == 0, created.stderr
    try:
        installed = _run(*tlzoo_cli, "install", "-e", *(str(tmp_path / f"tlzoo-{n}") for n in names.values()))
        assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
        listed = [{k: row[k] for k in ("kind", "name", "plugin")}
                  for row in json.loads(_run(*tlzoo_cli, "list", "tasks", "--json").stdout)]
        for kind, name in names.items():
            dist = f"tlzoo-{name}"
            assert f"installed {dist} 0.1.0: task:{name}" in installed.stdout
            assert {"kind": "task", "name": name, "plugin": dist} in listed

            kit_in_own_tests = kind == "classification"
            own_tests = _run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             *([] if kit_in_own_tests else ["-k", "not conforms"]), cwd=tmp_path / dist)
            assert own_tests.returncode == 0, own_tests.stdout[-3000:]
            assert ("4 passed" if kit_in_own_tests else "3 passed, 1 deselected") in own_tests.stdout
            checked = _run(*tlzoo_cli, "check", name)
            assert checked.returncode == 0, checked.stdout + checked.stderr[-2000:]
            specs = 1 if kind == "classification" else 2  # the token and generation skeletons add a metric
            assert f"{dist} 0.1.0: all {10 + specs} checks passed" in checked.stdout
    finally:
        removed = _run(*tlzoo_cli, "uninstall", *names.values())
    assert removed.returncode == 0, removed.stderr
    remaining = _run(*tlzoo_cli, "list", "tasks").stdout
    assert not any(name in remaining for name in names.values())


def test_the_contract_a_plugin_author_hits_is_documented() -> None:
    """``preprocess``'s arguments, ``length_column`` and the kit's derived inputs, in the code and the guide."""
    import inspect

    import tlzoo.task

    preprocess = inspect.getdoc(tlzoo.task.BaseTask.preprocess) or ""
    assert "``max_length`` is the token limit" in preprocess and "``training``" in preprocess
    source = inspect.getsource(tlzoo.task)
    assert "preprocess(examples, tokenizer, state, max_length, training)" in source
    assert 'length_column: ClassVar[str] = "input_ids"\n    """The feature column' in source
    assert "edge_case_inputs" in source
    guide = (Path(__file__).resolve().parents[1] / "docs" / "plugin-authoring.md").read_text()
    for term in ("length_column", "`max_length` is the token limit", "edge_case_inputs", "--task-kind",
                 "tlzoo --debug check"):
        assert term in guide, term
