"""The built-in sample data a task ships (``tlzoo sample``, ``tlzoo check``): found through its spec."""

from __future__ import annotations

from pathlib import Path

from tlzoo.api import Spec, TlzooError


def sample_files(spec: Spec) -> dict[str, str]:
    """The built-in sample data a task names in its ``sample`` metadata: ``{"train": path, "validation": path}``."""
    sample = spec.metadata.get("sample")
    if not isinstance(sample, str):
        raise TlzooError(f"{spec.kind} {spec.name!r} ships no sample data: its metadata 'sample' must name "
                         f"a function as 'module:function'")
    files = Spec(spec.name, spec.kind, sample).load()()
    if not isinstance(files, dict) or not {"train", "validation"} <= set(files):
        raise TlzooError(f"{sample}() must return {{'train': path, 'validation': path}}, got {files!r}")
    missing = [str(files[k]) for k in ("train", "validation") if not Path(files[k]).is_file()]
    if missing:
        raise TlzooError(f"{sample}() returned missing file(s): {', '.join(missing)}")
    return {k: str(v) for k, v in files.items()}
