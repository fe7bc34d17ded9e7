"""The plugin index (``index.yaml``): its model, validation, and pip install/uninstall plans.

The index lists known plugins: what ``tlzoo list --available`` shows and what ``tlzoo install NAME``
resolves. It is found, in order, at ``$TLZOO_INDEX``, at the root of the source checkout that holds
this package (editable installs), or as the copy shipped inside the package.

This module is on the listing path: it imports neither torch nor transformers, and finds out which
plugins are installed from distribution metadata alone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from tlzoo.api import API_VERSION, KINDS, TlzooError
from tlzoo.plugins import ENTRY_POINT_GROUP
from tlzoo.plugins import canonical_name as canonical
from tlzoo.suggest import close_names

INDEX_ENV = "TLZOO_INDEX"
OLD_INDEX_ENV = "TLZOO_REGISTRY"
"""The variable's former name, still read when ``TLZOO_INDEX`` is unset ("registry" names the catalog of specs)."""
INDEX_FILE = "index.yaml"
PLUGIN_PREFIX = "tlzoo-"
SCHEMA_VERSION = 1

_NAME = re.compile(r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$")
_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_FIELDS = ("name", "requirement", "path", "provides", "tlzoo_api", "description")
_OPTIONAL = {"path"}


def short_name(name: str) -> str:
    """``tlzoo-ner`` -> ``ner``: the form users may type after ``tlzoo install``."""
    name = canonical(name)
    return name[len(PLUGIN_PREFIX):] if name.startswith(PLUGIN_PREFIX) else name


@dataclass(frozen=True)
class IndexEntry:
    """One known plugin, as written in ``index.yaml``."""

    name: str
    requirement: str
    provides: tuple[str, ...]
    tlzoo_api: str
    description: str
    path: str | None = None

    @property
    def project(self) -> str:
        """The distribution that ``requirement`` installs (equal to ``name`` by the schema)."""
        from packaging.requirements import Requirement

        return Requirement(self.requirement).name

    def compatible(self, api_version: str = API_VERSION) -> bool:
        from tlzoo.plugins import api_compatible

        return api_compatible(self.tlzoo_api, api_version)

    def installed_version(self) -> str | None:
        """The installed version of this plugin's distribution, or None."""
        try:
            return metadata.version(self.project)
        except metadata.PackageNotFoundError:
            return None

    def as_row(self) -> dict[str, str]:
        return {"name": self.name, "requirement": self.requirement, "provides": ", ".join(self.provides),
                "tlzoo_api": self.tlzoo_api, "path": self.path or "", "description": self.description}


@dataclass(frozen=True)
class Index:
    """The parsed index; ``source`` is the file it came from (``path`` entries are relative to its folder)."""

    source: Path
    entries: tuple[IndexEntry, ...]

    def resolve(self, name: str) -> IndexEntry | None:
        """The entry called ``name`` or ``tlzoo-<name>`` (names compare as pip compares them)."""
        wanted = {canonical(name), canonical(PLUGIN_PREFIX + name)}
        return next((e for e in self.entries if canonical(e.name) in wanted), None)

    def close_names(self, name: str) -> list[str]:
        """Indexed names that look like a typo of ``name`` (compared without the ``tlzoo-`` prefix)."""
        shorts = {short_name(e.name): e.name for e in self.entries}
        return [shorts[s] for s in close_names(short_name(name), shorts, cutoff=0.6)]

    def local_source(self, entry: IndexEntry) -> Path | None:
        """The plugin's folder in the checkout that holds this index, when there is one."""
        folder = self.source.parent / entry.path if entry.path else None
        return folder if folder is not None and (folder / "pyproject.toml").is_file() else None

    def install_source(self, entry: IndexEntry) -> str:
        """What ``tlzoo install`` installs ``entry`` from: its folder in this checkout, else its requirement."""
        folder = self.local_source(entry)
        return str(folder) if folder is not None else entry.requirement

    def source_dir(self, entry: IndexEntry) -> Path:
        """The in-repo source folder of ``entry``, for editable installs."""
        if not entry.path:
            raise TlzooError(f"{entry.name} has no in-repo source path in {self.source}; "
                             f"install it without -e")
        folder = self.source.parent / entry.path
        if not (folder / "pyproject.toml").is_file():
            raise TlzooError(
                f"{entry.name}: no plugin source (pyproject.toml) in {folder}; -e installs from a tlzoo "
                f"checkout: point {INDEX_ENV} at the checkout's index.yaml, or install without -e")
        return folder


def index_path() -> Path:
    """Where the index is read from: ``$TLZOO_INDEX`` (or ``$TLZOO_INDEX``), the checkout root, or the
    packaged copy."""
    for variable in (INDEX_ENV, OLD_INDEX_ENV):
        configured = os.environ.get(variable, "").strip()
        if configured:
            path = Path(configured).expanduser()
            if not path.is_file():
                raise TlzooError(f"{variable}={configured}: no such file")
            return path
    package = Path(__file__).resolve().parent
    for candidate in (package.parent / INDEX_FILE, package / INDEX_FILE):
        if candidate.is_file():
            return candidate
    raise TlzooError(f"no {INDEX_FILE} found next to {package}; set {INDEX_ENV} to the plugin index")


def load_index(path: Path | None = None) -> Index:
    """Read and validate the index; errors name the file, the entry and the field."""
    import yaml

    source = path or index_path()
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TlzooError(f"{source}: cannot read: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise TlzooError(f"{source}: invalid YAML: {' '.join(str(exc).split())}") from exc
    return parse_index(data, source)


def parse_index(data: Any, source: Path) -> Index:
    """Validate the loaded YAML document ``data`` (read from ``source``) and build an :class:`Index`."""
    if not isinstance(data, Mapping):
        raise TlzooError(f"{source}: expected a mapping with 'version' and 'plugins' at the top level")
    unknown = sorted(set(data) - {"version", "plugins"})
    if unknown:
        raise TlzooError(f"{source}: unknown top-level key(s) {', '.join(map(repr, unknown))}")
    if data.get("version") != SCHEMA_VERSION:
        raise TlzooError(f"{source}: 'version' must be {SCHEMA_VERSION}, not {data.get('version')!r}")
    plugins = data.get("plugins")
    if not isinstance(plugins, list):
        raise TlzooError(f"{source}: 'plugins' must be a list of entries")
    entries: list[IndexEntry] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(plugins, start=1):
        entry = _parse_entry(raw, f"{source}: plugin #{number}")
        key = canonical(entry.name)
        if key in seen:
            raise TlzooError(f"{source}: plugin #{number} ({entry.name}): duplicate of plugin #{seen[key]}")
        seen[key] = number
        entries.append(entry)
    return Index(source, tuple(entries))


def _parse_entry(raw: Any, where: str) -> IndexEntry:
    if not isinstance(raw, Mapping):
        raise TlzooError(f"{where}: expected a mapping of {', '.join(_FIELDS)}")
    if isinstance(raw.get("name"), str):
        where = f"{where} ({raw['name']})"
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise TlzooError(f"{where}: unknown field(s) {', '.join(map(repr, unknown))}; "
                         f"allowed: {', '.join(_FIELDS)}")
    for name in _FIELDS:
        if name not in raw and name not in _OPTIONAL:
            raise TlzooError(f"{where}: field {name!r} is missing")

    def text(name: str) -> str:
        value = raw[name]
        if not isinstance(value, str) or not value.strip() or "\n" in value.strip():
            raise TlzooError(f"{where}: field {name!r} must be a non-empty one-line string, not {value!r}")
        return value.strip()

    name = text("name")
    if not _NAME.match(name):
        raise TlzooError(f"{where}: field 'name' must be a lower-case distribution name, not {name!r}")
    requirement = text("requirement")
    _check_requirement(requirement, name, where)
    api_range = text("tlzoo_api")
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(api_range)
    except InvalidSpecifier:
        raise TlzooError(f"{where}: field 'tlzoo_api' must be a PEP 440 range such as '>=1.0,<2', "
                         f"not {api_range!r}") from None
    path = text("path") if raw.get("path") is not None else None
    if path is not None and (Path(path).is_absolute() or ".." in Path(path).parts or "\\" in path):
        raise TlzooError(f"{where}: field 'path' must be a relative path inside the repository, not {path!r}")
    return IndexEntry(name=name, requirement=requirement, provides=_parse_provides(raw["provides"], where),
                      tlzoo_api=api_range, description=text("description"), path=path)


def _check_requirement(requirement: str, name: str, where: str) -> None:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        parsed = Requirement(requirement)
    except InvalidRequirement as exc:
        raise TlzooError(f"{where}: field 'requirement' is not a pip requirement: {exc}") from None
    if canonical(parsed.name) != canonical(name):
        raise TlzooError(f"{where}: field 'requirement' installs {parsed.name!r}, "
                         f"but the entry is named {name!r}")


def _parse_provides(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise TlzooError(f"{where}: field 'provides' must be a non-empty list of 'kind:name'")
    provides: list[str] = []
    for item in value:
        kind, sep, component = str(item).partition(":")
        if not isinstance(item, str) or not sep or kind not in KINDS or not _COMPONENT.match(component):
            raise TlzooError(f"{where}: field 'provides': {item!r} is not 'kind:name' with kind one of "
                             f"{', '.join(KINDS)}")
        if item in provides:
            raise TlzooError(f"{where}: field 'provides': {item!r} is listed twice")
        provides.append(item)
    return tuple(provides)


def not_installed(index: Index | None = None) -> list[IndexEntry]:
    """Indexed plugins whose distribution is not installed in this interpreter."""
    return [e for e in (index or load_index()).entries if e.installed_version() is None]


def availability(index: Index | None = None) -> list[dict[str, str]]:
    """Every indexed plugin as a row: whether it is installed, and where ``tlzoo install`` gets it."""
    index = index or load_index()
    rows = []
    for entry in index.entries:
        version = entry.installed_version()
        folder = index.local_source(entry)
        source = (folder.relative_to(index.source.parent).as_posix() if folder is not None
                  else f"{entry.requirement} (package index)")
        rows.append({**entry.as_row(), "status": f"installed {version}" if version else "not installed",
                     "source": source})
    return rows


# --- pip plans: pure functions from names to pip arguments, so they can be tested without pip ---------


def _is_bare_name(text: str) -> bool:
    """True for ``ner`` or ``tlzoo-foo``; False for ``foo>=1``, ``foo[x]``, paths and URLs."""
    return bool(_NAME.match(canonical(text))) and not any(c in text for c in "/\\:[<>=!~;@ ")


def install_args(names: Sequence[str], index: Index, editable: bool = False) -> list[str]:
    """``pip install`` arguments for ``names``; refuses incompatible indexed plugins before pip runs.

    Indexed names (with or without ``tlzoo-``) install from their folder in the checkout that holds the
    index (the plugins of this repository are not published on a package index; the folder also
    matches this checkout's core), else their ``requirement``; with ``editable`` the folder must exist.
    Anything else is passed to pip as a plain requirement (a name with a version, a path, a URL),
    except a bare name that looks like a typo of an indexed one.
    """
    if not names:
        raise TlzooError("name at least one plugin to install (see 'tlzoo list --available')")
    args: list[str] = []
    for name in names:
        entry = index.resolve(name)
        if entry is None:
            close = index.close_names(name) if _is_bare_name(name) else []
            if close:
                raise TlzooError(
                    f"{name!r} is not in the plugin index; did you mean {' or '.join(map(repr, close))}? "
                    f"(to install an unindexed package of that name, give a version, e.g. '{name}>=0')")
            args += ["-e", name] if editable else [name]
            continue
        if not entry.compatible():
            raise TlzooError(
                f"{entry.name} supports tlzoo plugin API {entry.tlzoo_api}, but this tlzoo provides "
                f"{API_VERSION}; install a tlzoo release in that range or wait for a compatible {entry.name}")
        args += ["-e", str(index.source_dir(entry))] if editable else [index.install_source(entry)]
    return args


def index_hint(names: Sequence[str], index: Index) -> str:
    """For a failed pip run: how to get the indexed plugins among ``names`` that pip had to find on the
    package index (the repository's plugins are installed from a checkout, not published)."""
    wanted = [e for e in map(index.resolve, names) if e is not None and index.local_source(e) is None]
    if not wanted:
        return ""
    listed = ", ".join(e.name for e in wanted)
    return (f"; if the package index has no {listed}, install from a tlzoo checkout: run 'tlzoo install' with "
            f"{INDEX_ENV} set to the checkout's index.yaml (it installs from the folders the index names)")


def installed_plugin(name: str) -> str | None:
    """The installed distribution that ``name`` means: itself, ``tlzoo-<name>``, or the owner of the
    ``tlzoo`` entry point called ``name``; None when nothing installed matches."""
    for candidate in (name, PLUGIN_PREFIX + name):
        try:
            return metadata.distribution(candidate).metadata["Name"]
        except metadata.PackageNotFoundError:
            continue
    owners = {ep.dist.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP, name=name) if ep.dist}
    return owners.pop() if len(owners) == 1 else None


def uninstall_args(names: Sequence[str], index: Index) -> list[str]:
    """Distribution names for ``pip uninstall``; every one must be installed, and never the core itself."""
    if not names:
        raise TlzooError("name at least one plugin to uninstall (see 'tlzoo plugins')")
    projects: list[str] = []
    for name in names:
        if not _is_bare_name(name):
            raise TlzooError(f"{name!r} is not a plugin name; uninstall takes names, "
                             f"e.g. 'tlzoo uninstall ner'")
        entry = index.resolve(name)
        project = installed_plugin(entry.project if entry else name)
        if project is None:
            close = [] if entry else [c for c in index.close_names(name) if installed_plugin(c)]
            hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise TlzooError(f"{entry.name if entry else name} is not installed{hint} (see 'tlzoo plugins')")
        if canonical(project) == "tlzoo":
            raise TlzooError("refusing to uninstall the tlzoo core; use 'pip uninstall tlzoo' if you mean it")
        if not metadata.distribution(project).entry_points.select(group=ENTRY_POINT_GROUP):
            raise TlzooError(f"{project} is not a tlzoo plugin (it declares no 'tlzoo' entry point); "
                             f"use pip to remove other packages")
        projects.append(project)
    return projects


def run_pip(args: Iterable[str]) -> None:
    """Run pip in this interpreter (its output streams through); a failure becomes a :class:`TlzooError`."""
    command = [sys.executable, "-m", "pip", *args]
    code = subprocess.call(command)
    if code != 0:
        raise TlzooError(f"pip failed (exit code {code}): {' '.join(command[1:])}")
