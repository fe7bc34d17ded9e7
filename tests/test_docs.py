"""The code in ``docs/*.md`` runs, and the CLI reference covers every command and option.

Marker convention for fenced code blocks in ``docs/*.md``:

- ```` ```bash run ```` runs with ``bash -euo pipefail`` and must exit 0;
- ```` ```bash run-error ```` must exit non-zero and print a one-line ``error: ...`` (an error shown
  on purpose, e.g. a refused install);
- ```` ```python run ```` runs as a script with this interpreter and must exit 0;
- the README's blocks follow the same convention;
- any other block (plain ```` ```bash ````, ```` ```text ````...) is an illustration and is not run:
  use it only for what cannot run here (publishing to PyPI, paths on the reader's machine).

The run blocks of one document execute in order in one fresh temporary folder, so a block may use
what an earlier block wrote. ``PATH`` starts with this interpreter's ``bin`` folder (``tlzoo``,
``python`` and ``pip`` are the project's), and ``TLZOO_*`` variables are cleared. Plugins that a
document installs are uninstalled afterwards, even when a block fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import click
import pytest

from tlzoo.cli.main import cli

DOCS = Path(__file__).resolve().parents[1] / "docs"
_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
RUN_KINDS = {"bash run", "bash run-error", "python run"}


@dataclass
class Block:
    kind: str
    code: str
    line: int


def run_blocks(text: str) -> list[Block]:
    """The blocks of ``text`` marked to run, with the line each starts on."""
    return [Block(m.group(1).strip(), m.group(2), text.count("\n", 0, m.start()) + 1)
            for m in _FENCE.finditer(text) if m.group(1).strip() in RUN_KINDS]


def documents() -> list[Path]:
    candidates = [DOCS.parent / "README.md", *DOCS.glob("*.md")]
    return sorted(p for p in candidates if run_blocks(p.read_text()))


def installs(document: Path) -> bool:
    """Whether a block of ``document`` that must succeed installs a package into this environment."""
    return any(block.kind != "bash run-error" and _INSTALL.search(block.code)
               for block in run_blocks(document.read_text()))


_INSTALL = re.compile(r"\b(tlzoo|pip) install\b")


def installed_plugins() -> set[str]:
    return {ep.dist.name for ep in metadata.entry_points(group="tlzoo") if ep.dist}


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TLZOO_")}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def test_the_marker_convention_is_parsed() -> None:
    text = "a\n```bash run\necho 1\n```\n```bash\nnot run\n```\n```python run\nprint(2)\n```\n"
    assert [(b.kind, b.code, b.line) for b in run_blocks(text)] == [
        ("bash run", "echo 1\n", 2), ("python run", "print(2)\n", 8)]


def test_a_document_that_installs_a_package_is_marked_to_run_alone(tmp_path: Path) -> None:
    refused, installing = tmp_path / "refused.md", tmp_path / "installing.md"
    refused.write_text("```bash run-error\ntlzoo install nre\n```\n```bash run\ntlzoo list\n```\n")
    installing.write_text("```bash run\ntlzoo new demo\ntlzoo install -e ./tlzoo-demo\n```\n")
    assert not installs(refused) and installs(installing)
    marked = {d.name for d in documents() if installs(d)}
    assert "plugin-authoring.md" in marked and "cli.md" not in marked  # cli.md's only install is a refused one


@pytest.mark.slow
@pytest.mark.parametrize("document", [pytest.param(d, marks=pytest.mark.installs) if installs(d) else d
                                      for d in documents()], ids=lambda p: p.name)
def test_the_code_in_a_document_runs(document: Path, tmp_path: Path) -> None:
    before = installed_plugins()
    env = _environment()
    try:
        for block in run_blocks(document.read_text()):
            if block.kind == "python run":
                command = [sys.executable, "-c", block.code]
            else:
                command = ["bash", "-euo", "pipefail", "-c", block.code]
            result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
            where = f"{document.name}, block at line {block.line}"
            output = (result.stdout + result.stderr)[-3000:]
            if block.kind == "bash run-error":
                assert result.returncode != 0, f"{where} should fail but exited 0:\n{output}"
                assert re.search(r"^error: ", result.stderr, re.MULTILINE), f"{where}: no 'error:' line\n{output}"
                assert "Traceback" not in result.stderr, f"{where}: a traceback instead of one line\n{output}"
            else:
                assert result.returncode == 0, f"{where} exited {result.returncode}:\n{output}"
    finally:
        left = installed_plugins() - before
        if left:
            subprocess.run([sys.executable, "-m", "pip", "uninstall", "--yes", *sorted(left)], capture_output=True)


def _sections(text: str) -> dict[str, str]:
    """``## `tlzoo NAME` ...`` headings -> the text up to the next ``## `` heading."""
    parts = re.split(r"^## `tlzoo ([\w-]+)[^`]*`.*$", text, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_cli_reference_covers_every_command_and_option() -> None:
    sections = _sections((DOCS / "cli.md").read_text())
    missing_commands = sorted(set(cli.commands) - set(sections))
    assert not missing_commands, f"docs/cli.md has no '## `tlzoo NAME`' section for {missing_commands}"
    missing = {}
    for name, command in cli.commands.items():
        flags = [flag for param in command.params if isinstance(param, click.Option)
                 for flag in (*param.opts, *param.secondary_opts) if flag.startswith("--") and flag != "--help"]
        absent = [flag for flag in flags if not re.search(rf"{re.escape(flag)}(?![\w-])", sections[name])]
        if absent:
            missing[name] = absent
    assert not missing, f"options missing from their docs/cli.md section: {missing}"
