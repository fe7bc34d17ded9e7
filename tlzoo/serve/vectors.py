"""Text-embeddings-inference-shaped endpoints for models whose predictions are vectors and similarities.

A task that declares an ``embedding`` output gets ``POST .../embed`` (``{"inputs": "text" | [texts],
"normalize": true}`` -> one vector per text, a list of lists as TEI answers); one that declares a
``similarity`` output and takes text pairs gets ``POST .../similarity`` (``{"inputs": {"source_sentence": s,
"sentences": [...]}}`` -> one score per sentence). Both run through the model's batcher like ``/predict``.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Header
from pydantic import BaseModel, ConfigDict, Field

VECTOR_ENDPOINTS = ("/embed", "/similarity")
VECTOR_FIELDS = {"inputs", "normalize", "truncate", "source_sentence", "sentences"}
"""The field names of these requests, for validation messages."""

Answer = Callable[[Any, list[Any]], Awaitable[tuple[list[dict[str, Any]], list[bool]]]]


class EmbedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: str | list[str] = Field(description="One text or a list of texts.")
    normalize: bool = Field(True, description="Scale each vector to unit length (TEI's default).")
    truncate: bool = Field(True, description="Accepted for TEI clients: texts are always cut to the model's limit.")


class SimilarityInputs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source_sentence: str
    sentences: list[str]


class SimilarityRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inputs: SimilarityInputs


def add_vector_routes(app: FastAPI, model: Any, prefix: str, answer: Answer,
                      check: Callable[[str | None], None]) -> None:
    """``prefix``/embed and ``prefix``/similarity for ``model``, as far as its task's declared output has them."""
    output = model.schema.output
    task = model.manifest.get("task")
    if "embedding" in output:
        async def embed(body: EmbedRequest, authorization: str | None = Header(None)) -> list[list[float]]:
            check(authorization)
            texts = [body.inputs] if isinstance(body.inputs, str) else list(body.inputs)
            predictions, _ = await answer(model, texts)
            vectors = [p["embedding"] for p in predictions]
            return [_unit(v) for v in vectors] if body.normalize else vectors

        embed.__name__ = f"embed_{model.name}{prefix == '' and '_default' or ''}".replace("-", "_").replace(".", "_")
        app.post(f"{prefix}/embed", summary=f"Embeddings from {model.name} ({task}), as TEI's /embed")(embed)
    if "similarity" in output and "text_pair" in model.schema.fields.names:
        async def similarity(body: SimilarityRequest, authorization: str | None = Header(None)) -> list[float]:
            check(authorization)
            pairs = [{"text": body.inputs.source_sentence, "text_pair": s} for s in body.inputs.sentences]
            predictions, _ = await answer(model, pairs) if pairs else ([], [])
            return [p["similarity"] for p in predictions]

        similarity.__name__ = f"similarity_{model.name}{prefix == '' and '_default' or ''}".replace(
            "-", "_").replace(".", "_")
        app.post(f"{prefix}/similarity", summary=f"Similarity of one sentence to others with {model.name} ({task}), "
                                                 f"as TEI's /similarity")(similarity)


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]
