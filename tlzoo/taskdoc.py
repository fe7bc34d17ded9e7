"""What a task accepts, for ``tlzoo info TASK`` and ``tlzoo train TASK --help``.

Everything is read from the task class itself (its ``options_class`` dataclass and ``default_hparams``),
so the help cannot drift from the code. Importing a task class is light: task modules import torch,
transformers and datasets inside functions only (the plugin guide asks for it).
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tlzoo.engine.config import FIELDS


@dataclass(frozen=True)
class OptionDoc:
    """One task option as the CLI shows it."""

    name: str
    kind: str
    default: Any
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "flag": self.flag, "type": self.kind, "default": self.default, "help": self.help}


_KINDS = {bool: "true|false", int: "integer", float: "number", str: "text"}


def _kind(hint: Any) -> str:
    """``str | None`` -> ``text``; ``bool`` -> ``true|false``; anything else as written."""
    kinds = [k for k in (typing.get_args(hint) or (hint,)) if k is not type(None)]
    return " | ".join(_KINDS.get(k, getattr(k, "__name__", str(k))) for k in kinds)


def _attribute_docstrings(cls: type) -> dict[str, str]:
    """``field: type = value`` followed by a ``\"\"\"docstring\"\"\"`` in the class body, per field name,
    for ``cls`` and its bases (the nearest class wins)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        except (OSError, TypeError, SyntaxError):
            continue
        body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
        for node, after in zip(body, body[1:]):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                    and isinstance(after.value.value, str)):
                docs[node.target.id] = " ".join(inspect.cleandoc(after.value.value).split())
    return docs


def option_docs(options_class: type) -> list[OptionDoc]:
    """Name, type, default and help of each field of a task's options dataclass.

    Help comes from ``field(metadata={"help": ...})`` or else the docstring under the field.
    """
    hints = typing.get_type_hints(options_class)
    docstrings = _attribute_docstrings(options_class)
    docs = []
    for field in dataclasses.fields(options_class):
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            default = None
        help_text = str(field.metadata.get("help") or docstrings.get(field.name, ""))
        docs.append(OptionDoc(field.name, _kind(hints.get(field.name, field.type)), default, help_text))
    return docs


def engine_defaults(task_defaults: Mapping[str, Any]) -> dict[str, tuple[Any, str]]:
    """Each engine option's default as a run of this task starts: ``(value, "task" or "engine")``."""
    defaults: dict[str, tuple[Any, str]] = {}
    for name, field in FIELDS.items():
        if name in task_defaults:
            defaults[name] = (task_defaults[name], "task")
        elif field.default is not dataclasses.MISSING:
            defaults[name] = (field.default, "engine")
    return defaults


def show_value(value: Any) -> str:
    """A default as typed on the command line: ``none``, ``true``/``false``, or the value."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def describe_task(task_class: Any) -> dict[str, Any]:
    """The facts ``tlzoo info`` shows about a task class, JSON-ready."""
    task_defaults = dict(task_class.default_hparams)
    return {
        "default_backbone": task_class.default_backbone,
        "primary_metric": task_class.primary_metric,
        "options": [o.as_dict() for o in option_docs(task_class.options_class)],
        "task_defaults": task_defaults,
    }


def readme_location(distribution: str) -> str:
    """Where to read a plugin's README: the file, when the plugin was installed from a folder (as
    ``make install`` does), else the package's long description on its index page."""
    import json
    from importlib import metadata
    from pathlib import Path
    from urllib.parse import unquote, urlparse

    try:
        raw = metadata.distribution(distribution).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        raw = None
    url = urlparse(json.loads(raw).get("url", "")) if raw else None
    if url is not None and url.scheme == "file":
        readme = Path(unquote(url.path)) / "README.md"
        if readme.is_file():
            return str(readme)
    return f"the {distribution} README (its package description)"
