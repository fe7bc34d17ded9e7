"""Memory after training: the optimizer's state and the gradients are freed, and the freed heap goes back to the
system, before the final evaluation, plots and model writing run."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import tlzoo
from tlzoo.engine import evaluation
from tlzoo.engine.loop import FitLoop
from tlzoo.testing.toytask import NAME as TOY


def test_the_final_evaluation_runs_without_optimizer_state_or_gradients(toy_options: dict,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    loops: list[FitLoop] = []
    seen: list[tuple[int, int]] = []
    fit, evaluate_model = FitLoop.fit, evaluation.evaluate_model

    def captured(self: FitLoop) -> Any:
        loops.append(self)
        result = fit(self)
        assert len(self.optimizer.state) > 0  # trained: AdamW holds its moments until the loop is done
        return result

    def watched(*args: Any, **kwargs: Any) -> Any:
        if loops:  # the run's final evaluation (after fit)
            loop = loops[0]
            seen.append((len(loop.optimizer.state), sum(p.grad is not None for p in loop.unwrapped.parameters())))
        return evaluate_model(*args, **kwargs)

    monkeypatch.setattr(FitLoop, "fit", captured)
    monkeypatch.setattr(evaluation, "evaluate_model", watched)
    result = tlzoo.train(TOY, **toy_options)
    assert seen == [(0, 0)]
    assert "accuracy" in result.metrics["validation"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="malloc_trim is glibc's")
def test_release_heap_hands_freed_blocks_back_to_the_system() -> None:
    """Blocks below glibc's mmap threshold stay in the process when freed under a live block; the trim returns them."""
    code = """
import gc, torch
from tlzoo.engine.memory import release_heap
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
blocks = [torch.ones(16 * 1024) for _ in range(3000)]  # 64 KB each: about 190 MB on the heap
keep = torch.ones(16 * 1024)  # above them, so glibc cannot give the heap back on free alone
del blocks
gc.collect()
before = rss()
release_heap()
print(before - rss())
"""
    freed = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert freed > 100, f"release_heap returned {freed:.0f} MB of about 190 MB freed"
