"""The ``ner`` task: per-word tagging (NER, POS, chunking) on ``AutoModelForTokenClassification``.

Examples are sentences of words with one tag each. Words are split into sub-tokens; the first
sub-token of each word carries its label (``label_all_subtokens`` labels the others too, ``B-X``
becoming ``I-X``), and predictions are always read from the first sub-token. Long sentences are
windowed and stitched back (:mod:`tlzoo.token_alignment`). Predictions repair invalid tag sequences
and return entities with character offsets (:mod:`tlzoo_ner.schemes`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tlzoo.api import TlzooError
from tlzoo.task import BaseTask, Built, Distillation, ForwardContext, TaskOptions
from tlzoo.token_alignment import IGNORE, align_labels, encode_windows, stitch, subtoken_probabilities
from tlzoo_ner.metric import SeqevalReport
from tlzoo_ner.reader import location, read_tagged
from tlzoo_ner.schemes import OUTSIDE, continuation_tag, detect_scheme, entity_spans, repair

WORD = re.compile(r"\w+(?:[-.]\w+)*|[^\w\s]")
"""Words of raw text: runs of letters/digits (keeping inner hyphens and dots: ``1996-08-22``,
``U.S``) or single punctuation marks, roughly the CoNLL-2003 tokenisation."""
_PREFIX_ORDER = {p: i for i, p in enumerate("BIESLU")}


@dataclasses.dataclass
class NerOptions(TaskOptions):
    tag_column: str | None = None
    """Tags: a column number in column files (0-based, -1 = last, the default) or a JSON field name."""
    token_column: str | None = None
    """Words: a column number in column files (default 0) or a JSON field name (default tokens/words)."""
    label_names: str | None = None
    """Comma-separated tag names in index order, for JSON files whose tags are integers."""
    label_all_subtokens: bool = False
    """Train on every sub-token of a word (B-X continues as I-X), not only on the first."""


def split_words(text: str) -> tuple[list[str], list[int], list[int]]:
    """Words of ``text`` with their character start and end offsets."""
    matches = list(WORD.finditer(text))
    return [m.group() for m in matches], [m.start() for m in matches], [m.end() for m in matches]


def join_words(tokens: Sequence[str]) -> tuple[str, list[int], list[int]]:
    """A text for pre-split words (joined by spaces) and each word's offsets in it."""
    starts, ends, position = [], [], 0
    for token in tokens:
        starts.append(position)
        position += len(token)
        ends.append(position)
        position += 1
    return " ".join(tokens), starts, ends


def _label_key(label: str) -> tuple[int, str, int]:
    if label == OUTSIDE:
        return 0, "", 0
    prefix, _, kind = label.partition("-")
    if len(prefix) == 1 and prefix in _PREFIX_ORDER and kind:
        return 1, kind, _PREFIX_ORDER[prefix]
    return 1, label, 0


class NerTask(BaseTask):
    """Token classification over words; the primary metric is seqeval's entity F1 (default mode)."""

    name = "ner"
    model_class = "AutoModelForTokenClassification"
    options_class = NerOptions
    primary_metric = "f1"
    greater_is_better = True
    metric_kind = "tags"
    metrics = ("seqeval", "seqeval-strict")
    distillation = Distillation(kind="softmax", level="token")
    default_backbone = "minilm-l6"
    # Measured in benchmarks/ner_conll.py (F1 0.867 in 10 minutes); see the plugin's README.
    default_hparams: Mapping[str, Any] = {"learning_rate": 1e-4, "epochs": 3, "batch_size": 16,
                                          "max_length": 128, "warmup_ratio": 0.06}
    options: NerOptions

    # -- data ---------------------------------------------------------------------------
    def load_split(self, path: str, split: str) -> Any:
        opts = self.options
        return read_tagged(path, opts.tag_column, opts.token_column, opts.label_names).to_dataset()

    def setup(self, train: Any) -> dict[str, Any]:
        tags = train["tags"]
        scheme = detect_scheme(tags, lambda s, w: f"training sentence {s + 1}, word {w + 1}")
        labels = sorted({tag for sentence in tags for tag in sentence}, key=_label_key)
        return {"labels": labels, "scheme": scheme}

    def check(self, dataset: Any, state: Mapping[str, Any], path: str) -> None:
        known = set(state["labels"])
        for line, tags in zip(dataset["line"], dataset["tags"]):
            for word, tag in enumerate(tags):
                if tag not in known:
                    raise TlzooError(f"{location(path, line, word)}: tag {tag!r} was not in the training "
                                     f"data; expected one of {', '.join(state['labels'])}")

    # -- model --------------------------------------------------------------------------
    def build_model(self, backbone: Any, state: Mapping[str, Any]) -> Built:
        labels = list(state["labels"])
        return Built(backbone.build_model(self.model_class, num_labels=len(labels),
                                          id2label=dict(enumerate(labels)),
                                          label2id={label: i for i, label in enumerate(labels)}))

    def preprocess(self, examples: Mapping[str, list], tokenizer: Any, state: Mapping[str, Any],
                   max_length: int, training: bool) -> dict[str, list]:
        columns = encode_windows(examples["tokens"], tokenizer, max_length)
        rows = columns.pop("sentence")
        if training:
            labels = state["labels"]
            index = {label: i for i, label in enumerate(labels)}
            continuation = ({i: index[continuation_tag(label, labels)] for label, i in index.items()}
                            if self.options.label_all_subtokens else None)
            word_labels = [[index[tag] for tag in tags] for tags in examples["tags"]]
            columns["labels"] = [align_labels(ids, word_labels[row], continuation)
                                 for ids, row in zip(columns.pop("word_ids"), rows)]
        else:
            columns["example_id"] = [examples["example_id"][row] for row in rows]
        return columns

    def distillation_mask(self, features: Mapping[str, list]) -> list[list[int]]:
        """The sub-tokens that carry a word's label: from ``labels``, or for unlabelled text (``word_ids``)
        the same positions ``preprocess`` would label."""
        if "labels" in features:
            return super().distillation_mask(features)
        continuation = {0: 0} if self.options.label_all_subtokens else None
        return [[int(label != IGNORE) for label in align_labels(ids, [0] * (max(ids, default=0) + 1), continuation)]
                for ids in features["word_ids"]]

    def collator(self, tokenizer: Any, model: Any) -> Any:
        from transformers import DataCollatorForTokenClassification

        return DataCollatorForTokenClassification(tokenizer)

    def forward(self, model: Any, batch: Mapping[str, Any], context: ForwardContext) -> list[Any]:
        return subtoken_probabilities(model, batch)

    # -- results ------------------------------------------------------------------------
    def postprocess(self, outputs: Sequence[Any], features: Any, examples: Any,
                    state: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Per sentence: the model's tag and probability for each word (not yet repaired)."""
        labels = state["labels"]
        # the columns as lists, read once: a dataset's column indexed row by row reads Arrow on every row,
        # which cost a 3-layer student a fifth of its prediction time
        columns = {k: list(examples[k]) for k in ("example_id", "tokens", "text", "starts", "ends")
                   if k in examples.column_names}
        position = {example_id: i for i, example_id in enumerate(columns["example_id"])}
        tokens = columns["tokens"]
        stitched = stitch([np.asarray(o) for o in outputs], features["word_ids"],
                          [position[e] for e in features["example_id"]], [len(t) for t in tokens])
        offsets = {k: columns[k] for k in ("text", "starts", "ends")} if "text" in columns else None
        predictions = []
        for i, (label_ids, scores) in enumerate(stitched):
            prediction = {"tokens": tokens[i], "tags": [labels[j] if j >= 0 else OUTSIDE for j in label_ids],
                          "scores": scores}
            if offsets is not None:
                prediction.update({k: v[i] for k, v in offsets.items()})
            predictions.append(prediction)
        return predictions

    def references(self, examples: Any, state: Mapping[str, Any]) -> list[list[str]]:
        return examples["tags"]

    def metric_inputs(self, predictions: Sequence[Any], references: Sequence[Any],
                      state: Mapping[str, Any]) -> tuple[Sequence[Any], Sequence[Any]]:
        return [p["tags"] for p in predictions], references

    def metric_options(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return {"scheme": state["scheme"]}

    def write_artifacts(self, predictions: Sequence[Any], references: Sequence[Any],
                        state: Mapping[str, Any], folder: str) -> list[str]:
        path = Path(folder) / "seqeval_report.txt"
        path.write_text(SeqevalReport(state["scheme"]).text_report([p["tags"] for p in predictions], references))
        return [str(path)]

    def inputs_to_examples(self, inputs: Sequence[Any]) -> Any:
        from datasets import Dataset

        rows = []
        for index, item in enumerate(inputs):
            if isinstance(item, str):
                tokens, starts, ends = split_words(item)
                text = item
            elif isinstance(item, Mapping) and isinstance(item.get("text"), str):
                text = item["text"]
                tokens, starts, ends = split_words(text)
            elif (isinstance(item, Mapping) and isinstance(item.get("tokens"), list)
                  and all(isinstance(t, str) for t in item["tokens"])):
                tokens = list(item["tokens"])
                text, starts, ends = join_words(tokens)
            else:
                raise TlzooError(f"prediction input {index + 1} ({item!r:.60}): expected a string, "
                                 f'{{"text": "..."}} or {{"tokens": ["word", ...]}}')
            rows.append({"example_id": index, "tokens": tokens, "text": text, "starts": starts, "ends": ends})
        return Dataset.from_list(rows)

    def format_prediction(self, prediction: Any, state: Mapping[str, Any]) -> dict[str, Any]:
        """Repaired tags and the entities they spell, with character offsets into the input text."""
        scheme = state["scheme"]
        tokens = prediction["tokens"]
        if "text" in prediction:
            text, starts, ends = prediction["text"], prediction["starts"], prediction["ends"]
        else:
            text, starts, ends = join_words(tokens)
        tags = repair(prediction["tags"], scheme)
        scores = prediction["scores"]
        entities = [{"type": kind, "text": text[starts[s]:ends[e - 1]], "start": starts[s],
                     "end": ends[e - 1], "score": float(np.mean(scores[s:e]))}
                    for kind, s, e in entity_spans(tags, scheme)]
        return {"text": text, "entities": entities, "tokens": list(tokens), "tags": tags}
