"""Options are typed and range-checked before anything is written; a run's folder lifecycle:
nothing left by a failed start, resume merged in the engine, a finished run not resumed, Ctrl-C
says what is kept, checkpoints pruned after success, and the card keeps data paths private."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import typing
from pathlib import Path

import pytest

import tlzoo
from tlzoo.api import TlzooError
from tlzoo.engine.config import TrainConfig
from tlzoo.engine.run import resolve_config
from tlzoo.testing.toytask import NAME as TOY


def _tlzoo(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tlzoo", *args], capture_output=True, text=True,
                          timeout=timeout)


def _cli_options(options: dict) -> list[str]:
    args: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        args += [flag] if value is True else [flag, str(value)]
    return args


def _stop_at(monkeypatch: pytest.MonkeyPatch, step: int, error: BaseException) -> None:
    """Make the optimizer step numbered ``step`` (1-based) raise ``error``."""
    from tlzoo.engine.loop import FitLoop

    original = FitLoop._optimizer_step

    def failing(self, group):  # noqa: ANN001, ANN202
        if self.loop_state.step + 1 == step:
            raise error
        return original(self, group)

    monkeypatch.setattr(FitLoop, "_optimizer_step", failing)


# -- 1. typed options, one path for YAML, CLI and the Python API ----------------------------------

def test_yaml_numeric_strings_are_coerced_and_bad_values_name_the_file(toy_plugin: None, tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("learning_rate: 3e-3\nmax_steps: '5'\ngroup_by_length: 'false'\neval_every: 10\n")
    config = resolve_config(TOY, str(good))
    assert config.learning_rate == pytest.approx(3e-3) and isinstance(config.learning_rate, float)
    assert config.max_steps == 5 and config.group_by_length is False and config.eval_every == "10"

    bad = tmp_path / "bad.yaml"
    bad.write_text("learning_rate: abc\n")
    with pytest.raises(TlzooError, match=r"^config file .*bad\.yaml: learning_rate must be a number, got 'abc'$"):
        resolve_config(TOY, str(bad))
    # --print-config validates too: one line, exit 1, no traceback.
    shown = _tlzoo("train", TOY, "--config", str(bad), "--print-config")
    assert shown.returncode == 1
    assert shown.stderr.strip().splitlines() == [
        f"error: config file {bad}: learning_rate must be a number, got 'abc'"]


@pytest.mark.parametrize(("options", "message"), [
    ({"learning_rate": "abc"}, "learning_rate must be a number, got 'abc'"),
    ({"max_steps": "5.5"}, "max_steps must be an integer, got '5.5'"),
    ({"max_steps": True}, "max_steps must be an integer, got True"),
    ({"quiet": "maybe"}, "quiet must be true or false, got 'maybe'"),
    ({"precision": "fp64"}, "precision must be one of fp32, bf16, fp16, got 'fp64'"),
    ({"train": 3.5}, "train must be a string, got 3.5"),
])
def test_python_api_rejects_badly_typed_options_before_writing(toy_options: dict, options: dict,
                                                               message: str) -> None:
    with pytest.raises(TlzooError, match="^" + message.replace(".", r"\.") + "$"):
        tlzoo.train(TOY, **{**toy_options, **options})
    assert not Path(toy_options["output"]).exists()


def test_python_api_coerces_numeric_strings(toy_plugin: None) -> None:
    config = resolve_config(TOY, max_steps="5", learning_rate="1e-4", output=Path("runs/x"))
    assert (config.max_steps, config.learning_rate, config.output) == (5, 1e-4, "runs/x")


def test_a_run_failing_before_its_first_step_leaves_nothing_behind(toy_options: dict, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _stop_at(monkeypatch, 1, RuntimeError("boom"))
    nested = tmp_path / "new" / "run"
    with pytest.raises(RuntimeError, match="boom"):
        tlzoo.train(TOY, **{**toy_options, "output": str(nested)})
    assert not (tmp_path / "new").exists(), "a folder the run created is removed"

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RuntimeError, match="boom"):
        tlzoo.train(TOY, **{**toy_options, "output": str(empty)})
    assert empty.is_dir() and not any(empty.iterdir()), "a folder that existed is left as it was"

    monkeypatch.undo()
    finished = tmp_path / "finished"
    tlzoo.train(TOY, **{**toy_options, "output": str(finished), "max_steps": 2})
    before = {p.relative_to(finished): p.read_bytes() for p in finished.rglob("*") if p.is_file()}
    _stop_at(monkeypatch, 1, RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        tlzoo.train(TOY, **{**toy_options, "output": str(finished), "overwrite": True})
    after = {p.relative_to(finished): p.read_bytes() for p in finished.rglob("*") if p.is_file()}
    assert after == before, "an old run that --overwrite would replace survives a failed start"

    # Nothing was left that refuses the rerun.
    monkeypatch.undo()
    tlzoo.train(TOY, **{**toy_options, "output": str(nested), "max_steps": 2})
    assert (nested / "tlzoo.json").is_file()


# -- 2. ranges ------------------------------------------------------------------------------------

def test_every_numeric_option_has_a_declared_range() -> None:
    from tlzoo.engine.config import LIMITS

    hints = typing.get_type_hints(TrainConfig)
    numeric = {f.name for f in dataclasses.fields(TrainConfig) if hints[f.name] in (int, float)}
    assert numeric == set(LIMITS)


@pytest.mark.parametrize(("options", "message"), [
    ({"learning_rate": -1}, "learning_rate must be > 0, got -1"),
    ({"max_steps": -5}, "max_steps must be >= 0, got -5"),
    ({"epochs": -1}, "epochs must be > 0, got -1"),
    ({"warmup_ratio": 1.5}, "warmup_ratio must be in [0, 1], got 1.5"),
    ({"lora_dropout": 1}, "lora_dropout must be in [0, 1), got 1"),
    ({"logging_steps": 0}, "logging_steps must be >= 1, got 0"),
    ({"weight_decay": float("nan")}, "weight_decay must be a finite number, got nan"),
    ({"eval_every": "0"}, "eval_every must be 'epoch', 'none' or a number of steps >= 1, got '0'"),
])
def test_out_of_range_options_are_one_line_errors(toy_options: dict, options: dict, message: str) -> None:
    with pytest.raises(TlzooError) as error:
        tlzoo.train(TOY, **{**toy_options, **options})
    assert str(error.value) == message
    assert not Path(toy_options["output"]).exists()


def test_cli_range_errors(toy_plugin: None, toy_sample: dict, tmp_path: Path) -> None:
    for flag, value, message in (("--learning-rate", "-1", "learning_rate must be > 0, got -1"),
                                 ("--max-steps", "-5", "max_steps must be >= 0, got -5")):
        result = _tlzoo("train", TOY, "--backbone", "tiny-bert", "--train", toy_sample["train"],
                        "--output", str(tmp_path / "run"), flag, value)
        assert result.returncode == 1
        assert result.stderr.strip() == f"error: {message}"
        assert not (tmp_path / "run").exists()


# -- 7 and issue 14: resume ------------------------------------------------------------------------

def _interrupted_run(options: dict, monkeypatch: pytest.MonkeyPatch, stop: int) -> Path:
    _stop_at(monkeypatch, stop, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt) as interrupted:
        tlzoo.train(TOY, **options)
    monkeypatch.undo()
    output = Path(options["output"])
    assert f"tlzoo train --resume {output}" in str(interrupted.value)
    return output


def test_resume_merges_the_saved_configuration_in_the_engine(toy_options: dict, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    options = {**toy_options, "max_steps": 6, "save_every": 2, "eval_every": "none"}
    output = _interrupted_run(options, monkeypatch, stop=4)
    # Only the folder: task, data and every option come from the saved run configuration.
    result = tlzoo.train(TOY, output=str(output), resume=True)
    assert result.metrics["train"]["steps"] == 6
    assert [r["step"] for r in result.history if r["event"] == "resume"] == [2]
    assert result.config.learning_rate == options["learning_rate"]

    # `--resume` without a folder takes `output:` from the --config file.
    second = _interrupted_run({**options, "output": str(tmp_path / "second")}, monkeypatch, stop=4)
    config = tmp_path / "run.yaml"
    config.write_text(f"output: {second}\n")
    resumed = _tlzoo("train", TOY, "--config", str(config), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    log = [json.loads(line) for line in (second / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["event"] == "resume"] == [2]
    assert (second / "tlzoo.json").is_file()


def test_resume_of_a_finished_run_is_refused(toy_options: dict) -> None:
    result = tlzoo.train(TOY, **{**toy_options, "max_steps": 2})
    manifest = Path(result.output_dir) / "tlzoo.json"
    before = manifest.read_bytes(), manifest.stat().st_mtime_ns
    refused = _tlzoo("train", "--resume", result.output_dir)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (f"error: {result.output_dir} is a finished run (tlzoo.json); nothing to "
                                      f"resume. To train it again, use --overwrite instead of --resume")
    with pytest.raises(TlzooError, match="is a finished run"):
        tlzoo.train(TOY, output=result.output_dir, resume=True)
    assert (manifest.read_bytes(), manifest.stat().st_mtime_ns) == before


def test_interrupt_before_the_first_step_leaves_nothing(toy_options: dict,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _stop_at(monkeypatch, 1, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt, match="before the first training step; nothing was kept"):
        tlzoo.train(TOY, **toy_options)
    assert not Path(toy_options["output"]).exists()


def test_ctrl_c_says_what_is_kept_and_how_to_resume(toy_plugin: None, toy_sample: dict, tmp_path: Path) -> None:
    output = tmp_path / "run"
    options = {"backbone": "tiny-bert", "train": toy_sample["train"], "output": output, "max_steps": 100000,
               "batch_size": 4, "save_every": 3, "eval_every": "none", "quiet": True}
    # SIGINT restored to its default in the child: a shell without job control starts background
    # commands (and so this test's pytest) with SIGINT ignored, and Python would keep ignoring it.
    process = subprocess.Popen([sys.executable, "-m", "tlzoo", "train", TOY,
                                *_cli_options(options)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.time() + 180
        while time.time() < deadline and not [p for p in (output / "checkpoints").glob("step-*")
                                              if int(p.name[5:]) >= 6]:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    message = stderr.strip().splitlines()[-1]
    assert message.startswith("interrupted at step ")
    kept = sorted((output / "checkpoints").glob("step-*"))[-1]
    step = int(kept.name.split("-")[1])
    assert f"kept checkpoint {kept} (step {step})" in message
    command = f"tlzoo train --resume {output}"
    assert message.endswith(f"continue with: {command}")
    # The printed command works (given a shorter run so the test stays quick).
    resumed = _tlzoo(*shlex.split(command)[1:], "--max-steps", str(step + 1))
    assert resumed.returncode == 0, resumed.stderr
    assert (output / "tlzoo.json").is_file()


# -- 12. checkpoints after a successful run ------------------------------------------------------

def test_checkpoints_are_pruned_after_a_successful_run(toy_options: dict, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from tlzoo.engine import checkpoint

    during: list[list[str]] = []
    original = checkpoint.prune

    def recording(folder: Path, keep: int, protect: Path | None) -> None:
        original(folder, keep, protect)
        during.append([p.name for p in checkpoint.list_checkpoints(folder)])

    monkeypatch.setattr(checkpoint, "prune", recording)
    options = {**toy_options, "max_steps": 8, "eval_every": "4", "save_every": 2}
    result = tlzoo.train(TOY, **options)
    assert not (Path(result.output_dir) / "checkpoints").exists(), "none kept by default"
    assert all(1 <= len(names) <= 2 for names in during[:-1]), during  # newest (+ best) to resume from
    assert during[-1] == []

    kept = tlzoo.train(TOY, **{**options, "output": str(tmp_path / "kept"),
                                             "keep_checkpoints": 2})
    names = [p.name for p in checkpoint.list_checkpoints(Path(kept.output_dir))]
    assert names == ["step-0000006", "step-0000008"]


# -- issue 14: the card keeps data paths private -------------------------------------------------

def test_manifest_and_card_record_data_names_and_hashes_not_paths(toy_options: dict, toy_sample: dict) -> None:
    result = tlzoo.train(TOY, **{**toy_options, "max_steps": 2})
    out = Path(result.output_dir)
    manifest = json.loads((out / "tlzoo.json").read_text())
    assert manifest["data"]["train"]["name"] == Path(toy_sample["train"]).name
    assert len(manifest["data"]["train"]["sha256"]) == 64
    for name in ("tlzoo.json", "README.md"):
        text = (out / name).read_text()
        assert str(Path(toy_sample["train"]).parent) not in text, name
        assert str(out) not in text, name
    assert f"train `{Path(toy_sample['train']).name}`" in (out / "README.md").read_text()
    assert tlzoo.load(str(out)).predict(["fine"])[0]["label"] in ("no", "yes")
