"""Reading SemEval-2010 Task 8 files and tables (marked text or spans); every bad row names its file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tlzoo_relation.task import RelationTask

from tlzoo.api import TlzooError

SEMEVAL = ('1\t"The <e1>engine</e1> of the <e2>car</e2>."\r\nComponent-Whole(e1,e2)\r\nComment: a part\r\n\r\n'
           '2\t"The <e1>storm</e1> caused <e2>floods</e2>."\r\nCause-Effect(e1,e2)\r\nComment:\r\n\r\n')


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, newline="")
    return str(path)


def test_semeval_files_read_as_text_spans_and_directed_labels(tmp_path: Path) -> None:
    data = RelationTask().load_split(write(tmp_path, "TRAIN_FILE.TXT", SEMEVAL), "train")
    assert data["text"] == ["The engine of the car.", "The storm caused floods."]
    assert data["label"] == ["Component-Whole(e1,e2)", "Cause-Effect(e1,e2)"]
    assert data["text"][1][data["head_start"][1]:data["head_end"][1]] == "storm"


def test_tables_of_marked_text_or_of_spans(tmp_path: Path) -> None:
    rows = [{"text": "Ann met Bob.", "head": {"start": 0, "end": 3, "type": "PER"},
             "tail": {"start": 8, "end": 11, "type": "PER"}, "label": "per:met"}]
    spans = RelationTask().load_split(write(tmp_path, "a.jsonl", "\n".join(map(json.dumps, rows)) + "\n"), "train")
    assert (spans["head_type"], spans["tail_start"], spans["label"]) == (["PER"], [8], ["per:met"])
    csv = write(tmp_path, "b.csv", 'sentence,relation\n"<e1>Ann</e1> met <e2>Bob</e2>",x\n')
    marked = RelationTask().load_split(csv, "train")
    assert (marked["text"], marked["head_end"], marked["label"]) == (["Ann met Bob"], [3], ["x"])


@pytest.mark.parametrize(("name", "content", "message"), [
    ("s.txt", SEMEVAL.replace("<e2>car</e2>", "car"), "s.txt, line 1: no <e2> or </e2> marker"),
    ("s.txt", SEMEVAL.replace("Comment:\r\n\r\n", "Comment:\r\nOther\r\n\r\n", 1).replace("Comment: a part\r\n", ""),
     "s.txt, line 7: a second label line is not part of a SemEval-2010 Task 8 example"),
    ("s.txt", SEMEVAL.replace("2\t", "1\t"), "s.txt, line 5: sentence id 1 was already used on line 1"),
    ("s.txt", SEMEVAL.replace("Cause-Effect(e1,e2)\r\n", ""), "s.txt, line 5: this sentence has no label line"),
    ("s.txt", "1\tThe engine without quotes\n", "s.txt, line 1: this line is not part"),
    ("t.jsonl", '{"text": "Ann met Bob.", "head": [0, 3], "tail": [8, 11], "label": "x"}\n'
                '{"text": "Ann met Bob.", "head": [0, 3], "tail": [8, 40], "label": "x"}\n',
     "t.jsonl, line 2: the tail (e2) span 8-40 is outside the text (0-12)"),
    ("t.jsonl", '{"text": "Ann met Bob.", "head": [0, 5], "tail": [4, 7], "label": "x"}\n',
     "t.jsonl, line 1: the head"),
    ("t.jsonl", '{"text": "Ann met Bob.", "head": "zero", "tail": [4, 7], "label": "x"}\n',
     "t.jsonl, line 1: span 'zero' is not character offsets"),
    ("t.jsonl", '{"text": "Ann met Bob.", "head": [0, 3], "label": "x"}\n', "a 'head' column without 'tail'"),
    ("t.csv", "text,label\n<e1>Ann</e1> met <e2>Bob</e2>,\n", "t.csv, line 2: no label"),
])
def test_bad_rows_name_the_file_and_line(tmp_path: Path, name: str, content: str, message: str) -> None:
    with pytest.raises(TlzooError) as error:
        RelationTask().load_split(write(tmp_path, name, content), "train")
    assert message in str(error.value)


def test_evaluation_labels_must_be_known(tmp_path: Path) -> None:
    task = RelationTask()
    state = task.setup(task.load_split(write(tmp_path, "train.txt", SEMEVAL), "train"))
    path = write(tmp_path, "dev.txt", SEMEVAL.replace("Cause-Effect(e1,e2)", "Entity-Origin(e1,e2)"))
    with pytest.raises(TlzooError, match="dev.txt, line 5: label 'Entity-Origin\\(e1,e2\\)' was not in the training"):
        task.check(task.load_split(path, "validation"), state, path)


def test_typed_markers_need_types(tmp_path: Path) -> None:
    task = RelationTask({"markers": "typed"})
    with pytest.raises(TlzooError, match="--markers typed needs entity types"):
        task.setup(task.load_split(write(tmp_path, "train.txt", SEMEVAL), "train"))
    with pytest.raises(TlzooError, match="--markers 'fancy': expected one of plain, typed"):
        RelationTask({"markers": "fancy"}).setup(task.load_split(write(tmp_path, "t2.txt", SEMEVAL), "train"))


def test_prediction_inputs_that_cannot_be_located_carry_their_error() -> None:
    examples = RelationTask().inputs_to_examples([
        "The <e1>engine</e1> of the <e2>car</e2>.", "", {"text": "Ann met Bob", "head": "0:3", "tail": [8, 11]},
        {"text": "Ann met Bob", "head": [0, 3]}, {"text": "Ann met Bob", "head": [0, 3], "tail": [2, 5]}])
    assert examples["error"][0] is None and examples["error"][2] is None
    assert "no <e1>, </e1>, <e2> or </e2> marker" in examples["error"][1]
    assert "give both head and tail" in examples["error"][3]
    assert "overlap" in examples["error"][4]
    with pytest.raises(TlzooError, match="input 1: expected marked text"):
        RelationTask().inputs_to_examples([42])
