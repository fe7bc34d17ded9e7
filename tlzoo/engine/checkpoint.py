"""Atomic checkpoints without pickle: tensors in safetensors, everything else in JSON.

A checkpoint is a folder ``step-000120`` written as ``.step-000120.tmp`` and renamed into place,
so a run killed at any moment leaves either a complete checkpoint or none.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from tlzoo.api import TlzooError

CHECKPOINTS = "checkpoints"
_STATE = "trainer_state.json"


def _flatten_optimizer(state_dict: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, per_param in state_dict["state"].items():
        for key, value in per_param.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{key}"] = value.detach().contiguous().cpu()
            else:
                scalars.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def _unflatten_optimizer(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, tensor in tensors.items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = tensor
    for index, values in meta["scalars"].items():
        state.setdefault(int(index), {}).update(values)
    return {"state": state, "param_groups": meta["param_groups"]}


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    numpy_state = np.random.get_state()
    python_state = random.getstate()
    return ({"torch": torch.get_rng_state()},
            {"python": [python_state[0], list(python_state[1]), python_state[2]],
             "numpy": [numpy_state[0], numpy_state[1].tolist(), *numpy_state[2:]]})


def set_rng_state(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["torch"])
    version, internal, gauss = meta["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))


def _unshared(model_state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """CPU tensors for safetensors, copying those that share storage with an earlier one.

    Tied weights (embeddings and LM head in T5, BART, GPT-2, Llama) appear under several names in a
    state dict; safetensors refuses shared storage, and a copy per name still loads strictly.
    """
    seen: set[int] = set()
    tensors: dict[str, torch.Tensor] = {}
    for key, value in model_state.items():
        tensor = value.detach().contiguous().cpu()
        storage = tensor.untyped_storage().data_ptr()
        tensors[key] = tensor.clone() if storage in seen else tensor
        seen.add(storage)
    return tensors


def save_checkpoint(folder: Path, step: int, model_state: dict[str, torch.Tensor], optimizer: Any,
                    scheduler: Any, trainer_state: dict[str, Any]) -> Path:
    """Write ``folder/checkpoints/step-N`` atomically and return its path."""
    root = folder / CHECKPOINTS
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step-{step:07d}"
    tmp = root / f".step-{step:07d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file(_unshared(model_state), str(tmp / "model.safetensors"))
    opt_tensors, opt_meta = _flatten_optimizer(optimizer.state_dict())
    save_file(opt_tensors, str(tmp / "optimizer.safetensors"))
    rng_tensors, rng_meta = rng_state()
    save_file(rng_tensors, str(tmp / "rng.safetensors"))
    sched = {k: v for k, v in scheduler.state_dict().items() if k != "lr_lambdas"}
    meta = {"optimizer": opt_meta, "scheduler": sched, "rng": rng_meta, "trainer": trainer_state}
    (tmp / _STATE).write_text(json.dumps(meta))
    _fsync_tree(tmp)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def _fsync_tree(folder: Path) -> None:
    for file in folder.iterdir():
        with open(file, "rb") as handle:
            os.fsync(handle.fileno())


def list_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoints, oldest first (half-written ``.tmp`` folders are ignored)."""
    root = folder / CHECKPOINTS
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.name.startswith("step-") and (p / _STATE).is_file())


def load_checkpoint(path: Path, model: Any, optimizer: Any, scheduler: Any) -> dict[str, Any]:
    """Restore weights, optimizer, scheduler and RNG; returns the trainer state."""
    meta = json.loads((path / _STATE).read_text())
    try:
        model.load_state_dict(load_file(str(path / "model.safetensors")))
    except RuntimeError as exc:
        raise TlzooError(f"checkpoint {path} does not match this run's model: {str(exc).splitlines()[0]}") from exc
    optimizer.load_state_dict(_unflatten_optimizer(load_file(str(path / "optimizer.safetensors")),
                                                   meta["optimizer"]))
    scheduler.load_state_dict({**scheduler.state_dict(), **meta["scheduler"]})
    set_rng_state(load_file(str(path / "rng.safetensors")), meta["rng"])
    return meta["trainer"]


def prune(folder: Path, keep: int, protect: Path | None) -> None:
    """Delete all but the newest ``keep`` checkpoints (0: all), never the protected (best) one."""
    checkpoints = list_checkpoints(folder)
    for path in checkpoints[:max(len(checkpoints) - keep, 0)]:
        if protect is None or path.resolve() != protect.resolve():
            shutil.rmtree(path, ignore_errors=True)
    root = folder / CHECKPOINTS
    if root.is_dir() and not any(root.iterdir()):
        root.rmdir()
