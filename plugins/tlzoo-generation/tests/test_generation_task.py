"""The text-generation steps: prompts as written or in the chat template, the loss on the completion only,
long prompts keeping their end, stop strings, options, the backbone check, and the metric."""

from __future__ import annotations

import json

import pytest
from tlzoo_generation.metrics import CompletionScores
from tlzoo_generation.task import GenerationOptions, GenerationTask

from tlzoo.api import TlzooError
from tlzoo.backbones.resolve import resolve_backbone


def prepared() -> tuple[GenerationTask, object, dict]:
    task = GenerationTask()
    backbone = resolve_backbone("tiny-gpt")
    return task, backbone.load_tokenizer(), dict(task.build_model(backbone, {}).facts)


def test_prompt_as_written_and_the_loss_on_the_completion_and_end_only() -> None:
    task, tokenizer, state = prepared()
    examples = {"source": ["the cat sat on"], "messages": [""], "target": [" the mat"]}
    features = task.preprocess(examples, tokenizer, state, 64, True)
    labels = features["labels"][0]
    prompt = labels.count(-100)
    assert tokenizer.decode(features["input_ids"][0][:prompt]) == "the cat sat on"
    assert tokenizer.decode(labels[prompt:]) == "the mat [SEP]"
    generation = task.preprocess(examples, tokenizer, state, 64, False)
    assert generation["input_ids"][0] == features["input_ids"][0][:prompt] and "labels" not in generation


def test_messages_use_the_tokenizers_chat_template_or_a_plain_one() -> None:
    task, tokenizer, state = prepared()
    turns = json.dumps([{"role": "user", "content": "the cat"}])
    examples = {"source": [""], "messages": [turns], "target": ["a dog"]}
    plain = task.preprocess(examples, tokenizer, state, 64, False)["input_ids"][0]
    assert tokenizer.decode(plain) == "user : the cat assistant :"
    tokenizer.chat_template = ("{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}"
                               "{% if add_generation_prompt %}<bot>{% endif %}")
    templated = task.preprocess(examples, tokenizer, state, 64, True)
    prompt = templated["labels"][0].count(-100)
    assert tokenizer.decode(templated["input_ids"][0][:prompt]) == "< user > the cat < bot >"
    assert tokenizer.decode(templated["labels"][0][prompt:]) == "a dog [SEP]"


def test_long_prompts_keep_their_end_and_empty_ones_a_start_token() -> None:
    task, tokenizer, state = prepared()
    examples = {"source": ["the " * 50 + "cat sat", ""], "messages": ["", ""]}
    features = task.preprocess(examples, tokenizer, state, 8, False)
    whole = tokenizer(examples["source"][0], add_special_tokens=False)["input_ids"]
    assert features["input_ids"][0] == whole[-8:]
    assert features["truncated"] == [True, False]
    assert features["input_ids"][1] == [tokenizer.sep_token_id]  # no BOS in this vocabulary: the end token


def test_an_encoder_backbone_is_refused_with_the_reason() -> None:
    with pytest.raises(TlzooError) as error:
        GenerationTask().build_model(resolve_backbone("tiny-bert"), {})
    assert "needs a causal (decoder) LM" in str(error.value) and "no next-token head" in str(error.value)


def test_stop_strings_cut_outputs_and_options_are_checked() -> None:
    task, _, _ = prepared()
    model = type("M", (), {"config": type("C", (), {"is_encoder_decoder": False})()})()
    options = GenerationOptions(stop=["###", "\n\n"])
    assert task.cut_output("  Paris.\n\nQ: next", model, options) == ("Paris.", True)
    assert task.cut_output(" one\ntwo", model, GenerationOptions()) == ("one\ntwo", False)  # no stop: lines kept
    assert GenerationOptions(stop="END").stop == ["END"]
    sampled = GenerationOptions(do_sample=True, temperature=0.5, top_p=0.9).generate_kwargs()
    assert sampled["do_sample"] is True and sampled["temperature"] == 0.5 and sampled["top_p"] == 0.9
    with pytest.raises(TlzooError, match="--top-p must be in"):
        GenerationOptions(top_p=0)
    with pytest.raises(TlzooError, match="--temperature must be > 0"):
        GenerationOptions(temperature=0)


def test_completion_metric_by_hand() -> None:
    scores = CompletionScores().compute(["Paris.", "the cat sat", "the cat sat"],
                                        [["  Paris. "], ["the cat ran"], ["a dog", "the  cat sat"]])
    assert scores["exact_match"] == pytest.approx(200 / 3)  # 1 and 3 match after whitespace normalising
    assert scores["rougeL"] == pytest.approx((100 + 200 / 3 + 100) / 3)
    assert scores["distinct"] == pytest.approx(2 / 3)
