"""Read SQuAD-style question answering data into one flat schema.

Layouts accepted:

- SQuAD JSON (v1.1 and v2.0): ``{"data": [{"title", "paragraphs": [{"context", "qas": [...]}]}]}``;
- flat records, one JSON object per line in ``.jsonl``, or a list of them (top level or under
  ``"data"``) in ``.json``: ``{"id", "question", "context", "answers"}``;
- the same records from any table format of the data-source layer (:mod:`tlzoo.data.source`): the
  hub (``hub:squad@train``, when reachable), CSV, or a format a plugin adds.

``answers`` is ``{"text": [...], "answer_start": [...]}`` (the HF datasets layout) or a list of
``{"text", "answer_start"}`` objects (the SQuAD layout); missing, empty or ``is_impossible`` means
the question has no answer (SQuAD v2.0).

An answer whose text is not at its ``answer_start`` is moved to the nearest place where the text
does occur; one whose text is nowhere in the context gets ``answer_start`` -1 (still scored in
evaluation, unusable as a training target). Both are counted and reported in one
:class:`AnswerMismatchWarning` with the first few cases, never dropped silently.

Training data (``training=True``) leaves out the examples none of whose answers occur in their
context, as HF's ``run_qa`` does: a :class:`SkippedExamplesWarning` counts them and names the first;
when no example is left, a :class:`TlzooError` says so before anything is tokenised.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tlzoo.api import TlzooError
from tlzoo.data.formats import iter_jsonl
from tlzoo.data.source import DataSource, as_source

COLUMNS = ("id", "question", "context", "answers")
SHOWN_MISMATCHES = 3


class AnswerMismatchWarning(UserWarning):
    """Some answers in a file do not occur at their ``answer_start``."""


class SkippedExamplesWarning(UserWarning):
    """Some training examples were left out: none of their answers occurs in their context."""


@dataclass
class _Record:
    where: str
    id: str
    question: str
    context: str
    answers: list[tuple[str, int]]


@dataclass
class _Mismatches:
    answers: int = 0
    relocated: int = 0
    missing: int = 0
    shown: list[str] = field(default_factory=list)

    def message(self, path: str) -> str:
        shown = "; ".join(s.removeprefix(f"{path}, ") for s in self.shown)
        return (f"{path}: {self.relocated + self.missing} of {self.answers} answers do not occur at their "
                f"answer_start: {self.relocated} moved to the nearest occurrence of their text, "
                f"{self.missing} not found in the context (scored in evaluation, not trained on); "
                f"first: {shown}")


def _missing(record: _Record, path: str) -> str:
    """Where in ``path`` a record is, and its first answer: for a message about answers not in the context."""
    text, start = record.answers[0]
    return f"{record.where.removeprefix(f'{path}, ')} (id {record.id}): {text!r} at {start}"


def features() -> Any:
    from datasets import Features, Sequence, Value

    answers = {"text": Sequence(Value("string")), "answer_start": Sequence(Value("int64"))}
    return Features({"id": Value("string"), "question": Value("string"), "context": Value("string"),
                     "answers": answers})


def read_squad(path: str | DataSource, training: bool = False) -> Any:
    """``path`` as a ``datasets.Dataset`` with columns :data:`COLUMNS` (see the module docstring).

    With ``training``, examples whose answers are all missing from their context are left out.
    """
    from datasets import Dataset

    records = list(_records(path))
    mismatches = _Mismatches()
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    skipped: list[_Record] = []
    for record in records:
        located = [_locate(text, start, record, mismatches) for text, start in record.answers]
        if training and located and all(start < 0 for start in located):
            skipped.append(record)
            continue
        columns["id"].append(record.id)
        columns["question"].append(record.question)
        columns["context"].append(record.context)
        columns["answers"].append({"text": [text for text, _ in record.answers], "answer_start": located})
    if skipped and len(skipped) == len(records):
        raise TlzooError(f"{path}: no usable training example: the answers of all {len(records)} examples are "
                         f"not found in their context (first: {_missing(skipped[0], path)}); each answer's text "
                         f"must occur in its context, at its answer_start")
    if mismatches.relocated or (mismatches.missing and not training):
        warnings.warn(mismatches.message(path), AnswerMismatchWarning, stacklevel=2)
    if skipped:
        warnings.warn(f"{path}: {len(skipped)} of {len(records)} examples skipped: answer not found in context "
                      f"(first: {_missing(skipped[0], path)})", SkippedExamplesWarning, stacklevel=2)
    return Dataset.from_dict(columns, features=features())


class SquadReader:
    """The ``squad`` format: SQuAD JSON (nested or flat records) or flat JSONL, in the QA schema."""

    name: ClassVar[str] = "squad"
    extensions: ClassVar[tuple[str, ...]] = (".json", ".jsonl")
    produces: ClassVar[str] = "squad"
    columns = COLUMNS

    def read(self, source: DataSource, **options: Any) -> Any:
        if options:
            raise TlzooError(f"the squad reader takes no options, got {', '.join(sorted(options))}")
        return read_squad(source)


def _locate(text: str, start: int, record: _Record, mismatches: _Mismatches) -> int:
    """``start`` if ``text`` is there, else the nearest start of ``text`` in the context, else -1."""
    mismatches.answers += 1
    context = record.context
    if context[start:start + len(text)] == text:
        return start
    found = list(_occurrences(context, text))
    located = min(found, key=lambda i: abs(i - start)) if found else -1
    if found:
        mismatches.relocated += 1
    else:
        mismatches.missing += 1
    if len(mismatches.shown) < SHOWN_MISMATCHES:
        seen = context[start:start + len(text)]
        outcome = f"moved to {located}" if found else "not in the context"
        mismatches.shown.append(f"{record.where} (id {record.id}): {text!r} at {start} reads {seen!r}, "
                                f"{outcome}")
    return located


def _occurrences(context: str, text: str) -> Iterator[int]:
    if not text:
        return
    index = context.find(text)
    while index >= 0:
        yield index
        index = context.find(text, index + 1)


def _records(path: str | DataSource) -> Iterator[_Record]:
    source = as_source(path)
    reader = source.reader(("table", "squad"), prefer=("squad",))
    if reader.produces == "table":
        for i, row in enumerate(reader.read(source)):
            yield _flat_record(row, source.where(i), str(i))
    elif source.extension == ".jsonl":
        yield from _jsonl_records(source)
    else:
        yield from _json_records(source)


def _jsonl_records(path: DataSource) -> Iterator[_Record]:
    expected = '{"id", "question", "context", "answers"} object per line'
    for count, (number, value) in enumerate(iter_jsonl(path, expected)):
        yield _flat_record(value, f"{path}, line {number}", str(count))


def _json_records(path: DataSource) -> Iterator[_Record]:
    try:
        document = json.loads(path.text("a UTF-8 SQuAD JSON file"))
    except json.JSONDecodeError as exc:
        raise TlzooError(f"{path}, line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})") from exc
    items = document.get("data") if isinstance(document, Mapping) else document
    if not isinstance(items, list):
        raise TlzooError(f"{path}: expected SQuAD JSON ({{\"data\": [{{\"paragraphs\": [...]}}]}}) or a "
                         f"list of {{\"question\", \"context\", \"answers\"}} records")
    count = 0
    for i, item in enumerate(items):
        where = f"{path}, data[{i}]"
        if isinstance(item, Mapping) and "paragraphs" in item:
            for record in _article_records(item, where):
                yield record
                count += 1
        else:
            yield _flat_record(item, where, str(count))
            count += 1


def _article_records(article: Mapping[str, Any], where: str) -> Iterator[_Record]:
    paragraphs = article["paragraphs"]
    if not isinstance(paragraphs, list):
        raise TlzooError(f"{where}.paragraphs: expected a list of {{\"context\", \"qas\"}} objects")
    for j, paragraph in enumerate(paragraphs):
        here = f"{where}.paragraphs[{j}]"
        if not isinstance(paragraph, Mapping):
            raise TlzooError(f"{here}: expected a {{\"context\", \"qas\"}} object")
        context = _text(paragraph, "context", here)
        qas = paragraph.get("qas")
        if not isinstance(qas, list):
            raise TlzooError(f"{here}.qas: expected a list of questions")
        for k, qa in enumerate(qas):
            if not isinstance(qa, Mapping):
                raise TlzooError(f"{here}.qas[{k}]: expected a {{\"id\", \"question\", \"answers\"}} object")
            yield _record({**qa, "context": context}, f"{here}.qas[{k}]", f"{j}-{k}")


def _flat_record(value: Any, where: str, default_id: str) -> _Record:
    if not isinstance(value, Mapping):
        raise TlzooError(f"{where}: expected a {{\"id\", \"question\", \"context\", \"answers\"}} object, "
                         f"got {type(value).__name__}")
    return _record(value, where, default_id)


def _record(value: Mapping[str, Any], where: str, default_id: str) -> _Record:
    question = _text(value, "question", where)
    context = _text(value, "context", where)
    answers = [] if value.get("is_impossible") else _answers(value.get("answers"), where)
    for text, start in answers:
        if start > len(context):
            raise TlzooError(f"{where}: answer_start {start} of {text!r} is past the end of the context "
                             f"({len(context)} characters)")
    return _Record(where, str(value.get("id", default_id)), question, context, answers)


def _text(value: Mapping[str, Any], key: str, where: str) -> str:
    text = value.get(key)
    if not isinstance(text, str):
        found = "missing" if key not in value else f"a {type(text).__name__}"
        raise TlzooError(f"{where}: {key!r} must be a string, found {found}")
    return text


def _answers(value: Any, where: str) -> list[tuple[str, int]]:
    """Both answer layouts as (text, answer_start) pairs, validated."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        texts, starts = value.get("text"), value.get("answer_start")
        if not isinstance(texts, list) or not isinstance(starts, list) or len(texts) != len(starts):
            raise TlzooError(f"{where}: 'answers' must hold lists 'text' and 'answer_start' of equal length")
        pairs = list(zip(texts, starts, strict=True))
    elif isinstance(value, list):
        if not all(isinstance(a, Mapping) and "text" in a and "answer_start" in a for a in value):
            raise TlzooError(f"{where}: each answer must be an object with 'text' and 'answer_start'")
        pairs = [(a["text"], a["answer_start"]) for a in value]
    else:
        raise TlzooError(f"{where}: 'answers' must be {{\"text\": [...], \"answer_start\": [...]}} or a list "
                         f"of {{\"text\", \"answer_start\"}} objects")
    for text, start in pairs:
        if not isinstance(text, str) or isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise TlzooError(f"{where}: each answer needs a string 'text' and a non-negative integer "
                             f"'answer_start', got {text!r} at {start!r}")
    return pairs
