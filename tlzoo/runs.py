"""``tlzoo runs``: finished runs found in folders, read from their manifests and logs (no torch, no transformers).

A finished run is a folder with ``tlzoo.json`` (``tlzoo train``, ``distill``, a ``tune`` trial or its ``best``);
trial folders whose weights ``tlzoo tune`` dropped still list, with their metrics.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from tlzoo.api import TlzooError
from tlzoo.engine.model_folder import read_manifest
from tlzoo.engine.output import MANIFEST

HPARAMS = ("learning_rate", "batch_size", "epochs", "max_steps", "max_minutes", "warmup_ratio", "weight_decay",
           "llrd", "max_length", "seed")
"""The configuration entries a listing shows of each run."""
_SKIPPED = {"checkpoints", ".staging", ".previous-run", ".artifacts"}
LOWER_IS_BETTER = ("loss", "perplexity", "seconds")
"""Sort keys ending so are sorted ascending; the others (scores, samples_per_second) descending."""


def find_runs(folders: Iterable[str]) -> list[Path]:
    """Folders holding a finished run: each of ``folders`` that is one, and those below it (hidden folders and
    checkpoints are not searched)."""
    found: list[Path] = []
    for name in folders:
        folder = Path(name)
        if not folder.is_dir():
            raise TlzooError(f"{folder} does not exist or is not a folder")
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED)
            if MANIFEST in files:
                found.append(Path(root))
    return list(dict.fromkeys(found))


def describe(folder: Path) -> dict[str, Any]:
    """One run as the listing shows it (``--json``): values as its manifest records them."""
    manifest = read_manifest(folder)
    config, metrics = manifest["config"], manifest.get("metrics", {})
    train = metrics.get("train", {})
    return {"path": str(folder), "task": manifest["task"], "backbone": manifest.get("backbone", {}).get("name"),
            "strategy": config.get("strategy"), "head": manifest.get("head", config.get("head")),
            "hparams": {name: config.get(name) for name in HPARAMS},
            "metrics": {split: values for split, values in metrics.items() if split != "train"},
            "train_seconds": train.get("seconds"), "samples_per_second": train.get("samples_per_second"),
            "steps": train.get("steps")}


def sort_key(run: dict[str, Any], name: str) -> float | None:
    """A run's value of ``name``: a validation metric (else a test one), ``train_seconds`` or ``samples_per_second``."""
    value = run.get(name) if name in ("train_seconds", "samples_per_second") else \
        run["metrics"].get("validation", {}).get(name, run["metrics"].get("test", {}).get(name))
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def sort_runs(runs: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    """Best first by ``name`` (see :data:`LOWER_IS_BETTER`); runs without it last."""
    known = {k for run in runs for split in run["metrics"].values() for k in split} | {"train_seconds",
                                                                                       "samples_per_second"}
    if name not in known:
        from tlzoo.suggest import did_you_mean

        raise TlzooError(f"--sort {name}: no run reports it" + (did_you_mean(name, known) or
                                                                f"; one of {', '.join(sorted(known))}"))
    ascending = name.endswith(LOWER_IS_BETTER)
    having = [run for run in runs if sort_key(run, name) is not None]
    having.sort(key=lambda run: sort_key(run, name) * (1 if ascending else -1))
    return having + [run for run in runs if sort_key(run, name) is None]


def metric_names(runs: Sequence[dict[str, Any]]) -> list[str]:
    """The numeric validation metrics of the runs, in the order they first appear."""
    names: dict[str, None] = {}
    for run in runs:
        for key, value in run["metrics"].get("validation", {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                names[key] = None
    return list(names)


def plot_runs(runs: Sequence[dict[str, Any]], metric: str, path: Path) -> Path:
    """Each run's validation ``metric`` against optimizer steps (its ``log.jsonl``), overlaid in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4.5))
    drawn = 0
    for run in runs:
        log = Path(run["path"]) / "log.jsonl"
        records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.is_file() else []
        points = [(r["step"], r[f"eval_{metric}"]) for r in records
                  if r.get("event") == "eval" and f"eval_{metric}" in r]
        if points:
            axis.plot(*zip(*points), "o-", label=run["path"])
            drawn += 1
    if not drawn:
        plt.close(figure)
        raise TlzooError(f"--plot: no run logged an evaluation of {metric!r} (log.jsonl)")
    axis.set_xlabel("optimizer step")
    axis.set_ylabel(f"validation {metric}")
    axis.legend(loc="best", fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
