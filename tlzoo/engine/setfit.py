"""``--strategy setfit``: few-shot classification as SetFit does it (Tunstall et al., 2022).

1. Contrastive phase: pairs are drawn from the labelled examples, for each example and each of
   ``setfit_iterations`` rounds one positive (an example of the same label) and one negative (an example of
   another label); the encoder (the model's body, mean pooling) is fine-tuned for one pass over them with
   the cosine-similarity loss (the cosine of a pair regressed on 1 or 0) at ``setfit_learning_rate``.
2. Head: the mean-pool head's output layer is fitted on the embeddings of the training examples, as a
   logistic regression (L-BFGS, L2 with C=1, like scikit-learn's default that SetFit uses).

The run then continues as ``--strategy freeze``: the training loop refines the head with the encoder
frozen, evaluates, and saves a normal classification folder (``mean-pool`` head).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import torch

from tlzoo.api import TlzooError
from tlzoo.engine.config import TrainConfig
from tlzoo.engine.progress import Progress
from tlzoo.engine.strategies import backbone_module
from tlzoo.sentence.collate import TEXT_FIELDS, GroupCollator
from tlzoo.sentence.losses import cosine_similarity_loss
from tlzoo.sentence.pooling import embed, embed_groups

WARMUP = 0.1
"""Fraction of the contrastive phase spent warming the learning rate up (SetFit's default)."""


def contrastive_pairs(labels: Sequence[int], iterations: int, seed: int) -> list[tuple[int, int, float]]:
    """``(i, j, 1.0)`` for a pair of the same label and ``(i, j, 0.0)`` for different labels: per round, per
    example, one of each; shuffled. A label with a single example pairs it with itself as its positive."""
    by_label: dict[int, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    if len(by_label) < 2:
        raise TlzooError("--strategy setfit needs examples of at least two labels in the training data")
    rng = random.Random(seed)
    pairs: list[tuple[int, int, float]] = []
    for _ in range(iterations):
        for index, label in enumerate(labels):
            others = [i for other, members in by_label.items() if other != label for i in members]
            pairs.append((index, rng.choice(by_label[label]), 1.0))
            pairs.append((index, rng.choice(others), 0.0))
    rng.shuffle(pairs)
    return pairs


def run_setfit(model: Any, features: Any, tokenizer: Any, config: TrainConfig, accelerator: Any) -> dict[str, Any]:
    """Both phases on ``model`` (a mean-pool head model), in place; returns what to log."""
    if accelerator.num_processes > 1:
        raise TlzooError("--strategy setfit runs on one process; start it without torchrun or accelerate launch")
    head = getattr(getattr(model, "head", None), "out", None)
    if not isinstance(head, torch.nn.Linear):
        raise TlzooError("--strategy setfit needs the mean-pool head (--head mean-pool)")
    labels = list(features["labels"])
    if not all(isinstance(label, int) for label in labels):
        raise TlzooError("--strategy setfit trains single-label classification (one label per example)")
    rows = features.select_columns([c for c in TEXT_FIELDS if c in features.column_names])[:]
    device = accelerator.device
    model.to(device)
    body = backbone_module(model)
    loss = _contrastive_phase(body, rows, labels, GroupCollator(tokenizer), config, device)
    accuracy = _fit_head(body, head, rows, labels, GroupCollator(tokenizer), config, device)
    return {"setfit_pairs": config.setfit_iterations * 2 * len(labels), "setfit_loss": loss,
            "setfit_head_train_accuracy": accuracy}


def _group(rows: dict[str, list], indices: Sequence[int], prefix: str = "") -> list[dict[str, Any]]:
    return [{prefix + name: values[i] for name, values in rows.items()} for i in indices]


def _contrastive_phase(body: Any, rows: dict[str, list], labels: list[int], collator: GroupCollator,
                       config: TrainConfig, device: Any) -> float:
    pairs = contrastive_pairs(labels, config.setfit_iterations, config.seed)
    size = config.batch_size
    steps = math.ceil(len(pairs) / size)
    optimizer = torch.optim.AdamW(body.parameters(), lr=config.setfit_learning_rate,
                                  weight_decay=config.weight_decay)
    warmup = max(1, math.ceil(WARMUP * steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: step / warmup if step < warmup else max(0.0, (steps - step) / max(1, steps - warmup)))
    progress = Progress(steps, "setfit pairs", config.quiet)
    body.train()
    total = 0.0
    for start in range(0, len(pairs), size):
        chunk = pairs[start:start + size]
        merged = [{**a, **b} for a, b in zip(_group(rows, [p[0] for p in chunk]),
                                             _group(rows, [p[1] for p in chunk], "pair_"))]
        batch = {k: v.to(device) for k, v in collator(merged).items()}
        scores = torch.tensor([p[2] for p in chunk], device=device)
        loss = cosine_similarity_loss(*embed_groups(body, batch, ("", "pair_")), scores)
        loss.backward()
        if config.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(body.parameters(), config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        value = loss.item()
        total += value
        progress.update(1, loss=f"{value:.4f}")
    progress.close()
    return round(total / steps, 6)


def _fit_head(body: Any, head: torch.nn.Linear, rows: dict[str, list], labels: list[int], collator: GroupCollator,
              config: TrainConfig, device: Any) -> float:
    """The head as a logistic regression on the frozen embeddings; returns its training accuracy."""
    body.eval()
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(labels), config.eval_batch_size):
            indices = range(start, min(start + config.eval_batch_size, len(labels)))
            batch = {k: v.to(device) for k, v in collator(_group(rows, indices)).items()}
            chunks.append(embed(body, batch).float())
    inputs = torch.cat(chunks).clone()
    gold = torch.tensor(labels, device=device)
    weight = torch.zeros_like(head.weight, dtype=torch.float32, requires_grad=True)
    bias = torch.zeros_like(head.bias, dtype=torch.float32, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=300, line_search_fn="strong_wolfe")
    penalty = 1.0 / (2 * len(labels))  # scikit-learn's 0.5 * |w|^2 / C against a sum of losses, C = 1, as a mean

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        value = torch.nn.functional.cross_entropy(inputs @ weight.T + bias, gold) + penalty * weight.pow(2).sum()
        value.backward()
        return value

    optimizer.step(closure)
    with torch.no_grad():
        head.weight.copy_(weight.to(head.weight.dtype))
        head.bias.copy_(bias.to(head.bias.dtype))
        accuracy = float(((inputs @ weight.T + bias).argmax(-1) == gold).float().mean())
    body.train()
    return round(accuracy, 4)
