"""The resolved configuration of one run: defaults < task defaults < YAML file < explicit options."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from tlzoo.api import TlzooError

Precision = Literal["fp32", "bf16", "fp16"]
Strategy = Literal["full", "freeze", "lora", "gradual"]


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

    epochs: float = 3.0
    max_steps: int = 0
    """Stop after this many optimizer steps (0: run ``epochs``)."""
    max_minutes: float = 0.0
    """Stop training after this much wall-clock time (0: no limit), then evaluate and save."""
    batch_size: int = 32
    """Global batch size per optimizer step, split across processes; times ``grad_accum``."""
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

    strategy: Strategy = "full"
    llrd: float = 1.0
    """Layer-wise learning-rate decay: layer k from the top gets ``lr * llrd**k`` (1.0: off)."""
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1

    eval_every: str = "epoch"
    """'epoch', 'none' or a number of optimizer steps."""
    save_every: int = 0
    """Also checkpoint every N optimizer steps (0: only at evaluations and the end)."""
    keep_checkpoints: int = 2
    early_stopping_patience: int = 0
    logging_steps: int = 10

    generation_max_new_tokens: int = 64
    generation_num_beams: int = 1
    generation_length_penalty: float = 1.0
    generation_no_repeat_ngram_size: int = 0

    quiet: bool = False
    overwrite: bool = False
    resume: bool = False

    def generation(self) -> dict[str, Any]:
        """Generation settings as ``model.generate`` keyword arguments."""
        kwargs: dict[str, Any] = {"max_new_tokens": self.generation_max_new_tokens,
                                  "num_beams": self.generation_num_beams}
        if self.generation_num_beams > 1:
            kwargs["length_penalty"] = self.generation_length_penalty
        if self.generation_no_repeat_ngram_size:
            kwargs["no_repeat_ngram_size"] = self.generation_no_repeat_ngram_size
        return kwargs

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


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
            explicit: Mapping[str, Any], task_option_names: set[str]) -> TrainConfig:
    """Merge the layers; unknown keys are an error unless they are the task's own options."""
    merged: dict[str, Any] = {}
    task_options: dict[str, Any] = {}
    for layer_name, layer in (("task defaults", task_defaults), ("config file", file_values),
                              ("options", explicit)):
        for key, value in layer.items():
            if value is None:
                continue
            if key == "task_options":
                task_options.update(value or {})
            elif key in FIELDS:
                merged[key] = value
            elif key in task_option_names:
                task_options[key] = value
            else:
                raise TlzooError(f"unknown option {key!r} in {layer_name}; see 'tlzoo train --help' "
                                 f"and 'tlzoo info TASK' for the task's own options")
    merged["task_options"] = task_options
    config = TrainConfig(**merged)
    _validate(config)
    return config


def _validate(config: TrainConfig) -> None:
    if config.precision not in ("fp32", "bf16", "fp16"):
        raise TlzooError(f"precision must be fp32, bf16 or fp16, not {config.precision!r}")
    if config.strategy not in ("full", "freeze", "lora", "gradual"):
        raise TlzooError(f"strategy must be full, freeze, lora or gradual, not {config.strategy!r}")
    if config.batch_size < 1 or config.grad_accum < 1 or config.eval_batch_size < 1:
        raise TlzooError("batch sizes and grad_accum must be positive")
    if not 0 < config.llrd <= 1:
        raise TlzooError(f"llrd must be in (0, 1], not {config.llrd}")
    if config.eval_every not in ("epoch", "none") and not str(config.eval_every).isdigit():
        raise TlzooError(f"eval_every must be 'epoch', 'none' or a number of steps, not {config.eval_every!r}")
