"""Batched, length-sorted forward passes under ``torch.inference_mode`` (evaluation and prediction)."""

from __future__ import annotations

from collections.abc import Iterator
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
    outputs: list[tuple[int, Any]] = []
    for batch_indices, batch in _batches(task, model, features, collator, batch_size, accelerator, device):
        with accelerator.autocast() if accelerator else nullcontext():
            results = task.forward(model, batch, context)
        outputs.extend(zip(batch_indices, results))
    if accelerator and accelerator.num_processes > 1:
        from accelerate.utils import gather_object

        outputs = gather_object(outputs)
    ordered: list[Any] = [None] * len(features)
    for index, value in outputs:
        ordered[index] = value
    return ordered


def mean_loss(task: Any, model: Any, features: Any, collator: Any, batch_size: int, accelerator: Any = None,
              device: Any = None) -> float:
    """``task.loss`` over labelled ``features``, averaged over label tokens (each batch's mean loss weighted by its
    tokens other than -100); under several processes each takes its share of rows and the sums are gathered."""
    total, tokens = 0.0, 0
    for _, batch in _batches(task, model, features, collator, batch_size, accelerator, device):
        count = int(batch["labels"].ne(-100).sum())
        with accelerator.autocast() if accelerator else nullcontext():
            total += float(task.loss(model, batch)) * count
        tokens += count
    if accelerator and accelerator.num_processes > 1:
        from accelerate.utils import gather_object

        parts = gather_object([(total, tokens)])
        total, tokens = sum(p[0] for p in parts), sum(p[1] for p in parts)
    return total / max(tokens, 1)


def _batches(task: Any, model: Any, features: Any, collator: Any, batch_size: int, accelerator: Any,
             device: Any) -> Iterator[tuple[list[int], dict[str, Any]]]:
    """This process's length-sorted batches of ``features`` (row indices, collated tensors on the device), with the
    model in eval mode and under ``torch.inference_mode`` while they are used."""
    rank = accelerator.process_index if accelerator else 0
    world = accelerator.num_processes if accelerator else 1
    device = accelerator.device if accelerator else (device or torch.device("cpu"))
    columns = model_columns(model, features, task.feature_columns)
    inputs = features.select_columns(columns)
    lengths = feature_lengths(features, task.length_column)
    was_training = model.training
    if was_training:  # eval() walks every module: milliseconds a call, which a served request would pay
        model.eval()
    try:
        with torch.inference_mode():
            for batch_indices in inference_batches(lengths, batch_size, rank, world):
                rows = inputs[batch_indices]
                batch = collator([{c: rows[c][i] for c in columns} for i in range(len(batch_indices))])
                yield batch_indices, {k: v.to(device) if hasattr(v, "to") else v for k, v in batch.items()}
    finally:
        if was_training:
            model.train()
