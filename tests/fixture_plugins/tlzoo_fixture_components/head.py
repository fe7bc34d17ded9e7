"""The fixture plugin's head, in a module of its own: it imports torch, which listing must not."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from tlzoo.heads.layers import BodyHead, sequence_loss


class _MaxPool(nn.Module):
    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config
        self.out = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor | None) -> Any:
        pooled = hidden.masked_fill(~mask.bool().unsqueeze(-1), torch.finfo(hidden.dtype).min).max(1).values
        logits = self.out(pooled)
        return logits, None if labels is None else sequence_loss(logits, labels, self.config)


class MaxPoolHead(BodyHead):
    """Max over the token states a mask keeps, then a linear layer: one output per text."""

    name = "max-pool"

    def layer(self, config: Any, level: str, state: Mapping[str, Any]) -> nn.Module:
        return _MaxPool(config)
