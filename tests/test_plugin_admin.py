"""``tlzoo install``/``uninstall`` (pip plans and the CLI around them) and the conformance kit behind
``tlzoo check``. pip itself is replaced by a recorder except where its failure is the point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tlzoo.api import API_VERSION, TlzooError
from tlzoo.cli import plugin_cmds
from tlzoo.cli.main import cli
from tlzoo.index import Index, install_args, load_index, run_pip, uninstall_args
from tlzoo.scaffold import write_plugin
from tlzoo.testing import check_light_import, edge_case_inputs, find_plugin
from tlzoo.testing.fakes import task_plugin_source, write_distribution
from tlzoo.testing.kit import NON_ASCII, _falling_loss

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def index() -> Index:
    return load_index(ROOT / "index.yaml")


@pytest.fixture
def future_index(tmp_path: Path) -> Path:
    """An index with a plugin that needs the next major plugin API, and one without source folder."""
    major = int(API_VERSION.split(".")[0])
    plugins = [{"name": "tlzoo-future", "requirement": "tlzoo-future", "path": "plugins/tlzoo-future",
                "provides": ["task:future"], "tlzoo_api": f">={major + 1},<{major + 2}",
                "description": "Later."},
               {"name": "tlzoo-nosource", "requirement": "tlzoo-nosource", "path": "plugins/tlzoo-nosource",
                "provides": ["task:nosource"], "tlzoo_api": f">={major}", "description": "No source here."}]
    path = tmp_path / "index.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "plugins": plugins}))
    return path


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    return folder


# --- install plans ----------------------------------------------------------------------------------


def test_indexed_names_install_from_their_folder_in_this_checkout(index: Index) -> None:
    assert install_args(["ner", "tlzoo-qa", "Tlzoo_Translation"], index) == [
        str(ROOT / "plugins" / name) for name in ("tlzoo-ner", "tlzoo-qa", "tlzoo-translation")]


def test_editable_installs_the_in_repo_source(index: Index) -> None:
    assert install_args(["classification"], index, editable=True) == [
        "-e", str(ROOT / "plugins" / "tlzoo-classification")]


def test_editable_without_a_source_folder_says_what_to_do(future_index: Path) -> None:
    with pytest.raises(TlzooError, match=r"tlzoo-nosource: no plugin source .* point TLZOO_INDEX"):
        install_args(["nosource"], load_index(future_index), editable=True)


def test_an_incompatible_plugin_is_refused_before_pip(future_index: Path) -> None:
    with pytest.raises(TlzooError) as caught:
        install_args(["future"], load_index(future_index))
    message = str(caught.value)
    assert "tlzoo-future supports tlzoo plugin API >=" in message and f"provides {API_VERSION}" in message


@pytest.mark.parametrize("requirement", ["tlzoo-sentiment", "some-package>=1.2", "./local/plugin",
                                         "git+https://example.org/tlzoo-x.git", "tlzoo-x[extra]"])
def test_unindexed_requirements_go_to_pip_as_they_are(index: Index, requirement: str) -> None:
    assert install_args([requirement], index) == [requirement]
    assert install_args([requirement], index, editable=True) == ["-e", requirement]


def test_a_bare_name_close_to_an_indexed_one_is_taken_for_a_typo(index: Index) -> None:
    with pytest.raises(TlzooError, match=r"'nre' is not in the plugin index; did you mean 'tlzoo-ner'\?"):
        install_args(["nre"], index)
    assert install_args(["nre>=0"], index) == ["nre>=0"], "a version marks it as deliberate"


def test_install_and_uninstall_need_names(index: Index) -> None:
    with pytest.raises(TlzooError, match="at least one plugin"):
        install_args([], index)
    with pytest.raises(TlzooError, match="at least one plugin"):
        uninstall_args([], index)


# --- uninstall plans --------------------------------------------------------------------------------


def test_uninstall_finds_a_plugin_by_short_entry_point_or_distribution_name(site: Path, index: Index) -> None:
    write_distribution(site, "tlzoo-gone-soon", entry_points={"gone": "tlzoo_gone_soon"})
    for name in ("gone-soon", "gone", "tlzoo-gone-soon", "tlzoo_gone_soon"):
        assert uninstall_args([name], index) == ["tlzoo-gone-soon"], name


def test_uninstall_refuses_the_core_other_packages_and_absent_plugins(index: Index) -> None:
    with pytest.raises(TlzooError, match="refusing to uninstall the tlzoo core"):
        uninstall_args(["tlzoo"], index)
    with pytest.raises(TlzooError, match="pluggy is not a tlzoo plugin"):
        uninstall_args(["pluggy"], index)
    with pytest.raises(TlzooError, match="tlzoo-nowhere is not installed"):
        uninstall_args(["tlzoo-nowhere"], index)
    with pytest.raises(TlzooError, match="not a plugin name"):
        uninstall_args(["tlzoo-x>=1"], index)


def test_run_pip_turns_a_failure_into_one_error_line() -> None:
    with pytest.raises(TlzooError, match=r"pip failed \(exit code 2\)"):
        run_pip(["install", "--no-such-option"])


# --- the CLI around pip -----------------------------------------------------------------------------


class Pip:
    """Stands in for pip: records calls and says which plugins a fresh process sees before/after."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch,
                 after: dict[str, dict[str, str]] | None = None) -> None:
        self.calls: list[list[str]] = []
        self.views = [{}, after or {}]
        monkeypatch.setattr("tlzoo.index.run_pip", lambda args: self.calls.append(list(args)))
        monkeypatch.setattr(plugin_cmds, "_loaded_plugins", lambda: self.views.pop(0))


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_cli_install_runs_pip_and_reports_what_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    pip = Pip(monkeypatch, after={"tlzoo-ner": {"version": "0.1.0", "error": "", "components": "task:ner"}})
    result = invoke("install", "ner", "-U")
    assert result.exit_code == 0, result.output
    assert pip.calls == [["install", "--upgrade", str(ROOT / "plugins" / "tlzoo-ner")]]
    assert "installed tlzoo-ner 0.1.0: task:ner" in result.output


def test_cli_install_fails_when_the_installed_plugin_does_not_load(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = {"version": "3.0", "error": "incompatible: needs >=9", "components": ""}
    Pip(monkeypatch, after={"tlzoo-odd": broken})
    result = invoke("install", "tlzoo-odd>=3")
    assert result.exit_code == 1
    reason = "tlzoo-odd 3.0: incompatible: needs >=9"
    expected = f"error: installed but not usable: {reason} (remove with 'tlzoo uninstall NAME')"
    assert result.output.strip().splitlines() == [expected]


def test_cli_refuses_an_incompatible_plugin_without_running_pip(monkeypatch: pytest.MonkeyPatch,
                                                                future_index: Path) -> None:
    pip = Pip(monkeypatch)
    monkeypatch.setenv("TLZOO_INDEX", str(future_index))
    result = invoke("install", "future")
    assert result.exit_code == 1 and not pip.calls
    assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("error: tlzoo-future")


def test_cli_uninstall_runs_pip_without_prompting(monkeypatch: pytest.MonkeyPatch, site: Path) -> None:
    write_distribution(site, "tlzoo-leaving", entry_points={"leaving": "tlzoo_leaving"})
    pip = Pip(monkeypatch)
    result = invoke("uninstall", "leaving")
    assert result.exit_code == 0, result.output
    assert pip.calls == [["uninstall", "--yes", "tlzoo-leaving"]]


def test_loaded_plugins_reports_the_installed_plugins() -> None:
    seen = plugin_cmds._loaded_plugins()
    assert "tlzoo" not in seen, "built-ins are not plugins that pip installs"
    assert all({"version", "error", "components"} <= set(v) for v in seen.values())


def test_cli_check_of_an_unknown_plugin_is_one_line() -> None:
    result = invoke("check", "tlzoo-no-such-plugin")
    assert result.exit_code == 1
    assert result.output.startswith("error: no installed plugin called 'tlzoo-no-such-plugin'; installed:")


# --- the conformance kit ----------------------------------------------------------------------------


def test_find_plugin_by_distribution_short_or_entry_point_name(site: Path) -> None:
    write_distribution(site, "tlzoo-findme", entry_points={"findme-ep": "tlzoo_findme"})
    for name in ("tlzoo-findme", "findme", "findme-ep"):
        target = find_plugin(name)
        assert target.distribution == "tlzoo-findme" and target.modules == ["tlzoo_findme"]


def test_light_import_check_catches_heavy_imports(site: Path) -> None:
    (site / "tlzoo_heavy_probe.py").write_text("import json\nimport torch\n")
    (site / "tlzoo_light_probe.py").write_text("import json\n")
    env = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env]))
    try:
        heavy, light = check_light_import("tlzoo_heavy_probe"), check_light_import("tlzoo_light_probe")
        missing = check_light_import("tlzoo_absent_probe")
    finally:
        if env is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = env
    assert not heavy.ok and "imported torch" in heavy.detail
    assert light.ok and light.detail.endswith("ms")
    assert not missing.ok and "ModuleNotFoundError" in missing.detail


def test_edge_case_inputs_of_strings_tokens_and_records() -> None:
    text = edge_case_inputs("a short text")
    assert text["empty"] == "" and text["non-ASCII"] == NON_ASCII
    assert len(text["very long"].split()) == 3000
    tokens = edge_case_inputs(["EU", "rejects"])
    assert tokens["empty"] == [] and len(tokens["very long"]) == 3000
    assert tokens["non-ASCII"] == NON_ASCII.split()
    record = edge_case_inputs({"question": "who?", "context": "a longer context here", "id": 3})
    assert record["empty"] == {"question": "", "context": "", "id": 3}
    long = record["very long"]
    assert long["question"] == "who?" and len(long["context"].split()) == 3000, "only the longest field grows"


@pytest.mark.parametrize(("losses", "ok"), [([0.7] * 4 + [0.6] * 4, True), ([0.7] * 8, False),
                                            ([0.7, 0.7, float("nan"), 0.1], False), ([0.7, 0.1], False)])
def test_falling_loss(losses: list[float], ok: bool) -> None:
    history = [{"event": "train", "step": i, "loss": x} for i, x in enumerate(losses)]
    history.append({"event": "eval", "step": 99, "loss": 9.0})
    assert _falling_loss(history).ok is ok


DRIFTED_PLUGIN = """
from tlzoo import Spec, hookimpl

TLZOO_API = ">=1,<2"
_HERE = "tlzoo_fixture_components.components"


@hookimpl
def tlzoo_register(registry):
    registry.add(Spec("drift-rate", "metric", _HERE + ":ErrorRate", "listed as scoring tags",
                      {"primary": "error_rate", "consumes": "tags"}))
    registry.add(Spec("drift-parquet", "dataset", _HERE + ":ParquetReader", "listed with other extensions",
                      {"extensions": [".pq"], "produces": "tagged"}))
    registry.add(Spec("drifted", "task", "tlzoo_classification.tasks:ClassificationTask", "listed metrics differ",
                      {"metrics": ["accuracy"], "primary": "f1", "sample": "tlzoo_classification.sample:paths",
                       "example_inputs": ["a text"]}))
"""


def test_check_fails_a_spec_whose_listing_facts_drift_from_its_class(site: Path, fixture_components: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``tlzoo list`` shows and what picks readers and metrics (the spec) must be what the class does."""
    import tlzoo.plugins
    from tlzoo.testing.kit import check_specs

    monkeypatch.syspath_prepend(str(fixture_components))
    write_distribution(site, "tlzoo-drifted", entry_points={"drifted": "tlzoo_drifted"},
                       modules={"tlzoo_drifted": DRIFTED_PLUGIN})
    tlzoo.plugins.reset()
    try:
        faithful = check_specs(find_plugin("tlzoo-fixture-components"))
        drifted = {r.name: r for r in check_specs(find_plugin("tlzoo-drifted"))}
    finally:
        tlzoo.plugins.reset()
    assert [r.name for r in faithful if not r.ok] == [], [r.line() for r in faithful]
    metric, reader = drifted["metric drift-rate: spec is valid"], drifted["dataset drift-parquet: spec is valid"]
    task = drifted["task drifted: spec is valid"]
    assert not metric.ok and "name: spec says 'drift-rate', class says 'error-rate'" in metric.detail
    assert "metadata 'consumes': spec says 'tags', class says 'label'" in metric.detail
    assert not reader.ok and "metadata 'extensions': spec says ['.pq'], class says ['.parquet']" in reader.detail
    assert "metadata 'produces': spec says 'tagged', class says 'table'" in reader.detail
    assert not task.ok and "metadata 'metrics': spec says ['accuracy'], class says ['classification']" in task.detail
    assert "metadata 'primary': spec says 'f1', class says 'accuracy'" in task.detail


def test_check_with_debug_shows_the_traceback_of_each_failing_check(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write_distribution(site, "tlzoo-broken-factory", entry_points={"broken-factory": "tlzoo_broken_factory"},
                       modules={"tlzoo_broken_factory": task_plugin_source("broken-factory")})
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TLZOO_")}
    environ["PYTHONPATH"] = str(site)

    def check(*flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tlzoo", *flags, "check", "broken-factory"],
                              capture_output=True, text=True, env=environ, timeout=300)

    plain = check()
    assert plain.returncode == 1 and "Traceback" not in plain.stdout + plain.stderr
    assert "FAIL  task broken-factory: spec is valid: ModuleNotFoundError" in plain.stdout
    debug = check("--debug")
    assert debug.returncode == 1
    shown = debug.stderr.split("traceback of FAIL task broken-factory: spec is valid:\n", 1)[1]
    assert shown.startswith("Traceback (most recent call last):")
    assert "in _check_spec" in shown and "No module named 'tlzoo_fake'" in shown.split("traceback of FAIL")[0]
    assert "traceback of FAIL task broken-factory: trains on tiny-bert:" in debug.stderr


@pytest.mark.slow
def test_check_reports_each_broken_promise_of_a_plugin(tmp_path: Path) -> None:
    """A generated plugin, sabotaged three ways, checked as an installed distribution (no pip)."""
    folder = write_plugin("sabotaged", tmp_path)
    package = folder / "src" / "tlzoo_sabotaged"
    init = package / "__init__.py"
    never_learns = '"test_options": {"learning_rate": 1e-12, "max_steps": 8}, '
    source = init.read_text().replace('"example_inputs"', never_learns + '"example_inputs"')
    init.write_text(source + "\nimport torch  # noqa: E402  (heavy at import time)\n")
    task = package / "task.py"
    task.write_text(task.read_text().replace(
        "            texts.append(text)",
        "            if not text:\n                raise ValueError('cannot predict on empty text')\n"
        "            texts.append(text)"))
    site = tmp_path / "site"
    write_distribution(site, "tlzoo-sabotaged", entry_points={"sabotaged": "tlzoo_sabotaged"})
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TLZOO_")}
    environ["PYTHONPATH"] = os.pathsep.join([str(site), str(folder / "src")])
    run = subprocess.run([sys.executable, "-m", "tlzoo", "check", "sabotaged", "--json"], capture_output=True,
                         text=True, env=environ, timeout=600)
    assert run.returncode == 1, run.stderr[-3000:]
    assert run.stderr.strip() == "error: tlzoo-sabotaged failed 3 of 11 checks"
    report = json.loads(run.stdout)
    failed = {r["name"]: r["detail"] for r in report["results"] if not r["ok"]}
    assert set(failed) == {"tlzoo_sabotaged imports without torch/transformers/datasets",
                           "task sabotaged: trains with a falling loss",
                           "task sabotaged: predicts on empty input"}
    assert "imported torch" in failed["tlzoo_sabotaged imports without torch/transformers/datasets"]
    assert "cannot predict on empty text" in failed["task sabotaged: predicts on empty input"]
