"""The three tasks train, save, reload and predict; metrics match scikit-learn's definitions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tlzoo_classification import sample as samples

import tlzoo
from tlzoo.metrics.scores import ClassificationReport, MultiLabelReport, RegressionReport, roc_auc

FAST = {"backbone": "tiny-bert", "quiet": True, "seed": 0, "learning_rate": 3e-3, "batch_size": 16,
        "warmup_ratio": 0.0}


def test_multilabel_learns_and_tunes_thresholds(tmp_path: Path) -> None:
    files = samples.multilabel_paths()
    result = tlzoo.train("multilabel-classification", train=files["train"], validation=files["validation"],
                         output=str(tmp_path / "ml"), epochs=10, **FAST)
    manifest = json.loads((tmp_path / "ml" / "tlzoo.json").read_text())
    assert manifest["state"]["labels"] == ["economy", "politics", "science", "sports"]
    assert len(manifest["state"]["thresholds"]) == 4
    assert result.metrics["validation"]["micro_f1"] > 0.5
    prediction = tlzoo.load(str(tmp_path / "ml")).predict(["the striker and the election made headlines"])[0]
    assert set(prediction["scores"]) == {"economy", "politics", "science", "sports"}
    assert list(prediction["scores"].values()) == sorted(prediction["scores"].values(), reverse=True)


def test_multilabel_per_step_and_final_micro_f1_are_comparable(tmp_path: Path) -> None:
    """Per-step evaluations score at thresholds tuned as the final calibration does, so the checkpoint
    kept (the best per-step micro_f1) scores the same once calibrated; each says which thresholds."""
    files = samples.multilabel_paths()
    result = tlzoo.train("multilabel-classification", train=files["train"], validation=files["validation"],
                         output=str(tmp_path / "ml"), epochs=4, **FAST)
    evals = [h for h in result.history if h.get("event") == "eval"]
    assert len(evals) == 4 and all("eval_micro_f1_at_0.5" in h for h in evals)
    final = result.metrics["validation"]
    assert final["micro_f1"] == pytest.approx(max(h["eval_micro_f1"] for h in evals))
    assert final["thresholds"] == "tuned on validation"
    assert 0 <= final["micro_f1_at_0.5"] <= 1
    reloaded = tlzoo.load(str(tmp_path / "ml")).evaluate(files["validation"])
    assert reloaded["micro_f1"] == pytest.approx(final["micro_f1"]) and reloaded["thresholds"] == "tuned on validation"


def test_regression_on_pairs(tmp_path: Path) -> None:
    files = samples.regression_paths()
    result = tlzoo.train("text-regression", train=files["train"], validation=files["validation"],
                         output=str(tmp_path / "reg"), epochs=30, **FAST)
    assert set(result.metrics["validation"]) >= {"pearson", "spearman", "mse"}
    model = tlzoo.load(str(tmp_path / "reg"))
    pairs = [["a dog is swimming", "a dog is swimming"], ["a dog is swimming", "a chef is sleeping"]]
    same, other = model.predict(pairs)
    assert same["score"] > other["score"]
    assert result.metrics["validation"]["pearson"] > 0.3
    from transformers import AutoModelForSequenceClassification

    assert AutoModelForSequenceClassification.from_pretrained(tmp_path / "reg").config.problem_type == "regression"


def test_classification_report_matches_sklearn() -> None:
    sklearn = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    gold = rng.integers(0, 3, 200).tolist()
    pred = [g if rng.random() < 0.7 else int(rng.integers(0, 3)) for g in gold]
    report = ClassificationReport(labels=[0, 1, 2]).compute(pred, gold)
    assert report["accuracy"] == pytest.approx(sklearn.accuracy_score(gold, pred))
    assert report["macro_f1"] == pytest.approx(sklearn.f1_score(gold, pred, average="macro"))
    assert report["weighted_f1"] == pytest.approx(sklearn.f1_score(gold, pred, average="weighted"))
    assert report["macro_precision"] == pytest.approx(sklearn.precision_score(gold, pred, average="macro"))
    assert report["confusion_matrix"] == sklearn.confusion_matrix(gold, pred).tolist()
    scores = rng.random(200)
    positives = (rng.random(200) < 0.4).tolist()
    assert roc_auc(scores, positives) == pytest.approx(sklearn.roc_auc_score(positives, scores))


def test_multilabel_and_regression_numbers() -> None:
    report = MultiLabelReport(labels=["a", "b"]).compute([["a"], ["a", "b"], []], [["a"], ["b"], ["b"]])
    # tp: a=1, b=1; fp: a=1; fn: b=1 -> micro P = 2/3, R = 2/3
    assert report["micro_f1"] == pytest.approx(2 / 3)
    assert report["subset_accuracy"] == pytest.approx(1 / 3)
    assert report["macro_f1"] == pytest.approx((2 / 3 + 2 / 3) / 2)
    regression = RegressionReport().compute([1.0, 2.0, 3.0, 5.0], [1.0, 2.0, 3.0, 4.0])
    assert regression["spearman"] == pytest.approx(1.0)
    assert regression["mse"] == pytest.approx(0.25)
    assert regression["pearson"] == pytest.approx(np.corrcoef([1, 2, 3, 5], [1, 2, 3, 4])[0, 1])


def test_cli_train_predict_evaluate(tmp_path: Path) -> None:
    files = samples.paths()
    out = tmp_path / "cli"
    tlzoo_cli = [sys.executable, "-m", "tlzoo"]
    trained = subprocess.run([*tlzoo_cli, "train", "classification", "--backbone", "tiny-bert", "--train",
                              files["train"], "--validation", files["validation"], "--output", str(out),
                              "--max-steps", "5", "--text-column", "text"], capture_output=True, text=True)
    assert trained.returncode == 0, trained.stderr
    assert "validation: {" in trained.stdout and "model saved to" in trained.stdout
    inputs = tmp_path / "in.txt"
    inputs.write_text("great fun\n\nterrible\n")
    predicted = subprocess.run([*tlzoo_cli, "predict", str(out), "--input", str(inputs), "--output",
                                str(tmp_path / "p.jsonl")], capture_output=True, text=True)
    assert predicted.returncode == 0, predicted.stderr
    lines = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert len(lines) == 3 and all(line["label"] in ("negative", "positive") for line in lines)  # blank: ""
    piped = subprocess.run([*tlzoo_cli, "predict", str(out), "--input", "-"], input='{"text": "so good"}\n',
                           capture_output=True, text=True)
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["label"] in ("negative", "positive")
    evaluated = subprocess.run([*tlzoo_cli, "evaluate", str(out), "--data", files["validation"]],
                               capture_output=True, text=True)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "accuracy" in json.loads(evaluated.stdout)
    bad = subprocess.run([*tlzoo_cli, "train", "classification", "--backbone", "tiny-bert", "--train",
                          files["train"], "--output", str(out), "--max-steps", "5"], capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.strip().startswith("error:") and len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr


def test_conformance_kit_passes() -> None:
    checked = subprocess.run([sys.executable, "-m", "tlzoo", "check", "tlzoo-classification"],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
