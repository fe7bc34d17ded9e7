"""One training run, read straight down: config -> task and backbone -> data -> model -> loop -> folder."""

from __future__ import annotations

import dataclasses
import json
import platform
import shlex
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlzoo.api import API_VERSION, TlzooError
from tlzoo.engine.config import TrainConfig, read_yaml, resolve
from tlzoo.hub import is_hub_dataset
from tlzoo.task import BaseTask


@dataclass
class TrainResult:
    output_dir: str
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    config: TrainConfig


def task_class(name: str) -> tuple[type[BaseTask], Any]:
    from tlzoo.plugins import registry

    spec = registry().get(name, "task")
    return spec.load(), spec


RECIPE_COMMANDS = ("distill", "adapt")
"""Commands whose runs save their settings under their own name in ``run_config.json`` (and resume only there)."""


def resolve_config(task: str | None, config_file: str | None = None, *, command: str = "train",
                   task_cls: type[BaseTask] | None = None, **options: Any) -> TrainConfig:
    """The full configuration a run would use (``--print-config`` shows it).

    With ``resume=True`` the run's saved configuration (``run_config.json`` in ``output``, taken from
    the options or else the config file) is merged under the options given now, so the Python API and
    ``tlzoo train --resume`` resume alike. ``command`` is the one resuming: a run of ``tlzoo distill``
    (its saved configuration has a ``distill`` entry) resumes only with that command. ``task_cls`` is a
    task class that no plugin registers (``tlzoo adapt``'s objective); else ``task`` is looked up.
    """
    from tlzoo.engine.output import RUN_CONFIG

    file_values = read_yaml(config_file) if config_file else {}
    saved: dict[str, Any] = {}
    saved_file = None
    if options.get("resume"):
        folder = options.get("output") or file_values.get("output")
        if not folder:
            raise TlzooError("cannot resume: no folder; pass --resume DIR, --output DIR or output: in the "
                             "--config file")
        saved_path = Path(folder) / RUN_CONFIG
        if not saved_path.is_file():
            raise TlzooError(f"cannot resume: {folder} has no {RUN_CONFIG}; pass the folder of an interrupted run")
        saved, saved_file = json.loads(saved_path.read_text()), str(saved_path)
        owner = next((name for name in RECIPE_COMMANDS if name in saved), "train")
        if owner != command:
            raise TlzooError(f"cannot resume: {folder} is a run of 'tlzoo {owner}'; continue it with: "
                             f"tlzoo {owner} --resume {folder}")
        for name in RECIPE_COMMANDS:
            saved.pop(name, None)
        if task and saved.get("task") != task:
            raise TlzooError(f"cannot resume: {folder} is a run of task {saved.get('task')!r}, not {task!r}")
        options = {**options, "output": folder}
    file_task = file_values.pop("task", None)
    task = task or saved.get("task") or file_task
    if not task:
        raise TlzooError("missing TASK; see 'tlzoo list tasks'")
    if file_task is not None and file_task != task:
        raise TlzooError(f"config file {config_file} is for task {file_task!r}, not {task!r}")
    cls = task_cls or task_class(task)[0]
    option_names = {f.name for f in dataclasses.fields(cls.options_class)}
    return resolve({**cls.default_hparams}, file_values, {**options, "task": task}, option_names,
                   config_file=config_file, saved=saved, saved_file=saved_file)


def make_accelerator(config: TrainConfig) -> Any:
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState
    from accelerate.utils import set_seed

    from tlzoo.engine.launch import has_accelerator, launched_world_size
    from tlzoo.engine.tracking import accelerator_options

    world = launched_world_size()
    if world == 1:
        # Several runs in one process (the Python API, tests) may each choose their precision;
        # Accelerate keeps its state process-wide, so a single-process run starts it afresh.
        AcceleratorState._reset_state(reset_partial_state=True)
    precision = "no" if config.precision == "fp32" else config.precision  # Accelerate's name for fp32
    # Without cpu=True Accelerate ignores a torchrun world on a machine with no accelerator: every
    # process then runs alone as "rank 0 of 1" and they all write the same output folder.
    cpu = world > 1 and not has_accelerator()
    accelerator = Accelerator(mixed_precision=precision, rng_types=[], cpu=cpu,
                              **accelerator_options(config.track, config.output))
    if accelerator.num_processes != world:
        raise TlzooError(f"launched {world} processes but Accelerate formed a group of "
                         f"{accelerator.num_processes}; see 'Several processes' in docs/cli.md")
    set_seed(config.seed)
    return accelerator


def _versions() -> dict[str, str]:
    import torch
    import transformers

    import tlzoo

    return {"tlzoo": tlzoo.__version__, "api": API_VERSION, "torch": torch.__version__,
            "transformers": transformers.__version__, "python": platform.python_version()}


def build_manifest(config: TrainConfig, spec: Any, task: BaseTask, backbone: Any, state: Mapping[str, Any],
                   data: Mapping[str, Mapping[str, str]]) -> dict[str, Any]:
    from importlib import metadata

    from tlzoo.adaptation.lineage import adaptation_of

    try:
        plugin_version = metadata.version(spec.plugin) if spec.plugin else ""
    except metadata.PackageNotFoundError:
        plugin_version = ""
    source = getattr(backbone, "source", "config")
    adapted = adaptation_of(source)  # a folder 'tlzoo adapt' wrote: the lineage base -> adapted -> fine-tuned
    return {"format": 1, "task": config.task, "model_class": task.model_class, "head": config.head,
            "plugin": {"distribution": spec.plugin, "version": plugin_version},
            "task_options": dataclasses.asdict(task.options), "state": dict(state),
            "backbone": {"name": backbone.name, "kind": backbone.kind, "source": source,
                         **({"adaptation": adapted} if adapted else {})},
            "versions": _versions(), "data": dict(data), "config": _shareable(config)}


def data_name(path: str) -> str:
    """What a model folder records of a data file: its name (a hub dataset's full name); paths are private."""
    return path if is_hub_dataset(path) else Path(path).name


def _shareable(config: TrainConfig) -> dict[str, Any]:
    """The configuration for the manifest: file names instead of the private paths of data and folders."""
    values = config.to_dict()
    for key in ("train", "validation", "test"):
        if values[key]:
            values[key] = data_name(values[key])
    if values["backbone"] and Path(values["backbone"]).exists():
        values["backbone"] = Path(values["backbone"]).name
    values["output"] = None
    return values


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`train`; the message says what the output folder kept and how to resume."""


class Recipe:
    """What a run does between reading its data and fitting: plain fine-tuning here; ``tlzoo distill``
    (:mod:`tlzoo.distillation.run`) overrides it to learn from a teacher through the same engine."""

    command = "train"
    """The command that resumes such a run (``tlzoo COMMAND --resume DIR``)."""

    def check(self, config: TrainConfig) -> None:
        """Refuse a configuration that cannot run, before anything is read or written."""
        if not config.train:
            raise TlzooError("no training data: pass --train FILE")

    def task(self, config: TrainConfig) -> tuple[BaseTask, Any]:
        """The task object and its registry spec (for the manifest's plugin entry)."""
        cls, spec = task_class(config.task)
        return cls(config.task_options), spec

    def read(self, task: BaseTask, config: TrainConfig) -> dict[str, Any]:
        """The examples of each split (``train``, and ``validation`` and ``test`` when given), read and validated."""
        from tlzoo.engine import data as data_mod

        splits = {"train": config.train, "validation": config.validation, "test": config.test}
        return {name: data_mod.read_split(task, path, name,
                                          config.max_train_samples if name == "train" else config.max_eval_samples,
                                          streaming=config.streaming and name == "train", format=config.format)
                for name, path in splits.items() if path}

    def state(self, task: BaseTask, train: Any) -> dict[str, Any]:
        """The task's state (e.g. its label set), learnt from the training data."""
        return task.setup(train)

    def backbone(self, config: TrainConfig, task: BaseTask) -> Any:
        from tlzoo.backbones.resolve import resolve_backbone

        return resolve_backbone(config.backbone or task.default_backbone)

    def model(self, task: BaseTask, backbone: Any, head: Any, state: dict[str, Any]) -> Any:
        """The model to train, as the task's :class:`tlzoo.task.Built`."""
        return task.build_model(with_head(backbone, head, state), state)

    def training(self, task: BaseTask, features: Any, tokenizer: Any, state: dict[str, Any], max_length: int,
                 accelerator: Any) -> tuple[Any, Any]:
        """The task the loop trains with (its ``loss`` and ``collator``) and the training rows."""
        return task, features

    def started(self, loop: Any, resumed: bool) -> None:
        """Called once the loop is built (and restored, when ``resumed``), before it trains."""

    def saved(self) -> dict[str, Any]:
        """What ``run_config.json`` keeps besides the engine options, to resume."""
        return {}

    def describe(self, manifest: dict[str, Any]) -> None:
        """Add what the manifest should record of this recipe."""

    def observe(self, record: dict[str, Any]) -> None:
        """Called with each record the loop logs (``event`` ``train`` or ``eval``), once the evaluation's
        checkpoint is saved; ``tlzoo tune`` reports evaluations to Optuna here and may stop the run."""

    def card(self, manifest: dict[str, Any], metrics: dict[str, Any]) -> str | None:
        """The folder's README.md (``None``: the task model card of :func:`tlzoo.engine.output.model_card`)."""
        return None


@dataclass
class _Attempt:
    """What a failure must know: the new run to undo if it made no step, and the loop once built."""

    output: Path
    resume: bool
    new_run: Any = None
    loop: Any = None
    command: str = "train"
    accelerator: Any = None

    def step(self) -> int:
        return self.loop.loop_state.step if self.loop is not None else 0

    def failed(self) -> bool:
        """Undo a new run that made no optimizer step; True when the folder keeps a resumable run."""
        stepped = self.step() > 0
        if self.new_run is not None and stepped:
            self.new_run.keep()
        elif self.new_run is not None:
            self.new_run.undo()
        return self.resume or stepped

    def interrupted(self, kept: bool) -> str:
        if not kept:
            return f"interrupted before the first training step; nothing was kept in {self.output}"
        from tlzoo.engine.checkpoint import list_checkpoints

        command = f"tlzoo {self.command} --resume {shlex.quote(str(self.output))}"
        when = f"interrupted at step {self.step()}" if self.loop is not None else "interrupted"
        found = list_checkpoints(self.output)
        if not found:
            return f"{when}; no checkpoint was written yet; start again from step 0 with: {command}"
        newest = found[-1]
        return f"{when}; kept checkpoint {newest} (step {int(newest.name[5:])}); continue with: {command}"


def train(task: str | None = None, config: str | None = None, **options: Any) -> TrainResult:
    """Fine-tune; see :class:`TrainConfig` for the options (and ``config``, a YAML file).

    ``resume=True`` continues the interrupted run in ``output`` with its saved configuration. A run
    that fails before its first optimizer step leaves the output folder as it was; Ctrl-C raises
    :class:`RunInterrupted`, whose message says what was kept.
    """
    return run(resolve_config(task, config, **options), Recipe())


def run(cfg: TrainConfig, recipe: Recipe) -> TrainResult:
    """Train with a resolved configuration and ``recipe``; a failure is undone as :func:`train` says."""
    attempt = _Attempt(Path(cfg.output or "."), cfg.resume, command=recipe.command)
    try:
        return _train(cfg, attempt, recipe)
    except BaseException as exc:
        kept = attempt.failed()
        if isinstance(exc, KeyboardInterrupt):
            raise RunInterrupted(attempt.interrupted(kept)) from exc
        raise
    finally:
        if attempt.accelerator is not None:
            attempt.accelerator.end_training()  # closes the trackers' files (none without --track)


def _train(cfg: TrainConfig, attempt: _Attempt, recipe: Recipe) -> TrainResult:
    from tlzoo.data.source import DataSource
    from tlzoo.engine import data as data_mod
    from tlzoo.engine import tracking
    from tlzoo.engine.checkpoint import list_checkpoints, prune
    from tlzoo.engine.evaluation import EvalSet, evaluate_model
    from tlzoo.engine.loop import FitLoop
    from tlzoo.engine.output import RUN_CONFIG, NewRun, check_output_folder, write_final
    from tlzoo.engine.plot import plot_curves
    from tlzoo.engine.progress import quiet_libraries
    from tlzoo.engine.strategies import finalize_model, prepare_model
    from tlzoo.heads import head_spec
    from tlzoo.metrics.compute import resolve_metrics

    recipe.check(cfg)
    if not cfg.output:
        raise TlzooError("no output folder: pass --output DIR")
    output = Path(cfg.output)
    check_output_folder(output, cfg.overwrite, cfg.resume)
    task_obj, spec = recipe.task(cfg)
    head = head_spec(cfg.head, cfg.task, task_obj.model_class)
    resolve_metrics(task_obj, cfg.metric)  # a --metric that does not fit fails before anything is read
    quiet_libraries(cfg.quiet)
    accelerator = attempt.accelerator = make_accelerator(cfg)

    # Read and validate all data before anything is written.
    splits = {"train": cfg.train, "validation": cfg.validation, "test": cfg.test}
    raw = recipe.read(task_obj, cfg)
    state = recipe.state(task_obj, raw["train"])
    for name in ("validation", "test"):
        if name in raw and splits[name]:
            task_obj.check(raw[name], state, DataSource(splits[name], cfg.format))
    backbone = recipe.backbone(cfg, task_obj)
    tokenizer = backbone.load_tokenizer()
    state = {**state, **task_obj.prepare_tokenizer(tokenizer, state)}
    max_length = min(cfg.max_length, _model_limit(tokenizer))
    # Built before tokenising: the facts build_model learns about the backbone are what preprocess needs.
    built = recipe.model(task_obj, backbone, head, state)
    model, state = built.model, {**state, **built.facts}
    fit_embeddings(model, len(tokenizer))

    with accelerator.main_process_first():
        features = {name: data_mod.tokenize(task_obj, dataset, tokenizer, state, max_length,
                                            name == "train", f"tokenising {name}")
                    for name, dataset in raw.items()}
        loop_task, train_rows = recipe.training(task_obj, features["train"], tokenizer, state, max_length,
                                                accelerator)
        loss_features = {name: data_mod.tokenize(task_obj, dataset, tokenizer, state, max_length, True,
                                                 f"tokenising {name} for its loss")
                         for name, dataset in raw.items() if name != "train" and task_obj.evaluation_loss}
    setfit_log = None
    if cfg.strategy == "setfit" and not (cfg.resume and list_checkpoints(output)):  # a checkpoint holds its result
        from tlzoo.engine.setfit import run_setfit

        setfit_log = run_setfit(model, features["train"], tokenizer, cfg, accelerator)
    model = prepare_model(model, cfg.strategy, (cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout))

    if accelerator.is_main_process:
        if not cfg.resume:
            attempt.new_run = NewRun(output)
            attempt.new_run.begin()
        run_config = {**{k: v for k, v in cfg.to_dict().items() if k not in ("resume", "overwrite")},
                      **recipe.saved()}
        (output / RUN_CONFIG).write_text(json.dumps(run_config, indent=2))
    data_info = {name: {"name": data_name(path), "sha256": data_mod.file_sha256(path)}
                 for name, path in splits.items() if path}
    tracking.start(accelerator, cfg, output, {"data": data_info, "versions": _versions()})
    accelerator.wait_for_everyone()
    evaluation = EvalSet(raw["validation"], features["validation"], cfg.validation,
                         loss_features.get("validation")) if "validation" in raw else None
    loop = attempt.loop = FitLoop(loop_task, cfg, model, tokenizer, state, train_rows, evaluation, output,
                                  accelerator)
    loop.observers += [lambda record: tracking.log(accelerator, record), recipe.observe]
    if setfit_log:
        loop.log.write(event="setfit", **setfit_log)
    resumed = bool(cfg.resume and loop.resume())
    if resumed:
        loop.log.write(event="resume", step=loop.loop_state.step, processes=accelerator.num_processes)
        if accelerator.is_main_process and not cfg.quiet:
            print(f"resumed from step {loop.loop_state.step}", flush=True)
    recipe.started(loop, resumed)
    loop_state = loop.fit()
    loop.release_training_state()  # the final evaluation and writing need neither optimizer nor gradients

    final_model = finalize_model(loop.unwrapped)
    metrics: dict[str, Any] = {"train": {
        "steps": loop_state.step, "epochs": loop.epochs_done(),
        "samples": loop_state.samples, "seconds": round(loop_state.train_seconds, 2),
        "samples_per_second": round(loop_state.samples / max(loop_state.train_seconds, 1e-9), 2),
        "stopped_early": loop_state.stopped_early}}
    artifacts = output / ".artifacts"  # plots and reports, moved into the output with the model
    evaluations = {"validation": evaluation} if evaluation is not None else {}
    if "test" in raw:
        evaluations["test"] = EvalSet(raw["test"], features["test"], cfg.test, loss_features.get("test"))
    if accelerator.is_main_process:
        shutil.rmtree(artifacts, ignore_errors=True)
        for name in ("", *evaluations):
            (artifacts / "evaluation" / name).mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    for name, evalset in evaluations.items():
        # The validation outputs of the kept model were computed by its evaluation in the loop.
        metrics[name] = evaluate_model(task_obj, final_model, evalset, loop.collator, loop.context, state,
                                       cfg.eval_batch_size, accelerator, calibrate=name == "validation",
                                       artifacts=artifacts / "evaluation" / name,
                                       outputs=loop.best_outputs if name == "validation" else None,
                                       metrics=cfg.metric)
    if accelerator.is_main_process:
        manifest = build_manifest(cfg, spec, task_obj, backbone, state, data_info)
        manifest["metrics"] = metrics
        manifest["processes"] = accelerator.num_processes
        recipe.describe(manifest)
        extra = {"evaluation": artifacts / "evaluation"}
        for relative, text in task_obj.model_files(state, max_length).items():
            target = artifacts / "model" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
            extra[Path(relative).parts[0]] = artifacts / "model" / Path(relative).parts[0]
        if plot_curves(loop.log.records, task_obj.primary_metric, artifacts / "curves.png"):
            extra["curves.png"] = artifacts / "curves.png"
        write_final(output, final_model, tokenizer, manifest, metrics, extra, recipe.card(manifest, metrics))
        shutil.rmtree(artifacts, ignore_errors=True)
        prune(output, cfg.keep_checkpoints, None)  # the final model is written: checkpoints only on request
        NewRun(output).keep()  # drops an old run that --overwrite set aside (also one a killed run left)
    accelerator.wait_for_everyone()
    return TrainResult(str(output), metrics, loop.log.records, cfg)


@dataclass
class HeadedBackbone:
    """The backbone a task builds its model on, with the run's ``--head``: the task asks for its
    ``model_class`` as usual and the head decides what that model is."""

    backbone: Any
    head: Any
    state: Mapping[str, Any]

    @property
    def name(self) -> str:
        return self.backbone.name

    @property
    def kind(self) -> str:
        return self.backbone.kind

    def load_tokenizer(self) -> Any:
        return self.backbone.load_tokenizer()

    def build_model(self, auto_class: str, **config_overrides: Any) -> Any:
        return self.head.build(self.backbone, auto_class, self.state, **config_overrides)


def with_head(backbone: Any, head: Any, state: Mapping[str, Any]) -> Any:
    """``backbone`` as it builds models with the head of spec ``head``; the default head leaves it as it is."""
    from tlzoo.heads import DEFAULT

    return backbone if head.name == DEFAULT else HeadedBackbone(backbone, head.build(), state)


def fit_embeddings(model: Any, vocabulary: int) -> None:
    """Grow the model's input embeddings to ``vocabulary`` tokens when the task added tokens to the
    tokenizer (new rows start at the mean embedding); never shrink them (many checkpoints pad theirs)."""
    target = model if hasattr(model, "resize_token_embeddings") else model.base_model
    if vocabulary > target.get_input_embeddings().num_embeddings:
        target.resize_token_embeddings(vocabulary)


def _model_limit(tokenizer: Any) -> int:
    limit = getattr(tokenizer, "model_max_length", 512) or 512
    return int(limit) if limit < 100_000 else 512
