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
    columns = model_columns(model, features, task.feature_columns)
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
