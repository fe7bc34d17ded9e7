"""What a backbone folder written by ``tlzoo adapt`` says of itself, for its card and for the manifest and card
of the models fine-tuned on it: base -> adapted -> fine-tuned. Nothing here imports torch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MANIFEST = "tlzoo.json"  # tlzoo.engine.output.MANIFEST, without importing the engine


def adaptation_of(source: str) -> dict[str, Any] | None:
    """The ``adaptation`` entry of the backbone folder ``source``, if ``tlzoo adapt`` wrote it."""
    path = Path(source) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    entry = manifest.get("adaptation") if isinstance(manifest, dict) else None
    return entry if isinstance(entry, dict) else None


def chain(adaptation: dict[str, Any]) -> list[str]:
    """The steps from the first pretrained backbone to this adapted one, e.g.
    ``["`minilm-l6`", "adapted (mlm on `reviews.txt`, sha256 `0123abcd4567`)"]``."""
    base = adaptation.get("base") or {}
    earlier = base.get("adaptation")
    steps = chain(earlier) if isinstance(earlier, dict) else [f"`{base.get('name', '?')}`"]
    corpus = ", ".join(f"`{c.get('name')}` (sha256 `{str(c.get('sha256', ''))[:12]}`)"
                       for c in adaptation.get("corpus") or [])
    source = f"task `{adaptation['from_task']}` data {corpus}" if adaptation.get("from_task") else corpus
    return [*steps, f"adapted ({adaptation.get('objective', '?')} on {source})"]


def lineage_line(backbone: dict[str, Any], task: str) -> list[str]:
    """The model card's lineage line of a model fine-tuned on an adapted backbone (none otherwise)."""
    adaptation = backbone.get("adaptation")
    if not isinstance(adaptation, dict):
        return []
    return ["- lineage: " + " -> ".join([*chain(adaptation), f"fine-tuned (`{task}`)"])]


def adapted_card(manifest: dict[str, Any]) -> str:
    """README.md of an adapted backbone folder."""
    adaptation = manifest["adaptation"]
    perplexity = adaptation.get("perplexity") or {}
    config = manifest.get("config") or {}
    head = "masked-LM" if adaptation["objective"] == "mlm" else "causal-LM"
    lines = [f"# `{adaptation['base']['name']}` adapted with tlzoo", "",
             "- lineage: " + " -> ".join(chain(adaptation)),
             f"- objective: {head} ({adaptation['chunking']} chunks of {adaptation['max_length']} tokens, "
             f"{adaptation['chunks']} chunks from {adaptation['documents']['train']} documents)",
             f"- training: {manifest.get('metrics', {}).get('train', {}).get('steps', '?')} steps, batch "
             f"{config.get('batch_size')}, learning rate {config.get('learning_rate')}",
             f"- held-out perplexity ({adaptation['documents']['held_out']} documents, fixed masks): before "
             f"{perplexity.get('before')}, after {perplexity.get('after')}", "",
             "## Use", "", "A backbone folder: fine-tune it on any task with `--backbone`:", "", "```bash",
             "tlzoo train TASK --backbone path/to/this/folder --train train.jsonl --output run", "```", "",
             f"The weights (with the {head} head) load with `transformers.{manifest.get('model_class')}"
             f".from_pretrained`.", ""]
    return "\n".join(lines)
