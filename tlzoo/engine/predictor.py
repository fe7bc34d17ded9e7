"""A trained folder, loaded for prediction and evaluation. Nothing is unpickled: safetensors + JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tlzoo.api import TlzooError


class Predictor:
    def __init__(self, folder: Path, manifest: dict[str, Any], task: Any, model: Any, tokenizer: Any) -> None:
        from tlzoo.engine.config import TrainConfig

        self.folder, self.manifest, self.task = folder, manifest, task
        self.model, self.tokenizer = model, tokenizer
        self.state = manifest["state"]
        self.config = TrainConfig(**manifest["config"])
        self.collator = task.collator(tokenizer, model)
        import torch

        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device)

    @classmethod
    def load(cls, path: str) -> Predictor:
        from tlzoo.engine.output import MANIFEST
        from tlzoo.engine.run import task_class

        folder = Path(path)
        manifest_path = folder / MANIFEST
        if not manifest_path.is_file():
            raise TlzooError(f"{path} is not a tlzoo model folder (no {MANIFEST}); train one with 'tlzoo train'")
        manifest = json.loads(manifest_path.read_text())
        task_cls, _ = task_class(manifest["task"])
        task = task_cls(manifest.get("task_options") or {})
        import transformers

        from tlzoo.engine.progress import quiet_libraries

        quiet_libraries(True)
        model = getattr(transformers, manifest["model_class"]).from_pretrained(folder, use_safetensors=True)
        model.eval()
        tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
        return cls(folder, manifest, task, model, tokenizer)

    @property
    def max_length(self) -> int:
        from tlzoo.engine.run import _model_limit

        return min(self.config.max_length, _model_limit(self.tokenizer))

    def predict(self, inputs: Sequence[Any], batch_size: int | None = None) -> list[dict[str, Any]]:
        """One prediction (a JSON-ready dict) per input: strings or dicts in the task's input schema."""
        from tlzoo.engine.data import tokenize
        from tlzoo.engine.inference import run_forward

        if not inputs:
            return []
        examples = self.task.inputs_to_examples(list(inputs))
        features = tokenize(self.task, examples, self.tokenizer, self.state, self.max_length, False, "tokenising")
        outputs = run_forward(self.task, self.model, features, self.collator,
                              batch_size or self.config.eval_batch_size, self.config.generation(), device=self.device)
        predictions = self.task.postprocess(outputs, features, examples, self.state)
        return [self.task.format_prediction(p, self.state) for p in predictions]

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
