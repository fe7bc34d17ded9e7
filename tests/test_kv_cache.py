"""The greedy loop's key/value cache (:mod:`tlzoo.seq2seq.kv_cache`): the keys and values of transformers' own
``DynamicLayer`` at every step, written in place into buffers allocated once."""

from __future__ import annotations

from typing import Any

import torch

from tlzoo.backbones.resolve import resolve_backbone


def states(rows: int, positions: int) -> tuple[Any, Any]:
    return torch.randn(rows, 2, positions, 4), torch.randn(rows, 2, positions, 4)


def test_a_reserved_layer_holds_what_a_dynamic_layer_holds_and_writes_in_place() -> None:
    from transformers.cache_utils import DynamicLayer

    from tlzoo.seq2seq.kv_cache import ReservedLayer

    torch.manual_seed(0)
    reserved, dynamic = ReservedLayer(reserve=4), DynamicLayer()
    buffers = []

    def update(rows: int, positions: int) -> None:
        new = states(rows, positions)
        got, expected = reserved.update(*new), dynamic.update(*new)
        assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))
        assert reserved.get_seq_length() == dynamic.get_seq_length()
        buffers.append(reserved.buffers[0].data_ptr())

    update(3, 5)  # a prompt of 5 positions: buffers for 5 + 4
    for _ in range(4):
        update(3, 1)  # decoding steps within the reserve: no new buffer
    assert len(set(buffers)) == 1 and reserved.buffers[0].shape[-2] == 9

    keep = torch.tensor([0, 2])  # a row ended: the rows left move to buffers with the same room
    reserved.batch_select_indices(keep)
    dynamic.batch_select_indices(keep)
    assert torch.equal(reserved.keys, dynamic.keys) and torch.equal(reserved.values, dynamic.values)
    assert reserved.buffers[0].shape == (2, 2, 9, 4)

    update(2, 1)  # past the reserve: new buffers, the same values
    assert reserved.buffers[0].shape[-2] == 10 + 4 and reserved.get_seq_length() == 10


def test_a_reserved_layer_follows_tensors_replaced_behind_it() -> None:
    """A beam reorder replaces the keys and values: the next update copies them into new buffers."""
    from transformers.cache_utils import DynamicLayer

    from tlzoo.seq2seq.kv_cache import ReservedLayer

    torch.manual_seed(0)
    reserved, dynamic = ReservedLayer(reserve=8), DynamicLayer()
    for layer in (reserved, dynamic):
        torch.manual_seed(1)
        layer.update(*states(2, 3))
        layer.reorder_cache(torch.tensor([1, 0]))
    new = states(2, 1)
    got, expected = reserved.update(*new), dynamic.update(*new)
    assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))


def test_only_a_decoder_lm_with_plain_full_attention_gets_the_reserved_cache() -> None:
    from transformers import MistralConfig

    from tlzoo.seq2seq.kv_cache import MAX_RESERVE, ReservedLayer, reserved_cache

    decoder = resolve_backbone("tiny-gpt").build_model("AutoModelForCausalLM")
    cache = reserved_cache(decoder, reserve=16)
    assert cache is not None and len(cache.layers) == decoder.config.n_layer
    assert all(isinstance(layer, ReservedLayer) and layer.reserve == 16 for layer in cache.layers)
    assert reserved_cache(decoder, reserve=4096).layers[0].reserve == MAX_RESERVE  # grows by steps, not at once

    encoder_decoder = resolve_backbone("tiny-bart").build_model("AutoModelForSeq2SeqLM")
    assert reserved_cache(encoder_decoder, reserve=16) is None  # its source is in the cross-attention cache

    class Sliding:  # a sliding-window decoder keeps transformers' own window layers
        config = MistralConfig(num_hidden_layers=2, sliding_window=8)

    assert reserved_cache(Sliding(), reserve=16) is None


def test_a_reserved_layer_put_together_from_groups_of_rows_holds_them_right_aligned_with_room_to_spare() -> None:
    """A prompt pass run in groups of rows (each padded to its own longest) is put together left-padded to the
    batch's longest: each group's positions last, zeros before them, the reserve after."""
    from transformers.cache_utils import DynamicLayer

    from tlzoo.seq2seq.kv_cache import ReservedLayer

    torch.manual_seed(0)
    groups = {(0, 3): states(2, 5), (1,): states(1, 2), (2,): states(1, 4)}
    reserved = ReservedLayer(reserve=3)
    for rows, new in groups.items():
        layer = DynamicLayer()
        layer.update(*new)
        reserved.place(torch.tensor(rows), layer, rows=4, length=5)
    assert reserved.get_seq_length() == 5 and reserved.buffers is not None
    assert reserved.buffers[0].shape == (4, 2, 5 + 3, 4)
    for rows, (keys, values) in groups.items():
        start = 5 - keys.shape[-2]
        assert torch.equal(reserved.keys[list(rows), :, start:], keys)
        assert torch.equal(reserved.values[list(rows), :, start:], values)
        assert not reserved.keys[list(rows), :, :start].any() and not reserved.values[list(rows), :, :start].any()
    held = reserved.buffers[0].data_ptr()
    step = states(4, 1)
    keys, _ = reserved.update(*step)  # the next decoding step writes in place, after the prompt
    assert reserved.buffers[0].data_ptr() == held and torch.equal(keys[:, :, 5:], step[0])
