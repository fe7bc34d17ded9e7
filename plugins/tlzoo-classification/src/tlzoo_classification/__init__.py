"""tlzoo plugin: sequence classification tasks. Specs only; the tasks live in submodules."""

from __future__ import annotations

from tlzoo import Spec, hookimpl

TLZOO_API = ">=1.0,<2"

_TASKS = "tlzoo_classification.tasks"
_EXAMPLES = ["a gripping, beautifully acted film", "the plot is dull and the jokes fall flat"]
_INPUT = {"text": "str", "text_pair": "str | null"}
_SCORES = "dict[str, float]"


@hookimpl
def tlzoo_register(registry) -> None:
    registry.add(Spec(
        "classification", "task", f"{_TASKS}:ClassificationTask",
        "single-label classification of a text or a text pair (sentiment, topic, NLI, paraphrase)",
        {"metrics": ["classification"], "primary": "accuracy", "default_backbone": "minilm-l6",
         "model_class": "AutoModelForSequenceClassification", "sample": "tlzoo_classification.sample:paths",
         "example_inputs": _EXAMPLES, "input": _INPUT, "test_options": {"max_steps": 120},
         "output": {"label": "str | int", "score": "float", "scores": _SCORES}}))
    registry.add(Spec(
        "multilabel-classification", "task", f"{_TASKS}:MultiLabelTask",
        "any number of labels per text (sigmoid outputs, per-label thresholds tuned on validation)",
        {"metrics": ["multilabel"], "primary": "micro_f1", "default_backbone": "minilm-l6",
         "model_class": "AutoModelForSequenceClassification",
         "sample": "tlzoo_classification.sample:multilabel_paths", "example_inputs": _EXAMPLES, "input": _INPUT,
         "output": {"labels": "list[str]", "scores": _SCORES}}))
    registry.add(Spec(
        "text-regression", "task", f"{_TASKS}:RegressionTask",
        "one real value for a text or a text pair (STS-B style similarity)",
        {"metrics": ["regression"], "primary": "pearson", "default_backbone": "minilm-l6",
         "model_class": "AutoModelForSequenceClassification",
         "sample": "tlzoo_classification.sample:regression_paths", "example_inputs": _EXAMPLES, "input": _INPUT,
         "output": {"score": "float"}}))
