"""Label shifting and prompt masking for the three backbone kinds, seen through the translation task."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from tlzoo_translation.task import TranslationTask

from tlzoo.backbones.loading import ConfigBackbone, tiny_tokenizer, tiny_vocabulary
from tlzoo.backbones.resolve import resolve_backbone

EXAMPLES = {"source": ["the man is in the park", "a dog"], "target": ["der mann ist im park", "ein hund"]}


def prepared(backbone: Any, **options: Any) -> tuple[TranslationTask, Any, dict, Any]:
    task = TranslationTask(options)
    built = task.build_model(backbone, {})
    model, state = built.model, dict(built.facts)
    tokenizer = backbone.load_tokenizer()
    return task, tokenizer, state, model


def batch_of(task: TranslationTask, tokenizer: Any, state: dict, model: Any, training: bool) -> dict:
    features = task.preprocess(EXAMPLES, tokenizer, state, 64, training)
    columns = ["input_ids", "attention_mask"] + (["labels"] if training else [])
    rows = [{c: features[c][i] for c in columns} for i in range(len(EXAMPLES["source"]))]
    return task.collator(tokenizer, model)(rows)


def test_encoder_decoder_labels_are_padded_with_ignore_index() -> None:
    task, tokenizer, state, model = prepared(resolve_backbone("tiny-bart"))
    assert task.model_class == "AutoModelForSeq2SeqLM"
    assert state == {"kind": "encoder-decoder", "source_prefix": "",
                     "decoder_start_token_id": tokenizer.sep_token_id}
    batch = batch_of(task, tokenizer, state, model, training=True)
    targets = tokenizer(text_target=EXAMPLES["target"])["input_ids"]
    assert batch["labels"][0].tolist() == targets[0]  # BART starts its labels with <s> ([CLS] here)
    short = batch["labels"][1].tolist()
    assert short[:len(targets[1])] == targets[1] and set(short[len(targets[1]):]) == {-100}
    assert tokenizer.pad_token_id in batch["input_ids"][1].tolist()  # inputs pad with [PAD], not -100
    assert torch.isfinite(model(**batch).loss)


def test_bert2bert_labels_do_not_repeat_the_decoder_start() -> None:
    task, tokenizer, state, model = prepared(resolve_backbone("tiny-bert+tiny-bert"))
    cls, sep, pad = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id
    config = model.config
    assert (config.decoder_start_token_id, config.eos_token_id, config.pad_token_id) == (cls, sep, pad)
    assert state["decoder_start_token_id"] == cls
    batch = batch_of(task, tokenizer, state, model, training=True)
    labels = batch["labels"]
    assert labels[:, 0].ne(cls).all()
    assert labels[0, -1].item() == sep
    from transformers.models.encoder_decoder.modeling_encoder_decoder import shift_tokens_right

    decoder_inputs = shift_tokens_right(labels, pad, cls)
    assert decoder_inputs[:, 0].eq(cls).all() and decoder_inputs.ge(0).all()  # no -100 fed to the decoder
    assert decoder_inputs[0, 1:].tolist() == labels[0, :-1].tolist()


def test_decoder_loss_covers_the_target_only() -> None:
    task, tokenizer, state, model = prepared(resolve_backbone("tiny-gpt"))
    assert task.model_class == "AutoModelForCausalLM" and state == {"kind": "decoder"}
    train = task.preprocess(EXAMPLES, tokenizer, state, 64, True)
    prompts = task.preprocess(EXAMPLES, tokenizer, state, 64, False)["input_ids"]
    end = tokenizer.sep_token_id  # the tiny tokenizer has no EOS
    for ids, labels, prompt, target in zip(train["input_ids"], train["labels"], prompts, EXAMPLES["target"],
                                           strict=True):
        target_ids = tokenizer(f" {target}", add_special_tokens=False)["input_ids"]
        assert ids == prompt + target_ids + [end]
        assert labels == [-100] * len(prompt) + target_ids + [end]
    assert tokenizer.decode(prompts[0]) == "translate english to german : the man is in the park german :"

    batch = batch_of(task, tokenizer, state, model, training=True)
    assert batch["input_ids"][1, -1].item() == tokenizer.pad_token_id  # training pads on the right
    assert batch["labels"][1, -1].item() == -100
    generation = batch_of(task, tokenizer, state, model, training=False)
    assert generation["input_ids"][1, 0].item() == tokenizer.pad_token_id  # prompts pad on the left
    assert generation["attention_mask"][1, 0].item() == 0 and "labels" not in generation

    # The loss from the target positions' logits only is the model's own loss over all positions.
    model.eval()  # no dropout: both losses see the same activations
    assert task.loss(model, batch).item() == pytest.approx(model(**batch).loss.item(), rel=1e-5)


def test_source_is_cut_to_fit_the_prompt() -> None:
    task, tokenizer, state, _ = prepared(resolve_backbone("tiny-gpt"))
    long = {"source": ["the man " * 100], "target": ["der mann"]}
    features = task.preprocess(long, tokenizer, state, 32, False)
    assert len(features["input_ids"][0]) == 32 and features["truncated"] == [True]


def tiny_t5() -> ConfigBackbone:
    from transformers import T5Config

    def config() -> Any:
        return T5Config(vocab_size=len(tiny_vocabulary()), d_model=16, d_kv=8, d_ff=32, num_layers=1,
                        num_heads=2, pad_token_id=0, eos_token_id=3, decoder_start_token_id=0)

    return ConfigBackbone("tiny-t5", config, tiny_tokenizer, "encoder-decoder")


@pytest.mark.parametrize(("prefix", "expected"), [(None, "translate English to German: "), ("", "")])
def test_t5_gets_its_task_prefix(prefix: str | None, expected: str) -> None:
    task, tokenizer, state, _ = prepared(tiny_t5(), source_prefix=prefix)
    assert state["source_prefix"] == expected
    features = task.preprocess({"source": ["a dog"], "target": ["ein hund"]}, tokenizer, state, 64, True)
    assert features["input_ids"][0] == tokenizer(f"{expected}a dog")["input_ids"]


def test_encoder_backbone_is_refused() -> None:
    from tlzoo.api import TlzooError

    with pytest.raises(TlzooError, match="needs an encoder-decoder or a decoder backbone"):
        TranslationTask().build_model(resolve_backbone("tiny-bert"), {})


def test_encoder_decoder_labels_end_on_the_end_token_when_the_tokenizer_adds_none() -> None:
    """GPT-2-style BPE tokenizers add no EOS; without one appended the model never learns to stop."""
    from tokenizers import processors

    task, tokenizer, state, _ = prepared(resolve_backbone("tiny-bart"))
    tokenizer.backend_tokenizer.post_processor = processors.TemplateProcessing(single="$A", pair="$A $B")
    assert tokenizer(text_target=EXAMPLES["target"][1])["input_ids"][-1] != tokenizer.sep_token_id
    labels = task.preprocess(EXAMPLES, tokenizer, state, 64, True)["labels"]
    plain = tokenizer(text_target=EXAMPLES["target"], add_special_tokens=False)["input_ids"]
    assert labels == [ids + [tokenizer.sep_token_id] for ids in plain]
    task.options.max_target_length = 3  # a cut target still ends on the end token, within the limit
    labels = task.preprocess(EXAMPLES, tokenizer, state, 64, True)["labels"]
    assert labels == [plain[0][:2] + [tokenizer.sep_token_id], plain[1][:2] + [tokenizer.sep_token_id]]


def test_build_model_returns_its_facts_and_leaves_the_state_alone() -> None:
    state: dict = {"labels": []}
    built = TranslationTask().build_model(resolve_backbone("tiny-bart"), state)
    assert state == {"labels": []}
    assert built.facts["kind"] == "encoder-decoder" and "decoder_start_token_id" in built.facts
