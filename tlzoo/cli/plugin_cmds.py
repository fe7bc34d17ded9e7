"""Plugin administration commands: ``install``, ``uninstall``, ``new`` and ``check``.

``install`` and ``uninstall`` resolve names through the plugin index (``index.yaml``) and run pip in
this interpreter, so plugins land next to the tlzoo that will load them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tlzoo.api import TlzooError


def _loaded_plugins() -> dict[str, dict[str, str]]:
    """Distribution -> {version, error, components} as a fresh process sees it after pip ran."""
    import subprocess  # here, not at the top: every ``tlzoo list`` imports this module

    command = [sys.executable, "-m", "tlzoo", "plugins", "--json"]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        return {}
    return {p["distribution"]: {"version": p["version"], "error": p["error"],
                                "components": ", ".join(p["components"])}
            for p in json.loads(result.stdout) if not p["builtin"]}


@click.command("install", short_help="Install plugins by index name or as pip requirements.")
@click.argument("names", nargs=-1, required=True)
@click.option("-e", "--editable", is_flag=True,
              help="Install indexed plugins from their source folder in this repository.")
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade plugins that are already installed.")
def install_command(names: tuple[str, ...], editable: bool, upgrade: bool) -> None:
    """Install plugins by index name (e.g. 'ner' or 'tlzoo-ner') or as plain pip requirements.

    An indexed plugin installs from its folder in this checkout (e.g. plugins/tlzoo-ner), else from the
    package index. Indexed plugins that do not support this tlzoo's plugin API are refused before pip runs.
    """
    from tlzoo.index import index_hint, install_args, load_index, run_pip

    index = load_index()
    args = install_args(names, index, editable=editable)
    before = _loaded_plugins()
    try:
        run_pip(["install", *(["--upgrade"] if upgrade else []), *args])
    except TlzooError as exc:
        raise TlzooError(f"{exc}{index_hint(names, index)}") from exc
    after = _loaded_plugins()
    broken = []
    for dist, info in sorted(after.items()):
        if before.get(dist) == info:
            continue
        if info["error"]:
            broken.append(f"{dist} {info['version']}: {info['error']}")
        else:
            click.echo(f"installed {dist} {info['version']}: {info['components'] or '(no components)'}")
    if broken:
        raise TlzooError(f"installed but not usable: {'; '.join(broken)} "
                         f"(remove with 'tlzoo uninstall NAME')")


@click.command("uninstall", short_help="Uninstall plugins (no confirmation prompt).")
@click.argument("names", nargs=-1, required=True)
def uninstall_command(names: tuple[str, ...]) -> None:
    """Uninstall plugins by index or distribution name (no confirmation prompt)."""
    from tlzoo.index import load_index, run_pip, uninstall_args

    run_pip(["uninstall", "--yes", *uninstall_args(names, load_index())])


@click.command("new", short_help="Write a new plugin package tlzoo-NAME with a working task.")
@click.argument("name")
@click.option("--task-kind", "--kind", "task_kind", default="classification", show_default=True,
              type=click.Choice(["classification", "token", "generation"]),
              help="Which working task skeleton to start from: sequence classification (a text in, a label "
                   "out), token (a tag per word) or generation (text in, text out, on tlzoo.seq2seq).")
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder in which the plugin folder tlzoo-NAME is created.")
def new_command(name: str, task_kind: str, output: Path) -> None:
    """Write a complete plugin package tlzoo-NAME with a working task called NAME (see --task-kind)."""
    from tlzoo.scaffold import write_plugin

    folder = write_plugin(name, output, task_kind=task_kind)
    click.echo(f"created {folder}")
    click.echo(f"next: tlzoo install -e {folder} && tlzoo check {folder.name}")


@click.command("check", short_help="Run the conformance kit on an installed plugin.")
@click.argument("name")
@click.option("--task", "tasks", multiple=True, help="Check only this task (repeatable).")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the trained check models here (default: a temporary folder).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def check_command(ctx: click.Context, name: str, tasks: tuple[str, ...], workdir: Path | None,
                  as_json: bool) -> None:
    """Run the conformance kit (tlzoo.testing) on an installed plugin, by distribution or entry-point name.

    With 'tlzoo --debug check', the traceback of each check that failed on an exception follows the report.
    """
    from tlzoo.testing import check_plugin

    progress = None if as_json else click.echo
    report = check_plugin(name, tasks=tasks or None, workdir=workdir, progress=progress)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    if ctx.obj and ctx.obj.get("debug"):
        for failure in report.failures:
            if failure.traceback:
                click.echo(f"traceback of FAIL {failure.name}:\n{failure.traceback.rstrip()}", err=True)
    if not report.ok:
        raise TlzooError(f"{report.distribution or name} failed {len(report.failures)} of "
                         f"{len(report.results)} checks")
    if not as_json:
        click.echo(f"{report.distribution} {report.version}: all {len(report.results)} checks passed")


COMMANDS = [install_command, uninstall_command, new_command, check_command]
