"""``tlzoo distill`` on extractive QA from the real CLI: start/end distributions, transfer questions."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from tlzoo_qa.sample import paths

import tlzoo
from tlzoo.cli.main import cli


def test_distil_qa_from_the_cli(tmp_path: Path) -> None:
    teacher = tmp_path / "teacher"
    tlzoo.train("extractive-qa", backbone="tiny-bert", train=paths()["train"], output=str(teacher), max_steps=4,
                batch_size=8, learning_rate=1e-3, quiet=True)
    transfer = tmp_path / "questions.jsonl"
    transfer.write_text(json.dumps({"question": "Who built the bridge?",
                                    "context": "The bridge was built by Anna Wenlo in 1721."}) + "\n")
    student = tmp_path / "student"
    result = CliRunner().invoke(cli, ["distill", str(teacher), "--student", "teacher:layers=1",
                                      "--train", paths()["train"], "--validation", paths()["validation"],
                                      "--unlabeled", str(transfer), "--output", str(student), "--max-steps", "3",
                                      "--batch-size", "8", "--quiet"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((student / "tlzoo.json").read_text())
    assert manifest["task"] == "extractive-qa" and manifest["distillation"]["unlabeled_rows"] == 1
    assert {"exact_match", "f1"} <= set(manifest["metrics"]["validation"])
    answer = tlzoo.load(str(student)).predict([{"question": "Who built the bridge?",
                                               "context": "The bridge was built by Anna Wenlo in 1721."}])[0]
    assert set(answer) == {"text", "score", "start", "end"}
