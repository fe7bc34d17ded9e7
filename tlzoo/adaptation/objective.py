"""The pre-training objective as a task the engine trains: masked LM for encoders, causal LM for decoders.

Texts are tokenised and grouped into full ``max_length`` chunks (``line_by_line``: one row per document,
cut to ``max_length``). Training chunks are masked by the collator from torch's global generator, so the
masks are drawn anew each epoch and a resumed run (whose checkpoint restored that generator) draws the
same ones. Held-out chunks carry a ``mask_seed`` derived from their tokens and are masked with it, so
every evaluation (perplexity before, during and after) scores the same masked tokens.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from tlzoo.api import TlzooError
from tlzoo.task import BaseTask, Built, ForwardContext, TaskOptions

MASK_SEED = "mask_seed"
HELD_OUT = "held_out"
"""A column of the held-out examples: their chunks are masked with a fixed seed."""
OBJECTIVES = {"encoder": ("mlm", "AutoModelForMaskedLM", "masked-LM"),
              "decoder": ("clm", "AutoModelForCausalLM", "causal-LM")}
"""Backbone kind -> (objective, transformers auto class, head name)."""


@dataclasses.dataclass
class AdaptOptions(TaskOptions):
    """What ``tlzoo adapt`` adds to the engine's options (saved in ``run_config.json``, so a run resumes)."""

    corpus: list[str] = dataclasses.field(default_factory=list)
    text_column: str | None = None
    from_task: str | None = None
    data: str | None = None
    line_by_line: bool = False
    whole_word_masking: bool = False
    mlm_probability: float = 0.15
    held_out: float = 0.05


class LanguageModelling(BaseTask):
    """Continued pre-training of a backbone: no labels, the loss of the backbone's own LM head."""

    name = "adapt"
    model_class = "AutoModelForMaskedLM"
    options_class = AdaptOptions
    primary_metric = "perplexity"
    greater_is_better = False
    evaluation_loss = True
    feature_columns = (MASK_SEED, "special_tokens_mask", "offset_mapping")
    default_hparams: ClassVar[Mapping[str, Any]] = {"learning_rate": 1e-4}
    options: AdaptOptions

    def build_model(self, backbone: Any, state: Mapping[str, Any]) -> Built:
        kind = getattr(backbone, "kind", "encoder")
        if kind not in OBJECTIVES:
            raise TlzooError(f"backbone {backbone.name} is an {kind} model; tlzoo adapt trains an encoder with a "
                             f"masked-LM head or a decoder with a causal-LM head")
        objective, auto_class, head = OBJECTIVES[kind]
        try:
            model = backbone.build_model(auto_class)
        except (ValueError, KeyError) as exc:
            raise TlzooError(f"backbone {backbone.name} has no {head} head in transformers ({auto_class}: "
                             f"{str(exc).splitlines()[0]}); tlzoo adapt needs one for a {kind}") from None
        self.model_class = auto_class  # type: ignore[misc]  # the manifest records the class trained
        return Built(model, {"objective": objective, "carried_over": _carry_pooler(model, backbone)})

    def preprocess(self, examples: Mapping[str, list], tokenizer: Any, state: Mapping[str, Any],
                   max_length: int, training: bool) -> dict[str, list]:
        mlm = state["objective"] == "mlm"
        whole_words = mlm and self.options.whole_word_masking
        by_line = self.options.line_by_line
        encoded = tokenizer(list(examples["text"]), return_special_tokens_mask=mlm,
                            return_offsets_mapping=whole_words, truncation=by_line,
                            max_length=max_length if by_line else None, verbose=False)
        keys = ["input_ids", *(["special_tokens_mask"] if mlm else []), *(["offset_mapping"] if whole_words else [])]
        rows = {key: [list(map(_plain, value)) for value in encoded[key]] for key in keys}
        if not mlm and tokenizer.eos_token_id is not None and not by_line:
            rows["input_ids"] = [ids + [tokenizer.eos_token_id] for ids in rows["input_ids"]]  # documents end
        held_out = HELD_OUT in examples
        chunks = rows if by_line else _group(rows, max_length, keep_rest=held_out)
        chunks["attention_mask"] = [[1] * len(ids) for ids in chunks["input_ids"]]
        if held_out and mlm:
            chunks[MASK_SEED] = [zlib.crc32(",".join(map(str, ids)).encode()) for ids in chunks["input_ids"]]
        return chunks

    def collator(self, tokenizer: Any, model: Any) -> Any:
        from tlzoo.adaptation.collate import LanguageModellingCollator

        mlm = self.model_class == OBJECTIVES["encoder"][1]
        return LanguageModellingCollator(tokenizer, mlm, self.options.mlm_probability,
                                         mlm and self.options.whole_word_masking)

    def loss(self, model: Any, batch: Mapping[str, Any]) -> Any:
        """The model's own LM loss; for a masked-LM model with one head module (BERT's ``cls``, RoBERTa's
        ``lm_head``) the head runs on the masked positions only: the same loss, without the vocabulary-wide
        logits of the other 85% of the tokens, which cost as much as the encoder itself on a small backbone."""
        head = _masked_lm_head(model) if self.model_class == OBJECTIVES["encoder"][1] else None
        if head is None:
            return model(**batch).loss
        import torch

        labels = batch["labels"]
        hidden = getattr(model, model.base_model_prefix)(**{k: v for k, v in batch.items() if k != "labels"})[0]
        chosen = labels != -100
        if not chosen.any():
            return hidden.sum() * 0.0
        return torch.nn.functional.cross_entropy(head(hidden[chosen]).float(), labels[chosen])

    def forward(self, model: Any, batch: Mapping[str, Any], context: ForwardContext) -> list[Any]:
        """Nothing per row: the evaluation is the held-out loss (:attr:`evaluation_loss`)."""
        return [None] * len(batch["input_ids"])

    def postprocess(self, outputs: Sequence[Any], features: Any, examples: Any,
                    state: Mapping[str, Any]) -> list[Any]:
        return [None] * len(examples)

    def references(self, examples: Any, state: Mapping[str, Any]) -> list[Any]:
        return [None] * len(examples)


def _masked_lm_head(model: Any) -> Any:
    """The model's one module besides its base model (the LM head), or ``None`` when it has several or is wrapped
    (DDP, adapters): then the model's own forward computes the loss."""
    prefix = getattr(model, "base_model_prefix", "")
    children = dict(model.named_children())
    if prefix not in children:
        return None
    others = [module for name, module in children.items() if name != prefix]
    return others[0] if len(others) == 1 else None


def _carry_pooler(model: Any, backbone: Any) -> list[str]:
    """Give the LM model the base's pooler when its LM class leaves it out (BERT's masked-LM model has none): the
    pooler is not trained here, but saved with the adapted backbone, so a classifier fine-tuned on it starts from
    the same pooler as one fine-tuned on the base."""
    inner = getattr(model, getattr(model, "base_model_prefix", ""), None)
    if inner is None or not hasattr(inner, "pooler") or inner.pooler is not None:
        return []
    base = backbone.build_model("AutoModel")
    if getattr(base, "pooler", None) is None:
        return []
    inner.pooler = base.pooler
    return ["pooler"]


def _plain(value: Any) -> Any:
    """An offset pair as a list (Arrow stores lists, not tuples); other values as they are."""
    return list(value) if isinstance(value, tuple) else value


def _group(rows: dict[str, list[list[Any]]], size: int, keep_rest: bool) -> dict[str, list[list[Any]]]:
    """The documents' tokens concatenated and cut into ``size``-token chunks; the last, shorter piece is dropped
    (kept with ``keep_rest``: the held-out text is scored whole)."""
    joined = {key: [item for row in values for item in row] for key, values in rows.items()}
    total = len(joined["input_ids"])
    end = total if keep_rest else total - total % size
    return {key: [values[i:i + size] for i in range(0, end, size) if end - i > 1 or not keep_rest]
            for key, values in joined.items()}
