"""Ending a generated row at its first stop string, cheaply: the check asked after each generated token.

Decoding every row's text after every token costs a tokenizer call per row and step. Only a token whose own text
holds a character of a stop string (or an incomplete character, part of a multi-byte one) can complete a stop
string, so the row's text is decoded only after such a token (each token's own text is decoded once per
tokenizer); when a stop string holds a space, which a
tokenizer's decoder may put between tokens (WordPiece, SentencePiece), after every token. Whether the text holds a
stop string is the task's own cut (``Seq2SeqTask.cut_output``), so the check agrees with the outputs it cuts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from weakref import WeakKeyDictionary

_COMPLETES: WeakKeyDictionary[Any, dict[frozenset[str], dict[int, bool]]] = WeakKeyDictionary()
"""Per tokenizer and set of stop-string characters: whether each token seen so far can complete a stop string (kept
while the tokenizer lives, so each token's text is decoded once across batches and calls)."""


class StopCheck:
    """Whether a row's generated token ids hold a stop string, asked after each of its tokens."""

    def __init__(self, tokenizer: Any, stops: Sequence[str], holds_stop: Callable[[str], bool]) -> None:
        self.tokenizer = tokenizer
        self.holds_stop = holds_stop
        self.characters = frozenset("".join(stops)) | {"\ufffd"}
        self.every = " " in self.characters
        self.completes = _COMPLETES.setdefault(tokenizer, {}).setdefault(self.characters, {})

    def may_complete(self, token: int) -> bool:
        """Whether ``token`` can complete a stop string (its own text, decoded once, shares a character)."""
        if self.every:
            return True
        known = self.completes.get(token)
        if known is None:
            text = self.tokenizer.decode([token], skip_special_tokens=True)
            known = self.completes[token] = not self.characters.isdisjoint(text)
        return known

    def __call__(self, ids: list[int]) -> bool:
        """Whether ``ids`` (the row's generated tokens so far) hold a stop string, given that the tokens before the
        last did not."""
        return bool(ids) and self.may_complete(ids[-1]) and self.holds_stop(
            self.tokenizer.decode(ids, skip_special_tokens=True))

    def criteria(self, prompt: int) -> Any:
        """``model.generate``'s ``stopping_criteria`` from this check, for rows whose generated tokens follow the
        first ``prompt`` (0 for an encoder-decoder)."""
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList

        check = self

        class _StopAtCut(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                ended = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
                for row, ids in enumerate(input_ids[:, prompt:].tolist()):
                    ended[row] = check(ids)
                return ended

        return StoppingCriteriaList([_StopAtCut()])
