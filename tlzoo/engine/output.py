"""The output folder: model in ``save_pretrained`` layout, tokenizer, manifest, card, metrics, plot.

Final files are written to a staging folder and moved into place, the manifest last, so a folder
with ``tlzoo.json`` is always complete.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MANIFEST = "tlzoo.json"
STAGING = ".staging"
RUN_CONFIG = "run_config.json"
RUN_FILES = (MANIFEST, "checkpoints", "log.jsonl", RUN_CONFIG)
"""Files whose presence means a folder holds a run (finished or interrupted)."""
PREVIOUS = ".previous-run"
"""Where a run replaced with ``--overwrite`` waits until the new run's first step, to be restored if it fails."""
_RUN_OUTPUTS = (*RUN_FILES, "metrics.json", "curves.png", "evaluation", STAGING, ".artifacts", "tracking")


def check_output_folder(output: Path, overwrite: bool, resume: bool) -> None:
    """Refuse to mix runs: a folder holding another run needs ``--overwrite`` (or ``--resume``)."""
    from tlzoo.api import TlzooError

    if resume:
        if (output / MANIFEST).is_file():
            raise TlzooError(f"{output} is a finished run ({MANIFEST}); nothing to resume. To train it again, "
                             f"use --overwrite instead of --resume")
        return
    if not output.exists():
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
    remove_entries(output, _RUN_OUTPUTS)


def remove_entries(folder: Path, names: Sequence[str]) -> None:
    """Delete the files and folders ``names`` in ``folder`` that exist."""
    for name in names:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


class NewRun:
    """Starts a run in ``output`` so that one failing before its first optimizer step can be undone.

    :meth:`undo` removes the folders :meth:`begin` created, or, in a folder that existed, what the
    run wrote, restoring an old run that ``--overwrite`` set aside. :meth:`keep` ends that promise.
    """

    def __init__(self, output: Path) -> None:
        self.output = output
        self.created: Path | None = None

    def begin(self) -> None:
        missing = [p for p in (self.output, *self.output.parents) if not p.exists()]
        self.created = missing[-1] if missing else None
        self.output.mkdir(parents=True, exist_ok=True)
        previous = self.output / PREVIOUS
        shutil.rmtree(previous, ignore_errors=True)
        for name in _RUN_OUTPUTS:
            if (self.output / name).exists():
                previous.mkdir(exist_ok=True)
                os.replace(self.output / name, previous / name)

    def keep(self) -> None:
        shutil.rmtree(self.output / PREVIOUS, ignore_errors=True)

    def undo(self) -> None:
        if self.created is not None:
            shutil.rmtree(self.created, ignore_errors=True)
            return
        clear_run(self.output)
        previous = self.output / PREVIOUS
        if previous.is_dir():
            for path in previous.iterdir():
                os.replace(path, self.output / path.name)
            previous.rmdir()


def model_card(manifest: dict[str, Any], metrics: dict[str, Any]) -> str:
    from tlzoo.adaptation.lineage import lineage_line

    lines = [f"# {manifest['task']} model fine-tuned with tlzoo", "",
             f"- task: `{manifest['task']}` (plugin {manifest['plugin']['distribution']} "
             f"{manifest['plugin']['version']})",
             f"- backbone: `{manifest['backbone']['name']}` ({manifest['backbone']['source']}), head "
             f"`{manifest.get('head', 'default')}`",
             *lineage_line(manifest["backbone"], manifest["task"]),
             f"- strategy: `{manifest['config']['strategy']}`, precision `{manifest['config']['precision']}`",
             "- data: " + ", ".join(_data_entry(split, info) for split, info in manifest["data"].items()),
             "", "## Metrics", "", "| split | metric | value |", "| --- | --- | --- |"]
    for split, values in metrics.items():
        for key, value in values.items():
            if isinstance(value, (int, float)):
                lines.append(f"| {split} | {key} | {value:.4f} |" if isinstance(value, float)
                             else f"| {split} | {key} | {value} |")
    lines += ["", "## Use", "", "```python", "import tlzoo", "",
              "model = tlzoo.load(\"path/to/this/folder\")", "model.predict([...])", "```", "",
              *_loading_note(manifest), ""]
    return "\n".join(lines)


def _loading_note(manifest: dict[str, Any]) -> list[str]:
    """How the weights load: plain transformers for the default head, ``tlzoo.load`` for the others."""
    head = manifest.get("head", "default")
    if head == "default":
        return [f"The weights load directly with `transformers.{manifest['model_class']}.from_pretrained`."]
    return [f"The model has the `{head}` head (`tlzoo info {head}`), which is not a transformers class: load it "
            f"with `tlzoo.load` as above (the head's plugin installed). `model.safetensors` holds the backbone "
            f"(`body.*`, loadable on its own with `transformers.AutoModel` after stripping that prefix) and the "
            f"head (`head.*`); `config.json` is the backbone's configuration."]


def _data_entry(split: str, info: dict[str, str]) -> str:
    """``train `file.jsonl` (sha256 `0123abcd4567`)``: a file's name and hash; its path stays private."""
    digest = f" (sha256 `{info['sha256'][:12]}`)" if info["sha256"] != info["name"] else ""
    return f"{split} `{info['name']}`{digest}"


def write_final(output: Path, model: Any, tokenizer: Any, manifest: dict[str, Any],
                metrics: dict[str, Any], extra_files: dict[str, Path], card: str | None = None) -> None:
    """Write the folder through a staging folder, the manifest last; ``card`` replaces the task model card."""
    staging = output / STAGING
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
    (staging / "metrics.json").write_text(json.dumps(metrics, indent=2))
    (staging / "README.md").write_text(card if card is not None else model_card(manifest, metrics))
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
