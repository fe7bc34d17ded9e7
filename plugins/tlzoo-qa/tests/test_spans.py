"""The n-best span search on hand-made logits."""

from __future__ import annotations

import numpy as np
import pytest
from tlzoo_qa.spans import Window, best_answer

CONTEXT = "Gustave Eiffel built the tower in Paris in 1889."
# tokens:     [CLS] q   q   [SEP] Gustave Eiffel built the   tower  in     Paris  in     1889   .     [SEP]
OFFSETS = [None, None, None, None, [0, 7], [8, 14], [15, 20], [21, 24], [25, 30], [31, 33], [34, 39],
           [40, 42], [43, 47], [47, 48], None]


def window(start: dict[int, float], end: dict[int, float], offsets: list = OFFSETS) -> Window:
    start_logits, end_logits = np.zeros(len(offsets)), np.zeros(len(offsets))
    for index, value in start.items():
        start_logits[index] = value
    for index, value in end.items():
        end_logits[index] = value
    return Window(start_logits, end_logits, offsets)


def test_best_span_by_start_plus_end() -> None:
    answer = best_answer(CONTEXT, [window({4: 5.0, 10: 4.0}, {5: 5.0, 12: 4.5})])
    assert answer["text"] == "Gustave Eiffel" == CONTEXT[answer["start"]:answer["end"]]
    assert (answer["start"], answer["end"]) == (0, 14)
    assert 0 < answer["score"] < 1


def test_question_tokens_reversed_and_too_long_spans_are_skipped() -> None:
    logits = window({1: 50.0, 12: 9.0, 4: 8.0}, {2: 50.0, 10: 9.5, 12: 1.0})
    # question tokens 1..2 win on logits but are not context; 12 -> 10 ends before it starts
    assert best_answer(CONTEXT, [logits])["text"] == "Gustave Eiffel built the tower in Paris"
    assert best_answer(CONTEXT, [logits], max_answer_length=3)["text"] == "1889"


def test_best_span_over_several_windows() -> None:
    second_offsets = [None, None, None, None, [25, 30], [31, 33], [34, 39], [40, 42], [43, 47], [47, 48],
                      None]
    windows = [window({4: 2.0}, {5: 2.0}), window({6: 3.0}, {6: 3.5}, second_offsets)]
    answer = best_answer(CONTEXT, windows)
    assert (answer["text"], answer["start"], answer["end"]) == ("Paris", 34, 39)


def test_null_answer_needs_allow_no_answer_and_respects_the_threshold() -> None:
    logits = window({0: 6.0, 8: 2.0}, {0: 6.0, 8: 2.0})  # null 12, best span "tower" 4
    assert best_answer(CONTEXT, [logits])["text"] == "tower"
    null = best_answer(CONTEXT, [logits], allow_no_answer=True)
    assert (null["text"], null["start"], null["end"]) == ("", None, None)
    assert null["score"] == pytest.approx(1 / (1 + sum(np.exp(s - 12.0) for s in _spans_scores(logits))))
    assert best_answer(CONTEXT, [logits], allow_no_answer=True, null_threshold=10.0)["text"] == "tower"


def test_null_score_is_the_lowest_over_windows() -> None:
    windows = [window({0: 9.0, 8: 2.0}, {0: 9.0, 8: 2.0}), window({0: 1.0}, {0: 1.0})]
    assert best_answer(CONTEXT, windows, allow_no_answer=True)["text"] == "tower"  # null 2 < span 4


def test_no_context_gives_an_empty_answer() -> None:
    empty = Window(np.zeros(3), np.zeros(3), [None, None, None])
    assert best_answer("", [empty]) == {"text": "", "score": 0.0, "start": None, "end": None}


def _spans_scores(logits: Window) -> list[float]:
    """Start + end logit of the 20 best spans (all valid spans here: fewer than 20 context tokens)."""
    context = [i for i, o in enumerate(logits.offsets) if o is not None]
    scores = sorted((logits.start_logits[s] + logits.end_logits[e] for s in context for e in context
                     if s <= e < s + 30), reverse=True)
    return scores[:20]
