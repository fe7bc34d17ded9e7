"""Training batches: length-grouped, the same for a seed and epoch, the longest first."""

from __future__ import annotations

import random

from tlzoo.engine.data import LengthGroupedBatches


def _lengths(n: int = 1000) -> list[int]:
    rng = random.Random(0)
    return [rng.randint(5, 400) for _ in range(n)]


def test_the_batch_holding_the_longest_example_comes_first_in_every_epoch() -> None:
    lengths = _lengths()
    batches = LengthGroupedBatches(lengths, batch_size=16, seed=42)
    for epoch in range(3):
        batches.set_epoch(epoch)
        order = batches.batches()
        assert max(lengths[i] for i in order[0]) == max(lengths)
        assert sorted(i for batch in order for i in batch) == list(range(len(lengths)))  # each example once


def test_batches_depend_on_the_seed_and_epoch_alone_and_are_grouped_by_length() -> None:
    lengths = _lengths()
    first, again = (LengthGroupedBatches(lengths, 16, seed=7) for _ in range(2))
    assert first.batches() == again.batches()
    first.set_epoch(1)
    assert first.batches() != again.batches()
    # grouping: the spread of lengths inside a batch is far below the spread of the data
    spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in again.batches()) / len(again)
    assert spread < 0.1 * (max(lengths) - min(lengths))


def test_ungrouped_batches_keep_their_order() -> None:
    lengths = _lengths(100)
    plain = LengthGroupedBatches(lengths, 10, seed=0, group=False, shuffle=False).batches()
    assert plain == [list(range(i, i + 10)) for i in range(0, 100, 10)]
