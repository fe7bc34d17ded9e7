"""A new user finds what tlzoo accepts: task options in ``--help`` and ``info``, "did you mean" for
every mistyped name, installable plugins in a fresh checkout, and help text that reads whole."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import tlzoo
from tlzoo.api import TlzooError
from tlzoo.cli.main import cli
from tlzoo.task import make_options

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "datasets")


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def heavy_imports(*args: str) -> set[str]:
    """The heavy modules a ``tlzoo ARGS`` process imports (from ``-X importtime``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TLZOO_")}
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "tlzoo", *args], capture_output=True,
                            text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert imported, "no -X importtime output"
    return {m for m in imported if m.split(".")[0] in HEAVY}


# --- item 9: a task's options and defaults in 'train TASK --help' and 'info TASK' ---------------------


def test_train_task_help_shows_the_task_options_and_the_defaults_that_apply() -> None:
    result = invoke("train", "extractive-qa", "--help")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Options of task extractive-qa:" in result.output
    assert "--doc-stride INTEGER Tokens shared by consecutive windows" in text
    assert "--allow-no-answer TRUE|FALSE" in text and "[default: 128]" in text
    assert "--learning-rate FLOAT Peak learning rate of AdamW. [default: 0.0001 (task)]" in text
    assert "--max-length INTEGER" in text and "[default: 384 (task)]" in text
    assert "[default: 0.01]" in text, "engine defaults the task leaves alone are shown too"
    assert "[default: minilm-l6 (task)]" in text


def test_train_help_finds_the_task_after_options_and_without_one_shows_engine_defaults() -> None:
    after_options = invoke("train", "--backbone", "tiny-bert", "--text-column", "t", "classification", "--help")
    assert "Options of task classification:" in after_options.output
    assert "--text-column TEXT" in after_options.output
    plain = " ".join(invoke("train", "--help").output.split())
    assert "Peak learning rate of AdamW. [default: 5e-05]" in plain
    assert "'tlzoo train TASK --help' adds TASK's own options" in plain
    unknown = invoke("train", "nerr", "--help")
    assert unknown.exit_code == 0 and "no task named 'nerr'; did you mean 'ner'?" in unknown.output


@pytest.mark.parametrize("args", [("train", "ner", "--help"), ("info", "extractive-qa"),
                                  ("info", "summarization", "--json"), ("adapt", "--help")])
def test_task_help_and_info_never_import_heavy_libraries(args: tuple[str, ...]) -> None:
    assert not heavy_imports(*args)


def test_info_shows_every_option_of_every_task_with_type_default_and_help() -> None:
    from tlzoo.plugins import registry

    for spec in registry().specs("task"):
        shown = json.loads(invoke("info", spec.name, "--json").output)
        options = next(item for item in shown if item["kind"] == "task")["options"]
        fields = dataclasses.fields(spec.load().options_class)
        assert [o["name"] for o in options] == [f.name for f in fields], spec.name
        for option, field in zip(options, fields, strict=True):
            assert option["help"], f"{spec.name}: option {field.name} has no help"
            assert option["type"] and option["default"] == field.default


def test_info_text_for_qa_lists_its_options_defaults_and_data_formats() -> None:
    result = invoke("info", "extractive-qa")
    assert result.exit_code == 0, result.output
    assert "--doc-stride integer  [default: 128]" in result.output
    assert "--null-threshold number  [default: 0.0]" in result.output
    assert "task defaults" in result.output and "max_length=384" in result.output
    readme = re.search(r"data formats and examples: (\S+README\.md); datasets: squad", result.output)
    assert readme and Path(readme.group(1)) == ROOT / "plugins" / "tlzoo-qa" / "README.md"


def test_task_specs_no_longer_repeat_the_option_list() -> None:
    """The options come from the class; a copy in the spec metadata drifted (QA had none)."""
    from tlzoo.plugins import registry

    for spec in registry().specs("task"):
        assert "options" not in spec.metadata, spec.name
        cls = spec.load()
        assert spec.metadata.get("default_backbone", cls.default_backbone) == cls.default_backbone, spec.name
        assert spec.metadata.get("primary", cls.primary_metric) == cls.primary_metric, spec.name


def test_the_plugin_readmes_are_linked_from_the_readme_and_the_docs() -> None:
    readmes = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "plugins").glob("tlzoo-*/README.md"))
    assert len(readmes) == 8
    top = (ROOT / "README.md").read_text()
    docs = (ROOT / "docs" / "cli.md").read_text()
    for readme in readmes:
        assert f"]({readme})" in top, f"README.md does not link {readme}"
        assert f"](../{readme})" in docs, f"docs/cli.md does not link {readme}"


# --- item 10: "did you mean" for task options and backbones ------------------------------------------


def test_a_mistyped_task_option_on_the_command_line_gets_did_you_mean(tmp_path: Path) -> None:
    result = invoke("train", "classification", "--backbone", "tiny-bert", "--train", "x.csv",
                    "--output", str(tmp_path / "run"), "--text-colum", "text")
    assert result.exit_code == 1
    assert "did you mean 'text_column' (--text-column)?" in result.output
    assert not (tmp_path / "run").exists()


def test_a_mistyped_task_option_in_the_python_api_gets_did_you_mean(tmp_path: Path) -> None:
    with pytest.raises(TlzooError, match=r"unknown option 'text_colum'.*did you mean 'text_column'"):
        tlzoo.train("classification", backbone="tiny-bert", train="x.csv", output=str(tmp_path / "run"),
                    text_colum="text")
    from tlzoo_classification.tasks import TextOptions

    with pytest.raises(TlzooError, match=r"unknown task option\(s\) 'label_colum'; did you mean 'label_column'\?"):
        make_options(TextOptions, {"label_colum": "y"})


def test_a_mistyped_engine_option_gets_did_you_mean(tmp_path: Path) -> None:
    with pytest.raises(TlzooError, match=r"did you mean 'learning_rate' \(--learning-rate\)\?"):
        tlzoo.train("classification", backbone="tiny-bert", train="x.csv", learning_rat=1e-3)


def test_a_backbone_name_close_to_a_registered_one_is_a_typo_not_a_hub_id(monkeypatch: pytest.MonkeyPatch) -> None:
    from tlzoo.backbones import loading
    from tlzoo.backbones.resolve import resolve_backbone

    monkeypatch.setattr(loading, "hub_reachable", lambda: False)
    with pytest.raises(TlzooError, match=r"^no backbone named 'tiny-bret'; did you mean 'tiny-bert'"):
        resolve_backbone("tiny-bret")
    with pytest.raises(TlzooError, match="cannot be reached"):
        resolve_backbone("someone/tiny-bret")  # a hub id keeps its path
    with pytest.raises(TlzooError, match="cannot be reached"):
        resolve_backbone("bert-base-uncased")  # nothing registered is close


def test_a_mistyped_backbone_on_the_command_line_gets_did_you_mean(tmp_path: Path,
                                                                  sample: dict[str, str]) -> None:
    result = invoke("train", "classification", "--backbone", "tiny-bret", "--train", sample["train"],
                    "--output", str(tmp_path / "run"))
    assert result.exit_code == 1
    assert "no backbone named 'tiny-bret'; did you mean 'tiny-bert'" in result.output


# --- item 11: indexed plugins install from this checkout; 'list --available' is useful here --------


def test_indexed_plugins_install_from_their_folder_in_this_checkout() -> None:
    from tlzoo.index import install_args, load_index

    index = load_index(ROOT / "index.yaml")
    assert install_args(["ner", "tlzoo-qa"], index) == [str(ROOT / "plugins" / "tlzoo-ner"),
                                                        str(ROOT / "plugins" / "tlzoo-qa")]
    assert install_args(["tlzoo-ner>=0.1"], index) == ["tlzoo-ner>=0.1"], "a version asks the package index"


def test_without_a_checkout_an_indexed_plugin_installs_its_requirement_and_a_failure_says_why(
        tmp_path: Path) -> None:
    from tlzoo.index import index_hint, install_args, load_index

    packaged = tmp_path / "index.yaml"  # the copy inside an installed tlzoo: no plugins/ next to it
    packaged.write_text((ROOT / "index.yaml").read_text())
    index = load_index(packaged)
    assert install_args(["ner"], index) == ["tlzoo-ner"]
    assert "if the package index has no tlzoo-ner, install from a tlzoo checkout" in index_hint(["ner"], index)
    assert index_hint(["ner"], load_index(ROOT / "index.yaml")) == ""


def test_list_available_shows_every_indexed_plugin_with_its_status_and_source() -> None:
    result = invoke("list", "--available")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:4] == ["NAME", "STATUS", "SOURCE", "PROVIDES"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"tlzoo-classification", "tlzoo-ner", "tlzoo-qa", "tlzoo-translation",
                         "tlzoo-summarization", "tlzoo-similarity", "tlzoo-relation", "tlzoo-generation"}
    assert "plugins/tlzoo-ner" in rows["tlzoo-ner"] and "installed 0.1.0" in rows["tlzoo-ner"]


@pytest.mark.installs
@pytest.mark.slow
def test_tlzoo_install_installs_an_unpublished_indexed_plugin_from_its_path(tmp_path: Path) -> None:
    """A real pip run: an index entry whose distribution no package index has installs from ``path``."""
    import yaml

    from tlzoo.scaffold import write_plugin

    write_plugin("findable-demo", tmp_path / "plugins")
    (tmp_path / "index.yaml").write_text(yaml.safe_dump({"version": 1, "plugins": [{
        "name": "tlzoo-findable-demo", "requirement": "tlzoo-findable-demo",
        "path": "plugins/tlzoo-findable-demo", "provides": ["task:findable-demo"], "tlzoo_api": ">=1,<2",
        "description": "A demo."}]}))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TLZOO_")},
           "TLZOO_INDEX": str(tmp_path / "index.yaml")}

    def tlzoo_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tlzoo", *args], capture_output=True, text=True,
                              env=env, timeout=300, cwd=tmp_path)

    try:
        assert "not installed" in tlzoo_cli("list", "--available").stdout
        installed = tlzoo_cli("install", "findable-demo")
        assert installed.returncode == 0, installed.stderr[-3000:]
        assert "installed tlzoo-findable-demo 0.1.0: task:findable-demo" in installed.stdout
        assert "installed 0.1.0" in tlzoo_cli("list", "--available").stdout
    finally:
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "--yes", "tlzoo-findable-demo"],
                       capture_output=True)


# --- item 8: how to get 'tlzoo' on PATH; plugins install into the project's environment -------------


def test_the_readme_says_how_to_get_tlzoo_on_path_before_the_tour() -> None:
    text = (ROOT / "README.md").read_text()
    setup = text[text.index("## Two commands"):text.index("## A 5-minute tour")]
    assert "make demo" in setup and ". .venv/bin/activate" in setup and "make shell" in setup


@pytest.mark.skipif(not (ROOT / ".venv" / "bin" / "activate").is_file(), reason="needs the make install venv")
def test_make_shell_opens_a_shell_with_the_project_environment_active() -> None:
    env = {**os.environ, "SHELL": "/bin/sh", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(["make", "-s", "-o", ".venv/.installed", "shell"], cwd=ROOT, env=env, text=True,
                            input="command -v tlzoo\n", capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert str(ROOT / ".venv" / "bin" / "tlzoo") in result.stdout.splitlines()


def test_the_plugin_guide_installs_into_the_environment_tlzoo_runs_in() -> None:
    from tests.test_docs import run_blocks  # the docs tests' own block parser

    guide = (ROOT / "docs" / "plugin-authoring.md").read_text()
    commands = [line.strip() for block in run_blocks(guide) for line in block.code.splitlines()]
    assert "tlzoo install -e ./tlzoo-sentiment-demo" in commands
    assert not [c for c in commands if c.startswith("pip ")], "a bare pip may belong to another Python"
    assert ". .venv/bin/activate" in guide and "make shell" in guide


# --- item 14: command summaries in 'tlzoo --help' read whole --------------------------------------


def test_every_command_summary_reads_whole_in_tlzoo_help() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    listing = result.output[result.output.index("Commands:"):]
    assert "..." not in listing and "(e.g.\n" not in listing
    width = 80 - 6 - max(map(len, cli.commands))  # what click leaves a summary in an 80-column terminal
    for name, command in cli.commands.items():
        summary = command.get_short_help_str(limit=width)
        assert summary.endswith(".") and len(summary) <= width, (name, summary)
        assert summary.count("(") == summary.count(")"), (name, summary)


def test_uninstall_of_a_mistyped_plugin_name_gets_did_you_mean() -> None:
    result = invoke("uninstall", "nre")
    assert result.exit_code == 1
    assert result.output.strip() == "error: nre is not installed; did you mean 'tlzoo-ner'? (see 'tlzoo plugins')"
