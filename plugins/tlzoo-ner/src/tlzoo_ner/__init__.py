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
        {"metrics": ["seqeval", "seqeval-strict"], "primary": "f1", "default_backbone": "minilm-l6",
         "model_class": "AutoModelForTokenClassification", "sample": "tlzoo_ner.sample:paths",
         "example_inputs": EXAMPLE_INPUTS, "input": {"text": "str"},
         "output": {"text": "str", "entities": [ENTITY], "tokens": "list[str]", "tags": "list[str]"}}))
    registry.add(Spec(
        "conll", "dataset", "tlzoo_ner.reader:ConllReader",
        "tagged sentences from CoNLL-style column files (-DOCSTART-, blank-line breaks, tag column chosen "
        "with --tag-column); the ner task also reads token/tag lists from any table format",
        {"extensions": [".conll", ".txt", ".iob", ".bio", ".tsv"], "produces": "tagged"}))
    registry.add(Spec(
        "seqeval", "metric", "tlzoo_ner.metric:SeqevalReport",
        "seqeval entity precision/recall/F1 overall and per type (default, conlleval-compatible mode), plus "
        "token accuracy; offline",
        {"primary": "f1", "consumes": "tags"}))
    registry.add(Spec(
        "seqeval-strict", "metric", "tlzoo_ner.metric:SeqevalStrict",
        "seqeval entity precision/recall/F1 in strict mode for the data's tag scheme (strict_* keys)",
        {"primary": "strict_f1", "consumes": "tags"}))
