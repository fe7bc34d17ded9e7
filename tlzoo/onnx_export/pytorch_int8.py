"""``tlzoo export --format pytorch``: dynamic int8 of the Linear layers, the compressed path for generation tasks.

A generation model decodes token by token, so a single-graph ONNX export does not apply; PyTorch's dynamic
int8 of the Linear layers decodes faster than fp32 on the decoder-LM and BERT2BERT routes (measured in
docs/cli.md, tlzoo export: about 2x and 1.5x for one sentence). The folder keeps the source's
safetensors weights, config and tokenizer; ``tlzoo.json`` records ``"export": {"format": "pytorch",
"quantization": "dynamic-int8"}`` and loading quantises (:mod:`tlzoo.engine.quantize`), so nothing is
unpickled. The check against the source: the predictions on the task's example inputs (how many are
identical), and with ``--data`` the task's metrics of both.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tlzoo.onnx_export.run import folder_digest, metrics_lines

RUN_ONLY = frozenset({"tlzoo.json", "README.md", "log.jsonl", "run_config.json", "metrics.json", "curves.png"})
"""Files of a trained folder that describe the run, not the model; every other file is copied."""


def export_into(staging: Path, predictor: Any, examples: list[Any], data: str | None) -> tuple[str, dict[str, Any]]:
    """Write the folder into ``staging``; returns the weights file's name and the export report."""
    import torch

    from tlzoo.engine.quantize import DYNAMIC_INT8, quantize_linear

    source = predictor.folder
    copied = [path.name for path in sorted(source.iterdir()) if path.is_file() and path.name not in RUN_ONLY]
    for name in copied:
        shutil.copyfile(source / name, staging / name)
    predictor.model.cpu()
    predictor.device = torch.device("cpu")
    expected = predictor.predict(examples)
    metrics: dict[str, Any] = {"data": str(data), "source": predictor.evaluate(data)} if data else {}
    started = time.perf_counter()
    quantize_linear(predictor.model)
    seconds = time.perf_counter() - started
    got = predictor.predict(examples)
    if data:
        metrics["int8"] = predictor.evaluate(data)
    weights = sorted(name for name in copied if name.endswith(".safetensors"))
    export = {"format": "pytorch", "file": weights[0] if len(weights) == 1 else "model.safetensors.index.json",
              "quantization": DYNAMIC_INT8, "modules": "torch.nn.Linear",
              "source": {"path": str(source.resolve()), "sha256": folder_digest(source)},
              "versions": {name: _version(name) for name in ("torch", "transformers")},
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    report: dict[str, Any] = {
        "source": export["source"], "format": "pytorch", "file": export["file"], "quantization": DYNAMIC_INT8,
        "agreement": {"sample_inputs": len(examples),
                      "identical_predictions": sum(a == b for a, b in zip(expected, got, strict=True))},
        "quantize_seconds": round(seconds, 3),
        "size_bytes": {"weights_fp32": sum((staging / name).stat().st_size for name in weights)}}
    if metrics:
        report["metrics"] = metrics
    manifest = {**predictor.manifest, "export": export}
    (staging / "export_report.json").write_text(json.dumps(report, indent=2) + "\n")
    (staging / "README.md").write_text(model_card(manifest, report))
    (staging / "tlzoo.json").write_text(json.dumps(manifest, indent=2))
    return export["file"], report


def model_card(manifest: dict[str, Any], report: dict[str, Any]) -> str:
    export, agreement = manifest["export"], report["agreement"]
    lines = [f"# {manifest['task']} model exported by tlzoo (PyTorch, dynamic int8)", "",
             f"- task: `{manifest['task']}`; source folder `{export['source']['path']}` "
             f"(sha256 `{export['source']['sha256'][:16]}`)",
             f"- weights: `{export['file']}`, fp32 safetensors ({report['size_bytes']['weights_fp32']:,} bytes); "
             f"every Linear layer is quantised to int8 when the folder is loaded (`{export['quantization']}`, "
             f"about {report['quantize_seconds']:.1f} s), and runs on the CPU",
             f"- predictions identical to the source model's on the task's example inputs: "
             f"{agreement['identical_predictions']} of {agreement['sample_inputs']}"]
    lines += metrics_lines(report)
    lines += ["", "## Use", "", "```python", "import tlzoo", "", "model = tlzoo.load(\"path/to/this/folder\")",
              "model.predict([...])  # int8 Linear layers, on the CPU", "```", ""]
    return "\n".join(lines)


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)
