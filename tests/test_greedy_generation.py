"""Greedy decoding for evaluation and prediction (:mod:`tlzoo.seq2seq.greedy`): the tokens of ``model.generate``
while finished rows leave the batch, and the cheap stop-string check (:mod:`tlzoo.seq2seq.stopping`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tlzoo.backbones.resolve import resolve_backbone
from tlzoo.seq2seq import greedy
from tlzoo.seq2seq.kv_cache import reserved_cache
from tlzoo.seq2seq.stopping import StopCheck
from tlzoo.testing import torch_threads

TEXTS = ["a man is walking in the park with his dog", "two dogs", "the cat sat on the mat and looked at the",
         "a girl", "people are playing music in the street", "the man"]
LIMIT = 12


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    with torch_threads(1):
        yield


def built(name: str) -> tuple[Any, Any, dict[str, Any]]:
    """A tiny random model of backbone ``name``, its tokenizer and a padded batch of :data:`TEXTS` (left-padded
    prompts for a decoder, sources for an encoder-decoder)."""
    import torch

    from tlzoo.seq2seq.task import DecoderOnlyCollator

    torch.manual_seed(0)
    backbone = resolve_backbone(name)
    decoder = backbone.kind == "decoder"
    model = backbone.build_model("AutoModelForCausalLM" if decoder else "AutoModelForSeq2SeqLM").eval()
    with torch.no_grad():  # large random weights: each row writes its own tokens (small ones repeat one token)
        for parameter in model.parameters():
            parameter.normal_(0, 0.5)
    tokenizer = backbone.load_tokenizer()
    features = [{"input_ids": ids, "attention_mask": [1] * len(ids)} for ids in tokenizer(TEXTS)["input_ids"]]
    if decoder:
        batch = DecoderOnlyCollator(tokenizer.pad_token_id)(features)
    else:
        batch = tokenizer.pad(features, return_tensors="pt")
    return model, tokenizer, {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}


def generated_rows(model: Any, batch: dict[str, Any], kwargs: dict[str, Any]) -> list[list[int]]:
    """``model.generate``'s new tokens per row, up to and with the end token (the padding after it dropped)."""
    import torch

    with torch.inference_mode():
        out = model.generate(**batch, **kwargs)
    start = 1 if model.config.is_encoder_decoder else batch["input_ids"].shape[1]  # the decoder's start token
    ends = greedy.end_tokens(model, kwargs)
    rows = []
    for ids in out[:, start:].tolist():
        cut = next((i + 1 for i, token in enumerate(ids) if token in ends), len(ids))
        assert all(token == kwargs["pad_token_id"] for token in ids[cut:])
        rows.append(ids[:cut])
    return rows


@pytest.mark.parametrize("name", ["tiny-gpt", "tiny-bert+tiny-bert"])  # tiny-bart repeats one token per row
@pytest.mark.parametrize("prompt_tokens", [greedy.PROMPT_PASS_TOKENS, 12])  # the prompt pass in one or in groups
def test_the_tokens_of_generate_while_finished_rows_leave_the_batch(name: str, prompt_tokens: int,
                                                                     monkeypatch: Any) -> None:
    import torch

    caches: list[Any] = []  # a decoder LM decodes into the reserved cache (tlzoo.seq2seq.kv_cache)
    monkeypatch.setattr(greedy, "reserved_cache", lambda *args: caches.append(reserved_cache(*args)) or caches[-1])
    monkeypatch.setattr(greedy, "PROMPT_PASS_TOKENS", prompt_tokens)

    model, tokenizer, batch = built(name)
    kwargs: dict[str, Any] = {"max_new_tokens": LIMIT, "num_beams": 1, "do_sample": False,
                              "pad_token_id": tokenizer.pad_token_id}
    # a random model rarely writes its end token: make the end a token its rows write at different steps
    free = generated_rows(model, batch, {**kwargs, "eos_token_id": tokenizer.pad_token_id})
    end = max(sorted({t for ids in free for t in ids}),
              key=lambda t: len({ids.index(t) if t in ids else LIMIT for ids in free}))
    kwargs["eos_token_id"] = end
    expected = generated_rows(model, batch, kwargs)
    assert len({len(ids) for ids in expected}) >= 2, expected  # rows end at different steps

    groups = greedy.prompt_groups(batch["attention_mask"], prompt_tokens)
    assert (len(groups) > 1) == (prompt_tokens == 12)
    decoder = not model.config.is_encoder_decoder
    widths: list[int] = []
    prompt_widths: list[int] = []  # the encoder's, or the decoder LM's first forwards
    hooks = [(model.decoder if not decoder else model).register_forward_pre_hook(
        lambda module, args, kw: widths.append(
            (kw.get("input_ids") if kw.get("input_ids") is not None else args[0]).shape[0]), with_kwargs=True)]
    if not decoder:
        hooks.append(model.get_encoder().register_forward_pre_hook(
            lambda module, args, kw: prompt_widths.append(kw["input_ids"].shape[0]), with_kwargs=True))
    with torch.inference_mode():
        assert greedy.applies(model, kwargs)
        assert greedy.generate(model, batch["input_ids"], batch["attention_mask"], kwargs) == expected
    for hook in hooks:
        hook.remove()
    if decoder:  # the prompt pass is the decoder's first forward, or one forward per group
        prompt_widths, widths = widths[:len(groups)], [len(TEXTS), *widths[len(groups):]]
    assert sorted(prompt_widths) == sorted(len(rows) for rows, _ in groups)
    assert widths[0] == len(TEXTS) and widths == sorted(widths, reverse=True) and widths[-1] < len(TEXTS)
    assert len(widths) == max(len(ids) for ids in expected)  # one forward per step of the longest row
    assert [cache is not None for cache in caches] == [decoder]
    if decoder:  # the last step's rows, in the reserved buffers
        assert caches[0].layers[0].keys.shape[0] == widths[-1] and caches[0].layers[0].buffers is not None


def test_a_stop_check_ends_rows_where_the_task_cuts_them() -> None:
    import torch

    model, tokenizer, batch = built("tiny-gpt")
    kwargs = {"max_new_tokens": LIMIT, "num_beams": 1, "do_sample": False, "eos_token_id": tokenizer.sep_token_id,
              "pad_token_id": tokenizer.pad_token_id}
    with torch.inference_mode():
        free = greedy.generate(model, batch["input_ids"], batch["attention_mask"], kwargs)
    texts = tokenizer.batch_decode(free, skip_special_tokens=True)
    stops = sorted({text.split()[len(text.split()) // 2][:2] for text in texts if text.split()})
    check = StopCheck(tokenizer, stops, lambda text: any(stop in text for stop in stops))
    with torch.inference_mode():
        cut = greedy.generate(model, batch["input_ids"], batch["attention_mask"], kwargs, check)
        hf = model.generate(**batch, **kwargs, stopping_criteria=check.criteria(batch["input_ids"].shape[1]))
    for ids, whole, text in zip(cut, free, texts, strict=True):
        assert whole[:len(ids)] == ids
        seen = [any(stop in tokenizer.decode(ids[:n], skip_special_tokens=True) for stop in stops)
                for n in range(1, len(ids) + 1)]
        if any(stop in text for stop in stops):
            assert seen.index(True) == len(ids) - 1  # ended at the token that completed the first stop string
        else:
            assert ids == whole
    assert tokenizer.batch_decode(hf[:, batch["input_ids"].shape[1]:], skip_special_tokens=True) == \
        tokenizer.batch_decode(cut, skip_special_tokens=True)


def test_the_stop_check_decodes_only_after_tokens_that_can_complete_a_stop_string() -> None:
    tokenizer = resolve_backbone("tiny-gpt").load_tokenizer()
    ids = tokenizer("the cat sat on the mat", add_special_tokens=False)["input_ids"]
    decoded: list[str] = []

    def holds(text: str) -> bool:
        decoded.append(text)
        return "at" in text

    check = StopCheck(tokenizer, ["at"], holds)
    first = next(n for n in range(1, len(ids) + 1) if "at" in tokenizer.decode(ids[:n]))  # "the ca" + "##t"
    assert [check(ids[:n]) for n in range(1, first + 1)] == [False] * (first - 1) + [True]
    assert len(decoded) < first  # "c" and "##a" cannot complete "at": their rows were not decoded
    spaced = StopCheck(tokenizer, ["t "], lambda text: "t " in text)  # the decoder puts the space before "s"
    assert [spaced(ids[:n]) for n in range(1, 6)] == [False] * 4 + [True]  # "the cat" + "s", whose text is "s"


def test_only_plain_greedy_search_takes_the_fast_path() -> None:
    model, _, _ = built("tiny-gpt")
    plain = {"max_new_tokens": 4, "num_beams": 1, "do_sample": False, "eos_token_id": 3, "pad_token_id": 0}
    assert greedy.applies(model, plain)
    assert not greedy.applies(model, {**plain, "num_beams": 2})
    assert not greedy.applies(model, {**plain, "do_sample": True})
    assert not greedy.applies(model, {**plain, "no_repeat_ngram_size": 2})
    model.generation_config.repetition_penalty = 1.3  # changes the scores: model.generate's business
    assert not greedy.applies(model, plain)


def test_the_prompt_pass_groups_rows_by_length_each_with_the_columns_its_rows_fill() -> None:
    import torch

    lengths = [3, 5, 2, 4]
    left = torch.tensor([[0] * (5 - n) + [1] * n for n in lengths])  # a decoder LM's prompts
    groups = greedy.prompt_groups(left, tokens=6)  # longest first, a group closed at 6 real tokens or more
    assert [(rows.tolist(), columns) for rows, columns in groups] == [([1, 3], slice(0, 5)), ([0, 2], slice(2, 5))]
    right = left.flip(-1)  # an encoder's sources
    assert [columns for _, columns in greedy.prompt_groups(right, tokens=6)] == [slice(0, 5), slice(0, 3)]
    assert [rows.tolist() for rows, _ in greedy.prompt_groups(left, tokens=100)] == [[1, 3, 0, 2]]
    empty = torch.cat([left, torch.zeros(1, 5, dtype=left.dtype)])
    assert [rows.tolist() for rows, _ in greedy.prompt_groups(empty, tokens=2)] == [[1], [3], [0], [2, 4]]


def test_an_encoder_pass_in_groups_gives_each_row_its_own_states(monkeypatch: Any) -> None:
    import torch

    model, _, batch = built("tiny-bert+tiny-bert")
    mask = batch["attention_mask"].bool()
    with torch.inference_mode():
        whole = greedy._encode(model.get_encoder(), batch["input_ids"], batch["attention_mask"]).last_hidden_state
        monkeypatch.setattr(greedy, "PROMPT_PASS_TOKENS", 12)
        groups = greedy.prompt_groups(batch["attention_mask"], 12)
        grouped = greedy._encode(model.get_encoder(), batch["input_ids"], batch["attention_mask"]).last_hidden_state
    assert len(groups) > 1 and grouped.shape == whole.shape
    assert torch.allclose(grouped[mask], whole[mask], atol=1e-5)  # the real tokens' states, row by row
    for rows, columns in groups:  # past a group's longest row: zeros, masked out of cross-attention
        assert not grouped[rows, columns.stop:].any()
