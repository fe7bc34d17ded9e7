"""Bad input gets one clear error naming the file and line, and nothing is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tlzoo_classification.tasks import ClassificationTask

import tlzoo
from tlzoo.api import TlzooError


def write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_tsv_with_bare_quotes_loads_unmangled(tmp_path: Path) -> None:
    path = write(tmp_path / "a.tsv", 'sentence\tlabel\n"quoted" start\t1\nit \'s "fine\t0\n')
    table = ClassificationTask().load_split(path, "train")
    assert table["text"] == ['"quoted" start', 'it \'s "fine']
    assert table["label"] == [1, 0]


def test_columns_are_detected_and_renamed(tmp_path: Path) -> None:
    path = write(tmp_path / "pairs.csv", "label,sentence1,sentence2\nyes,a b,c d\nno,e,f\n")
    table = ClassificationTask().load_split(path, "train")
    assert table.column_names == ["text", "text_pair", "label"]


def test_explicit_columns(tmp_path: Path) -> None:
    path = write(tmp_path / "x.jsonl", json.dumps({"body": "hi", "y": "a"}) + "\n")
    task = ClassificationTask({"text_column": "body", "label_column": "y"})
    assert task.load_split(path, "train")["text"] == ["hi"]


@pytest.mark.parametrize("name, content, message", [
    ("missing.csv", "sentence,stars\nhi,1\n",
     r"missing.csv: no label column found .*'sentence', 'stars'.*--label-column"),
    ("ragged.csv", "text,label\nok,1\nbad,1,extra\n", r"ragged.csv, line 3: 3 fields, expected 2"),
    ("broken.jsonl", '{"text": "a", "label": 1}\n{"text": "b", "label"\n', r"broken.jsonl, line 2: not valid JSON"),
    ("nolabel.csv", "text,label\nok,\n", r"nolabel.csv, line 2: empty label"),
    ("notext.jsonl", '{"text": 3, "label": 1}\n', r"notext.jsonl, line 1: text is 3; expected text"),
    ("data.parquet", "x", r"no reader for \.parquet files; this task reads csv"),
])
def test_bad_files_name_the_file_and_line(tmp_path: Path, name: str, content: str, message: str) -> None:
    with pytest.raises(TlzooError, match=message):
        ClassificationTask().load_split(write(tmp_path / name, content), "train")


def test_unknown_label_in_evaluation_data_names_the_line(tmp_path: Path, sample: dict) -> None:
    valid = write(tmp_path / "valid.csv", "text,label\ngood,positive\nodd,neutral\n")
    with pytest.raises(TlzooError, match=r"valid.csv, line 3: label 'neutral' was not in the training data"):
        tlzoo.train("classification", backbone="tiny-bert", train=sample["train"], validation=valid,
                    output=str(tmp_path / "out"), max_steps=1, quiet=True)
    assert not (tmp_path / "out").exists(), "nothing is written when the input is bad"


def test_empty_file_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty.csv", "")
    with pytest.raises(TlzooError, match="empty.csv is empty"):
        tlzoo.train("classification", backbone="tiny-bert", train=empty, output=str(tmp_path / "out"), quiet=True)
    header_only = write(tmp_path / "header.csv", "text,label\n")
    with pytest.raises(TlzooError, match="header.csv holds no examples"):
        tlzoo.train("classification", backbone="tiny-bert", train=header_only, output=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".json"]))
def test_random_bytes_load_or_fail_cleanly(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    try:
        ClassificationTask().load_split(str(path), "train")
    except TlzooError as exc:
        assert str(path) in str(exc)
