"""Export a trained folder: check it, trace, optimise, quantise, check parity, write the folder atomically.

The exported folder is an ordinary tlzoo model folder: ``tlzoo.json`` is the source manifest plus an
``export`` entry (file, quantisation, opset, the source folder's hash), so ``tlzoo.load`` picks the
onnxruntime backend and the task's pre- and post-processing run unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tlzoo.api import TlzooError

PARITY_TOLERANCE = 1e-4
"""Largest absolute difference allowed between the fp32 export's outputs and PyTorch's."""
REDUCE_RANGE = False
"""7-bit weights avoid int8 overflow on CPUs without VNNI; this one (and any AVX512-VNNI/AMX Xeon) has it,
and full-range weights lost less (see docs/benchmarks.md, export)."""
QUANTIZATIONS = ("int8", "none")
FORMATS = ("onnx", "pytorch")
"""onnx: one graph on onnxruntime (encoder tasks); pytorch: safetensors weights whose Linear layers are
quantised to int8 at load (any task; the default for generation tasks, see :mod:`.pytorch_int8`)."""


@dataclass
class ExportResult:
    output_dir: str
    file: str
    report: dict[str, Any]


def export(model_dir: str, output: str, format: str | None = None, quantize: str = "int8", data: str | None = None,
           overwrite: bool = False, reduce_range: bool = REDUCE_RANGE) -> ExportResult:
    """Export ``model_dir`` (a folder written by ``tlzoo train``) to ``output``; nothing is written on failure.

    ``format`` defaults to ``onnx`` for encoder tasks and ``pytorch`` for generation tasks.
    """
    from tlzoo.engine.backends import require_export_extra
    from tlzoo.engine.model_folder import read_manifest, task_spec

    if format is not None and format not in FORMATS:
        raise TlzooError(f"--format {format!r} is not supported; expected one of {', '.join(FORMATS)}")
    if quantize not in QUANTIZATIONS:
        raise TlzooError(f"--quantize {quantize!r} is not supported; expected one of {', '.join(QUANTIZATIONS)}")
    source, target = Path(model_dir), Path(output)
    manifest = read_manifest(source)
    if "export" in manifest:
        origin = (manifest["export"].get("source") or {}).get("path", "its source folder")
        raise TlzooError(f"{source} is already an ONNX export; export the folder it came from ({origin})")
    spec = task_spec(source, manifest)
    task_cls = spec.load()
    generative = getattr(task_cls, "generative", False)
    format = format or ("pytorch" if generative else "onnx")
    if format == "onnx" and generative:
        raise TlzooError(f"{source}: task {manifest['task']!r} is not supported by the ONNX export: it generates "
                         f"text token by token in a decoding loop; the ONNX export covers encoder tasks, whose "
                         f"prediction is one forward pass; use --format pytorch (dynamic int8 of the Linear layers)")
    if format == "pytorch" and quantize != "int8":
        raise TlzooError("--format pytorch with --quantize none would copy the model unchanged; use the trained "
                         "folder itself, or --quantize int8")
    examples = spec.metadata.get("example_inputs")
    if not isinstance(examples, Sequence) or isinstance(examples, str) or not examples:
        raise TlzooError(f"{source}: task {manifest['task']!r} declares no example_inputs (spec metadata), which "
                         f"the parity check runs on")
    _check_target(source, target, overwrite)
    if data is not None and not Path(data).is_file():
        raise TlzooError(f"--data file {data} does not exist")
    if format == "onnx":
        require_export_extra("tlzoo export")

    from tlzoo.engine.predictor import Predictor

    predictor = Predictor.load(str(source))
    if format == "onnx":
        _check_encoder(source, predictor.model)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.export-", dir=target.parent))
    try:
        if format == "onnx":
            result = _export_into(staging, predictor, list(examples), quantize, data, reduce_range)
        else:
            from tlzoo.onnx_export.pytorch_int8 import export_into

            result = export_into(staging, predictor, list(examples), data)
        _publish(staging, target, overwrite)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(str(target), result[0], result[1])


def _check_target(source: Path, target: Path, overwrite: bool) -> None:
    if target.resolve() == source.resolve():
        raise TlzooError(f"--output {target} is the model folder itself; choose a new folder")
    if target.exists() and not target.is_dir():
        raise TlzooError(f"output {target} exists and is not a folder")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise TlzooError(f"output folder {target} is not empty; pass --overwrite to replace it")


def _check_encoder(source: Path, model: Any) -> None:
    config = getattr(model, "config", None)
    name = type(model).__name__
    if getattr(config, "is_encoder_decoder", False) or name.endswith(("CausalLM", "Seq2SeqLM", "LMHeadModel")):
        raise TlzooError(f"{source}: model type {name} is not supported by the ONNX export: it is a text "
                         f"generator (decoding loop); the export covers encoders with a task head")


def _export_into(staging: Path, predictor: Any, examples: list[Any], quantize: str, data: str | None,
                 reduce_range: bool) -> tuple[str, dict[str, Any]]:
    from tlzoo.engine.backends import OnnxModel
    from tlzoo.onnx_export.graph import OPSET, export_graph, optimize_graph, quantize_graph

    trace_batch, parity_batches = _sample_batches(predictor, examples)
    fp32, int8 = staging / "model.onnx", staging / "model.int8.onnx"
    with tempfile.TemporaryDirectory(dir=staging) as scratch:
        raw = Path(scratch) / "raw.onnx"
        export_graph(predictor.model, trace_batch, raw)
        fusions = optimize_graph(raw, fp32, predictor.model.config)
    fp32_diff = _max_diff(predictor.model, OnnxModel(fp32), parity_batches)
    if not fp32_diff <= PARITY_TOLERANCE:
        raise TlzooError(f"parity check failed: the fp32 ONNX export differs from PyTorch by {fp32_diff:.2e} "
                         f"(more than {PARITY_TOLERANCE:g}) on the task's example inputs; nothing was written")
    report: dict[str, Any] = {
        "parity": {"tolerance": PARITY_TOLERANCE, "sample_inputs": len(examples),
                   "max_abs_diff": {"fp32": fp32_diff}},
        "fusions": fusions, "size_bytes": {"fp32": fp32.stat().st_size}}
    if quantize == "int8":
        quantize_graph(fp32, int8, reduce_range)
        report["parity"]["max_abs_diff"]["int8"] = _max_diff(predictor.model, OnnxModel(int8), parity_batches)
        report["size_bytes"]["int8"] = int8.stat().st_size
    if data:
        report["metrics"] = _metrics(predictor, data, {"fp32": fp32, **({"int8": int8} if quantize == "int8" else {})})
    shipped = int8 if quantize == "int8" else fp32
    if shipped is int8:
        fp32.unlink()
    manifest = dict(predictor.manifest)
    manifest["export"] = _lineage(predictor.folder, shipped.name, quantize, OPSET, reduce_range)
    report = {"source": manifest["export"]["source"], "file": shipped.name, "quantization": quantize, **report}
    predictor.tokenizer.save_pretrained(staging)
    shutil.copyfile(predictor.folder / "config.json", staging / "config.json")
    (staging / "export_report.json").write_text(json.dumps(report, indent=2) + "\n")
    (staging / "README.md").write_text(model_card(manifest, report))
    (staging / "tlzoo.json").write_text(json.dumps(manifest, indent=2))
    return shipped.name, report


def _sample_batches(predictor: Any, examples: list[Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A padded batch to trace, and the batches the parity check compares (all samples; the first alone)."""
    from tlzoo.engine.data import model_columns, tokenize

    task = predictor.task
    features = tokenize(task, task.inputs_to_examples(examples), predictor.tokenizer, predictor.state,
                        predictor.max_length, False, "tokenising")
    columns = [c for c in model_columns(predictor.model, features) if c != "labels"]
    rows = [{c: list(features[c][i]) for c in columns} for i in range(len(features))]
    longest = max(rows, key=lambda r: len(r[columns[0]]))
    cut = max(2, len(longest[columns[0]]) // 2)
    short = {c: v[:cut] for c, v in longest.items()}  # guarantees padding in the traced batch
    trace = dict(predictor.collator([*rows, short]))
    return trace, [dict(predictor.collator(rows)), dict(predictor.collator(rows[:1]))]


def _max_diff(model: Any, exported: Any, batches: list[dict[str, Any]]) -> float:
    """Largest absolute difference of any output on any real (unpadded) token, over the batches."""
    import numpy as np
    import torch

    worst = 0.0
    with torch.inference_mode():
        for batch in batches:
            expected, got = model(**batch), exported(**batch)
            mask = batch.get("attention_mask")
            keep = (mask if mask is not None else torch.ones_like(batch["input_ids"])).bool().numpy()
            for name in exported.output_names:
                a, b = expected[name].float().numpy(), got[name].float().numpy()
                if a.shape != b.shape:
                    return float("inf")
                if a.ndim > 1 and a.shape[:2] == keep.shape:
                    a, b = a[keep], b[keep]
                worst = max(worst, float(np.abs(a - b).max()))
    return worst


def _metrics(predictor: Any, data: str, graphs: Mapping[str, Path]) -> dict[str, Any]:
    """The task's metrics on ``data`` for the source model and each export, side by side."""
    from tlzoo.engine.backends import OnnxModel
    from tlzoo.engine.predictor import Predictor

    metrics = {"data": str(data), "source": predictor.evaluate(data)}
    for name, path in graphs.items():
        onnx = Predictor(predictor.folder, predictor.manifest, predictor.task, OnnxModel(path), predictor.tokenizer)
        metrics[name] = onnx.evaluate(data)
    return metrics


def _lineage(source: Path, file: str, quantize: str, opset: int, reduce_range: bool) -> dict[str, Any]:
    from importlib.metadata import version

    return {"format": "onnx", "file": file, "quantization": quantize, "opset": opset,
            **({"per_channel": True, "reduce_range": reduce_range} if quantize == "int8" else {}),
            "source": {"path": str(source.resolve()), "sha256": folder_digest(source)},
            "versions": {name: version(name) for name in ("torch", "onnx", "onnxruntime", "transformers")},
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def folder_digest(folder: Path) -> str:
    """SHA-256 over the files that define a trained model: manifest, configuration and weights."""
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file() and (path.name in ("tlzoo.json", "config.json") or path.suffix == ".safetensors"):
            digest.update(path.name.encode() + b"\0")
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
    return digest.hexdigest()


def _publish(staging: Path, target: Path, overwrite: bool) -> None:
    """Move the finished folder into place; an old folder (with --overwrite) is replaced, never merged."""
    _check_target(staging, target, overwrite)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def model_card(manifest: dict[str, Any], report: dict[str, Any]) -> str:
    export = manifest["export"]
    diffs = report["parity"]["max_abs_diff"]
    lines = [f"# {manifest['task']} model exported to ONNX by tlzoo", "",
             f"- task: `{manifest['task']}`; source folder `{export['source']['path']}` "
             f"(sha256 `{export['source']['sha256'][:16]}`)",
             f"- file: `{export['file']}` ({report['size_bytes'][export['quantization'].replace('none', 'fp32')]:,} "
             f"bytes), opset {export['opset']}, quantisation `{export['quantization']}`",
             "- parity with PyTorch (max abs output difference on the task's example inputs): "
             + ", ".join(f"{k} {v:.2e}" for k, v in diffs.items())]
    lines += metrics_lines(report)
    lines += ["", "## Use", "", "```python", "import tlzoo", "", "model = tlzoo.load(\"path/to/this/folder\")",
              "model.predict([...])  # runs on onnxruntime", "```", ""]
    return "\n".join(lines)


def metrics_lines(report: dict[str, Any]) -> list[str]:
    """The model card's table of the task's metrics on ``--data`` (source and exports side by side), if any."""
    if "metrics" not in report:
        return []
    metrics = report["metrics"]
    models = [k for k in metrics if k != "data"]
    keys = [k for k, v in metrics["source"].items() if isinstance(v, (int, float))]
    lines = ["", f"## Metrics on `{metrics['data']}`", "", "| metric | " + " | ".join(models) + " |",
             "| --- |" + " --- |" * len(models)]
    return lines + [f"| {k} | " + " | ".join(_cell(metrics[m].get(k)) for m in models) + " |" for k in keys]


def _cell(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
