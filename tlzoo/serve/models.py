"""The models one server serves: named folders, fixed at start, their facts and their loaded predictors."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlzoo.api import Spec, TlzooError
from tlzoo.serve.schemas import TaskSchema, task_schema

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass
class ServedModel:
    name: str
    folder: Path
    manifest: dict[str, Any]
    spec: Spec
    schema: TaskSchema
    predictor: Any = None
    batcher: Any = None

    def card(self, auth: bool) -> dict[str, Any]:
        """What ``GET /models`` and the page show: the model card's facts and the task's schema."""
        manifest = self.manifest
        metrics = {split: {k: v for k, v in values.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
                   for split, values in (manifest.get("metrics") or {}).items() if isinstance(values, Mapping)}
        return {"name": self.name, "task": manifest.get("task"), "description": self.spec.description,
                "backbone": (manifest.get("backbone") or {}).get("name"),
                "labels": (manifest.get("state") or {}).get("labels"), "metrics": metrics,
                "versions": manifest.get("versions") or {}, "plugin": manifest.get("plugin") or {},
                "input": {"fields": list(self.schema.fields.names), "required": list(self.schema.fields.required),
                          "chat": self.schema.chat},
                "output": self.schema.output, "parameters": self.schema.parameters,
                "examples": list(self.spec.metadata.get("example_inputs") or [])[:3],
                "ready": self.predictor is not None, "auth": auth, "predict": f"/models/{self.name}/predict"}


def parse_targets(targets: Sequence[str]) -> list[tuple[str, Path]]:
    """``DIR`` or ``NAME=DIR`` -> (name, folder); names default to the folder's name and must be unique."""
    if not targets:
        raise TlzooError("no model to serve; pass one or more model folders (DIR or NAME=DIR)")
    seen: dict[str, Path] = {}
    for target in targets:
        name, equals, path = target.partition("=")
        folder = Path(path if equals else target).expanduser()
        name = name if equals else folder.resolve().name
        if not _NAME.fullmatch(name):
            raise TlzooError(f"model name {name!r} (from {target!r}) must be letters, digits, '.', '_' or '-'; "
                             f"choose one with NAME=DIR")
        if name in seen:
            raise TlzooError(f"two models named {name!r} ({seen[name]} and {folder}); name them with NAME=DIR")
        seen[name] = folder
    return list(seen.items())


def describe(targets: Sequence[str]) -> list[ServedModel]:
    """The models to serve, checked (manifest, task, files) without loading any weights."""
    from tlzoo.engine.model_folder import check_model_files, read_manifest, task_spec

    models = []
    for name, folder in parse_targets(targets):
        manifest = read_manifest(folder)
        spec = task_spec(folder, manifest)
        check_model_files(folder, manifest)
        models.append(ServedModel(name, folder, manifest, spec, task_schema(spec)))
    return models


def warmup_input(model: ServedModel) -> Any:
    """An input for the warm-up forward pass: the task's first example, else its empty input."""
    examples = model.spec.metadata.get("example_inputs") or []
    return examples[0] if examples else model.schema.fields.empty()
