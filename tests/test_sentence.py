"""The shared sentence-encoder pieces: the losses match sentence-transformers' on the same embeddings, and one
forward pass over several groups of texts gives each text the vector a pass of its own gives."""

from __future__ import annotations

import pytest
import torch

from tlzoo.sentence.collate import GroupCollator
from tlzoo.sentence.losses import cosent_loss, cosine_similarity_loss, multiple_negatives_ranking_loss
from tlzoo.sentence.pooling import embed, embed_groups, pool


@pytest.fixture(scope="module")
def losses():  # noqa: ANN201
    module = pytest.importorskip("sentence_transformers.sentence_transformer.losses")
    return module


def test_losses_match_sentence_transformers(losses) -> None:  # noqa: ANN001
    generator = torch.Generator().manual_seed(0)
    a, b, c = (torch.randn(6, 8, generator=generator) for _ in range(3))
    scores = torch.tensor([0.1, 0.9, 0.5, 0.5, 0.0, 1.0])
    model = torch.nn.Module()  # the losses keep the model but these computations do not use it
    assert cosent_loss(a, b, scores) == pytest.approx(
        float(losses.CoSENTLoss(model).compute_loss_from_embeddings([a, b], scores)), rel=1e-5)
    assert cosine_similarity_loss(a, b, scores) == pytest.approx(
        float(losses.CosineSimilarityLoss(model).compute_loss_from_embeddings([a, b], scores)), rel=1e-5)
    reference = losses.MultipleNegativesRankingLoss(model)
    assert multiple_negatives_ranking_loss(a, b) == pytest.approx(
        float(reference.compute_loss_from_embeddings([a, b], None)), rel=1e-5)
    assert multiple_negatives_ranking_loss(a, b, c) == pytest.approx(
        float(reference.compute_loss_from_embeddings([a, b, c], None)), rel=1e-5)


def test_pooling_ignores_padding() -> None:
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 6.0], [100.0, -100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert pool(hidden, mask, "mean").tolist() == [[2.0, 4.0]]
    assert pool(hidden, mask, "max").tolist() == [[3.0, 6.0]]
    assert pool(hidden, mask, "cls").tolist() == [[1.0, 2.0]]


def test_one_pass_over_several_groups_gives_each_text_its_own_vector() -> None:
    from tlzoo.backbones.resolve import resolve_backbone

    backbone = resolve_backbone("tiny-bert")
    tokenizer, model = backbone.load_tokenizer(), backbone.build_model("AutoModel").eval()
    texts = [("a man", "a much longer sentence about a man who plays the guitar"), ("short", "x")]
    rows = [{**tokenizer(a), **{f"pair_{k}": v for k, v in tokenizer(b).items()}} for a, b in texts]
    batch = GroupCollator(tokenizer)(rows)
    with torch.no_grad():
        first, second = embed_groups(model, batch, ("", "pair_"))
        assert torch.allclose(first, embed(model, batch), atol=1e-6)
        assert torch.allclose(second, embed(model, batch, "pair_"), atol=1e-6)
