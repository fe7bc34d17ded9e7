"""tlzoo plugin: abstractive summarization. Specs only; the task lives in :mod:`tlzoo_summarization.task`."""

from __future__ import annotations

from tlzoo import Spec, hookimpl
from tlzoo.seq2seq import GENERATION_PARAMETERS

TLZOO_API = ">=1.0,<2"

_EXAMPLE = ("In Riverton, the city council approved a new budget for public schools on Monday. The budget "
            "adds 12 teachers and repairs 3 old buildings. Parents had asked for smaller classes for years.")


@hookimpl
def tlzoo_register(registry) -> None:
    registry.add(Spec(
        "summarization", "task", "tlzoo_summarization.task:SummarizationTask",
        "write a short summary of a document (JSONL/CSV with document/summary, article/highlights, "
        "dialogue/summary or source/target columns); ROUGE-1/2/L/Lsum",
        {"metrics": ["rouge"], "primary": "rougeL",
         "default_backbone": "smollm2-135m", "test_backbone": "tiny-gpt",
         "model_class": "AutoModelForSeq2SeqLM (encoder-decoder, a+b pair) or AutoModelForCausalLM (decoder)",
         "sample": "tlzoo_summarization.sample:paths", "example_inputs": [_EXAMPLE], "input": {"text": "str"},
         "output": {"summary": "str"}, "parameters": GENERATION_PARAMETERS}))
