"""tlzoo plugin: prompt-to-completion text generation. Specs only; the task lives in :mod:`tlzoo_generation.task`."""

from __future__ import annotations

from tlzoo import Spec, hookimpl
from tlzoo.seq2seq import GENERATION_PARAMETERS

TLZOO_API = ">=1.0,<2"

PARAMETERS = {
    **GENERATION_PARAMETERS,
    "do_sample": {"type": "bool", "description": "Sample the next token instead of taking the likeliest."},
    "temperature": {"type": "float", "gt": 0, "le": 10, "description": "Sampling temperature (with do_sample)."},
    "top_p": {"type": "float", "gt": 0, "le": 1, "description": "Nucleus sampling: the smallest set of tokens "
                                                                 "holding this probability (with do_sample)."},
    "sample_seed": {"type": "int", "description": "Seed of the sampler, for repeatable samples."},
    "stop": {"type": "list[str] | str", "description": "Text(s) that end the completion (not included)."},
}
"""What a server request may set (see :data:`tlzoo.seq2seq.GENERATION_PARAMETERS`)."""


@hookimpl
def tlzoo_register(registry) -> None:
    registry.add(Spec(
        "text-generation", "task", "tlzoo_generation.task:GenerationTask",
        "continue a prompt with a causal LM (JSONL/CSV with prompt/completion columns, or chat messages "
        "rendered with the backbone's chat template); the loss on the completion only; ROUGE-L, exact match, "
        "perplexity",
        {"metrics": ["completion"], "primary": "rougeL", "default_backbone": "smollm2-135m",
         "test_backbone": "tiny-gpt", "model_class": "AutoModelForCausalLM",
         "sample": "tlzoo_generation.sample:paths",
         "example_inputs": ["Correct the spelling: I recieved teh letter yesterday.\nCorrected:"],
         "input": {"text": "str"}, "chat": True, "output": {"completion": "str"}, "parameters": PARAMETERS}))
    registry.add(Spec(
        "completion", "metric", "tlzoo_generation.metrics:CompletionScores",
        "exact match (whitespace-normalised) and ROUGE-L against the best reference, the share of distinct "
        "outputs and their length",
        {"primary": "rougeL", "consumes": "text"}))
