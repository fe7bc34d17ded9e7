"""The real CLI on the built-in sample with the tiny test backbone: train, evaluate, predict (marked text and
spans), serve, and the one-line errors for bad data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tlzoo_relation.sample import paths

from tlzoo.cli.main import cli

RELATIONS = {"Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)", "Component-Whole(e1,e2)", "Component-Whole(e2,e1)",
             "Content-Container(e1,e2)", "Other"}


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def last_json(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sample, output = paths(), tmp_path_factory.mktemp("relation") / "model"
    trained = run("train", "relation-extraction", "--backbone", "tiny-bert", "--train", sample["train"],
                  "--validation", sample["validation"], "--output", str(output), "--max-steps", "6", "--quiet")
    assert trained.exit_code == 0, trained.output
    return output


def test_training_marks_entities_with_special_tokens_and_keeps_the_entity_start_head(model: Path) -> None:
    from transformers import AutoTokenizer

    manifest = json.loads((model / "tlzoo.json").read_text())
    assert manifest["head"] == "entity-start" and set(manifest["state"]["labels"]) == RELATIONS
    tokenizer = AutoTokenizer.from_pretrained(model)
    tokens = tokenizer.tokenize("The <e1>engine</e1> of the <e2>car</e2>")
    assert {"<e1>", "</e1>", "<e2>", "</e2>"} <= set(tokens)
    assert json.loads((model / "config.json").read_text())["vocab_size"] == len(tokenizer)
    assert (model / "evaluation" / "validation" / "confusion_matrix.png").stat().st_size > 1000
    assert {"official_f1", "micro_f1", "per_relation"} <= set(manifest["metrics"]["validation"])


def test_evaluate_reports_the_official_score(model: Path) -> None:
    evaluated = run("evaluate", str(model), "--data", paths()["train"])
    assert evaluated.exit_code == 0, evaluated.output
    scores = json.loads(evaluated.output[evaluated.output.index("{"):])
    assert 0.0 <= scores["official_f1"] <= 1.0 and set(scores["per_relation"]) == {
        "Cause-Effect", "Component-Whole", "Content-Container"}


def test_predict_from_marked_text_and_from_spans(model: Path) -> None:
    from tlzoo_relation.marked import split_label

    predicted = run("predict", str(model), "--text", "The <e1>engine</e1> of the <e2>car</e2> failed.",
                    "--text", "The storm caused flooding.")
    assert predicted.exit_code == 0, predicted.output
    marked, unmarked = last_json(predicted.output)
    assert marked["label"] in RELATIONS and set(marked["scores"]) == RELATIONS
    assert abs(sum(marked["scores"].values()) - 1) < 1e-6 and marked["entities"] == {"e1": "engine", "e2": "car"}
    assert (marked["relation"], marked["direction"]) == split_label(marked["label"])
    assert unmarked["label"] is None and "no <e1>, </e1>, <e2> or </e2> marker" in unmarked["error"]
    spans = run("predict", str(model), "--text", "The storm caused flooding.", "--head", "4:9", "--tail", "17:25")
    assert spans.exit_code == 0, spans.output
    (prediction,) = last_json(spans.output)
    assert prediction["entities"] == {"e1": "storm", "e2": "flooding"} and prediction["label"] in RELATIONS


def test_unknown_labels_and_bad_rows_are_one_line_errors(model: Path, tmp_path: Path) -> None:
    unknown = tmp_path / "dev.jsonl"
    unknown.write_text('{"text": "<e1>Ann</e1> met <e2>Bob</e2>", "label": "Met(e1,e2)"}\n')
    evaluated = run("evaluate", str(model), "--data", str(unknown))
    assert evaluated.exit_code == 1
    assert f"{unknown}, line 1: label 'Met(e1,e2)' was not in the training data" in evaluated.output
    bad = tmp_path / "TRAIN.TXT"
    bad.write_text('1\t"The <e1>engine</e1> of the car."\nComponent-Whole(e1,e2)\n\n')
    trained = run("train", "relation-extraction", "--backbone", "tiny-bert", "--train", str(bad),
                  "--output", str(tmp_path / "out"))
    assert trained.exit_code == 1 and f"{bad}, line 1: no <e2> or </e2> marker" in trained.output
    assert not (tmp_path / "out").exists()


def test_served_predictions_are_typed(model: Path) -> None:
    pytest.importorskip("fastapi", reason="tlzoo[serve] is not installed (make install adds it)")
    from tlzoo.testing.serving import Server

    server = Server([f"relation={model}"])
    try:
        status, answer = server.post("/models/relation/predict",
                                     {"inputs": ["The <e1>fire</e1> made <e2>smoke</e2>.",
                                                 {"text": "Ann met Bob", "head": [0, 3], "tail": [8, 11]},
                                                 "no markers"]})
        assert status == 200 and [a["label"] in RELATIONS for a in answer] == [True, True, False]
        assert answer[1]["entities"] == {"e1": "Ann", "e2": "Bob"} and answer[2]["error"]
        schema = json.loads(server.get("/openapi.json")[1])["components"]["schemas"]
        assert "relation" in schema["RelationExtractionPrediction"]["properties"]
    finally:
        server.stop()


def test_plugin_conforms() -> None:
    kit = pytest.importorskip("tlzoo.testing.kit")
    kit.assert_plugin_conforms("tlzoo-relation")
