"""The contract between the core and plugins: component specs and the protocols they build.

This module is imported on every CLI call, so it must stay light: no torch, no transformers.
A *spec* announces a component (name, kind, description, where its factory lives); building the
component imports the factory, and only then the heavy libraries.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

API_VERSION = "1.0"
"""Version of the plugin API. Plugins declare the range they support (``TLZOO_API = ">=1,<2"``)."""

ComponentKind = Literal["task", "backbone", "head", "metric", "dataset"]
KINDS: tuple[ComponentKind, ...] = ("task", "backbone", "head", "metric", "dataset")


class TlzooError(Exception):
    """An error caused by the user's input or environment; the CLI prints it as one line."""


@dataclass(frozen=True)
class Spec:
    """A light description of a component; ``factory`` is a ``"package.module:attribute"`` path.

    ``metadata`` holds kind-specific facts that listing may show without building anything
    (for a backbone its ``kind`` and ``source``; for a metric its ``primary`` key; for a task
    its ``default_backbone`` and ``metrics``).
    """

    name: str
    kind: ComponentKind
    factory: str
    description: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    plugin: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise TlzooError(f"component {self.name!r}: kind must be one of {', '.join(KINDS)}, not {self.kind!r}")
        if not self.name or self.name != self.name.strip() or " " in self.name:
            raise TlzooError(f"component name {self.name!r} must be a non-empty word without spaces")
        module, sep, attr = self.factory.partition(":")
        if not sep or not module or not attr:
            raise TlzooError(f"component {self.name!r}: factory must look like 'package.module:attr', "
                             f"not {self.factory!r}")

    def load(self) -> Any:
        """Import and return the factory (this is where heavy imports happen)."""
        module_name, _, attr_path = self.factory.partition(":")
        obj: Any = importlib.import_module(module_name)
        for part in attr_path.split("."):
            obj = getattr(obj, part)
        return obj

    def build(self, **kwargs: Any) -> Any:
        """Build the component by calling its factory with ``kwargs``."""
        return self.load()(**kwargs)


@runtime_checkable
class Backbone(Protocol):
    """A pretrained transformer and its tokenizer, loadable through the transformers Auto classes."""

    name: str
    kind: str  # "encoder" | "encoder-decoder" | "decoder"

    def load_tokenizer(self) -> Any: ...

    def build_model(self, auto_class: str, **config_overrides: Any) -> Any: ...


HEAD_LEVELS: Mapping[str, str] = {"AutoModelForSequenceClassification": "sequence",
                                  "AutoModelForTokenClassification": "token"}
"""The level of a task's outputs, by its ``model_class``: one per text or one per token. A head spec's
``fits`` metadata lists the levels it serves; a task whose class is not listed takes only ``default``."""


@runtime_checkable
class Head(Protocol):
    """What a ``head`` spec's factory returns (called without arguments): builds and reloads task models.

    ``build`` makes the model a task asked for with ``backbone.build_model(model_class, **config)``
    (``config``: ``num_labels``, ``id2label``, ``problem_type``...); ``state`` is the task's state
    (e.g. a tagging scheme). ``load`` rebuilds it from a saved folder. The model is a torch module whose
    ``forward`` takes the tokenizer's columns (and ``labels``) and returns an object with ``.logits``
    (and ``.loss`` when given labels), like a transformers model, and which has ``save_pretrained``.
    """

    name: str

    def build(self, backbone: Backbone, model_class: str, state: Mapping[str, Any], **config: Any) -> Any: ...

    def load(self, folder: str, model_class: str, state: Mapping[str, Any]) -> Any: ...


METRIC_INPUTS = ("label", "labels", "score", "tags", "span", "text", "rank")
"""What a metric consumes, one value per example: a ``label``, a set of ``labels`` (multi-label), a real
``score`` (regression), a list of ``tags`` (one per word), a ``span`` answer (a string or ``{"text": ...}``
against a list of gold answers), generated ``text`` (against a list of references), or the ``rank`` (1 = first)
of the example's own partner among all candidates (retrieval)."""


@runtime_checkable
class Metric(Protocol):
    """Scores predictions against references, one of each per example.

    ``consumes`` (one of :data:`METRIC_INPUTS`) says which tasks it fits: a task whose predictions are
    of that kind can compute it, by name, with ``--metric NAME``. ``primary`` names its headline key.
    Options (a label list, a tag scheme, a target language) go to the constructor as keyword
    arguments; the engine passes those of the task's ``metric_options(state)`` the constructor takes.
    """

    name: str
    primary: str
    greater_is_better: bool
    consumes: str

    def compute(self, predictions: Sequence[Any], references: Sequence[Any]) -> dict[str, Any]: ...


@runtime_checkable
class Dataset(Protocol):
    """A reader of one data format, chosen by file extension or ``--format NAME``.

    ``read(source, **options)`` returns a ``datasets.Dataset``: for a ``table`` reader (``produces``)
    the file's own columns, which any task maps onto its schema; otherwise rows in the schema named by
    ``produces`` (e.g. ``tagged`` sentences). ``source`` is a :class:`tlzoo.data.source.DataSource`,
    which owns the path, decompression and line-by-line decoding; errors name the file and line
    (``source.where(row)`` for the row a reader returned).
    """

    name: str
    extensions: Sequence[str]
    produces: str

    def read(self, source: Any, **options: Any) -> Any: ...


@runtime_checkable
class Task(Protocol):
    """Binds a data schema, preprocessing, a head (via a model class), a loss, post-processing and metrics.

    Plugins normally subclass :class:`tlzoo.task.BaseTask`, which documents each step.
    """

    name: str
    primary_metric: str
    greater_is_better: bool

    def load_split(self, path: str, split: str) -> Any: ...

    def build_model(self, backbone: Backbone, state: Mapping[str, Any]) -> Any: ...

    def postprocess(self, outputs: Iterable[Any], features: Any, examples: Any) -> list[Any]: ...
