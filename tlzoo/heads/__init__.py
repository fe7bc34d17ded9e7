"""Built-in heads, registered as an internal plugin; ``--head NAME`` picks one for encoder tasks.

A head turns the backbone's hidden states into a task's outputs. ``default`` is the task's own
transformers class (``AutoModelFor*``); the others are torch modules over the backbone's body
(:mod:`tlzoo.heads.layers`), saved as safetensors and loaded by ``tlzoo.load``. A spec's ``fits``
metadata lists the output levels it serves (see :data:`tlzoo.api.HEAD_LEVELS`), so listing and
checking a choice import nothing heavy.
"""

from __future__ import annotations

from tlzoo.api import HEAD_LEVELS, Spec, TlzooError
from tlzoo.hookspecs import hookimpl

DEFAULT = "default"
_LAYERS = "tlzoo.heads.layers"
_HEADS = (
    (DEFAULT, "TransformersHead", ["sequence", "token", "any"],
     "the task's own transformers head (AutoModelFor*: a linear layer on the [CLS] pooler for texts, on each "
     "token for tags); the saved model loads with plain transformers"),
    ("mean-pool", "MeanPoolHead", ["sequence"],
     "mean of the non-padding token states, then dropout and a linear layer (how sentence-transformers "
     "models such as all-MiniLM-L6-v2 were trained)"),
    ("mlp", "MlpHead", ["sequence", "token"],
     "one hidden layer (dense, GELU, dropout) before the output layer, on [CLS] for texts and on each token "
     "for tags"),
    ("crf", "CrfHead", ["token"],
     "linear emissions and a linear-chain CRF decoded with Viterbi under IOB2 transition constraints: it "
     "never outputs an I-X that does not continue a B-X or I-X (IOB2 tags only)"),
)


@hookimpl
def tlzoo_register(registry) -> None:
    for name, attr, fits, description in _HEADS:
        registry.add(Spec(name, "head", f"{_LAYERS}:{attr}", description, {"fits": fits}))


def head_level(model_class: str) -> str:
    """``sequence``, ``token`` or ``any`` (tasks whose class has no head level take only ``default``)."""
    return HEAD_LEVELS.get(model_class, "any")


def heads_for(model_class: str, task: str | None = None) -> list[str]:
    """Names of the registered heads a task with ``model_class`` (named ``task``) can use. A head whose spec
    metadata has ``tasks`` fits only those tasks (e.g. one that reads entity markers only one task adds)."""
    from tlzoo.plugins import registry

    level = head_level(model_class)
    return [s.name for s in registry().specs("head") if level in (s.metadata.get("fits") or [])
            and task in s.metadata.get("tasks", [task])]


def head_spec(name: str, task: str, model_class: str) -> Spec:
    """The spec of head ``name`` for a task, or one line naming the heads that fit it."""
    from tlzoo.plugins import registry

    spec = registry().get(name, "head")
    choices = heads_for(model_class, task)
    if name not in choices:
        level = head_level(model_class)
        what = {"sequence": "one output per text", "token": "one output per token"}.get(level, f"a {model_class}")
        if task not in spec.metadata.get("tasks", [task]):
            what = f"it serves only {', '.join(spec.metadata['tasks'])}"
        raise TlzooError(f"head {name!r} does not fit task {task!r} ({what}); choose one of {', '.join(choices)}")
    return spec
