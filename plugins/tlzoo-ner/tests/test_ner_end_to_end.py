"""Train on the built-in sample with the tiny test backbone, then load, predict and evaluate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tlzoo_ner.sample import paths

import tlzoo

MAX_LENGTH = 32


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Any:
    sample = paths()
    output = tmp_path_factory.mktemp("ner") / "model"
    return tlzoo.train("ner", backbone="tiny-bert", train=sample["train"], validation=sample["validation"],
                       output=str(output), max_steps=40, learning_rate=1e-2, batch_size=16,
                       max_length=MAX_LENGTH, logging_steps=1, quiet=True)


def test_training_reports_both_seqeval_modes(trained: Any) -> None:
    metrics = trained.metrics["validation"]
    for key in ("f1", "precision", "recall", "strict_f1", "strict_precision", "strict_recall",
                "token_accuracy"):
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["scheme"] == "IOB2" and set(metrics["per_type"]) <= {"PER", "ORG", "LOC", "MISC"}
    losses = [r["loss"] for r in trained.history if r.get("event") == "train"]
    assert sum(losses[-10:]) < sum(losses[:10])
    report = Path(trained.output_dir) / "evaluation" / "validation" / "seqeval_report.txt"
    assert "strict mode" in report.read_text()


def test_predict_raw_text_gives_entities_with_character_offsets(trained: Any) -> None:
    model = tlzoo.load(trained.output_dir)
    texts = ["John lives in Paris.", "Olga Petrova met Kim at the Airbus office in Tokyo .", ""]
    predictions = model.predict(texts)
    assert len(predictions) == 3
    for text, prediction in zip(texts, predictions):
        assert prediction["text"] == text
        assert len(prediction["tags"]) == len(prediction["tokens"])
        for entity in prediction["entities"]:
            assert set(entity) == {"type", "text", "start", "end", "score"}
            assert text[entity["start"]:entity["end"]] == entity["text"]
            assert entity["type"] in {"PER", "ORG", "LOC", "MISC"} and 0.0 <= entity["score"] <= 1.0
    assert predictions[0]["tokens"] == ["John", "lives", "in", "Paris", "."]
    assert predictions[2] == {"text": "", "entities": [], "tokens": [], "tags": []}
    assert any(p["entities"] for p in predictions), "the model found no entity at all"


def test_sentence_longer_than_max_length_gets_a_tag_for_every_word(trained: Any) -> None:
    model = tlzoo.load(trained.output_dir)
    words = ("John Smith works for Airbus in Paris and met Maria Garcia in Madrid on Monday . " * 12).split()
    assert len(words) > 4 * MAX_LENGTH
    (prediction,) = model.predict([{"tokens": words}])
    assert prediction["tokens"] == words and len(prediction["tags"]) == len(words)
    text = prediction["text"]
    assert all(text[e["start"]:e["end"]] == e["text"] for e in prediction["entities"])


def test_evaluate_matches_training_metrics(trained: Any) -> None:
    model = tlzoo.load(trained.output_dir)
    metrics = model.evaluate(paths()["validation"])
    assert metrics["f1"] == pytest.approx(trained.metrics["validation"]["f1"])
    assert metrics["strict_f1"] == pytest.approx(trained.metrics["validation"]["strict_f1"])
