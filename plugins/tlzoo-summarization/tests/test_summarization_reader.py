"""Reading document/summary tables: column detection, sentence lists, multiple references, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tlzoo_summarization.data import read_summaries
from tlzoo_summarization.task import SummarizationTask

from tlzoo.api import TlzooError

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "datasets"


def jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


@pytest.mark.parametrize(("document", "summary"), [("document", "summary"), ("article", "highlights"),
                                                   ("dialogue", "summary"), ("source", "target")])
def test_detects_common_column_names(tmp_path: Path, document: str, summary: str) -> None:
    path = jsonl(tmp_path / "data.jsonl", [{"id": 1, document: "Long  text\nhere.", summary: "Short."}])
    data = read_summaries(path, None, None)
    assert data["source"] == ["Long text here."] and data["target"] == ["Short."]
    assert data["references"] == [["Short."]]


def test_sentence_lists_and_multiple_references(tmp_path: Path) -> None:
    row = {"source": ["First sentence.\n", "Second  one. "], "target": ["tldr one", "tldr two", ""]}
    data = read_summaries(jsonl(tmp_path / "scitldr.jsonl", [row]), None, None)
    assert data["source"] == ["First sentence. Second one."]
    assert data["target"] == ["tldr one"]  # training uses the first reference
    assert data["references"] == [["tldr one", "tldr two"]]  # evaluation sees them all


def test_explicit_columns_in_csv(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text('body,gist\n"A long, long text.",Short\n')
    data = read_summaries(str(path), "body", "gist")
    assert data["source"] == ["A long, long text."] and data["target"] == ["Short"]


def test_missing_columns_are_named(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "data.jsonl", [{"document": "text", "label": 1}])
    with pytest.raises(TlzooError, match=r"no summary column found \(looked for summary, highlights.*"
                                         r"--summary-column"):
        read_summaries(path, None, None)
    with pytest.raises(TlzooError, match=r"missing column\(s\) 'body'"):
        read_summaries(path, "body", None)


def test_empty_summary_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("document,summary\nfine,ok\nno summary,\n")
    with pytest.raises(TlzooError, match=r"data\.csv, line 3: summary is empty"):
        read_summaries(str(path), None, None)


def test_non_text_document_names_the_line(tmp_path: Path) -> None:
    path = jsonl(tmp_path / "data.jsonl", [{"document": "ok", "summary": "s"}, {"document": None, "summary": "s"}])
    with pytest.raises(TlzooError, match=r"line 2: document is 'None'; expected text"):
        read_summaries(path, None, None)


def test_prediction_inputs() -> None:
    task = SummarizationTask()
    assert task.input_text({"article": "An article."}) == "An article."
    assert task.input_text({"source": ["One.", "Two."]}) == "One. Two."


@pytest.mark.realdata
@pytest.mark.skipif(not (SHARED / "scitldr").is_dir(), reason="needs ../shared/datasets/scitldr")
def test_scitldr_test_split() -> None:
    data = read_summaries(str(SHARED / "scitldr" / "test.jsonl"), None, None)
    assert len(data) == 618
    assert max(len(refs) for refs in data["references"]) > 1
    assert all(refs[0] == target for refs, target in zip(data["references"], data["target"], strict=True))


@pytest.mark.realdata
@pytest.mark.skipif(not (SHARED / "hf_transformers_test_samples").is_dir(), reason="needs the HF test samples")
def test_xsum_sample() -> None:
    data = read_summaries(str(SHARED / "hf_transformers_test_samples" / "xsum" / "sample.json"), None, None)
    assert len(data) == 10 and all(data["target"])
