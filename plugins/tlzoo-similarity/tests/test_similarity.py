"""The two tasks train, predict (similarity, embedding, npy, corpus search) through the real CLI, load with
sentence-transformers with the same embeddings, and reject bad data with one line naming file and row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tlzoo_similarity import sample

import tlzoo
from tlzoo.api import TlzooError

FAST = {"backbone": "tiny-bert", "quiet": True, "seed": 0, "learning_rate": 1e-3, "batch_size": 16,
        "warmup_ratio": 0.0}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tlzoo", *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def sts_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    files = sample.similarity_paths()
    output = tmp_path_factory.mktemp("sts") / "model"
    result = cli("train", "sentence-similarity", "--train", files["train"], "--validation", files["validation"],
                 "--output", str(output), "--max-steps", "8", "--backbone", "tiny-bert", "--learning-rate", "1e-3",
                 "--batch-size", "16", "--quiet")
    assert result.returncode == 0, result.stderr
    return str(output)


def test_similarity_trains_and_reports_spearman_and_pearson_x100(sts_model: str) -> None:
    manifest = json.loads((Path(sts_model) / "tlzoo.json").read_text())
    validation = manifest["metrics"]["validation"]
    assert set(validation) == {"spearman", "pearson"} and -100 <= validation["spearman"] <= 100
    assert manifest["state"] == {"pooling": "mean", "dimension": 32}
    assert abs(validation["spearman"]) > 1  # x100, not a fraction


def test_predict_similarity_embedding_and_npy(sts_model: str, tmp_path: Path) -> None:
    pair = cli("predict", sts_model, "--text", "a man is cooking", "--text-pair", "a man is cooking")
    assert pair.returncode == 0, pair.stderr
    assert json.loads(pair.stdout) == {"similarity": pytest.approx(1.0, abs=1e-5)}
    single = cli("predict", sts_model, "--text", "a man is cooking")
    assert len(json.loads(single.stdout)["embedding"]) == 32
    target = tmp_path / "out" / "vectors.npy"
    written = cli("predict", sts_model, "--text", "one", "--text", "two", "--text", "three", "--format", "npy",
                  "--output", str(target))
    assert written.returncode == 0, written.stderr
    vectors = np.load(target)
    assert vectors.shape == (3, 32) and vectors.dtype == np.float32
    first = json.loads(cli("predict", sts_model, "--text", "one").stdout)["embedding"]
    assert np.allclose(vectors[0], first, atol=1e-5)


def test_npy_needs_an_output_file_and_one_vector_per_prediction(sts_model: str, tmp_path: Path) -> None:
    no_file = cli("predict", sts_model, "--text", "a", "--format", "npy")
    assert no_file.returncode != 0 and "--format npy writes a binary array: pass --output FILE.npy" in no_file.stderr
    pairs = cli("predict", sts_model, "--text", "a", "--text-pair", "b", "--format", "npy",
                "--output", str(tmp_path / "x.npy"))
    assert pairs.returncode != 0 and "--format npy needs one vector per prediction" in pairs.stderr
    assert not (tmp_path / "x.npy").exists()


def test_semantic_search_over_a_corpus_caches_its_embeddings(sts_model: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a dog is running in a park\na chef is cooking rice\na man is cooking pasta\n")
    args = ["predict", sts_model, "--corpus", str(corpus), "--text", "a chef is cooking rice", "--top-k", "2"]
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    hits = json.loads(first.stdout)["hits"]
    assert len(hits) == 2 and hits[0] == {"index": 1, "text": "a chef is cooking rice", "score": pytest.approx(1.0)}
    assert hits[0]["score"] >= hits[1]["score"]
    caches = list(tmp_path.glob("corpus.txt.*.embeddings.npy"))
    assert len(caches) == 1 and np.load(caches[0]).shape == (3, 32)
    stamp = caches[0].stat().st_mtime_ns
    again = cli(*args)
    assert json.loads(again.stdout) == json.loads(first.stdout) and caches[0].stat().st_mtime_ns == stamp  # reused
    corpus.write_text("a chef is cooking rice\n")  # another corpus: another key
    assert json.loads(cli(*args).stdout)["hits"][0]["index"] == 0
    assert len(list(tmp_path.glob("corpus.txt.*.embeddings.npy"))) == 2
    missing = cli("predict", sts_model, "--corpus", str(tmp_path / "nope.txt"), "--text", "q")
    assert missing.returncode != 0 and "nope.txt: no such file" in missing.stderr


def test_the_folder_loads_with_sentence_transformers_with_the_same_embeddings(sts_model: str) -> None:
    sentence_transformers = pytest.importorskip("sentence_transformers")
    texts = ["a man is playing a guitar", "a chef cooks rice in a very large kitchen", ""]
    theirs = sentence_transformers.SentenceTransformer(sts_model, device="cpu").encode(texts)
    ours = np.asarray([p["embedding"] for p in tlzoo.load(sts_model).predict(texts)])
    assert theirs.shape == ours.shape == (3, 32)
    assert np.allclose(theirs, ours, atol=1e-5)


def test_embedding_task_with_hard_negatives_reports_retrieval_metrics(tmp_path: Path) -> None:
    files = sample.embedding_paths()
    result = tlzoo.train("sentence-embedding", train=files["train"], validation=files["validation"],
                         output=str(tmp_path / "emb"), max_steps=4, **FAST)
    validation = result.metrics["validation"]
    assert set(validation) == {"recall@1", "recall@5", "recall@10", "mrr@10"}
    assert 0 <= validation["recall@1"] <= validation["recall@5"] <= validation["recall@10"] <= 1
    model = tlzoo.load(result.output_dir)
    similarity = model.predict([{"text": "how do I reset my password", "text_pair": "how do I reset my password"}])
    assert similarity[0]["similarity"] == pytest.approx(1.0, abs=1e-5)


def test_retrieval_ranks_and_metrics() -> None:
    from tlzoo_similarity.metrics import Retrieval
    from tlzoo_similarity.tasks import EmbeddingTask

    vectors = [(np.array([1.0, 0.0]), np.array([0.0, 1.0])),   # its partner is the farthest of the three
               (np.array([0.0, 1.0]), np.array([1.0, 0.1])),
               (np.array([1.0, 1.0]), np.array([1.0, 1.0]))]
    ranks, references = EmbeddingTask().metric_inputs([{"vectors": v} for v in vectors], [0, 1, 2], {})
    assert ranks == [3, 3, 1]
    scores = Retrieval().compute([1, 3, 12, 5], [0, 1, 2, 3])
    assert scores == {"recall@1": 0.25, "recall@5": 0.75, "recall@10": 0.75,
                      "mrr@10": pytest.approx((1 + 1 / 3 + 0 + 1 / 5) / 4)}


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(("content", "options", "message"), [
    ("sentence1\tsentence2\tscore\na\tb\t0.5\nc\td\t7\n", {},
     "sts.tsv, line 3: score 7 is outside [0, 1] (set --max-score to the scale's top"),
    ("sentence1\tsentence2\tscore\na\tb\thigh\n", {"max_score": 5}, "sts.tsv, line 2: score 'high' is not a number"),
    ("sentence1\tscore\na\t0.5\n", {}, "sts.tsv: no second text column found"),
    ("sentence1\tsentence2\na\tb\n", {}, "sts.tsv: no score column found"),
    ("sentence1\tsentence2\tscore\na\tb\t0.5\n", {"pooling": "median"}, "--pooling 'median': expected one of mean"),
    ("sentence1\tsentence2\tscore\na\tb\t0.5\n", {"loss": "mse"}, "--loss 'mse': expected one of cosent, cosine"),
])
def test_bad_similarity_data_is_one_line_naming_the_row(tmp_path: Path, content: str, options: dict,
                                                        message: str) -> None:
    path = _write(tmp_path, "sts.tsv", content)
    with pytest.raises(TlzooError, match=None) as caught:
        tlzoo.train("sentence-similarity", train=path, output=str(tmp_path / "out"), max_steps=1, **options, **FAST)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_prediction_inputs_may_mix_texts_and_pairs(sts_model: str) -> None:
    model = tlzoo.load(sts_model)
    mixed = model.predict(["a dog", ["a cat", "a cat"], {"text": "a bird"}])
    assert set(mixed[0]) == {"embedding"} and set(mixed[2]) == {"embedding"}
    assert mixed[1] == {"similarity": pytest.approx(1.0, abs=1e-5)}
    assert np.allclose(mixed[0]["embedding"], model.predict(["a dog"])[0]["embedding"], atol=1e-5)
