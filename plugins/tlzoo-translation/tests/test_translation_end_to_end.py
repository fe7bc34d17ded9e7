"""Train on each kind of tiny generation backbone, save, load back and translate; and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tlzoo_translation.sample import paths

import tlzoo
from tlzoo.testing import torch_threads

FAST = {"max_steps": 6, "learning_rate": 1e-3, "batch_size": 8, "eval_batch_size": 40, "quiet": True,
        "seed": 0, "warmup_ratio": 0.0, "max_new_tokens": 8}


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    with torch_threads(1):
        yield


@pytest.mark.parametrize(("backbone", "model_class"), [
    ("tiny-bart", "AutoModelForSeq2SeqLM"),
    ("tiny-bert+tiny-bert", "AutoModelForSeq2SeqLM"),
    ("tiny-gpt", "AutoModelForCausalLM"),
])
def test_train_load_predict(tmp_path: Path, backbone: str, model_class: str) -> None:
    sample = paths()
    result = tlzoo.train("translation", backbone=backbone, train=sample["train"], validation=sample["validation"],
                         output=str(tmp_path / "run"), **FAST)
    metrics = result.metrics["validation"]
    assert {"bleu", "chrf", "bleu_signature", "chrf_signature", "gen_len", "distinct"} <= set(metrics)

    model = tlzoo.load(result.output_dir)
    assert model.manifest["model_class"] == model_class
    assert model.evaluate(sample["validation"]) == metrics
    predictions = model.predict(["A man is walking in the park.", {"en": "Two dogs are running."}])
    assert len(predictions) == 2 and all(isinstance(p["translation"], str) for p in predictions)

    import transformers

    direct = getattr(transformers, model_class).from_pretrained(result.output_dir)
    assert type(direct).__name__ == type(model.model).__name__
    lines = (Path(result.output_dir) / "evaluation" / "validation" / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == 40 and set(json.loads(lines[0])) == {"translation", "references"}


def test_cli_train_then_predict(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tlzoo.cli.main import cli

    data = tmp_path / "train.jsonl"
    pairs = [("a dog runs", "un chien court"), ("a man walks", "un homme marche")] * 8
    data.write_text("".join(json.dumps({"translation": {"en": e, "fr": f}}) + "\n" for e, f in pairs))
    output = tmp_path / "model"
    runner = CliRunner()
    trained = runner.invoke(cli, ["train", "translation", "--backbone", "tiny-gpt", "--train", str(data),
                                  "--output", str(output), "--max-steps", "3", "--quiet",
                                  "--max-new-tokens", "4", "--target-lang", "fr",
                                  "--max-target-length", "16"])
    assert trained.exit_code == 0, trained.output
    manifest = json.loads((output / "tlzoo.json").read_text())
    assert manifest["task_options"]["target_lang"] == "fr" and manifest["task_options"]["max_target_length"] == 16
    predicted = runner.invoke(cli, ["predict", str(output), "--text", "a dog walks"])
    assert predicted.exit_code == 0, predicted.output
    assert set(json.loads(predicted.output.strip().splitlines()[-1])) == {"translation"}


def test_local_t5_folder_gets_its_prefix(tmp_path: Path) -> None:
    """Route 1: any encoder-decoder folder; a T5 gets "translate English to German: " by default."""
    from transformers import T5Config, T5ForConditionalGeneration

    from tlzoo.backbones.loading import tiny_tokenizer, tiny_vocabulary

    folder = tmp_path / "t5"
    config = T5Config(vocab_size=len(tiny_vocabulary()), d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                      pad_token_id=0, eos_token_id=3, decoder_start_token_id=0)
    T5ForConditionalGeneration(config).save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    sample = paths()
    result = tlzoo.train("translation", backbone=str(folder), train=sample["train"], output=str(tmp_path / "run"),
                         **FAST)
    model = tlzoo.load(result.output_dir)
    assert model.manifest["backbone"]["kind"] == "encoder-decoder"
    assert model.manifest["state"]["source_prefix"] == "translate English to German: "
    assert isinstance(model.predict(["A dog."])[0]["translation"], str)


def test_generation_options_per_prediction_call(tmp_path: Path) -> None:
    """Generation options are the task's: trained with one value, overridden for one call, never kept."""
    from click.testing import CliRunner

    from tlzoo.api import TlzooError
    from tlzoo.cli.main import cli

    sample = paths()
    result = tlzoo.train("translation", backbone="tiny-bart", train=sample["train"], output=str(tmp_path / "run"),
                         **{**FAST, "max_steps": 2, "max_new_tokens": 6})
    manifest = json.loads((Path(result.output_dir) / "tlzoo.json").read_text())
    assert manifest["task_options"]["max_new_tokens"] == 6
    assert not any(key.startswith("generation_") for key in manifest["config"])
    model = tlzoo.load(result.output_dir)
    text = "A man is walking in the park."
    short = model.predict([text], max_new_tokens=1, num_beams=2)[0]["translation"]
    assert len(short.split()) <= 1
    assert model.task.options.max_new_tokens == 6 and model.task.options.num_beams == 1
    assert model.predict([text]) == model.predict([text], max_new_tokens=6)
    with pytest.raises(TlzooError, match=r"^unknown prediction option 'num_beam'; did you mean 'num_beams'\?$"):
        model.predict([text], num_beam=2)
    with pytest.raises(TlzooError, match=r"--num-beams must be >= 1, got 0"):
        model.predict([text], num_beams=0)

    runner = CliRunner()
    cli_short = runner.invoke(cli, ["predict", result.output_dir, "--text", text, "--max-new-tokens", "1",
                                    "--num-beams", "2"])
    assert cli_short.exit_code == 0, cli_short.output
    assert json.loads(cli_short.output.strip().splitlines()[-1]) == {"translation": short}
    typo = runner.invoke(cli, ["predict", result.output_dir, "--text", text, "--num-beam", "2"])
    assert typo.exit_code != 0 and "did you mean --num-beams?" in typo.output


def test_a_folder_saved_with_generation_settings_in_the_engine_config_still_loads(tmp_path: Path) -> None:
    """Folders written before the generation settings moved to the task keep them as config keys."""
    sample = paths()
    result = tlzoo.train("translation", backbone="tiny-bart", train=sample["train"], output=str(tmp_path / "run"),
                         **{**FAST, "max_steps": 2})
    manifest_path = Path(result.output_dir) / "tlzoo.json"
    manifest = json.loads(manifest_path.read_text())
    for name in ("max_new_tokens", "num_beams", "length_penalty", "no_repeat_ngram_size"):
        del manifest["task_options"][name]
    manifest["config"].update(generation_max_new_tokens=1, generation_num_beams=2, generation_length_penalty=1.0,
                              generation_no_repeat_ngram_size=0)
    manifest_path.write_text(json.dumps(manifest))
    model = tlzoo.load(result.output_dir)
    assert (model.task.options.max_new_tokens, model.task.options.num_beams) == (1, 2)
    assert len(model.predict(["A man is walking in the park."])[0]["translation"].split()) <= 1


@pytest.mark.parametrize("backbone", ["tiny-bert+tiny-bert", "tiny-gpt"])
def test_batched_generation_writes_what_one_at_a_time_does_in_the_input_order(tmp_path: Path, backbone: str) -> None:
    """Prediction sorts rows by length into batches (left-padded prompts for a decoder) and rows leave a batch as
    they end; the texts are those of each input alone, in the inputs' order."""
    sample = paths()
    result = tlzoo.train("translation", backbone=backbone, train=sample["train"], output=str(tmp_path / "run"),
                         **{**FAST, "max_steps": 1, "learning_rate": 1e-6, "max_new_tokens": 12})
    model = tlzoo.load(result.output_dir)
    import torch

    with torch.no_grad():  # large random weights: each row writes its own text, of its own length
        for parameter in model.model.parameters():
            parameter.normal_(0, 0.5, generator=torch.Generator().manual_seed(parameter.numel()))
    texts = [line.strip() for line in Path(sample["validation"]).read_text().splitlines()[:10]]
    texts = [text if i % 3 else f"{text} {text}" for i, text in enumerate(texts)]  # lengths out of order
    batched = [p["translation"] for p in model.predict(texts, batch_size=4)]
    assert batched == [model.predict([text])[0]["translation"] for text in texts]
    assert len({len(text.split()) for text in batched}) > 1  # rows of different lengths in a batch
