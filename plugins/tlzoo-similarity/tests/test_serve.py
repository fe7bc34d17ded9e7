"""``tlzoo serve`` gives an embedding model text-embeddings-inference's ``/embed`` and ``/similarity``."""

from __future__ import annotations

import math

import pytest
from tlzoo_similarity import sample

import tlzoo

pytest.importorskip("fastapi", reason="tlzoo[serve] is not installed (make install adds it)")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    from tlzoo.testing.serving import Server

    files = sample.similarity_paths()
    folder = tmp_path_factory.mktemp("serve") / "sts"
    tlzoo.train("sentence-similarity", backbone="tiny-bert", train=files["train"], output=str(folder), max_steps=2,
                quiet=True)
    server = Server([f"sts={folder}"])
    yield server, str(folder)
    server.stop()


def test_embed_and_similarity_have_tei_shapes(served) -> None:
    server, folder = served
    status, vectors = server.post("/embed", {"inputs": ["a dog runs", "a cat sleeps"]})
    assert status == 200 and len(vectors) == 2 and len(vectors[0]) == 32
    assert math.isclose(sum(x * x for x in vectors[0]), 1.0, rel_tol=1e-4)  # normalized by default
    status, raw = server.post("/models/sts/embed", {"inputs": "a dog runs", "normalize": False})
    expected = tlzoo.load(folder).predict(["a dog runs"])[0]["embedding"]
    assert status == 200 and raw[0] == pytest.approx(expected, abs=1e-5)
    status, scores = server.post("/similarity", {"inputs": {"source_sentence": "a dog runs",
                                                            "sentences": ["a dog runs", "a cat sleeps"]}})
    assert status == 200 and len(scores) == 2 and scores[0] == pytest.approx(1.0, abs=1e-5)
    status, predicted = server.post("/predict", {"inputs": ["a dog runs", ["a", "b"]]})
    assert status == 200 and set(predicted[0]) == {"embedding", "truncated"}
    assert set(predicted[1]) == {"similarity", "truncated"}


def test_bad_vector_requests_are_one_line_422s(served) -> None:
    server, _ = served
    status, error = server.post("/embed", {"inputs": [1, 2]})
    assert status == 422 and "inputs[0]" in error["error"]
    status, error = server.post("/similarity", {"inputs": {"source_sentence": "a"}})
    assert status == 422 and "sentences" in error["error"]
