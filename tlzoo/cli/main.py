"""Entry point of the ``tlzoo`` command. Errors become one line and exit code 1 unless ``--debug``."""

from __future__ import annotations

import sys

import click

from tlzoo import __version__
from tlzoo.api import TlzooError
from tlzoo.cli import (
    adapt_cmd,
    catalog_cmds,
    distill_cmd,
    export_cmds,
    plugin_cmds,
    run_cmds,
    runs_cmd,
    serve_cmd,
    tune_cmd,
)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except TlzooError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt as exc:  # a training run's message says what it kept
            click.echo(str(exc) or "interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tlzoo")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """tlzoo: fine-tune pretrained transformers on NLP tasks, with tasks as plugins."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


for module in (catalog_cmds, plugin_cmds, run_cmds, distill_cmd, adapt_cmd, tune_cmd, runs_cmd, export_cmds, serve_cmd):
    for command in module.COMMANDS:
        cli.add_command(command)


def main() -> None:
    debug = "--debug" in sys.argv[1:]
    try:
        cli(standalone_mode=True)
    except TlzooError as exc:  # raised outside a command's invoke (e.g. while parsing)
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
