"""tlzoo-qa: extractive question answering (SQuAD v1.1 and v2.0) as a tlzoo plugin.

This module only announces components; the task, reader and metric live in submodules that
import torch, transformers and datasets when they are built.
"""

from __future__ import annotations

from typing import Any

import tlzoo
from tlzoo import Spec

TLZOO_API = ">=1.0,<2"

EXAMPLE_INPUTS = [
    {"question": "Where is the Eiffel Tower?",
     "context": "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. "
                "It was designed by the company of the engineer Gustave Eiffel and completed in 1889."},
    {"question": "When was the tower completed?",
     "context": "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France. "
                "It was designed by the company of the engineer Gustave Eiffel and completed in 1889."},
]


@tlzoo.hookimpl
def tlzoo_register(registry: Any) -> None:
    registry.add(Spec(
        "extractive-qa", "task", "tlzoo_qa.task:ExtractiveQATask",
        "the answer to a question as a span of its context (SQuAD v1.1; v2.0 with --allow-no-answer true); "
        "long contexts in overlapping windows",
        {"default_backbone": "minilm-l6", "metrics": ["squad"], "dataset": "squad",
         "sample": "tlzoo_qa.sample:paths", "example_inputs": EXAMPLE_INPUTS,
         "input": {"question": "str", "context": "str"},
         "output": {"text": "str", "score": "float", "start": "int | null", "end": "int | null"}}))
    registry.add(Spec(
        "squad", "dataset", "tlzoo_qa.reader:SquadReader",
        "SQuAD JSON (data[].paragraphs[].qas[]) or flat JSONL {id, question, context, answers}; answers "
        "not at their answer_start are reported",
        {"extensions": [".json", ".jsonl"], "produces": "squad"}))
    registry.add(Spec(
        "squad", "metric", "tlzoo_qa.metric:SquadMetric",
        "official SQuAD exact match and F1 (normalised answers, best over gold answers; v2.0 HasAns/NoAns)",
        {"primary": "f1", "consumes": "span"}))
