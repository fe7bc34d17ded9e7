"""Entity-level scores with seqeval, offline, in both of its modes.

seqeval's *default* mode (conlleval-compatible) reads entities leniently: an ``I-X`` that starts a
span counts as an entity. Its *strict* mode reads them by the rules of the scheme and drops spans a
scheme forbids. On a model's raw tags the two differ, so the ``ner`` task reports both, as two metrics: ``seqeval``
gives ``f1``/``precision``/``recall`` (default mode, which scores exactly the entities ``predict``
returns, see :mod:`tlzoo_ner.schemes`) and ``token_accuracy`` (the share of words with the right tag);
``seqeval-strict`` gives ``strict_f1``/``strict_precision``/``strict_recall`` (strict mode in the data's
scheme, named by ``strict_scheme``). Both take the data's tag ``scheme`` in their constructor.

Plain tags (scheme ``none``) are scored as one-word spans; BILOU is scored as the equivalent IOBES.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from tlzoo_ner.schemes import OUTSIDE, SCHEMES, split_tag

_STRICT = {"IOB2": "IOB2", "IOB1": "IOB1", "IOBES": "IOBES", "BILOU": "IOBES", "none": "IOB2"}


def _for_seqeval(tags: Sequence[str], scheme: str) -> list[str]:
    """Tags seqeval understands in both modes: prefixes as in IOBES/IOB, plain tags as one-word spans."""
    if scheme == "none":
        return [OUTSIDE if t == OUTSIDE else f"B-{t}" for t in tags]
    if scheme == "BILOU":
        return [OUTSIDE if t == OUTSIDE else "-".join(split_tag(t, scheme)) for t in tags]
    return list(tags)


def _scores(report: dict[str, Any], prefix: str) -> dict[str, Any]:
    overall = report["micro avg"]
    per_type = {kind: {"precision": float(v["precision"]), "recall": float(v["recall"]),
                       "f1": float(v["f1-score"]), "support": int(v["support"])}
                for kind, v in sorted(report.items()) if not kind.endswith(" avg")}
    return {f"{prefix}precision": float(overall["precision"]), f"{prefix}recall": float(overall["recall"]),
            f"{prefix}f1": float(overall["f1-score"]), f"{prefix}per_type": per_type}


class SeqevalReport:
    """The ``seqeval`` metric: entity scores in seqeval's default (conlleval) mode, and token accuracy."""

    name, primary, greater_is_better, consumes = "seqeval", "f1", True, "tags"
    strict: ClassVar[bool] = False

    def __init__(self, scheme: str = "IOB2") -> None:
        self.scheme = scheme

    def compute(self, predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> dict[str, Any]:
        """Score tag sequences (one list of tags per sentence) in the tag ``scheme`` of the data."""
        report = self._report(predictions, references, self.scheme, self.strict, output_dict=True)
        if self.strict:
            return {**_scores(report, "strict_"), "strict_scheme": _STRICT[self.scheme]}
        words = sum(len(r) for r in references)
        right = sum(a == b for p, r in zip(predictions, references) for a, b in zip(p, r))
        return {**_scores(report, ""), "token_accuracy": right / max(words, 1), "scheme": self.scheme}

    def text_report(self, predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> str:
        """seqeval's printed per-type tables, default mode then strict mode."""
        scheme = self.scheme
        return (f"seqeval default mode (conlleval-compatible), {scheme} tags\n\n"
                f"{self._report(predictions, references, scheme, False, digits=4)}\n"
                f"seqeval strict mode, scheme {_STRICT[scheme]}\n\n"
                f"{self._report(predictions, references, scheme, True, digits=4)}")

    @staticmethod
    def _report(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]], scheme: str,
                strict: bool, **options: Any) -> Any:
        if scheme not in SCHEMES:
            raise ValueError(f"unknown tag scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")
        if len(predictions) != len(references):
            raise ValueError(f"{len(predictions)} predicted sentences for {len(references)} references")
        for index, (p, r) in enumerate(zip(predictions, references)):
            if len(p) != len(r):
                raise ValueError(f"sentence {index}: {len(p)} predicted tags for {len(r)} words")
        from seqeval import scheme as seqeval_schemes
        from seqeval.metrics import classification_report

        if strict:
            options.update(mode="strict", scheme=getattr(seqeval_schemes, _STRICT[scheme]))
        y_pred = [_for_seqeval(p, scheme) for p in predictions]
        y_true = [_for_seqeval(r, scheme) for r in references]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # macro averages over no entity types
            return classification_report(y_true, y_pred, zero_division=0, **options)


class SeqevalStrict(SeqevalReport):
    """The ``seqeval-strict`` metric: entity scores in seqeval's strict mode for the data's scheme (IOB2 for
    IOB2 data), which drops spans the scheme forbids; keys ``strict_*``."""

    name, primary = "seqeval-strict", "strict_f1"
    strict = True
