"""``tlzoo adapt``: the engine's run with the language-modelling objective and an unlabelled corpus.

The corpus (files, or a task's training file read by the task's reader) becomes the ``train`` split; a
seeded slice of its documents becomes ``validation``, scored as perplexity with fixed masks before training
(step 0 of ``log.jsonl``), at each evaluation and at the end. The output folder is a backbone folder: the
model with its LM head (``save_pretrained``), the tokenizer, and a ``tlzoo.json`` with an ``adaptation``
entry (base backbone, corpus names and hashes, perplexity before and after) that the manifest and card of
a model fine-tuned on it (``--backbone DIR``) repeat as its lineage.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tlzoo.adaptation.objective import HELD_OUT, AdaptOptions, LanguageModelling
from tlzoo.api import TlzooError
from tlzoo.engine.config import TrainConfig
from tlzoo.engine.run import Recipe, TrainResult, data_name, resolve_config, run


class AdaptRecipe(Recipe):
    """The run's steps with the corpus as data and the backbone folder as output."""

    command = "adapt"

    def __init__(self) -> None:
        self.documents = {"train": 0, "held_out": 0}
        self.chunks = 0
        self.before: float | None = None
        self.base: dict[str, Any] = {}

    def check(self, config: TrainConfig) -> None:
        """The corpus is checked when it is read (:meth:`read`)."""

    def task(self, config: TrainConfig) -> tuple[Any, Any]:
        return LanguageModelling(config.task_options), SimpleNamespace(plugin=None)

    def read(self, task: Any, config: TrainConfig) -> dict[str, Any]:
        from datasets import Dataset

        from tlzoo.adaptation.corpus import read_corpus, split_held_out, task_documents

        options: AdaptOptions = task.options
        if options.from_task:
            given = {"text_column": options.text_column} if options.text_column else {}  # the task's own option
            corpus = split_held_out(task_documents(options.from_task, options.data or "", given, config.format),
                                    options.held_out)
        else:
            corpus = read_corpus(options.corpus, options.text_column, options.held_out)
        self.documents = {"train": len(corpus.train), "held_out": len(corpus.held_out)}
        raw = {"train": Dataset.from_dict({"text": corpus.train})}
        if corpus.held_out:
            raw["validation"] = Dataset.from_dict({"text": corpus.held_out, HELD_OUT: [True] * len(corpus.held_out)})
        return raw

    def backbone(self, config: TrainConfig, task: Any) -> Any:
        backbone = super().backbone(config, task)
        self.base = {"name": backbone.name, "kind": backbone.kind, "source": getattr(backbone, "source", "config")}
        return backbone

    def training(self, task: Any, features: Any, tokenizer: Any, state: dict[str, Any], max_length: int,
                 accelerator: Any) -> tuple[Any, Any]:
        if state["objective"] == "mlm" and tokenizer.mask_token is None:
            raise TlzooError(f"backbone {self.base.get('name')}: its tokenizer has no mask token, which masked-LM "
                             f"training needs")
        if len(features) == 0:
            raise TlzooError(f"{self._what(task)} is shorter than one chunk of {max_length} tokens; add text, lower "
                             f"--max-length or pass --line-by-line")
        self.chunks = len(features)
        return task, features

    def started(self, loop: Any, resumed: bool) -> None:
        """Score the held-out text before training (step 0 of the log; a resumed run reads it back)."""
        if loop.evaluation is None:
            return
        earlier = [r for r in loop.log.records if r.get("event") == "eval" and r.get("step") == 0]
        if resumed and earlier:
            self.before = earlier[0].get("eval_perplexity")
            return
        metrics, _ = loop.evaluate()
        self.before = metrics["perplexity"]
        loop.notify(loop.log.write(event="eval", step=0, epoch=0.0, eval_loss=metrics["loss"],
                                   eval_perplexity=self.before))
        if not loop.config.quiet and loop.accelerator.is_main_process:
            print(f"before training: held-out perplexity {self.before:.4f}", flush=True)

    def saved(self) -> dict[str, Any]:
        return {"adapt": True}

    def describe(self, manifest: dict[str, Any]) -> None:
        """A backbone's manifest: no task entries; the adaptation (base, corpus, perplexity) instead."""
        from tlzoo.adaptation.lineage import adaptation_of
        from tlzoo.engine.data import file_sha256

        config = manifest["config"]
        options = AdaptOptions(**config["task_options"])
        state = manifest["state"]
        for key in ("task", "head", "plugin", "task_options", "state", "data"):
            manifest.pop(key, None)
        files = [options.data] if options.from_task and options.data else options.corpus
        corpus = [{"name": data_name(p), "sha256": file_sha256(p)} for p in files]
        config["task_options"] = {**dataclasses.asdict(options), "corpus": [data_name(p) for p in options.corpus],
                                  "data": data_name(options.data) if options.data else None}
        after = (manifest.get("metrics") or {}).get("validation", {}).get("perplexity")
        base = {**self.base, "source": Path(self.base["source"]).name if Path(self.base["source"]).exists()
                else self.base["source"]}
        earlier = adaptation_of(self.base["source"])
        if earlier:
            base["adaptation"] = earlier
        manifest["adaptation"] = {
            "objective": state["objective"], "base": base, "corpus": corpus,
            "from_task": options.from_task, "documents": self.documents, "chunks": self.chunks,
            "carried_over": state.get("carried_over") or [],
            "chunking": "line-by-line" if options.line_by_line else "grouped", "max_length": config["max_length"],
            "whole_word_masking": options.whole_word_masking if state["objective"] == "mlm" else None,
            "mlm_probability": options.mlm_probability if state["objective"] == "mlm" else None,
            "perplexity": {"before": _finite(self.before), "after": _finite(after)}}

    def card(self, manifest: dict[str, Any], metrics: dict[str, Any]) -> str:
        from tlzoo.adaptation.lineage import adapted_card

        return adapted_card(manifest)

    @staticmethod
    def _what(task: Any) -> str:
        options: AdaptOptions = task.options
        if options.from_task:
            return f"the input text of --data {options.data}"
        return "corpus " + ", ".join(options.corpus)


def _finite(value: Any) -> float | None:
    return round(float(value), 4) if isinstance(value, (int, float)) and math.isfinite(value) else None


_SETTINGS = ("corpus", "text_column", "from_task", "data", "line_by_line", "whole_word_masking", "mlm_probability",
             "held_out")


def adapt(backbone: str | None = None, corpus: Sequence[str] = (), *, config: str | None = None,
          **options: Any) -> TrainResult:
    """Continue pre-training ``backbone`` on ``corpus`` files (or ``from_task=TASK, data=FILE``: that task's
    input text) and save it as a backbone folder in ``output``; see ``tlzoo adapt --help``.

    ``text_column``, ``line_by_line``, ``whole_word_masking``, ``mlm_probability`` and ``held_out`` shape the
    data and objective; the other ``options`` are :func:`tlzoo.train`'s engine options (``output``, ``epochs``,
    ``max_steps``, ``max_minutes``, ``batch_size``, ``max_length``...). ``resume=True`` continues an
    interrupted run in ``output`` with its saved settings.
    """
    settings = {name: options.pop(name) for name in _SETTINGS if options.get(name) not in (None, (), [])}
    if "corpus" in settings or corpus:
        settings["corpus"] = [str(p) for p in (corpus or settings["corpus"])]
    for name in ("train", "validation", "test"):
        if options.get(name):
            raise TlzooError(f"tlzoo adapt reads --corpus FILE (or --from-task TASK --data FILE), not --{name}")
    if not options.get("resume"):
        _check_sources(settings)
    if backbone:
        options["backbone"] = backbone
    cfg = resolve_config(LanguageModelling.name, config, command="adapt", task_cls=LanguageModelling,
                         **{**options, "task_options": settings})
    if not cfg.backbone:
        raise TlzooError("missing --backbone: the name or folder of the backbone to adapt")
    if cfg.streaming:
        raise TlzooError("tlzoo adapt does not stream (--streaming): the corpus is chunked whole")
    if cfg.strategy == "setfit":
        raise TlzooError("--strategy setfit trains a classifier; tlzoo adapt uses full, freeze, lora or gradual")
    return run(cfg, AdaptRecipe())


def _check_sources(settings: dict[str, Any]) -> None:
    """Either corpus files or a task and its data file, each existing."""
    if settings.get("from_task"):
        if settings.get("corpus"):
            raise TlzooError("pass either --corpus FILE or --from-task TASK --data FILE, not both")
        if not settings.get("data"):
            raise TlzooError(f"--from-task {settings['from_task']} needs --data FILE: the task's training file")
        return
    if settings.get("data"):
        raise TlzooError("--data FILE goes with --from-task TASK (a task's training file); corpus files go to --corpus")
    if not settings.get("corpus"):
        raise TlzooError("no corpus: pass --corpus FILE (or --from-task TASK --data FILE)")
    for path in settings["corpus"]:
        if not Path(path).is_file():
            raise TlzooError(f"corpus file {path} does not exist")
