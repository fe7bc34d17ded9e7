"""The training loss of a text-to-text model, from the logits of its labelled positions only.

A transformers model given ``labels`` projects every position of every row onto the vocabulary and then
ignores the positions labelled -100: the padding after each short target and, for a decoder LM, the whole
prompt (the source). With vocabularies of 30-50k tokens that projection, its softmax and their gradients
are a large share of a training step. Here the hidden states of the labelled positions are gathered just
before the model's output layer (a forward pre-hook on ``get_output_embeddings()``, so the same code serves
BERT2BERT, BART, T5 and causal LMs, whose heads do not all take ``logits_to_keep``), and the loss is the
mean cross-entropy over them: the value the model computes itself, from fewer logits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

IGNORE = -100
"""The label of a position without a target (prompt, padding)."""


def labelled_loss(model: Any, batch: Mapping[str, Any]) -> Any:
    """The model's own loss on ``batch`` (with ``labels``), computed at the labelled positions only.

    Falls back to the model's own computation when it has no output layer to gather before, or (an
    encoder-decoder) cannot build its decoder inputs from the labels.
    """
    import torch

    inner = getattr(model, "module", model)  # `module`: under DDP
    head = inner.get_output_embeddings()
    labels = batch["labels"]
    inputs = {key: value for key, value in batch.items() if key != "labels"}
    if inner.config.is_encoder_decoder:
        prepare = getattr(inner, "prepare_decoder_input_ids_from_labels", None)
        if head is None or prepare is None:
            return model(**batch).loss
        inputs.setdefault("decoder_input_ids", prepare(labels=labels))
        keep = labels.ne(IGNORE)  # the decoder output at position t predicts labels[t]
        targets = labels[keep]
    else:
        if head is None:
            return model(**batch).loss
        following = labels[:, 1:]  # the output at position t predicts the token at t + 1
        labelled = following.ne(IGNORE)
        keep = torch.nn.functional.pad(labelled, (0, 1))
        targets = following[labelled]

    def gather(_module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
        return (args[0][keep], *args[1:])

    handle = head.register_forward_pre_hook(gather)
    try:
        logits = model(**inputs).logits
    finally:
        handle.remove()
    return torch.nn.functional.cross_entropy(logits.float(), targets)
