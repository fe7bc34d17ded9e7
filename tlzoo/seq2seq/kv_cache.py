"""A key/value cache with room reserved for the tokens still to come, so that a decoding step does not copy it.

transformers' ``DynamicLayer`` grows by ``torch.cat`` at every step: each layer's keys and values are copied whole,
into freshly allocated memory, once per generated token. On a CPU, where a decoding step is bound by memory traffic,
that copy is a large part of the step once prompts are long: SmolLM2-135M summarising 32 SciTLDR abstracts (prompts
of 208 tokens on average, up to 350 cached positions in each of 30 layers, batches of 16, one thread) took 36.6 s
with it and 32.3 s without it, for the same summaries (docs/benchmarks.md, generation speed).

:class:`ReservedLayer` allocates each layer's keys and values once, with room for the positions the greedy loop can
still add (it knows its token limit), writes each new position in place and hands attention a view of the positions
written so far: the same values, so the same outputs. A prompt pass run in groups of rows (each group padded to its
own longest prompt) is written into it group by group, left-padded to the batch's longest (:func:`place`).
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import Cache, DynamicCache, DynamicLayer


class ReservedLayer(DynamicLayer):
    """A ``DynamicLayer`` whose keys and values are the filled part of buffers with ``reserve`` positions to spare
    after each allocation. Anything that replaces the tensors (a beam reorder, a repeat, a reset) is followed: the
    next update copies them into new buffers."""

    def __init__(self, reserve: int) -> None:
        super().__init__()
        self.reserve = reserve
        self.buffers: tuple[torch.Tensor, torch.Tensor] | None = None

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any,
               **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        length = self.get_seq_length()
        needed = length + key_states.shape[-2]
        if not self._has_room(key_states.shape[0], needed):
            filled = (self.keys, self.values)
            self.buffers = (_empty(key_states, needed + self.reserve), _empty(value_states, needed + self.reserve))
            if length:
                self._write(filled, 0)
        self.keys, self.values = self._write((key_states, value_states), length)
        return self.keys, self.values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        """Keep the rows ``indices``, in buffers with the same spare room (so that the next update writes in
        place); only the filled positions are copied."""
        length = self.get_seq_length()
        if length == 0 or not self._has_room(self.keys.shape[0], length):
            super().batch_select_indices(indices)
            return
        kept = (self.keys[indices], self.values[indices])
        self.buffers = (torch.empty_like(self.buffers[0][:len(indices)]),
                        torch.empty_like(self.buffers[1][:len(indices)]))
        self.keys, self.values = self._write(kept, 0)

    def place(self, index: torch.Tensor, part: DynamicLayer, rows: int, length: int) -> None:
        """Write one group's prompt pass into this layer, which holds ``rows`` rows of ``length`` positions once
        every group is placed: ``part``, the layer of the group's own forward, holds the last positions of the rows
        ``index`` (left-padded prompts). The positions before them are the rows' padding, which attention masks
        out; they are zeros, not uninitialised memory, because a masked-out NaN would still poison the sum."""
        if self.buffers is None:
            self.lazy_initialization(part.keys, part.values)
            self.buffers = (_empty(part.keys, length + self.reserve, rows),
                            _empty(part.values, length + self.reserve, rows))
        start = length - part.keys.shape[-2]
        for buffer, states in zip(self.buffers, (part.keys, part.values), strict=True):
            buffer[index, :, :start] = 0
            buffer[index, :, start:length] = states
        self.keys, self.values = self.buffers[0][..., :length, :], self.buffers[1][..., :length, :]

    def _has_room(self, rows: int, positions: int) -> bool:
        """Whether the buffers still hold ``self.keys``, for ``rows`` rows, with room for ``positions``."""
        if self.buffers is None:
            return False
        keys = self.buffers[0]
        held = self.keys.numel() == 0 or self.keys.data_ptr() == keys.data_ptr()
        return held and keys.shape[0] == rows and keys.shape[-2] >= positions

    def _write(self, states: tuple[torch.Tensor, torch.Tensor], start: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Write ``states`` into the buffers from position ``start``; the buffers' filled part, up to their end."""
        assert self.buffers is not None
        keys, values = self.buffers
        end = start + states[0].shape[-2]
        keys[..., start:end, :], values[..., start:end, :] = states
        return keys[..., :end, :], values[..., :end, :]


def _empty(states: torch.Tensor, positions: int, rows: int | None = None) -> torch.Tensor:
    """An uninitialised buffer like ``states`` (batch, heads, positions, head size) with ``positions`` positions
    (and ``rows`` rows, if given)."""
    return states.new_empty((states.shape[0] if rows is None else rows, states.shape[1], positions, states.shape[-1]))


MAX_RESERVE = 256
"""The most positions a layer reserves at a time: a large token limit costs one copy of the cache every 256 tokens,
not memory for all of them from the first step (on a GPU, which reserves what it allocates)."""


def reserved_cache(model: Any, reserve: int) -> Cache | None:
    """An empty cache for a decoder LM whose layers are :class:`ReservedLayer` s with room for ``reserve`` more
    positions (at most :data:`MAX_RESERVE`); ``None`` (the model then builds its own) for an encoder-decoder, or
    when a layer is not plain full attention (sliding windows, linear attention...).

    Only a decoder LM's cache holds its prompt, hundreds of positions from the first step, which the
    ``torch.cat`` copies over and over. An encoder-decoder's source sits in its cross-attention cache, written once;
    its self-attention cache holds only the few tokens written so far, cheap to copy, and mostly spare room in a
    reserved buffer, which slows attention over it (BERT2BERT translation: 5% slower)."""
    if model.config.is_encoder_decoder:
        return None
    cache = DynamicCache(config=model.config)
    if not cache.layers or any(type(layer) is not DynamicLayer for layer in cache.layers):
        return None
    cache.layers = [ReservedLayer(min(reserve, MAX_RESERVE)) for _ in cache.layers]
    return cache


def place(cache: Cache, index: torch.Tensor, part: Cache, rows: int, length: int) -> None:
    """Write a group of rows' prompt pass into a reserved ``cache`` (from :func:`reserved_cache`), empty before
    the first group: ``part`` is the cache of the group's own forward (see :meth:`ReservedLayer.place`)."""
    for layer, group_layer in zip(cache.layers, part.layers, strict=True):
        layer.place(index, group_layer, rows, length)
