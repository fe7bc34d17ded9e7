"""The distillation loss, generic over a task's declared outputs (:class:`tlzoo.task.Distillation`).

``alpha * task loss + (1 - alpha) * T**2 * KL(teacher_T || student_T)`` for each output named by the task,
averaged over the outputs. The task loss is the model's own (cross-entropy, binary cross-entropy or mean
squared error to the labels), over the labelled rows only: rows of unlabelled transfer text carry
only the teacher's outputs. For ``mse`` tasks (regression) the second term is the mean squared error to
the teacher's output, without temperature.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

IGNORE = -100
"""A label the task loss skips (tokens that carry no word label)."""
MASKED = -1e4
"""The logit given to padding when a distribution runs over a row's positions (QA start/end)."""


def kl_softmax(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """``KL(softmax(teacher / T) || softmax(student / T))`` over the last dimension, one value per distribution."""
    teacher_log = F.log_softmax(teacher / temperature, dim=-1)
    student_log = F.log_softmax(student / temperature, dim=-1)
    return (teacher_log.exp() * (teacher_log - student_log)).sum(-1)


def kl_binary(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Per element, the KL between the teacher's and the student's Bernoulli (sigmoid) at temperature T."""
    t, s = teacher / temperature, student / temperature
    p = torch.sigmoid(t)
    return p * (F.logsigmoid(t) - F.logsigmoid(s)) + (1 - p) * (F.logsigmoid(-t) - F.logsigmoid(-s))


def _mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    total = weights.sum()
    return (values * weights).sum() / total if total > 0 else values.sum() * 0.0


def output_loss(kind: str, level: str, student: torch.Tensor, teacher: torch.Tensor, labels: torch.Tensor | None,
                labelled: torch.Tensor, mask: torch.Tensor | None, temperature: float,
                alpha: float) -> torch.Tensor:
    """The loss of one output.

    ``student`` and ``teacher`` are ``[batch, classes]`` (``sequence``), ``[batch, tokens, classes]``
    (``token``) or ``[batch, tokens]`` (``position``); ``labelled`` is 1 for rows with labels, 0 for
    transfer text; ``mask`` is the per-token mask of ``token`` outputs (positions with a target) or the
    attention mask of ``position`` outputs (a distribution over the row's real tokens).
    """
    student = student.float()
    teacher = teacher.float().to(student.device)
    if level == "position" and mask is not None:
        keep = mask.bool()
        student = student.masked_fill(~keep, MASKED)
        teacher = teacher.masked_fill(~keep, MASKED)
    if kind == "mse":
        student = student.reshape(len(student), -1)
        teacher = teacher.reshape(len(teacher), -1)
        soft = ((student - teacher) ** 2).mean(-1)
    elif kind == "sigmoid":
        soft = kl_binary(student, teacher, temperature).mean(-1) * temperature ** 2
    else:
        soft = kl_softmax(student, teacher, temperature) * temperature ** 2
    soft_weights = mask.float() if level == "token" and mask is not None else torch.ones_like(soft)
    loss = (1 - alpha) * _mean(soft, soft_weights)
    if labels is None or alpha == 0:
        return loss
    rows = labelled.float().to(student.device)
    if kind == "mse":
        hard = ((student - labels.float().reshape(len(student), -1)) ** 2).mean(-1)
        hard_weights = rows
    elif kind == "sigmoid":
        hard = F.binary_cross_entropy_with_logits(student, labels.float(), reduction="none").mean(-1)
        hard_weights = rows
    elif level == "token":
        hard = F.cross_entropy(student.reshape(-1, student.shape[-1]), labels.reshape(-1), reduction="none",
                               ignore_index=IGNORE).reshape(labels.shape)
        hard_weights = rows[:, None] * (labels != IGNORE).float()
    else:
        hard = F.cross_entropy(student, labels.reshape(-1), reduction="none")
        hard_weights = rows
    return loss + alpha * _mean(hard, hard_weights)


def distillation_loss(kind: str, level: str, student: Sequence[torch.Tensor], teacher: Sequence[torch.Tensor],
                      labels: Sequence[torch.Tensor | None], labelled: torch.Tensor, mask: torch.Tensor | None,
                      temperature: float, alpha: float) -> torch.Tensor:
    """The mean of :func:`output_loss` over the task's outputs (QA: start and end)."""
    losses = [output_loss(kind, level, s, t, y, labelled, mask, temperature, alpha)
              for s, t, y in zip(student, teacher, labels, strict=True)]
    return torch.stack(losses).mean()


def batch_mask(level: str, batch: Mapping[str, torch.Tensor], token_mask: torch.Tensor | None) -> torch.Tensor | None:
    """The mask :func:`output_loss` takes for this level: the token targets, or the attention mask."""
    if level == "token":
        return token_mask
    if level == "position":
        return batch.get("attention_mask")
    return None
