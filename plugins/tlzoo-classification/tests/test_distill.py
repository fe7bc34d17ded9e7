"""``tlzoo distill`` on classification: the real CLI, a layer-pruned student, transfer text, the teacher's
outputs computed once, and the errors a wrong teacher, student or data gets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import tlzoo
from tlzoo.cli.main import cli


@pytest.fixture(scope="module")
def teacher(tmp_path_factory: pytest.TempPathFactory) -> str:
    from tlzoo_classification.sample import paths

    output = tmp_path_factory.mktemp("teacher") / "model"
    tlzoo.train("classification", backbone="tiny-bert", train=paths()["train"], output=str(output), max_steps=10,
                learning_rate=3e-3, quiet=True)
    return str(output)


def _distil(*args: str) -> Any:
    return CliRunner().invoke(cli, ["distill", *args])


def test_distil_a_pruned_student_with_transfer_text_from_the_cli(teacher: str, sample: dict, tmp_path: Path) -> None:
    unlabeled = tmp_path / "transfer.txt"
    unlabeled.write_text("a wonderful film\nboring and far too long\nthe acting is great\n")
    student = tmp_path / "student"
    result = _distil(teacher, "--student", "teacher:layers=1", "--train", sample["train"], "--validation",
                     sample["validation"], "--unlabeled", str(unlabeled), "--output", str(student), "--epochs", "1",
                     "--temperature", "3", "--alpha", "0.3", "--quiet")
    assert result.exit_code == 0, result.output
    manifest = json.loads((student / "tlzoo.json").read_text())
    assert manifest["task"] == "classification"
    assert manifest["state"]["labels"] == json.loads((Path(teacher) / "tlzoo.json").read_text())["state"]["labels"]
    info = manifest["distillation"]
    assert info["student"] == "teacher:layers=1" and info["teacher"]["layers"] == 2
    assert (info["temperature"], info["alpha"], info["unlabeled"], info["unlabeled_rows"]) == (3.0, 0.3,
                                                                                                ["transfer.txt"], 3)
    assert json.loads((student / "config.json").read_text())["num_hidden_layers"] == 1
    assert [r["event"] for r in map(json.loads, (student / "log.jsonl").read_text().splitlines())].count("eval") == 1
    # a normal model folder: predict and evaluate work unchanged
    predicted = CliRunner().invoke(cli, ["predict", str(student), "--text", "a wonderful film"])
    assert predicted.exit_code == 0, predicted.output
    assert json.loads(predicted.output.splitlines()[-1])["label"] in ("positive", "negative")
    evaluated = CliRunner().invoke(cli, ["evaluate", str(student), "--data", sample["validation"]])
    assert evaluated.exit_code == 0 and '"accuracy"' in evaluated.output


def test_the_teacher_runs_once_per_row_and_not_again_on_a_rerun(teacher: str, sample: dict, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from tlzoo.distillation import teacher as teacher_module

    calls: list[int] = []
    load = teacher_module.load_teacher

    def counted(folder: str) -> Any:
        loaded = load(folder)
        model = loaded.model  # the student is a copy, hooks included: count only this module's calls
        model.register_forward_hook(lambda module, args, kwargs, output: calls.append(len(kwargs["input_ids"]))
                                    if module is model else None, with_kwargs=True)
        return loaded

    monkeypatch.setattr(teacher_module, "load_teacher", counted)
    train = tmp_path / "train.csv"  # a file of its own: no earlier run's cache
    shutil.copy(sample["train"], train)
    rows = len(train.read_text().splitlines()) - 1
    options = {"train": str(train), "output": str(tmp_path / "s"), "epochs": 3, "batch_size": 16, "quiet": True}
    tlzoo.distill(teacher, "teacher:layers=1", **options)
    assert sum(calls) == rows  # three epochs, one pass of the teacher
    calls.clear()
    tlzoo.distill(teacher, "teacher:layers=1", overwrite=True, **options)
    assert calls == []  # read back from the Arrow cache


def test_a_student_backbone_with_another_tokenizer_works_on_a_sequence_task(teacher: str, sample: dict,
                                                                             tmp_path: Path) -> None:
    result = tlzoo.distill(teacher, "minilm-l6", train=sample["train"], output=str(tmp_path / "s"), max_steps=2,
                           quiet=True)
    manifest = json.loads(Path(result.output_dir, "tlzoo.json").read_text())
    assert manifest["backbone"]["name"] == "minilm-l6" and manifest["distillation"]["student"] == "minilm-l6"


def test_errors(teacher: str, sample: dict, tmp_path: Path) -> None:
    out = tmp_path / "out"
    common = ["--student", "teacher:layers=1", "--output", str(out)]
    not_a_model = tmp_path / "folder"
    not_a_model.mkdir()
    result = _distil(str(not_a_model), "--train", sample["train"], *common)
    assert result.exit_code == 1 and f"teacher {not_a_model} is not a tlzoo model folder" in result.output
    other_labels = tmp_path / "labels.csv"
    other_labels.write_text("text,label\ngood,positive\nmeh,neutral\n")
    result = _distil(teacher, "--train", str(other_labels), *common)
    assert result.exit_code == 1
    assert "label(s) neutral are not among the teacher's labels (negative, positive" in result.output
    from tlzoo_ner.sample import paths as ner_paths

    result = _distil(teacher, "--train", ner_paths()["train"], *common)
    assert result.exit_code == 1 and "is a 'classification' model, and the training data does not fit" in result.output
    result = _distil(teacher, "--train", sample["train"], "--student", "teacher:layers=5", "--output", str(out))
    assert result.exit_code == 1 and "the teacher has only 2 layers" in result.output
    result = _distil(teacher, "--train", sample["train"], "--alpha", "1.5", *common)
    assert result.exit_code == 1 and "--alpha must be in [0, 1]" in result.output
    result = _distil(teacher, "--train", sample["train"], "--strategy", "setfit", *common)
    assert result.exit_code == 1 and "--strategy setfit: a student learns from the teacher's outputs" in result.output
    assert not out.exists()


@pytest.mark.parametrize(("task", "sample_paths"), [("multilabel-classification", "multilabel_paths"),
                                                    ("text-regression", "regression_paths")])
def test_multilabel_and_regression_students_inherit_the_teachers_state(task: str, sample_paths: str,
                                                                       tmp_path: Path) -> None:
    from tlzoo_classification import sample

    files = getattr(sample, sample_paths)()
    teacher = tlzoo.train(task, backbone="tiny-bert", train=files["train"], validation=files["validation"],
                          output=str(tmp_path / "teacher"), max_steps=3, quiet=True)
    student = tlzoo.distill(teacher.output_dir, "teacher:layers=1", train=files["train"],
                            output=str(tmp_path / "student"), max_steps=3, quiet=True)
    theirs = json.loads(Path(teacher.output_dir, "tlzoo.json").read_text())["state"]
    mine = json.loads(Path(student.output_dir, "tlzoo.json").read_text())["state"]
    assert mine == theirs  # labels and tuned thresholds (no validation here to tune them again)
    assert all(record["loss"] == record["loss"] for record in student.history if record["event"] == "train")
    assert tlzoo.load(student.output_dir).predict(["the senator won the match"])


def test_an_interrupted_distillation_resumes_with_tlzoo_distill_resume(teacher: str, sample: dict, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from safetensors.torch import load_file

    from tlzoo.engine.loop import FitLoop

    options = {"train": sample["train"], "max_steps": 6, "save_every": 2, "batch_size": 16, "quiet": True,
               "temperature": 3.0, "alpha": 0.2}
    whole = tlzoo.distill(teacher, "teacher:layers=1", output=str(tmp_path / "whole"), **options)
    step = FitLoop._optimizer_step

    def interrupt_at_step_5(loop: FitLoop, group: Any) -> float:
        if loop.loop_state.step == 4:
            raise KeyboardInterrupt
        return step(loop, group)

    monkeypatch.setattr(FitLoop, "_optimizer_step", interrupt_at_step_5)
    with pytest.raises(KeyboardInterrupt, match="continue with: tlzoo distill --resume"):
        tlzoo.distill(teacher, "teacher:layers=1", output=str(tmp_path / "cut"), **options)
    monkeypatch.setattr(FitLoop, "_optimizer_step", step)
    resumed = CliRunner().invoke(cli, ["distill", "--resume", str(tmp_path / "cut")])
    assert resumed.exit_code == 0, resumed.output
    log = [json.loads(line) for line in (tmp_path / "cut" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["event"] == "resume"] == [4]
    manifest = json.loads((tmp_path / "cut" / "tlzoo.json").read_text())
    assert (manifest["distillation"]["temperature"], manifest["distillation"]["alpha"]) == (3.0, 0.2)
    mine, theirs = load_file(str(tmp_path / "cut" / "model.safetensors")), load_file(
        str(Path(whole.output_dir) / "model.safetensors"))
    assert all(mine[name].equal(theirs[name]) for name in theirs)
