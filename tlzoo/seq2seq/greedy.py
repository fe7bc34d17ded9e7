"""Greedy decoding for evaluation and prediction: the tokens ``model.generate`` would write, at less cost.

``model.generate`` keeps every row of a batch in every step until the last row ends, so a batch costs as many
steps of its full width as its longest output has tokens. Here a row leaves the batch (its inputs and its slice of
the key/value cache) at the step it ends, at its end token, at a stop string or at the token limit: the rows still
writing stop paying for the finished ones, and large batches (which amortise reading the weights at each step, the
main cost of a step on a CPU) no longer cost their longest row's length times their width. The prompt pass (a decoder
LM's prompts, an encoder's sources) runs in groups of rows of similar length (:func:`prompt_groups`), so that a wide
batch's decoding steps do not cost its prompts padding to the longest.

The steps are ``model.generate``'s own: the model's ``prepare_inputs_for_generation``, positions from the attention
mask for left-padded decoder prompts, the cache on (a decoder LM's with its room reserved, so that a step does not
copy it: :mod:`tlzoo.seq2seq.kv_cache`), the logits of the last position only, and argmax. Only plain
greedy search qualifies (:func:`applies`); anything that changes the scores or the search (beams, sampling,
repetition penalties, forced tokens from the model's generation config...) goes to ``model.generate``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from transformers.modeling_outputs import BaseModelOutput

from tlzoo.seq2seq.kv_cache import place, reserved_cache

NEUTRAL_SETTINGS = frozenset({
    "max_new_tokens", "max_length", "num_beams", "do_sample", "temperature", "top_k", "top_p", "min_p", "typical_p",
    "length_penalty", "early_stopping", "use_cache", "output_attentions", "output_hidden_states", "output_scores",
    "output_logits", "return_dict_in_generate", "bos_token_id", "eos_token_id", "pad_token_id",
    "decoder_start_token_id", "transformers_version", "_from_model_config"})
"""Generation-config settings that cannot change a greedy search's tokens: the search, the sampling settings that
greedy ignores, what is returned, and the special tokens (the end tokens are read here)."""

CALL_SETTINGS = frozenset({"max_new_tokens", "num_beams", "do_sample", "eos_token_id", "pad_token_id"})
"""The ``model.generate`` keyword arguments :func:`generate` understands."""

StopCheck = Callable[[list[int]], bool]
"""Whether a row's generated tokens (so far) hold a stop string: the row then ends."""

PROMPT_PASS_TOKENS = 1024
"""Real tokens in one forward of a batch's prompt pass (see :func:`prompt_groups`)."""


def applies(model: Any, kwargs: dict[str, Any]) -> bool:
    """Whether :func:`generate` writes what ``model.generate(**kwargs)`` would: greedy search, with no setting of
    the call or of the model's generation config that changes the scores."""
    if set(kwargs) - CALL_SETTINGS or kwargs.get("num_beams", 1) != 1 or kwargs.get("do_sample"):
        return False
    peft = getattr(model, "active_peft_config", None)
    if peft is not None and getattr(peft, "is_prompt_learning", False):  # virtual tokens: generate() adds them
        return False
    return not set(model.generation_config.to_diff_dict()) - NEUTRAL_SETTINGS


def end_tokens(model: Any, kwargs: dict[str, Any]) -> set[int]:
    ends = kwargs.get("eos_token_id", model.generation_config.eos_token_id)
    return set() if ends is None else {int(ends)} if isinstance(ends, int) else {int(e) for e in ends}


def prompt_groups(attention_mask: torch.Tensor, tokens: int) -> list[tuple[torch.Tensor, slice]]:
    """The rows of a padded batch grouped for its prompt pass (a decoder LM's prompts, an encoder's sources), each
    with the columns its rows fill: by length, longest first, a group closed once it holds ``tokens`` real tokens.

    The whole batch pads to its longest row; a group pads only to its own. A group of about a thousand tokens
    still multiplies enough rows at a time that reading the weights does not dominate its forward; the decoding
    steps that follow run over the whole batch, whose width amortises those reads. SmolLM2 summarising 32
    SciTLDR abstracts on one thread, the same summaries: 33.8 s in two batches of 16 with one prompt pass each,
    29.8 s with groups, 24.7 s in one batch of 32 with groups (docs/benchmarks.md, generation speed)."""
    lengths = attention_mask.sum(-1).tolist()
    groups: list[list[int]] = [[]]
    filled = 0
    for row in sorted(range(len(lengths)), key=lambda row: -lengths[row]):
        if filled >= tokens and lengths[row]:  # an empty row joins the last group: a group has columns to run
            groups.append([])
            filled = 0
        groups[-1].append(row)
        filled += lengths[row]
    spans = []
    for rows in groups:
        index = torch.tensor(rows, device=attention_mask.device)
        columns = attention_mask[index].any(0).nonzero()
        spans.append((index, slice(int(columns[0]), int(columns[-1]) + 1)))
    return spans


def generate(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, kwargs: dict[str, Any],
             stopped: StopCheck | None = None) -> list[list[int]]:
    """Each row's generated token ids, ending with the token that ended it (an end token, the token that completed
    a stop string, or the ``max_new_tokens``-th).

    ``stopped`` is asked about a row after each of its tokens; ``input_ids`` of a decoder LM are left-padded
    prompts, those of an encoder-decoder its sources.
    """
    core = model.get_base_model() if hasattr(model, "get_base_model") else model  # LoRA layers live in it
    ends = end_tokens(model, kwargs)
    limit = int(kwargs["max_new_tokens"])
    rows = input_ids.shape[0]
    outputs: list[list[int]] = [[] for _ in range(rows)]
    active = list(range(rows))  # the original row of each row still in the batch
    cache = reserved_cache(core, limit)
    state = _EncoderDecoder(core, input_ids, attention_mask, cache) if core.config.is_encoder_decoder else \
        _Decoder(core, input_ids, attention_mask, cache)
    for step in range(limit):
        logits = state.step()
        # max() returns the first of equal maxima, like argmax, at a third of its time on a CPU
        tokens = logits[:, -1].float().max(dim=-1).indices.tolist()
        keep: list[int] = []
        for position, (row, token) in enumerate(zip(active, tokens, strict=True)):
            outputs[row].append(token)
            if token not in ends and not (stopped is not None and stopped(outputs[row])):
                keep.append(position)
        if not keep or step == limit - 1:
            break
        state.advance(tokens, keep)
        active = [active[i] for i in keep]
    return outputs


class _Decoder:
    """A causal LM's state between steps: the last tokens, the attention mask and positions of the rows left."""

    def __init__(self, model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, cache: Any) -> None:
        self.model = model
        self.input_ids = input_ids
        positions = attention_mask.long().cumsum(-1) - 1
        self.position_ids = positions.masked_fill(attention_mask == 0, 0)
        # like generate(): no mask at all when nothing is padded (a faster attention path, the same numbers)
        self.attention_mask: torch.Tensor | None = None if bool(attention_mask.all()) else attention_mask
        self.cache = cache  # None: the model builds its own
        self.first = True

    def step(self) -> torch.Tensor:
        # a reserved cache can be put together from groups of rows; transformers' own is left to the model
        grouped = self.first and self.cache is not None and self.attention_mask is not None
        groups = prompt_groups(self.attention_mask, PROMPT_PASS_TOKENS) if grouped else []
        if len(groups) > 1:
            logits = self._prompt_pass_in_groups(groups)
        else:
            out = self._forward(self.input_ids, self.attention_mask, self.position_ids, self.cache)
            self.cache, logits = out.cache, out.logits
        self.first = False
        return logits

    def _forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None, position_ids: torch.Tensor,
                 cache: Any) -> Any:
        inputs = self.model.prepare_inputs_for_generation(
            input_ids, next_sequence_length=None if self.first else 1, cache=cache, attention_mask=attention_mask,
            position_ids=position_ids, use_cache=True, logits_to_keep=1, is_first_iteration=self.first)
        return self.model(**inputs, return_dict=True)

    def _prompt_pass_in_groups(self, groups: list[tuple[torch.Tensor, slice]]) -> torch.Tensor:
        """The prompt pass one group of rows at a time (:func:`prompt_groups`), each in a cache of its own, written
        into the reserved cache at once (so that one group's cache is alive at a time), the padding before each
        group's positions left out of its forward."""
        assert self.attention_mask is not None
        logits: torch.Tensor | None = None
        for index, columns in groups:
            mask = self.attention_mask[index, columns]
            out = self._forward(self.input_ids[index, columns], None if bool(mask.all()) else mask,
                                self.position_ids[index, columns], None)
            if logits is None:
                logits = out.logits.new_empty((self.input_ids.shape[0], *out.logits.shape[1:]))
            logits[index] = out.logits
            place(self.cache, index, out.cache, *self.input_ids.shape)
        assert logits is not None
        return logits

    def advance(self, tokens: Sequence[int], keep: list[int]) -> None:
        index = torch.tensor(keep, device=self.input_ids.device)
        new = torch.tensor([tokens[i] for i in keep], device=self.input_ids.device)[:, None]
        if len(keep) < self.input_ids.shape[0]:
            self.cache.batch_select_indices(index)
            self.position_ids = self.position_ids[index]
            if self.attention_mask is not None:
                self.attention_mask = self.attention_mask[index]
        self.input_ids = new
        self.position_ids = torch.cat([self.position_ids, self.position_ids[:, -1:] + 1], dim=-1)
        if self.attention_mask is not None:
            self.attention_mask = torch.cat([self.attention_mask, self.attention_mask.new_ones((len(keep), 1))], -1)


class _EncoderDecoder:
    """An encoder-decoder's state between steps: the encoding and decoder tokens of the rows left."""

    def __init__(self, model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, cache: Any) -> None:
        self.model = model
        self.encoder_outputs = _encode(model.get_encoder(), input_ids, attention_mask)
        self.attention_mask = attention_mask
        start = model.generation_config.decoder_start_token_id
        if start is None:
            start = model.config.decoder_start_token_id
        self.decoder_ids = torch.full((input_ids.shape[0], 1), int(start), dtype=torch.long, device=input_ids.device)
        self.cache = cache  # None: the model builds its own
        self.first = True

    def step(self) -> torch.Tensor:
        inputs = self.model.prepare_inputs_for_generation(
            self.decoder_ids, next_sequence_length=None if self.first else 1, cache=self.cache,
            attention_mask=self.attention_mask, encoder_outputs=self.encoder_outputs, use_cache=True,
            is_first_iteration=self.first)
        out = self.model(**inputs, return_dict=True)
        self.cache, self.first = out.cache, False
        return out.logits

    def advance(self, tokens: Sequence[int], keep: list[int]) -> None:
        device = self.decoder_ids.device
        if len(keep) < self.decoder_ids.shape[0]:
            index = torch.tensor(keep, device=device)
            self.cache.batch_select_indices(index)
            self.attention_mask = self.attention_mask[index]
            self.encoder_outputs = type(self.encoder_outputs)(
                last_hidden_state=self.encoder_outputs.last_hidden_state[index])
            self.decoder_ids = self.decoder_ids[index]
        new = torch.tensor([tokens[i] for i in keep], device=device)[:, None]
        self.decoder_ids = torch.cat([self.decoder_ids, new], dim=-1)


def _encode(encoder: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Any:
    """The encoder's outputs for the batch, in groups of rows of similar length (:func:`prompt_groups`): each
    group's hidden states in the columns its rows fill, zeros outside them (padding, masked out of cross-attention)."""
    groups = prompt_groups(attention_mask, PROMPT_PASS_TOKENS)
    if len(groups) == 1:
        return encoder(input_ids=input_ids, attention_mask=attention_mask, return_dict=True)
    hidden: torch.Tensor | None = None
    for index, columns in groups:
        states = encoder(input_ids=input_ids[index, columns], attention_mask=attention_mask[index, columns],
                         return_dict=True).last_hidden_state
        if hidden is None:
            hidden = states.new_zeros((*input_ids.shape, states.shape[-1]))
        hidden[index, columns] = states
    return BaseModelOutput(last_hidden_state=hidden)
