"""The HuggingFace Hub, used only when reachable: a fast check so offline machines fail in seconds.

Hub datasets are named ``hub:NAME[:CONFIG]@SPLIT`` wherever a data file is expected, e.g.
``hub:glue:sst2@train`` or ``hub:conll2003@validation``.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from tlzoo.api import TlzooError

HUB_HOST = "huggingface.co"
PREFIX = "hub:"


def hub_reachable(timeout: float = 3.0) -> bool:
    """A single TCP connect to the hub; offline machines answer in milliseconds or time out fast."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip() not in ("", "0"):
        return False
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def is_hub_dataset(path: str) -> bool:
    return path.startswith(PREFIX)


def parse_hub_dataset(path: str) -> tuple[str, str | None, str]:
    """``hub:glue:sst2@train`` -> ``("glue", "sst2", "train")``."""
    body, at, split = path[len(PREFIX):].partition("@")
    name, _, config = body.partition(":")
    if not name or not at or not split:
        raise TlzooError(f"{path}: hub datasets are written hub:NAME[:CONFIG]@SPLIT, e.g. hub:glue:sst2@train")
    return name, config or None, split


def load_hub_dataset(path: str) -> Any:
    """The rows of hub dataset ``path``; offline, a fast error naming it and how to use a local copy."""
    name, config, split = parse_hub_dataset(path)
    if not hub_reachable():
        call = ", ".join(repr(a) for a in (name, config) if a)
        raise TlzooError(f"{path}: the HuggingFace Hub ({HUB_HOST}) cannot be reached, so dataset {name!r} "
                         f"(split {split!r}) cannot be downloaded; where it can, save it with "
                         f"datasets.load_dataset({call}, split={split!r}).to_json('{name}-{split}.jsonl') and "
                         f"pass that local file instead (see 'tlzoo list datasets' for the formats)")
    from datasets import load_dataset

    try:
        return load_dataset(name, config, split=split)
    except Exception as exc:  # datasets raises many types for a missing name, config or split
        raise TlzooError(f"{path}: could not be loaded from the hub ({str(exc).splitlines()[0][:200]})") from exc
