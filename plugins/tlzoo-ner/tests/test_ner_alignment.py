"""Windows over long sentences, sub-token labels, and stitching windows back into words."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from tlzoo_ner.task import NerTask

from tlzoo.backbones.loading import tiny_tokenizer
from tlzoo.testing.arrow import counted_reads
from tlzoo.token_alignment import IGNORE, NO_WORD, align_labels, encode_windows, stitch, word_windows


@given(st.lists(st.integers(0, 9), max_size=60), st.integers(1, 20), st.integers(0, 10))
def test_windows_cover_every_word_within_budget(counts: list[int], budget: int, overlap: int) -> None:
    windows = word_windows(counts, budget, overlap)
    covered = set()
    for (start, end), following in zip(windows, [*windows[1:], None]):
        assert end > start or counts == []
        assert end - start == 1 or sum(counts[start:end]) <= budget
        if following is not None:
            assert start < following[0] <= end < following[1]
            assert sum(counts[following[0]:end]) <= overlap
        covered.update(range(start, end))
    assert covered == set(range(len(counts)))


def test_long_sentence_becomes_windows_that_fit() -> None:
    tokenizer = tiny_tokenizer()
    words = [f"word{i}" for i in range(100)]
    columns = encode_windows([words, ["John", "lives"]], tokenizer, max_length=24)
    assert len(columns["input_ids"]) > 3
    assert all(len(ids) <= 24 for ids in columns["input_ids"])
    seen = {w for ids, row in zip(columns["word_ids"], columns["sentence"]) if row == 0 for w in ids}
    assert seen - {NO_WORD} == set(range(100))
    assert columns["sentence"][-1] == 1 and columns["word_ids"][-1][0] == NO_WORD


def test_first_or_all_sub_tokens_labelled() -> None:
    word_ids = [NO_WORD, 0, 1, 1, 1, 2, NO_WORD]
    assert align_labels(word_ids, [1, 3, 0], None) == [IGNORE, 1, 3, IGNORE, IGNORE, 0, IGNORE]
    assert align_labels(word_ids, [1, 3, 0], {0: 0, 1: 2, 3: 4}) == [IGNORE, 1, 3, 4, 4, 0, IGNORE]


def test_stitch_takes_each_word_from_its_most_central_window() -> None:
    # sentence 0 has 6 words in two windows (0-3 and 2-5); the label index says which window spoke
    first = np.eye(3)[[0, 1, 1, 1, 1, 0]]
    second = np.eye(3)[[0, 2, 2, 2, 2, 0]]
    labels, scores = stitch([first, second], [[NO_WORD, 0, 1, 2, 3, NO_WORD], [NO_WORD, 2, 3, 4, 5, NO_WORD]],
                            [0, 0], [6])[0]
    assert labels == [1, 1, 1, 2, 2, 2] and scores == [1.0] * 6


def test_words_the_tokenizer_drops_still_get_a_tag() -> None:
    task = NerTask()
    examples = task.inputs_to_examples([{"tokens": ["John", "\u200b", "lives"]}])
    features = examples.map(lambda b: task.preprocess(b, tiny_tokenizer(), {}, 32, False), batched=True,
                            remove_columns=examples.column_names)
    word_ids = features["word_ids"][0]
    assert sorted({w for w in word_ids if w != NO_WORD}) == [0, 2]
    outputs = [np.eye(2)[[0 if w == NO_WORD else 1 for w in word_ids]]]
    state = {"labels": ["O", "B-PER"], "scheme": "IOB2"}
    (prediction,) = task.postprocess(outputs, features, examples, state)
    assert prediction["tags"] == ["B-PER", "O", "B-PER"]


def test_postprocess_reads_each_column_once() -> None:
    """Prediction's per-word work must not read the examples' Arrow table once per sentence (it cost a 3-layer
    student a fifth of its prediction time); the predictions are the same whichever way the columns are read."""
    task = NerTask()
    sentences = [["John", "lives", "in", "Paris"], ["Acme", "Corp", "."], []] * 20
    examples = task.inputs_to_examples([{"tokens": words} for words in sentences])
    features = task.preprocess(examples[:], tiny_tokenizer(), {}, 32, False)
    outputs = [np.eye(3)[[(w + row) % 3 if w != NO_WORD else 0 for w in ids]]
               for row, ids in enumerate(features["word_ids"])]
    state = {"labels": ["O", "B-PER", "I-PER"], "scheme": "IOB2"}
    with counted_reads() as reads:
        predictions = task.postprocess(outputs, features, examples, state)
    assert len(reads) <= 10
    rows = examples.to_list()
    assert [p["tokens"] for p in predictions] == sentences
    assert [(p["text"], p["starts"], p["ends"]) for p in predictions] == [
        (r["text"], r["starts"], r["ends"]) for r in rows]
    stitched = stitch(outputs, features["word_ids"], features["example_id"], [len(words) for words in sentences])
    assert [p["tags"] for p in predictions] == [[state["labels"][j] if j >= 0 else "O" for j in labels]
                                                 for labels, _ in stitched]
    assert [p["scores"] for p in predictions] == [scores for _, scores in stitched]
