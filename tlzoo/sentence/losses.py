"""The contrastive losses of sentence-transformers, on batches of embeddings.

- :func:`cosent_loss`: CoSENT (Su, 2022): every pair of pairs whose gold scores are ordered should have
  their cosines ordered the same way; a log-sum-exp over the violations, scale 20.
- :func:`cosine_similarity_loss`: mean squared error between the cosine and the gold score (SetFit's loss).
- :func:`multiple_negatives_ranking_loss`: each anchor's partner against every other partner in the batch
  (and any hard negatives) as negatives: cross-entropy over scaled cosines, scale 20.
"""

from __future__ import annotations

import torch
from torch.nn import functional

SCALE = 20.0


def cosine_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return functional.normalize(a, dim=-1) @ functional.normalize(b, dim=-1).T


def cosent_loss(a: torch.Tensor, b: torch.Tensor, scores: torch.Tensor, scale: float = SCALE) -> torch.Tensor:
    cosines = functional.cosine_similarity(a, b) * scale
    differences = cosines[None, :] - cosines[:, None]  # [i, j]: cos_j - cos_i, a violation when score_i > score_j
    ordered = scores[:, None] > scores[None, :]
    differences = differences - (~ordered).to(differences.dtype) * 1e12
    zero = torch.zeros(1, dtype=differences.dtype, device=differences.device)
    return torch.logsumexp(torch.cat([zero, differences.flatten()]), dim=0)


def cosine_similarity_loss(a: torch.Tensor, b: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    return functional.mse_loss(functional.cosine_similarity(a, b), scores.to(a.dtype))


def multiple_negatives_ranking_loss(anchors: torch.Tensor, positives: torch.Tensor,
                                    negatives: torch.Tensor | None = None, scale: float = SCALE) -> torch.Tensor:
    candidates = positives if negatives is None else torch.cat([positives, negatives])
    logits = cosine_matrix(anchors, candidates) * scale
    return functional.cross_entropy(logits, torch.arange(len(anchors), device=anchors.device))


LOSSES = {"cosent": cosent_loss, "cosine": cosine_similarity_loss}
"""The losses for scored pairs, by the name ``--loss`` takes."""
