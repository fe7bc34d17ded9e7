"""Reading SQuAD JSON and flat JSONL, with clear errors and reported answer mismatches."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from tlzoo_qa.reader import AnswerMismatchWarning, SquadReader, read_squad
from tlzoo_qa.sample import paths
from tlzoo_qa.task import ExtractiveQATask

from tlzoo.api import TlzooError

CONTEXT = "The Eiffel Tower was completed in 1889 in Paris."
SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "datasets"
XQUAD = SHARED / "xquad" / "xquad.en.articles00-35.json"


def write(path: Path, value: object) -> str:
    path.write_text(json.dumps(value))
    return str(path)


def squad_document(answers: list[dict], qas_extra: dict | None = None) -> dict:
    qa = {"id": "q1", "question": "When was it completed?", "answers": answers, **(qas_extra or {})}
    return {"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": CONTEXT, "qas": [qa]}]}]}


def test_squad_json_layout(tmp_path: Path) -> None:
    path = write(tmp_path / "squad.json", squad_document([{"text": "1889", "answer_start": 34}]))
    dataset = read_squad(path)
    assert dataset.column_names == ["id", "question", "context", "answers"]
    assert dataset[0] == {"id": "q1", "question": "When was it completed?", "context": CONTEXT,
                          "answers": {"text": ["1889"], "answer_start": [34]}}


def test_flat_jsonl_layout_both_answer_shapes_and_no_answer(tmp_path: Path) -> None:
    rows = [{"id": "a", "question": "When?", "context": CONTEXT,
             "answers": {"text": ["1889"], "answer_start": [34]}},
            {"question": "Where?", "context": CONTEXT, "answers": [{"text": "Paris", "answer_start": 42}]},
            {"id": "c", "question": "Who?", "context": CONTEXT, "answers": {"text": [], "answer_start": []}}]
    path = tmp_path / "flat.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    dataset = SquadReader().read(str(path))
    assert dataset["id"] == ["a", "1", "c"]  # a missing id is the record's position
    assert dataset["answers"] == [{"text": ["1889"], "answer_start": [34]},
                                  {"text": ["Paris"], "answer_start": [42]},
                                  {"text": [], "answer_start": []}]


def test_flat_records_in_a_json_file_and_v2_impossible_questions(tmp_path: Path) -> None:
    flat = {"data": [{"id": "x", "question": "When?", "context": CONTEXT,
                      "answers": {"text": ["1889"], "answer_start": [34]}}]}
    assert read_squad(write(tmp_path / "flat.json", flat))["id"] == ["x"]
    plausible = [{"text": "x", "answer_start": 0}]
    impossible = squad_document([], {"is_impossible": True, "plausible_answers": plausible})
    no_answer = {"text": [], "answer_start": []}
    assert read_squad(write(tmp_path / "v2.json", impossible))["answers"] == [no_answer]


def test_hub_rows_are_flat_records(monkeypatch: pytest.MonkeyPatch) -> None:
    from datasets import Dataset

    rows = Dataset.from_list([{"id": "h1", "title": "t", "question": "When?", "context": CONTEXT,
                               "answers": {"text": ["1889"], "answer_start": [34]}}])
    monkeypatch.setattr("tlzoo.hub.hub_reachable", lambda timeout=3.0: True)
    monkeypatch.setattr("datasets.load_dataset", lambda *args, **kwargs: rows)
    assert read_squad("hub:squad@validation")[0]["answers"] == {"text": ["1889"], "answer_start": [34]}


def test_malformed_json_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"data": [\n  {"paragraphs": [}\n]}')
    with pytest.raises(TlzooError, match=r"broken\.json, line 2 column .*not valid JSON"):
        read_squad(str(path))
    bad_line = tmp_path / "broken.jsonl"
    bad_line.write_text(json.dumps({"question": "q", "context": "c"}) + "\n{oops\n")
    with pytest.raises(TlzooError, match=r"broken\.jsonl, line 2: not valid JSON"):
        read_squad(str(bad_line))


@pytest.mark.parametrize(("qa_patch", "message"), [
    ({"question": 3}, r"qas\[0\]: 'question' must be a string, found a int"),
    ({"answers": [{"text": "1889"}]}, "each answer must be an object with 'text' and 'answer_start'"),
    ({"answers": [{"text": "1889", "answer_start": "34"}]}, "non-negative integer 'answer_start'"),
    ({"answers": [{"text": "x", "answer_start": 500}]}, "answer_start 500 .* past the end of the context"),
    ({"answers": {"text": ["a"], "answer_start": []}}, "lists 'text' and 'answer_start' of equal length"),
])
def test_bad_records_are_named(tmp_path: Path, qa_patch: dict, message: str) -> None:
    document = squad_document([{"text": "1889", "answer_start": 34}])
    document["data"][0]["paragraphs"][0]["qas"][0].update(qa_patch)
    with pytest.raises(TlzooError, match=message) as error:
        read_squad(write(tmp_path / "bad.json", document))
    assert "bad.json, data[0].paragraphs[0].qas[0]" in str(error.value)


def test_unsupported_layouts(tmp_path: Path) -> None:
    with pytest.raises(TlzooError, match="expected SQuAD JSON"):
        read_squad(write(tmp_path / "scalar.json", {"data": 3}))
    with pytest.raises(TlzooError, match=r"no reader for \.xml files; this task reads .*squad \(\.json, \.jsonl\)"):
        read_squad(write(tmp_path / "data.xml", {}))


def test_answers_not_at_their_start_are_reported_not_dropped(tmp_path: Path) -> None:
    answers = [{"text": "1889", "answer_start": 30},     # off by 4: moved to 34
               {"text": "Paris", "answer_start": 42},    # right
               {"text": "London", "answer_start": 10}]   # nowhere in the context
    path = write(tmp_path / "shifted.json", squad_document(answers))
    with pytest.warns(AnswerMismatchWarning) as caught:
        dataset = read_squad(path)
    message = str(caught[0].message)
    assert "shifted.json: 2 of 3 answers do not occur at their answer_start: 1 moved" in message
    assert "1 not found in the context" in message
    assert "qas[0] (id q1): '1889' at 30 reads ' in ', moved to 34" in message
    assert dataset[0]["answers"] == {"text": ["1889", "Paris", "London"], "answer_start": [34, 42, -1]}


def test_correct_files_raise_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train = read_squad(paths()["train"])
    assert len(train) > 100 and all(a["text"] for a in train["answers"])


def test_unanswerable_questions_need_allow_no_answer(tmp_path: Path) -> None:
    path = write(tmp_path / "v2.json", squad_document([]))
    task = ExtractiveQATask()
    message = r"v2\.json: 1 question\(s\) have no answer .* id 'q1'; pass --allow-no-answer true"
    with pytest.raises(TlzooError, match=message):
        task.load_split(path, "train")
    with pytest.raises(TlzooError, match=message):
        task.check(task.load_split(path, "validation"), {}, path)
    allowed = ExtractiveQATask({"allow_no_answer": True})
    allowed.check(allowed.load_split(path, "train"), {}, path)


@pytest.mark.realdata
@pytest.mark.skipif(not XQUAD.is_file(), reason=f"{XQUAD} is not there")
def test_xquad_english_articles() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dataset = read_squad(str(XQUAD))
    assert len(dataset) == 925
    for row in dataset.select(range(0, 925, 37)):
        (text,), (start,) = row["answers"]["text"], row["answers"]["answer_start"]
        assert row["context"][start:start + len(text)] == text
