"""Corpus BLEU and chrF through sacreBLEU (offline, with the signatures that make scores comparable)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tlzoo.seq2seq.task import generation_stats

TOKENIZERS = {"zh": "zh", "ja": "char", "ko": "char", "th": "char"}
"""sacreBLEU tokenisation for target languages written without spaces (default: ``13a``)."""


class TranslationScores:
    """``bleu`` (primary) and ``chrf``, 0-100, with their signatures, plus output length and diversity."""

    name, primary, greater_is_better, consumes = "sacrebleu", "bleu", True, "text"

    def __init__(self, target_lang: str = "") -> None:
        self.tokenize = TOKENIZERS.get(target_lang, "13a")

    def compute(self, predictions: Sequence[str], references: Sequence[Sequence[str]]) -> dict[str, Any]:
        from sacrebleu.metrics import BLEU, CHRF

        if len(predictions) != len(references):
            raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
        counts = {len(refs) for refs in references}
        if len(counts) > 1:
            raise ValueError("every prediction needs the same number of references for corpus BLEU")
        streams = [list(stream) for stream in zip(*references, strict=True)]
        bleu, chrf = BLEU(tokenize=self.tokenize), CHRF()
        bleu_score = bleu.corpus_score(list(predictions), streams)
        chrf_score = chrf.corpus_score(list(predictions), streams)
        return {"bleu": bleu_score.score, "chrf": chrf_score.score,
                "bleu_signature": str(bleu.get_signature()), "chrf_signature": str(chrf.get_signature()),
                **generation_stats(predictions)}
