"""The engine's side of metrics: resolve a task's metrics and ``--metric`` names from the catalog, then
compute them all on one evaluation's predictions.

A task says what its predictions are (``metric_kind``, one of :data:`tlzoo.api.METRIC_INPUTS`) and
which metrics it reports by default (``metrics``); any catalog metric that consumes that kind may
be added by name. Each metric is built with the options its constructor takes from the task's
``metric_options(state)`` (e.g. ``labels``, ``scheme``, ``target_lang``) and called as
``compute(predictions, references)`` on the task's ``metric_inputs``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from tlzoo.api import Spec, TlzooError


def resolve_metrics(task: Any, extra: Sequence[str] = ()) -> list[Spec]:
    """The specs of the task's own metrics, then of ``extra``; a name that does not fit the task is an
    error listing the metrics that do."""
    from tlzoo.plugins import registry

    catalog = registry()
    kind = task.metric_kind
    specs: list[Spec] = []
    for name in dict.fromkeys([*task.metrics, *extra]):
        spec = catalog.get(name, "metric")
        consumes = spec.metadata.get("consumes")
        if consumes != kind:
            fitting = [s.name for s in catalog.specs("metric") if s.metadata.get("consumes") == kind]
            raise TlzooError(f"metric {name!r} scores {consumes or 'unknown'} predictions, but task {task.name!r} "
                             f"predicts a {kind} per example; metrics that fit: {', '.join(fitting) or '(none)'}")
        specs.append(spec)
    return specs


def build_metric(spec: Spec, options: Mapping[str, Any]) -> Any:
    """The metric, given those of ``options`` its constructor accepts (all of them with ``**kwargs``)."""
    factory = spec.load()
    parameters = inspect.signature(factory).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return factory(**options)
    names = {p.name for p in parameters}
    return factory(**{k: v for k, v in options.items() if k in names})


def compute_metrics(task: Any, specs: Sequence[Spec], predictions: Sequence[Any], references: Sequence[Any],
                    state: Mapping[str, Any]) -> dict[str, Any]:
    """Every metric's keys merged in order; a key two metrics report with different values is kept
    under ``NAME_key`` for the later one. The task's primary metric must be among the keys."""
    inputs, golds = task.metric_inputs(predictions, references, state)
    options = task.metric_options(state)
    result: dict[str, Any] = {}
    for spec in specs:
        for key, value in build_metric(spec, options).compute(inputs, golds).items():
            if key in result and result[key] != value:
                result[f"{spec.name}_{key}"] = value
            else:
                result[key] = value
    scored_later = ("loss", "perplexity") if task.evaluation_loss else ()  # added by the evaluation itself
    if task.primary_metric not in result and task.primary_metric not in scored_later:
        raise TlzooError(f"task {task.name!r}: its primary metric {task.primary_metric!r} is not among the keys of "
                         f"its metrics {', '.join(s.name for s in specs)} ({', '.join(result)})")
    result.update(task.evaluation_notes(state))
    return result
