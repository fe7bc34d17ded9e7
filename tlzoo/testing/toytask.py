"""A minimal task of the core's own, so the engine's tests need no task plugin.

``toy`` reads JSON lines ``{"text": ..., "label": ...}`` and classifies the text with an
``AutoModelForSequenceClassification``; it is scored by accuracy. It is registered through a plugin
hook like any task (:func:`tlzoo_register`): tests install it as a fake distribution with
:func:`tlzoo.testing.fakes.write_distribution` (entry point ``toy = tlzoo.testing.toytask``).
:func:`write_sample` writes a learnable data set: the label says whether the text holds ``good``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from tlzoo.api import Spec, TlzooError
from tlzoo.hookspecs import hookimpl
from tlzoo.task import BaseTask, Built

TLZOO_API = ">=1,<2"
NAME = "toy"


@hookimpl
def tlzoo_register(registry: Any) -> None:
    registry.add(Spec(NAME, "task", "tlzoo.testing.toytask:ToyTask", "a minimal text classifier for engine tests",
                      {"input": {"text": "str"}}))


class ToyTask(BaseTask):
    name = NAME
    model_class: ClassVar[str] = "AutoModelForSequenceClassification"
    primary_metric = "accuracy"
    greater_is_better = True
    metric_kind = "label"
    metrics = ("accuracy",)
    default_backbone = "tiny-bert"

    def load_split(self, path: str, split: str) -> Any:
        from datasets import Dataset

        rows = {"text": [], "label": []}
        for number, line in enumerate(Path(str(path)).read_text(encoding="utf-8").splitlines(), 1):
            try:
                row = json.loads(line)
                rows["text"].append(str(row["text"]))
                rows["label"].append(str(row["label"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise TlzooError(f"{path}, line {number}: expected {{\"text\": ..., \"label\": ...}}") from exc
        return Dataset.from_dict(rows)

    def stream_split(self, path: str, split: str) -> Any:
        return self.load_split(path, split).to_iterable_dataset()

    def setup(self, train: Any) -> dict[str, Any]:
        return {"labels": sorted({row["label"] for row in train})}

    def build_model(self, backbone: Any, state: Mapping[str, Any]) -> Built:
        labels = state["labels"]
        return Built(backbone.build_model(self.model_class, num_labels=len(labels), id2label=dict(enumerate(labels)),
                                          label2id={name: i for i, name in enumerate(labels)}))

    def preprocess(self, examples: Mapping[str, list], tokenizer: Any, state: Mapping[str, Any],
                   max_length: int, training: bool) -> dict[str, list]:
        features = dict(tokenizer(examples["text"], truncation=True, max_length=max_length))
        if training:
            features["labels"] = [state["labels"].index(label) for label in examples["label"]]
        return features

    def postprocess(self, outputs: Sequence[Any], features: Any, examples: Any,
                    state: Mapping[str, Any]) -> list[dict[str, Any]]:
        import numpy as np

        predictions = []
        for logits in outputs:
            scores = np.exp(logits - logits.max())
            scores = scores / scores.sum()
            best = int(scores.argmax())
            predictions.append({"label": state["labels"][best], "score": float(scores[best]),
                                "scores": {label: float(s) for label, s in zip(state["labels"], scores)}})
        return predictions

    def references(self, examples: Any, state: Mapping[str, Any]) -> list[Any]:
        return list(examples["label"])

    def inputs_to_examples(self, inputs: Sequence[Any]) -> Any:
        from datasets import Dataset

        return Dataset.from_dict({"text": [v["text"] if isinstance(v, Mapping) else str(v) for v in inputs]})

    def write_artifacts(self, predictions: Sequence[Any], references: Sequence[Any],
                        state: Mapping[str, Any], folder: str) -> list[str]:
        path = Path(folder) / "predictions.txt"
        path.write_text("".join(f"{p['label']}\t{r}\n" for p, r in zip(predictions, references, strict=True)))
        return [str(path)]


FILLER = ("the", "film", "was", "very", "one", "day", "we", "saw", "it", "and", "then", "they", "said")


def write_sample(folder: Path, train: int = 64, validation: int = 32, seed: int = 0) -> dict[str, str]:
    """``train.jsonl`` and ``validation.jsonl`` in ``folder``: label ``yes`` when a text holds ``good``."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, size in (("train", train), ("validation", validation)):
        lines = []
        for index in range(size):
            words = rng.sample(FILLER, 5)
            label = "yes" if index % 2 else "no"
            words.insert(rng.randrange(6), "good" if label == "yes" else "lost")
            lines.append(json.dumps({"text": " ".join(words), "label": label}))
        paths[split] = str(folder / f"{split}.jsonl")
        Path(paths[split]).write_text("\n".join(lines) + "\n")
    return paths
