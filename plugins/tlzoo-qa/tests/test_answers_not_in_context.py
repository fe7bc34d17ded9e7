"""``tlzoo train extractive-qa`` on data whose answers are not in their context: the examples are
skipped and counted, or, when none is left, one error naming the file and line, and no output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from tlzoo_qa.reader import SkippedExamplesWarning, read_squad

from tlzoo.api import TlzooError
from tlzoo.cli.main import cli

CONTEXT = "The Eiffel Tower was completed in 1889 in Paris."


def write_jsonl(path: Path, answers: list[str]) -> str:
    rows = [{"id": f"q{i}", "question": "When was it completed?", "context": CONTEXT,
             "answers": {"text": [text], "answer_start": [CONTEXT.find(text) if text in CONTEXT else 3]}}
            for i, text in enumerate(answers)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def train(data: str, output: Path) -> object:
    return CliRunner().invoke(cli, ["train", "extractive-qa", "--backbone", "tiny-bert", "--train", data,
                                    "--output", str(output), "--max-steps", "2", "--batch-size", "2",
                                    "--quiet"])


def test_no_answer_in_its_context_is_one_error_and_leaves_nothing(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "train.jsonl", ["London", "Berlin", "1999"])
    result = train(data, tmp_path / "out")
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert lines == [f"error: {data}: no usable training example: the answers of all 3 examples are not found "
                     f"in their context (first: line 1 (id q0): 'London' at 3); each answer's text must occur "
                     f"in its context, at its answer_start"]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_some_answers_not_in_context_are_skipped_and_counted(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "train.jsonl", ["1889", "London", "Paris", "Berlin"])
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TLZOO_")}
    result = subprocess.run([sys.executable, "-m", "tlzoo", "train", "extractive-qa", "--backbone", "tiny-bert",
                             "--train", data, "--output", str(tmp_path / "out"), "--max-steps", "2",
                             "--batch-size", "2", "--quiet"], capture_output=True, text=True, env=environ,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (f"SkippedExamplesWarning: {data}: 2 of 4 examples skipped: answer not found in context (first: "
            f"line 2 (id q1): 'London' at 3)") in result.stderr
    assert (tmp_path / "out" / "tlzoo.json").is_file()


def test_the_reader_skips_only_for_training(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "mixed.jsonl", ["1889", "London"])
    with pytest.warns(SkippedExamplesWarning, match="1 of 2 examples skipped"):
        assert read_squad(data, training=True)["id"] == ["q0"]
    with pytest.warns(UserWarning, match="1 not found in the context"):
        assert read_squad(data)["id"] == ["q0", "q1"]  # still scored in evaluation
    with pytest.raises(TlzooError, match="no usable training example"):
        read_squad(write_jsonl(tmp_path / "none.jsonl", ["London"]), training=True)
