"""Metrics and data formats as catalog components: one metric signature computed by the engine, ``--metric``,
readers chosen by extension or ``--format`` on one data-source layer (compression, line-numbered errors,
``hub:`` in every task), and a test plugin whose head, reader and metric are used together by a training run."""

from __future__ import annotations

import bz2
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tlzoo.api import Dataset, Metric, TlzooError
from tlzoo.data.source import DataSource
from tlzoo.engine.data import read_split
from tlzoo.engine.run import task_class
from tlzoo.metrics.compute import resolve_metrics
from tlzoo.plugins import registry

TASKS = ("classification", "ner", "extractive-qa", "translation", "summarization")


def task(name: str, **options: str):
    cls, _ = task_class(name)
    return cls(options)


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tlzoo", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


# -- metrics ---------------------------------------------------------------------------------------


def test_every_metric_and_reader_matches_its_spec_and_protocol() -> None:
    """Listing facts are checked against the classes they describe; every metric has the one signature."""
    for spec in registry().specs("metric"):
        metric = spec.load()()
        assert isinstance(metric, Metric), spec.name
        assert (metric.name, metric.primary, metric.consumes) == (
            spec.name, spec.metadata["primary"], spec.metadata["consumes"]), spec.name
    for spec in registry().specs("dataset"):
        reader = spec.build()
        assert isinstance(reader, Dataset), spec.name
        assert (reader.name, list(reader.extensions), reader.produces) == (
            spec.name, list(spec.metadata["extensions"]), spec.metadata["produces"]), spec.name


def test_mcc() -> None:
    from tlzoo.metrics.scores import MatthewsCorrelation

    mcc = MatthewsCorrelation()
    assert mcc.compute(["a", "b", "a", "b"], ["a", "b", "a", "b"])["mcc"] == pytest.approx(1.0)
    assert mcc.compute(["b", "a", "b", "a"], ["a", "b", "a", "b"])["mcc"] == pytest.approx(-1.0)
    assert mcc.compute(["a", "a", "a", "a"], ["a", "b", "a", "b"])["mcc"] == 0.0
    # three classes by hand (Gorodkin): correct c=4 of s=5, predicted counts p=(2,1,2), true t=(1,2,2):
    # (c*s - p.t) / sqrt((s^2 - p.p)(s^2 - t.t)) = (20 - 8) / sqrt(16 * 16) = 0.75
    got = mcc.compute([{"label": x} for x in "aabcc"], list("abbcc"))["mcc"]
    assert got == pytest.approx(0.75)


def test_seqeval_strict_is_a_named_metric() -> None:
    gold = [["B-PER", "I-PER", "O"]]
    pred = [["I-PER", "I-PER", "O"]]  # default mode reads an entity, strict IOB2 does not
    ner = task("ner")
    specs = resolve_metrics(ner, ["seqeval-strict"])
    assert [s.name for s in specs] == ["seqeval", "seqeval-strict"]
    default = specs[0].build(scheme="IOB2").compute(pred, gold)
    strict = specs[1].build(scheme="IOB2").compute(pred, gold)
    assert default["f1"] == 1.0 and strict["strict_f1"] == 0.0 and "f1" not in strict


def test_a_metric_that_does_not_fit_is_one_line_listing_those_that_do() -> None:
    with pytest.raises(TlzooError) as error:
        resolve_metrics(task("classification"), ["seqeval"])
    message = str(error.value)
    assert "\n" not in message and "'seqeval' scores tags" in message
    assert "mcc" in message and "accuracy" in message and "rouge" not in message
    with pytest.raises(TlzooError, match="did you mean 'mcc'"):
        resolve_metrics(task("classification"), ["mccc"])


def test_cli_metric_is_reported_and_a_wrong_one_writes_nothing(sample: dict, tmp_path: Path) -> None:
    out = tmp_path / "run"
    base = ["train", "classification", "--backbone", "tiny-bert", "--train", sample["train"], "--validation",
            sample["validation"], "--output", str(out), "--max-steps", "3", "--quiet"]
    bad = cli(*base, "--metric", "rouge")
    assert bad.returncode != 0 and "metrics that fit: accuracy, classification, mcc" in bad.stderr
    assert not out.exists()
    good = cli(*base, "--metric", "mcc", "--metric", "accuracy")
    assert good.returncode == 0, good.stderr
    validation = json.loads((out / "metrics.json").read_text())["validation"]
    assert -1 <= validation["mcc"] <= 1 and "accuracy" in validation and "macro_f1" in validation
    evaluated = cli("evaluate", str(out), "--data", sample["validation"], "--output", str(tmp_path / "m.json"))
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads((tmp_path / "m.json").read_text())["mcc"] == pytest.approx(validation["mcc"])


# -- data sources ----------------------------------------------------------------------------------


ROWS = "text,label\ngreat film,pos\nawful plot,neg\nlovely cast,pos\n"


def test_compressed_files_are_read_by_extension(tmp_path: Path) -> None:
    classification = task("classification")
    for name, opener in (("data.csv.gz", gzip.open), ("data.csv.bz2", bz2.open)):
        with opener(tmp_path / name, "wt", encoding="utf-8") as handle:
            handle.write(ROWS)
        rows = read_split(classification, str(tmp_path / name), "train")
        assert rows["label"] == ["pos", "neg", "pos"], name


def test_bad_bytes_and_rows_name_their_line(tmp_path: Path) -> None:
    classification = task("classification")
    path = tmp_path / "bad.csv.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(ROWS.encode() + b"caf\xe9 noir,pos\n")
    with pytest.raises(TlzooError, match=r"bad\.csv\.gz, line 5: not UTF-8 text"):
        read_split(classification, str(path), "train")
    empty = tmp_path / "empty_label.csv"
    empty.write_text(ROWS + "no label here,\n")
    with pytest.raises(TlzooError, match=r"empty_label\.csv, line 5: empty label"):
        read_split(classification, str(empty), "train")


def test_format_option_overrides_the_extension(tmp_path: Path) -> None:
    classification = task("classification")
    path = tmp_path / "reviews.data"
    path.write_text(ROWS)
    with pytest.raises(TlzooError, match=r"no reader for \.data files; this task reads csv \(\.csv\).*--format"):
        read_split(classification, str(path), "train")
    assert len(read_split(classification, str(path), "train", format="csv")) == 3
    with pytest.raises(TlzooError, match="no data format named 'parquett'"):
        read_split(classification, str(path), "train", format="parquett")
    with pytest.raises(TlzooError, match="format 'conll' gives tagged rows, which this task does not read"):
        read_split(classification, str(path), "train", format="conll")


@pytest.mark.parametrize("name", TASKS)
def test_hub_offline_is_the_same_fast_clear_error_in_every_task(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(TlzooError) as error:
        read_split(task(name), "hub:conll2003@validation", "train")
    assert time.perf_counter() - start < 5
    message = str(error.value)
    assert message.startswith("hub:conll2003@validation: the HuggingFace Hub")
    assert "dataset 'conll2003'" in message and "pass that local file instead" in message


HUB_ROWS = {
    "classification": {"sentence": ["good", "bad"], "label": [1, 0]},
    "ner": {"tokens": [["EU", "rejects"], ["Peter", "ran"]], "ner_tags": [[1, 0], [2, 0]]},
    "extractive-qa": {"id": ["a"], "question": ["Who?"], "context": ["Ann ran."],
                      "answers": [{"text": ["Ann"], "answer_start": [0]}]},
    "translation": {"translation": [{"en": "a house", "de": "ein Haus"}]},
    "summarization": {"article": ["A long story."], "highlights": ["Short."]},
}


@pytest.mark.parametrize("name", TASKS)
def test_a_hub_dataset_is_read_into_each_tasks_columns(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from datasets import ClassLabel, Dataset, Features, List, Value

    features = None
    if name == "ner":  # as the hub declares conll2003: integer tags with their names
        features = Features({"tokens": List(Value("string")),
                             "ner_tags": List(ClassLabel(names=["O", "B-ORG", "B-PER"]))})
    calls = []

    def load_dataset(path, name=None, split=None, **kwargs):
        calls.append((path, name, split))
        return Dataset.from_dict(HUB_ROWS[current], features=features)

    current = name
    monkeypatch.setattr("tlzoo.hub.hub_reachable", lambda timeout=3.0: True)
    monkeypatch.setattr("datasets.load_dataset", load_dataset)
    rows = read_split(task(name), "hub:some-set:cfg@train", "train")
    assert calls == [("some-set", "cfg", "train")]
    expected = {"classification": ("text", ["good", "bad"]), "ner": ("tags", [["B-ORG", "O"], ["B-PER", "O"]]),
                "extractive-qa": ("question", ["Who?"]), "translation": ("target", ["ein Haus"]),
                "summarization": ("references", [["Short."]])}[name]
    assert rows[expected[0]] == expected[1]


# -- a plugin's head, reader and metric, used together by a training run ------------------------------


def test_a_plugins_head_format_and_metric_are_used_by_one_training_run(fixture_components: Path, sample: dict,
                                                                       tmp_path: Path) -> None:
    """``--head max-pool --metric error-rate`` on ``.parquet`` files, all three from the fixture plugin."""
    from datasets import Dataset

    plugin = {"PYTHONPATH": os.pathsep.join(filter(None, [str(fixture_components), os.environ.get("PYTHONPATH")]))}
    files, rows = {}, {}
    for split in ("train", "validation"):
        table = Dataset.from_csv(sample[split], keep_default_na=False)
        if split == "validation":
            table = table.select(range(len(table) - 7))  # a row count of the Parquet file's own
        files[split], rows[split] = str(tmp_path / f"{split}.parquet"), len(table)
        table.to_parquet(files[split])
    listed = cli("list", "datasets", env=plugin)
    assert "parquet" in listed.stdout and ".parquet -> table rows" in listed.stdout
    metrics = cli("list", "metrics", env=plugin)
    assert "error-rate" in metrics.stdout and "label predictions" in metrics.stdout
    heads = cli("list", "heads", env=plugin)
    assert "max-pool" in heads.stdout and "tlzoo-fixture-components" in heads.stdout
    out = tmp_path / "run"
    run = cli("train", "classification", "--backbone", "tiny-bert", "--train", files["train"], "--validation",
              files["validation"], "--output", str(out), "--max-steps", "4", "--batch-size", "8", "--quiet",
              "--head", "max-pool", "--metric", "error-rate", env=plugin)
    assert run.returncode == 0, run.stderr[-2000:]
    manifest = json.loads((out / "tlzoo.json").read_text())
    assert manifest["head"] == "max-pool"
    validation = json.loads((out / "metrics.json").read_text())["validation"]
    assert validation["error_rate"] == pytest.approx(1 - validation["accuracy"])
    assert manifest["config"]["metric"] == ["error-rate"] and manifest["data"]["train"]["name"] == "train.parquet"
    assert sum(map(sum, validation["confusion_matrix"])) == rows["validation"], "every Parquet row, and no other"
    predicted = cli("predict", str(out), "--text", "a gripping film", env=plugin)
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert json.loads(predicted.stdout.splitlines()[0])["label"] in manifest["state"]["labels"]
    without = cli("predict", str(out), "--text", "a gripping film")
    assert without.returncode != 0 and "needs head 'max-pool'" in without.stderr


def test_data_source_is_the_path_in_messages() -> None:
    source = DataSource("dir/train.jsonl.xz")
    assert str(source) == os.fspath(source) == "dir/train.jsonl.xz"
    assert (source.compression, source.extension) == (".xz", ".jsonl")


def test_confusion_matrix_png_is_a_png_of_the_counts(tmp_path: Path) -> None:
    from tlzoo.engine.plot import confusion_matrix_png

    path = Path(confusion_matrix_png([[3, 1], [0, 2]], ["neg", "pos"], str(tmp_path)))
    assert path == tmp_path / "confusion_matrix.png" and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
