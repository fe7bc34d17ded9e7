"""``tlzoo tune``: an Optuna search over :func:`tlzoo.train`'s options, each trial a normal run of the engine.

The study lives in ``DIR/study.db`` (SQLite), so a search that stops resumes where it stopped (``--resume``);
``DIR/tune.json`` keeps what it was started with. Trial ``N`` trains in ``DIR/trials/trial-NNN`` through
:func:`tlzoo.engine.run.run` with a :class:`TuneRecipe`, which reports every evaluation to Optuna
(``trial.report``; the step is the evaluation's rank, so trials with other batch sizes compare) and stops the
trial when the median pruner says so. A trial's objective is its *best* evaluation of the task's primary
metric (the engine keeps that checkpoint as the model), not its last. The best trial's model is copied to
``DIR/best``, a normal model folder; trials keep their metrics, logs and curves but not their weights unless
``keep_all``. ``DIR/summary.json`` and the plots of :mod:`tlzoo.tuning.plots` sum the study up.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlzoo.api import TlzooError
from tlzoo.engine.output import remove_entries
from tlzoo.engine.run import Recipe, RunInterrupted, resolve_config, run, task_class
from tlzoo.tuning.space import build_space, read_space

STUDY_DB = "study.db"
SETTINGS = "tune.json"
SUMMARY = "summary.json"
TRIALS = "trials"
BEST = "best"
STUDY_NAME = "tlzoo"
DEFAULT_TRIALS = 10
MAX_FAILURES = 3
"""Failed trials in a row after which the search stops (the failure is then not a bad draw)."""
DEFAULT_PRUNE_AFTER = 2
"""Trials that must finish before the median pruner stops any (Optuna's ``n_startup_trials``)."""
_STUDY_FILES = (STUDY_DB, SETTINGS, SUMMARY, TRIALS, BEST, "history.png", "importance.png", "trials.png")
_WEIGHTS = (".safetensors", ".bin", ".pt", ".pth")


@dataclass
class TuneResult:
    output_dir: str
    metric: str
    greater_is_better: bool
    best: dict[str, Any] | None
    """The best trial (``number``, ``value``, ``params``, ``folder``); its model is in ``DIR/best``."""
    trials: list[dict[str, Any]]
    """Every trial of the study, resumed sessions included: ``number``, ``state`` (complete, pruned, fail),
    ``value``, ``params``, ``folder``, ``curve`` ([step, value] per evaluation), ``pruned_at``, ``seconds``."""


class TuneRecipe(Recipe):
    """Plain fine-tuning that reports each evaluation to an Optuna trial and stops when it is pruned."""

    def __init__(self, trial: Any, metric: str, greater_is_better: bool) -> None:
        self.trial, self.metric, self.greater = trial, metric, greater_is_better
        self.best: float | None = None
        self.curve: list[list[float]] = []

    def observe(self, record: dict[str, Any]) -> None:
        value = record.get(f"eval_{self.metric}")
        if record.get("event") != "eval" or value is None:
            return
        value = float(value)
        self.curve.append([record["step"], value])
        if self.best is None or (value > self.best if self.greater else value < self.best):
            self.best = value
        self.trial.report(value, len(self.curve))
        if self.trial.should_prune():
            import optuna

            raise optuna.TrialPruned(f"trial {self.trial.number} pruned at evaluation {len(self.curve)} (step "
                                     f"{record['step']}): {self.metric} {value:.4f}, worse than the median of "
                                     f"the other trials at that evaluation")


def tune(task: str | None = None, config: str | None = None, *, trials: int | None = None,
         max_minutes: float | None = None, trial_minutes: float | None = None, space: str | None = None,
         resume: bool = False, keep_all: bool = False, prune_after: int | None = None,
         **options: Any) -> TuneResult:
    """Search :func:`tlzoo.train`'s options for the best score on the validation data.

    ``trials``: finished (complete or pruned) trials in the study, those of a resumed study included (a failed
    or interrupted trial is run again, with new values; :data:`MAX_FAILURES` failures in a row stop the
    search); ``max_minutes``: the time budget of this call (no trial starts after it, and each trial's
    training stops when it ends); ``trial_minutes``: a training time budget per trial (``tlzoo train
    --max-minutes``); ``space``: a YAML file overriding the task's search space; ``resume``: continue the
    study in ``output`` with its saved settings (options given now win). Every other option is
    :func:`tlzoo.train`'s, fixed for all trials.
    """
    try:
        import optuna
        from optuna.trial import TrialState
    except ImportError:
        raise TlzooError("tlzoo tune needs Optuna: pip install 'tlzoo[tune]'") from None

    if not options.get("output"):
        raise TlzooError("no output folder: pass --output DIR (the study, its trials and the best model)")
    folder = Path(options["output"])
    overwrite = bool(options.pop("overwrite", False))
    for name, value in (("trials", trials), ("prune_after", prune_after)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0
                                  or (name == "trials" and value < 1)):
            raise TlzooError(f"{name} must be an integer >= {1 if name == 'trials' else 0}, got {value!r}")
    for name, value in (("max_minutes", max_minutes), ("trial_minutes", trial_minutes)):
        if value is not None and not (isinstance(value, (int, float)) and value > 0):
            raise TlzooError(f"{name} must be a number of minutes > 0, got {value!r}")
    space_values = read_space(space) if space else None
    if resume:
        saved = _saved_settings(folder)
        if task and task != saved["task"]:
            raise TlzooError(f"cannot resume: {folder} is a study of task {saved['task']!r}, not {task!r}")
        task, config = saved["task"], config or saved["config"]
        options = {**saved["options"], **options}
        space_values = saved["space"] if space_values is None else space_values
        trials = trials or saved["trials"]
        trial_minutes = trial_minutes if trial_minutes is not None else saved["trial_minutes"]
        prune_after = prune_after if prune_after is not None else saved["prune_after"]
    else:
        _check_new_study(folder, overwrite)
    trials = trials or DEFAULT_TRIALS
    prune_after = DEFAULT_PRUNE_AFTER if prune_after is None else prune_after
    # Every option must resolve as tlzoo train's would before anything is written.
    base = resolve_config(task, config, **{**options, "output": str(folder / TRIALS / "check"), "overwrite": True})
    if not base.validation:
        raise TlzooError("tlzoo tune scores each trial on validation data: pass --validation FILE")
    cls, _ = task_class(base.task)
    from tlzoo.engine.config import read_yaml

    fixed_names = {k for k, v in options.items() if v is not None} | set(read_yaml(config) if config else {})
    searched = build_space(cls, space_values or {}, f"space file {space}" if space else "search space", fixed_names)
    if not searched.params:
        raise TlzooError("the search space is empty: every option in it is fixed; widen --space")
    say = _say(base.quiet)

    if not resume:
        folder.mkdir(parents=True, exist_ok=True)
    (folder / SETTINGS).write_text(json.dumps(
        {"task": base.task, "config": config, "options": {k: v for k, v in options.items() if k != "output"},
         "space": space_values or {}, "trials": trials, "trial_minutes": trial_minutes, "prune_after": prune_after},
        indent=2, default=str))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{(folder / STUDY_DB).resolve()}"
    existing = _count_trials(storage)
    study = optuna.create_study(
        study_name=STUDY_NAME, storage=storage, load_if_exists=True,
        direction="maximize" if cls.greater_is_better else "minimize",
        sampler=optuna.samplers.TPESampler(seed=base.seed + existing),  # a resumed study draws new points
        pruner=optuna.pruners.MedianPruner(n_startup_trials=prune_after, n_warmup_steps=0))
    for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        say(f"trial {stale.number} was interrupted; marked failed")
        study.tell(stale.number, state=TrialState.FAIL)
    say(f"searching {', '.join(f'{p.name} ({p.describe()})' for p in searched.params.values())}; "
        f"{cls.primary_metric} on {Path(base.validation).name}, {'higher' if cls.greater_is_better else 'lower'} "
        f"is better")

    started, failures = time.monotonic(), 0
    while (done := _finished(study)) < trials:
        left = max_minutes * 60 - (time.monotonic() - started) if max_minutes else None
        if left is not None and left <= 1:
            say(f"time budget of {max_minutes:g} minutes spent; stopping after {done} finished trials")
            break
        if failures == MAX_FAILURES:
            say(f"{failures} trials failed in a row; stopping (see {folder / SUMMARY})")
            break
        trial = study.ask()
        params = {name: p.suggest(trial) for name, p in searched.params.items()}
        trial_dir = folder / TRIALS / f"trial-{trial.number:03d}"
        minutes = min(m for m in (trial_minutes, left / 60 if left is not None else None) if m) \
            if (trial_minutes or left is not None) else 0
        trial_options = {**options, **searched.fixed, **params, "output": str(trial_dir), "overwrite": True,
                         "quiet": True, **({"max_minutes": round(minutes, 3)} if minutes else {})}
        shown = ", ".join(f"{k}={_short(v)}" for k, v in params.items())
        say(f"trial {trial.number}: {shown}")
        recipe = TuneRecipe(trial, cls.primary_metric, cls.greater_is_better)
        began = time.monotonic()
        try:
            run(resolve_config(base.task, config, **trial_options), recipe)
        except optuna.TrialPruned as exc:
            _note(trial, folder, trial_dir, recipe, began, message=str(exc),
                  pruned_at={"evaluation": len(recipe.curve), "step": recipe.curve[-1][0]})
            study.tell(trial, state=TrialState.PRUNED)
            _strip_weights(trial_dir)
            say(str(exc))
            failures = 0
            continue
        except TlzooError as exc:
            _note(trial, folder, trial_dir, recipe, began, message=str(exc))
            study.tell(trial, state=TrialState.FAIL)
            _strip_weights(trial_dir)
            say(f"trial {trial.number} failed: {exc}")
            failures += 1
            continue
        except KeyboardInterrupt as exc:
            _note(trial, folder, trial_dir, recipe, began, message="interrupted")
            study.tell(trial, state=TrialState.FAIL)
            _strip_weights(trial_dir)
            command = f"tlzoo tune --resume --output {shlex.quote(str(folder))}"
            raise RunInterrupted(f"tune interrupted during trial {trial.number}; continue the study with: "
                                 f"{command}") from exc
        _note(trial, folder, trial_dir, recipe, began)
        if recipe.best is None:
            study.tell(trial, state=TrialState.FAIL)
            failures += 1
            continue
        failures = 0
        study.tell(trial, recipe.best)
        best = study.best_trial.number == trial.number
        say(f"trial {trial.number}: best {cls.primary_metric} {recipe.best:.4f}"
            + (" (best so far)" if best else "") + f" in {time.monotonic() - began:.0f} s")
        if best:
            _publish_best(trial_dir, folder / BEST)
        if not keep_all:
            _strip_weights(trial_dir)

    result = _result(study, folder, cls.primary_metric, cls.greater_is_better)
    (folder / SUMMARY).write_text(json.dumps({"metric": result.metric, "greater_is_better": result.greater_is_better,
                                              "best": result.best,
                                              "trials": result.trials}, indent=2))
    from tlzoo.tuning.plots import plot_study

    plot_study(study, result, folder)
    return result


def _finished(study: Any) -> int:
    """Trials that count towards ``trials``: complete or pruned (a failed or interrupted one is run again)."""
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def _note(trial: Any, folder: Path, trial_dir: Path, recipe: TuneRecipe, began: float, **extra: Any) -> None:
    """What the summary shows of a trial, kept with it in the study."""
    values = {"folder": os.path.relpath(trial_dir, folder), "curve": recipe.curve,
              "seconds": round(time.monotonic() - began, 1), **extra}
    for key, value in values.items():
        trial.set_user_attr(key, value)


def _say(quiet: bool) -> Callable[[str], None]:
    def say(line: str) -> None:
        if not quiet:
            print(line, flush=True)

    return say


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _saved_settings(folder: Path) -> dict[str, Any]:
    path = folder / SETTINGS
    if not path.is_file():
        raise TlzooError(f"cannot resume: {folder} has no {SETTINGS}; pass the --output folder of a tlzoo tune study")
    return json.loads(path.read_text())


def _check_new_study(folder: Path, overwrite: bool) -> None:
    """Refuse to mix studies: a folder holding one needs ``--overwrite`` (which removes it) or ``--resume``."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise TlzooError(f"output {folder} exists and is not a folder")
    holds_study = any((folder / name).exists() for name in (STUDY_DB, SETTINGS))
    if (holds_study or any(folder.iterdir())) and not overwrite:
        what = "already holds a tune study" if holds_study else "is not empty"
        raise TlzooError(f"output folder {folder} {what}; pass --resume to continue it or --overwrite to replace it")
    remove_entries(folder, _STUDY_FILES)


def _count_trials(storage: str) -> int:
    import optuna

    try:
        return len(optuna.load_study(study_name=STUDY_NAME, storage=storage).trials)
    except KeyError:  # no study yet
        return 0


def _strip_weights(trial_dir: Path) -> None:
    """Drop a trial's weights (checkpoints, model files); its metrics, logs and curves stay."""
    shutil.rmtree(trial_dir / "checkpoints", ignore_errors=True)
    if trial_dir.is_dir():
        for path in trial_dir.iterdir():
            if path.is_file() and path.suffix in _WEIGHTS:
                path.unlink()


def _publish_best(trial_dir: Path, best: Path) -> None:
    """``best`` becomes a copy of the trial's model folder, replaced in one move."""
    staging = best.with_name(f".{best.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(trial_dir, staging, ignore=shutil.ignore_patterns("checkpoints"))
    shutil.rmtree(best, ignore_errors=True)
    os.replace(staging, best)


def _result(study: Any, folder: Path, metric: str, greater_is_better: bool) -> TuneResult:
    from optuna.trial import TrialState

    rows = []
    for t in study.get_trials(deepcopy=False):
        rows.append({"number": t.number, "state": t.state.name.lower(), "value": t.value, "params": t.params,
                     "folder": t.user_attrs.get("folder"), "curve": t.user_attrs.get("curve", []),
                     "pruned_at": t.user_attrs.get("pruned_at"), "seconds": t.user_attrs.get("seconds"),
                     "message": t.user_attrs.get("message")})
    best = None
    if any(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
        b = study.best_trial
        best = {"number": b.number, "value": b.value, "params": b.params, "folder": BEST}
    return TuneResult(str(folder), metric, greater_is_better, best, rows)
