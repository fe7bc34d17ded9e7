"""``--track tensorboard|mlflow``: a run reported to an experiment tracker through Accelerate's trackers.

Opt-in (``track: none`` reports nothing) and offline: the tracker writes local files under the run's folder,
``DIR/tracking/``. At the start the tracker records the resolved configuration, the data files' hashes, the
library versions and the git commit of the working directory; then every record of ``log.jsonl`` (training
loss, learning rate, evaluations) as it is written. A resumed run (``--resume``) continues the same tracked
run: TensorBoard appends to the same folder, MLflow (its store is ``DIR/tracking/mlflow.db``) reopens the run id
saved in ``DIR/tracking/run.json``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tlzoo.api import TlzooError

FOLDER = "tracking"
"""The trackers' files, inside the run's output folder."""
PROJECT = "tlzoo"
_RUN_FILE = "run.json"
_PACKAGES = {"tensorboard": "tensorboard", "mlflow": "mlflow"}


def accelerator_options(track: str, output: str | None) -> dict[str, Any]:
    """``Accelerator`` keyword arguments for ``--track``: none when not tracking."""
    if track == "none":
        return {}
    _check_installed(track)
    return {"log_with": [track], "project_dir": str(Path(output or ".") / FOLDER)}


def _check_installed(track: str) -> None:
    from importlib.util import find_spec

    if find_spec(_PACKAGES[track]) is None:
        raise TlzooError(f"--track {track} needs the {_PACKAGES[track]} package: pip install 'tlzoo[tune]' "
                         f"(or pip install {_PACKAGES[track]})")


def git_commit(folder: Path | None = None) -> str:
    """The commit checked out in ``folder`` (the working directory), with ``+dirty`` for local changes; ``""``
    outside a git repository."""
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=10,
                                  check=True).stdout.strip()

        commit = git("rev-parse", "HEAD")
        return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def start(accelerator: Any, config: Any, output: Path, facts: Mapping[str, Any]) -> None:
    """Open the tracked run (a new one, or on ``--resume`` the one the folder's run started) and record
    the configuration and ``facts`` (data hashes, versions) with the git commit. No-op without ``--track``."""
    if config.track == "none":
        return
    folder = output / FOLDER
    saved = folder / _RUN_FILE
    previous = json.loads(saved.read_text()) if config.resume and saved.is_file() else {}
    init: dict[str, Any] = {}
    if config.track == "mlflow":
        import mlflow

        folder.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(mlflow_uri(output))
        init = {"mlflow": {"run_id": previous["run_id"]} if previous.get("run_id") else
                {"run_name": output.name}}
    values = {**flat(config.to_dict()), **flat(dict(facts)), "git_commit": git_commit()}
    values = {k: v for k, v in values.items() if k not in ("resume", "overwrite", "output")}
    accelerator.init_trackers(PROJECT, config=values, init_kwargs=init)
    if accelerator.is_main_process:
        folder.mkdir(parents=True, exist_ok=True)
        record = {"track": config.track}
        if config.track == "mlflow":
            record["run_id"] = accelerator.get_tracker("mlflow").tracker.info.run_id
        saved.write_text(json.dumps(record))


def mlflow_uri(output: Path) -> str:
    """The MLflow store of the run in ``output``: SQLite (MLflow refuses its old file store)."""
    return f"sqlite:///{(output / FOLDER / 'mlflow.db').resolve()}"


def flat(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [1, 2]}`` -> ``{"a.b": 1, "c": "[1, 2]"}``: trackers take scalars only."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flat(value, f"{name}."))
        elif isinstance(value, str):
            out[name] = str(value)  # a plain str: torch's version is a subclass YAML would tag
        elif value is None or isinstance(value, (bool, int, float)):
            out[name] = "" if value is None else value
        else:
            out[name] = json.dumps(value)
    return out


def log(accelerator: Any, record: Mapping[str, Any]) -> None:
    """One ``log.jsonl`` record (a training step or an evaluation) as scalars at its optimizer step."""
    kind = record.get("event")
    if kind not in ("train", "eval"):
        return
    scalars = {(name if kind == "eval" else f"train_{name}"): value for name, value in record.items()
               if name not in ("event", "step", "time") and isinstance(value, (int, float))
               and not isinstance(value, bool)}
    accelerator.log(scalars, step=int(record["step"]))
