"""Long contexts become overlapping windows whose answer positions map back to the characters."""

from __future__ import annotations

from typing import Any

import pytest
from tlzoo_qa.windows import answer_positions, collate, preprocess, window_sizes

from tlzoo.backbones.loading import tiny_tokenizer

FILLER = "the city of york is large and many people live there . "
ANSWER = "john smith"


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return tiny_tokenizer()


def long_example() -> dict[str, list]:
    context = FILLER * 12 + f"it was built by {ANSWER} in 1200 . " + FILLER * 2
    start = context.index(ANSWER)
    return {"question": ["who built the city ?"], "context": [context], "example_index": [0],
            "answers": [{"text": [ANSWER], "answer_start": [start]}]}


def test_answer_in_a_later_window_gets_its_token_positions(tokenizer: Any) -> None:
    examples = long_example()
    context, start_char = examples["context"][0], examples["answers"][0]["answer_start"][0]
    train = preprocess(examples, tokenizer, max_length=48, max_question_length=16, doc_stride=12,
                       training=True)
    evaluation = preprocess(examples, tokenizer, max_length=48, max_question_length=16, doc_stride=12,
                            training=False)
    windows = len(train["input_ids"])
    assert windows > 3 and len(evaluation["input_ids"]) == windows
    assert all(len(ids) <= 48 for ids in train["input_ids"])
    holding = [i for i in range(windows) if train["start_positions"][i] > 0]
    assert holding and holding[0] > 1  # not in the first windows
    for i in range(windows):
        start, end = train["start_positions"][i], train["end_positions"][i]
        offsets = evaluation["offset_mapping"][i]
        if i in holding:
            assert context[offsets[start][0]:offsets[end][1]] == ANSWER
            assert tokenizer.decode(train["input_ids"][i][start:end + 1]) == ANSWER
        else:
            assert (start, end) == (0, 0)
            covered = [o for o in offsets if o is not None]
            assert not (covered[0][0] <= start_char and covered[-1][1] >= start_char + len(ANSWER))


def test_evaluation_windows_keep_example_index_and_context_offsets_only(tokenizer: Any) -> None:
    features = preprocess(long_example(), tokenizer, 48, 16, 12, training=False)
    assert set(features) >= {"input_ids", "attention_mask", "example_index", "offset_mapping"}
    assert "start_positions" not in features and set(features["example_index"]) == {0}
    question_tokens = 1 + len(tokenizer("who built the city ?", add_special_tokens=False)["input_ids"]) + 1
    for offsets in features["offset_mapping"]:
        assert offsets[:question_tokens] == [None] * question_tokens and offsets[-1] is None
        assert all(o is not None for o in offsets[question_tokens:-1])


def test_windows_overlap_by_the_stride(tokenizer: Any) -> None:
    features = preprocess(long_example(), tokenizer, 48, 16, 12, training=False)
    first, second = ([o for o in w if o is not None] for w in features["offset_mapping"][:2])
    assert first[-12:] == second[:12]


def test_stride_and_question_are_clamped_to_fit(tokenizer: Any) -> None:
    assert window_sizes(tokenizer, 384, 64, 128) == (64, 128)  # the HF run_qa recipe is untouched
    assert window_sizes(tokenizer, 48, 64, 128) == (24, 10)     # room 48-3-24 = 21, stride 10
    examples = long_example()
    examples["question"] = ["who " * 200 + "built it ?"]
    features = preprocess(examples, tokenizer, 48, 64, 128, training=True)
    assert len(features["input_ids"]) > 3 and all(len(ids) <= 48 for ids in features["input_ids"])


def test_answer_positions_outside_or_partial_window_is_null() -> None:
    offsets = [None, None, [0, 3], [4, 8], [9, 12], None]
    assert answer_positions(offsets, 4, 12) == (3, 4)
    assert answer_positions(offsets, 5, 7) == (3, 3)  # inside one token
    assert answer_positions(offsets, 9, 20) == (0, 0)  # runs past the window
    assert answer_positions([None, None], 0, 1) == (0, 0)  # empty context


def test_answers_missing_from_the_context_are_not_trained_on(tokenizer: Any) -> None:
    examples = long_example()
    examples["answers"] = [{"text": ["london"], "answer_start": [-1]}]
    assert preprocess(examples, tokenizer, 48, 16, 12, training=True)["input_ids"] == []
    examples["answers"] = [{"text": [], "answer_start": []}]  # no answer: every window points at 0
    features = preprocess(examples, tokenizer, 48, 16, 12, training=True)
    assert set(features["start_positions"]) == {0} == set(features["end_positions"])


def test_collate_pads_right_even_for_a_left_padding_tokenizer(tokenizer: Any) -> None:
    tokenizer.padding_side = "left"
    try:
        batch = collate([{"input_ids": [2, 5, 3], "attention_mask": [1, 1, 1], "start_positions": 1},
                         {"input_ids": [2, 3], "attention_mask": [1, 1], "start_positions": 0}], tokenizer)
    finally:
        tokenizer.padding_side = "right"
    assert batch["input_ids"].tolist() == [[2, 5, 3], [2, 3, 0]]
    assert batch["start_positions"].tolist() == [1, 0]
