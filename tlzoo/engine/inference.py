"""Batched, length-sorted forward passes under ``torch.inference_mode`` (evaluation and prediction)."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import torch

from tlzoo.engine.data import feature_lengths, inference_batches, model_columns
from tlzoo.task import ForwardContext


def run_forward(task: Any, model: Any, features: Any, collator: Any, batch_size: int,
                context: ForwardContext, accelerator: Any = None, device: Any = None) -> list[Any]:
    """Outputs of ``task.forward`` for every feature row, in the rows' original order.

    Under several processes each takes every world-th row; results are gathered on all ranks.
    """
    rank = accelerator.process_index if accelerator else 0
    world = accelerator.num_processes if accelerator else 1
    device = accelerator.device if accelerator else (device or torch.device("cpu"))
    columns = model_columns(model, features)
    inputs = features.select_columns(columns)
    lengths = feature_lengths(features, task.length_column)
    outputs: list[tuple[int, Any]] = []
    was_training = model.training
    if was_training:  # eval() walks every module: milliseconds a call, which a served request would pay
        model.eval()
    with torch.inference_mode():
        for batch_indices in inference_batches(lengths, batch_size, rank, world):
            rows = inputs[batch_indices]
            batch = collator([{c: rows[c][i] for c in columns} for i in range(len(batch_indices))])
            batch = {k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()}
            with accelerator.autocast() if accelerator else nullcontext():
                results = task.forward(model, batch, context)
            outputs.extend(zip(batch_indices, results))
    if was_training:
        model.train()
    if world > 1:
        from accelerate.utils import gather_object

        outputs = gather_object(outputs)
    ordered: list[Any] = [None] * len(lengths)
    for index, value in outputs:
        ordered[index] = value
    return ordered


def mean_loss(task: Any, model: Any, features: Any, collator: Any, batch_size: int, accelerator: Any = None,
              device: Any = None) -> float:
    """``task.loss`` over labelled ``features``, averaged over label tokens (each batch's mean loss weighted by its
    tokens other than -100), under ``torch.inference_mode``; under several processes each takes its share of rows."""
    rank = accelerator.process_index if accelerator else 0
    world = accelerator.num_processes if accelerator else 1
    device = accelerator.device if accelerator else (device or torch.device("cpu"))
    columns = model_columns(model, features)
    inputs = features.select_columns(columns)
    total, tokens = 0.0, 0
    was_training = model.training
    if was_training:
        model.eval()
    with torch.inference_mode():
        for batch_indices in inference_batches(feature_lengths(features, task.length_column), batch_size, rank, world):
            rows = inputs[batch_indices]
            batch = collator([{c: rows[c][i] for c in columns} for i in range(len(batch_indices))])
            batch = {k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()}
            count = int(batch["labels"].ne(-100).sum())
            with accelerator.autocast() if accelerator else nullcontext():
                total += float(task.loss(model, batch)) * count
            tokens += count
    if was_training:
        model.train()
    if world > 1:
        from accelerate.utils import gather_object

        parts = gather_object([(total, tokens)])
        total, tokens = sum(p[0] for p in parts), sum(p[1] for p in parts)
    return total / max(tokens, 1)
