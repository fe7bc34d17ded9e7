"""Tokenising marked text: markers stay whole, and a long text is cut around its entities, never past them."""

from __future__ import annotations

from typing import Any

import pytest
from tlzoo_relation.task import RelationTask

from tlzoo.backbones.loading import tiny_tokenizer


@pytest.fixture(scope="module")
def setup() -> tuple[Any, RelationTask, dict[str, Any]]:
    task = RelationTask({"markers": "typed"})
    tokenizer = tiny_tokenizer()
    state: dict[str, Any] = {"labels": ["Other", "per:met"], "negative": "Other", "types": ["PER"]}
    state.update(task.prepare_tokenizer(tokenizer, state))
    return tokenizer, task, state


def encode(setup: tuple, inputs: list[Any], max_length: int = 128) -> tuple[list[list[str]], dict[str, list]]:
    tokenizer, task, state = setup
    examples = task.inputs_to_examples(inputs)
    features = task.preprocess(examples[:], tokenizer, state, max_length, False)
    return [tokenizer.convert_ids_to_tokens(ids) for ids in features["input_ids"]], features


def test_typed_markers_for_known_types_and_plain_ones_otherwise(setup: tuple) -> None:
    (typed, plain), _ = encode(setup, [
        {"text": "Ann met Bob", "head": {"start": 0, "end": 3, "type": "PER"}, "tail": {"start": 8, "end": 11}},
        {"text": "Ann met Bob", "head": {"start": 0, "end": 3, "type": "ORG"}, "tail": [8, 11]}])
    assert typed[1] == "<e1:PER>" and "</e1:PER>" in typed and "<e2>" in typed
    assert plain[1] == "<e1>" and "</e1>" in plain
    _, _, state = setup
    assert len(state["marker_ids"]["e1"]) == 2 and len(set(state["marker_ids"]["e1"] + state["marker_ids"]["e2"])) == 4


@pytest.mark.parametrize("gap", [20, 400])
def test_a_long_text_keeps_both_opening_markers(setup: tuple, gap: int) -> None:
    text = "word " * 300 + "<e1>ann</e1> met " + "the " * gap + "<e2>bob</e2> " + "end " * 200
    (tokens,), features = encode(setup, [text], max_length=64)
    assert len(tokens) <= 64 and features["truncated"] == [True]
    assert tokens.index("<e1>") < tokens.index("<e2>") and tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"


def test_a_short_text_is_untouched(setup: tuple) -> None:
    (tokens,), features = encode(setup, ["<e2>rain</e2> ruined the <e1>picnic</e1>"])
    assert features["truncated"] == [False] and tokens[:3] == ["[CLS]", "<e2>", "r"]
