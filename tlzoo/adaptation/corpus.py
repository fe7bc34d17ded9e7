"""Reading an adaptation corpus into documents, and setting a held-out slice of them aside.

Files are read by suffix (``.gz``, ``.bz2`` and ``.xz`` files are decompressed, then read by the suffix before
it):

- ``.jsonl``: one JSON object per line, the text under ``--text-column`` (default ``text``);
- ``.csv`` / ``.tsv``: a header row naming the columns, the text under ``--text-column``;
- anything else is plain text: one document per line, or, when the file has blank lines, one document
  per blank-line separated block.

Errors are :class:`TlzooError` naming the file (and line or column). Nothing here imports torch.
"""

from __future__ import annotations

import csv
import io
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tlzoo.api import TlzooError
from tlzoo.data.formats import iter_jsonl
from tlzoo.data.source import DataSource

DEFAULT_TEXT_COLUMN = "text"
_BLANK_LINE = re.compile(r"\n[ \t\r]*\n")
MAX_HELD_OUT = 2000
"""Held-out documents at most: enough for a stable perplexity, cheap to score at every evaluation."""


@dataclass
class Corpus:
    """The documents to train on and the held-out ones perplexity is measured on."""

    train: list[str]
    held_out: list[str]


def read_documents(path: str, text_column: str | None = None) -> list[str]:
    """The non-empty documents of one corpus file (see the module docstring for the formats)."""
    source = DataSource(path)
    if not Path(path).is_file():
        raise TlzooError(f"corpus file {path} does not exist")
    column = text_column or DEFAULT_TEXT_COLUMN
    if source.extension == ".jsonl":
        documents = _jsonl(source, column)
    else:
        text = source.text()
        if source.extension in (".csv", ".tsv"):
            documents = _table(path, text, column, "\t" if source.extension == ".tsv" else ",")
        else:
            blocks = _BLANK_LINE.split(text) if _BLANK_LINE.search(text.strip()) else text.splitlines()
            documents = [" ".join(block.split()) for block in blocks]
    return [d.strip() for d in documents if d.strip()]


def _jsonl(source: DataSource, column: str) -> list[str]:
    documents = []
    for number, row in iter_jsonl(source, f"one JSON object per line with a {column!r} field"):
        if column not in row:
            raise TlzooError(f"corpus file {source}, line {number}: no field {column!r} (fields: "
                             f"{', '.join(map(str, row)) or 'none'}); name the text field with --text-column")
        value = row[column]
        if value is not None and not isinstance(value, str):
            raise TlzooError(f"corpus file {source}, line {number}: field {column!r} is not text")
        documents.append(value or "")
    return documents


def _table(path: str, text: str, column: str, delimiter: str) -> list[str]:
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = reader.fieldnames or []
    if column not in header:
        raise TlzooError(f"corpus file {path}: no column {column!r} (columns: {', '.join(header) or 'none'}); "
                         f"name the text column with --text-column")
    return [row.get(column) or "" for row in reader]


def read_corpus(paths: Sequence[str], text_column: str | None, held_out: float) -> Corpus:
    """All files' documents, each file checked to hold some, then a seeded ``held_out`` fraction set aside
    (at least one document when there are two or more, at most :data:`MAX_HELD_OUT`)."""
    documents: list[str] = []
    for path in paths:
        found = read_documents(path, text_column)
        if not found:
            raise TlzooError(f"corpus file {path} holds no text")
        documents.extend(found)
    return split_held_out(documents, held_out)


def split_held_out(documents: list[str], fraction: float) -> Corpus:
    count = 0 if len(documents) < 2 or fraction <= 0 else min(max(1, round(fraction * len(documents))),
                                                               MAX_HELD_OUT, len(documents) - 1)
    chosen = set(random.Random(0).sample(range(len(documents)), count))
    return Corpus([d for i, d in enumerate(documents) if i not in chosen],
                  [d for i, d in enumerate(documents) if i in chosen])


def task_documents(task: str, data: str, task_options: dict | None = None, data_format: str | None = None) -> list[str]:
    """The input text of a task's data file, read with the task's own reader (:meth:`BaseTask.input_texts`)."""
    from tlzoo.engine.data import read_split
    from tlzoo.engine.run import task_class

    cls, _ = task_class(task)
    task_obj = cls(task_options or {})
    texts = task_obj.input_texts(read_split(task_obj, data, "train", format=data_format))
    if not texts:
        raise TlzooError(f"--data {data}: the {task} examples hold no input text")
    return texts
