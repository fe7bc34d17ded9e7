"""The output folder: model in ``save_pretrained`` layout, tokenizer, manifest, card, metrics, plot.

Final files are written to a staging folder and moved into place, the manifest last, so a folder
with ``tlzoo.json`` is always complete.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

MANIFEST = "tlzoo.json"
STAGING = ".staging"
RUN_CONFIG = "run_config.json"
RUN_FILES = (MANIFEST, "checkpoints", "log.jsonl", RUN_CONFIG)
"""Files whose presence means a folder holds a run (finished or interrupted)."""


def check_output_folder(output: Path, overwrite: bool, resume: bool) -> None:
    """Refuse to mix runs: a folder holding another run needs ``--overwrite`` (or ``--resume``)."""
    from tlzoo.api import TlzooError

    if not output.exists() or resume:
        return
    if not output.is_dir():
        raise TlzooError(f"output {output} exists and is not a folder")
    holds_run = any((output / name).exists() for name in RUN_FILES)
    if holds_run and not overwrite:
        raise TlzooError(f"output folder {output} already holds a run; pass --overwrite to replace it "
                         f"or --resume to continue it")
    if any(output.iterdir()) and not holds_run and not overwrite:
        raise TlzooError(f"output folder {output} is not empty; pass --overwrite to use it anyway")


def clear_run(output: Path) -> None:
    for name in (*RUN_FILES, "metrics.json", "curves.png", "evaluation", STAGING, ".artifacts"):
        path = output / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def model_card(manifest: dict[str, Any], metrics: dict[str, Any]) -> str:
    lines = [f"# {manifest['task']} model fine-tuned with tlzoo", "",
             f"- task: `{manifest['task']}` (plugin {manifest['plugin']['distribution']} "
             f"{manifest['plugin']['version']})",
             f"- backbone: `{manifest['backbone']['name']}` ({manifest['backbone']['source']})",
             f"- strategy: `{manifest['config']['strategy']}`, precision `{manifest['config']['precision']}`",
             "- data: " + ", ".join(f"{split} `{info['path']}`" for split, info in manifest["data"].items()),
             "", "## Metrics", "", "| split | metric | value |", "| --- | --- | --- |"]
    for split, values in metrics.items():
        for key, value in values.items():
            if isinstance(value, (int, float)):
                lines.append(f"| {split} | {key} | {value:.4f} |" if isinstance(value, float)
                             else f"| {split} | {key} | {value} |")
    lines += ["", "## Use", "", "```python", "import tlzoo", "",
              "model = tlzoo.load(\"path/to/this/folder\")", "model.predict([...])", "```", "",
              f"The weights load directly with `transformers.{manifest['model_class']}.from_pretrained`.", ""]
    return "\n".join(lines)


def write_final(output: Path, model: Any, tokenizer: Any, manifest: dict[str, Any],
                metrics: dict[str, Any], extra_files: dict[str, Path]) -> None:
    staging = output / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    (staging / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (staging / "README.md").write_text(model_card(manifest, metrics))
    for name, source in extra_files.items():
        if source.exists() and (source.is_file() or any(source.iterdir())):
            shutil.move(str(source), staging / name)
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
    names = sorted(p.name for p in staging.iterdir())
    names.remove(MANIFEST)
    for name in [*names, MANIFEST]:
        target = output / name
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(staging / name, target)
    staging.rmdir()
