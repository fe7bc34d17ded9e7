"""``tlzoo runs``: a table of finished runs, to compare them (imports neither torch nor transformers)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tlzoo.cli.table import print_table

MAX_METRIC_COLUMNS = 3
"""Validation metrics the table shows (the --sort metric first); --json has them all."""


@click.command("runs", short_help="Compare finished runs: a table, JSON or their curves in one PNG.")
@click.argument("folders", nargs=-1, type=click.Path(file_okay=False))
@click.option("--sort", "sort_by", metavar="METRIC",
              help="Order by a validation metric (best first: descending, ascending for names ending in loss, "
                   "perplexity or seconds), train_seconds or samples_per_second.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON, values as their manifests hold them.")
@click.option("--plot", type=click.Path(dir_okay=False),
              help="Write one PNG overlaying the runs' validation curves (the --sort metric, else the first).")
def runs_command(folders: tuple[str, ...], sort_by: str | None, as_json: bool, plot: str | None) -> None:
    """List the finished runs in FOLDERS and below them (default: the current folder): task, backbone,
    strategy, key hyper-parameters, validation metrics (the --sort one and the first others; --json: all),
    training time and samples/s."""
    from tlzoo.runs import describe, find_runs, metric_names, plot_runs, sort_runs

    runs = [describe(folder) for folder in find_runs(folders or (".",))]
    if sort_by:
        runs = sort_runs(runs, sort_by)
    metrics = metric_names(runs)
    shown_metrics = ([sort_by] if sort_by in metrics else []) + [m for m in metrics if m != sort_by]
    shown_metrics = shown_metrics[:MAX_METRIC_COLUMNS]
    if plot:
        if not metrics and not sort_by:
            from tlzoo.api import TlzooError

            raise TlzooError("--plot: the runs report no validation metric")
        shown = plot_runs(runs, sort_by if sort_by and sort_by in metrics else metrics[0], Path(plot))
        click.echo(f"curves: {shown}", err=as_json)
    if as_json:
        click.echo(json.dumps(runs, indent=2))
        return
    rows = [{"run": run["path"], "task": run["task"], "backbone": run["backbone"], "strategy": run["strategy"],
             "lr": _shown(run["hparams"]["learning_rate"]), "batch": _shown(run["hparams"]["batch_size"]),
             "epochs": _shown(run["hparams"]["epochs"]),
             **{m: _shown(run["metrics"].get("validation", {}).get(m)) for m in shown_metrics},
             "train_s": _shown(run["train_seconds"]), "samples/s": _shown(run["samples_per_second"])}
            for run in runs]
    print_table(rows, ["run", "task", "backbone", "strategy", "lr", "batch", "epochs", *shown_metrics, "train_s",
                       "samples/s"], max_width=80)


def _shown(value: object) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


COMMANDS = [runs_command]
