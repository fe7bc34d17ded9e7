"""Sequence classification tasks on ``AutoModelForSequenceClassification``.

All three share reading (one text or a pair, plus a label column) and tokenisation; they differ
in how labels are encoded, which loss the head uses (``problem_type``) and how outputs are read.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tlzoo.api import TlzooError
from tlzoo.data.source import as_source
from tlzoo.data.tables import column_values, detect_column, read_table
from tlzoo.task import BaseTask, Built, Distillation, TaskOptions, truncation_flags

logger = logging.getLogger(__name__)

TEXT_COLUMNS = ("text", "sentence", "sentence1", "#1 String", "question", "premise", "review", "content")
PAIR_COLUMNS = ("text_pair", "sentence2", "#2 String", "hypothesis")
LABEL_COLUMNS = ("label", "labels", "score", "quality", "target", "class", "category")


@dataclasses.dataclass
class TextOptions(TaskOptions):
    text_column: str | None = None
    """Column holding the text (detected from common names when not given)."""
    text_pair_column: str | None = None
    """Column holding the second text of a pair (detected when a common name is present)."""
    label_column: str | None = None
    """Column holding the label (detected from common names when not given)."""


@dataclasses.dataclass
class MultiLabelOptions(TextOptions):
    label_separator: str = ","
    """Separator when a file stores a label set as one string, e.g. ``sports,politics``."""


class _SequenceTask(BaseTask):
    model_class = "AutoModelForSequenceClassification"
    options_class = TextOptions
    default_backbone = "minilm-l6"
    default_hparams: Mapping[str, Any] = {"learning_rate": 1e-4, "epochs": 3, "batch_size": 32,
                                          "max_length": 128, "warmup_ratio": 0.06}

    def load_split(self, path: str, split: str) -> Any:
        table = self._schema(read_table(path), path, split)
        self._validate_rows(table, path)
        return table

    def stream_split(self, path: str, split: str) -> Any:
        return self._schema(read_table(path, streaming=True), path, split)

    def _schema(self, table: Any, path: str, split: str) -> Any:
        """The task's columns (text, optional text_pair, label), found and renamed."""
        opts = self.options
        text = detect_column(table, path, opts.text_column, TEXT_COLUMNS, "text", "--text-column")
        pair = opts.text_pair_column or next((c for c in table.column_names if c.lower() in
                                              {p.lower() for p in PAIR_COLUMNS}), None)
        if pair:
            pair = detect_column(table, path, pair, PAIR_COLUMNS, "text pair", "--text-pair-column")
        label = None
        if split != "predict":
            label = detect_column(table, path, opts.label_column, LABEL_COLUMNS, "label", "--label-column")
        columns = {"text": text, **({"text_pair": pair} if pair else {}), **({"label": label} if label else {})}
        table = table.select_columns(list(columns.values()))
        return table.rename_columns({old: new for new, old in columns.items() if old != new})

    def _validate_rows(self, table: Any, path: str) -> None:
        where = as_source(path).where
        for column in [c for c in ("text", "text_pair") if c in table.column_names]:
            for index, value in enumerate(table[column]):
                if not isinstance(value, str):
                    raise TlzooError(f"{where(index)}: {column} is {value!r}; expected text")
        if "label" in table.column_names:
            for index, value in enumerate(table["label"]):
                if value is None or value == "":
                    raise TlzooError(f"{where(index)}: empty label; expected a label")

    def inputs_to_examples(self, inputs: Sequence[Any]) -> Any:
        """Columns held in memory (a served request pays no Arrow round trip), in the task's schema."""
        from tlzoo.engine.data import Columns

        rows: list[dict[str, str]] = []
        for item in inputs:
            if isinstance(item, str):
                rows.append({"text": item})
            elif isinstance(item, Mapping) and "text" in item:
                rows.append({"text": str(item["text"]), **({"text_pair": str(item["text_pair"])}
                                                           if item.get("text_pair") is not None else {})})
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                rows.append({"text": str(item[0]), "text_pair": str(item[1])})
            else:
                raise TlzooError(f"prediction input {item!r}: expected a string, [text, pair] or "
                                 f'{{"text": ..., "text_pair": ...}}')
        columns = {"text": [r["text"] for r in rows]}
        if any("text_pair" in r for r in rows):
            columns["text_pair"] = [r.get("text_pair", "") for r in rows]
        return Columns(columns)

    def preprocess(self, examples: Mapping[str, list], tokenizer: Any, state: Mapping[str, Any],
                   max_length: int, training: bool) -> dict[str, list]:
        pairs = examples.get("text_pair")
        encoded = tokenizer(examples["text"], pairs, truncation=True, max_length=max_length)
        encoded["truncated"] = truncation_flags(encoded, max_length)
        if "label" in examples:
            encoded["labels"] = [self.encode_label(value, state) for value in examples["label"]]
        return dict(encoded)

    def encode_label(self, value: Any, state: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def references(self, examples: Any, state: Mapping[str, Any]) -> list[Any]:
        return list(examples["label"])


class ClassificationTask(_SequenceTask):
    """One label per text or pair; softmax over the label set seen in training."""

    name = "classification"
    primary_metric = "accuracy"
    greater_is_better = True
    metric_kind = "label"
    metrics = ("classification",)
    distillation = Distillation(kind="softmax")

    def setup(self, train: Any) -> dict[str, Any]:
        values = set(column_values(train, "label"))
        labels = sorted(values, key=lambda v: (isinstance(v, str), v))
        return {"labels": labels}

    def check(self, dataset: Any, state: Mapping[str, Any], path: str) -> None:
        known = set(state["labels"])
        where = as_source(path).where
        for index, value in enumerate(dataset["label"]):
            if value not in known:
                raise TlzooError(f"{where(index)}: label {value!r} was not in the training data; "
                                 f"expected one of {', '.join(map(str, state['labels']))}")

    def build_model(self, backbone: Any, state: Mapping[str, Any]) -> Built:
        labels = [str(label) for label in state["labels"]]
        return Built(backbone.build_model(self.model_class, num_labels=len(labels),
                                          id2label=dict(enumerate(labels)),
                                          label2id={name: i for i, name in enumerate(labels)}))

    def encode_label(self, value: Any, state: Mapping[str, Any]) -> int:
        return state["labels"].index(value)

    def postprocess(self, outputs: Sequence[Any], features: Any, examples: Any,
                    state: Mapping[str, Any]) -> list[dict[str, Any]]:
        labels = state["labels"]
        predictions = []
        for logits in outputs:
            probs = _softmax(np.asarray(logits, dtype=np.float64))
            best = int(probs.argmax())
            predictions.append({"label": labels[best], "score": float(probs[best]),
                                "scores": {str(label): float(p) for label, p in zip(labels, probs)}})
        return predictions

    def metric_options(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return {"labels": state["labels"]}

    def write_artifacts(self, predictions: Sequence[Any], references: Sequence[Any],
                        state: Mapping[str, Any], folder: str) -> list[str]:
        from tlzoo.engine.plot import confusion_matrix_artifact

        return confusion_matrix_artifact(predictions, references, state["labels"], folder)


class MultiLabelTask(_SequenceTask):
    """Any number of labels per text: independent sigmoids, thresholds tuned per label on validation.

    The thresholds are tuned once, after training (:meth:`calibrate`). So that the per-step
    evaluations report figures comparable with that final one (and pick the best checkpoint by it),
    an evaluation during training, before calibration, scores at thresholds tuned by the same rule
    on the data it evaluates. Every evaluation also reports ``micro_f1_at_0.5`` (every threshold at
    0.5) and says in ``thresholds`` which thresholds ``micro_f1`` used.
    """

    name = "multilabel-classification"
    options_class = MultiLabelOptions
    primary_metric = "micro_f1"
    greater_is_better = True
    metric_kind = "labels"
    metrics = ("multilabel",)
    distillation = Distillation(kind="sigmoid")

    def _label_set(self, value: Any) -> list[str]:
        if isinstance(value, str):
            return [part.strip() for part in value.split(self.options.label_separator) if part.strip()]
        return [str(v) for v in value]

    def setup(self, train: Any) -> dict[str, Any]:
        labels = sorted({label for value in column_values(train, "label") for label in self._label_set(value)})
        self._calibration_pending = True  # training has begun: thresholds are tuned at its end
        return {"labels": labels, "thresholds": [0.5] * len(labels)}

    def check(self, dataset: Any, state: Mapping[str, Any], path: str) -> None:
        known = set(state["labels"])
        where = as_source(path).where
        for index, value in enumerate(dataset["label"]):
            unknown = [label for label in self._label_set(value) if label not in known]
            if unknown:
                raise TlzooError(f"{where(index)}: label(s) {', '.join(unknown)} were not in the "
                                 f"training data; expected some of {', '.join(state['labels'])}")

    def build_model(self, backbone: Any, state: Mapping[str, Any]) -> Built:
        labels = state["labels"]
        return Built(backbone.build_model(self.model_class, num_labels=len(labels),
                                          problem_type="multi_label_classification",
                                          id2label=dict(enumerate(labels)),
                                          label2id={name: i for i, name in enumerate(labels)}))

    def encode_label(self, value: Any, state: Mapping[str, Any]) -> list[float]:
        chosen = set(self._label_set(value))
        return [1.0 if label in chosen else 0.0 for label in state["labels"]]

    def calibrate(self, outputs: Sequence[Any], features: Any, examples: Any,
                  state: Mapping[str, Any]) -> dict[str, Any]:
        """Per label, the threshold in 0.05..0.95 that maximises that label's F1 on validation."""
        probs = _sigmoid(np.asarray(outputs, dtype=np.float64))
        gold = np.asarray([self.encode_label(v, state) for v in examples["label"]], dtype=bool)
        self._calibration_pending = False
        return {**state, "thresholds": _tuned_thresholds(probs, gold), "thresholds_tuned": True}

    def postprocess(self, outputs: Sequence[Any], features: Any, examples: Any,
                    state: Mapping[str, Any]) -> list[dict[str, Any]]:
        labels, thresholds = state["labels"], state["thresholds"]
        predictions = []
        for logits in outputs:
            probs = _sigmoid(np.asarray(logits, dtype=np.float64))
            ranked = sorted(zip(labels, probs, thresholds), key=lambda item: -item[1])
            predictions.append({"labels": [name for name, p, t in ranked if p >= t],
                                "scores": {name: float(p) for name, p, _ in ranked}})
        return predictions

    def references(self, examples: Any, state: Mapping[str, Any]) -> list[Any]:
        return [self._label_set(v) for v in examples["label"]]

    def metric_options(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return {"labels": state["labels"]}

    def metric_inputs(self, predictions: Sequence[Any], references: Sequence[Any],
                      state: Mapping[str, Any]) -> tuple[Sequence[Any], Sequence[Any]]:
        """The predictions at the model's thresholds, or, during training before calibration, at thresholds
        tuned here by the calibration rule (see the class docstring); with their scores."""
        if not getattr(self, "_calibration_pending", False):
            return predictions, references
        labels = state["labels"]
        probs = np.asarray([[p["scores"][name] for name in labels] for p in predictions], dtype=np.float64)
        gold = np.asarray([self.encode_label(r, state) for r in references], dtype=bool)
        thresholds = _tuned_thresholds(probs.reshape(len(predictions), len(labels)), gold)
        chosen = [{"labels": [name for name, p, t in zip(labels, row, thresholds, strict=True) if p >= t],
                   "scores": prediction["scores"]} for row, prediction in zip(probs, predictions, strict=True)]
        return chosen, references

    def evaluation_notes(self, state: Mapping[str, Any]) -> dict[str, Any]:
        if getattr(self, "_calibration_pending", False):
            return {"thresholds": "tuned on this evaluation, as they will be on validation after training"}
        return {"thresholds": "tuned on validation" if state.get("thresholds_tuned")
                else "0.5 (no validation set to tune on)"}


class RegressionTask(_SequenceTask):
    """One real value per text or pair (mean squared error on a single output)."""

    name = "text-regression"
    primary_metric = "pearson"
    greater_is_better = True
    metric_kind = "score"
    metrics = ("regression",)
    distillation = Distillation(kind="mse")

    def _validate_rows(self, table: Any, path: str) -> None:
        super()._validate_rows(table, path)
        if "label" in table.column_names:
            where = as_source(path).where
            for index, value in enumerate(table["label"]):
                try:
                    float(value)
                except (TypeError, ValueError):
                    raise TlzooError(f"{where(index)}: label {value!r} is not a number; "
                                     f"expected a real value") from None

    def build_model(self, backbone: Any, state: Mapping[str, Any]) -> Built:
        return Built(backbone.build_model(self.model_class, num_labels=1, problem_type="regression"))

    def encode_label(self, value: Any, state: Mapping[str, Any]) -> float:
        return float(value)

    def postprocess(self, outputs: Sequence[Any], features: Any, examples: Any,
                    state: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [{"score": float(np.asarray(logits).reshape(-1)[0])} for logits in outputs]

    def references(self, examples: Any, state: Mapping[str, Any]) -> list[float]:
        return [float(v) for v in examples["label"]]

def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-logits))


def _tuned_thresholds(probs: np.ndarray, gold: np.ndarray) -> list[float]:
    """Per label (column), the threshold in 0.05..0.95 that maximises that label's F1."""
    grid = np.round(np.arange(0.05, 0.96, 0.05), 2)
    return [float(grid[int(np.argmax([_f1(probs[:, j] >= t, gold[:, j]) for t in grid]))])
            for j in range(probs.shape[1])]


def _f1(predicted: np.ndarray, gold: np.ndarray) -> float:
    tp = float((predicted & gold).sum())
    denominator = float(predicted.sum() + gold.sum())
    return 2 * tp / denominator if denominator else 0.0
