"""A linear-chain CRF in plain torch: log-likelihood by the forward algorithm, Viterbi decoding.

Transitions the label scheme forbids (:func:`iob2_constraints`) get a score of minus infinity, in
training and in decoding, so Viterbi can only return sequences the scheme allows. Positions whose
label is unknown (``-100``: special tokens, continuation sub-tokens) are latent: the likelihood sums
over every label there, so the chain still runs over all real tokens and decoding needs no labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

IGNORE = -100


def iob2_constraints(labels: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(start_allowed[L], transition_allowed[L, L])``: an ``I-X`` may only follow ``B-X`` or ``I-X``."""
    size = len(labels)
    kinds = [label[2:] if label[:2] in ("B-", "I-") else None for label in labels]
    inside = [label.startswith("I-") for label in labels]
    start = torch.tensor([not inside[j] for j in range(size)])
    allowed = torch.ones(size, size, dtype=torch.bool)
    for j in range(size):
        if inside[j]:
            for i in range(size):
                allowed[i, j] = kinds[i] == kinds[j]
    return start, allowed


def is_valid_iob2(tags: Sequence[str]) -> bool:
    """True when every ``I-X`` continues a ``B-X`` or ``I-X`` of the same type."""
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            return False
        previous = tag
    return True


class LinearChainCrf(nn.Module):
    """Transition scores between labels (and from the start and to the end) over emission scores."""

    def __init__(self, labels: Sequence[str]) -> None:
        super().__init__()
        size = len(labels)
        self.transitions = nn.Parameter(torch.zeros(size, size))
        self.start = nn.Parameter(torch.zeros(size))
        self.end = nn.Parameter(torch.zeros(size))
        start_allowed, allowed = iob2_constraints(labels)
        self.register_buffer("start_mask", start_allowed, persistent=False)
        self.register_buffer("transition_mask", allowed, persistent=False)

    def _scores(self) -> tuple[torch.Tensor, torch.Tensor]:
        blocked = torch.finfo(self.transitions.dtype).min / 4  # finite: no NaN when a row is all blocked
        start = self.start.masked_fill(~self.start_mask, blocked)
        return start, self.transitions.masked_fill(~self.transition_mask, blocked)

    def _log_partition(self, emissions: torch.Tensor, mask: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """log of the summed scores of every path through the real positions; ``allowed[b, t, l]``
        says which labels a path may take at each position."""
        start, transitions = self._scores()
        blocked = torch.finfo(emissions.dtype).min / 4
        emissions = emissions.masked_fill(~allowed, blocked)
        alpha = start + emissions[:, 0]
        for t in range(1, emissions.size(1)):
            step = torch.logsumexp(alpha.unsqueeze(2) + transitions + emissions[:, t].unsqueeze(1), dim=1)
            alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)
        return torch.logsumexp(alpha + self.end, dim=1)

    def nll(self, emissions: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood of the labelled positions (``-100`` positions are latent).

        Rows must start with a real position (right padding), as tokenizers produce for training.
        """
        emissions = emissions.float()
        every = torch.ones_like(emissions, dtype=torch.bool)
        known = labels != IGNORE
        gold = torch.nn.functional.one_hot(labels.clamp(min=0), emissions.size(-1)).bool()
        consistent = torch.where(known.unsqueeze(-1), gold, every)
        return (self._log_partition(emissions, mask, every) - self._log_partition(emissions, mask, consistent)).mean()

    def decode(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The best label per position (Viterbi); padding positions repeat the last real label."""
        start, transitions = self._scores()
        emissions = emissions.float()
        score = start + emissions[:, 0]
        pointers = []
        for t in range(1, emissions.size(1)):
            best, index = (score.unsqueeze(2) + transitions).max(dim=1)
            real = mask[:, t].unsqueeze(1)
            score = torch.where(real, best + emissions[:, t], score)
            pointers.append(torch.where(real, index, torch.arange(score.size(1), device=score.device)))
        last = (score + self.end).argmax(dim=1)
        path = [last]
        for index in reversed(pointers):
            last = index.gather(1, last.unsqueeze(1)).squeeze(1)
            path.append(last)
        return torch.stack(path[::-1], dim=1)
