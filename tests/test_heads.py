"""Heads: the built-in layers (shapes, losses, padding), the CRF's Viterbi, training and loading with a
non-default head, choosing a head on the CLI and listing them. A plugin's own head in a real run is in
``test_metrics_and_formats.py``, with the fixture plugin's reader and metric."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tlzoo
from tlzoo.api import TlzooError
from tlzoo.backbones.loading import tiny_bert
from tlzoo.heads.crf import LinearChainCrf, is_valid_iob2
from tlzoo.heads.layers import CrfHead, HeadModel, MeanPoolHead, MlpHead


def run_tlzoo(*args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a fresh process."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("TLZOO_")}
    return subprocess.run([sys.executable, "-m", "tlzoo", *args], capture_output=True, text=True, env=environ,
                          timeout=300)
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def built(head: Any, model_class: str, **config: Any) -> HeadModel:
    torch.manual_seed(0)
    return head.build(tiny_bert(), model_class, {"scheme": "IOB2"}, **config)


# --- the layers ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("head", [MeanPoolHead(), MlpHead()])
def test_sequence_heads_give_one_row_of_logits_per_text_and_a_loss_that_trains(head: Any) -> None:
    model = built(head, "AutoModelForSequenceClassification", num_labels=3)
    ids = torch.randint(5, 100, (4, 7))
    out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=torch.tensor([0, 1, 2, 1]))
    assert out.logits.shape == (4, 3) and out.loss.ndim == 0
    out.loss.backward()
    assert all(p.grad is not None for p in model.head.parameters())
    assert model(input_ids=ids).loss is None


@pytest.mark.parametrize(("problem", "labels"), [("regression", torch.tensor([0.5, 2.0])),
                                                 ("multi_label_classification", torch.tensor([[1.0, 0.0], [1, 1]]))])
def test_sequence_heads_use_the_loss_of_the_problem_type(problem: str, labels: torch.Tensor) -> None:
    model = built(MeanPoolHead(), "AutoModelForSequenceClassification", num_labels=labels.shape[-1] if
                  labels.ndim > 1 else 1, problem_type=problem)
    model.eval()
    ids = torch.randint(5, 100, (2, 5))
    out = model(input_ids=ids, labels=labels)
    expected = (torch.nn.functional.mse_loss(out.logits.squeeze(-1), labels) if problem == "regression"
                else torch.nn.functional.binary_cross_entropy_with_logits(out.logits, labels))
    assert torch.allclose(out.loss, expected)


def test_mean_pool_ignores_padding() -> None:
    model = built(MeanPoolHead(), "AutoModelForSequenceClassification", num_labels=2).eval()
    ids = torch.randint(5, 100, (1, 6))
    padded = torch.cat([ids, torch.zeros(1, 4, dtype=torch.long)], dim=1)
    mask = torch.cat([torch.ones(1, 6, dtype=torch.long), torch.zeros(1, 4, dtype=torch.long)], dim=1)
    alone = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
    with_padding = model(input_ids=padded, attention_mask=mask).logits
    assert torch.allclose(alone, with_padding, atol=1e-5)
    counted = model(input_ids=padded, attention_mask=torch.ones_like(padded)).logits  # padding counted: differs
    assert not torch.allclose(alone, counted, atol=1e-4)


# --- what tasks and heads may read beyond the hidden states -----------------------------------------------

class _FirstTokenOf(torch.nn.Module):
    """A head that asks for ``input_ids``: the logits are the hidden state at the first token ``token``."""

    reads_input_ids = True

    def __init__(self, token: int) -> None:
        super().__init__()
        self.token = token

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor, labels: Any, input_ids: torch.Tensor) -> tuple:
        position = (input_ids == self.token).int().argmax(1)
        return hidden[torch.arange(hidden.size(0)), position], None


def test_a_head_that_reads_input_ids_gets_them() -> None:
    body = built(MeanPoolHead(), "AutoModelForSequenceClassification", num_labels=2).body.eval()
    model = HeadModel(body, _FirstTokenOf(7), "sequence", "first-token")
    ids = torch.tensor([[2, 7, 9, 3], [2, 9, 7, 3]])
    hidden = body(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
    assert torch.allclose(model(ids).logits, torch.stack([hidden[0, 1], hidden[1, 2]]))


def test_embeddings_grow_to_a_tokenizer_the_task_extended_and_never_shrink() -> None:
    from tlzoo.engine.run import fit_embeddings

    headed = built(MeanPoolHead(), "AutoModelForSequenceClassification", num_labels=2)
    plain = tiny_bert().build_model("AutoModelForSequenceClassification", num_labels=2)
    size = plain.get_input_embeddings().num_embeddings
    for model in (headed, plain):
        fit_embeddings(model, size + 3)
        embeddings = model.base_model.get_input_embeddings()
        assert embeddings.num_embeddings == size + 3 and model.config.vocab_size == size + 3
        fit_embeddings(model, size - 10)
        assert model.base_model.get_input_embeddings().num_embeddings == size + 3


@pytest.mark.parametrize("head", [MlpHead(), CrfHead()])
def test_token_heads_give_logits_per_token_and_a_loss_that_trains(head: Any) -> None:
    model = built(head, "AutoModelForTokenClassification", num_labels=len(TAGS), id2label=dict(enumerate(TAGS)))
    ids = torch.randint(5, 100, (3, 8))
    labels = torch.randint(0, 2, (3, 8))
    labels[:, 0] = labels[:, -1] = -100  # special tokens
    labels[:, 3] = -100  # a continuation sub-token
    out = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels)
    assert out.logits.shape == (3, 8, len(TAGS)) and out.loss.ndim == 0 and torch.isfinite(out.loss)
    out.loss.backward()
    assert all(p.grad is not None for p in model.head.parameters())


def test_crf_refuses_other_schemes_than_iob2() -> None:
    with pytest.raises(TlzooError, match="crf head decodes IOB2 tags, and this training data uses IOBES"):
        CrfHead().build(tiny_bert(), "AutoModelForTokenClassification", {"scheme": "IOBES"}, num_labels=len(TAGS),
                        id2label=dict(enumerate(TAGS)))


# --- the CRF -------------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(types=st.integers(1, 3), length=st.integers(1, 12), batch=st.integers(1, 3), seed=st.integers(0, 10_000),
       padding=st.integers(0, 4))
def test_viterbi_never_outputs_an_invalid_iob2_sequence(types: int, length: int, batch: int, seed: int,
                                                        padding: int) -> None:
    labels = ["O"] + [f"{p}-T{k}" for k in range(types) for p in "BI"]
    generator = torch.Generator().manual_seed(seed)
    crf = LinearChainCrf(labels)
    with torch.no_grad():  # random learnt scores that favour invalid moves: the constraints must win
        crf.transitions.copy_(torch.randn(len(labels), len(labels), generator=generator) * 5)
        crf.start.copy_(torch.randn(len(labels), generator=generator) * 5)
    emissions = torch.randn(batch, length + padding, len(labels), generator=generator) * 5
    inside = torch.tensor([label.startswith("I-") for label in labels])
    emissions[..., inside] += 10  # the emissions alone would pick I- tags everywhere
    mask = torch.arange(length + padding).expand(batch, -1) < length
    paths = crf.decode(emissions, mask)
    assert paths.shape == (batch, length + padding)
    for row in paths:
        assert is_valid_iob2([labels[i] for i in row[:length].tolist()])


def test_crf_likelihood_is_a_distribution_over_valid_paths() -> None:
    """Summing exp(-nll) over every fully labelled valid sequence of length 3 gives 1."""
    import itertools

    labels = ["O", "B-X", "I-X"]
    crf = LinearChainCrf(labels)
    with torch.no_grad():
        crf.transitions.normal_()
    emissions = torch.randn(1, 3, 3)
    mask = torch.ones(1, 3, dtype=torch.bool)
    total = sum(torch.exp(-crf.nll(emissions, torch.tensor([path]), mask)).item()
                for path in itertools.product(range(3), repeat=3) if is_valid_iob2([labels[i] for i in path]))
    assert total == pytest.approx(1.0, abs=1e-4)
    latent = crf.nll(emissions, torch.full((1, 3), -100), mask)  # nothing known: probability 1
    assert latent.item() == pytest.approx(0.0, abs=1e-5)


# --- training and loading ------------------------------------------------------------------------------

def test_mean_pool_model_trains_saves_safetensors_and_loads_with_tlzoo_load(tiny_options: dict) -> None:
    result = tlzoo.train("classification", head="mean-pool", **tiny_options)
    folder = Path(result.output_dir)
    manifest = json.loads((folder / "tlzoo.json").read_text())
    assert manifest["head"] == "mean-pool"
    assert not list(folder.glob("*.bin")) and not list(folder.glob("*.pt")) and (folder / "model.safetensors").is_file()
    card = (folder / "README.md").read_text()
    assert "head `mean-pool`" in card and "load it with `tlzoo.load`" in card
    model = tlzoo.load(str(folder))
    assert isinstance(model.model, HeadModel) and model.model.head_name == "mean-pool"
    again = model.evaluate(tiny_options["validation"])
    assert again["accuracy"] == pytest.approx(result.metrics["validation"]["accuracy"])
    assert model.predict("a fine film")[0]["label"] in manifest["state"]["labels"]


def test_the_default_head_still_saves_a_plain_transformers_model(tiny_options: dict) -> None:
    import transformers

    result = tlzoo.train("classification", **{**tiny_options, "max_steps": 1})
    folder = Path(result.output_dir)
    assert json.loads((folder / "tlzoo.json").read_text())["head"] == "default"
    assert "load directly with `transformers.AutoModelForSequenceClassification" in (folder / "README.md").read_text()
    transformers.AutoModelForSequenceClassification.from_pretrained(folder)


def test_crf_ner_model_trains_and_loads_and_its_tags_are_valid_iob2(tmp_path: Path) -> None:
    from tlzoo_ner.sample import paths

    sample = paths()
    result = tlzoo.train("ner", backbone="tiny-bert", head="crf", train=sample["train"],
                         validation=sample["validation"], output=str(tmp_path / "crf"), max_steps=6, batch_size=8,
                         learning_rate=3e-3, quiet=True, seed=0)
    model = tlzoo.load(result.output_dir)
    assert model.manifest["head"] == "crf"
    assert model.evaluate(sample["validation"])["f1"] == pytest.approx(result.metrics["validation"]["f1"])
    examples = model.task.inputs_to_examples(["John Smith flew from London to Paris.", "Angela Merkel spoke."])
    raw = model.task.postprocess(_outputs(model, examples), _features(model, examples), examples, model.state)
    assert all(is_valid_iob2(p["tags"]) for p in raw)  # before the task's repair step


def _features(model: Any, examples: Any) -> Any:
    from tlzoo.engine.data import tokenize

    return tokenize(model.task, examples, model.tokenizer, model.state, model.max_length, False, "tokenising")


def _outputs(model: Any, examples: Any) -> list[Any]:
    from tlzoo.engine.inference import run_forward

    return run_forward(model.task, model.model, _features(model, examples), model.collator, 8, {})


# --- choosing and listing on the CLI -------------------------------------------------------------------

@pytest.mark.parametrize(("task", "head", "message"), [
    ("ner", "mean-pool", "error: head 'mean-pool' does not fit task 'ner' (one output per token); choose one of "
                         "crf, default, mlp"),
    ("classification", "crf", "error: head 'crf' does not fit task 'classification' (one output per text); choose "
                              "one of default, mean-pool, mlp"),
    ("extractive-qa", "mlp", "error: head 'mlp' does not fit task 'extractive-qa' (a AutoModelForQuestionAnswering); "
                             "choose one of default"),
    ("classification", "mean-poll", "error: no head named 'mean-poll'; did you mean 'mean-pool'?"),
    ("classification", "entity-start", "error: head 'entity-start' does not fit task 'classification' (it serves "
                                       "only relation-extraction); choose one of default, mean-pool, mlp"),
])
def test_a_head_that_does_not_fit_is_one_line_with_the_choices(tmp_path: Path, sample: dict, task: str, head: str,
                                                               message: str) -> None:
    result = run_tlzoo("train", task, "--backbone", "tiny-bert", "--train", sample["train"], "--head", head,
                       "--output", str(tmp_path / "out"))
    assert result.returncode != 0
    assert result.stderr.strip() == message
    assert not (tmp_path / "out").exists()


def test_list_heads_and_info_describe_them() -> None:
    listed = run_tlzoo("list", "heads", "--json")
    assert {row["name"] for row in json.loads(listed.stdout)} >= {"default", "mean-pool", "mlp", "crf"}
    info = run_tlzoo("info", "mean-pool").stdout
    assert "mean-pool (head, from tlzoo)" in info and "fits: ['sequence']" in info
    qa = run_tlzoo("info", "extractive-qa").stdout
    assert "heads (--head NAME): default (this task keeps its transformers head)" in qa
    assert "heads (--head NAME): default, mean-pool, mlp" in run_tlzoo("info", "classification").stdout
