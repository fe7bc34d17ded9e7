"""The ``entity-start`` head: the "entity start" representation of Baldini Soares et al. (2019), "Matching
the Blanks": the hidden states at the two opening entity markers, concatenated, then dropout and a
linear layer over the relation labels.

The marker token ids come from the task state (``marker_ids``, written by the ``relation-extraction``
task when it adds the markers to the tokenizer). A row without a marker reads position 0 there (the
``[CLS]`` state), which only happens when a marker was cut off or the input had no entities.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from tlzoo.api import TlzooError
from tlzoo.heads.layers import BodyHead, _dropout, sequence_loss


class _EntityStart(nn.Module):
    reads_input_ids = True

    def __init__(self, config: Any, marker_ids: Mapping[str, list[int]]) -> None:
        super().__init__()
        self.config = config
        self.dropout = nn.Dropout(_dropout(config))
        self.out = nn.Linear(2 * config.hidden_size, config.num_labels)
        for entity in ("e1", "e2"):  # rebuilt from the task state on load, so not saved with the weights
            self.register_buffer(f"{entity}_ids", torch.tensor(marker_ids[entity], dtype=torch.long), persistent=False)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor | None,
                input_ids: torch.Tensor) -> tuple:
        rows = torch.arange(hidden.size(0), device=hidden.device)
        starts = [hidden[rows, _first(input_ids, ids)] for ids in (self.e1_ids, self.e2_ids)]
        logits = self.out(self.dropout(torch.cat(starts, dim=-1)))
        return logits, None if labels is None else sequence_loss(logits, labels, self.config)


def _first(input_ids: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Per row, the position of the first token in ``ids`` (0 when there is none)."""
    return torch.isin(input_ids, ids).int().argmax(dim=1)


class EntityStartHead(BodyHead):
    name = "entity-start"

    def layer(self, config: Any, level: str, state: Mapping[str, Any]) -> nn.Module:
        if "marker_ids" not in state:
            raise TlzooError("the entity-start head reads the hidden states at entity markers, which this task does "
                             "not add; use it with relation-extraction, or choose another head")
        return _EntityStart(config, state["marker_ids"])
