"""Checks on a saved model folder before anything heavy loads it: one line naming the folder and the file.

A folder written by ``tlzoo train`` holds ``tlzoo.json`` (the manifest, written last), the model in
``save_pretrained`` layout (``config.json`` and safetensors weights) and the tokenizer files. This
module imports neither torch nor transformers, so ``tlzoo predict`` can reject a damaged folder or
a bad option before paying for the import.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

from tlzoo.api import Spec, TlzooError
from tlzoo.engine.output import MANIFEST

MANIFEST_KEYS = ("task", "model_class", "config", "state")
WEIGHTS = "model.safetensors"
WEIGHTS_INDEX = "model.safetensors.index.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model",
                   "tokenizer.model")
"""The files a tokenizer can be built from; ``save_pretrained`` writes at least one of them."""
_RETRAIN = "retrain the model or restore the folder from a copy"


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The folder's manifest, checked for the keys loading needs."""
    folder = Path(path)
    if not folder.is_dir():
        raise TlzooError(f"{folder} does not exist or is not a folder; expected a model folder written by "
                         f"'tlzoo train'")
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise TlzooError(f"{folder} is not a tlzoo model folder (no {MANIFEST}); train one with 'tlzoo train'")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else f"not UTF-8 text at byte {exc.start}"
        raise TlzooError(f"{manifest_path} is corrupt ({reason}); {_RETRAIN}") from exc
    if not isinstance(manifest, dict):
        raise TlzooError(f"{manifest_path} is corrupt (a JSON {type(manifest).__name__}, expected an object); "
                         f"{_RETRAIN}")
    if "adaptation" in manifest and "task" not in manifest:
        raise TlzooError(f"{folder} is a backbone adapted with 'tlzoo adapt', not a task model; fine-tune it with "
                         f"'tlzoo train TASK --backbone {folder}'")
    missing = [key for key in MANIFEST_KEYS if key not in manifest]
    if missing:
        raise TlzooError(f"{manifest_path} is corrupt (no {', '.join(map(repr, missing))}); {_RETRAIN}")
    for key, kind in (("task", str), ("model_class", str), ("config", dict), ("state", dict)):
        if not isinstance(manifest[key], kind):
            raise TlzooError(f"{manifest_path} is corrupt ({key!r} is not a JSON "
                             f"{'string' if kind is str else 'object'}); {_RETRAIN}")
    return manifest


def task_spec(folder: str | Path, manifest: dict[str, Any]) -> Spec:
    """The spec of the folder's task; when its plugin is missing, which distribution to install."""
    from tlzoo.plugins import registry

    name = manifest["task"]
    found = registry().find(name, "task")
    if found:
        return found[0]
    plugin = manifest.get("plugin")
    distribution = plugin.get("distribution") if isinstance(plugin, dict) else None
    if not isinstance(distribution, str) or not distribution or distribution == "tlzoo":
        raise TlzooError(f"{folder} needs task {name!r}, which no installed plugin provides; "
                         f"{registry().missing_message(name, 'task')}")
    from tlzoo.index import short_name
    from tlzoo.plugins import canonical_name, host

    broken = [p.error for p in host().plugins if p.error and canonical_name(p.distribution) ==
              canonical_name(distribution)]
    if broken:
        raise TlzooError(f"{folder} needs task {name!r} from plugin {distribution}, which is installed but "
                         f"did not load: {broken[0]}")
    raise TlzooError(f"{folder} needs task {name!r} from plugin {distribution}, which is not installed; "
                     f"install it with 'tlzoo install {short_name(distribution)}' or pip install {distribution}")


def head_spec(folder: str | Path, manifest: dict[str, Any]) -> Spec:
    """The spec of the folder's head (``default`` for folders from before heads were recorded)."""
    from tlzoo.plugins import registry

    name = manifest.get("head", "default")
    if not isinstance(name, str):
        raise TlzooError(f"{Path(folder) / MANIFEST} is corrupt ('head' is not a JSON string); {_RETRAIN}")
    found = registry().find(name, "head")
    if not found:
        raise TlzooError(f"{folder} needs head {name!r}, which no installed plugin provides; install the plugin "
                         f"that trained it (see 'tlzoo list heads')")
    return found[0]


def check_files(path: str | Path) -> None:
    """Every file loading needs is present, and the weights are whole (safetensors header and size)."""
    folder = Path(path)
    for name, what in (("config.json", "the model configuration"), (TOKENIZER_CONFIG, "the tokenizer")):
        if not (folder / name).is_file():
            raise TlzooError(f"{folder}: {name} is missing ({what}); {_RETRAIN}")
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise TlzooError(f"{folder}: tokenizer.json is missing (the tokenizer; nor is there a vocabulary file "
                         f"such as vocab.txt); {_RETRAIN}")
    if (folder / WEIGHTS_INDEX).is_file():
        try:
            shards = sorted(set(json.loads((folder / WEIGHTS_INDEX).read_text())["weight_map"].values()))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise TlzooError(f"{folder}: {WEIGHTS_INDEX} is corrupt; {_RETRAIN}") from exc
    elif (folder / WEIGHTS).is_file():
        shards = [WEIGHTS]
    else:
        raise TlzooError(f"{folder}: {WEIGHTS} is missing (the model weights); {_RETRAIN}")
    for shard in shards:
        check_safetensors(folder / shard)


def is_onnx_export(manifest: dict[str, Any]) -> bool:
    """A folder written by ``tlzoo export --format onnx``: a graph for onnxruntime, no safetensors weights.

    (A ``--format pytorch`` export keeps the source's weights and loads like a trained folder.)
    """
    export = manifest.get("export")
    return export is not None and not (isinstance(export, dict) and export.get("format") == "pytorch")


def check_model_files(path: str | Path, manifest: dict[str, Any]) -> None:
    """:func:`check_files`, or :func:`check_export_files` for an ONNX export."""
    if is_onnx_export(manifest):
        check_export_files(path, manifest)
    else:
        check_files(path)


def check_export_files(path: str | Path, manifest: dict[str, Any]) -> Path:
    """A folder written by ``tlzoo export`` holds its graph and the tokenizer; returns the graph's path."""
    folder = Path(path)
    export = manifest["export"]
    name = export.get("file") if isinstance(export, dict) else None
    if not isinstance(name, str) or not name or Path(name).name != name:
        raise TlzooError(f"{folder / MANIFEST} is corrupt ('export' names no model file); export the model again")
    graph = folder / name
    if not graph.is_file() or graph.stat().st_size == 0:
        raise TlzooError(f"{folder}: {name} is {'empty' if graph.is_file() else 'missing'} (the ONNX model); "
                         f"export the model again")
    if not (folder / TOKENIZER_CONFIG).is_file() or not any((folder / n).is_file() for n in TOKENIZER_FILES):
        raise TlzooError(f"{folder}: the tokenizer files are missing ({TOKENIZER_CONFIG}, tokenizer.json); "
                         f"export the model again")
    return graph


def check_safetensors(path: Path) -> None:
    """The file is a complete safetensors file: an 8-byte header length, a JSON header, all tensor bytes.

    A download or copy cut short fails here rather than deep inside the loader.
    """
    if not path.is_file():
        raise TlzooError(f"{path.parent}: {path.name} is missing (model weights); {_RETRAIN}")
    size = path.stat().st_size
    with open(path, "rb") as handle:
        prefix = handle.read(8)
        length = struct.unpack("<Q", prefix)[0] if len(prefix) == 8 else -1
        raw = handle.read(length) if 0 < length <= size - 8 else b""
    try:
        header = json.loads(raw) if raw else None
        end = max((int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"), default=0)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        header = None
    if not isinstance(header, dict):
        raise TlzooError(f"{path.parent}: {path.name} is corrupt (not a safetensors file); {_RETRAIN}")
    if size < 8 + length + end:
        raise TlzooError(f"{path.parent}: {path.name} is truncated ({size} bytes, expected {8 + length + end}); "
                         f"{_RETRAIN}")
