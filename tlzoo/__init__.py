"""tlzoo: a transfer-learning task zoo for NLP.

Importing ``tlzoo`` is cheap; ``train`` and ``load`` import the engine (torch, transformers) on call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tlzoo.api import API_VERSION, Spec, TlzooError
from tlzoo.hookspecs import hookimpl

if TYPE_CHECKING:
    from tlzoo.engine.predictor import Predictor
    from tlzoo.engine.run import TrainResult
    from tlzoo.onnx_export.run import ExportResult
    from tlzoo.tuning.study import TuneResult

__version__ = "0.1.0"
__all__ = ["API_VERSION", "Spec", "TlzooError", "__version__", "adapt", "distill", "export", "hookimpl",
           "list_components", "load", "train", "tune"]


def list_components(kind: str | None = None) -> list[Spec]:
    """Specs of every registered component (of one kind if given), without building any."""
    from tlzoo.plugins import registry

    return registry().specs(kind)  # type: ignore[arg-type]


def train(task: str | None = None, **options: Any) -> TrainResult:
    """Fine-tune a backbone on a task; see ``tlzoo train --help`` for the options.

    ``train(output=DIR, resume=True)`` continues an interrupted run with its saved configuration.
    """
    from tlzoo.engine.run import train as _train

    return _train(task, **options)


def distill(teacher: str | None = None, student: str | None = None, **options: Any) -> TrainResult:
    """Train a smaller ``student`` (``"teacher:layers=3"`` or a backbone) on the outputs of the model in folder
    ``teacher``; ``unlabeled=[FILE, ...]``, ``temperature``, ``alpha`` and :func:`train`'s options (``train``,
    ``output``, ``epochs``...). The result is a folder like :func:`train`'s; see ``tlzoo distill --help``."""
    from tlzoo.distillation.run import distill as _distill

    return _distill(teacher, student, **options)


def adapt(backbone: str | None = None, corpus: Sequence[str] = (), **options: Any) -> TrainResult:
    """Continue pre-training ``backbone`` on unlabelled ``corpus`` files (or ``from_task=TASK, data=FILE``: the
    task's input text): masked LM for encoders, causal LM for decoders. ``output`` becomes a backbone folder
    for ``train(..., backbone=output)``; other options are :func:`train`'s. See ``tlzoo adapt --help``."""
    from tlzoo.adaptation.run import adapt as _adapt

    return _adapt(backbone, corpus, **options)


def tune(task: str | None = None, config: str | None = None, **options: Any) -> TuneResult:
    """Search :func:`train`'s options with Optuna: ``trials=N``, ``max_minutes`` (the search's time budget),
    ``trial_minutes``, ``space`` (a YAML file), ``resume``, ``keep_all``, ``prune_after`` and :func:`train`'s
    options (``train``, ``validation``, ``output``...), fixed for all trials. The best model is in ``OUTPUT/best``;
    see ``tlzoo tune --help``. Needs the ``tlzoo[tune]`` extra."""
    from tlzoo.tuning.study import tune as _tune

    return _tune(task, config, **options)


def load(path: str) -> Predictor:
    """Load a folder written by :func:`train`; the result has ``.predict()`` and ``.evaluate()``."""
    from tlzoo.engine.predictor import Predictor

    return Predictor.load(path)


def export(model_dir: str, output: str, **options: Any) -> ExportResult:
    """Export a folder written by :func:`train` to ONNX (``quantize="int8"`` or ``"none"``, ``data=`` a labelled
    file for metrics side by side); see ``tlzoo export --help``. Needs the ``tlzoo[export]`` extra."""
    from tlzoo.onnx_export.run import export as _export

    return _export(model_dir, output, **options)
