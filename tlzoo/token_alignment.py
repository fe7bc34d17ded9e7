"""Words <-> sub-tokens for token-level tasks: windows over long sentences, label alignment, the
forward pass, and stitching windows back. Shared by the ``ner`` plugin and the ``tlzoo new --task-kind
token`` skeleton: a task tokenises with :func:`encode_windows`, labels with :func:`align_labels`,
runs :func:`subtoken_probabilities` and reads one label per word with :func:`stitch`.

A sentence whose sub-tokens do not fit ``max_length`` is cut into windows at word boundaries, each
overlapping the previous one by up to a quarter of the window, so no word is ever dropped (only a
single word longer than a whole window loses its tail sub-tokens; its first one, which carries its
label, stays). After the forward pass each word takes its prediction from the window in which it
sits farthest from an edge, where it saw the most context.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tlzoo.api import TlzooError

IGNORE = -100
"""Label of sub-tokens that carry no word label (specials, continuations): the loss skips them."""
NO_WORD = -1
"""``word_ids`` entry of a special token."""


def word_windows(counts: Sequence[int], budget: int, overlap: int) -> list[tuple[int, int]]:
    """Word ranges ``[start, end)`` covering every word, each holding at most ``budget`` sub-tokens.

    Consecutive windows share trailing words worth at most ``overlap`` sub-tokens, never so many that
    the next window could not take a new word. A window always holds at least one word.
    """
    n = len(counts)
    if n == 0:
        return [(0, 0)]
    windows: list[tuple[int, int]] = []
    start = 0
    while True:
        end, used = start, 0
        while end < n and (end == start or used + counts[end] <= budget):
            used += counts[end]
            end += 1
        windows.append((start, end))
        if end == n:
            return windows
        room = min(overlap, budget - counts[end])
        start, kept = end, 0
        while start - 1 > windows[-1][0] and kept + counts[start - 1] <= room:
            start -= 1
            kept += counts[start]


def encode_windows(sentences: Sequence[Sequence[str]], tokenizer: Any, max_length: int) -> dict[str, list]:
    """Tokenise pre-split sentences into windows of at most ``max_length`` sub-tokens (specials included).

    Returns the tokenizer's columns plus ``word_ids`` (the absolute word index of each sub-token,
    :data:`NO_WORD` for specials) and ``sentence`` (which input sentence each window comes from).
    """
    if not getattr(tokenizer, "is_fast", False):
        raise TlzooError(f"token classification needs a fast tokenizer (word alignment); "
                         f"{type(tokenizer).__name__} is not one")
    budget = max_length - tokenizer.num_special_tokens_to_add()
    if budget < 1:
        raise TlzooError(f"max_length {max_length} leaves no room for words next to the special tokens")
    plain = tokenizer([list(s) for s in sentences], is_split_into_words=True, add_special_tokens=False,
                      verbose=False)
    pieces: list[list[str]] = []
    origin: list[tuple[int, int]] = []
    for index, words in enumerate(sentences):
        counts = [0] * len(words)
        for word in plain.word_ids(index):
            if word is not None:
                counts[word] += 1
        for start, end in word_windows(counts, budget, budget // 4):
            pieces.append(list(words[start:end]))
            origin.append((index, start))
    encoded = tokenizer(pieces, is_split_into_words=True, truncation=True, max_length=max_length)
    columns = {key: list(values) for key, values in encoded.items()}
    columns["word_ids"] = [[NO_WORD if w is None else w + start for w in encoded.word_ids(i)]
                           for i, (_, start) in enumerate(origin)]
    columns["sentence"] = [index for index, _ in origin]
    return columns


def align_labels(word_ids: Sequence[int], word_labels: Sequence[int],
                 continuation: Mapping[int, int] | None) -> list[int]:
    """One label per sub-token: the word's label on its first sub-token; on the others the label
    ``continuation`` maps it to (labelling all sub-tokens), or :data:`IGNORE` when it is None."""
    labels = []
    previous = NO_WORD
    for word in word_ids:
        if word == NO_WORD:
            labels.append(IGNORE)
        elif word != previous:
            labels.append(word_labels[word])
        else:
            labels.append(IGNORE if continuation is None else continuation[word_labels[word]])
        previous = word
    return labels


def subtoken_probabilities(model: Any, batch: Mapping[str, Any]) -> list[np.ndarray]:
    """Label probabilities of each row's real sub-tokens (padding dropped, whichever side it is on):
    a token task's ``forward``."""
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    probs = model(**inputs).logits.float().softmax(-1)
    mask = batch.get("attention_mask")
    if mask is None:
        return list(probs.cpu().numpy())
    return [row[keep].cpu().numpy() for row, keep in zip(probs, mask.bool())]


def stitch(outputs: Sequence[np.ndarray], word_ids: Sequence[Sequence[int]], rows: Sequence[int],
           lengths: Sequence[int]) -> list[tuple[list[int], list[float]]]:
    """Per sentence, each word's label index and probability from its first sub-token.

    ``outputs[i]`` holds the label probabilities of feature i's real (unpadded) sub-tokens,
    ``rows[i]`` the sentence it belongs to and ``lengths`` the word count of each sentence. A word
    seen by several windows takes the one where it is farthest from an edge; a word with no
    sub-token at all (the tokenizer dropped it) gets label index -1.
    """
    labels = [[-1] * n for n in lengths]
    scores = [[0.0] * n for n in lengths]
    margin = [[-1] * n for n in lengths]
    for probs, ids, row in zip(outputs, word_ids, rows):
        if len(probs) != len(ids):
            raise ValueError(f"{len(probs)} outputs for a window of {len(ids)} sub-tokens")
        present = [w for w in ids if w != NO_WORD]
        if not present:
            continue
        first, last = present[0], present[-1]
        best = probs.argmax(-1)
        previous = NO_WORD
        for position, word in enumerate(ids):
            if word == NO_WORD or word == previous:
                continue
            previous = word
            distance = min(word - first, last - word)
            if distance > margin[row][word]:
                margin[row][word] = distance
                labels[row][word] = int(best[position])
                scores[row][word] = float(probs[position, best[position]])
    return list(zip(labels, scores))
