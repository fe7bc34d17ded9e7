"""The ``extractive-qa`` task: the answer to a question as a span of its context (SQuAD v1.1/v2.0)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from tlzoo.api import TlzooError
from tlzoo.task import BaseTask, Distillation, ForwardContext, TaskOptions
from tlzoo_qa import reader, spans, windows


@dataclass
class QAOptions(TaskOptions):
    doc_stride: int = 128
    """Tokens shared by consecutive windows of a long context (at most half the room for the context)."""
    max_question_length: int = 64
    """Questions are cut to this many tokens (at most half of max_length)."""
    n_best: int = 20
    """Start and end positions tried per window, and answers ranked per question."""
    max_answer_length: int = 30
    """Longest answer, in tokens."""
    allow_no_answer: bool = False
    """SQuAD v2.0: questions may have no answer, predicted when the null score wins."""
    null_threshold: float = 0.0
    """With allow_no_answer: answer nothing when null score - best span score exceeds this."""


class ExtractiveQATask(BaseTask):
    """Extractive QA over windows of the context; see :mod:`tlzoo_qa.windows` and :mod:`tlzoo_qa.spans`."""

    name: ClassVar[str] = "extractive-qa"
    model_class: ClassVar[str] = "AutoModelForQuestionAnswering"
    options_class: ClassVar[type[TaskOptions]] = QAOptions
    primary_metric: ClassVar[str] = "f1"
    greater_is_better: ClassVar[bool] = True
    metric_kind: ClassVar[str] = "span"
    metrics: ClassVar[tuple[str, ...]] = ("squad",)
    distillation: ClassVar[Distillation | None] = Distillation(
        outputs=("start_logits", "end_logits"), labels=("start_positions", "end_positions"), level="position")
    default_backbone: ClassVar[str] = "minilm-l6"
    default_hparams: ClassVar[Mapping[str, Any]] = {
        "max_length": 384, "batch_size": 16, "learning_rate": 1e-4, "epochs": 3, "warmup_ratio": 0.1}
    options: QAOptions

    # -- data ---------------------------------------------------------------------------
    def load_split(self, path: str, split: str) -> Any:
        dataset = _indexed(reader.read_squad(path, training=split == "train"))
        if split == "train":  # the engine checks the other splits; here the error can name the file
            self.check(dataset, {}, path)
        return dataset

    def check(self, dataset: Any, state: Mapping[str, Any], path: str) -> None:
        """Questions without an answer need ``allow_no_answer`` (a v1.1 model never predicts "none")."""
        if self.options.allow_no_answer:
            return
        unanswerable = [i for i, answers in enumerate(dataset["answers"]) if not answers["text"]]
        if unanswerable:
            raise TlzooError(f"{path}: {len(unanswerable)} question(s) have no answer (SQuAD v2.0 style), "
                             f"e.g. id {dataset[unanswerable[0]]['id']!r}; pass --allow-no-answer true to learn "
                             f"and predict 'no answer'")

    # -- model --------------------------------------------------------------------------
    def preprocess(self, examples: Mapping[str, list], tokenizer: Any, state: Mapping[str, Any],
                   max_length: int, training: bool) -> dict[str, list]:
        return windows.preprocess(examples, tokenizer, max_length, self.options.max_question_length,
                                  self.options.doc_stride, training)

    def collator(self, tokenizer: Any, model: Any) -> Any:
        return partial(windows.collate, tokenizer=tokenizer)

    def forward(self, model: Any, batch: Mapping[str, Any], context: ForwardContext) -> list[Any]:
        """(start logits, end logits) of each window, trimmed to its real (unpadded) length."""
        inputs = {k: v for k, v in batch.items() if k not in ("start_positions", "end_positions")}
        output = model(**inputs)
        lengths = batch["attention_mask"].sum(dim=1).tolist()
        start, end = output.start_logits.float().cpu().numpy(), output.end_logits.float().cpu().numpy()
        return [(start[i, :n], end[i, :n]) for i, n in enumerate(lengths)]

    # -- results ------------------------------------------------------------------------
    def postprocess(self, outputs: Sequence[Any], features: Any, examples: Any,
                    state: Mapping[str, Any]) -> list[dict[str, Any]]:
        by_example: dict[int, list[spans.Window]] = defaultdict(list)
        rows = zip(outputs, features["example_index"], features["offset_mapping"], strict=True)
        for (start, end), index, offsets in rows:
            by_example[index].append(spans.Window(start, end, offsets))
        options = self.options
        return [spans.best_answer(context, by_example[index], options.n_best, options.max_answer_length,
                                  options.allow_no_answer, options.null_threshold)
                for index, context in zip(examples["example_index"], examples["context"], strict=True)]

    def references(self, examples: Any, state: Mapping[str, Any]) -> list[list[str]]:
        return [list(answers["text"]) for answers in examples["answers"]]

    def inputs_to_examples(self, inputs: Sequence[Any]) -> Any:
        """``{"question", "context"}`` dicts (an ``id`` is kept when given)."""
        from datasets import Dataset

        columns: dict[str, list[Any]] = {"id": [], "question": [], "context": []}
        for number, item in enumerate(inputs, 1):
            if not (isinstance(item, Mapping) and isinstance(item.get("question"), str)
                    and isinstance(item.get("context"), str)):
                raise TlzooError(f"input {number}: expected {{\"question\": str, \"context\": str}}, got "
                                 f"{str(item)[:80]!r}")
            columns["id"].append(str(item.get("id", number - 1)))
            columns["question"].append(item["question"])
            columns["context"].append(item["context"])
        return _indexed(Dataset.from_dict(columns))


def _indexed(dataset: Any) -> Any:
    """The dataset with ``example_index`` (row number), which windows carry back to their example."""
    return dataset.add_column("example_index", list(range(len(dataset))))
