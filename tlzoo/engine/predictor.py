"""A trained folder, loaded for prediction and evaluation. Nothing is unpickled: safetensors + JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
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

        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device)

    @classmethod
    def load(cls, path: str) -> Predictor:
        from tlzoo.engine.model_folder import check_files, read_manifest, task_spec

        folder = Path(path)
        manifest = read_manifest(folder)
        task_cls = task_spec(folder, manifest).load()
        check_files(folder)
        task = task_cls(manifest.get("task_options") or {})
        import transformers

        from tlzoo.engine.progress import quiet_libraries

        quiet_libraries(True)
        model_class = getattr(transformers, manifest["model_class"], None)
        if model_class is None:
            raise TlzooError(f"{folder / 'tlzoo.json'}: unknown model class {manifest['model_class']!r} "
                             f"(transformers {transformers.__version__})")
        model = _load_part(folder, "the model", lambda: model_class.from_pretrained(folder, use_safetensors=True))
        model.eval()
        tokenizer = _load_part(folder, "the tokenizer", lambda: transformers.AutoTokenizer.from_pretrained(folder))
        return cls(folder, manifest, task, model, tokenizer)

    @property
    def max_length(self) -> int:
        from tlzoo.engine.run import _model_limit

        return min(self.config.max_length, _model_limit(self.tokenizer))

    def predict(self, inputs: str | Mapping[str, Any] | Sequence[Any], batch_size: int | None = None,
                generation: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """One prediction (a JSON-ready dict) per input, in order: strings or dicts in the task's input schema.

        A single string or dict is one input (the result is still a list, of one prediction).
        ``generation`` overrides the model's generation settings (``max_new_tokens``, ``num_beams``).
        """
        return self.predict_report(inputs, batch_size, generation).predictions

    def predict_report(self, inputs: str | Mapping[str, Any] | Sequence[Any], batch_size: int | None = None,
                       generation: Mapping[str, Any] | None = None) -> Report:
        """Like :meth:`predict`, with which inputs were truncated to the model's length (as the server reports)."""
        from tlzoo.engine.data import Columns, warn_truncated
        from tlzoo.engine.inference import run_forward

        if isinstance(inputs, (str, Mapping)):
            inputs = [inputs]
        elif not isinstance(inputs, Sequence):
            raise TlzooError(f"predict() takes a string, a dict or a list of them, not {type(inputs).__name__}")
        if not inputs:
            return Report([], [])
        examples = self.task.inputs_to_examples(list(inputs))
        features = Columns(dict(self.task.preprocess(examples[:], self.tokenizer, self.state, self.max_length, False)))
        warn_truncated(features, "prediction", self.max_length)
        settings = {**self.config.generation(), **(generation or {})}
        outputs = run_forward(self.task, self.model, features, self.collator,
                              batch_size or self.config.eval_batch_size, settings, device=self.device)
        predictions = self.task.postprocess(outputs, features, examples, self.state)
        cut = (list(features["truncated"]) if "truncated" in features.column_names and len(features) == len(examples)
               else [False] * len(examples))  # windowed tasks (NER, QA) cut nothing
        return Report([self.task.format_prediction(p, self.state) for p in predictions], [bool(c) for c in cut])

    def evaluate(self, path: str, batch_size: int | None = None) -> dict[str, Any]:
        """The task's metrics on a labelled file in the training format."""
        from tlzoo.engine.data import read_split, tokenize
        from tlzoo.engine.loop import EvalSet, evaluate_model

        examples = read_split(self.task, path, "evaluation")
        self.task.check(examples, self.state, path)
        features = tokenize(self.task, examples, self.tokenizer, self.state, self.max_length, False, "tokenising")
        if batch_size:
            self.config.eval_batch_size = batch_size
        return evaluate_model(self.task, self.model, EvalSet(examples, features, path), self.collator,
                              self.config, self.state, device=self.device)


def _load_part(folder: Path, what: str, load: Callable[[], Any]) -> Any:
    """``load()``, with a failure (files removed or damaged after the checks) as one line naming the folder."""
    try:
        return load()
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise TlzooError(f"{folder}: {what} could not be loaded ({reason}); retrain the model or restore the "
                         f"folder from a copy") from exc
