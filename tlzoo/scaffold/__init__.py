"""``tlzoo new``: write a complete plugin package from the template folder next to this module.

Every template file ends in ``.tmpl`` (so the template is never imported, collected by pytest or
linted as code); ``{{key}}`` placeholders in file contents and ``__key__`` in path segments are
replaced by the values from :func:`template_values`.
"""

from __future__ import annotations

import re
from pathlib import Path

from tlzoo.api import TlzooError
from tlzoo.plugins import default_api_range

TEMPLATE = Path(__file__).parent / "template"
TASK_KINDS = ("classification",)
SUFFIX = ".tmpl"

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def template_values(name: str) -> dict[str, str]:
    """Placeholder values for plugin ``name`` (``my-task`` -> ``tlzoo-my-task``, ``tlzoo_my_task``...)."""
    from tlzoo import __version__

    module = name.replace("-", "_")
    words = [part.capitalize() for part in name.split("-")]
    return {
        "name": name,
        "dist": f"tlzoo-{name}",
        "module": module,
        "package": f"tlzoo_{module}",
        "class_name": "".join(words) + ("" if words[-1] == "Task" else "Task"),
        "api_range": default_api_range(),
        "tlzoo_version": ".".join(__version__.split(".")[:2]),
    }


def render(text: str, values: dict[str, str]) -> str:
    """Replace ``{{key}}`` placeholders; an unknown key is a bug in the template, so it raises."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise KeyError(f"template placeholder {match.group(0)} has no value")
        return values[match.group(1)]

    return _PLACEHOLDER.sub(replace, text)


def _check_name_is_free(name: str) -> None:
    """Refuse names that would collide with an indexed plugin or an installed task."""
    from tlzoo.catalog import registry
    from tlzoo.index import load_index

    entry = load_index().resolve(name)
    if entry is not None:
        raise TlzooError(f"{entry.name} is already a known plugin (see 'tlzoo list --available'); "
                         f"pick another name")
    for spec in registry().find(name, "task"):
        raise TlzooError(f"a task called {name!r} is already registered by {spec.plugin}; pick another name")


def write_plugin(name: str, output: Path, task_kind: str = "classification") -> Path:
    """Write the plugin package ``tlzoo-NAME`` into ``output``; returns its folder."""
    if name.startswith("tlzoo-"):
        name = name[len("tlzoo-"):]
    if not _NAME.match(name):
        raise TlzooError(f"plugin name {name!r} must be lower-case letters and digits, words joined by '-' "
                         f"(e.g. 'sentiment' or 'intent-detection')")
    if task_kind not in TASK_KINDS:
        raise TlzooError(f"unknown task kind {task_kind!r}; choose one of {', '.join(TASK_KINDS)}")
    _check_name_is_free(name)
    values = template_values(name)
    folder = Path(output) / values["dist"]
    if folder.exists() and any(folder.iterdir()):
        raise TlzooError(f"{folder} already exists and is not empty")
    for source in sorted(TEMPLATE.rglob(f"*{SUFFIX}")):
        relative = source.relative_to(TEMPLATE).as_posix()[: -len(SUFFIX)]
        for key, value in values.items():
            relative = relative.replace(f"__{key}__", value)
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(source.read_text(encoding="utf-8"), values), encoding="utf-8")
    return folder
