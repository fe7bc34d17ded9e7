"""index.yaml: the real index stays valid and truthful; malformed ones fail with file, entry and field."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from tlzoo.api import API_VERSION, TlzooError
from tlzoo.cli.main import cli
from tlzoo.index import Index, IndexEntry, index_path, load_index, not_installed, parse_index

ROOT = Path(__file__).resolve().parents[1]
PLANNED = {"tlzoo-classification", "tlzoo-ner", "tlzoo-qa", "tlzoo-translation", "tlzoo-summarization",
           "tlzoo-similarity", "tlzoo-relation", "tlzoo-generation"}


def entry(**overrides: Any) -> dict[str, Any]:
    base = {"name": "tlzoo-demo", "requirement": "tlzoo-demo>=0.1", "path": "plugins/tlzoo-demo",
            "provides": ["task:demo"], "tlzoo_api": ">=1.0,<2", "description": "A demo plugin."}
    return {**base, **overrides}


def write_index(folder: Path, *entries: dict[str, Any]) -> Path:
    path = folder / "index.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "plugins": list(entries)}))
    return path


# --- the real index ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def index() -> Index:
    return load_index(ROOT / "index.yaml")


def test_the_index_lists_the_plugins_built_here(index: Index) -> None:
    assert {e.name for e in index.entries} == PLANNED
    for e in index.entries:
        assert e.path == f"plugins/{e.name}" and e.requirement == e.name and e.compatible()


def test_the_repository_index_is_the_packaged_one() -> None:
    assert (ROOT / "index.yaml").resolve() == (ROOT / "tlzoo" / "index.yaml").resolve()


def test_without_the_variable_the_checkout_index_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TLZOO_INDEX", raising=False)
    monkeypatch.delenv("TLZOO_REGISTRY", raising=False)
    assert index_path() == ROOT / "index.yaml"


@pytest.mark.parametrize("name", sorted(PLANNED))
def test_an_indexed_source_folder_is_that_plugin(index: Index, name: str) -> None:
    e = index.resolve(name)
    assert e is not None and e.path
    folder = ROOT / e.path
    if not folder.is_dir():
        pytest.skip(f"{e.path} is not in this checkout yet")
    pyproject = (folder / "pyproject.toml").read_text()
    assert re.search(rf'^name = "{re.escape(e.name)}"$', pyproject, re.MULTILINE)
    assert "[project.entry-points.tlzoo]" in pyproject, f"{e.path}/pyproject.toml has no tlzoo entry point"


@pytest.mark.parametrize("name", sorted(PLANNED))
def test_provides_matches_what_an_installed_plugin_registers(index: Index, name: str) -> None:
    from tlzoo.plugins import host

    e = index.resolve(name)
    assert e is not None
    if e.installed_version() is None:
        pytest.skip(f"{name} is not installed")
    infos = [i for i in host().plugins if i.distribution == e.name]
    assert infos and not any(i.error for i in infos), [i.error for i in infos]
    registered = {c for i in infos for c in i.components}
    assert registered == set(e.provides), f"update 'provides' of {name} in index.yaml (and its copy)"


# --- locating and listing --------------------------------------------------------------------------


def test_the_variable_points_at_another_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_index(tmp_path, entry())
    monkeypatch.setenv("TLZOO_INDEX", str(path))
    assert index_path() == path and load_index().entries[0].name == "tlzoo-demo"
    monkeypatch.setenv("TLZOO_INDEX", str(tmp_path / "missing.yaml"))
    with pytest.raises(TlzooError, match="TLZOO_INDEX=.*missing.yaml: no such file"):
        index_path()


def test_the_former_variable_name_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_index(tmp_path, entry())
    monkeypatch.delenv("TLZOO_INDEX", raising=False)
    monkeypatch.setenv("TLZOO_REGISTRY", str(path))
    assert index_path() == path
    monkeypatch.setenv("TLZOO_INDEX", str(ROOT / "index.yaml"))  # the new name wins
    assert index_path() == ROOT / "index.yaml"


def test_not_installed_uses_distribution_metadata(tmp_path: Path) -> None:
    absent = "tlzoo-surely-not-installed"
    index = load_index(write_index(tmp_path, entry(name="pluggy", requirement="pluggy>=1"),
                                   entry(name=absent, requirement=absent)))
    assert index.entries[0].installed_version()
    assert [e.name for e in not_installed(index)] == [absent]


def test_list_available_shows_indexed_plugins_and_whether_each_is_installed(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_index(tmp_path, entry(name="pluggy", requirement="pluggy"),
                       entry(name="tlzoo-elsewhere", requirement="tlzoo-elsewhere",
                             provides=["task:a", "metric:b"]))
    monkeypatch.setenv("TLZOO_INDEX", str(path))
    result = CliRunner().invoke(cli, ["list", "--available", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["name"] for r in rows] == ["pluggy", "tlzoo-elsewhere"]
    assert rows[0]["status"].startswith("installed ") and rows[1]["status"] == "not installed"
    assert rows[1]["source"] == "tlzoo-elsewhere (package index)", "no plugin folder next to this index"
    assert rows[1]["provides"] == "task:a, metric:b" and rows[1]["description"] == "A demo plugin."
    table = CliRunner().invoke(cli, ["list", "--available"])
    assert table.output.splitlines()[0].split() == ["NAME", "STATUS", "SOURCE", "PROVIDES", "DESCRIPTION"]


def test_resolve_accepts_short_and_normalised_names(tmp_path: Path) -> None:
    index = load_index(write_index(tmp_path, entry()))
    for name in ("tlzoo-demo", "demo", "TLZOO_Demo", "tlzoo.demo"):
        assert index.resolve(name) is not None, name
    assert index.resolve("dem") is None
    assert index.close_names("dmeo") == ["tlzoo-demo"]


def test_an_entry_as_a_row() -> None:
    row = IndexEntry("tlzoo-x", "tlzoo-x", ("task:x", "metric:y"), ">=1", "X.", "plugins/tlzoo-x").as_row()
    assert row == {"name": "tlzoo-x", "requirement": "tlzoo-x", "provides": "task:x, metric:y",
                   "tlzoo_api": ">=1", "path": "plugins/tlzoo-x", "description": "X."}


def test_an_entry_may_omit_the_path(tmp_path: Path) -> None:
    index = load_index(write_index(tmp_path, {k: v for k, v in entry().items() if k != "path"}))
    assert index.entries[0].path is None
    with pytest.raises(TlzooError, match="no in-repo source path"):
        index.source_dir(index.entries[0])


def test_api_compatibility_of_an_entry() -> None:
    e = IndexEntry("tlzoo-x", "tlzoo-x", ("task:x",), ">=2,<3", "X.")
    assert not e.compatible() and e.compatible("2.1")
    assert IndexEntry("tlzoo-x", "tlzoo-x", ("task:x",), f"=={API_VERSION}", "X.").compatible()


# --- validation: every error names the file, the entry and the field -------------------------------


@pytest.mark.parametrize(("change", "message"), [
    ({"name": None}, r"plugin #1: field 'name' must be a non-empty one-line string"),
    ({"name": "Tlzoo Demo"}, r"plugin #1 \(Tlzoo Demo\): field 'name' must be a lower-case distribution"),
    ({"requirement": "tlzoo-demo >= = 1"}, r"\(tlzoo-demo\): field 'requirement' is not a pip requirement"),
    ({"requirement": "tlzoo-other"}, r"field 'requirement' installs 'tlzoo-other', but the entry is named"),
    ({"provides": []}, r"field 'provides' must be a non-empty list"),
    ({"provides": "task:demo"}, r"field 'provides' must be a non-empty list"),
    ({"provides": ["demo"]}, r"field 'provides': 'demo' is not 'kind:name'"),
    ({"provides": ["model:demo"]}, r"field 'provides': 'model:demo' is not 'kind:name' with kind one of"),
    ({"provides": ["task:a", "task:a"]}, r"field 'provides': 'task:a' is listed twice"),
    ({"tlzoo_api": "one or two"}, r"field 'tlzoo_api' must be a PEP 440 range such as '>=1.0,<2'"),
    ({"tlzoo_api": 1}, r"field 'tlzoo_api' must be a non-empty one-line string"),
    ({"description": ""}, r"field 'description' must be a non-empty one-line string"),
    ({"description": "two\nlines"}, r"field 'description' must be a non-empty one-line string"),
    ({"path": "/abs/path"}, r"field 'path' must be a relative path inside the repository"),
    ({"path": "../outside"}, r"field 'path' must be a relative path inside the repository"),
    ({"homepage": "x"}, r"unknown field\(s\) 'homepage'; allowed: name, requirement"),
])
def test_a_bad_entry_is_reported_with_file_entry_and_field(tmp_path: Path, change: dict[str, Any],
                                                           message: str) -> None:
    path = write_index(tmp_path, entry(**change))
    with pytest.raises(TlzooError, match=message) as caught:
        load_index(path)
    assert str(caught.value).startswith(f"{path}: plugin #1")


def test_a_missing_field_is_named(tmp_path: Path) -> None:
    raw = {k: v for k, v in entry().items() if k != "tlzoo_api"}
    with pytest.raises(TlzooError, match=r"plugin #1 \(tlzoo-demo\): field 'tlzoo_api' is missing"):
        load_index(write_index(tmp_path, raw))


def test_duplicates_name_both_entries(tmp_path: Path) -> None:
    with pytest.raises(TlzooError, match=r"plugin #2 \(tlzoo_demo\): duplicate of plugin #1"):
        load_index(write_index(tmp_path, entry(), entry(name="tlzoo_demo", requirement="tlzoo_demo")))


@pytest.mark.parametrize(("document", "message"), [
    ("- just a list", "expected a mapping with 'version' and 'plugins'"),
    ("version: 2\nplugins: []", "'version' must be 1, not 2"),
    ("version: 1\nplugins: {}", "'plugins' must be a list of entries"),
    ("version: 1\nplugins: []\nextra: 1", "unknown top-level key"),
    ("version: 1\nplugins:\n  - just a string", "plugin #1: expected a mapping"),
    ("version: 1\nplugins: [\n", "invalid YAML"),
])
def test_a_bad_document_is_reported_with_the_file(tmp_path: Path, document: str, message: str) -> None:
    path = tmp_path / "index.yaml"
    path.write_text(document)
    with pytest.raises(TlzooError, match=message) as caught:
        load_index(path)
    assert str(caught.value).startswith(str(path))


def test_parse_index_of_an_empty_list(tmp_path: Path) -> None:
    assert parse_index({"version": 1, "plugins": []}, tmp_path / "r.yaml").entries == ()


def test_an_unreadable_index_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(TlzooError, match="cannot read"):
        load_index(tmp_path / "nope.yaml")
