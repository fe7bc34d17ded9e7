"""Semantic search over a corpus file: the prediction option ``corpus`` (``tlzoo predict DIR --corpus FILE
--text QUERY --top-k 5``).

The corpus is embedded once and cached next to it as ``FILE.<key>.embeddings.npy``, where the key hashes
the corpus bytes, the model's weights, the pooling and the token limit: editing the corpus or using another
model embeds it again; a folder that cannot be written to just goes without the cache.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from tlzoo.api import TlzooError
from tlzoo.task import ForwardContext

logger = logging.getLogger("tlzoo")
BATCH = 64
_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""model -> (corpus file state, pooling, max_length), texts and unit vectors: the last corpus searched with it,
for the next batches of the same call (and the next calls)."""


def search(model: Any, context: ForwardContext, queries: np.ndarray) -> list[dict[str, Any]]:
    """The ``top_k`` corpus texts closest (cosine) to each query vector, best first."""
    options = context.options
    if options.top_k < 1:
        raise TlzooError(f"--top-k must be at least 1, not {options.top_k}")
    texts, vectors = corpus_vectors(model, context, options.corpus)
    scores = _unit(queries) @ vectors.T
    k = min(options.top_k, len(texts))
    hits = []
    for row in scores:
        best = np.argsort(-row, kind="stable")[:k]
        hits.append({"hits": [{"index": int(i), "text": texts[i], "score": float(row[i])} for i in best]})
    return hits


def corpus_vectors(model: Any, context: ForwardContext, corpus: str) -> tuple[list[str], np.ndarray]:
    from tlzoo.data.inputs import InputFields, read_inputs

    path = Path(corpus)
    if not path.is_file():
        raise TlzooError(f"--corpus {corpus}: no such file; expected a file of texts (.txt one per line, or "
                         f".csv/.tsv/.jsonl with a text column)")
    stat = path.stat()
    memo_key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, context.options.pooling, context.max_length)
    remembered = _MEMO.get(model)
    if remembered is not None and remembered[0] == memo_key:
        return remembered[1], remembered[2]
    texts = [item if isinstance(item, str) else str(item.get("text", ""))
             for item in read_inputs(corpus, InputFields())]
    digest = hashlib.sha256(path.read_bytes())
    digest.update(model_fingerprint(model).encode())
    digest.update(f"{context.options.pooling}:{context.max_length}".encode())
    cache = path.with_name(f"{path.name}.{digest.hexdigest()[:16]}.embeddings.npy")
    if cache.is_file():
        vectors = np.load(cache)
    else:
        vectors = _unit(embed_texts(model, context, texts))
        _save(cache, vectors)
    _MEMO[model] = (memo_key, texts, vectors)
    return texts, vectors


def model_fingerprint(model: Any) -> str:
    """A hash of every weight (about 0.1 s for a 22M-parameter model)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()


def embed_texts(model: Any, context: ForwardContext, texts: list[str]) -> np.ndarray:
    """Pooled embeddings of ``texts``, longest first in batches, returned in order."""
    from tlzoo.sentence.collate import GroupCollator
    from tlzoo.sentence.pooling import embed

    tokenizer, collator = context.tokenizer, GroupCollator(context.tokenizer)
    device = next(model.parameters()).device
    limit = context.max_length or 512
    encoded = tokenizer(texts, truncation=True, max_length=limit)
    rows = [{name: encoded[name][i] for name in encoded} for i in range(len(texts))]
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i]["input_ids"]))
    vectors = np.zeros((len(rows), model.config.hidden_size), dtype=np.float32)
    for start in range(0, len(order), BATCH):
        chosen = order[start:start + BATCH]
        batch = {k: v.to(device) for k, v in collator([rows[i] for i in chosen]).items()}
        vectors[chosen] = embed(model, batch, "", context.options.pooling).float().cpu().numpy()
    return vectors


def _save(cache: Path, vectors: np.ndarray) -> None:
    try:
        handle, temporary = tempfile.mkstemp(dir=cache.parent, prefix=f".{cache.name}.", suffix=".npy")
        with os.fdopen(handle, "wb") as stream:
            np.save(stream, vectors)
        os.replace(temporary, cache)
    except OSError as exc:
        logger.warning("corpus embeddings not cached (%s); they will be computed again next time", exc)


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)
