"""Plugin discovery: one pluggy manager, built-ins first, then ``tlzoo`` entry points, each guarded.

A plugin that fails to import, asks for an incompatible API, or whose hook raises is recorded
with a one-line reason and skipped; the rest keep working.

Switches (environment variables):
- ``TLZOO_LOAD_PLUGINS=a,b``: load only these entry points (by entry-point or distribution name).
- ``TLZOO_DISABLE_PLUGIN_AUTOLOAD=1``: load no entry points, only the built-ins.
"""

from __future__ import annotations

import importlib
import os
import re
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType

import pluggy

from tlzoo import hookspecs
from tlzoo.api import API_VERSION, TlzooError
from tlzoo.catalog import Registry

ENTRY_POINT_GROUP = "tlzoo"
BUILTIN_MODULES = ("tlzoo.backbones", "tlzoo.heads", "tlzoo.metrics", "tlzoo.data.formats")


@dataclass
class PluginInfo:
    """What ``tlzoo plugins`` shows about one plugin."""

    name: str
    module: str
    distribution: str = ""
    version: str = ""
    builtin: bool = False
    api_range: str = ""
    hooks: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=list)
    error: str = ""


def api_compatible(api_range: str, api_version: str = API_VERSION) -> bool:
    """True when ``api_version`` falls in the PEP 440 specifier ``api_range`` (empty means any)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    if not api_range:
        return True
    try:
        return SpecifierSet(api_range).contains(api_version, prereleases=True)
    except InvalidSpecifier as exc:
        raise TlzooError(f"invalid TLZOO_API range {api_range!r}: {exc}") from exc


def canonical_name(name: str) -> str:
    """A distribution name as pip compares them (PEP 503): ``tlzoo_NER`` is ``tlzoo-ner``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def default_api_range(api_version: str = API_VERSION) -> str:
    """The range a new plugin declares: this major version of the plugin API (``>=1,<2``)."""
    major = int(api_version.split(".")[0])
    return f">={major},<{major + 1}"


def _wanted(entry_point: metadata.EntryPoint) -> bool:
    disable = os.environ.get("TLZOO_DISABLE_PLUGIN_AUTOLOAD", "").strip().lower()
    if disable not in ("", "0", "false", "no", "off"):
        return False
    only = os.environ.get("TLZOO_LOAD_PLUGINS")
    if only is None:
        return True
    names = {n.strip() for n in only.split(",") if n.strip()}
    dist = entry_point.dist.name if entry_point.dist else ""
    return entry_point.name in names or canonical_name(dist) in {canonical_name(n) for n in names}


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class PluginHost:
    """Loads plugins into a pluggy manager and collects their specs into a :class:`Registry`."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager("tlzoo")
        self.manager.add_hookspecs(hookspecs)
        self.plugins: list[PluginInfo] = []
        self.registry = Registry()

    def load(self) -> PluginHost:
        for module_name in BUILTIN_MODULES:
            info = PluginInfo(name=module_name.rsplit(".", 1)[-1], module=module_name, distribution="tlzoo",
                              builtin=True, api_range=f"=={API_VERSION}")
            self._add(info, importlib.import_module(module_name))
        for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if _wanted(entry_point):
                self._load_entry_point(entry_point)
        return self

    def _load_entry_point(self, entry_point: metadata.EntryPoint) -> None:
        dist = entry_point.dist
        info = PluginInfo(name=entry_point.name, module=entry_point.value,
                          distribution=dist.name if dist else "", version=dist.version if dist else "")
        self.plugins.append(info)
        try:
            module = entry_point.load()
        except (Exception, SystemExit) as exc:  # a broken plugin must not break tlzoo
            info.error = f"failed to import: {_one_line(exc)}"
            return
        info.api_range = str(getattr(module, "TLZOO_API", ""))
        try:
            compatible = api_compatible(info.api_range)
        except TlzooError as exc:
            info.error = str(exc)
            return
        if not compatible:
            info.error = (f"incompatible: needs tlzoo plugin API {info.api_range}, this tlzoo provides "
                          f"{API_VERSION}; install a plugin release that supports {API_VERSION}")
            return
        self.plugins.pop()
        self._add(info, module)

    def _add(self, info: PluginInfo, module: ModuleType) -> None:
        self.plugins.append(info)
        try:
            self.manager.register(module, name=f"{info.distribution}:{info.name}")
        except Exception as exc:  # pluggy's validation message spans lines; the last ones say what is wrong
            info.error = f"invalid hooks: {type(exc).__name__}: {' '.join(str(exc).split())}"
            return
        info.hooks = sorted(caller.name for caller in self.manager.get_hookcallers(module) or [])
        for impl in self.manager.hook.tlzoo_register.get_hookimpls():
            if impl.plugin is module:
                self._call_register(info, impl)

    def _call_register(self, info: PluginInfo, impl: pluggy.HookImpl) -> None:
        available = {"registry": self.registry.for_plugin(info.distribution or info.name)}
        kwargs = {name: available[name] for name in impl.argnames}
        staged = available["registry"]
        try:
            impl.function(**kwargs)
            self.registry.merge(staged)
        except (Exception, SystemExit) as exc:
            info.error = _one_line(exc)
            self.manager.unregister(impl.plugin)
            return
        info.components = [f"{spec.kind}:{spec.name}" for spec in staged.specs()]


_HOST: PluginHost | None = None


def host() -> PluginHost:
    """The process-wide plugin host, loaded on first use."""
    global _HOST
    if _HOST is None:
        _HOST = PluginHost().load()
    return _HOST


def registry() -> Registry:
    """The process-wide registry with every loaded plugin's specs."""
    return host().registry


def reset() -> None:
    """Forget loaded plugins (tests use this after changing the environment switches)."""
    global _HOST
    _HOST = None
