"""The engine end to end on tiny-bert with the core's own test task ``toy``: outputs, loading, strategies, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import tlzoo
from tlzoo.api import TlzooError
from tlzoo.testing.toytask import NAME as TOY
from tlzoo.testing.toytask import ToyTask


def test_train_writes_a_complete_loadable_folder(toy_options: dict) -> None:
    result = tlzoo.train(TOY, **toy_options)
    out = Path(result.output_dir)
    for name in ("model.safetensors", "config.json", "tokenizer.json", "tlzoo.json", "README.md",
                 "metrics.json", "curves.png", "log.jsonl", "evaluation/validation/predictions.txt"):
        assert (out / name).is_file(), name
    manifest = json.loads((out / "tlzoo.json").read_text())
    assert manifest["task"] == TOY
    assert manifest["state"]["labels"] == ["no", "yes"]
    assert set(manifest["versions"]) >= {"tlzoo", "torch", "transformers"}
    assert len(manifest["data"]["train"]["sha256"]) == 64
    assert not list(out.glob("**/*.pickle")) and not list(out.glob("**/*.bin"))
    # Loads with the plain transformers class, labels in the config.
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(out)
    assert model.config.id2label == {0: "no", 1: "yes"}
    steps = [r for r in result.history if r["event"] == "train"]
    assert [r["step"] for r in steps] == list(range(1, 13))
    assert 0 <= result.metrics["validation"]["accuracy"] <= 1


def test_predict_matches_evaluate_and_survives_odd_input(toy_options: dict, toy_sample: dict) -> None:
    result = tlzoo.train(TOY, **toy_options)
    model = tlzoo.load(result.output_dir)
    odd = ["", "word " * 2000, "été über naïve 电影 🎬"]
    predictions = model.predict(["a good film", *odd])
    assert len(predictions) == 4
    for p in predictions:
        assert p["label"] in ("no", "yes")
        assert abs(sum(p["scores"].values()) - 1) < 1e-6
    assert model.evaluate(toy_sample["validation"])["accuracy"] == pytest.approx(
        result.metrics["validation"]["accuracy"])
    # Predictions are independent of batch composition (sorted batching restores the order).
    alone = model.predict(["a good film"], batch_size=1)[0]
    assert alone["score"] == pytest.approx(predictions[0]["score"], abs=1e-5)


def test_loss_falls_on_the_sample(toy_options: dict) -> None:
    result = tlzoo.train(TOY, **{**toy_options, "max_steps": 0, "epochs": 8})
    losses = [r["loss"] for r in result.history if r["event"] == "train"]
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.1
    assert result.metrics["validation"]["accuracy"] > 0.8


def test_freeze_trains_only_the_head(toy_options: dict, tmp_path: Path) -> None:
    full = tlzoo.train(TOY, **{**toy_options, "output": str(tmp_path / "a")})
    frozen = tlzoo.train(TOY, **{**toy_options, "output": str(tmp_path / "b"), "strategy": "freeze"})
    a = load_file(str(Path(full.output_dir) / "model.safetensors"))
    b = load_file(str(Path(frozen.output_dir) / "model.safetensors"))
    # Same seed, same initial weights: frozen backbone weights equal the untouched initial ones,
    # which differ from the fully fine-tuned ones; the head trained in both.
    body = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(a[body], b[body])
    from tlzoo.backbones.loading import tiny_bert

    torch.manual_seed(0)
    initial = tiny_bert().build_model("AutoModelForSequenceClassification", num_labels=2).state_dict()
    assert torch.equal(b[body], initial[body])
    assert not torch.equal(b["classifier.weight"], initial["classifier.weight"])


def test_lora_saves_a_merged_model_with_its_trained_head(toy_options: dict) -> None:
    result = tlzoo.train(TOY, **{**toy_options, "strategy": "lora", "learning_rate": 1e-2})
    weights = load_file(str(Path(result.output_dir) / "model.safetensors"))
    assert not any("lora" in k for k in weights)
    assert "classifier.weight" in weights
    from transformers import AutoModelForSequenceClassification

    AutoModelForSequenceClassification.from_pretrained(result.output_dir)
    assert tlzoo.load(result.output_dir).predict(["fine"])[0]["label"] in ("no", "yes")


def test_llrd_gives_lower_layers_smaller_rates() -> None:
    from tlzoo.backbones.loading import tiny_bert
    from tlzoo.engine.strategies import parameter_groups

    model = tiny_bert().build_model("AutoModelForSequenceClassification", num_labels=2)
    groups = parameter_groups(model, 1e-3, 0.01, 0.5)
    rates = sorted({g["lr"] for g in groups}, reverse=True)
    assert rates == pytest.approx([1e-3, 5e-4, 2.5e-4, 1.25e-4])  # head, layer 1, layer 0, embeddings
    n_params = sum(len(g["params"]) for g in groups)
    assert n_params == len(list(model.parameters()))


def test_gradual_unfreezing_opens_one_layer_per_epoch() -> None:
    from tlzoo.backbones.loading import tiny_bert
    from tlzoo.engine.strategies import prepare_model, unfreeze_for_epoch

    model = prepare_model(tiny_bert().build_model("AutoModelForSequenceClassification", num_labels=2),
                          "gradual", (8, 16, 0.0))

    def trainable_layers() -> set[str]:
        return {n.split(".")[3] for n, p in model.named_parameters() if p.requires_grad and ".layer." in n}

    unfreeze_for_epoch(model, 0)
    assert trainable_layers() == set()
    unfreeze_for_epoch(model, 1)
    assert trainable_layers() == {"1"}
    unfreeze_for_epoch(model, 2)
    assert trainable_layers() == {"0", "1"}


def test_early_stopping_and_best_checkpoint(toy_options: dict) -> None:
    result = tlzoo.train(TOY, **{**toy_options, "max_steps": 0, "epochs": 30, "eval_every": "5",
                                               "early_stopping_patience": 2, "learning_rate": 1e-2})
    assert result.metrics["train"]["stopped_early"]
    evals = [r["eval_accuracy"] for r in result.history if r["event"] == "eval"]
    assert result.metrics["validation"]["accuracy"] == pytest.approx(max(evals))


def test_bf16_runs_under_bf16_autocast_and_learns(toy_options: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """Training and evaluation steps really run in bf16 (the autocast the task sees), and still learn."""
    seen: set[tuple[str, bool, torch.dtype]] = set()
    loss, forward = ToyTask.loss, ToyTask.forward

    def watched_loss(self, model, batch):  # noqa: ANN001, ANN202
        seen.add(("loss", torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
        return loss(self, model, batch)

    def watched_forward(self, model, batch, context):  # noqa: ANN001, ANN202
        seen.add(("forward", torch.is_autocast_enabled("cpu"), torch.get_autocast_dtype("cpu")))
        return forward(self, model, batch, context)

    monkeypatch.setattr(ToyTask, "loss", watched_loss)
    monkeypatch.setattr(ToyTask, "forward", watched_forward)
    result = tlzoo.train(TOY, **{**toy_options, "precision": "bf16", "max_steps": 0, "epochs": 8})
    assert seen == {("loss", True, torch.bfloat16), ("forward", True, torch.bfloat16)}
    manifest = json.loads((Path(result.output_dir) / "tlzoo.json").read_text())
    assert manifest["config"]["precision"] == "bf16"
    losses = [r["loss"] for r in result.history if r["event"] == "train"]
    assert all(map(torch.isfinite, torch.tensor(losses)))
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.1
    assert result.metrics["validation"]["accuracy"] > 0.8


def test_the_validation_set_is_forwarded_once_per_evaluation(toy_options: dict, toy_sample: dict,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The final pass over the validation set reuses the loop's evaluation of the model it keeps."""
    rows: list[int] = []
    forward = ToyTask.forward

    def counted(self, model, batch, context):  # noqa: ANN001, ANN202
        rows.append(len(batch["input_ids"]))
        return forward(self, model, batch, context)

    monkeypatch.setattr(ToyTask, "forward", counted)
    result = tlzoo.train(TOY, **{**toy_options, "max_steps": 0, "epochs": 1, "eval_every": "epoch"})
    validation_rows = len(Path(toy_sample["validation"]).read_text().splitlines())
    assert sum(rows) == validation_rows  # one evaluation: the end of the epoch
    assert [r["step"] for r in result.history if r["event"] == "eval"] == [result.metrics["train"]["steps"]]
    assert (Path(result.output_dir) / "evaluation" / "validation" / "predictions.txt").is_file()


def test_evaluate_and_predict_leave_the_loaded_model_as_it_was(toy_options: dict, toy_sample: dict) -> None:
    model = tlzoo.load(tlzoo.train(TOY, **toy_options).output_dir)
    before = (model.config.eval_batch_size, model.task.options)
    model.evaluate(toy_sample["validation"], batch_size=3)
    model.predict(["a good film"], batch_size=1)
    assert (model.config.eval_batch_size, model.task.options) == before
    with pytest.raises(TlzooError, match=r"^unknown prediction option 'num_beams'; toy takes no prediction options$"):
        model.predict(["a good film"], num_beams=4)


def test_refuses_an_output_folder_holding_another_run(toy_options: dict) -> None:
    tlzoo.train(TOY, **toy_options)
    with pytest.raises(TlzooError, match="already holds a run"):
        tlzoo.train(TOY, **toy_options)
    tlzoo.train(TOY, **{**toy_options, "overwrite": True})


def test_nan_loss_stops_with_a_clear_message(toy_options: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    original = ToyTask.loss

    def poisoned(self, model, batch):  # noqa: ANN001, ANN202
        calls["n"] += 1
        loss = original(self, model, batch)
        return loss * float("nan") if calls["n"] > 6 else loss

    monkeypatch.setattr(ToyTask, "loss", poisoned)
    with pytest.raises(TlzooError, match=r"NaN/inf at step 7.*last good checkpoint is .*step-0000005"):
        tlzoo.train(TOY, **{**toy_options, "save_every": 5})
    assert not (Path(toy_options["output"]) / "tlzoo.json").exists()


def test_freeze_refuses_a_model_without_a_separate_head() -> None:
    from tlzoo.backbones.resolve import resolve_backbone
    from tlzoo.engine.strategies import prepare_model

    model = resolve_backbone("tiny-gpt").build_model("AutoModelForCausalLM")
    with pytest.raises(TlzooError, match="leaves nothing to train"):
        prepare_model(model, "freeze", (8, 16, 0.0))


def test_lora_on_a_warm_started_encoder_decoder_adapts_both_halves() -> None:
    from tlzoo.backbones.resolve import resolve_backbone
    from tlzoo.engine.strategies import head_module_names, prepare_model

    model = resolve_backbone("tiny-bert+tiny-bert").build_model("AutoModelForSeq2SeqLM")
    assert head_module_names(model) == []
    adapted = prepare_model(model, "lora", (4, 8, 0.0))
    trainable = [n for n, p in adapted.named_parameters() if p.requires_grad]
    assert any(".encoder." in n and "lora_" in n for n in trainable)
    assert any(".decoder." in n and "lora_" in n for n in trainable)
    assert all("lora_" in n for n in trainable)


def test_lora_warns_nothing() -> None:
    """peft's own use of a deprecated transformers property printed a FutureWarning on every LoRA run."""
    import warnings

    from tlzoo.backbones.resolve import resolve_backbone
    from tlzoo.engine.strategies import prepare_model

    model = resolve_backbone("tiny-bert").build_model("AutoModelForSequenceClassification", num_labels=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare_model(model, "lora", (4, 8, 0.0))


def test_streaming_trains_repeatably_and_needs_max_steps(toy_options: dict, tmp_path: Path) -> None:
    options = {**toy_options, "streaming": True, "max_steps": 8, "batch_size": 16}
    first = tlzoo.train(TOY, **{**options, "output": str(tmp_path / "a")})
    second = tlzoo.train(TOY, **{**options, "output": str(tmp_path / "b")})
    a = load_file(str(Path(first.output_dir) / "model.safetensors"))
    b = load_file(str(Path(second.output_dir) / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert first.metrics["train"]["samples"] == 8 * 16
    assert tlzoo.load(first.output_dir).predict(["fine"])[0]["label"] in ("no", "yes")
    with pytest.raises(TlzooError, match="--streaming needs --max-steps"):
        tlzoo.train(TOY, **{**options, "max_steps": 0, "output": str(tmp_path / "c")})
