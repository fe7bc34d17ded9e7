"""The ``summarization`` task: the shared sequence-to-sequence steps plus a table reader and ROUGE."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

from tlzoo.seq2seq.task import Seq2SeqOptions, Seq2SeqTask
from tlzoo.task import TaskOptions
from tlzoo_summarization.data import DOCUMENT_COLUMNS, read_summaries


@dataclasses.dataclass
class SummarizationOptions(Seq2SeqOptions):
    document_column: str | None = None
    """Column holding the document (detected from common names when not given)."""
    summary_column: str | None = None
    """Column holding the summary, or a list of reference summaries (detected when not given)."""


class SummarizationTask(Seq2SeqTask):
    name = "summarization"
    options_class: ClassVar[type[TaskOptions]] = SummarizationOptions
    primary_metric = "rougeL"
    metrics = ("rouge",)
    output_key = "summary"
    default_backbone = "smollm2-135m"
    # evaluation batches of 32: the prompt pass runs in groups of similar length, so a wider batch no longer pads
    # long documents to the longest, and its decoding steps read the weights once for twice the rows (SmolLM2, one
    # thread: 24.7 s for 32 abstracts in one batch, 29.8 s in two of 16; docs/benchmarks.md, generation speed)
    default_hparams: Mapping[str, Any] = {"learning_rate": 1e-4, "epochs": 3, "batch_size": 8,
                                          "eval_batch_size": 32, "max_length": 512}
    options: SummarizationOptions

    def instruction(self) -> str:
        return "summarize"

    def target_name(self) -> str:
        return "Summary"

    def input_keys(self) -> tuple[str, ...]:
        return DOCUMENT_COLUMNS

    def load_split(self, path: str, split: str) -> Any:
        return read_summaries(path, self.options.document_column, self.options.summary_column)
