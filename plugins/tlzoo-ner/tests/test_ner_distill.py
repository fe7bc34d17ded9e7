"""``tlzoo distill`` on NER from the real CLI: per-token targets on aligned sub-tokens, transfer text read like
prediction inputs, and why a student with another tokenizer is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tlzoo_ner.sample import paths

import tlzoo
from tlzoo.cli.main import cli


@pytest.fixture(scope="module")
def teacher(tmp_path_factory: pytest.TempPathFactory) -> str:
    output = tmp_path_factory.mktemp("ner-teacher") / "model"
    tlzoo.train("ner", backbone="tiny-bert", train=paths()["train"], output=str(output), max_steps=6,
                learning_rate=3e-3, quiet=True)
    return str(output)


def test_distil_ner_from_the_cli(teacher: str, tmp_path: Path) -> None:
    transfer = tmp_path / "news.txt"
    transfer.write_text("Maria Garcia flew to New York.\nThe European Union met in Brussels on Monday.\n")
    student = tmp_path / "student"
    result = CliRunner().invoke(cli, ["distill", teacher, "--student", "teacher:layers=1", "--train", paths()["train"],
                                      "--validation", paths()["validation"], "--unlabeled", str(transfer),
                                      "--output", str(student), "--max-steps", "4", "--quiet"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((student / "tlzoo.json").read_text())
    assert manifest["task"] == "ner" and manifest["distillation"]["unlabeled_rows"] == 2
    assert manifest["state"] == json.loads((Path(teacher) / "tlzoo.json").read_text())["state"]
    predicted = CliRunner().invoke(cli, ["predict", str(student), "--text", "Maria flew to Paris."])
    assert predicted.exit_code == 0, predicted.output
    assert json.loads(predicted.output.splitlines()[-1])["tokens"] == ["Maria", "flew", "to", "Paris", "."]


def test_the_distillation_mask_of_transfer_text_is_where_labels_would_be(teacher: str) -> None:
    model = tlzoo.load(teacher)
    task, tokenizer, state = model.task, model.tokenizer, model.state
    sentences = {"tokens": [["Maria", "Garcia", "flew", "unbelievably"]], "tags": [["B-PER", "I-PER", "O", "O"]]}
    labelled = task.preprocess(sentences, tokenizer, state, 32, training=True)
    unlabelled = task.preprocess({**sentences, "example_id": [0]}, tokenizer, state, 32, training=False)
    assert task.distillation_mask(unlabelled) == task.distillation_mask(labelled)
    assert task.distillation_mask(labelled) == [[int(x != -100) for x in labelled["labels"][0]]]


def test_a_student_with_another_tokenizer_is_refused_and_says_why(teacher: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["distill", teacher, "--student", "minilm-l6", "--train", paths()["train"],
                                      "--output", str(tmp_path / "s"), "--max-steps", "1"])
    assert result.exit_code == 1
    assert "its tokenizer differs from the teacher's" in result.output
    assert "per-token targets need the same tokenisation" in result.output
    assert not (tmp_path / "s").exists()
