"""Backbone resolution: what ``--backbone`` names, built from the catalog, a folder, a pair or the hub."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tlzoo.api import TlzooError
from tlzoo.backbones.generation import encoder_decoder_pair
from tlzoo.backbones.loading import from_hub, from_local
from tlzoo.suggest import did_you_mean


def resolve_backbone(name_or_path: str) -> Any:
    """A registered backbone name, a local model folder, an ``ENCODER+DECODER`` pair, or a hub id."""
    from tlzoo.plugins import registry

    specs = registry().find(name_or_path, "backbone")
    if specs:
        return specs[0].build()
    if Path(name_or_path).expanduser().is_dir():
        return from_local(str(Path(name_or_path).expanduser()))
    if "+" in name_or_path:
        halves = name_or_path.split("+")
        if len(halves) != 2 or not all(h.strip() for h in halves):
            raise TlzooError(f"backbone {name_or_path!r}: an encoder-decoder pair is written ENCODER+DECODER, "
                             f"e.g. minilm-l6+minilm-l6")
        encoder, decoder = (resolve_backbone(h.strip()) for h in halves)
        return encoder_decoder_pair(name_or_path, encoder, decoder)
    if name_or_path.startswith((".", "/", "~")):
        raise TlzooError(f"backbone folder {name_or_path!r} does not exist")
    if "/" not in name_or_path:  # hub ids with an owner keep their path: 'tiny-bret' is a typo, not a model
        hint = did_you_mean(name_or_path, [s.name for s in registry().specs("backbone")])
        if hint:
            raise TlzooError(f"no backbone named {name_or_path!r}{hint} (see 'tlzoo list backbones')")
    return from_hub(name_or_path)
