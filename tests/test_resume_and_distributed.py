"""A run killed with SIGKILL and resumed ends bit for bit where an uninterrupted run ends; a
2-process CPU (gloo) run matches a 1-process run within tolerance."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file


def _cli(sample: dict, output: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tlzoo", "train", "classification", "--backbone", "tiny-bert",
            "--train", sample["train"], "--validation", sample["validation"], "--output", str(output),
            "--max-steps", "40", "--batch-size", "8", "--learning-rate", "3e-3", "--seed", "3",
            "--save-every", "4", "--eval-every", "10", "--keep-checkpoints", "3", "--quiet", *extra]


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def test_kill_9_then_resume_matches_an_uninterrupted_run(sample: dict, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    subprocess.run(_cli(sample, reference), check=True, capture_output=True)

    interrupted = tmp_path / "interrupted"
    process = subprocess.Popen(_cli(sample, interrupted), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    checkpoints = interrupted / "checkpoints"
    while time.time() < deadline and not list(checkpoints.glob("step-0000012")):
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (interrupted / "tlzoo.json").exists(), "the run finished before it could be killed"
    assert (interrupted / "run_config.json").is_file()

    resumed = subprocess.run([sys.executable, "-m", "tlzoo", "train", "--resume", str(interrupted)],
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    log = [json.loads(line) for line in (interrupted / "log.jsonl").read_text().splitlines()]
    resumes = [r["step"] for r in log if r["event"] == "resume"]
    assert len(resumes) == 1 and resumes[0] >= 12
    a, b = _weights(reference), _weights(interrupted)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    metrics_a = json.loads((reference / "metrics.json").read_text())["validation"]
    metrics_b = json.loads((interrupted / "metrics.json").read_text())["validation"]
    assert metrics_a == metrics_b
    steps = [r["step"] for r in log if r["event"] == "train"]
    assert steps == sorted(set(steps)), "the resumed log replays no step twice"


@pytest.mark.slow
def test_two_process_gloo_run_matches_one_process(sample: dict, tmp_path: Path) -> None:
    common = ["--max-steps", "20", "--batch-size", "16", "--learning-rate", "3e-3", "--seed", "1",
              "--backbone", "tiny-bert", "--train", sample["train"], "--validation", sample["validation"],
              "--quiet"]
    single = tmp_path / "one"
    subprocess.run([sys.executable, "-m", "tlzoo", "train", "classification", "--output", str(single), *common],
                   check=True, capture_output=True)
    double = tmp_path / "two"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    launched = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2",
         "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
         "-m", "tlzoo", "train", "classification", "--output", str(double), *common],
        capture_output=True, text=True, env=env, timeout=600)
    assert launched.returncode == 0, launched.stderr[-3000:]
    a, b = _weights(single), _weights(double)
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-4, rtol=1e-3), key
