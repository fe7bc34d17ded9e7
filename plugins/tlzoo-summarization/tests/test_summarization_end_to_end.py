"""Summarization preprocessing and a train / load / summarise round trip on tiny backbones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tlzoo_summarization.sample import paths
from tlzoo_summarization.task import SummarizationTask

import tlzoo
from tlzoo.backbones.resolve import resolve_backbone
from tlzoo.testing import torch_threads

FAST = {"max_steps": 6, "learning_rate": 1e-3, "batch_size": 8, "eval_batch_size": 32, "quiet": True,
        "seed": 0, "warmup_ratio": 0.0, "max_new_tokens": 8}


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    with torch_threads(1):
        yield


def prepared(backbone: str) -> tuple[SummarizationTask, Any, dict]:
    task = SummarizationTask()
    built = resolve_backbone(backbone)
    state = dict(task.build_model(built, {}).facts)
    return task, built.load_tokenizer(), state


def test_decoder_prompt_and_target_only_loss() -> None:
    task, tokenizer, state = prepared("tiny-gpt")
    examples = {"source": ["the city council met on monday"], "target": ["council met"]}
    features = task.preprocess(examples, tokenizer, state, 64, True)
    labels = features["labels"][0]
    prompt_length = labels.count(-100)
    assert tokenizer.decode(features["input_ids"][0][:prompt_length]) == \
        "summarize : the city council met on monday summary :"
    assert tokenizer.decode(labels[prompt_length:]) == "council met [SEP]"


def test_long_documents_are_truncated_and_flagged(caplog: pytest.LogCaptureFixture) -> None:
    from datasets import Dataset

    from tlzoo.engine.data import tokenize

    task, tokenizer, state = prepared("tiny-bart")
    documents = Dataset.from_dict({"source": ["the city " * 200, "short"], "target": ["a", "b"],
                                   "references": [["a"], ["b"]]})
    with caplog.at_level("WARNING", logger="tlzoo"):
        features = tokenize(task, documents, tokenizer, state, 32, True, "tokenising train")
    assert features["truncated"] == [True, False] and len(features["input_ids"][0]) == 32
    assert "1 of 2 examples were longer than max_length=32" in caplog.text


@pytest.mark.parametrize("backbone", ["tiny-gpt", "tiny-bart"])
def test_train_load_summarise(tmp_path: Path, backbone: str) -> None:
    sample = paths()
    validation = tmp_path / "validation.jsonl"  # SciTLDR-like: several reference summaries per document
    rows = [json.loads(line) for line in Path(sample["validation"]).read_text().splitlines()][:8]
    validation.write_text("".join(json.dumps({"source": [r["document"]], "target": [r["summary"], "other"]})
                                  + "\n" for r in rows))
    result = tlzoo.train("summarization", backbone=backbone, train=sample["train"], validation=str(validation),
                         output=str(tmp_path / "run"), **FAST)
    metrics = result.metrics["validation"]
    assert {"rouge1", "rouge2", "rougeL", "rougeLsum", "gen_len", "distinct"} <= set(metrics)

    model = tlzoo.load(result.output_dir)
    assert model.evaluate(str(validation)) == metrics
    summaries = model.predict([{"document": rows[0]["document"]}, "A short text."])
    assert [set(s) for s in summaries] == [{"summary"}, {"summary"}]
    written = (Path(result.output_dir) / "evaluation" / "validation" / "predictions.jsonl").read_text()
    assert json.loads(written.splitlines()[0])["references"] == [rows[0]["summary"], "other"]
