"""Gradient clipping, folded into a fused AdamW where it can be.

``clip_grad_norm_`` makes two passes over every gradient: one for the total norm, one to multiply each gradient by
the clipping factor (by 1.0 when no clipping is needed). PyTorch's fused AdamW kernel already divides each gradient
by an optional ``grad_scale`` as it reads it (the hook ``torch.amp.GradScaler`` uses), so the factor can ride along
with the optimizer step: one pass over the gradients instead of two. On minilm-l6, whose 22.7M gradients are half
embeddings, that is about 13 -> 8 ms of a 136 ms fp32 training step on 2 CPU cores (docs/benchmarks.md, efficiency).
"""

from __future__ import annotations

from typing import Any

import torch
from accelerate.utils import DistributedType

PLAIN_GRADIENTS = (DistributedType.NO, DistributedType.MULTI_CPU, DistributedType.MULTI_GPU,
                   DistributedType.MULTI_XPU, DistributedType.MULTI_NPU, DistributedType.MULTI_MLU)
"""Setups whose gradients after ``backward`` are whole, plain tensors, the same on every process (DDP averages them
during backward): their norm is the global one. Sharded setups (FSDP, DeepSpeed) go through Accelerate."""


def foldable(accelerator: Any, optimizer: Any) -> bool:
    """Whether clipping can be handed to ``optimizer``'s step: a fused torch AdamW, unsharded gradients, no loss
    scaler (which sets ``grad_scale`` itself)."""
    inner = getattr(optimizer, "optimizer", optimizer)  # Accelerate wraps the torch optimizer
    return (isinstance(inner, torch.optim.AdamW) and all(group.get("fused") for group in inner.param_groups)
            and accelerator.distributed_type in PLAIN_GRADIENTS and getattr(accelerator, "scaler", None) is None)


def clip_in_step(optimizer: Any, max_norm: float) -> None:
    """Set the fused AdamW's ``grad_scale`` so that its next step uses the gradients clipped to ``max_norm``, as
    ``clip_grad_norm_`` would: divided by ``(norm + 1e-6) / max_norm`` when that is over 1, else by exactly 1.0
    (which leaves them bit for bit). The divisor stays a tensor, so no device synchronises here."""
    inner = getattr(optimizer, "optimizer", optimizer)
    grads = [p.grad for group in inner.param_groups for p in group["params"] if p.grad is not None]
    norm = torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())
    inner.grad_scale = torch.clamp((norm + 1e-6) / max_norm, min=1.0)
