"""The catalog of component specs: registration, conflicts, lookup with "did you mean"."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from tlzoo.api import KINDS, ComponentKind, Spec, TlzooError
from tlzoo.suggest import close_names


class Registry:
    """Specs by (kind, name). Names are unique per kind; a second registration is an error."""

    def __init__(self, plugin: str = "") -> None:
        self._plugin = plugin
        self._specs: dict[tuple[str, str], Spec] = {}
        self._parent: Registry | None = None

    def for_plugin(self, plugin: str) -> Registry:
        """A staging registry whose specs are stamped with ``plugin``; merged once its hook succeeds."""
        staged = Registry(plugin)
        staged._parent = self  # conflicts are detected at add() time, naming both owners
        return staged

    def add(self, spec: Spec) -> None:
        """Register ``spec``. Raises :class:`TlzooError` naming both owners on a duplicate name."""
        if not isinstance(spec, Spec):
            raise TlzooError(f"registry.add() takes a tlzoo.api.Spec, got {type(spec).__name__}")
        if self._plugin:
            spec = dataclasses.replace(spec, metadata=dict(spec.metadata), plugin=self._plugin)
        key = (spec.kind, spec.name)
        owners = (self._specs.get(key), self._parent._specs.get(key) if self._parent else None)
        for existing in owners:
            if existing is not None:
                raise TlzooError(
                    f"{spec.kind} {spec.name!r} is registered by both {existing.plugin or '?'} and "
                    f"{spec.plugin or '?'}; uninstall one of them (names must be unique per kind)")
        self._specs[key] = spec

    def merge(self, other: Registry) -> None:
        for spec in other.specs():
            self.add(spec)

    def specs(self, kind: ComponentKind | None = None) -> list[Spec]:
        return sorted((s for s in self._specs.values() if kind is None or s.kind == kind),
                      key=lambda s: (KINDS.index(s.kind), s.name))

    def __iter__(self) -> Iterator[Spec]:
        return iter(self.specs())

    def find(self, name: str, kind: ComponentKind | None = None) -> list[Spec]:
        return [s for s in self.specs(kind) if s.name == name]

    def get(self, name: str, kind: ComponentKind) -> Spec:
        """The spec called ``name`` of ``kind``, or an error that suggests close names."""
        spec = self._specs.get((kind, name))
        if spec is None:
            raise TlzooError(self.missing_message(name, kind))
        return spec

    def missing_message(self, name: str, kind: ComponentKind | None = None) -> str:
        """'no task named X; did you mean Y?' (or the known names when none is close)."""
        names = sorted({s.name for s in self.specs(kind)})
        close = close_names(name, names, cutoff=0.5)
        what = kind or "component"
        if close:
            return f"no {what} named {name!r}; did you mean {' or '.join(repr(c) for c in close)}?"
        return f"no {what} named {name!r}; known: {', '.join(names) or '(none)'} (see 'tlzoo list')"

