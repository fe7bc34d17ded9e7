"""Questions and contexts into overlapping token windows, with answer positions for training.

The question always comes first and batches are padded on the right (see :func:`collate`), so
position 0 of every window is the "no answer" position (``[CLS]`` for BERT-like tokenizers) and
a label is a plain index into the unpadded window. Each window keeps ``example_index`` and an
``offset_mapping`` whose entries are ``None`` outside the context, which is all post-processing
needs to map token spans back to characters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tlzoo.api import TlzooError

CONTEXT = 1
"""The tokenizer's sequence id of the context (the second sequence of each pair)."""


def window_sizes(tokenizer: Any, max_length: int, max_question_length: int,
                 doc_stride: int) -> tuple[int, int]:
    """(question token budget, stride) that always fit in ``max_length``.

    Fast tokenizers abort when the stride is not below the room left for the context, so long
    questions are cut to ``max_question_length`` tokens (at most half the window) and the stride is
    at most half of the smallest room the context can get.
    """
    specials = tokenizer.num_special_tokens_to_add(pair=True)
    question_budget = max(1, min(max_question_length, max_length // 2))
    room = max_length - specials - question_budget
    if room < 2:
        raise TlzooError(f"max_length {max_length} leaves no room for the context; use at least "
                         f"{specials + question_budget + 2}")
    return question_budget, max(0, min(doc_stride, room // 2))


def cut_questions(questions: Sequence[str], tokenizer: Any, budget: int) -> list[str]:
    """Questions without leading spaces, each cut after its ``budget``-th token."""
    stripped = [q.lstrip() for q in questions]
    encoded = tokenizer(stripped, add_special_tokens=False, return_offsets_mapping=True)
    return [q if len(offsets) <= budget else q[:offsets[budget - 1][1]]
            for q, offsets in zip(stripped, encoded["offset_mapping"], strict=True)]


def tokenize_windows(questions: Sequence[str], contexts: Sequence[str], tokenizer: Any, max_length: int,
                     max_question_length: int, doc_stride: int) -> Any:
    """The tokenizer's output for all windows of every (question, context) pair, unpadded."""
    if not getattr(tokenizer, "is_fast", False):
        raise TlzooError("extractive-qa needs a fast (Rust) tokenizer for character offsets; this backbone's "
                         "tokenizer is a slow one")
    budget, stride = window_sizes(tokenizer, max_length, max_question_length, doc_stride)
    return tokenizer(cut_questions(questions, tokenizer, budget), list(contexts), truncation="only_second",
                     max_length=max_length, stride=stride, return_overflowing_tokens=True,
                     return_offsets_mapping=True, padding=False)


def context_offsets(offsets: Sequence[Sequence[int]],
                    sequence_ids: Sequence[int | None]) -> list[list[int] | None]:
    """Character offsets of context tokens; ``None`` for the question and special tokens."""
    return [list(o) if s == CONTEXT else None for o, s in zip(offsets, sequence_ids, strict=True)]


def answer_positions(offsets: Sequence[list[int] | None], start_char: int, end_char: int) -> tuple[int, int]:
    """Token (start, end) of the answer ``[start_char, end_char)`` in one window, or (0, 0) when
    the window does not hold the whole answer (the "no answer" position, as in HF ``run_qa``)."""
    context = [i for i, o in enumerate(offsets) if o is not None]
    if not context or offsets[context[0]][0] > start_char or offsets[context[-1]][1] < end_char:
        return 0, 0
    start = max(i for i in context if offsets[i][0] <= start_char)
    end = min(i for i in context if offsets[i][1] >= end_char)
    return start, max(start, end)


def preprocess(examples: Mapping[str, list], tokenizer: Any, max_length: int, max_question_length: int,
               doc_stride: int, training: bool) -> dict[str, list]:
    """A batched ``datasets.map`` function: examples to windows.

    Training windows carry ``start_positions``/``end_positions``; evaluation and prediction windows
    carry ``example_index`` and ``offset_mapping`` instead.
    """
    encoded = tokenize_windows(examples["question"], examples["context"], tokenizer, max_length,
                               max_question_length, doc_stride)
    out: dict[str, list] = {key: [] for key in encoded
                            if key not in ("offset_mapping", "overflow_to_sample_mapping")}
    extra = ("start_positions", "end_positions") if training else ("example_index", "offset_mapping")
    out.update({key: [] for key in extra})
    for window, sample in enumerate(encoded["overflow_to_sample_mapping"]):
        offsets = context_offsets(encoded["offset_mapping"][window], encoded.sequence_ids(window))
        if training:
            answers = examples["answers"][sample]
            located = [(s, s + len(t)) for t, s in zip(answers["text"], answers["answer_start"], strict=True)
                       if s >= 0]
            if answers["text"] and not located:
                continue  # its answers are not in the context (the reader reported them): nothing to learn
            start, end = answer_positions(offsets, *located[0]) if located else (0, 0)
            out["start_positions"].append(start)
            out["end_positions"].append(end)
        else:
            out["example_index"].append(examples["example_index"][sample])
            out["offset_mapping"].append(offsets)
        for key in out:
            if key not in extra:
                out[key].append(encoded[key][window])
    return out


def collate(features: list[dict[str, Any]], tokenizer: Any) -> Any:
    """Pad on the right whatever the tokenizer's own side, so answer positions stay valid."""
    return tokenizer.pad(features, padding=True, padding_side="right", return_tensors="pt")
