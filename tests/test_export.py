"""``tlzoo export``: every encoder task exports (fp32 and int8), reloads and predicts through the CLI with the
same output format as its source; bad folders, generation tasks, failed parity and a missing extra are one
clear error with nothing written. Tiny-bert models trained a few steps keep it fast."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tlzoo
from tlzoo.api import TlzooError

pytest.importorskip("onnxruntime")

PAIRS = "text,text_pair,label\n" + "".join(
    f"{a},{b},{label}\n" for a, b, label in [("a man sings", "someone sings", "same"),
                                             ("a dog runs", "a cat sleeps", "different"),
                                             ("the sun is hot", "it is warm out", "same"),
                                             ("kids play ball", "an old man reads", "different")] * 4)


def _sample(task: str, tmp: Path) -> dict[str, str]:
    if task == "pair":
        path = tmp / "pairs.csv"
        path.write_text(PAIRS)
        return {"train": str(path), "validation": str(path)}
    from tlzoo_classification import sample as cls_sample
    from tlzoo_ner.sample import paths as ner_paths
    from tlzoo_qa.sample import paths as qa_paths

    return {"classification": cls_sample.paths, "multilabel-classification": cls_sample.multilabel_paths,
            "text-regression": cls_sample.regression_paths, "ner": ner_paths, "extractive-qa": qa_paths}[task]()


INPUTS: dict[str, list[Any]] = {
    "classification": ["a great film", "dull and long"],
    "pair": [{"text": "a dog runs", "text_pair": "a dog is running"}],
    "multilabel-classification": ["the match ended in a draw"],
    "text-regression": [{"text": "a man sings", "text_pair": "a man is singing"}],
    "ner": ["Angela Merkel visited Paris on Tuesday."],
    "extractive-qa": [{"question": "Where is the tower?", "context": "The tower stands in Paris, France."}],
}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tlzoo", *args], capture_output=True, text=True, timeout=300)


def _close(a: Any, b: Any, tolerance: float) -> bool:
    """Same structure and strings; numbers within ``tolerance``."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_close(a[k], b[k], tolerance) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_close(x, y, tolerance) for x, y in zip(a, b))
    if isinstance(a, float):
        return isinstance(b, float) and abs(a - b) <= tolerance
    return a == b


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One tiny model per encoder task (and a text-pair classifier)."""
    root = tmp_path_factory.mktemp("export")
    folders = {}
    for name in INPUTS:
        task = "classification" if name == "pair" else name
        data = _sample(name, root)
        out = root / f"{name}-model"
        tlzoo.train(task, backbone="tiny-bert", train=data["train"], output=str(out), max_steps=2, batch_size=8,
                    quiet=True, seed=0)
        folders[name] = str(out)
    return folders


@pytest.mark.parametrize("name", list(INPUTS))
def test_every_encoder_task_exports_reloads_and_predicts_the_same_through_the_cli(
        name: str, trained: dict[str, str], tmp_path: Path) -> None:
    source = trained[name]
    quantize = "none" if name in ("classification", "ner") else "int8"
    out = tmp_path / "onnx"
    result = tlzoo.export(source, str(out), quantize=quantize)
    report = json.loads((out / "export_report.json").read_text())
    assert report == json.loads(json.dumps(result.report))
    assert report["parity"]["max_abs_diff"]["fp32"] <= 1e-4
    manifest = json.loads((out / "tlzoo.json").read_text())
    graph = "model.int8.onnx" if quantize == "int8" else "model.onnx"
    assert manifest["export"]["file"] == graph and manifest["export"]["quantization"] == quantize
    assert manifest["export"]["opset"] and len(manifest["export"]["source"]["sha256"]) == 64
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["README.md", "config.json", "export_report.json", graph, "tlzoo.json", "tokenizer.json",
         "tokenizer_config.json"])
    if quantize == "int8":
        assert report["size_bytes"]["int8"] < report["size_bytes"]["fp32"]
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text("".join(json.dumps(i if isinstance(i, dict) else {"text": i}) + "\n" for i in INPUTS[name]))
    got = _cli("predict", str(out), "--input", str(inputs))
    assert got.returncode == 0, got.stderr[-2000:]
    expected = tlzoo.load(source).predict(INPUTS[name])
    rows = [json.loads(line) for line in got.stdout.splitlines()]
    tolerance = 1e-4 if quantize == "none" else 0.05
    assert len(rows) == len(expected) and _close(json.loads(json.dumps(expected)), rows, tolerance), (expected, rows)


def test_the_cli_exports_and_prints_a_summary(trained: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "onnx"
    result = _cli("export", trained["classification"], "--output", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"exported to {out}/model.int8.onnx (size: fp32" in result.stdout and "int8" in result.stdout


def test_evaluate_and_data_metrics_side_by_side(trained: dict[str, str], tmp_path: Path) -> None:
    data = _sample("ner", tmp_path)["validation"]
    out = tmp_path / "onnx"
    result = tlzoo.export(trained["ner"], str(out), data=data)
    metrics = result.report["metrics"]
    assert set(metrics) == {"data", "source", "fp32", "int8"}
    assert metrics["fp32"]["f1"] == pytest.approx(metrics["source"]["f1"], abs=1e-6)
    evaluated = _cli("evaluate", str(out), "--data", data)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert json.loads(evaluated.stdout)["f1"] == pytest.approx(metrics["int8"]["f1"], abs=1e-6)
    card = (out / "README.md").read_text()
    assert "| f1 |" in card and "exported to ONNX" in card


def _leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if p.name.startswith(".")]


def test_errors_are_one_line_and_write_nothing(trained: dict[str, str], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _cli("export", str(empty), "--output", str(tmp_path / "out"))
    assert result.returncode == 1 and result.stderr.strip().count("\n") == 0
    assert "is not a tlzoo model folder" in result.stderr and not (tmp_path / "out").exists()

    generator = tmp_path / "translator"
    generator.mkdir()
    (generator / "tlzoo.json").write_text(json.dumps(
        {"task": "translation", "model_class": "AutoModelForSeq2SeqLM", "config": {}, "state": {}}))
    with pytest.raises(TlzooError, match="task 'translation' is not supported by the ONNX export: it generates"):
        tlzoo.export(str(generator), str(tmp_path / "out"), format="onnx")
    with pytest.raises(TlzooError, match="--format pytorch with --quantize none would copy the model unchanged"):
        tlzoo.export(str(generator), str(tmp_path / "out"), quantize="none")

    import tlzoo.onnx_export.run as run

    monkeypatch.setattr(run, "PARITY_TOLERANCE", -1.0)
    with pytest.raises(TlzooError, match="parity check failed: .*nothing was written"):
        tlzoo.export(trained["classification"], str(tmp_path / "out"))
    assert not (tmp_path / "out").exists() and not _leftovers(tmp_path)
    monkeypatch.undo()

    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    with pytest.raises(TlzooError, match="is not empty; pass --overwrite"):
        tlzoo.export(trained["classification"], str(tmp_path / "full"))

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(TlzooError, match=r"needs onnxruntime, which is not installed; install tlzoo\[export\]"):
        tlzoo.export(trained["classification"], str(tmp_path / "out"))


def test_an_export_is_not_exported_again_and_a_damaged_one_is_named(trained: dict[str, str],
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "onnx"
    tlzoo.export(trained["classification"], str(out), quantize="none")
    with pytest.raises(TlzooError, match="is already an ONNX export; export the folder it came from"):
        tlzoo.export(str(out), str(tmp_path / "again"))
    (out / "model.onnx").unlink()
    result = _cli("predict", str(out), "--text", "fine")
    assert result.returncode == 1 and "model.onnx is missing (the ONNX model)" in result.stderr


def test_export_help_imports_nothing_heavy() -> None:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "tlzoo", "export", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "--quantize [int8|none]" in result.stdout
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert not imported & {"torch", "transformers", "onnx", "onnxruntime"}


@pytest.mark.parametrize("backbone", ["tiny-gpt", "tiny-bert+tiny-bert"])
def test_a_generation_model_exports_to_pytorch_int8_and_predicts_and_evaluates_through_the_cli(
        backbone: str, tmp_path: Path) -> None:
    """The decoder-LM and BERT2BERT routes: safetensors weights, Linear layers quantised when loaded."""
    import torch
    from tlzoo_translation.sample import paths

    sample = paths()
    source = tmp_path / "model"
    tlzoo.train("translation", backbone=backbone, train=sample["train"], output=str(source), max_steps=2,
                batch_size=8, quiet=True, seed=0, max_new_tokens=4)
    out = tmp_path / "int8"
    result = _cli("export", str(source), "--output", str(out), "--data", sample["validation"])
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Linear layers quantised to int8 at load" in result.stdout and "int8: {'bleu'" in result.stdout
    manifest = json.loads((out / "tlzoo.json").read_text())
    assert manifest["export"]["format"] == "pytorch" and manifest["export"]["quantization"] == "dynamic-int8"
    assert manifest["export"]["file"] == "model.safetensors" and len(manifest["export"]["source"]["sha256"]) == 64
    assert not [p.name for p in out.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".pkl")]
    report = json.loads((out / "export_report.json").read_text())
    assert report["agreement"]["sample_inputs"] == 2 and set(report["metrics"]) == {"data", "source", "int8"}

    model = tlzoo.load(str(out))
    linears = [m for m in model.model.modules() if type(m).__name__ == "Linear"]
    assert linears and all(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in linears)
    inputs = tmp_path / "inputs.jsonl"
    inputs.write_text('{"text": "A man is walking."}\n{"text": "Two dogs run."}\n')
    got = _cli("predict", str(out), "--input", str(inputs))
    assert got.returncode == 0, got.stderr[-2000:]
    rows = [json.loads(line) for line in got.stdout.splitlines()]
    assert rows == model.predict(["A man is walking.", "Two dogs run."])
    assert len(rows) == 2 and all(set(r) == {"translation"} and isinstance(r["translation"], str) for r in rows)
    evaluated = _cli("evaluate", str(out), "--data", sample["validation"])
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert json.loads(evaluated.stdout)["bleu"] == pytest.approx(report["metrics"]["int8"]["bleu"], abs=1e-6)
    manifest["export"]["quantization"] = "int4"
    (out / "tlzoo.json").write_text(json.dumps(manifest))
    damaged = _cli("predict", str(out), "--text", "A dog.")
    assert damaged.returncode == 1 and damaged.stderr.strip().count("\n") == 0
    assert "corrupt (export quantization 'int4', expected 'dynamic-int8')" in damaged.stderr


def test_tlzoo_serve_answers_from_an_onnx_int8_export(trained: dict[str, str], tmp_path: Path, serve: Any) -> None:
    pytest.importorskip("fastapi", reason="tlzoo[serve] is not installed (make install adds it)")
    out = tmp_path / "sst2-int8"
    tlzoo.export(trained["classification"], str(out))
    server = serve(str(out))
    status, answer = server.post("/models/sst2-int8/predict", {"inputs": ["a great film", "dull and long"]})
    expected = tlzoo.load(str(out)).predict(["a great film", "dull and long"])
    assert status == 200 and [{k: a[k] for k in e} for a, e in zip(answer, expected)] == expected
