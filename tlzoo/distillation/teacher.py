"""The teacher: a trained tlzoo folder, its outputs on the training rows (computed once, cached as Arrow),
and layer-pruned copies of its model as students."""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path
from typing import Any

import torch

from tlzoo.api import TlzooError
from tlzoo.engine.data import model_columns

LABELLED = "distill_labelled"
"""Feature column: 1 for a row with labels, 0 for a row of unlabelled transfer text."""
MASK = "distill_mask"
"""Feature column of token-level tasks: 1 for each token that carries a distillation target."""
CACHE_VERSION = "1"
_LAYER_LISTS = ("layer", "layers", "block", "h")


def teacher_column(output: str) -> str:
    """The feature column holding the teacher's ``output`` (e.g. ``teacher_logits``)."""
    return f"teacher_{output}"


def load_teacher(folder: str) -> Any:
    """The teacher folder as a :class:`tlzoo.engine.predictor.Predictor`; errors say it is the teacher."""
    from tlzoo.engine.predictor import Predictor

    try:
        teacher = Predictor.load(folder)
    except TlzooError as exc:
        message = str(exc)
        raise TlzooError(f"teacher {message}" if message.startswith(str(folder)) else f"teacher {folder}: {message}") \
            from None
    if "export" in teacher.manifest:
        raise TlzooError(f"teacher {folder} is an ONNX export ('tlzoo export'); distil from the folder that "
                         f"'tlzoo train' wrote")
    if getattr(teacher.task, "distillation", None) is None:
        raise TlzooError(f"teacher {folder} is a {teacher.manifest['task']!r} model, a task that declares no "
                         f"distillation targets; tlzoo distill supports the encoder tasks (classification, "
                         f"multilabel-classification, text-regression, ner, extractive-qa)")
    return teacher


def weights_digest(folder: str | Path) -> str:
    """A SHA-256 of the teacher's weights and manifest: part of the cache key of its outputs."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).glob("*.safetensors")) + [Path(folder) / "tlzoo.json"]:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


# -- students ------------------------------------------------------------------------------
STUDENT_OF_TEACHER = re.compile(r"teacher(?::layers=(\d+))?")


def teacher_layers(spec: str) -> int | None:
    """For ``teacher:layers=N``, N (0 for plain ``teacher``: every layer); None for a backbone name or folder."""
    match = STUDENT_OF_TEACHER.fullmatch(spec.strip())
    if match is None:
        if spec.strip().startswith("teacher:"):
            raise TlzooError(f"--student {spec!r}: expected teacher:layers=N (N layers of the teacher's backbone) "
                             f"or a backbone name or folder")
        return None
    return int(match.group(1) or 0)


def _layer_list(model: Any) -> tuple[Any, str, torch.nn.ModuleList]:
    """The module holding the transformer layers (``encoder.layer`` for BERT), its attribute name, the list."""
    count = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and name.rsplit(".", 1)[-1] in _LAYER_LISTS \
                and (count is None or len(module) == count):
            parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
            return parent, name.rsplit(".", 1)[-1], module
    raise TlzooError(f"cannot find the transformer layers of {type(model).__name__} to prune; pass a backbone "
                     f"as --student instead of teacher:layers=N")


def kept_layers(total: int, keep: int) -> list[int]:
    """Which of ``total`` layers a ``keep``-layer student starts from: evenly spaced from the bottom, as
    DistilBERT (every other layer: 0, 2, 4 of 6)."""
    return [i * total // keep for i in range(keep)]


def pruned_copy(model: Any, layers: int) -> tuple[Any, int]:
    """A copy of ``model`` (embeddings and head included) with ``layers`` of its transformer layers; and
    how many it had. ``layers`` 0 keeps them all."""
    student = copy.deepcopy(model)
    parent, attribute, modules = _layer_list(student)
    total = len(modules)
    if layers > total:
        raise TlzooError(f"--student teacher:layers={layers}: the teacher has only {total} layers")
    if layers and layers < total:
        setattr(parent, attribute, torch.nn.ModuleList([modules[i] for i in kept_layers(total, layers)]))
        config = getattr(student, "config", None)
        if config is not None:
            config.num_hidden_layers = layers
    student.train()
    return student, total


def same_tokenizer(first: Any, second: Any) -> bool:
    """Whether two tokenizers cut text into the same ids (same class, vocabulary and normalisation)."""
    if first is second:
        return True
    if type(first) is not type(second) or first.get_vocab() != second.get_vocab():
        return False
    probe = ["Hello World, HÉLLO wörld 1996-08-22 don't", "naïve café — ünïcode"]
    return first(probe)["input_ids"] == second(probe)["input_ids"]


# -- the teacher's outputs -------------------------------------------------------------------
def with_teacher_outputs(features: Any, teacher: Any, task: Any, labelled: bool, batch_size: int,
                         digest: str) -> Any:
    """``features`` with the teacher's outputs (one column per declared output), the token mask of token
    tasks and :data:`LABELLED`, computed by one batched ``datasets.map`` and cached as an Arrow file keyed by
    the rows' fingerprint and the teacher's weights, so a run computes them once and a rerun not at all."""
    spec = task.distillation
    key = hashlib.sha256("|".join([CACHE_VERSION, features._fingerprint, digest, str(labelled),
                                   type(task).__name__]).encode()).hexdigest()[:32]
    columns = [c for c in model_columns(teacher.model, features) if c not in spec.labels and c != "labels"]
    collator = teacher.collator
    device = teacher.device
    model = teacher.model

    def outputs(rows: dict[str, list]) -> dict[str, list]:
        count = len(rows[columns[0]])
        batch = collator([{c: rows[c][i] for c in columns} for i in range(count)])
        batch = {k: v.to(device) for k, v in batch.items() if k in columns}
        with torch.inference_mode():
            result = model(**batch)
        lengths = [len(ids) for ids in rows[task.length_column]]
        attention = batch.get("attention_mask")
        out: dict[str, list] = {}
        for name in spec.outputs:
            values = getattr(result, name).float().cpu()
            if spec.level == "sequence":
                out[teacher_column(name)] = values.reshape(count, -1).tolist()
            else:  # the row's real tokens, wherever the collator put the padding
                keep = attention.bool().cpu() if attention is not None else None
                out[teacher_column(name)] = [(values[i][keep[i]] if keep is not None else values[i][:n]).tolist()
                                             for i, n in enumerate(lengths)]
        if spec.level == "token":
            out[MASK] = task.distillation_mask(rows)
        out[LABELLED] = [int(labelled)] * count
        return out

    cache = _cache_file(features, key)
    model.eval()
    return features.map(outputs, batched=True, batch_size=batch_size, load_from_cache_file=True,
                        cache_file_name=str(cache), new_fingerprint=key, desc="teacher outputs")


def _cache_file(features: Any, key: str) -> Path:
    """Next to the tokenised rows' own Arrow cache when they have one, else in the datasets cache."""
    files = getattr(features, "cache_files", None)
    if files:
        folder = Path(files[0]["filename"]).parent
    else:
        import datasets

        folder = Path(datasets.config.HF_DATASETS_CACHE) / "tlzoo-distill"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"teacher-outputs-{key}.arrow"
