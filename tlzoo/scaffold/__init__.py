"""``tlzoo new``: write a complete plugin package from the template folder next to this module.

``template/common`` holds the files every plugin gets (packaging, the spec, the sample loader);
``template/<kind>`` the task, its sample data and its tests, one folder per :data:`TASK_KINDS`.
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
SUFFIX = ".tmpl"


def _metric_spec(name: str, attr: str, description: str, primary: str, consumes: str) -> str:
    """The registration of the skeleton's own metric (in its task module), for the plugin's ``__init__``."""
    return (f'\n    registry.add(Spec(\n        "{name}", "metric", "{{{{package}}}}.task:{attr}",\n'
            f'        "{description}",\n        {{"primary": "{primary}", "consumes": "{consumes}"}},\n    ))')


KIND_VALUES: dict[str, dict[str, str]] = {
    "classification": {
        "summary": "a text in, one label out",
        "description": "classifies a text into one of the labels seen in training",
        "default_backbone": "minilm-l6",
        "primary": "accuracy",
        "metrics": '["classification"]',
        "example_inputs": '["the film was great", "the team lost every game"]',
        "extra_metadata": "",
        "metric_spec": "",
        "data_example": '{"text": "the film was great", "label": "positive"}',
    },
    "token": {
        "summary": "a sentence of words in, one tag per word out",
        "description": "tags each word of a sentence with one of the tags seen in training",
        "default_backbone": "minilm-l6",
        "primary": "accuracy",
        "metrics": '["{{name}}-accuracy"]',
        "example_inputs": '["john went to york in june", {"tokens": ["she", "left", "in", "may"]}]',
        "extra_metadata": "",
        "metric_spec": _metric_spec("{{name}}-accuracy", "WordAccuracy", "share of words whose tag is right",
                                    "accuracy", "tags"),
        "data_example": '{"tokens": ["john", "went", "to", "york"], "tags": ["PERSON", "O", "O", "PLACE"]}',
    },
    "generation": {
        "summary": "a text in, a generated text out",
        "description": "writes the words of a text in reverse order (a sequence-to-sequence skeleton)",
        "default_backbone": "smollm2-135m",
        "primary": "exact_match",
        "metrics": '["{{name}}-exact-match"]',
        "example_inputs": '["the team won the game", "she went home in june"]',
        "extra_metadata": '\n            # The tiny generation backbone the kit trains on (an encoder-decoder).'
                          '\n            "test_backbone": "tiny-bart",',
        "metric_spec": _metric_spec("{{name}}-exact-match", "ExactMatch",
                                    "exact match against any reference (trimmed, lower-cased), plus output "
                                    "length and diversity", "exact_match", "text"),
        "data_example": '{"source": "the team won the game", "target": "game the won team the"}',
    },
}
"""Per task kind: the placeholders of the common files that differ by kind (these may hold ``{{name}}`` and
``{{package}}``). ``metric_spec`` registers a metric the skeleton defines where the core has none that fits."""
TASK_KINDS = tuple(KIND_VALUES)

_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def template_values(name: str, task_kind: str = "classification") -> dict[str, str]:
    """Placeholder values for plugin ``name`` (``my-task`` -> ``tlzoo-my-task``, ``tlzoo_my_task``...)."""
    from tlzoo import __version__

    module = name.replace("-", "_")
    words = [part.capitalize() for part in name.split("-")]
    values = {"kind": task_kind,
        "name": name,
        "dist": f"tlzoo-{name}",
        "module": module,
        "package": f"tlzoo_{module}",
        "class_name": "".join(words) + ("" if words[-1] == "Task" else "Task"),
        "api_range": default_api_range(),
        "tlzoo_version": ".".join(__version__.split(".")[:2]),
    }
    return {**{key: render(value, values) for key, value in KIND_VALUES[task_kind].items()}, **values}


def render(text: str, values: dict[str, str]) -> str:
    """Replace ``{{key}}`` placeholders; an unknown key is a bug in the template, so it raises."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise KeyError(f"template placeholder {match.group(0)} has no value")
        return values[match.group(1)]

    return _PLACEHOLDER.sub(replace, text)


def _check_name_is_free(name: str) -> None:
    """Refuse names that would collide with an indexed plugin or an installed task."""
    from tlzoo.index import load_index
    from tlzoo.plugins import registry

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
    values = template_values(name, task_kind)
    folder = Path(output) / values["dist"]
    if folder.exists() and any(folder.iterdir()):
        raise TlzooError(f"{folder} already exists and is not empty")
    sources = {source.relative_to(root).as_posix(): source
               for root in (TEMPLATE / "common", TEMPLATE / task_kind) for source in root.rglob(f"*{SUFFIX}")}
    for relative, source in sorted(sources.items()):
        relative = relative[: -len(SUFFIX)]
        for key, value in values.items():
            relative = relative.replace(f"__{key}__", value)
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render(source.read_text(encoding="utf-8"), values), encoding="utf-8")
    return folder
