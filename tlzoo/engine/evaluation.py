"""Scoring an evaluation set: forward, post-process, metrics. One path for the evaluations while training,
the final pass over each split, and ``tlzoo evaluate``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlzoo.engine.inference import mean_loss, run_forward
from tlzoo.metrics.compute import compute_metrics, resolve_metrics
from tlzoo.task import ForwardContext


@dataclass
class EvalSet:
    examples: Any
    features: Any
    path: str
    loss_features: Any = None
    """The examples preprocessed as for training (with labels), for tasks that score the loss
    (:attr:`tlzoo.task.BaseTask.evaluation_loss`)."""


def evaluate_model(task: Any, model: Any, evaluation: EvalSet, collator: Any, context: ForwardContext,
                   state: dict, batch_size: int, accelerator: Any = None, calibrate: bool = False,
                   artifacts: Path | None = None, device: Any = None,
                   outputs: list[Any] | None = None, metrics: Sequence[str] = ()) -> dict[str, Any]:
    """Forward, post-process and score an evaluation set with the task's metrics and ``metrics``
    (extra catalog names, ``--metric``).

    ``outputs`` are the forward outputs of this model on this set when already computed (the loop's
    evaluation of the checkpoint that became the final model), so the set is not forwarded again.
    With ``calibrate`` the task first tunes ``state`` (updated in place) on these outputs; with
    ``artifacts`` it may write extra files (plots) into that folder.
    """
    if outputs is None:
        outputs = run_forward(task, model, evaluation.features, collator, batch_size, context, accelerator, device)
    if calibrate:
        state.update(task.calibrate(outputs, evaluation.features, evaluation.examples, state))
    predictions = task.postprocess(outputs, evaluation.features, evaluation.examples, state)
    references = task.references(evaluation.examples, state)
    scores = compute_metrics(task, resolve_metrics(task, metrics), predictions, references, state)
    if evaluation.loss_features is not None:
        loss = mean_loss(task, model, evaluation.loss_features, collator, batch_size, accelerator, device)
        scores.update(loss=loss, perplexity=math.exp(min(loss, 700.0)))
    if artifacts is not None and (accelerator is None or accelerator.is_main_process):
        task.write_artifacts(predictions, references, state, str(artifacts))
    return scores
