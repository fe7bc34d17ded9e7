"""tlzoo plugin: named-entity recognition and other per-word tagging. Specs only; code in submodules."""

from __future__ import annotations

from tlzoo import Spec, hookimpl

TLZOO_API = ">=1.0,<2"

EXAMPLE_INPUTS = ["John Smith flew from London to Paris to meet engineers at Airbus.",
                  "Angela Merkel spoke to Reuters in Berlin on Tuesday."]

ENTITY = {"type": "str", "text": "str", "start": "int", "end": "int", "score": "float"}
"""One predicted entity: its type, its text and character offsets in the input, its mean word probability."""


@hookimpl
def tlzoo_register(registry) -> None:
    registry.add(Spec(
        "ner", "task", "tlzoo_ner.task:NerTask",
        "named-entity recognition and any per-word tagging (POS, chunks) over IOB2/IOB1/IOBES/BILOU or plain "
        "tags; CoNLL column files or JSON token/tag lists; predicts entities with character offsets",
        {"metrics": ["seqeval"], "primary": "f1", "default_backbone": "minilm-l6",
         "model_class": "AutoModelForTokenClassification", "sample": "tlzoo_ner.sample:paths",
         "example_inputs": EXAMPLE_INPUTS, "input": {"text": "str"},
         "output": {"text": "str", "entities": [ENTITY], "tokens": "list[str]", "tags": "list[str]"}}))
    registry.add(Spec(
        "ner-conll", "dataset", "tlzoo_ner.reader:TokenTagReader",
        "tagged sentences from CoNLL-style column files (-DOCSTART-, blank-line breaks, tag column chosen) "
        "or JSON/JSONL token and tag lists (HF conll2003 layout, integer tags with label names)",
        {"formats": ["conll", "json", "jsonl"], "columns": ["tokens", "tags"]}))
    registry.add(Spec(
        "seqeval", "metric", "tlzoo_ner.metric:SeqevalReport",
        "seqeval entity precision/recall/F1 overall and per type, default and strict mode, plus token "
        "accuracy; offline",
        {"primary": "f1"}))
