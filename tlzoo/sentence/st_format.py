"""The files that make a model folder a sentence-transformers model as well: ``SentenceTransformer(DIR)``
reads ``modules.json`` (a Transformer module at the folder's root, where ``save_pretrained`` wrote the
encoder and the tokenizer, then a Pooling module), ``1_Pooling/config.json`` and ``sentence_bert_config.json``.
No torch here."""

from __future__ import annotations

import json

POOLING_FOLDER = "1_Pooling"


def sentence_transformers_files(pooling: str, dimension: int, max_length: int) -> dict[str, str]:
    """Relative path -> JSON text of each file, for an encoder of ``dimension`` with ``pooling``."""
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": POOLING_FOLDER, "type": "sentence_transformers.models.Pooling"}]
    config = {"word_embedding_dimension": dimension, "pooling_mode_cls_token": pooling == "cls",
              "pooling_mode_mean_tokens": pooling == "mean", "pooling_mode_max_tokens": pooling == "max",
              "pooling_mode_mean_sqrt_len_tokens": False}
    return {"modules.json": json.dumps(modules, indent=2),
            f"{POOLING_FOLDER}/config.json": json.dumps(config, indent=2),
            "sentence_bert_config.json": json.dumps({"max_seq_length": max_length, "do_lower_case": False}, indent=2),
            "config_sentence_transformers.json": json.dumps({"similarity_fn_name": "cosine"}, indent=2)}
