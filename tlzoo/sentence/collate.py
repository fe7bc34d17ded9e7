"""Padding a batch of feature rows that hold several texts each (a text, its pair, a hard negative)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

TEXT_FIELDS = ("input_ids", "attention_mask", "token_type_ids")
PREFIXES = ("", "pair_", "negative_")
"""Feature columns of the first text (``input_ids``...), its pair (``pair_input_ids``...) and a hard negative
(``negative_input_ids``...)."""


def feature_columns() -> tuple[str, ...]:
    """Every text column of every group, for ``BaseTask.feature_columns``."""
    return tuple(prefix + name for prefix in PREFIXES for name in TEXT_FIELDS)


class GroupCollator:
    """Pads each group of texts on its own (a batch of pairs holds two padded tensors of their own lengths);
    ``labels`` become a float tensor. Rows missing a group (prediction inputs without a pair) leave it out."""

    def __init__(self, tokenizer: Any, flags: Sequence[str] = ()) -> None:
        self.tokenizer = tokenizer
        self.flags = tuple(flags)
        """Boolean columns passed through as tensors (e.g. which rows have a pair)."""

    def __call__(self, rows: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch: dict[str, torch.Tensor] = {}
        for prefix in PREFIXES:
            if not rows or rows[0].get(prefix + "input_ids") is None:
                continue
            group = [{name: row[prefix + name] for name in TEXT_FIELDS if row.get(prefix + name) is not None}
                     for row in rows]
            padded = self.tokenizer.pad(group, return_tensors="pt")
            batch.update({prefix + name: value for name, value in padded.items()})
        for name in self.flags:
            if rows and rows[0].get(name) is not None:
                batch[name] = torch.tensor([bool(row[name]) for row in rows])
        if rows and rows[0].get("labels") is not None:
            batch["labels"] = torch.tensor([float(row["labels"]) for row in rows])
        return batch
