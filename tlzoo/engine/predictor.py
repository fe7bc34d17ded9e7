"""A trained folder, loaded for prediction and evaluation. Nothing is unpickled: safetensors + JSON."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlzoo.api import TlzooError


@dataclass
class Report:
    """Predictions, and for each input whether it was cut to the model's maximum length."""

    predictions: list[dict[str, Any]]
    truncated: list[bool]


class Predictor:
    def __init__(self, folder: Path, manifest: dict[str, Any], task: Any, model: Any, tokenizer: Any) -> None:
        from tlzoo.engine.config import TrainConfig

        self.folder, self.manifest, self.task = folder, manifest, task
        self.model, self.tokenizer = model, tokenizer
        self.state = manifest["state"]
        try:
            self.config = TrainConfig(**manifest["config"])
        except (TypeError, ValueError, TlzooError) as exc:
            raise TlzooError(f"{folder / 'tlzoo.json'} is corrupt (its config: {exc}); retrain the model or "
                             f"restore the folder from a copy") from exc
        self.collator = task.collator(tokenizer, model)
        import torch

        # exports (onnxruntime, int8) run on the CPU
        self.device = torch.device("cuda" if torch.cuda.is_available() and "export" not in manifest else "cpu")
        self.model.to(self.device)

    @classmethod
    def load(cls, path: str) -> Predictor:
        from tlzoo.engine.model_folder import check_files, head_spec, is_onnx_export, read_manifest, task_spec

        folder = Path(path)
        manifest = read_manifest(folder)
        task_cls = task_spec(folder, manifest).load()
        _upgrade(manifest, task_cls)
        if is_onnx_export(manifest):
            return cls._load_exported(folder, manifest, task_cls(manifest.get("task_options") or {}))
        quantized = _quantized(folder, manifest)
        check_files(folder)
        task = task_cls(manifest.get("task_options") or {})
        import transformers

        from tlzoo.engine.progress import quiet_libraries

        quiet_libraries(True)
        head = head_spec(folder, manifest).build()
        model = _load_part(folder, "the model",
                           lambda: head.load(str(folder), manifest["model_class"], manifest["state"]))
        model.eval()
        if quantized:
            from tlzoo.engine.quantize import quantize_linear

            model = quantize_linear(model)
        tokenizer = _load_part(folder, "the tokenizer", lambda: transformers.AutoTokenizer.from_pretrained(folder))
        return cls(folder, manifest, task, model, tokenizer)

    @classmethod
    def _load_exported(cls, folder: Path, manifest: dict[str, Any], task: Any) -> Predictor:
        """A folder written by ``tlzoo export``: the task's forward runs on onnxruntime (see engine/backends)."""
        from tlzoo.engine.backends import OnnxModel, require_export_extra
        from tlzoo.engine.model_folder import check_export_files

        onnx_file = check_export_files(folder, manifest)
        require_export_extra(f"{folder} (an ONNX export)")
        import transformers

        from tlzoo.engine.progress import quiet_libraries

        quiet_libraries(True)
        model = _load_part(folder, "the ONNX model", lambda: OnnxModel(onnx_file))
        tokenizer = _load_part(folder, "the tokenizer", lambda: transformers.AutoTokenizer.from_pretrained(folder))
        return cls(folder, manifest, task, model, tokenizer)

    @property
    def max_length(self) -> int:
        from tlzoo.engine.run import _model_limit

        return min(self.config.max_length, _model_limit(self.tokenizer))

    def predict(self, inputs: str | Mapping[str, Any] | Sequence[Any], batch_size: int | None = None,
                **options: Any) -> list[dict[str, Any]]:
        """One prediction (a JSON-ready dict) per input, in order: strings or dicts in the task's input schema.

        A single string or dict is one input (the result is still a list, of one prediction).
        ``options`` are the task's prediction options for this call only (e.g. ``num_beams=4`` for the
        generation tasks; see ``prediction_options`` of the task); the loaded model keeps its own.
        """
        return self.predict_report(inputs, batch_size, **options).predictions

    def predict_report(self, inputs: str | Mapping[str, Any] | Sequence[Any], batch_size: int | None = None,
                       **options: Any) -> Report:
        """Like :meth:`predict`, with which inputs were truncated to the model's length (as the server reports)."""
        from tlzoo.engine.data import Columns, warn_truncated
        from tlzoo.engine.inference import run_forward
        from tlzoo.task import ForwardContext, with_prediction_options

        context = ForwardContext(self.tokenizer, with_prediction_options(self.task, options), self.max_length)
        if isinstance(inputs, (str, Mapping)):
            inputs = [inputs]
        elif not isinstance(inputs, Sequence):
            raise TlzooError(f"predict() takes a string, a dict or a list of them, not {type(inputs).__name__}")
        if not inputs:
            return Report([], [])
        examples = self.task.inputs_to_examples(list(inputs))
        features = Columns(dict(self.task.preprocess(examples[:], self.tokenizer, self.state, self.max_length, False)))
        warn_truncated(features, "prediction", self.max_length)
        outputs = run_forward(self.task, self.model, features, self.collator,
                              batch_size or self.config.eval_batch_size, context, device=self.device)
        predictions = self.task.postprocess(outputs, features, examples, self.state)
        cut = (list(features["truncated"]) if "truncated" in features.column_names and len(features) == len(examples)
               else [False] * len(examples))  # windowed tasks (NER, QA) cut nothing
        return Report([self.task.format_prediction(p, self.state) for p in predictions], [bool(c) for c in cut])

    def stream(self, value: str | Mapping[str, Any], **options: Any) -> Iterator[str]:
        """The prediction for one input as pieces of text while it is generated, for tasks that stream (the
        text-to-text ones); joined, the pieces are the text :meth:`predict` gives. ``options`` as for :meth:`predict`.
        Bad input or options raise here, before the first piece is generated."""
        from tlzoo.engine.data import Columns, model_columns
        from tlzoo.task import ForwardContext, with_prediction_options

        if not self.task.streams:
            raise TlzooError(f"task {self.task.name!r} does not stream its predictions; predict without --stream")
        context = ForwardContext(self.tokenizer, with_prediction_options(self.task, options))
        examples = self.task.inputs_to_examples([value])
        features = Columns(dict(self.task.preprocess(examples[:], self.tokenizer, self.state, self.max_length, False)))
        columns = model_columns(self.model, features)
        batch = self.collator([{c: features[c][0] for c in columns}])
        return self.task.stream(self.model, {k: v.to(self.device) for k, v in batch.items()}, context)

    def evaluate(self, path: str, batch_size: int | None = None, metrics: Sequence[str] = (),
                 format: str | None = None) -> dict[str, Any]:
        """The task's metrics (with those the run added and ``metrics``, catalog names) on a labelled
        file; ``format`` names its data format when the extension does not (see ``tlzoo list datasets``)."""
        from tlzoo.data.source import DataSource
        from tlzoo.engine.data import read_split, tokenize
        from tlzoo.engine.evaluation import EvalSet, evaluate_model
        from tlzoo.metrics.compute import resolve_metrics
        from tlzoo.task import ForwardContext

        extra = list(dict.fromkeys([*self.config.metric, *metrics]))
        resolve_metrics(self.task, extra)  # a name that does not fit fails before any data is read
        examples = read_split(self.task, path, "evaluation", format=format)
        self.task.check(examples, self.state, DataSource(path, format))
        features = tokenize(self.task, examples, self.tokenizer, self.state, self.max_length, False, "tokenising")
        loss_features = tokenize(self.task, examples, self.tokenizer, self.state, self.max_length, True,
                                 "tokenising for the loss") if self.task.evaluation_loss else None
        return evaluate_model(self.task, self.model, EvalSet(examples, features, path, loss_features), self.collator,
                              ForwardContext(self.tokenizer, self.task.options, self.max_length), self.state,
                              batch_size or self.config.eval_batch_size, device=self.device, metrics=extra)


def _upgrade(manifest: dict[str, Any], task_cls: Any) -> None:
    """Read a folder saved before the generation settings became task options: its ``config`` holds
    them as ``generation_<option>``; they move to ``task_options`` (in memory, the folder is not touched)."""
    import dataclasses

    from tlzoo.engine.config import MOVED_TO_TASK_OPTIONS

    config, options = manifest["config"], dict(manifest.get("task_options") or {})
    fields = {f.name for f in dataclasses.fields(task_cls.options_class)}
    for old, new in MOVED_TO_TASK_OPTIONS.items():
        if old in config:
            value = config.pop(old)
            if new in fields:
                options.setdefault(new, value)
    manifest["task_options"] = options


def _quantized(folder: Path, manifest: dict[str, Any]) -> bool:
    """Whether the folder is a PyTorch-format export (safetensors weights, quantised when loaded)."""
    export = manifest.get("export")
    if export is None:
        return False
    from tlzoo.engine.quantize import DYNAMIC_INT8

    if export.get("quantization") != DYNAMIC_INT8:
        raise TlzooError(f"{folder / 'tlzoo.json'} is corrupt (export quantization {export.get('quantization')!r}, "
                         f"expected {DYNAMIC_INT8!r}); export the model again")
    return True


def _load_part(folder: Path, what: str, load: Callable[[], Any]) -> Any:
    """``load()``, with a failure (files removed or damaged after the checks) as one line naming the folder."""
    try:
        return load()
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise TlzooError(f"{folder}: {what} could not be loaded ({reason}); retrain the model or restore the "
                         f"folder from a copy") from exc
