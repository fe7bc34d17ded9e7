"""``tlzoo tune``: an Optuna search over ``tlzoo train``'s options (:mod:`tlzoo.tuning.study`)."""

from __future__ import annotations

import json
from typing import Any

import click

from tlzoo.cli.run_cmds import _engine_options, _extra_options
from tlzoo.cli.table import print_table
from tlzoo.cli.task_help import TrainCommand


@click.command("tune", cls=TrainCommand, short_help="Search training options with Optuna; keep the best model.",
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("task", required=False)
@click.option("--trials", type=int, help="Finished (complete or pruned) trials in the study, counting those a "
                                         "resumed study already ran (default 10); failed ones are run again.")
@click.option("--max-minutes", "total_minutes", type=float,
              help="Time budget of the search: no trial starts after it, and a trial's training stops when it ends.")
@click.option("--trial-minutes", type=float, help="Training time budget of each trial (tlzoo train --max-minutes).")
@click.option("--space", type=click.Path(dir_okay=False),
              help="YAML file overriding the task's search space: NAME: {low, high, log, step}, NAME: [choices], "
                   "NAME: value (fixed) or NAME: null (not searched).")
@click.option("--prune-after", type=int,
              help="Trials that must finish before the median pruner stops weak ones (default 2).")
@click.option("--keep-all", is_flag=True, help="Keep every trial's weights, not only the best one's (in DIR/best).")
@click.option("--resume", is_flag=True, help="Continue the study in --output DIR with its saved settings.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="YAML file of options fixed for all "
                                                                               "trials.")
@(lambda command: _engine_options(command, skip=("max_minutes",)))
@click.pass_context
def tune_command(ctx: click.Context, task: str | None, trials: int | None, total_minutes: float | None,
                 trial_minutes: float | None, space: str | None, prune_after: int | None, keep_all: bool,
                 resume: bool, config_file: str | None, **options: Any) -> None:
    """Search TASK's training options with Optuna (TPE sampler, median pruner): each trial is a normal
    training run in DIR/trials/, scored by its best evaluation of the task's primary metric on --validation;
    the best model goes to DIR/best. Every other 'tlzoo train' option is fixed for all trials."""
    options = {k: v for k, v in options.items() if v is not None and v != ()}
    options.update(_extra_options(ctx.args, "task options"))
    import tlzoo

    result = tlzoo.tune(task, config_file, trials=trials, max_minutes=total_minutes, trial_minutes=trial_minutes,
                        space=space, resume=resume, keep_all=keep_all, prune_after=prune_after, **options)
    if options.get("quiet"):
        return
    names = sorted({name for t in result.trials for name in t["params"]})
    rows = [{"trial": str(t["number"]), "state": t["state"] + (f" @eval {t['pruned_at']['evaluation']}"
                                                               if t["pruned_at"] else ""),
             result.metric: f"{t['value']:.4f}" if t["value"] is not None else "",
             **{n: _shown(t["params"].get(n)) for n in names}, "seconds": str(t["seconds"] or "")}
            for t in result.trials]
    print_table(rows, ["trial", "state", result.metric, *names, "seconds"])
    if result.best is None:
        click.echo("no trial finished; see DIR/summary.json")
        return
    click.echo(f"best: trial {result.best['number']}, {result.metric} {result.best['value']:.4f}, "
               f"{json.dumps(result.best['params'])}")
    click.echo(f"best model: {result.output_dir}/best  (plots: history.png, importance.png, trials.png)")


def _shown(value: Any) -> str:
    return "" if value is None else f"{value:.3g}" if isinstance(value, float) else str(value)


COMMANDS = [tune_command]
