"""The resolved configuration of one run: defaults < task defaults < YAML file < explicit options."""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from tlzoo.api import TlzooError
from tlzoo.seq2seq.task import GENERATION_OPTIONS
from tlzoo.suggest import did_you_mean

Precision = Literal["fp32", "bf16", "fp16"]
Strategy = Literal["full", "freeze", "lora", "gradual", "setfit"]
Track = Literal["none", "tensorboard", "mlflow"]
"""The choices of ``precision``, ``strategy`` and ``track``, written here only: validation and the CLI read them."""


@dataclasses.dataclass
class TrainConfig:
    """Every engine option. Field names are the YAML keys and, in kebab-case, the CLI flags."""

    task: str = ""
    backbone: str | None = None
    train: str | None = None
    validation: str | None = None
    test: str | None = None
    output: str | None = None
    task_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    format: str | None = None
    metric: list[str] = dataclasses.field(default_factory=list)

    epochs: float = 3.0
    max_steps: int = 0
    max_minutes: float = 0.0
    batch_size: int = 32
    eval_batch_size: int = 64
    grad_accum: int = 1
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    max_grad_norm: float = 1.0
    precision: Precision = "fp32"
    seed: int = 42
    max_length: int = 128
    group_by_length: bool = True
    max_train_samples: int = 0
    max_eval_samples: int = 0
    streaming: bool = False

    head: str = "default"
    strategy: Strategy = "full"
    llrd: float = 1.0
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    setfit_iterations: int = 20
    setfit_learning_rate: float = 2e-5

    eval_every: str = "epoch"
    save_every: int = 0
    keep_checkpoints: int = 0
    early_stopping_patience: int = 0
    logging_steps: int = 10
    track: Track = "none"

    quiet: bool = False
    overwrite: bool = False
    resume: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Range:
    """Allowed values of a numeric option (each bound optional); non-finite numbers never pass."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    def admits(self, value: float) -> bool:
        return ((self.gt is None or value > self.gt) and (self.ge is None or value >= self.ge)
                and (self.lt is None or value < self.lt) and (self.le is None or value <= self.le))

    def __str__(self) -> str:
        low, high = self.gt if self.gt is not None else self.ge, self.lt if self.lt is not None else self.le
        if low is not None and high is not None:
            return (f"in {'(' if self.gt is not None else '['}{low:g}, {high:g}"
                    f"{')' if self.lt is not None else ']'}")
        if low is not None:
            return f"{'>' if self.gt is not None else '>='} {low:g}"
        return f"{'<' if self.lt is not None else '<='} {high:g}" if high is not None else "finite"


POSITIVE, NON_NEGATIVE, AT_LEAST_ONE, FRACTION = Range(gt=0), Range(ge=0), Range(ge=1), Range(ge=0, le=1)
LIMITS: dict[str, Range] = {
    "epochs": POSITIVE, "max_steps": NON_NEGATIVE, "max_minutes": NON_NEGATIVE,
    "batch_size": AT_LEAST_ONE, "eval_batch_size": AT_LEAST_ONE, "grad_accum": AT_LEAST_ONE,
    "learning_rate": POSITIVE, "weight_decay": NON_NEGATIVE, "warmup_ratio": FRACTION,
    "max_grad_norm": NON_NEGATIVE, "seed": Range(ge=0, le=2**32 - 1), "max_length": AT_LEAST_ONE,
    "max_train_samples": NON_NEGATIVE, "max_eval_samples": NON_NEGATIVE,
    "llrd": Range(gt=0, le=1), "lora_r": AT_LEAST_ONE, "lora_alpha": AT_LEAST_ONE,
    "lora_dropout": Range(ge=0, lt=1), "setfit_iterations": AT_LEAST_ONE, "setfit_learning_rate": POSITIVE,
    "save_every": NON_NEGATIVE, "keep_checkpoints": NON_NEGATIVE, "early_stopping_patience": NON_NEGATIVE,
    "logging_steps": AT_LEAST_ONE,
}
"""The range of every numeric :class:`TrainConfig` field, checked by :func:`typed_value`."""

FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}

MOVED_TO_TASK_OPTIONS = {f"generation_{name}": name for name in GENERATION_OPTIONS}
"""Engine options that became options of the generation tasks; older YAML files, ``run_config.json``
and model folders still name them the old way, and are read as the task options."""

HELP = {
    "backbone": "Backbone name (see 'tlzoo list backbones'), local model folder or hub id.",
    "train": "Training data file (or hub:NAME[:CONFIG]@SPLIT).",
    "validation": "Validation data, evaluated while training.",
    "test": "Test data, evaluated once at the end.",
    "output": "Output folder.",
    "format": "Data format of --train/--validation/--test (see 'tlzoo list datasets'); default: by file extension.",
    "metric": "An extra metric to report, from 'tlzoo list metrics' (repeatable); the task's own are always reported.",
    "epochs": "Training epochs (fractions allowed).",
    "max_steps": "Stop after this many optimizer steps (0: run the epochs).",
    "max_minutes": "Stop training after this much wall-clock time, then evaluate and save (0: no limit); "
                   "the learning rate then decays over the time budget.",
    "batch_size": "Global batch size per optimizer step, split across processes.",
    "eval_batch_size": "Batch size for evaluation and prediction.",
    "grad_accum": "Accumulate gradients over this many batches per optimizer step.",
    "learning_rate": "Peak learning rate of AdamW.",
    "weight_decay": "AdamW weight decay (not on biases and norms).",
    "warmup_ratio": "Fraction of training spent warming the learning rate up linearly.",
    "max_grad_norm": "Clip gradients to this norm (0: no clipping).",
    "precision": "fp32, or bf16/fp16 autocast (bf16 works on CPU).",
    "seed": "Random seed; a CPU run is repeatable bit for bit.",
    "max_length": "Maximum tokens per input (tasks truncate or window beyond it).",
    "group_by_length": "Batch examples of similar length together (less padding).",
    "max_train_samples": "Use only the first N training examples (0: all).",
    "max_eval_samples": "Use only the first N evaluation examples (0: all).",
    "streaming": "Read the training data as a stream (datasets' streaming mode): for corpora larger than "
                 "memory or disk cache; needs --max-steps; batches are buffer-shuffled, not length-grouped.",
    "head": "Task head of encoder tasks (see 'tlzoo list heads'): default (the task's transformers head), "
            "mean-pool, mlp, crf (tagging) or a plugin's.",
    "strategy": "full, freeze (head only), lora (adapters + head), gradual (unfreeze a layer per epoch) or setfit "
                "(few-shot classification: contrastive fine-tuning of the encoder on pairs of the labelled "
                "examples, then the mean-pool head on its embeddings).",
    "llrd": "Layer-wise learning-rate decay: layer k from the top learns at lr * llrd**k (1: off).",
    "lora_r": "LoRA rank.",
    "lora_alpha": "LoRA scaling alpha.",
    "lora_dropout": "LoRA dropout.",
    "setfit_iterations": "--strategy setfit: pairs drawn per training example, each a positive (same label) and "
                         "a negative (another label), as SetFit's num_iterations.",
    "setfit_learning_rate": "--strategy setfit: learning rate of the contrastive phase (the head then trains at "
                            "--learning-rate).",
    "eval_every": "Evaluate on validation data every 'epoch', every N steps, or 'none'.",
    "save_every": "Also checkpoint every N optimizer steps (0: only at evaluations).",
    "keep_checkpoints": "Checkpoints (with optimizer state) kept once the final model is written: the newest N "
                        "(0: none; prune a finished run with 'rm -r DIR/checkpoints'). While training, the newest "
                        "and the best are kept for --resume.",
    "early_stopping_patience": "Stop after N evaluations without improvement (0: never).",
    "logging_steps": "Log every N optimizer steps to log.jsonl.",
    "track": "Also report the run to an experiment tracker through Accelerate, in local files under the output "
             "folder: tensorboard (DIR/tracking/, 'tensorboard --logdir DIR/tracking') or mlflow "
             "(DIR/tracking/mlflow.db, 'mlflow ui --backend-store-uri sqlite:///DIR/tracking/mlflow.db'); "
             "none: no tracker.",
    "quiet": "No progress bars or per-evaluation lines.",
    "overwrite": "Replace an output folder that holds another run.",
}
"""One line of help per option, shown by ``tlzoo train --help``."""


def read_yaml(path: str) -> dict[str, Any]:
    import yaml

    file = Path(path)
    if not file.is_file():
        raise TlzooError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(file.read_text()) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        raise TlzooError(f"config file {path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(data, dict):
        raise TlzooError(f"config file {path}: expected a mapping of option names to values")
    return {k.replace("-", "_"): v for k, v in data.items()}


def resolve(task_defaults: Mapping[str, Any], file_values: Mapping[str, Any],
            explicit: Mapping[str, Any], task_option_names: set[str], config_file: str | None = None,
            saved: Mapping[str, Any] | None = None, saved_file: str | None = None) -> TrainConfig:
    """Merge the layers, each value typed and range-checked; unknown keys are an error unless they are
    the task's own options. ``saved`` (a resumed run's configuration) sits between file and options."""
    merged: dict[str, Any] = {}
    task_options: dict[str, Any] = {}
    layers = (("task defaults", task_defaults), (f"config file {config_file}", file_values),
              (f"saved run configuration {saved_file}", saved or {}), ("options", explicit))
    for layer_name, layer in layers:
        for key, value in layer.items():
            if value is None:
                continue
            if key == "task_options":
                task_options.update(value or {})
            elif key in FIELDS:
                try:
                    merged[key] = typed_value(key, value)
                except TlzooError as exc:
                    raise TlzooError(str(exc) if layer_name == "options" else f"{layer_name}: {exc}") from None
            elif key in task_option_names:
                task_options[key] = value
            elif MOVED_TO_TASK_OPTIONS.get(key) in task_option_names:
                task_options[MOVED_TO_TASK_OPTIONS[key]] = value
            else:
                known = (set(FIELDS) | task_option_names) - {"task", "task_options", "resume"}
                hint = did_you_mean(key, known, lambda n: f"{n!r} (--{n.replace('_', '-')})")
                raise TlzooError(f"unknown option {key!r} in {layer_name}"
                                 + (hint or "; see 'tlzoo train TASK --help' for the engine's and the task's options"))
    merged["task_options"] = task_options
    config = TrainConfig(**merged)
    _validate(config)
    return config


_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}
_HINTS = typing.get_type_hints(TrainConfig)


def typed_value(name: str, value: Any) -> Any:
    """``value`` as option ``name``'s type, within its range; strings (YAML reads ``3e-3`` as one) are
    parsed, anything else wrong is a one-line error naming the option."""
    hint = _HINTS[name]
    kinds = [k for k in typing.get_args(hint) if k is not type(None)] or [hint]
    kind = kinds[0]
    if typing.get_origin(hint) is Literal:
        if value not in kinds:
            raise TlzooError(f"{name} must be one of {', '.join(kinds)}, got {value!r}")
        return value
    if typing.get_origin(hint) is list:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) and i.strip() for i in items):
            raise TlzooError(f"{name} must be a name or a list of names, got {value!r}")
        return [i.strip() for i in items]
    if kind is bool:
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        if not isinstance(value, bool):
            raise TlzooError(f"{name} must be true or false, got {value!r}")
        return value
    if kind in (int, float):
        number = _number(name, value, kind)
        if not math.isfinite(number):
            raise TlzooError(f"{name} must be a finite number, got {value!r}")
        if not LIMITS[name].admits(number):
            raise TlzooError(f"{name} must be {LIMITS[name]}, got {number if kind is int else f'{number:g}'}")
        return number
    if kind is str:
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # eval_every: 50 in YAML
        if not isinstance(value, str):
            raise TlzooError(f"{name} must be a string, got {value!r}")
        if name == "eval_every" and value not in ("epoch", "none") and not (value.isdigit() and int(value) >= 1):
            raise TlzooError(f"eval_every must be 'epoch', 'none' or a number of steps >= 1, got {value!r}")
    return value


def _number(name: str, value: Any, kind: type) -> Any:
    """An int or float from a number or a numeric string; an integral float is accepted as an int."""
    what = "an integer" if kind is int else "a number"
    parsed: Any = value
    if isinstance(value, str):
        try:
            parsed = float(value.strip()) if kind is float or not value.strip().lstrip("+-").isdigit() \
                else int(value.strip())
        except ValueError:
            raise TlzooError(f"{name} must be {what}, got {value!r}") from None
    if isinstance(parsed, bool) or not isinstance(parsed, (int, float)):
        raise TlzooError(f"{name} must be {what}, got {value!r}")
    if kind is int:
        if isinstance(parsed, float) and not (math.isfinite(parsed) and parsed.is_integer()):
            raise TlzooError(f"{name} must be an integer, got {value!r}")
        return int(parsed)
    return float(parsed)


def _validate(config: TrainConfig) -> None:
    """Checks across options; each option's own type and range are checked by :func:`typed_value`."""
    if config.streaming and not config.max_steps:
        raise TlzooError("--streaming needs --max-steps (a stream has no known length)")
    if config.strategy == "setfit":  # the contrastive phase trains the encoder for mean pooling
        if config.head not in ("default", "mean-pool"):
            raise TlzooError(f"--strategy setfit trains the mean-pool head, not --head {config.head}")
        if config.streaming:
            raise TlzooError("--strategy setfit draws pairs from all the examples at once; drop --streaming")
        config.head = "mean-pool"
