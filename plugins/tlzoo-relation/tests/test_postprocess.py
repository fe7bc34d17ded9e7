"""Post-processing reads each column of the examples once, not once per example."""

from __future__ import annotations

import datasets
from tlzoo_relation.task import RelationTask

from tlzoo.testing.arrow import counted_reads


def test_postprocess_reads_each_column_once() -> None:
    """Indexing a ``datasets`` column row by row reads the Arrow table once per row (the slow pattern fixed in NER);
    the predictions, an input's error included, are the same whichever way the columns are read."""
    task = RelationTask({})
    inputs = ["<e1>Anna</e1> met <e2>Bob</e2> .", "no entities here"] * 30
    examples = datasets.Dataset.from_dict(task.inputs_to_examples(inputs).columns)
    state = {"labels": ["Other", "Meet(e1,e2)"], "negative": "Other"}
    outputs = [[0.0, 1.0] if i % 2 == 0 else [0.0, 0.0] for i in range(len(inputs))]
    with counted_reads() as reads:
        predictions = task.postprocess(outputs, None, examples, state)
    assert len(reads) <= 10
    assert [p["label"] for p in predictions[:2]] == ["Meet(e1,e2)", None]
    assert [p["relation"] for p in predictions[:2]] == ["Meet", None]
    assert predictions[0]["entities"] == {"e1": "Anna", "e2": "Bob"}
    assert predictions[1]["error"] == examples[1]["error"] and predictions[1]["error"]
    assert predictions == task.postprocess(outputs, None, task.inputs_to_examples(inputs), state)
