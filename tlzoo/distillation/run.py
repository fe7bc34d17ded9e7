"""``tlzoo distill``: a student trained on a teacher's outputs, through the same engine as ``tlzoo train``.

The teacher is a folder ``tlzoo train`` wrote. Its task, labels, task options, head and state (thresholds
included) become the student's, so the student folder is an ordinary tlzoo model. The student is a
backbone (any ``--backbone`` name or folder), or ``teacher:layers=N``: a copy of the teacher with N of its
transformer layers, DistilBERT-style (see :func:`tlzoo.distillation.teacher.pruned_copy`). The teacher's outputs
on the training rows (and on ``unlabeled`` transfer text, which trains on them alone) are computed once,
before training, and cached with the tokenised rows as Arrow files.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tlzoo.api import TlzooError
from tlzoo.engine.run import Recipe, TrainResult, data_name, resolve_config, run

DEFAULT_TEMPERATURE = 2.0
DEFAULT_ALPHA = 0.1
"""Defaults measured on SST-2 with a 3-layer student of the 6-layer minilm-l6 teacher (benchmarks/distill.py):
the best of T=2/alpha=0.5, T=4/alpha=0.5 and T=2/alpha=0.1 on 1,000 held-out rows (0.843, 0.843, 0.847: within
the noise of 1,000 rows; each beat the student without distillation on SST-2 dev)."""


@dataclasses.dataclass
class DistillSettings:
    """What a distillation adds to the engine's options; saved in ``run_config.json`` to resume."""

    teacher: str
    student: str
    unlabeled: list[str] = dataclasses.field(default_factory=list)
    temperature: float = DEFAULT_TEMPERATURE
    alpha: float = DEFAULT_ALPHA

    def check(self) -> None:
        if not isinstance(self.temperature, (int, float)) or not self.temperature > 0:
            raise TlzooError(f"--temperature must be > 0, got {self.temperature!r}")
        if not isinstance(self.alpha, (int, float)) or not 0 <= self.alpha <= 1:
            raise TlzooError(f"--alpha must be in [0, 1], got {self.alpha!r}")


@dataclasses.dataclass
class _TeacherBackbone:
    """The student's backbone when it is a layer-pruned copy of the teacher's: the teacher's tokenizer."""

    name: str
    kind: str
    source: str
    tokenizer: Any

    def load_tokenizer(self) -> Any:
        return self.tokenizer


class DistillRecipe(Recipe):
    """Plain fine-tuning's steps, with the teacher's state, a student model and the teacher's outputs."""

    command = "distill"

    def __init__(self, settings: DistillSettings, teacher: Any, train_path: str) -> None:
        self.settings, self.teacher, self.train_path = settings, teacher, train_path
        from tlzoo.distillation.teacher import teacher_layers

        self.layers = teacher_layers(settings.student)
        self.teacher_layer_count = 0
        self.unlabeled_rows = 0
        self.raw_train: Any = None

    # -- state: the teacher's -----------------------------------------------------------------
    def state(self, task: Any, train: Any) -> dict[str, Any]:
        self.raw_train = train  # a teacher with another tokenizer tokenises these examples itself
        learnt = task.setup(train)
        theirs = self.teacher.manifest["state"]
        if "labels" in learnt and "labels" in theirs:
            unknown = [label for label in learnt["labels"] if label not in theirs["labels"]]
            if unknown:
                raise TlzooError(f"{self.train_path}: label(s) {', '.join(map(str, unknown[:5]))} are not among the "
                                 f"teacher's labels ({', '.join(map(str, theirs['labels']))}, from "
                                 f"{self.settings.teacher}); a student learns the teacher's label set")
        return {**learnt, **theirs}

    # -- the student --------------------------------------------------------------------------
    def backbone(self, config: Any, task: Any) -> Any:
        if self.layers is None:
            return super().backbone(config, task)
        info = self.teacher.manifest.get("backbone") or {}
        return _TeacherBackbone(str(info.get("name", "teacher")), str(info.get("kind", "encoder")),
                                f"teacher {Path(self.settings.teacher).name}", self.teacher.tokenizer)

    def model(self, task: Any, backbone: Any, head: Any, state: dict[str, Any]) -> Any:
        if self.layers is None:
            return super().model(task, backbone, head, state)
        from tlzoo.distillation.teacher import pruned_copy
        from tlzoo.task import Built

        student, self.teacher_layer_count = pruned_copy(self.teacher.model, self.layers)
        if isinstance(backbone, _TeacherBackbone):
            kept = self.layers or self.teacher_layer_count
            backbone.source += f", {kept} of {self.teacher_layer_count} layers"
        return Built(student)

    # -- the teacher's outputs ------------------------------------------------------------------
    def training(self, task: Any, features: Any, tokenizer: Any, state: dict[str, Any], max_length: int,
                 accelerator: Any) -> tuple[Any, Any]:
        from datasets import concatenate_datasets

        from tlzoo.distillation.student import DistillingTask
        from tlzoo.distillation.teacher import weights_digest

        spec = task.distillation
        same = self._check_tokenizer(task, tokenizer)
        digest = weights_digest(self.settings.teacher)
        batch_size = self.teacher.config.eval_batch_size
        rows = self._with_outputs(task, features, tokenizer, state, max_length, same, digest, batch_size,
                                  labelled=True, raw=self.raw_train)
        if self.settings.unlabeled:
            extra = self._unlabeled(task, tokenizer, state, max_length, same, digest, batch_size)
            self.unlabeled_rows = len(extra)
            keep = [c for c in rows.column_names if c in extra.column_names or c in spec.labels]
            rows = rows.select_columns(keep)
            extra = _with_placeholders(extra, rows, spec).select_columns(keep)
            rows = concatenate_datasets([rows, extra.cast(rows.features)])
        self.teacher.model = None  # its outputs are stored and the student is copied: free it while training
        return DistillingTask(task, self.settings.temperature, self.settings.alpha), rows

    def _check_tokenizer(self, task: Any, tokenizer: Any) -> bool:
        from tlzoo.distillation.teacher import same_tokenizer

        same = same_tokenizer(tokenizer, self.teacher.tokenizer)
        if not same and task.distillation.level != "sequence":
            raise TlzooError(f"--student {self.settings.student}: its tokenizer differs from the teacher's "
                             f"({self.settings.teacher}); {task.name} is distilled token by token, and the "
                             f"per-token targets need the same tokenisation: choose a student with the teacher's "
                             f"tokenizer, or teacher:layers=N")
        return same

    def _with_outputs(self, task: Any, features: Any, tokenizer: Any, state: dict[str, Any], max_length: int,
                      same: bool, digest: str, batch_size: int, labelled: bool, raw: Any) -> Any:
        """``features`` with the teacher's outputs; a teacher with another tokenizer reads its own tokens."""
        from datasets import concatenate_datasets

        from tlzoo.distillation.teacher import LABELLED, with_teacher_outputs
        from tlzoo.engine import data as data_mod

        if same:
            return with_teacher_outputs(features, self.teacher, task, labelled, batch_size, digest)
        own = data_mod.tokenize(task, raw, self.teacher.tokenizer, state, max_length, labelled,
                                "tokenising for the teacher")
        if len(own) != len(features):
            raise TlzooError(f"the teacher's tokenizer cuts the data into {len(own)} rows and the student's into "
                             f"{len(features)}; choose a student with the teacher's tokenizer")
        outputs = with_teacher_outputs(own, self.teacher, task, labelled, batch_size, digest)
        names = [c for c in outputs.column_names if c.startswith("teacher_") or c == LABELLED]
        return concatenate_datasets([features, outputs.select_columns(names)], axis=1)

    def _unlabeled(self, task: Any, tokenizer: Any, state: dict[str, Any], max_length: int, same: bool,
                   digest: str, batch_size: int) -> Any:
        """The transfer text, read as prediction inputs are (the task's own input reader), tokenised."""
        from datasets import Dataset, concatenate_datasets

        from tlzoo.data.inputs import InputFields, read_inputs
        from tlzoo.engine import data as data_mod
        from tlzoo.engine.model_folder import task_spec

        fields = InputFields.of(task_spec(self.settings.teacher, self.teacher.manifest))
        parts = []
        for path in self.settings.unlabeled:
            inputs = read_inputs(path, fields)
            if not inputs:
                raise TlzooError(f"unlabeled file {path} holds no inputs")
            examples = task.inputs_to_examples(inputs)
            if not isinstance(examples, Dataset):
                examples = Dataset.from_dict(dict(examples[:]))
            features = data_mod.tokenize(task, examples, tokenizer, state, max_length, False,
                                         f"tokenising {Path(path).name}")
            parts.append(self._with_outputs(task, features, tokenizer, state, max_length, same, digest,
                                            batch_size, labelled=False, raw=examples))
        return concatenate_datasets(parts) if len(parts) > 1 else parts[0]

    # -- what the run keeps --------------------------------------------------------------------
    def saved(self) -> dict[str, Any]:
        return {"distill": dataclasses.asdict(self.settings)}

    def describe(self, manifest: dict[str, Any]) -> None:
        theirs = self.teacher.manifest
        manifest["distillation"] = {
            "teacher": {"folder": Path(self.settings.teacher).name, "task": theirs["task"],
                        "backbone": theirs.get("backbone", {}).get("name"),
                        "layers": self.teacher_layer_count or None,
                        "metrics": {split: {k: v for k, v in values.items() if isinstance(v, (int, float))}
                                    for split, values in (theirs.get("metrics") or {}).items() if split != "train"}},
            "student": self.settings.student, "temperature": self.settings.temperature,
            "alpha": self.settings.alpha,
            "unlabeled": [data_name(p) for p in self.settings.unlabeled], "unlabeled_rows": self.unlabeled_rows}


def _with_placeholders(extra: Any, rows: Any, spec: Any) -> Any:
    """Unlabelled rows given label columns like the labelled ones' (never read: the task loss skips them)."""
    first = rows[0]
    for name in spec.labels:
        if name not in rows.column_names or name in extra.column_names:
            continue
        value = first[name]
        if isinstance(value, list) and spec.level == "token":
            values = [[-100] * len(ids) for ids in extra["input_ids"]]
        elif isinstance(value, list):
            values = [[0.0] * len(value)] * len(extra)
        else:
            values = [type(value)(0)] * len(extra)
        extra = extra.add_column(name, values)
    return extra


def _saved_settings(output: str | None) -> dict[str, Any]:
    if not output:
        return {}
    path = Path(output) / "run_config.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text()).get("distill") or {}


def distill(teacher: str | None = None, student: str | None = None, *, unlabeled: Sequence[str] = (),
            temperature: float | None = None, alpha: float | None = None, config: str | None = None,
            **options: Any) -> TrainResult:
    """Train ``student`` on the outputs of the model in folder ``teacher``; see ``tlzoo distill --help``.

    ``options`` are :func:`tlzoo.train`'s (``train``, ``validation``, ``output``, ``epochs``, ...); the
    task and its options, the labels and the head are the teacher's. ``resume=True`` continues an
    interrupted distillation in ``output`` with its saved settings.
    """
    saved = _saved_settings(options.get("output")) if options.get("resume") else {}
    teacher = teacher or saved.get("teacher")
    student = student or saved.get("student")
    if not teacher:
        raise TlzooError("missing TEACHER_DIR: the folder of a model trained with 'tlzoo train'")
    if not student:
        raise TlzooError("missing --student: teacher:layers=N or a backbone name or folder")
    settings = DistillSettings(
        str(teacher), str(student), [str(p) for p in (unlabeled or saved.get("unlabeled") or [])],
        float(temperature if temperature is not None else saved.get("temperature", DEFAULT_TEMPERATURE)),
        float(alpha if alpha is not None else saved.get("alpha", DEFAULT_ALPHA)))
    settings.check()
    for path in settings.unlabeled:
        if not Path(path).is_file():
            raise TlzooError(f"unlabeled file {path} does not exist")
    if options.get("streaming"):
        raise TlzooError("tlzoo distill does not stream (--streaming): the teacher's outputs are cached with "
                         "the tokenised rows")
    if options.get("strategy") == "setfit":
        raise TlzooError("--strategy setfit: a student learns from the teacher's outputs, not from contrastive "
                         "pairs; use full, freeze, lora or gradual")
    from tlzoo.distillation.teacher import load_teacher, teacher_layers

    model = load_teacher(settings.teacher)
    manifest = model.manifest
    layers = teacher_layers(settings.student)
    head = manifest.get("head", "default")
    if layers is not None and options.get("head", head) != head:
        raise TlzooError(f"--head {options['head']}: a teacher:layers=N student keeps the teacher's head ({head})")
    given_options = {**(manifest.get("task_options") or {}), **options.pop("task_options", {})}
    cfg = resolve_config(manifest["task"], config, command="distill",
                         **{"head": head, **options, "backbone": settings.student, "task_options": given_options})
    _check_data(model, cfg.train, cfg.format)
    return run(cfg, DistillRecipe(settings, model, cfg.train or ""))


def _check_data(teacher: Any, path: str | None, data_format: str | None) -> None:
    """The training file is data of the teacher's task (else one line saying both)."""
    if not path:
        return
    from tlzoo.engine.data import read_split

    try:
        read_split(teacher.task, path, "train", format=data_format)
    except TlzooError as exc:
        raise TlzooError(f"teacher {teacher.folder} is a {teacher.manifest['task']!r} model, and the training "
                         f"data does not fit that task: {exc}") from None
