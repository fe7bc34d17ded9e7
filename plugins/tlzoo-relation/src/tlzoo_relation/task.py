"""``relation-extraction``: which relation holds between two marked entities of a sentence.

Examples are a text with two entity spans (``head`` = ``e1``, ``tail`` = ``e2``) and a label; a directed
label (``Component-Whole(e2,e1)``) is one class, so the direction is learned as part of the label. The
model input is the text with entity markers around the two entities (``<e1>..</e1>``, ``<e2>..</e2>``,
or typed ``<e1:PER>..</e1:PER>``), added to the tokenizer as special tokens; the default head
(``entity-start``) classifies the hidden states at the two opening markers.

Inputs, read through :mod:`tlzoo.data.source`:

- SemEval-2010 Task 8 files (the ``semeval2010`` format, ``.txt``);
- tables (CSV, TSV, JSON, JSONL): a ``text`` column holding marked text, or ``text`` with ``head`` and
  ``tail`` spans (``[start, end]`` or ``{"start", "end", "type"}`` character offsets), plus a ``label``.

Every bad row is one :class:`TlzooError` naming its file and line. Prediction inputs are marked strings
or ``{"text", "head", "tail"}`` objects; one whose entities cannot be found is answered with
``label: null`` and an ``error`` saying why (a blank line of an input file is an empty input), so one
bad input never sinks a batch.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from tlzoo.api import TlzooError
from tlzoo.data.source import as_source
from tlzoo.data.tables import detect_column
from tlzoo.task import BaseTask, Built, TaskOptions
from tlzoo_relation.marked import Example, Span, mark, marker_pair, parse_marked, parse_span, span_problem, split_label

TEXT_COLUMNS = ("text", "sentence", "sent")
LABEL_COLUMNS = ("label", "relation")
MARKER_STYLES = ("plain", "typed")
ACCEPTS = ("table", "relation")
"""The row kinds the task reads: tables, and marked sentences (the ``semeval2010`` format)."""
COLUMNS = ("text", "head_start", "head_end", "head_type", "tail_start", "tail_end", "tail_type", "label", "row")


@dataclasses.dataclass
class RelationOptions(TaskOptions):
    markers: str = "plain"
    """Entity markers: plain (<e1> </e1> <e2> </e2>) or typed (<e1:TYPE> ..., one pair per entity type seen in
    training, from the 'type' of head/tail spans; an entity of another type gets the plain markers)."""
    negative_label: str = "Other"
    """The label that means no relation (Other in SemEval-2010 Task 8, no_relation in TACRED): the official
    score averages over the other relations only."""
    text_column: str | None = None
    """Column holding the text of a table (detected from text, sentence, sent when not given)."""
    label_column: str | None = None
    """Column holding the label of a table (detected from label, relation when not given)."""


class RelationTask(BaseTask):
    name = "relation-extraction"
    model_class = "AutoModelForSequenceClassification"
    options_class = RelationOptions
    primary_metric = "official_f1"
    greater_is_better = True
    metric_kind = "label"
    metrics = ("semeval2010",)
    default_backbone = "minilm-l6"
    default_hparams: Mapping[str, Any] = {"head": "entity-start", "learning_rate": 1e-4, "epochs": 5,
                                          "batch_size": 32, "max_length": 128, "warmup_ratio": 0.1}

    @classmethod
    def search_space(cls) -> dict[str, Any]:
        """``tlzoo tune`` also tries the typed entity markers (they help where the data gives entity types)."""
        return {**super().search_space(), "markers": ["plain", "typed"]}

    # -- data ---------------------------------------------------------------------------
    def load_split(self, path: str, split: str) -> Any:
        from datasets import Dataset

        source = as_source(path)
        reader, rows = source.read(ACCEPTS, prefer=("semeval2010",))
        columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
        if reader.produces == "relation":
            examples = [_parsed(text, source, row) for row, text in enumerate(rows["text"])]
            labels = rows["label"]
        else:
            examples, labels = self._table_examples(rows, source)
        for row, (example, label) in enumerate(zip(examples, labels)):
            if label is None or not str(label).strip():
                raise TlzooError(f"{where(source, row)}: no label; expected a relation label such as "
                                 f"Component-Whole(e2,e1) or {self.options.negative_label}")
            for name, value in _columns(example).items():
                columns[name].append(value)
            columns["label"].append(str(label).strip())
            columns["row"].append(row)
        return Dataset.from_dict(columns)

    def _table_examples(self, table: Any, source: Any) -> tuple[list[Example], list[Any]]:
        """Examples and labels of a table: marked ``text``, or ``text`` with ``head``/``tail`` spans."""
        path = str(source)
        text = detect_column(table, path, self.options.text_column, TEXT_COLUMNS, "text", "--text-column")
        label = detect_column(table, path, self.options.label_column, LABEL_COLUMNS, "label", "--label-column")
        spans = [c for c in ("head", "tail") if c in table.column_names]
        if len(spans) == 1:
            raise TlzooError(f"{path}: a {spans[0]!r} column without {({'head', 'tail'} - set(spans)).pop()!r}; "
                             f"give both entity spans, or neither and mark the entities in the text")
        heads, tails = (table["head"], table["tail"]) if spans else ([None] * len(table), [None] * len(table))
        examples = []
        for row, (value, head, tail) in enumerate(zip(table[text], heads, tails)):
            if not isinstance(value, str):
                raise TlzooError(f"{where(source, row)}: {text} is {value!r}; expected text")
            examples.append(_with_spans(value, head, tail, source, row) if spans else _parsed(value, source, row))
        return examples, list(table[label])

    def setup(self, train: Any) -> dict[str, Any]:
        style = self.options.markers
        if style not in MARKER_STYLES:
            raise TlzooError(f"--markers {style!r}: expected one of {', '.join(MARKER_STYLES)}")
        types = sorted({t for t in [*train["head_type"], *train["tail_type"]] if t})
        if style == "typed" and not types:
            raise TlzooError("--markers typed needs entity types, and the training data has none; give each "
                             'head and tail span a "type" (JSONL: {"start": 0, "end": 5, "type": "PER"}) or use '
                             "--markers plain")
        labels = sorted(set(train["label"]))
        return {"labels": labels, "negative": self.options.negative_label,
                "types": types if style == "typed" else []}

    def check(self, dataset: Any, state: Mapping[str, Any], path: str) -> None:
        known = set(state["labels"])
        for label, row in zip(dataset["label"], dataset["row"]):
            if label not in known:
                raise TlzooError(f"{where(path, row)}: label {label!r} was not in the training data; expected one of "
                                 f"{', '.join(state['labels'])}")

    # -- model --------------------------------------------------------------------------
    def prepare_tokenizer(self, tokenizer: Any, state: Mapping[str, Any]) -> dict[str, Any]:
        """The markers as special tokens (never split, never lower-cased); their ids for the head."""
        pairs = {entity: [marker_pair(entity), *(marker_pair(entity, t) for t in state["types"])]
                 for entity in ("e1", "e2")}
        tokenizer.add_tokens([m for entity in pairs.values() for pair in entity for m in pair], special_tokens=True)
        return {"marker_ids": {entity: [tokenizer.convert_tokens_to_ids(opening) for opening, _ in entity_pairs]
                               for entity, entity_pairs in pairs.items()}}

    def build_model(self, backbone: Any, state: Mapping[str, Any]) -> Built:
        labels = list(state["labels"])
        return Built(backbone.build_model(self.model_class, num_labels=len(labels), id2label=dict(enumerate(labels)),
                                          label2id={name: i for i, name in enumerate(labels)}))

    def preprocess(self, examples: Mapping[str, list], tokenizer: Any, state: Mapping[str, Any],
                   max_length: int, training: bool) -> dict[str, list]:
        from tlzoo_relation.encoding import encode_marked

        types = set(state["types"])
        marked = []
        for i, text in enumerate(examples["text"]):
            if examples.get("error") and examples["error"][i]:
                marked.append("")  # an input whose entities were not found: postprocess answers with its error
                continue
            head = Span(examples["head_start"][i], examples["head_end"][i], examples["head_type"][i])
            tail = Span(examples["tail_start"][i], examples["tail_end"][i], examples["tail_type"][i])
            marked.append(_mark(Example(text, head, tail), types))
        markers = {i for ids in state["marker_ids"].values() for i in ids}
        encoded = encode_marked(tokenizer, marked, markers, max_length)
        if "label" in examples:
            index = {label: i for i, label in enumerate(state["labels"])}
            encoded["labels"] = [index[label] for label in examples["label"]]
        return encoded

    # -- results ------------------------------------------------------------------------
    def postprocess(self, outputs: Sequence[Any], features: Any, examples: Any,
                    state: Mapping[str, Any]) -> list[dict[str, Any]]:
        labels = state["labels"]
        # a datasets column indexed row by row reads the Arrow table once per row: read it once
        errors = list(examples["error"]) if "error" in examples.column_names else [None] * len(outputs)
        predictions = []
        for i, (logits, entities) in enumerate(zip(outputs, _entity_texts(examples), strict=True)):
            if errors[i]:
                predictions.append({"label": None, "relation": None, "direction": None, "score": None, "scores": {},
                                    "entities": entities, "error": errors[i]})
                continue
            peak = max(float(x) for x in logits)
            weights = [math.exp(float(x) - peak) for x in logits]
            total = sum(weights)
            probs = [w / total for w in weights]
            best = max(range(len(probs)), key=probs.__getitem__)
            relation, direction = split_label(labels[best])
            predictions.append({"label": labels[best], "relation": relation, "direction": direction,
                                "score": probs[best], "scores": dict(zip(labels, probs)), "entities": entities})
        return predictions

    def references(self, examples: Any, state: Mapping[str, Any]) -> list[Any]:
        return list(examples["label"])

    def metric_options(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return {"negative": state["negative"]}

    def write_artifacts(self, predictions: Sequence[Any], references: Sequence[Any],
                        state: Mapping[str, Any], folder: str) -> list[str]:
        from tlzoo.engine.plot import confusion_matrix_artifact

        return confusion_matrix_artifact(predictions, references, state["labels"], folder)

    def inputs_to_examples(self, inputs: Sequence[Any]) -> Any:
        """Marked strings, or ``{"text": .., "head": .., "tail": ..}`` objects (spans optional: without them
        the text is read as marked text)."""
        from tlzoo.engine.data import Columns

        columns: dict[str, list[Any]] = {name: [] for name in (*COLUMNS[:-2], "error")}
        for number, item in enumerate(inputs, 1):
            example, error = _input_example(item, number)
            for name, value in _columns(example).items():
                columns[name].append(value)
            columns["error"].append(error)
        return Columns(columns)


def where(path: Any, row: int) -> str:
    """``"file, line N"`` of row ``row`` (0-based) of a data file; only called to report an error."""
    source = as_source(path)
    reader = source.reader(ACCEPTS, prefer=("semeval2010",))
    locate = getattr(reader, "location", None)
    return locate(source, row) if locate else f"{source}, row {row + 1}"


def _parsed(marked: str, source: Any, row: int) -> Example:
    try:
        return parse_marked(marked)
    except ValueError as exc:
        raise TlzooError(f"{where(source, row)}: {exc}") from None


def _with_spans(text: str, head: Any, tail: Any, source: Any, row: int) -> Example:
    try:
        example = Example(text, parse_span(head), parse_span(tail))
    except ValueError as exc:
        raise TlzooError(f"{where(source, row)}: {exc}") from None
    problem = span_problem(text, example.head, example.tail)
    if problem:
        raise TlzooError(f"{where(source, row)}: {problem}")
    return example


_EMPTY = Example("", Span(0, 0), Span(0, 0))


def _input_example(item: Any, number: int) -> tuple[Example, str | None]:
    """One prediction input as an example, or a placeholder and the reason it has no entities."""
    if isinstance(item, Mapping) and isinstance(item.get("text"), str):
        text, head, tail = item["text"], item.get("head"), item.get("tail")
    elif isinstance(item, str):
        text, head, tail = item, None, None
    else:
        raise TlzooError(f"input {number}: expected marked text or {{\"text\": str, \"head\": [start, end], "
                         f"\"tail\": [start, end]}}, got {str(item)[:80]!r}")
    if (head is None) != (tail is None):
        return _EMPTY, "give both head and tail spans, or neither and mark the entities in the text"
    try:
        if head is None:
            return parse_marked(text), None
        example = Example(text, parse_span(head), parse_span(tail))
    except ValueError as exc:
        return _EMPTY, str(exc)
    problem = span_problem(text, example.head, example.tail)
    return (_EMPTY, problem) if problem else (example, None)


def _columns(example: Example) -> dict[str, Any]:
    return {"text": example.text, "head_start": example.head.start, "head_end": example.head.end,
            "head_type": example.head.type, "tail_start": example.tail.start, "tail_end": example.tail.end,
            "tail_type": example.tail.type}


def _mark(example: Example, types: set[str]) -> str:
    return mark(example, {"e1": marker_pair("e1", example.head.type if example.head.type in types else ""),
                          "e2": marker_pair("e2", example.tail.type if example.tail.type in types else "")})


def _entity_texts(examples: Any) -> list[dict[str, str]]:
    columns = [examples[name] for name in ("text", "head_start", "head_end", "tail_start", "tail_end")]
    return [{"e1": text[h0:h1], "e2": text[t0:t1]} for text, h0, h1, t0, t1 in zip(*columns)]
