"""``tlzoo adapt``: corpus reading, the masking collator, the CLI on an encoder (MLM) and a decoder (CLM) whose
output folders become ``--backbone`` of a task with the lineage in its manifest and card, exact resume, and the
one-line errors that leave no output behind."""

from __future__ import annotations

import gzip
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import tlzoo
from tlzoo.adaptation.corpus import read_documents, split_held_out
from tlzoo.api import TlzooError

WORDS = "the film was good bad great movie story actor plot slow fun boring love hate and a is it".split()


def _corpus(folder: Path, documents: int = 160, seed: int = 0) -> str:
    """Documents of a few frequent words (in the tiny tokenizer's vocabulary) with a repeated pattern to learn."""
    rng = random.Random(seed)
    lines = [" ".join(["the", "film", "was", rng.choice(["good", "bad", "great", "slow"]), "and", "the", "plot",
                       "was", rng.choice(["fun", "boring"])] + rng.sample(WORDS, 4)) for _ in range(documents)]
    path = folder / "corpus.txt"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def _tlzoo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tlzoo", *args], capture_output=True, text=True, timeout=300)


def _adapt_args(backbone: str, corpus: str, output: Path, *extra: str) -> list[str]:
    return ["adapt", "--backbone", backbone, "--corpus", corpus, "--output", str(output), "--max-length", "32",
            "--epochs", "3", "--batch-size", "16", "--learning-rate", "3e-3", "--seed", "1", "--quiet", *extra]


# -- corpus ------------------------------------------------------------------------------------------------
def test_corpus_formats(tmp_path: Path) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text("first document\n\n\nsecond\n")  # blank lines: blocks are documents
    blocks = tmp_path / "blocks.txt.gz"
    with gzip.open(blocks, "wt") as handle:
        handle.write("a first\nparagraph\n\n  \nsecond one\n")
    (tmp_path / "plain.txt").write_text("one\ntwo\n\nthree\n")
    (tmp_path / "rows.jsonl").write_text('{"body": "x y"}\n\n{"body": "z"}\n')
    (tmp_path / "rows.csv").write_text("id,body\n1,hello there\n2,\n")
    assert read_documents(str(lines)) == ["first document", "second"]
    assert read_documents(str(blocks)) == ["a first paragraph", "second one"]
    assert read_documents(str(tmp_path / "rows.jsonl"), "body") == ["x y", "z"]
    assert read_documents(str(tmp_path / "rows.csv"), "body") == ["hello there"]
    with pytest.raises(TlzooError, match=r"rows\.jsonl, line 1: no field 'text' \(fields: body\)"):
        read_documents(str(tmp_path / "rows.jsonl"))
    with pytest.raises(TlzooError, match=r"rows\.csv: no column 'txt' \(columns: id, body\)"):
        read_documents(str(tmp_path / "rows.csv"), "txt")


def test_held_out_slice_is_seeded_and_never_everything() -> None:
    documents = [f"doc {i}" for i in range(100)]
    first, again = split_held_out(documents, 0.05), split_held_out(documents, 0.05)
    assert first == again and len(first.held_out) == 5 and len(first.train) == 95
    assert not set(first.held_out) & set(first.train)
    assert split_held_out(["only one"], 0.5).held_out == []
    assert len(split_held_out(["a", "b"], 0.9).train) == 1


def test_task_input_texts_come_from_the_tasks_own_columns() -> None:
    from datasets import Dataset

    from tlzoo.engine.run import task_class

    ner = task_class("ner")[0]()
    rows = Dataset.from_dict({"example_id": [0, 1], "tokens": [["EU", "rejects"], ["Peter"]], "tags": [["O", "O"],
                                                                                                    ["B-PER"]]})
    assert ner.input_texts(rows) == ["EU rejects", "Peter"]
    classification = task_class("classification")[0]()
    pairs = Dataset.from_dict({"text": ["a premise", "a premise"], "text_pair": ["one", "two"],
                               "label": ["yes", "no"]})
    assert classification.input_texts(pairs) == ["a premise", "one", "two"]  # repeats once, labels never


# -- collator ----------------------------------------------------------------------------------------------
def test_held_out_rows_are_masked_the_same_in_any_batch_training_rows_anew() -> None:
    from tlzoo.adaptation.collate import LanguageModellingCollator
    from tlzoo.backbones.loading import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    collate = LanguageModellingCollator(tokenizer, True, 0.3, False)
    rows = [{"input_ids": tokenizer("the film was good and the plot was fun " * 3)["input_ids"],
             "special_tokens_mask": None} for _ in range(2)]
    for row in rows:
        row["special_tokens_mask"] = [int(i in (2, 3)) for i in row["input_ids"]]
    held = [{**rows[0], "mask_seed": 7}, {**rows[1], "mask_seed": 8}]
    alone = collate([dict(held[0])])["labels"][0]
    together = collate([dict(held[1]), dict(held[0])])["labels"][1]
    assert torch.equal(alone, together) and (alone != -100).any()
    torch.manual_seed(0)
    first = collate([dict(rows[0])])["labels"]
    second = collate([dict(rows[0])])["labels"]
    assert not torch.equal(first, second), "training masks are drawn anew"
    torch.manual_seed(0)
    assert torch.equal(collate([dict(rows[0])])["labels"], first), "from torch's generator, which checkpoints keep"
    batch = collate([dict(rows[0])])
    special = torch.tensor(rows[0]["special_tokens_mask"]).bool()
    assert (batch["labels"][0][special] == -100).all(), "[CLS] and [SEP] are never masked"


# -- end to end --------------------------------------------------------------------------------------------
def test_cli_adapts_an_encoder_and_a_task_fine_tunes_it_with_the_lineage(tmp_path: Path, sample: dict) -> None:
    corpus = _corpus(tmp_path)
    adapted = tmp_path / "adapted"
    result = _tlzoo(*_adapt_args("tiny-bert", corpus, adapted, "--whole-word-masking"))
    assert result.returncode == 0, result.stderr
    manifest = json.loads((adapted / "tlzoo.json").read_text())
    adaptation = manifest["adaptation"]
    assert adaptation["objective"] == "mlm" and adaptation["base"]["name"] == "tiny-bert"
    assert adaptation["corpus"][0]["name"] == "corpus.txt" and len(adaptation["corpus"][0]["sha256"]) == 64
    assert adaptation["documents"] == {"train": 152, "held_out": 8}
    assert adaptation["perplexity"]["after"] < adaptation["perplexity"]["before"] / 2
    assert json.loads((adapted / "config.json").read_text())["architectures"] == ["BertForMaskedLM"]
    assert "pooler" in adaptation["carried_over"]
    assert any(k.startswith("bert.pooler.") for k in load_file(str(adapted / "model.safetensors")))
    log = [json.loads(line) for line in (adapted / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["event"] == "eval"][0] == 0, "perplexity before training is logged"
    assert (adapted / "curves.png").is_file()
    assert "lineage: `tiny-bert` -> adapted" in (adapted / "README.md").read_text()
    loaded = _tlzoo("predict", str(adapted), "--text", "x")
    assert loaded.returncode == 1 and "is a backbone adapted with 'tlzoo adapt'" in loaded.stderr

    model = tmp_path / "model"
    trained = _tlzoo("train", "classification", "--backbone", str(adapted), "--train", sample["train"],
                     "--output", str(model), "--max-steps", "3", "--quiet")
    assert trained.returncode == 0, trained.stderr
    backbone = json.loads((model / "tlzoo.json").read_text())["backbone"]
    assert backbone["adaptation"]["base"]["name"] == "tiny-bert"
    assert "- lineage: `tiny-bert` -> adapted (mlm on `corpus.txt`" in (model / "README.md").read_text()
    assert "-> fine-tuned (`classification`)" in (model / "README.md").read_text()


def test_cli_adapts_a_decoder_with_the_causal_objective(tmp_path: Path) -> None:
    adapted = tmp_path / "adapted"
    result = _tlzoo(*_adapt_args("tiny-gpt", _corpus(tmp_path), adapted, "--track", "tensorboard"))
    assert result.returncode == 0, result.stderr
    manifest = json.loads((adapted / "tlzoo.json").read_text())
    assert manifest["adaptation"]["objective"] == "clm" and manifest["model_class"] == "AutoModelForCausalLM"
    assert manifest["adaptation"]["perplexity"]["after"] < manifest["adaptation"]["perplexity"]["before"] / 2
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(adapted / "tracking" / "tlzoo"))
    events.Reload()
    tracked = {event.step: event.value for event in events.Scalars("eval_perplexity")}
    perplexity = manifest["adaptation"]["perplexity"]
    assert tracked[0] == pytest.approx(perplexity["before"], rel=1e-4), "the score before training is tracked"
    assert any(value == pytest.approx(perplexity["after"], rel=1e-4) for value in tracked.values())
    from tlzoo.backbones.resolve import resolve_backbone

    assert resolve_backbone(str(adapted)).kind == "decoder", "the folder is a decoder backbone again"


def test_from_task_trains_on_the_tasks_input_text(tmp_path: Path) -> None:
    from tlzoo_ner.sample import paths

    result = tlzoo.adapt("tiny-bert", from_task="ner", data=paths()["train"], output=str(tmp_path / "out"),
                         max_steps=2, max_length=32, quiet=True)
    adaptation = json.loads((Path(result.output_dir) / "tlzoo.json").read_text())["adaptation"]
    assert adaptation["from_task"] == "ner" and adaptation["corpus"][0]["name"] == Path(paths()["train"]).name
    assert adaptation["documents"]["train"] > 100
    with pytest.raises(TlzooError, match="unknown task option.*'text_column'"):
        tlzoo.adapt("tiny-bert", from_task="ner", data=paths()["train"], text_column="words",
                    output=str(tmp_path / "other"))
    assert not (tmp_path / "other").exists()


def test_from_task_passes_text_column_to_a_task_that_has_one(tmp_path: Path) -> None:
    data = tmp_path / "reviews.csv"
    data.write_text("id,review,label\n" + "".join(f"{i},a good film number {i} with a fine plot,pos\n"
                                                   for i in range(60)))
    with pytest.raises(TlzooError, match=r"missing column\(s\) 'body' for text; the file has 'id', 'review'"):
        tlzoo.adapt("tiny-bert", from_task="classification", data=str(data), text_column="body",
                    output=str(tmp_path / "bad"))
    result = tlzoo.adapt("tiny-bert", from_task="classification", data=str(data), text_column="review",
                         output=str(tmp_path / "out"), max_steps=1, max_length=32, quiet=True)
    assert json.loads((Path(result.output_dir) / "tlzoo.json").read_text())["adaptation"]["documents"]["train"] == 57


def test_resume_ends_where_an_uninterrupted_run_ends(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    options = {"output": str(tmp_path / "reference"), "max_steps": 12, "save_every": 4, "keep_checkpoints": 3,
               "max_length": 32, "batch_size": 8, "learning_rate": 3e-3, "quiet": True, "eval_every": "6"}
    tlzoo.adapt("tiny-bert", [corpus], **options)
    reference = tmp_path / "reference"
    # An interrupted run: what the folder held after the checkpoint of step 8 (the final files not yet written).
    interrupted = tmp_path / "interrupted"
    (interrupted / "checkpoints").mkdir(parents=True)
    shutil.copytree(reference / "checkpoints" / "step-0000008", interrupted / "checkpoints" / "step-0000008")
    for name in ("run_config.json", "log.jsonl"):
        shutil.copy(reference / name, interrupted / name)
    refused = _tlzoo("train", "--resume", str(interrupted))
    assert refused.returncode == 1 and f"tlzoo adapt --resume {interrupted}" in refused.stderr
    tlzoo.adapt(output=str(interrupted), resume=True)
    a, b = load_file(str(reference / "model.safetensors")), load_file(str(interrupted / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    manifests = [json.loads((f / "tlzoo.json").read_text())["adaptation"] for f in (reference, interrupted)]
    assert manifests[0]["perplexity"] == manifests[1]["perplexity"]


# -- errors ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("make", "extra", "message"), [
    (lambda d: (d / "empty.txt").write_text("\n \n"), {}, "corpus file {d}/empty.txt holds no text"),
    (lambda d: (d / "short.txt").write_text("a film\n"), {}, "corpus {d}/short.txt is shorter than one chunk of 32"),
    (lambda d: (d / "c.jsonl").write_text('{"body": "x"}\n'), {"text_column": "txt"},
     "corpus file {d}/c.jsonl, line 1: no field 'txt' (fields: body)"),
    (lambda d: (d / "ok.txt").write_text("a film\n" * 50), {"backbone": "tiny-bart"},
     "backbone tiny-bart is an encoder-decoder model; tlzoo adapt trains an encoder with a masked-LM head or a "
     "decoder with a causal-LM head"),
])
def test_errors_name_the_file_and_leave_no_output(tmp_path: Path, make, extra: dict, message: str) -> None:
    make(tmp_path)
    corpus = next(p for p in tmp_path.iterdir() if p.is_file())
    output = tmp_path / "out"
    with pytest.raises(TlzooError) as error:
        tlzoo.adapt(**{"backbone": "tiny-bert", "corpus": [str(corpus)], "output": str(output), "max_length": 32,
                       "quiet": True, **extra})
    assert str(error.value).startswith(message.format(d=tmp_path))
    assert not output.exists()


def test_cli_error_is_one_line_and_exit_one(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    result = _tlzoo("adapt", "--backbone", "tiny-bert", "--corpus", str(tmp_path / "empty.txt"),
                    "--output", str(tmp_path / "out"))
    assert result.returncode == 1 and result.stderr.strip() == f"error: corpus file {tmp_path}/empty.txt holds no text"
    assert not (tmp_path / "out").exists()


def test_masked_positions_only_loss_equals_the_models_own() -> None:
    from tlzoo.adaptation.collate import LanguageModellingCollator
    from tlzoo.adaptation.objective import LanguageModelling
    from tlzoo.backbones.resolve import resolve_backbone

    backbone, task = resolve_backbone("tiny-bert"), LanguageModelling()
    model = task.build_model(backbone, {}).model.eval()
    tokenizer = backbone.load_tokenizer()
    ids = tokenizer("the film was good and the plot was fun " * 3)["input_ids"]
    rows = [{"input_ids": ids, "special_tokens_mask": [int(i in (2, 3)) for i in ids]} for _ in range(3)]
    torch.manual_seed(0)
    batch = LanguageModellingCollator(tokenizer, True, 0.3, False)(rows)
    with torch.no_grad():
        assert task.loss(model, batch).item() == pytest.approx(model(**batch).loss.item(), rel=1e-5)
