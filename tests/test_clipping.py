"""Gradient clipping folded into the fused AdamW step: the same update as ``clip_grad_norm_`` then the step."""

from __future__ import annotations

import pytest
import torch

import tlzoo
from tlzoo.engine import clipping
from tlzoo.engine.strategies import adamw
from tlzoo.testing.toytask import NAME as TOY


def _steps(fold: bool, grads: list[torch.Tensor], max_norm: float) -> tuple[list[torch.Tensor], list[bool]]:
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(64, 8)), torch.nn.Parameter(torch.randn(8))]
    optimizer = adamw([{"params": params[:1], "weight_decay": 0.01, "lr": 1e-2},
                       {"params": params[1:], "weight_decay": 0.0, "lr": 1e-2}])
    clipped = []
    for scale in (1.0, 30.0, 0.01):  # a step under the limit, one far over it, one under again
        for param, grad in zip(params, grads, strict=True):
            param.grad = grad * scale
        if fold:
            clipping.clip_in_step(optimizer, max_norm)
            clipped.append(float(optimizer.grad_scale) > 1)
        else:
            torch.nn.utils.clip_grad_norm_(params, max_norm)
        optimizer.step()
    return [p.detach().clone() for p in params], clipped


def test_folded_clipping_updates_as_clip_grad_norm_then_step() -> None:
    torch.manual_seed(1)
    grads = [torch.randn(64, 8) * 0.05, torch.randn(8) * 0.05]  # norm about 1.1
    max_norm = 2.0
    folded, clipped = _steps(True, grads, max_norm)
    reference, _ = _steps(False, grads, max_norm)
    assert clipped == [False, True, False]  # the condition under test held: one step clipped, two not
    for mine, theirs in zip(folded, reference, strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-6, atol=1e-7)


def test_unclipped_steps_are_bit_for_bit_those_of_clip_grad_norm_() -> None:
    grads = [torch.full((64, 8), 1e-3), torch.full((8,), 1e-3)]
    folded, clipped = _steps(True, [g / 30 for g in grads], 1.0)
    reference, _ = _steps(False, [g / 30 for g in grads], 1.0)
    assert clipped == [False, False, False]
    assert all(torch.equal(mine, theirs) for mine, theirs in zip(folded, reference, strict=True))


def test_only_a_fused_adamw_on_whole_gradients_takes_the_fold() -> None:
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True)
    param = torch.nn.Parameter(torch.randn(3))
    assert clipping.foldable(accelerator, adamw([{"params": [param]}]))
    assert not clipping.foldable(accelerator, torch.optim.AdamW([param], foreach=True))
    assert not clipping.foldable(accelerator, torch.optim.SGD([param], lr=0.1))


def test_training_clips_in_the_optimizer_step(toy_options: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real training run (one process, fused AdamW) clips through the fold, not through Accelerate's second
    pass, and still learns."""
    from accelerate import Accelerator

    folded, accelerate_clips = [], []
    real = clipping.clip_in_step
    monkeypatch.setattr(clipping, "clip_in_step", lambda *a: folded.append(1) or real(*a))
    monkeypatch.setattr(Accelerator, "clip_grad_norm_", lambda *a, **k: accelerate_clips.append(1))
    result = tlzoo.train(TOY, **{**toy_options, "max_grad_norm": 1.0})
    assert len(folded) == toy_options["max_steps"] and not accelerate_clips
    losses = [r["loss"] for r in result.history if r.get("event") == "train"]
    assert losses[-1] < losses[0]
