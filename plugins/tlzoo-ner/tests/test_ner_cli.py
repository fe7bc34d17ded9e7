"""``tlzoo train ner`` / ``predict`` / ``evaluate`` from the command line, task options included."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from tlzoo_ner.sample import paths

from tlzoo.cli.main import cli


def test_train_predict_evaluate_from_the_cli(tmp_path: Path) -> None:
    sample = paths()
    output = tmp_path / "model"
    runner = CliRunner()
    trained = runner.invoke(cli, ["train", "ner", "--backbone", "tiny-bert", "--train", sample["train"],
                                  "--validation", sample["validation"], "--output", str(output),
                                  "--max-steps", "3", "--quiet", "--label-all-subtokens", "true",
                                  "--tag-column", "-1"])
    assert trained.exit_code == 0, trained.output
    manifest = json.loads((output / "tlzoo.json").read_text())
    assert manifest["task_options"]["label_all_subtokens"] is True
    assert manifest["state"]["scheme"] == "IOB2"

    text = "Maria Garcia flew to New York."
    predicted = runner.invoke(cli, ["predict", str(output), "--text", text])
    assert predicted.exit_code == 0, predicted.output
    (line,) = [json.loads(x) for x in predicted.output.splitlines() if x.startswith("{")]
    assert line["text"] == text and line["tokens"] == ["Maria", "Garcia", "flew", "to", "New", "York", "."]
    assert all(text[e["start"]:e["end"]] == e["text"] for e in line["entities"])

    evaluated = runner.invoke(cli, ["evaluate", str(output), "--data", sample["validation"]])
    assert evaluated.exit_code == 0, evaluated.output
    assert {"f1", "strict_f1", "token_accuracy"} <= set(json.loads(evaluated.output[evaluated.output.index("{"):]))


def test_cli_errors_name_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("EU B-ORG\nrejects\n")
    result = CliRunner().invoke(cli, ["train", "ner", "--backbone", "tiny-bert", "--train", str(bad),
                                      "--output", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert f"{bad}, line 2: 1 columns, expected 2" in result.output
    assert not (tmp_path / "out").exists()
