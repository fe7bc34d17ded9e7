"""The base class every task plugin subclasses. The engine calls these steps, in this order:

1. ``load_split(path, split)``: read a file into a ``datasets.Dataset`` in the task's schema,
   raising :class:`TlzooError` that names the file and line for bad input (``stream_split``
   returns an ``IterableDataset`` instead, for ``--streaming``; ``setup`` then sees a stream).
2. ``setup(train)``: learn what the model needs from the training data (e.g. the label set);
   returns a JSON-serialisable ``state`` saved in the manifest. ``check(dataset, state, path)``
   then validates evaluation data against it (e.g. unknown labels). ``prepare_tokenizer(tokenizer,
   state)`` may then add tokens (e.g. entity markers) to the backbone's tokenizer; the engine grows the
   model's embeddings to match and saves that tokenizer with the model.
3. ``build_model(backbone, state)``: the backbone with the task head, usually an ``AutoModelFor*``
   built by ``backbone.build_model(self.model_class, ...)`` (the engine's ``backbone`` puts the
   ``--head`` the user chose there). It returns :class:`Built`: the model and the JSON facts it learned
   about the backbone (e.g. its kind) that ``preprocess`` and prediction need; the engine merges them
   into ``state`` (saved in the manifest). ``state`` itself is read-only here.
4. ``preprocess(examples, tokenizer, state, max_length, training)``: a batched ``datasets.map``
   function (see :meth:`BaseTask.preprocess` for its arguments and the columns it must return).
5. ``collator(tokenizer, model)``: pads a list of features into a batch.
6. ``loss(model, batch)``: defaults to the model's own loss.
7. ``forward(model, batch, context)``: one output per feature (e.g. logits) for post-processing;
   ``context`` (:class:`ForwardContext`) carries the tokenizer and the options in effect for this pass.
8. ``postprocess(outputs, features, examples, state)``: one prediction per example.
9. ``references(examples, state)``; the engine then computes the task's ``metrics`` (and any
   ``--metric NAME``) from the catalog on ``metric_inputs(predictions, references, state)``, each
   built with the options it takes from ``metric_options(state)`` (see :mod:`tlzoo.metrics.compute`).
10. After training, ``calibrate(outputs, features, examples, state)`` may tune the state on validation
    outputs (e.g. thresholds), and ``write_artifacts`` may add files (plots) to the output.

A ``preprocess`` that truncates may add a boolean ``truncated`` column (see
:func:`truncation_flags`); the engine logs the count.

Prediction reuses 4, 7 and 8 on ``inputs_to_examples(inputs)``, then ``format_prediction``. The options
named in ``prediction_options`` (e.g. generation settings) may be changed per prediction call; ``forward``
then sees them in ``context.options`` while ``self.options`` keeps the trained values.
``tlzoo check`` (:mod:`tlzoo.testing.kit`) also predicts on inputs it derives from the spec's first
``example_inputs`` entry (:func:`tlzoo.testing.kit.edge_case_inputs`): every string emptied (``""``),
every list of words emptied (``[]``), the longest field repeated to 3000 words, and every field
replaced by non-ASCII text; each must give one JSON-ready prediction, not an error.
This module imports nothing heavy at import time; plugins import it from their factory modules.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from tlzoo.api import TlzooError
from tlzoo.suggest import did_you_mean


@dataclasses.dataclass
class Built:
    """What :meth:`BaseTask.build_model` returns: the model, and facts for the task's ``state``."""

    model: Any
    facts: dict[str, Any] = dataclasses.field(default_factory=dict)
    """JSON-serialisable facts learned while building (e.g. the backbone's kind); the engine adds them to
    ``state`` before preprocessing, and the manifest saves them for prediction."""


@dataclasses.dataclass(frozen=True)
class Distillation:
    """How ``tlzoo distill`` trains a student on a teacher's outputs for a task (:attr:`BaseTask.distillation`).

    Each name of ``outputs`` is an attribute of the model's output (``logits``, ``start_logits``...) and is
    matched with the batch column of ``labels`` at the same place; the losses of several outputs are
    averaged (QA: start and end, as the model's own loss). ``kind`` is what the outputs are: ``softmax``
    (KL between temperature-softened distributions, cross-entropy to the labels), ``sigmoid`` (the same per
    label, binary) or ``mse`` (regression: mean squared error to the teacher and to the labels). ``level``
    says what one distribution is: ``sequence`` (one per row), ``token`` (one per token, only where
    :meth:`BaseTask.distillation_mask` is true) or ``position`` (one over the row's tokens, as start and end
    positions are; padding is left out).
    """

    outputs: tuple[str, ...] = ("logits",)
    labels: tuple[str, ...] = ("labels",)
    kind: str = "softmax"
    level: str = "sequence"


@dataclasses.dataclass
class TaskOptions:
    """Task-specific options; subclasses add fields, which become ``--kebab-case`` CLI flags."""


@dataclasses.dataclass(frozen=True)
class ForwardContext:
    """What ``forward`` may use besides the model and the batch; the engine builds it for each pass."""

    tokenizer: Any
    options: TaskOptions
    """The options in effect: the task's own, with any per-call prediction options applied."""
    max_length: int = 0
    """The token limit ``preprocess`` was given (0: not known), for a ``forward`` that tokenises more text
    itself (e.g. a corpus to search)."""


class BaseTask:
    """Defaults shared by all tasks. Subclasses set the class attributes and the schema steps."""

    name: ClassVar[str] = ""
    model_class: ClassVar[str] = "AutoModel"
    options_class: ClassVar[type[TaskOptions]] = TaskOptions
    primary_metric: ClassVar[str] = "loss"
    greater_is_better: ClassVar[bool] = False
    generative: ClassVar[bool] = False
    metric_kind: ClassVar[str] = ""
    """What one prediction is, for metrics (one of :data:`tlzoo.api.METRIC_INPUTS`): any catalog metric
    that consumes this kind can score the task (``--metric NAME``)."""
    metrics: ClassVar[tuple[str, ...]] = ()
    """Catalog metrics every evaluation reports; one of them must report ``primary_metric``."""
    default_backbone: ClassVar[str] = "minilm-l6"
    default_hparams: ClassVar[Mapping[str, Any]] = {}
    """Recommended engine settings (learning_rate, epochs, batch_size, max_length...) for this task."""
    length_column: ClassVar[str] = "input_ids"
    """The feature column whose length is a row's size: training batches group rows of similar
    length (less padding), and prediction sorts by it. Every feature row ``preprocess`` returns must
    hold this column; set another (e.g. ``"labels"``) if your inputs are not ``input_ids``."""
    feature_columns: ClassVar[tuple[str, ...]] = ()
    """Feature columns that batches keep although the model's ``forward`` does not take them, because the
    task's ``loss`` and ``forward`` read them (e.g. the second text of a pair, ``pair_input_ids``)."""
    text_columns: ClassVar[tuple[str, ...]] = ("text", "text_pair", "negative", "tokens", "question", "context",
                                               "source")
    """Columns of the examples ``load_split`` returns that hold input text (a list of words counts as one text):
    what ``tlzoo adapt --from-task`` pre-trains on (:meth:`input_texts`). The default names the columns of the
    bundled tasks; a task whose input text lives under another name sets its own."""
    evaluation_loss: ClassVar[bool] = False
    """Also score the loss on evaluation sets (their examples preprocessed as for training, with labels): every
    evaluation then reports ``loss`` (the mean over label tokens) and ``perplexity`` (its exponential). For
    generative tasks, whose evaluation otherwise only compares generated text, this is the likelihood of the
    references."""
    streams: ClassVar[bool] = False
    """Whether :meth:`stream` gives a prediction as pieces while it is computed (``tlzoo predict --stream``, the
    server's ``/stream`` route); the text-to-text tasks do."""
    prediction_options: ClassVar[tuple[str, ...]] = ()
    """Fields of ``options_class`` that a prediction call may change without retraining (generation
    settings): ``Predictor.predict(inputs, num_beams=4)``, ``tlzoo predict MODEL --num-beams 4``."""

    distillation: ClassVar[Distillation | None] = None
    """How a student learns this task from a teacher (``tlzoo distill``); ``None``: the task cannot be distilled."""

    @classmethod
    def search_space(cls) -> dict[str, Any]:
        """What ``tlzoo tune`` searches by default: option name -> a range (``{"low": ..., "high": ..., "log":
        true}``), a list of choices or a fixed value, as in a ``--space`` file (see :mod:`tlzoo.tuning.space`).
        The core's generic space (learning rate around ``default_hparams``', batch size, epochs, warm-up, weight
        decay, LLRD, strategy) unless a task adds its own options where they matter:
        ``return {**super().search_space(), "pooling": ["mean", "cls"]}``."""
        from tlzoo.tuning.space import generic_space

        return generic_space(cls.default_hparams)

    def __init__(self, options: TaskOptions | Mapping[str, Any] | None = None) -> None:
        if options is None:
            options = self.options_class()
        elif isinstance(options, Mapping):
            options = make_options(self.options_class, options)
        self.options = options

    # -- data ---------------------------------------------------------------------------
    def load_split(self, path: str, split: str) -> Any:
        raise NotImplementedError

    def stream_split(self, path: str, split: str) -> Any:
        """Like ``load_split`` but an ``IterableDataset`` read lazily (``--streaming``)."""
        raise TlzooError(f"task {self.name!r} cannot stream its data; drop --streaming")

    def setup(self, train: Any) -> dict[str, Any]:
        return {}

    def input_texts(self, examples: Any) -> list[str]:
        """The input text of ``examples`` (a dataset ``load_split`` read), row by row, from :attr:`text_columns`:
        strings as they are, lists of words joined by spaces; empty texts and exact repeats (a QA context
        shared by several questions) are left out."""
        columns = [name for name in self.text_columns if name in examples.column_names]
        texts: dict[str, None] = {}
        for row in zip(*(examples[name] for name in columns)):
            for value in row:
                if isinstance(value, list):
                    value = " ".join(str(word) for word in value)
                if isinstance(value, str) and value.strip():
                    texts[value.strip()] = None
        return list(texts)

    def check(self, dataset: Any, state: Mapping[str, Any], path: str) -> None:
        """Validate evaluation data against what the model was trained on."""

    def prepare_tokenizer(self, tokenizer: Any, state: Mapping[str, Any]) -> dict[str, Any]:
        """Change the backbone's tokenizer in place before the model is built (e.g. add special tokens);
        returns JSON facts for ``state`` (e.g. the new tokens' ids), which ``build_model`` and the heads see.
        The engine then grows the model's input embeddings to ``len(tokenizer)`` and saves this tokenizer
        with the model, so prediction loads it as it is (default: no change)."""
        return {}

    # -- model --------------------------------------------------------------------------
    def build_model(self, backbone: Any, state: Mapping[str, Any]) -> Built:
        return Built(backbone.build_model(self.model_class))

    def preprocess(self, examples: Mapping[str, list], tokenizer: Any, state: Mapping[str, Any],
                   max_length: int, training: bool) -> dict[str, list]:
        """Examples (a batch of columns) to model features (columns), for ``datasets.map(batched=True)``.

        ``max_length`` is the token limit per feature row: the run's ``--max-length`` (else the task's
        ``default_hparams``), capped at what the backbone's tokenizer supports; cut or window inputs
        to it. ``training`` is True for the training split, whose rows need their labels (e.g.
        ``labels``), and False for evaluation and prediction, whose examples may have no label at all.
        The returned columns may hold more or fewer rows than ``examples`` (windows of long inputs);
        each row needs :attr:`length_column`, and columns the model does not take (e.g. an example
        index for ``postprocess``) are kept in the features but not passed to the model.
        """
        raise NotImplementedError

    def collator(self, tokenizer: Any, model: Any) -> Any:
        from transformers import DataCollatorWithPadding

        return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=None)

    def loss(self, model: Any, batch: Mapping[str, Any]) -> Any:
        return model(**batch).loss

    def forward(self, model: Any, batch: Mapping[str, Any], context: ForwardContext) -> list[Any]:
        """One output per row of ``batch`` (default: its logits as a numpy array)."""
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        logits = model(**inputs).logits
        return list(logits.float().cpu().numpy())

    def distillation_mask(self, features: Mapping[str, list]) -> list[list[int]]:
        """For a ``token`` level :attr:`distillation`: per feature row (a batch of columns), 1 for each token
        that carries a target (a word's aligned sub-token), else 0. Default: where ``labels`` is not -100;
        a task that distils on unlabelled text (no ``labels``) overrides it."""
        return [[int(label != -100) for label in row] for row in features["labels"]]

    def stream(self, model: Any, batch: Mapping[str, Any], context: ForwardContext) -> Iterator[str]:
        """The output of a one-row ``batch`` as pieces of text while it is generated (tasks with :attr:`streams`)."""
        raise TlzooError(f"task {self.name!r} does not stream its predictions")

    # -- results ------------------------------------------------------------------------
    def postprocess(self, outputs: Sequence[Any], features: Any, examples: Any,
                    state: Mapping[str, Any]) -> list[Any]:
        raise NotImplementedError

    def references(self, examples: Any, state: Mapping[str, Any]) -> list[Any]:
        raise NotImplementedError

    def metric_inputs(self, predictions: Sequence[Any], references: Sequence[Any],
                      state: Mapping[str, Any]) -> tuple[Sequence[Any], Sequence[Any]]:
        """Predictions and references in the form metrics of :attr:`metric_kind` take (default: as they are)."""
        return predictions, references

    def metric_options(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """Options for metric constructors (e.g. ``labels``); each metric takes those it accepts."""
        return {}

    def evaluation_notes(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """Non-metric facts added to every evaluation's results (e.g. which thresholds were used)."""
        return {}

    def inputs_to_examples(self, inputs: Sequence[Any]) -> Any:
        """Turn raw prediction inputs (strings or dicts) into a dataset in the task's schema: a
        ``datasets.Dataset``, or a :class:`tlzoo.engine.data.Columns` of plain lists, which saves a
        served request the cost of building a one-row ``Dataset`` (about 1 ms)."""
        raise NotImplementedError

    def format_prediction(self, prediction: Any, state: Mapping[str, Any]) -> dict[str, Any]:
        return prediction if isinstance(prediction, dict) else {"prediction": prediction}

    def calibrate(self, outputs: Sequence[Any], features: Any, examples: Any,
                  state: Mapping[str, Any]) -> dict[str, Any]:
        """Tune decision settings (e.g. thresholds) on validation outputs after training."""
        return dict(state)

    def model_files(self, state: Mapping[str, Any], max_length: int) -> dict[str, str]:
        """Extra files saved with the model (relative path -> text), e.g. the configuration another library
        needs to load the folder; ``max_length`` is the run's token limit."""
        return {}

    def write_artifacts(self, predictions: Sequence[Any], references: Sequence[Any],
                        state: Mapping[str, Any], folder: str) -> list[str]:
        """Optional extra evaluation files (plots, reports); returns the paths written."""
        return []


def make_options(options_class: type[TaskOptions], values: Mapping[str, Any]) -> TaskOptions:
    """Build task options from a mapping, rejecting unknown names with the known ones."""
    fields = {f.name for f in dataclasses.fields(options_class)}
    unknown = sorted(set(values) - fields)
    if unknown:
        hints = "".join(did_you_mean(name, fields) for name in unknown)
        raise TlzooError(f"unknown task option(s) {', '.join(map(repr, unknown))}{hints}; this task accepts: "
                         f"{', '.join(sorted(fields)) or '(none)'}")
    return options_class(**{k: _coerce(options_class, k, v) for k, v in values.items()})


def with_prediction_options(task: BaseTask, values: Mapping[str, Any]) -> TaskOptions:
    """``task.options`` with ``values`` applied, each one of ``task.prediction_options`` and typed like
    the field (strings from the CLI are converted); ``task.options`` itself is left as it is."""
    allowed = task.prediction_options
    for name in values:
        if name not in allowed:
            hint = did_you_mean(name, allowed)
            accepted = f"; {task.name} accepts: {', '.join(allowed)}" if allowed else \
                f"; {task.name} takes no prediction options"
            raise TlzooError(f"unknown prediction option {name!r}{hint or accepted}")
    if not values:
        return task.options
    return dataclasses.replace(task.options, **{k: _coerce(type(task.options), k, v) for k, v in values.items()})


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _coerce(options_class: type[TaskOptions], name: str, value: Any) -> Any:
    """A string (as the CLI passes every task option) converted to the field's bool, int or float type."""
    if not isinstance(value, str):
        return value
    hint = typing.get_type_hints(options_class)[name]
    kinds = set(typing.get_args(hint)) or {hint}
    flag = f"--{name.replace('_', '-')}"
    if bool in kinds:
        if value.strip().lower() not in _TRUE | _FALSE:
            raise TlzooError(f"{flag} takes true or false, not {value!r}")
        return value.strip().lower() in _TRUE
    for kind in (int, float):
        if kind in kinds:
            try:
                return kind(value)
            except ValueError:
                raise TlzooError(f"{flag} takes {'an integer' if kind is int else 'a number'}, "
                                 f"not {value!r}") from None
    return value


def truncation_flags(encoding: Any, max_length: int) -> list[bool]:
    """Which rows of a tokenizer batch lost tokens to truncation.

    Fast tokenizers keep what they cut in ``overflowing``; otherwise a full-length row counts.
    """
    if encoding.encodings:
        return [bool(e.overflowing) for e in encoding.encodings]
    return [len(ids) >= max_length for ids in encoding["input_ids"]]
