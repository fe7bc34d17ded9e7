"""Bi-encoder tasks: one shared encoder turns each text into a vector (pooled token states); two texts are
as similar as the cosine of their vectors.

The model is the backbone's body (``AutoModel``); pooling lives here (``state["pooling"]``), and the folder
also carries sentence-transformers' module files so that ``SentenceTransformer(DIR)`` loads it. Feature rows
hold the first text (``input_ids``...), its pair (``pair_input_ids``...) and, for ``sentence-embedding``,
an optional hard negative (``negative_input_ids``...).

Prediction: a text gives ``{"embedding": [...]}``; a text and a text pair give ``{"similarity": cos}``;
with the prediction option ``corpus`` (a file of texts) a text gives ``{"hits": [...]}``, the ``top_k``
corpus texts closest to it (see :mod:`tlzoo_similarity.search`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tlzoo.api import TlzooError
from tlzoo.data.source import as_source
from tlzoo.data.tables import detect_column, read_table
from tlzoo.task import BaseTask, Built, ForwardContext, TaskOptions, truncation_flags

TEXT_COLUMNS = ("text", "sentence1", "anchor", "query", "question", "sentence", "premise")
PAIR_COLUMNS = ("text_pair", "sentence2", "positive", "answer", "passage", "document", "hypothesis")
SCORE_COLUMNS = ("score", "label", "similarity", "labels")
NEGATIVE_COLUMNS = ("negative", "hard_negative", "negative_passage")
HAS_PAIR = "has_pair"
"""Prediction inputs that mix single texts and pairs: which rows have a pair (the others get an empty one)."""


@dataclasses.dataclass
class EncoderOptions(TaskOptions):
    text_column: str | None = None
    """Column of the first text (detected from common names when not given)."""
    text_pair_column: str | None = None
    """Column of the second text (detected from common names when not given)."""
    pooling: str = "mean"
    """How token states become one vector: mean (default), cls or max."""
    corpus: str | None = None
    """Prediction only: a file of texts (.txt one per line, .csv/.tsv/.jsonl with a text column) to search; each
    input text then gives its top_k closest corpus texts. Its embeddings are cached next to it."""
    top_k: int = 5
    """Prediction only: how many corpus texts a search returns."""


@dataclasses.dataclass
class SimilarityOptions(EncoderOptions):
    label_column: str | None = None
    """Column of the gold similarity score (detected from common names when not given)."""
    loss: str = "cosent"
    """cosent (CoSENT: ranks pairs by score; default) or cosine (cosine-similarity loss: MSE between the cosine
    and the score scaled to [0, 1] by max_score)."""
    max_score: float = 1.0
    """The highest gold score (5 for STS Benchmark); scores must lie in [0, max_score]."""


@dataclasses.dataclass
class EmbeddingOptions(EncoderOptions):
    negative_column: str | None = None
    """Column of a hard negative for each pair (optional; detected from common names when not given)."""


class _EncoderTask(BaseTask):
    model_class = "AutoModel"
    default_backbone = "minilm-l6"
    default_hparams: Mapping[str, Any] = {"learning_rate": 2e-5, "epochs": 1, "batch_size": 32,
                                          "max_length": 128, "warmup_ratio": 0.1}
    prediction_options = ("corpus", "top_k")
    metric_kind = "score"
    primary_metric = "spearman"
    greater_is_better = True

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        from tlzoo.sentence.pooling import POOLINGS

        if self.options.pooling not in POOLINGS:
            raise TlzooError(f"--pooling {self.options.pooling!r}: expected one of {', '.join(POOLINGS)}")

    @property
    def feature_columns(self) -> tuple[str, ...]:  # type: ignore[override]
        from tlzoo.sentence.collate import feature_columns

        return (*feature_columns(), HAS_PAIR)

    # -- data ---------------------------------------------------------------------------
    def load_split(self, path: str, split: str) -> Any:
        table = read_table(path)
        columns = self._columns(table, path, split)
        table = table.select_columns(list(columns.values()))
        table = table.rename_columns({old: new for new, old in columns.items() if old != new})
        self._validate(table, path)
        return table

    def _columns(self, table: Any, path: str, split: str) -> dict[str, str]:
        """Our name -> the file's column; the text and its pair are required for training and evaluation."""
        opts = self.options
        columns = {"text": detect_column(table, path, opts.text_column, TEXT_COLUMNS, "text", "--text-column")}
        columns["text_pair"] = detect_column(table, path, opts.text_pair_column, PAIR_COLUMNS, "second text",
                                             "--text-pair-column")
        return columns

    def _validate(self, table: Any, path: str) -> None:
        where = as_source(path).where
        for column in [c for c in ("text", "text_pair", "negative") if c in table.column_names]:
            for index, value in enumerate(table[column]):
                if not isinstance(value, str):
                    raise TlzooError(f"{where(index)}: {column} is {value!r}; expected text")

    def setup(self, train: Any) -> dict[str, Any]:
        return {"pooling": self.options.pooling}

    def inputs_to_examples(self, inputs: Sequence[Any]) -> Any:
        from tlzoo.engine.data import Columns

        texts, pairs = [], []
        for item in inputs:
            if isinstance(item, str):
                texts.append(item)
                pairs.append(None)
            elif isinstance(item, Mapping) and "text" in item:
                texts.append(str(item["text"]))
                pairs.append(None if item.get("text_pair") is None else str(item["text_pair"]))
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                texts.append(str(item[0]))
                pairs.append(str(item[1]))
            else:
                raise TlzooError(f"prediction input {item!r}: expected a string, [text, text_pair] or "
                                 f'{{"text": ..., "text_pair": ...}}')
        columns: dict[str, list] = {"text": texts}
        if any(p is not None for p in pairs):  # rows without a pair get an embedding, the others a similarity
            columns["text_pair"] = [p or "" for p in pairs]
            columns[HAS_PAIR] = [p is not None for p in pairs]
        return Columns(columns)

    # -- model --------------------------------------------------------------------------
    def build_model(self, backbone: Any, state: Mapping[str, Any]) -> Built:
        model = backbone.build_model(self.model_class)
        return Built(model, {"dimension": int(model.config.hidden_size)})

    def model_files(self, state: Mapping[str, Any], max_length: int) -> dict[str, str]:
        from tlzoo.sentence.st_format import sentence_transformers_files

        return sentence_transformers_files(state["pooling"], state["dimension"], max_length)

    def preprocess(self, examples: Mapping[str, list], tokenizer: Any, state: Mapping[str, Any],
                   max_length: int, training: bool) -> dict[str, list]:
        encoded = tokenizer(examples["text"], truncation=True, max_length=max_length)
        features: dict[str, list] = dict(encoded)
        features["truncated"] = truncation_flags(encoded, max_length)
        for column, prefix in (("text_pair", "pair_"), ("negative", "negative_")):
            if column in examples:
                other = tokenizer(examples[column], truncation=True, max_length=max_length)
                features.update({prefix + name: values for name, values in other.items()})
        if HAS_PAIR in examples:
            features[HAS_PAIR] = list(examples[HAS_PAIR])
        if "label" in examples:
            features["labels"] = [self.encode_score(value, state) for value in examples["label"]]
        return features

    def encode_score(self, value: Any, state: Mapping[str, Any]) -> float:
        return 0.0

    def collator(self, tokenizer: Any, model: Any) -> Any:
        from tlzoo.sentence.collate import GroupCollator

        return GroupCollator(tokenizer, flags=(HAS_PAIR,))

    def forward(self, model: Any, batch: Mapping[str, Any], context: ForwardContext) -> list[Any]:
        """Per row: the text's embedding, and its pair's (or None); with a corpus, the row's hits instead."""
        from tlzoo.sentence.pooling import embed, embed_groups

        pooling = context.options.pooling
        if "pair_input_ids" not in batch or context.options.corpus:
            first = embed(model, batch, "", pooling).float().cpu().numpy()
            if context.options.corpus:
                from tlzoo_similarity.search import search

                return search(model, context, first)
            return [(vector, None) for vector in first]
        first, second = (v.float().cpu().numpy() for v in embed_groups(model, batch, ("", "pair_"), pooling))
        paired = batch[HAS_PAIR].tolist() if HAS_PAIR in batch else [True] * len(first)
        return [(a, b if has else None) for a, b, has in zip(first, second, paired)]

    # -- results ------------------------------------------------------------------------
    def postprocess(self, outputs: Sequence[Any], features: Any, examples: Any,
                    state: Mapping[str, Any]) -> list[dict[str, Any]]:
        predictions = []
        for output in outputs:
            if isinstance(output, dict):  # a search's hits
                predictions.append(output)
                continue
            first, second = output
            if second is None:
                predictions.append({"embedding": [float(x) for x in first]})
            else:
                predictions.append({"similarity": _cosine(first, second), "vectors": (first, second)})
        return predictions

    def format_prediction(self, prediction: Any, state: Mapping[str, Any]) -> dict[str, Any]:
        """Without the pair's vectors, which only the metrics read."""
        return {k: v for k, v in prediction.items() if k != "vectors"}


class SimilarityTask(_EncoderTask):
    """Pairs with a gold similarity score (STS): CoSENT or cosine-similarity loss; Spearman and Pearson x100."""

    name = "sentence-similarity"
    options_class = SimilarityOptions
    metrics = ("sts",)

    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        from tlzoo.sentence.losses import LOSSES

        if self.options.loss not in LOSSES:
            raise TlzooError(f"--loss {self.options.loss!r}: expected one of {', '.join(LOSSES)}")
        if not self.options.max_score > 0:
            raise TlzooError(f"--max-score must be > 0, not {self.options.max_score}")

    def _columns(self, table: Any, path: str, split: str) -> dict[str, str]:
        columns = super()._columns(table, path, split)
        if split != "predict":
            columns["label"] = detect_column(table, path, self.options.label_column, SCORE_COLUMNS, "score",
                                             "--label-column")
        return columns

    def _validate(self, table: Any, path: str) -> None:
        super()._validate(table, path)
        if "label" not in table.column_names:
            return
        where, top = as_source(path).where, self.options.max_score
        for index, value in enumerate(table["label"]):
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise TlzooError(f"{where(index)}: score {value!r} is not a number; expected a similarity "
                                 f"in [0, {top:g}]") from None
            if not 0 <= number <= top:
                hint = " (set --max-score to the scale's top, e.g. 5 for STS Benchmark)" if number > top else ""
                raise TlzooError(f"{where(index)}: score {number:g} is outside [0, {top:g}]{hint}")

    def encode_score(self, value: Any, state: Mapping[str, Any]) -> float:
        return float(value) / self.options.max_score

    def loss(self, model: Any, batch: Mapping[str, Any]) -> Any:
        from tlzoo.sentence.losses import LOSSES
        from tlzoo.sentence.pooling import embed_groups

        first, second = embed_groups(model, batch, ("", "pair_"), self.options.pooling)
        return LOSSES[self.options.loss](first, second, batch["labels"])

    def references(self, examples: Any, state: Mapping[str, Any]) -> list[float]:
        return [float(v) for v in examples["label"]]

    def metric_inputs(self, predictions: Sequence[Any], references: Sequence[Any],
                      state: Mapping[str, Any]) -> tuple[Sequence[Any], Sequence[Any]]:
        return [p["similarity"] for p in predictions], references


class EmbeddingTask(_EncoderTask):
    """Pairs of related texts (query/passage, question/answer, paraphrases): multiple-negatives ranking loss
    with in-batch negatives (and a hard negative per pair when the data has one); retrieval metrics."""

    name = "sentence-embedding"
    options_class = EmbeddingOptions
    metric_kind = "rank"
    metrics = ("retrieval",)
    primary_metric = "mrr@10"

    def _columns(self, table: Any, path: str, split: str) -> dict[str, str]:
        columns = super()._columns(table, path, split)
        negative = self.options.negative_column or next(
            (c for c in table.column_names if c.lower() in NEGATIVE_COLUMNS), None)
        if negative:
            columns["negative"] = detect_column(table, path, negative, NEGATIVE_COLUMNS, "hard negative",
                                                "--negative-column")
        return columns

    def loss(self, model: Any, batch: Mapping[str, Any]) -> Any:
        from tlzoo.sentence.losses import multiple_negatives_ranking_loss
        from tlzoo.sentence.pooling import embed_groups

        prefixes = ("", "pair_", "negative_") if "negative_input_ids" in batch else ("", "pair_")
        return multiple_negatives_ranking_loss(*embed_groups(model, batch, prefixes, self.options.pooling))

    def references(self, examples: Any, state: Mapping[str, Any]) -> list[int]:
        return list(range(len(examples)))

    def metric_inputs(self, predictions: Sequence[Any], references: Sequence[Any],
                      state: Mapping[str, Any]) -> tuple[Sequence[Any], Sequence[Any]]:
        """The rank of each text's own pair among the pairs of all examples (1: retrieved first)."""
        queries = _unit(np.stack([p["vectors"][0] for p in predictions]))
        targets = _unit(np.stack([p["vectors"][1] for p in predictions]))
        scores = queries @ targets.T
        own = scores[np.arange(len(scores)), references]
        ranks = (scores > own[:, None]).sum(1) + 1
        return [int(r) for r in ranks], references


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(_unit(np.asarray(a, dtype=np.float64)) @ _unit(np.asarray(b, dtype=np.float64)))
