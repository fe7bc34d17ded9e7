"""Reading document/summary tables into ``source`` / ``target`` / ``references`` examples.

Columns are detected from common names (or named with ``--document-column``/``--summary-column``).
A document stored as a list of sentences (SciTLDR's ``source``) is joined into one text. A summary
stored as a list holds alternative references (SciTLDR's ``target``: several TLDRs of one paper):
training uses the first, evaluation scores against all of them. Whitespace runs become one space, so
a decoder's one-line answer can match a multi-line reference (CNN/DailyMail highlights).
"""

from __future__ import annotations

from typing import Any

from tlzoo.api import TlzooError
from tlzoo.data.source import DataSource, as_source
from tlzoo.data.tables import detect_column, read_table

DOCUMENT_COLUMNS = ("document", "article", "dialogue", "source", "text")
SUMMARY_COLUMNS = ("summary", "highlights", "target", "tldr")


def _clean(text: str) -> str:
    return " ".join(text.split())


def _texts(value: Any) -> list[str] | None:
    """A string or a list of strings as cleaned texts; None for anything else."""
    if isinstance(value, str):
        return [_clean(value)]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [_clean(v) for v in value]
    return None


def read_summaries(path: str | DataSource, document_column: str | None, summary_column: str | None) -> Any:
    from datasets import Dataset

    path = as_source(path)
    table = read_table(path)
    document = detect_column(table, path, document_column, DOCUMENT_COLUMNS, "document", "--document-column")
    summary = detect_column(table, path, summary_column, SUMMARY_COLUMNS, "summary", "--summary-column")
    sources, targets, references = [], [], []
    for index, (doc, summ) in enumerate(zip(table[document], table[summary], strict=True)):
        where = path.where(index)
        doc_parts, refs = _texts(doc), _texts(summ)
        if doc_parts is None:
            raise TlzooError(f"{where}: {document} is {str(doc)[:60]!r}; expected text or a list of "
                             f"sentences")
        if refs is None:
            raise TlzooError(f"{where}: {summary} is {str(summ)[:60]!r}; expected text or a list of "
                             f"reference summaries")
        refs = [r for r in refs if r]
        if not refs:
            raise TlzooError(f"{where}: {summary} is empty; every document needs a summary")
        sources.append(" ".join(p for p in doc_parts if p))
        targets.append(refs[0])
        references.append(refs)
    return Dataset.from_dict({"source": sources, "target": targets, "references": references})
