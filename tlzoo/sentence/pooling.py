"""One vector per text from a transformer's token states, as sentence-transformers' ``Pooling`` computes it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

POOLINGS = ("mean", "cls", "max")
"""``mean``: mean of the non-padding token states (all-MiniLM-L6-v2 was trained with it); ``cls``: the first
token's state; ``max``: the element-wise maximum over the non-padding tokens."""


def pool(hidden: torch.Tensor, mask: torch.Tensor, mode: str = "mean") -> torch.Tensor:
    """``hidden`` (batch, tokens, size) and ``mask`` (batch, tokens) to (batch, size)."""
    if mode == "cls":
        return hidden[:, 0]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    if mode == "max":
        return hidden.masked_fill(weights == 0, torch.finfo(hidden.dtype).min).max(1).values
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def embed(encoder: Any, batch: Mapping[str, torch.Tensor], prefix: str = "", mode: str = "mean") -> torch.Tensor:
    """The pooled embeddings of the texts under ``prefix`` in ``batch`` (``""``: ``input_ids``...; ``"pair_"``:
    ``pair_input_ids``...), through ``encoder`` (a transformers base model, possibly wrapped by DDP)."""
    inputs = {name: batch[prefix + name] for name in ("input_ids", "attention_mask", "token_type_ids")
              if prefix + name in batch}
    hidden = encoder(**inputs).last_hidden_state
    return pool(hidden, inputs["attention_mask"], mode)


def embed_groups(encoder: Any, batch: Mapping[str, torch.Tensor], prefixes: Sequence[str],
                 mode: str = "mean") -> list[torch.Tensor]:
    """Like :func:`embed` for each prefix, in one forward pass: the groups are padded to one width (the padding
    is masked, so each text's vector is what a pass of its own gives) and stacked. One larger batch keeps the
    matrix products bigger, which is faster than a pass per group, on CPUs above all."""
    groups = [{name: batch[prefix + name] for name in ("input_ids", "attention_mask", "token_type_ids")
               if prefix + name in batch} for prefix in prefixes]
    width = max(group["input_ids"].shape[1] for group in groups)
    merged = {name: torch.cat([torch.nn.functional.pad(group[name], (0, width - group[name].shape[1]))
                               for group in groups]) for name in groups[0]}
    pooled = pool(encoder(**merged).last_hidden_state, merged["attention_mask"], mode)
    return list(pooled.split([len(group["input_ids"]) for group in groups]))
