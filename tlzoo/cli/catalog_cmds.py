"""``tlzoo list`` and ``tlzoo info``: read specs only, never import torch or transformers."""

from __future__ import annotations

import json

import click

from tlzoo.api import KINDS, Spec, TlzooError
from tlzoo.cli.table import print_table

_PLURAL = {f"{kind}s": kind for kind in KINDS}


def _spec_row(spec: Spec) -> dict[str, str]:
    return {"kind": spec.kind, "name": spec.name, "plugin": spec.plugin, "description": spec.description}


def _uses(spec: Spec) -> str:
    """What a metric scores or what a reader reads, from its listing facts."""
    meta = spec.metadata
    if spec.kind == "metric":
        return f"{meta.get('consumes', '?')} predictions; primary {meta.get('primary', '?')}"
    if spec.kind == "dataset":
        files = ("hub:NAME[:CONFIG]@SPLIT" if spec.name == "hub"
                 else ", ".join(meta.get("extensions") or ()) or "--format")
        return f"{files} -> {meta.get('produces', '?')} rows"
    return ""


@click.command("list")
@click.argument("kind", required=False, type=click.Choice(sorted(_PLURAL)))
@click.option("--available", is_flag=True,
              help="Show the plugin index (index.yaml): each plugin, installed or not, and where "
                   "'tlzoo install' gets it.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_command(kind: str | None, available: bool, as_json: bool) -> None:
    """List components (tasks, backbones, heads, metrics, datasets)."""
    if available:
        from tlzoo.index import availability

        rows = availability()
        columns = ["name", "status", "source", "provides", "description"]
    else:
        from tlzoo.plugins import registry

        specs = registry().specs(_PLURAL[kind] if kind else None)  # type: ignore[arg-type]
        rows = [_spec_row(s) for s in specs]
        _warn_broken_plugins()
        columns = ["kind", "name", "plugin", "description"]
        if kind in ("metrics", "datasets"):
            for row, spec in zip(rows, specs):
                row["uses"] = _uses(spec)
            columns.insert(3, "uses")
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    else:
        print_table(rows, columns)


def _warn_broken_plugins() -> None:
    """One stderr line per plugin that failed to load, so a missing task is never a mystery."""
    from tlzoo.plugins import host

    for plugin in host().plugins:
        if plugin.error:
            click.echo(f"warning: plugin {plugin.distribution or plugin.name} skipped: {plugin.error} "
                       f"(see 'tlzoo plugins')", err=True)


@click.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info_command(name: str, as_json: bool) -> None:
    """Describe the component(s) called NAME."""
    from tlzoo.plugins import registry

    found = registry().find(name)
    if not found:
        raise TlzooError(registry().missing_message(name))
    payload = [{**_spec_row(s), "factory": s.factory, "metadata": dict(s.metadata),
                **(_task_facts(s) if s.kind == "task" else {})} for s in found]
    if as_json:
        click.echo(json.dumps(payload, indent=2, default=str))
        return
    for item in payload:
        click.echo(f"{item['name']} ({item['kind']}, from {item['plugin']})")
        click.echo(f"  {item['description']}")
        click.echo(f"  factory: {item['factory']}")
        for key, value in item["metadata"].items():
            click.echo(f"  {key}: {value}")
        if item["kind"] == "task":
            _echo_task_facts(item)


def _task_facts(spec: Spec) -> dict[str, object]:
    """The task's options and defaults, read from its class, and where its data formats are described."""
    from tlzoo.heads import heads_for
    from tlzoo.plugins import registry
    from tlzoo.taskdoc import describe_task, readme_location

    datasets = [f"{s.name} ({', '.join(s.metadata.get('formats') or []) or 'see its description'})"
                for s in registry().specs("dataset") if s.plugin == spec.plugin]
    facts: dict[str, object] = {"data_formats": {"readme": readme_location(spec.plugin) if spec.plugin else "",
                                                 "datasets": datasets}}
    try:
        cls = spec.load()
        facts.update(describe_task(cls))
        facts["heads"] = heads_for(cls.model_class, spec.name)
    except Exception as exc:  # a broken plugin must not break 'info': say why its options are unknown
        facts["error"] = f"cannot import {spec.factory}: {type(exc).__name__}: {exc}"
    return facts


def _echo_task_facts(item: dict) -> None:
    from tlzoo.taskdoc import show_value

    if "error" in item:
        click.echo(f"  options: unknown ({item['error']})")
    else:
        name = item["name"]
        click.echo(f"  options (tlzoo train {name} --OPTION VALUE, or OPTION: VALUE in a --config file):")
        for option in item["options"] or []:
            click.echo(f"    {option['flag']} {option['type']}  [default: {show_value(option['default'])}]")
            if option["help"]:
                click.echo(f"        {option['help']}")
        if not item["options"]:
            click.echo("    (none)")
        shown = ", ".join(f"{k}={show_value(v)}" for k, v in item["task_defaults"].items())
        click.echo(f"  task defaults (over the engine's; all in 'tlzoo train {name} --help'): {shown or '(none)'}")
        heads = item["heads"]
        click.echo(f"  heads (--head NAME): {', '.join(heads)}"
                   + (" (this task keeps its transformers head)" if heads == ["default"] else ""))
    formats = item["data_formats"]
    click.echo(f"  data formats and examples: {formats['readme']}"
               + (f"; datasets: {', '.join(formats['datasets'])}" if formats["datasets"] else ""))


@click.command("plugins", short_help="Show installed plugins, their versions and load errors.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_command(as_json: bool) -> None:
    """Show installed plugins: distribution, version, hooks, components and any load error."""
    from dataclasses import asdict

    from tlzoo.plugins import host

    infos = host().plugins
    if as_json:
        click.echo(json.dumps([asdict(i) for i in infos], indent=2))
        return
    rows = [{"plugin": i.name, "distribution": i.distribution, "version": i.version or "(core)",
             "hooks": ",".join(i.hooks), "components": str(len(i.components)),
             "status": f"ERROR {i.error}" if i.error else "ok"} for i in infos]
    print_table(rows, ["plugin", "distribution", "version", "hooks", "components", "status"])


@click.command("sample", short_help="Print the path of TASK's built-in sample data.")
@click.argument("task")
@click.option("--split", type=click.Choice(["train", "validation"]), default="train", show_default=True)
def sample_command(task: str, split: str) -> None:
    """Print the path of TASK's built-in sample data file (for demos and smoke tests)."""
    from tlzoo.plugins import registry
    from tlzoo.samples import sample_files

    click.echo(sample_files(registry().get(task, "task"))[split])


COMMANDS = [list_command, info_command, plugins_command, sample_command]
