"""A run killed with SIGKILL and resumed ends bit for bit where an uninterrupted run ends; a
2-process CPU (gloo) run, under torchrun and under accelerate launch, killed and resumed, with a
last batch smaller than the number of processes, matches a 1-process run within tolerance."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch
from safetensors.torch import load_file

from tlzoo.testing.toytask import NAME as TOY


def _cli(sample: dict, output: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tlzoo", "train", TOY, "--backbone", "tiny-bert",
            "--train", sample["train"], "--validation", sample["validation"], "--output", str(output),
            "--max-steps", "40", "--batch-size", "8", "--learning-rate", "3e-3", "--seed", "3",
            "--save-every", "4", "--eval-every", "10", "--keep-checkpoints", "3", "--quiet", *extra]


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def test_kill_9_then_resume_matches_an_uninterrupted_run(toy_plugin: None, toy_sample: dict, tmp_path: Path) -> None:
    reference = tmp_path / "reference"
    subprocess.run(_cli(toy_sample, reference), check=True, capture_output=True)

    interrupted = tmp_path / "interrupted"
    process = subprocess.Popen(_cli(toy_sample, interrupted), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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


def _dropout_free_tiny_bert(folder: Path) -> str:
    """tiny-bert saved without dropout: masks drawn per process cannot match one process's masks."""
    from transformers import BertModel

    from tlzoo.backbones.loading import tiny_bert_config, tiny_tokenizer

    config = tiny_bert_config()
    config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def distributed_options(toy_plugin_for_module: None, toy_sample: dict,
                        tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """41 training rows in batches of 8: each epoch ends on a 1-row batch, so one of two processes
    gets no row of it; 30 steps are 5 epochs, with an evaluation every 10 steps and checkpoints."""
    backbone = _dropout_free_tiny_bert(tmp_path_factory.mktemp("tiny-bert-no-dropout"))
    return [TOY, "--backbone", backbone, "--train", toy_sample["train"],
            "--validation", toy_sample["validation"], "--max-train-samples", "41", "--batch-size", "8",
            "--max-steps", "30", "--learning-rate", "3e-3", "--seed", "1", "--eval-every", "10",
            "--save-every", "3", "--keep-checkpoints", "3", "--quiet"]


@pytest.fixture(scope="module")
def one_process_run(distributed_options: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("one-process") / "run"
    subprocess.run([sys.executable, "-m", "tlzoo", "train", *distributed_options, "--output", str(output)],
                   check=True, capture_output=True)
    assert json.loads((output / "tlzoo.json").read_text())["processes"] == 1
    return output


def _launch_env() -> dict[str, str]:
    """Read when a launcher starts: ``toy_plugin`` puts the task's folder on ``PYTHONPATH`` for the workers."""
    return {**os.environ, "OMP_NUM_THREADS": "1"}


def _torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
            "-m", "tlzoo", "train", *args]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log(folder: Path, event: str) -> list[dict]:
    records = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k not in ("time", "samples_per_second")}
            for r in records if r["event"] == event]


def _assert_matches_one_process(run: Path, reference: Path) -> None:
    manifest = json.loads((run / "tlzoo.json").read_text())
    assert manifest["processes"] == 2, "the launcher started one process, not two"
    a, b = _weights(reference), _weights(run)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-5, rtol=1e-4), key
    for event in ("train", "eval"):
        got, expected = _log(run, event), _log(reference, event)
        assert len(got) == len(expected) and len(got) > 0
        for record, reference_record in zip(got, expected):
            assert record == pytest.approx(reference_record, abs=1e-5), event
    assert [r["step"] for r in _log(run, "eval")] == [10, 20, 30]
    expected = json.loads((reference / "metrics.json").read_text())["validation"]
    got = manifest["metrics"]["validation"]
    assert {k: v for k, v in got.items() if isinstance(v, float)} == pytest.approx(
        {k: v for k, v in expected.items() if isinstance(v, float)}, abs=1e-5)


@pytest.mark.slow
def test_torchrun_two_processes_killed_and_resumed_match_one_process(
        distributed_options: list[str], one_process_run: Path, tmp_path: Path) -> None:
    output = tmp_path / "two"
    process = subprocess.Popen(_torchrun(*distributed_options, "--output", str(output)), env=_launch_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None and not (output / "checkpoints/step-0000012").exists():
        time.sleep(0.01)
    workers = psutil.Process(process.pid).children(recursive=True)  # torchrun starts each in its own session
    for worker in workers:
        worker.kill()
    process.kill()
    process.wait()
    psutil.wait_procs(workers, timeout=30)
    assert len(workers) == 2
    assert not (output / "tlzoo.json").exists(), "the run ended before it could be killed"

    resumed = subprocess.run(_torchrun("--resume", str(output)), env=_launch_env(), capture_output=True,
                             text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    resumes = _log(output, "resume")
    assert len(resumes) == 1 and resumes[0]["step"] >= 12 and resumes[0]["processes"] == 2
    _assert_matches_one_process(output, one_process_run)


@pytest.mark.slow
def test_accelerate_launch_two_processes_match_one_process(
        distributed_options: list[str], one_process_run: Path, tmp_path: Path) -> None:
    output = tmp_path / "two"
    launched = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
         "--num_machines", "1", "--main_process_port", str(_free_port()), "--mixed_precision", "no",
         "--dynamo_backend", "no", "-m", "tlzoo", "train",
         *[option for option in distributed_options if option != "--quiet"], "--output", str(output)],
        capture_output=True, text=True, env=_launch_env(), timeout=300)
    assert launched.returncode == 0, launched.stderr[-3000:]
    assert launched.stdout.count("model saved to") == 1, launched.stdout
    assert [p.name for p in (output / "checkpoints").iterdir()] and not (output / ".staging").exists()
    _assert_matches_one_process(output, one_process_run)


def test_accelerate_launch_cpu_with_several_processes_is_refused(toy_plugin: None, toy_sample: dict,
                                                                 tmp_path: Path) -> None:
    """Accelerate's ``--cpu`` launcher starts one process whatever ``--num_processes`` says."""
    launched = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2",
         "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
         "-m", "tlzoo", "train", TOY, "--backbone", "tiny-bert", "--train", toy_sample["train"],
         "--output", str(tmp_path / "run"), "--max-steps", "1", "--quiet"],
        capture_output=True, text=True, env=_launch_env(), timeout=300)
    assert launched.returncode != 0
    assert "starts one process, not N" in launched.stderr and "torchrun --standalone" in launched.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("world", [1, 2, 3, 4])
@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 9])
def test_each_process_slice_weights_its_loss_so_the_average_is_the_global_mean(world: int, size: int) -> None:
    from types import SimpleNamespace

    from tlzoo.engine.loop import FitLoop

    rows = [float(i * i) for i in range(size)]
    slices = [FitLoop._my_slice(SimpleNamespace(accelerator=SimpleNamespace(num_processes=world, process_index=r)),
                                rows) for r in range(world)]
    assert all(mine for mine, _ in slices), "every process has a row to run (a collator cannot batch none)"
    assert [row for mine, weight in slices if weight for row in mine] == rows
    if size >= world:
        assert all(weight for _, weight in slices)
    # DDP averages the processes' gradients: the weighted per-process means must average to the mean.
    average = sum(weight * sum(mine) / len(mine) for mine, weight in slices) / world
    assert average == pytest.approx(sum(rows) / size)
