"""The resolved configuration of one run: defaults < task defaults < YAML file < explicit options."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from tlzoo.api import TlzooError
from tlzoo.suggest import did_you_mean

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

    strategy: Strategy = "full"
    llrd: float = 1.0
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1

    eval_every: str = "epoch"
    save_every: int = 0
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

HELP = {
    "backbone": "Backbone name (see 'tlzoo list backbones'), local model folder or hub id.",
    "train": "Training data file (or hub:NAME[:CONFIG]@SPLIT).",
    "validation": "Validation data, evaluated while training.",
    "test": "Test data, evaluated once at the end.",
    "output": "Output folder.",
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
    "strategy": "full, freeze (head only), lora (adapters + head) or gradual (unfreeze a layer per epoch).",
    "llrd": "Layer-wise learning-rate decay: layer k from the top learns at lr * llrd**k (1: off).",
    "lora_r": "LoRA rank.",
    "lora_alpha": "LoRA scaling alpha.",
    "lora_dropout": "LoRA dropout.",
    "eval_every": "Evaluate on validation data every 'epoch', every N steps, or 'none'.",
    "save_every": "Also checkpoint every N optimizer steps (0: only at evaluations).",
    "keep_checkpoints": "How many recent checkpoints to keep (the best one is always kept).",
    "early_stopping_patience": "Stop after N evaluations without improvement (0: never).",
    "logging_steps": "Log every N optimizer steps to log.jsonl.",
    "generation_max_new_tokens": "Generation: maximum new tokens.",
    "generation_num_beams": "Generation: beam size (1: greedy).",
    "generation_length_penalty": "Generation: beam-search length penalty.",
    "generation_no_repeat_ngram_size": "Generation: forbid repeating n-grams of this size (0: off).",
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
                known = (set(FIELDS) | task_option_names) - {"task", "task_options", "resume"}
                hint = did_you_mean(key, known, lambda n: f"{n!r} (--{n.replace('_', '-')})")
                raise TlzooError(f"unknown option {key!r} in {layer_name}"
                                 + (hint or "; see 'tlzoo train TASK --help' for the engine's and the task's options"))
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
    if config.streaming and not config.max_steps:
        raise TlzooError("--streaming needs --max-steps (a stream has no known length)")
    if config.eval_every not in ("epoch", "none") and not str(config.eval_every).isdigit():
        raise TlzooError(f"eval_every must be 'epoch', 'none' or a number of steps, not {config.eval_every!r}")
