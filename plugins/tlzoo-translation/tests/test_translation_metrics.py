"""sacreBLEU BLEU and chrF on hand-checkable examples."""

from __future__ import annotations

import pytest
from tlzoo_translation.metrics import TranslationScores


def test_bleu_by_hand() -> None:
    # One 5-token hypothesis against a 5-token reference that differs in the last token:
    # n-gram precisions 4/5, 3/4, 2/3, 1/2, no brevity penalty -> BLEU = (0.2 ** 0.25) * 100.
    scores = TranslationScores().compute(["a b c d e"], [["a b c d f"]])
    assert scores["bleu"] == pytest.approx(100 * 0.2 ** 0.25)
    assert scores["bleu_signature"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp")
    assert scores["chrf_signature"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no")


def test_perfect_and_disjoint() -> None:
    perfect = TranslationScores().compute(["Ein Hund läuft im Park ."], [["Ein Hund läuft im Park ."]])
    assert perfect["bleu"] == pytest.approx(100) and perfect["chrf"] == pytest.approx(100)
    disjoint = TranslationScores().compute(["xyz"], [["abc"]])
    assert disjoint["bleu"] == 0 and disjoint["chrf"] == 0


def test_brevity_penalty() -> None:
    # Hypothesis of 4 tokens, all 4-grams right, reference of 8: BP = exp(1 - 8/4) = e^-1.
    scores = TranslationScores().compute(["a b c d"], [["a b c d e f g h"]])
    assert scores["bleu"] == pytest.approx(100 * 2.718281828459045 ** -1)


def test_length_and_diversity() -> None:
    scores = TranslationScores().compute(["a b", "a b", "c d e f"], [["a b"], ["x"], ["c"]])
    assert scores["gen_len"] == pytest.approx(8 / 3)
    assert scores["distinct"] == pytest.approx(2 / 3)


def test_chinese_targets_are_tokenised_as_chinese() -> None:
    assert "tok:zh" in TranslationScores("zh").compute(["你好"], [["你好"]])["bleu_signature"]


def test_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="2 predictions for 1 references"):
        TranslationScores().compute(["a", "b"], [["a"]])
