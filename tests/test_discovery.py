"""Plugin discovery from the outside: fake plugins are real installed distributions (a ``.dist-info``
folder and a module in a temporary folder on ``sys.path``), loaded by a fresh :class:`PluginHost`.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tlzoo.api import API_VERSION
from tlzoo.plugins import PluginHost, PluginInfo
from tlzoo.testing.fakes import task_plugin_source, write_distribution

HEAVY = ("torch", "transformers", "datasets")
_serial = itertools.count()


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on ``sys.path`` for fake distributions; the plugin switches start unset."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delenv("TLZOO_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("TLZOO_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    return folder


def fake(site: Path, source: str, *, dist: str | None = None) -> tuple[str, str]:
    """Install a fake plugin whose module has ``source``; returns (distribution, entry-point name).

    Names are unique per call so that modules cached in ``sys.modules`` never leak between tests.
    """
    n = next(_serial)
    dist = dist or f"tlzoo-fake{os.getpid()}-{n}"
    module = f"tlzoo_fake{os.getpid()}_{n}"
    write_distribution(site, dist, entry_points={f"fake{n}": module}, modules={module: source})
    return dist, f"fake{n}"


def info_of(host: PluginHost, dist: str) -> PluginInfo:
    (info,) = [i for i in host.plugins if i.distribution == dist]
    return info


def test_a_plugin_registers_its_components(site: Path) -> None:
    dist, _ = fake(site, task_plugin_source("fake-alpha", "fake-beta"))
    host = PluginHost().load()
    info = info_of(host, dist)
    assert not info.error
    assert info.version == "0.1.0" and info.hooks == ["tlzoo_register"] and info.api_range == ">=1,<2"
    assert info.components == ["task:fake-alpha", "task:fake-beta"]
    assert host.registry.get("fake-alpha", "task").plugin == dist
    assert any(i.builtin and i.name == "backbones" for i in host.plugins)


def test_a_plugin_that_fails_to_import_is_skipped_with_a_reason(site: Path) -> None:
    broken, _ = fake(site, "import tlzoo_no_such_module_anywhere\n")
    good, _ = fake(site, task_plugin_source("fake-survivor"))
    host = PluginHost().load()
    assert info_of(host, broken).error.startswith("failed to import: ModuleNotFoundError")
    assert "tlzoo_no_such_module_anywhere" in info_of(host, broken).error
    assert host.registry.get("fake-survivor", "task").plugin == good


def test_a_plugin_that_exits_at_import_does_not_end_the_process(site: Path) -> None:
    broken, _ = fake(site, "raise SystemExit('bye')\n")
    host = PluginHost().load()
    assert "SystemExit" in info_of(host, broken).error


def test_a_plugin_whose_hook_raises_is_skipped_and_registers_nothing(site: Path) -> None:
    source = task_plugin_source("fake-half-done") + "    raise RuntimeError('boom\\nsecond line')\n"
    broken, _ = fake(site, source)
    host = PluginHost().load()
    info = info_of(host, broken)
    assert "RuntimeError: boom" in info.error and "second line" not in info.error
    assert not host.registry.find("fake-half-done")
    assert not info.components


def test_a_plugin_with_an_invalid_hook_signature_is_skipped(site: Path) -> None:
    source = ("from tlzoo import hookimpl\n\n\n@hookimpl\n"
              "def tlzoo_register(registry, no_such_argument):\n    pass\n")
    broken, _ = fake(site, source)
    assert "no_such_argument" in info_of(PluginHost().load(), broken).error


def test_an_incompatible_plugin_is_refused_with_the_versions_that_would_work(site: Path) -> None:
    old, _ = fake(site, task_plugin_source("fake-from-the-future", api_range=">=2,<3"))
    host = PluginHost().load()
    error = info_of(host, old).error
    assert error.startswith("incompatible") and ">=2,<3" in error and API_VERSION in error
    assert not host.registry.find("fake-from-the-future")


def test_an_invalid_api_range_is_reported(site: Path) -> None:
    odd, _ = fake(site, task_plugin_source("fake-odd", api_range="one or two"))
    assert "invalid TLZOO_API range" in info_of(PluginHost().load(), odd).error


def test_two_plugins_registering_one_name_is_an_error_naming_both(site: Path) -> None:
    first, _ = fake(site, task_plugin_source("fake-shared", "fake-own-a"))
    second, _ = fake(site, task_plugin_source("fake-shared", "fake-own-b"))
    host = PluginHost().load()
    infos = [info_of(host, first), info_of(host, second)]
    failed = [i for i in infos if i.error]
    assert len(failed) == 1, [i.error for i in infos]
    assert first in failed[0].error and second in failed[0].error and "fake-shared" in failed[0].error
    winner = next(i for i in infos if not i.error)
    assert host.registry.get("fake-shared", "task").plugin == winner.distribution
    # the refused plugin contributes none of its components, not even the unshared ones
    loser_own = "fake-own-b" if failed[0].distribution == second else "fake-own-a"
    assert not host.registry.find(loser_own)


def test_a_plugin_cannot_override_a_builtin(site: Path) -> None:
    source = ("from tlzoo import Spec, hookimpl\nTLZOO_API = '>=1'\n\n\n@hookimpl\n"
              "def tlzoo_register(registry):\n    registry.add(Spec('tiny-bert', 'backbone', 'x.y:z'))\n")
    rogue, _ = fake(site, source)
    host = PluginHost().load()
    assert "tlzoo and " + rogue in info_of(host, rogue).error
    assert host.registry.get("tiny-bert", "backbone").plugin == "tlzoo"


def test_two_distributions_may_use_the_same_entry_point_name(site: Path) -> None:
    write_distribution(site, "tlzoo-same-ep-a", entry_points={"same": "tlzoo_same_ep_a"},
                       modules={"tlzoo_same_ep_a": task_plugin_source("fake-same-a")})
    write_distribution(site, "tlzoo-same-ep-b", entry_points={"same": "tlzoo_same_ep_b"},
                       modules={"tlzoo_same_ep_b": task_plugin_source("fake-same-b")})
    host = PluginHost().load()
    assert not info_of(host, "tlzoo-same-ep-a").error and not info_of(host, "tlzoo-same-ep-b").error
    assert host.registry.find("fake-same-a") and host.registry.find("fake-same-b")


def test_load_plugins_switch_loads_only_the_named_plugins(site: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    by_dist, _ = fake(site, task_plugin_source("fake-by-dist"))
    by_ep_dist, by_ep = fake(site, task_plugin_source("fake-by-ep"))
    left_out, _ = fake(site, task_plugin_source("fake-left-out"))
    # distribution names compare as pip compares them: '_' and '-' and case do not matter
    monkeypatch.setenv("TLZOO_LOAD_PLUGINS", f"{by_dist.replace('-', '_').upper()}, {by_ep}")
    host = PluginHost().load()
    loaded = {i.distribution for i in host.plugins if not i.builtin}
    assert loaded == {by_dist, by_ep_dist}
    assert host.registry.find("fake-by-dist") and host.registry.find("fake-by-ep")
    assert not host.registry.find("fake-left-out") and left_out not in loaded
    assert host.registry.find("tiny-bert"), "built-ins always load"


@pytest.mark.parametrize(("value", "disabled"),
                         [("1", True), ("true", True), ("0", False), ("False", False), ("", False)])
def test_disable_autoload_switch(site: Path, monkeypatch: pytest.MonkeyPatch, value: str,
                                 disabled: bool) -> None:
    dist, _ = fake(site, task_plugin_source("fake-autoloaded"))
    monkeypatch.setenv("TLZOO_DISABLE_PLUGIN_AUTOLOAD", value)
    host = PluginHost().load()
    assert bool(host.registry.find("fake-autoloaded")) is not disabled
    assert all(i.builtin for i in host.plugins) is disabled
    assert host.registry.find("tiny-bert", "backbone")


# --- whole processes: what a user sees -----------------------------------------------------------------


def run_tlzoo(*args: str, site: Path | None = None, importtime: bool = False,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TLZOO_")}
    if site is not None:
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), environ.get("PYTHONPATH")]))
    environ.update(env or {})
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "tlzoo", *args]
    return subprocess.run(command, capture_output=True, text=True, env=environ, timeout=120)


def test_cli_reports_broken_plugins_in_one_line_and_keeps_working(site: Path) -> None:
    broken, _ = fake(site, "raise ImportError('this plugin is broken')\n")
    old, _ = fake(site, task_plugin_source("fake-old", api_range="<1"))
    fine, _ = fake(site, task_plugin_source("fake-fine"))
    plugins = run_tlzoo("plugins", site=site)
    assert plugins.returncode == 0, plugins.stderr
    assert "Traceback" not in plugins.stdout + plugins.stderr
    lines = {line.split()[1]: line for line in plugins.stdout.splitlines()[1:]}
    assert "ERROR failed to import: ImportError: this plugin is broken" in lines[broken]
    assert "ERROR incompatible" in lines[old] and lines[fine].endswith("ok")
    listed = run_tlzoo("list", "tasks", "--json", site=site)
    assert listed.returncode == 0
    assert "fake-fine" in {row["name"] for row in json.loads(listed.stdout)}


def test_cli_plugins_json_names_both_distributions_of_a_conflict(site: Path) -> None:
    first, _ = fake(site, task_plugin_source("fake-clash"))
    second, _ = fake(site, task_plugin_source("fake-clash"))
    shown = json.loads(run_tlzoo("plugins", "--json", site=site).stdout)
    errors = [p["error"] for p in shown if p["distribution"] in (first, second) and p["error"]]
    assert len(errors) == 1 and first in errors[0] and second in errors[0]


@pytest.mark.parametrize("args", [("list",), ("list", "tasks", "--json"), ("plugins",), ("info", "tiny-bert"),
                                  ("list", "--available")])
def test_listing_never_imports_heavy_libraries(args: tuple[str, ...]) -> None:
    """-X importtime names every module imported; none of the heavy ones may appear."""
    result = run_tlzoo(*args, importtime=True)
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert imported, "no -X importtime output"
    assert not {m for m in imported if m.split(".")[0] in HEAVY}
