"""``--strategy setfit``: pairs drawn from the labelled examples, the encoder tuned on them, the mean-pool head
fitted on its embeddings; the result is a normal classification folder (evaluate and predict from the CLI)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import tlzoo
from tlzoo.api import TlzooError
from tlzoo.engine.setfit import contrastive_pairs
from tlzoo.testing.toytask import NAME as TOY


def test_pairs_hold_one_positive_and_one_negative_per_example_and_round() -> None:
    labels = [0, 0, 1, 1, 1, 2]
    pairs = contrastive_pairs(labels, iterations=3, seed=1)
    assert len(pairs) == 2 * 3 * len(labels)
    assert all((labels[i] == labels[j]) == (score == 1.0) for i, j, score in pairs)
    assert Counter(score for _, _, score in pairs) == {1.0: 18, 0.0: 18}
    assert Counter(i for i, _, _ in pairs) == {i: 6 for i in range(len(labels))}
    assert pairs == contrastive_pairs(labels, iterations=3, seed=1) != contrastive_pairs(labels, 3, seed=2)
    with pytest.raises(TlzooError, match="at least two labels"):
        contrastive_pairs([1, 1, 1], iterations=2, seed=0)


def test_setfit_trains_a_mean_pool_classifier_from_the_cli(toy_plugin: None, toy_sample: dict[str, str],
                                                           tmp_path: Path) -> None:
    output = tmp_path / "few"
    options = ["--strategy", "setfit", "--backbone", "tiny-bert", "--train", toy_sample["train"], "--validation",
               toy_sample["validation"], "--output", str(output), "--setfit-iterations", "2",
               "--setfit-learning-rate", "1e-3", "--epochs", "1", "--max-train-samples", "16", "--quiet"]
    run = subprocess.run([sys.executable, "-m", "tlzoo", "train", TOY, *options], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    manifest = json.loads((output / "tlzoo.json").read_text())
    assert manifest["head"] == "mean-pool" and manifest["config"]["strategy"] == "setfit"
    setfit = [json.loads(line) for line in (output / "log.jsonl").read_text().splitlines()][0]
    assert setfit["event"] == "setfit" and setfit["setfit_pairs"] == 2 * 2 * 16
    assert setfit["setfit_head_train_accuracy"] >= 0.9  # the fitted logistic regression separates its examples
    assert manifest["metrics"]["validation"]["accuracy"] >= 0.75
    evaluated = subprocess.run([sys.executable, "-m", "tlzoo", "evaluate", str(output), "--data",
                                toy_sample["validation"]], capture_output=True, text=True, timeout=600)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["accuracy"] == pytest.approx(manifest["metrics"]["validation"]["accuracy"])
    predicted = subprocess.run([sys.executable, "-m", "tlzoo", "predict", str(output), "--text", "a good day"],
                               capture_output=True, text=True, timeout=600)
    assert json.loads(predicted.stdout)["label"] in ("yes", "no")


def test_setfit_refuses_other_heads_and_streaming(toy_options: dict) -> None:
    with pytest.raises(TlzooError, match="--strategy setfit trains the mean-pool head, not --head mlp"):
        tlzoo.train(TOY, strategy="setfit", **{**toy_options, "head": "mlp"})
    with pytest.raises(TlzooError, match="drop --streaming"):
        tlzoo.train(TOY, strategy="setfit", streaming=True, **toy_options)
    assert not Path(toy_options["output"]).exists()
