"""tlzoo plugin: relation extraction between two marked entities. Specs only; the code is in submodules."""

from __future__ import annotations

from tlzoo import Spec, hookimpl

TLZOO_API = ">=1.0,<2"

EXAMPLE_INPUTS = ["The <e1>engine</e1> of the <e2>car</e2> failed on the motorway.",
                  {"text": "The storm caused severe flooding.", "head": [4, 9], "tail": [24, 32]}]
_SPAN = "list[int] | dict[str, any] | str | null"


@hookimpl
def tlzoo_register(registry) -> None:
    registry.add(Spec(
        "relation-extraction", "task", "tlzoo_relation.task:RelationTask",
        "the relation between two marked entities of a sentence, direction included (SemEval-2010 Task 8 files, "
        "marked text, or text with head/tail character spans); entity markers as special tokens",
        {"metrics": ["semeval2010"], "primary": "official_f1", "default_backbone": "minilm-l6",
         "model_class": "AutoModelForSequenceClassification", "sample": "tlzoo_relation.sample:paths",
         "example_inputs": EXAMPLE_INPUTS, "input": {"text": "str", "head": _SPAN, "tail": _SPAN},
         "test_options": {"max_steps": 60, "learning_rate": 3e-3},
         "output": {"label": "str | null", "relation": "str | null", "direction": "str | null",
                    "score": "float | null", "scores": "dict[str, float]", "entities": "dict[str, str]",
                    "error": "str | null"}}))
    registry.add(Spec(
        "entity-start", "head", "tlzoo_relation.head:EntityStartHead",
        "the hidden states at the two opening entity markers, concatenated, then a linear layer (the 'entity "
        "start' recipe of Baldini Soares et al. 2019); for tasks that mark entities (relation-extraction)",
        {"fits": ["sequence"], "tasks": ["relation-extraction"]}))
    registry.add(Spec(
        "semeval2010", "metric", "tlzoo_relation.metric:SemEvalScore",
        "the official SemEval-2010 Task 8 score (macro F1 over the relations except Other, direction taken into "
        "account, as the task's scorer v1.2 computes it), micro P/R/F1, accuracy, per-relation scores",
        {"primary": "official_f1", "consumes": "label"}))
    registry.add(Spec(
        "semeval2010", "dataset", "tlzoo_relation.reader:SemEvalReader",
        "SemEval-2010 Task 8 files: ID<TAB>\"sentence with <e1>..</e1> and <e2>..</e2>\", a label line, "
        "an optional Comment line",
        {"extensions": [".txt"], "produces": "relation"}))
