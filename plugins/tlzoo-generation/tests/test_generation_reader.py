"""Reading prompt/completion tables and chat conversations, and the one-line errors for bad rows."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from tlzoo_generation.data import read_completions

from tlzoo.api import TlzooError


def jsonl(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def test_prompt_completion_rows_and_reference_lists(tmp_path: Path) -> None:
    data = read_completions(jsonl(tmp_path / "d.jsonl", [{"prompt": "Q: 2+2?\nA:", "completion": " 4"},
                                                         {"prompt": "Hi", "completion": " hello"}]))
    assert data["source"] == ["Q: 2+2?\nA:", "Hi"] and data["messages"] == ["", ""]
    assert data["target"] == [" 4", " hello"] and data["references"] == [[" 4"], [" hello"]]
    several = read_completions(jsonl(tmp_path / "r.jsonl", [{"prompt": "Hi", "completion": [" hello", " hey"]}]))
    assert several["target"] == [" hello"] and several["references"] == [[" hello", " hey"]]


def test_chat_rows_keep_the_prompt_turns_and_learn_the_last_answer(tmp_path: Path) -> None:
    turns = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"},
             {"role": "assistant", "content": "Paris."}]
    data = read_completions(jsonl(tmp_path / "d.jsonl", [{"messages": turns}]))
    assert json.loads(data["messages"][0]) == turns[:2] and data["target"] == ["Paris."]


def test_a_references_column_lists_the_acceptable_outputs(tmp_path: Path) -> None:
    turns = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    data = read_completions(jsonl(tmp_path / "d.jsonl", [{"messages": turns, "references": ["Hello", "Hey"]}]))
    assert data["target"] == ["Hello"] and data["references"] == [["Hello", "Hey"]]
    with pytest.raises(TlzooError, match=r"d.jsonl, line 1: references is empty"):
        read_completions(jsonl(tmp_path / "d.jsonl", [{"messages": turns, "references": [" "]}]))


def test_csv_with_messages_as_json_text(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    turns = json.dumps([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}])
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows([["messages"], [turns]])
    assert read_completions(str(path))["target"] == ["Hello"]


@pytest.mark.parametrize("rows, message", [
    ([{"text": "a", "label": "b"}], "d.jsonl: missing column 'prompt' and 'completion'; text-generation reads"),
    ([{"prompt": "a", "completion": "b"}, {"prompt": "c", "completion": "  "}],
     "d.jsonl, line 2: completion is empty"),
    ([{"messages": [{"role": "user", "content": "Hi"}]}],
     "d.jsonl, line 1: the last turn of messages is the user's; a conversation must end with the assistant's"),
    ([{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": ""}]}],
     "d.jsonl, line 1: the final assistant turn is empty"),
    ([{"messages": [{"role": "user"}, {"role": "assistant", "content": "x"}]}],
     "d.jsonl, line 1: turn 1 of messages is"),
    ([{"messages": [{"role": "assistant", "content": "x"}]}], "d.jsonl, line 1: messages hold only"),
])
def test_bad_rows_name_file_and_line(tmp_path: Path, rows: list[dict], message: str) -> None:
    with pytest.raises(TlzooError) as error:
        read_completions(jsonl(tmp_path / "d.jsonl", rows))
    assert message in str(error.value) and "\n" not in str(error.value)
