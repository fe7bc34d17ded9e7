"""The task as the training loop sees it while a student learns: the task's own steps, but a loss that
reads the teacher's outputs from the batch (:mod:`tlzoo.distillation.loss`) and a collator that pads them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from tlzoo.distillation.loss import batch_mask, distillation_loss
from tlzoo.distillation.teacher import LABELLED, MASK, teacher_column


class TeacherCollator:
    """The task's collator for the model's columns; the teacher's outputs (and masks) padded alongside.

    Per-token values (``per_token`` columns) are placed at the row's real tokens (where the attention mask
    is 1), so they line up whichever side the task's collator pads on; the others are stacked.
    """

    def __init__(self, inner: Any, columns: tuple[str, ...], per_token: tuple[str, ...]) -> None:
        self.inner, self.columns, self.per_token = inner, columns, per_token

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        extra = {c: [row.pop(c) for row in rows] for c in self.columns if rows and c in rows[0]}
        batch = dict(self.inner(rows))
        for name, values in extra.items():
            if name not in self.per_token:
                batch[name] = torch.tensor(values)
                continue
            keep = batch["attention_mask"].bool()
            tail = tuple(torch.as_tensor(values[0]).shape[1:])
            padded = torch.zeros((*keep.shape, *tail), dtype=torch.long if name == MASK else torch.float32)
            for i, row in enumerate(values):
                padded[i][keep[i]] = torch.as_tensor(row, dtype=padded.dtype)
            batch[name] = padded
        return batch


class DistillingTask:
    """``task`` with the distillation loss; every other attribute is the task's."""

    def __init__(self, task: Any, temperature: float, alpha: float) -> None:
        self.task, self.temperature, self.alpha = task, temperature, alpha
        spec = task.distillation
        self.spec = spec
        self.teacher_columns = tuple(teacher_column(o) for o in spec.outputs)
        self.loss_columns = (*self.teacher_columns, LABELLED, *((MASK,) if spec.level == "token" else ()))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.task, name)

    @property
    def feature_columns(self) -> tuple[str, ...]:
        """The task's own extra columns and the teacher's outputs, which the loss reads from the batch."""
        return (*self.task.feature_columns, *self.loss_columns)

    def collator(self, tokenizer: Any, model: Any) -> TeacherCollator:
        per_token = () if self.spec.level == "sequence" else (*self.teacher_columns, MASK)
        return TeacherCollator(self.task.collator(tokenizer, model), self.loss_columns, per_token)

    def loss(self, model: Any, batch: Mapping[str, Any]) -> torch.Tensor:
        spec = self.spec
        skip = set(self.loss_columns) | set(spec.labels)
        output = model(**{k: v for k, v in batch.items() if k not in skip})
        student = [getattr(output, name) for name in spec.outputs]
        teacher = [batch[c] for c in self.teacher_columns]
        labels = [batch.get(name) for name in spec.labels]
        labelled = batch[LABELLED]
        mask = batch_mask(spec.level, batch, batch.get(MASK))
        return distillation_loss(spec.kind, spec.level, student, teacher, labels, labelled, mask,
                                 self.temperature, self.alpha)
