"""Installed-looking plugin distributions written straight into a folder, without pip.

``importlib.metadata`` finds any ``*.dist-info`` folder on ``sys.path``, so a folder holding one (plus
the plugin's module) behaves like an installed plugin once it is on ``sys.path`` or ``PYTHONPATH``.
Discovery tests and the startup benchmark use this to install many plugins in milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from tlzoo.plugins import ENTRY_POINT_GROUP


def write_distribution(site: Path, name: str, version: str = "0.1.0", *,
                       entry_points: Mapping[str, str] | None = None,
                       modules: Mapping[str, str] | None = None) -> Path:
    """Write distribution ``name`` into ``site``; returns its ``.dist-info`` folder.

    ``entry_points`` maps ``tlzoo`` entry-point names to ``module`` or ``module:attr`` values;
    ``modules`` maps top-level module names to their source code (written as ``site/<module>.py``).
    """
    site.mkdir(parents=True, exist_ok=True)
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = [f"[{ENTRY_POINT_GROUP}]", *(f"{ep} = {value}" for ep, value in (entry_points or {}).items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    for module, source in (modules or {}).items():
        (site / f"{module}.py").write_text(source)
    return info


def task_plugin_source(*task_names: str, api_range: str = ">=1,<2") -> str:
    """Source of a minimal plugin module registering ``task_names`` (factories are never built)."""
    adds = "".join(f"    registry.add(Spec({n!r}, 'task', 'tlzoo_fake.tasks:Task', 'a fake task {n}'))\n"
                   for n in task_names)
    return ("from tlzoo import Spec, hookimpl\n\n"
            f"TLZOO_API = {api_range!r}\n\n\n"
            "@hookimpl\n"
            "def tlzoo_register(registry):\n" + (adds or "    pass\n"))
