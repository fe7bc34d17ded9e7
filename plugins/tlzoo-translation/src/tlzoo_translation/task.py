"""The ``translation`` task: the shared sequence-to-sequence steps plus a parallel-data reader and BLEU."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from tlzoo.seq2seq.task import Seq2SeqOptions, Seq2SeqTask
from tlzoo.task import TaskOptions
from tlzoo_translation.data import read_parallel

LANGUAGES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "it": "Italian",
             "pt": "Portuguese", "nl": "Dutch", "ro": "Romanian", "cs": "Czech", "pl": "Polish",
             "ru": "Russian", "tr": "Turkish", "fi": "Finnish", "et": "Estonian", "lv": "Latvian",
             "lt": "Lithuanian", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "hi": "Hindi"}
"""Names used in the instruction (T5's ``translate English to German:`` prefix, the LM prompt)."""


@dataclasses.dataclass
class TranslationOptions(Seq2SeqOptions):
    source_lang: str = "en"
    """Language code of the source text (a text-file suffix, a JSON key or a column name)."""
    target_lang: str = "de"
    """Language code of the target text."""


def language_name(code: str) -> str:
    return LANGUAGES.get(code.split("_")[0].split("-")[0].lower(), code)


class TranslationTask(Seq2SeqTask):
    name = "translation"
    options_class: ClassVar[type[TaskOptions]] = TranslationOptions
    primary_metric = "bleu"
    metrics = ("sacrebleu",)
    output_key = "translation"
    default_backbone = "smollm2-135m"
    # evaluation batches of 128: a greedy decoding step reads the weights once for the whole batch and finished
    # rows leave it, so a wide batch costs little more a step (BERT2BERT, one thread: 2.09x a plain generate loop
    # at 128, 1.55x at 32; docs/benchmarks.md, generation speed)
    default_hparams: Mapping[str, Any] = {"learning_rate": 1e-4, "epochs": 3, "batch_size": 16,
                                          "eval_batch_size": 128, "max_length": 128}
    options: TranslationOptions

    def instruction(self) -> str:
        source, target = self.options.source_lang, self.options.target_lang
        return f"translate {language_name(source)} to {language_name(target)}"

    def target_name(self) -> str:
        return language_name(self.options.target_lang)

    def input_keys(self) -> tuple[str, ...]:
        return (self.options.source_lang, "source", "text")

    def input_text(self, value: Any) -> str:
        """Also accepts a line of the HF layout, ``{"translation": {"en": ...}}``."""
        if isinstance(value, Mapping) and isinstance(value.get("translation"), Mapping):
            value = value["translation"]
        return super().input_text(value)

    def load_split(self, path: str, split: str) -> Any:
        return read_parallel(path, self.options.source_lang, self.options.target_lang)

    def metric_options(self, state: Mapping[str, Any]) -> dict[str, Any]:
        return {"target_lang": self.options.target_lang}
