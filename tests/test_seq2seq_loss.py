"""The sequence-to-sequence training loss from the logits of the labelled positions only: the same value and
gradients as the model's own loss over full logits, with the output layer run on fewer rows."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from tlzoo.backbones.resolve import resolve_backbone
from tlzoo.seq2seq.loss import labelled_loss
from tlzoo.seq2seq.task import Seq2SeqTask

IGNORE = -100


def tiny_t5() -> Any:
    from transformers import T5Config, T5ForConditionalGeneration

    return T5ForConditionalGeneration(T5Config(vocab_size=64, d_model=16, d_kv=8, d_ff=32, num_layers=1,
                                               num_heads=2, pad_token_id=0, eos_token_id=1,
                                               decoder_start_token_id=0))


def model_and_batch(name: str) -> tuple[Any, dict[str, torch.Tensor]]:
    """A tiny model in eval mode (no dropout: both losses see the same activations) and a right-padded batch
    with labels -100 where there is no target: padding, and the prompt of a decoder LM."""
    torch.manual_seed(0)
    if name == "tiny-t5":
        model = tiny_t5()
    else:
        backbone = resolve_backbone(name)
        model = backbone.build_model("AutoModelForCausalLM" if backbone.kind == "decoder" else "AutoModelForSeq2SeqLM")
    model.eval()
    ids = torch.randint(5, 60, (3, 9))
    attention = torch.tensor([[1] * 9, [1] * 6 + [0] * 3, [1] * 4 + [0] * 5])
    ids = ids.masked_fill(attention.eq(0), 0)
    if model.config.is_encoder_decoder:
        labels = torch.randint(5, 60, (3, 7))
        labels[1, 5:], labels[2, 2:] = IGNORE, IGNORE
    else:  # prompt of 3, 2 and 1 tokens, then the target, then padding
        labels = ids.masked_fill(attention.eq(0), IGNORE)
        labels[0, :3], labels[1, :2], labels[2, :1] = IGNORE, IGNORE, IGNORE
    return model, {"input_ids": ids, "attention_mask": attention, "labels": labels}


def gradients(model: Any, loss: torch.Tensor) -> list[torch.Tensor]:
    model.zero_grad(set_to_none=True)
    loss.backward()
    return [p.grad.clone() for p in model.parameters() if p.grad is not None]


@pytest.mark.parametrize("name", ["tiny-bert+tiny-bert", "tiny-bart", "tiny-gpt", "tiny-t5"])
def test_loss_and_gradients_equal_the_models_own(name: str) -> None:
    model, batch = model_and_batch(name)
    ours, own = labelled_loss(model, batch), model(**batch).loss
    assert ours.item() == pytest.approx(own.item(), abs=1e-5)
    for mine, theirs in zip(gradients(model, ours), gradients(model, own), strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name", ["tiny-bert+tiny-bert", "tiny-gpt"])
def test_the_task_loss_runs_the_output_layer_on_the_labelled_positions_only(name: str) -> None:
    model, batch = model_and_batch(name)
    head = model.get_output_embeddings()
    seen: list[tuple[int, ...]] = []
    head.register_forward_hook(lambda _module, args, _output: seen.append(tuple(args[0].shape)))
    labels = batch["labels"]
    # An encoder-decoder's output at t predicts label t; a decoder LM's predicts the token after it.
    predicted = labels if model.config.is_encoder_decoder else labels[:, 1:]
    loss = Seq2SeqTask().loss(model, batch)
    assert loss.item() == pytest.approx(model(**batch).loss.item(), abs=1e-5)
    assert seen[0] == (int(predicted.ne(IGNORE).sum()), head.in_features)
    assert seen[0][0] < labels.numel()  # the full logits have a row per position of every row
    assert not head._forward_pre_hooks  # the gathering hook is gone after the call


def test_the_hook_is_removed_when_the_forward_fails() -> None:
    model, batch = model_and_batch("tiny-gpt")
    with pytest.raises(Exception, match="out of range|index"):
        labelled_loss(model, {**batch, "input_ids": batch["input_ids"] + 10_000})
    assert not model.get_output_embeddings()._forward_pre_hooks


def test_a_model_without_an_output_layer_keeps_its_own_loss(monkeypatch: pytest.MonkeyPatch) -> None:
    model, batch = model_and_batch("tiny-bart")
    monkeypatch.setattr(model, "get_output_embeddings", lambda: None)
    assert labelled_loss(model, batch).item() == pytest.approx(model(**batch).loss.item(), abs=1e-6)
