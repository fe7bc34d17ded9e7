"""tlzoo plugin: sentence similarity and sentence embeddings (bi-encoders). Specs only; the tasks, the
metrics and the search live in submodules."""

from __future__ import annotations

from tlzoo import Spec, hookimpl

TLZOO_API = ">=1.0,<2"

_TASKS = "tlzoo_similarity.tasks"
_METRICS = "tlzoo_similarity.metrics"
_INPUT = {"text": "str", "text_pair": "str | null"}
_OUTPUT = {"embedding": "list[float] | null", "similarity": "float | null", "hits": "list[dict[str, any]] | null"}
"""One of the three per prediction: a text's embedding, a pair's similarity, or (searching a corpus file, which
only ``tlzoo predict --corpus`` does: a server reads no files a client names) a text's hits, each
``{"index", "text", "score"}``."""


def _task(name: str, attr: str, description: str, metric: str, primary: str, sample: str, example: dict) -> Spec:
    return Spec(name, "task", f"{_TASKS}:{attr}", description,
                {"metrics": [metric], "primary": primary, "default_backbone": "minilm-l6", "model_class": "AutoModel",
                 "sample": f"tlzoo_similarity.sample:{sample}", "input": _INPUT, "output": _OUTPUT,
                 "example_inputs": [example, example["text"]], "test_options": {"epochs": 4}})


@hookimpl
def tlzoo_register(registry) -> None:
    registry.add(_task(
        "sentence-similarity", "SimilarityTask",
        "how similar two texts are (STS): a bi-encoder (mean pooling, cosine) trained with CoSENT or cosine loss; "
        "embeddings and semantic search too", "sts", "spearman", "similarity_paths",
        {"text": "a man is playing a guitar", "text_pair": "a person plays the guitar"}))
    registry.add(_task(
        "sentence-embedding", "EmbeddingTask",
        "embeddings for retrieval from pairs of related texts (query/passage, question/answer): in-batch "
        "negatives (multiple-negatives ranking loss), optional hard negatives; semantic search",
        "retrieval", "mrr@10", "embedding_paths",
        {"text": "how do I reset my password", "text_pair": "open settings and choose reset password"}))
    registry.add(Spec("sts", "metric", f"{_METRICS}:StsCorrelation",
                      "Spearman and Pearson correlation x100 of predicted and gold similarity (STS)",
                      {"primary": "spearman", "consumes": "score"}))
    registry.add(Spec("retrieval", "metric", f"{_METRICS}:Retrieval",
                      "recall@1/5/10 and MRR@10 of each query's own partner among all candidates",
                      {"primary": "mrr@10", "consumes": "rank"}))
