"""Train on the sample with the tiny test backbone, save, load, evaluate and predict."""

from __future__ import annotations

from typing import Any

import pytest
from tlzoo_qa.sample import paths

import tlzoo
from tlzoo.api import TlzooError

LONG_CONTEXT = (" ".join(f"Town {i} lies on the river and was founded in {1200 + i}." for i in range(80))
                + " The bridge was built by Anna Wenlo in 1721.")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Any:
    sample = paths()
    output = tmp_path_factory.mktemp("qa") / "model"
    return tlzoo.train("extractive-qa", backbone="tiny-bert", train=sample["train"],
                       validation=sample["validation"], output=str(output), max_steps=8, batch_size=8,
                       learning_rate=1e-3, quiet=True)


def test_training_reports_squad_metrics(trained: Any) -> None:
    validation = trained.metrics["validation"]
    assert set(validation) == {"exact_match", "f1", "total"} and validation["total"] == 54
    assert 0 <= validation["exact_match"] <= validation["f1"] <= 100
    assert trained.config.max_length == 384  # the task's default, capped to tiny-bert's 128 when tokenising


def test_predict_on_a_context_longer_than_the_window(trained: Any) -> None:
    model = tlzoo.load(trained.output_dir)
    assert len(model.tokenizer(LONG_CONTEXT)["input_ids"]) > 4 * model.max_length
    questions = [{"question": "Who built the bridge?", "context": LONG_CONTEXT},
                 {"question": "Where is Paris?", "context": "Paris is in France."}]
    predictions = model.predict(questions)
    assert len(predictions) == 2
    for prediction, item in zip(predictions, questions, strict=True):
        assert set(prediction) == {"text", "score", "start", "end"}
        assert prediction["text"]
        assert prediction["text"] == item["context"][prediction["start"]:prediction["end"]]
        assert 0 < prediction["score"] <= 1
    assert model.evaluate(paths()["validation"]) == pytest.approx(trained.metrics["validation"])


def test_predict_rejects_inputs_without_question_and_context(trained: Any) -> None:
    with pytest.raises(TlzooError, match="input 2: expected"):
        tlzoo.load(trained.output_dir).predict([{"question": "q", "context": "c"}, "just a string"])


def test_saved_model_loads_with_the_transformers_class(trained: Any) -> None:
    from transformers import AutoModelForQuestionAnswering

    model = AutoModelForQuestionAnswering.from_pretrained(trained.output_dir)
    assert type(model).__name__ == "BertForQuestionAnswering"


def test_plugin_conforms() -> None:
    kit = pytest.importorskip("tlzoo.testing.kit")
    kit.assert_plugin_conforms("tlzoo-qa")
