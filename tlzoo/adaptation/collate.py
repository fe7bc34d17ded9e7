"""Batches of language-modelling chunks: padded, then masked (MLM, with transformers' masking) or shifted by
the model itself (CLM: the labels are the inputs)."""

from __future__ import annotations

from typing import Any

import torch

from tlzoo.adaptation.objective import MASK_SEED


class LanguageModellingCollator:
    """Pads rows and builds ``labels``; MLM rows are masked 80/10/10 (whole words: all ``[MASK]``) with
    transformers' :class:`DataCollatorForLanguageModeling`.

    Rows with a ``mask_seed`` (held-out text) are masked each with a generator of that seed, whatever batch
    they fall in; the others from torch's global generator, which checkpoints save and restore.
    """

    def __init__(self, tokenizer: Any, mlm: bool, mlm_probability: float, whole_words: bool) -> None:
        from transformers import DataCollatorForLanguageModeling

        self.mlm, self.whole_words = mlm, whole_words
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        self.pad_id = pad if pad is not None else 0
        replace = (1.0, 0.0) if whole_words else (0.8, 0.1)  # transformers masks whole words with [MASK] only
        self.masker = DataCollatorForLanguageModeling(
            tokenizer, mlm=True, whole_word_mask=whole_words, mlm_probability=mlm_probability,
            mask_replace_prob=replace[0], random_replace_prob=replace[1]) if mlm else None

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        width = max(len(row["input_ids"]) for row in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(rows), width), dtype=torch.long)
        special = torch.ones((len(rows), width), dtype=torch.long)  # padding is never masked
        offsets = torch.zeros((len(rows), width, 2), dtype=torch.long)
        for i, row in enumerate(rows):
            length = len(row["input_ids"])
            ids[i, :length] = torch.as_tensor(row["input_ids"])
            attention[i, :length] = 1
            if "special_tokens_mask" in row:
                special[i, :length] = torch.as_tensor(row["special_tokens_mask"])
            if self.whole_words:
                offsets[i, :length] = torch.as_tensor(row["offset_mapping"]).reshape(length, 2)
        if not self.mlm:
            labels = ids.clone()
            labels[attention == 0] = -100
            return {"input_ids": ids, "attention_mask": attention, "labels": labels}
        seeds = [row.get(MASK_SEED) for row in rows]
        if seeds[0] is None:
            ids, labels = self._mask(ids, special, offsets, None)
        else:
            parts = [self._mask(ids[i:i + 1], special[i:i + 1], offsets[i:i + 1],
                                torch.Generator().manual_seed(int(seed))) for i, seed in enumerate(seeds)]
            ids, labels = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
        return {"input_ids": ids, "attention_mask": attention, "labels": labels}

    def _mask(self, ids: torch.Tensor, special: torch.Tensor, offsets: torch.Tensor,
              generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
        assert self.masker is not None
        self.masker.generator = generator
        try:
            return self.masker.torch_mask_tokens(ids.clone(), special_tokens_mask=special,
                                                 offset_mapping=offsets if self.whole_words else None)
        finally:
            self.masker.generator = None
