"""The training loop's optimizer: AdamW on the fused kernel where the parameters allow it."""

from __future__ import annotations

import torch

from tlzoo.engine.strategies import adamw


def test_fused_on_float_parameters_with_the_per_tensor_result() -> None:
    torch.manual_seed(0)
    weights = [torch.randn(4, 3), torch.randn(3)]
    grads = [torch.randn_like(w) for w in weights]
    results = []
    for fused in (True, False):
        params = [torch.nn.Parameter(w.clone()) for w in weights]
        groups = [{"params": params[:1], "weight_decay": 0.01, "lr": 1e-2},
                  {"params": params[1:], "weight_decay": 0.0, "lr": 1e-2}]
        optimizer = adamw(groups) if fused else torch.optim.AdamW(groups, foreach=False)
        assert optimizer.defaults["fused"] is (True if fused else None)
        for _ in range(3):
            for param, grad in zip(params, grads, strict=True):
                param.grad = grad.clone()
            optimizer.step()
        results.append(params)
    for fused, loop in zip(*results, strict=True):
        torch.testing.assert_close(fused, loop)


def test_a_frozen_integer_weight_does_not_stop_the_fused_kernel() -> None:
    weight = torch.nn.Parameter(torch.randn(3))
    quantised = torch.nn.Parameter(torch.zeros(3, dtype=torch.int8), requires_grad=False)
    optimizer = adamw([{"params": [weight, quantised]}])
    weight.grad = torch.ones(3)
    optimizer.step()
    assert optimizer.defaults["fused"] and quantised.eq(0).all()


def test_other_devices_keep_the_default_implementation() -> None:
    optimizer = adamw([{"params": [torch.nn.Parameter(torch.randn(3, device="meta"))]}])
    assert optimizer.defaults["fused"] is None
