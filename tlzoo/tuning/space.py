"""The search space of ``tlzoo tune``: which options each trial draws, and from what.

A space maps option names (engine options, as in ``tlzoo train``, or the task's own) to one of:

- a range, ``{low: 1e-5, high: 1e-4, log: true}`` (``step: 1`` for a grid; integers for integer options);
- a list of choices, ``[16, 32, 64]``;
- one value, fixed for every trial; ``null`` drops a default entry from the space.

Each task declares its default space (:meth:`tlzoo.task.BaseTask.search_space`, :func:`generic_space` unless
a plugin adds its own options); a ``--space`` YAML file overrides it name by name. This module imports
neither Optuna nor torch: a space is checked before anything is trained.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from typing import Any

from tlzoo.api import TlzooError
from tlzoo.engine.config import FIELDS, TrainConfig, typed_value
from tlzoo.suggest import did_you_mean

NOT_TUNABLE = {"task", "task_options", "train", "validation", "test", "output", "format", "metric", "resume",
               "overwrite", "quiet", "track", "max_minutes", "streaming", "max_train_samples", "max_eval_samples",
               "eval_batch_size", "eval_every", "save_every", "keep_checkpoints", "logging_steps"}
"""Engine options that say where data and results are or how a run reports, not how it learns: fixed for all
trials (``tlzoo tune`` passes them through)."""


def generic_space(default_hparams: Mapping[str, Any]) -> dict[str, Any]:
    """The core's default space for a task whose recommended settings are ``default_hparams``: the learning rate
    log-uniform around the task's own (a fifth to three times it), batch size, epochs, warm-up, weight decay,
    layer-wise decay and the strategy (full fine-tuning or LoRA)."""
    rate = float(default_hparams.get("learning_rate", TrainConfig.learning_rate))
    return {"learning_rate": {"low": rate / 5, "high": rate * 3, "log": True},
            "batch_size": [16, 32, 64],
            "epochs": {"low": 1, "high": 4, "step": 1},
            "warmup_ratio": {"low": 0.0, "high": 0.2},
            "weight_decay": {"low": 0.0, "high": 0.1},
            "llrd": {"low": 0.7, "high": 1.0},
            "strategy": ["full", "lora"]}


@dataclasses.dataclass(frozen=True)
class Param:
    """One searched option: a range (``low``, ``high``, ``log``, ``step``; ``integer`` for integer options)
    or ``choices``."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    integer: bool = False
    choices: tuple[Any, ...] = ()

    def suggest(self, trial: Any) -> Any:
        """This option's value for an Optuna ``trial``."""
        if self.choices:
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log,
                                     step=int(self.step or 1))
        return trial.suggest_float(self.name, self.low, self.high, log=self.log, step=self.step)

    def describe(self) -> str:
        if self.choices:
            return "one of " + ", ".join(map(str, self.choices))
        return f"{self.low:g} to {self.high:g}" + (" (log)" if self.log else "") + \
            (f" step {self.step:g}" if self.step else "")


@dataclasses.dataclass
class Space:
    """The searched options and the fixed ones (``fixed`` holds values every trial uses)."""

    params: dict[str, Param]
    fixed: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """The space in the ``--space`` file's form (saved with the study, so ``--resume`` searches the same)."""
        out: dict[str, Any] = dict(self.fixed)
        for name, p in self.params.items():
            if p.choices:
                out[name] = list(p.choices)
            else:
                out[name] = {"low": p.low, "high": p.high, "log": p.log, **({"step": p.step} if p.step else {})}
        return out


def build_space(task_cls: type, overrides: Mapping[str, Any], source: str, fixed_options: Mapping[str, Any]) \
        -> Space:
    """The task's default space with ``overrides`` (read from ``source``, named in errors) applied; options
    given on the command line (``fixed_options``) are fixed for every trial and not searched."""
    option_fields = {f.name: f for f in dataclasses.fields(task_cls.options_class)}
    known = (set(FIELDS) - NOT_TUNABLE) | set(option_fields)
    for name in overrides:
        if name not in known:
            hint = did_you_mean(name, known, repr)
            why = " (it is fixed for all trials: pass it as an option)" if name in FIELDS else ""
            raise TlzooError(f"{source}: {name!r} is not an option tlzoo tune can search{why}"
                             + (hint or f"; searchable: {', '.join(sorted(known))}"))
    merged = {**task_cls.search_space(), **overrides}
    params: dict[str, Param] = {}
    fixed: dict[str, Any] = {}
    for name, entry in merged.items():
        if entry is None or name in fixed_options:
            continue
        where = f"{source}: {name}"
        if isinstance(entry, Mapping):
            params[name] = _range(name, entry, where, _is_integer(name, option_fields))
        elif isinstance(entry, (list, tuple)):
            if not entry:
                raise TlzooError(f"{where}: expected at least one choice")
            params[name] = Param(name, choices=tuple(_checked(name, v, where) for v in entry))
        else:
            fixed[name] = _checked(name, entry, where)
    return Space(params, fixed)


def _is_integer(name: str, option_fields: Mapping[str, Any]) -> bool:
    hint = typing.get_type_hints(TrainConfig).get(name) if name in FIELDS else option_fields[name].type
    return hint is int or hint == "int"


def _checked(name: str, value: Any, where: str) -> Any:
    """An engine option's value typed and range-checked as ``tlzoo train`` would (task options: as given)."""
    if name not in FIELDS:
        return value
    try:
        return typed_value(name, value)
    except TlzooError as exc:
        raise TlzooError(f"{where}: {exc}") from None


def _range(name: str, entry: Mapping[str, Any], where: str, integer: bool) -> Param:
    unknown = set(entry) - {"low", "high", "log", "step"}
    if unknown:
        raise TlzooError(f"{where}: unknown key {sorted(unknown)[0]!r}; a range takes low, high, log and step")
    if "low" not in entry or "high" not in entry:
        raise TlzooError(f"{where}: a range needs low and high, e.g. {{low: 1e-5, high: 1e-4, log: true}}")
    low, high = (_checked(name, entry[key], where) for key in ("low", "high"))
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (low, high)):
        raise TlzooError(f"{where}: low and high must be numbers, got {entry['low']!r} and {entry['high']!r}")
    if not low < high:
        raise TlzooError(f"{where}: low must be below high, got {low:g} and {high:g}")
    log = entry.get("log", False)
    if not isinstance(log, bool):
        raise TlzooError(f"{where}: log must be true or false, got {log!r}")
    if log and low <= 0:
        raise TlzooError(f"{where}: a log range needs low > 0, got {low:g}")
    step = entry.get("step")
    if step is not None and (isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0):
        raise TlzooError(f"{where}: step must be a number > 0, got {step!r}")
    if step is not None and log:
        raise TlzooError(f"{where}: a range takes log or step, not both")
    if integer and not (float(low).is_integer() and float(high).is_integer()):
        raise TlzooError(f"{where}: {name} is an integer option; low and high must be integers")
    return Param(name, float(low), float(high), log, float(step) if step is not None else None, integer)


def read_space(path: str) -> dict[str, Any]:
    """A ``--space`` YAML file: option names (``-`` or ``_``) to ranges, choices or values."""
    from tlzoo.engine.config import read_yaml

    return read_yaml(path)
