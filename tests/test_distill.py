"""Distillation's pieces without a task plugin: the loss on hand-computed examples, layer pruning, the
collator that pads the teacher's outputs, and resuming a distillation with the wrong command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from tlzoo.api import TlzooError
from tlzoo.distillation.loss import distillation_loss, kl_binary, kl_softmax, output_loss
from tlzoo.distillation.student import TeacherCollator
from tlzoo.distillation.teacher import MASK, kept_layers, pruned_copy, teacher_layers


def test_kl_on_a_hand_example() -> None:
    # teacher logits (ln 3, 0): p = (3/4, 1/4); student logits (0, 0): q = (1/2, 1/2); T = 1
    teacher = torch.tensor([[math.log(3.0), 0.0]])
    student = torch.tensor([[0.0, 0.0]])
    expected = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert kl_softmax(student, teacher, 1.0).item() == pytest.approx(expected, abs=1e-6)
    # T = 2 softens the teacher: logits / 2 -> (ln sqrt 3, 0): p = (sqrt3 / (1 + sqrt3), 1 / (1 + sqrt3))
    p = math.sqrt(3) / (1 + math.sqrt(3))
    expected_t2 = p * math.log(p / 0.5) + (1 - p) * math.log((1 - p) / 0.5)
    assert kl_softmax(student, teacher, 2.0).item() == pytest.approx(expected_t2, abs=1e-6)
    # the loss: alpha * CE + (1 - alpha) * T^2 * KL; CE of label 0 under q is ln 2
    loss = distillation_loss("softmax", "sequence", [student], [teacher], [torch.tensor([0])], torch.tensor([1]),
                             None, 2.0, 0.25)
    assert loss.item() == pytest.approx(0.25 * math.log(2) + 0.75 * 4 * expected_t2, abs=1e-6)


def test_binary_kl_per_label_and_mse() -> None:
    # one label: teacher sigmoid(ln 3) = 3/4, student sigmoid(0) = 1/2; the same numbers as above
    expected = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
    assert kl_binary(torch.tensor([0.0]), torch.tensor([math.log(3.0)]), 1.0).item() == pytest.approx(expected, 1e-6)
    mse = output_loss("mse", "sequence", torch.tensor([[1.0], [2.0]]), torch.tensor([[0.0], [0.0]]),
                      torch.tensor([1.0, 2.0]), torch.tensor([1, 1]), None, 4.0, 0.5)
    assert mse.item() == pytest.approx(0.5 * (1 + 4) / 2 + 0.5 * 0.0)  # no temperature on regression


def test_alpha_one_is_the_models_own_loss_and_unlabelled_rows_skip_it() -> None:
    torch.manual_seed(0)
    student, teacher = torch.randn(4, 3), torch.randn(4, 3)
    labels = torch.tensor([0, 2, 1, 1])
    plain = torch.nn.functional.cross_entropy(student, labels)
    assert output_loss("softmax", "sequence", student, teacher, labels, torch.ones(4), None, 2.0, 1.0).item() \
        == pytest.approx(plain.item(), abs=1e-6)
    # rows 2 and 3 are transfer text: the task loss is over rows 0 and 1 only, the KL over all four
    labelled = torch.tensor([1, 1, 0, 0])
    ce = torch.nn.functional.cross_entropy(student[:2], labels[:2])
    kl = kl_softmax(student, teacher, 2.0).mean() * 4
    assert output_loss("softmax", "sequence", student, teacher, labels, labelled, None, 2.0, 0.5).item() \
        == pytest.approx(0.5 * ce.item() + 0.5 * kl.item(), abs=1e-5)


def test_token_kl_only_on_aligned_subtokens() -> None:
    torch.manual_seed(1)
    student, teacher = torch.randn(1, 4, 3), torch.randn(1, 4, 3)
    mask = torch.tensor([[0, 1, 0, 1]])  # [CLS] word-start continuation word-start
    labels = torch.tensor([[-100, 2, -100, 0]])
    loss = output_loss("softmax", "token", student, teacher, labels, torch.ones(1), mask, 1.0, 0.0)
    assert loss.item() == pytest.approx(kl_softmax(student[0, [1, 3]], teacher[0, [1, 3]], 1.0).mean().item(),
                                        abs=1e-6)
    # QA positions: padding (attention 0) is out of the distribution
    start_s, start_t = torch.tensor([[1.0, 2.0, 50.0]]), torch.tensor([[2.0, 1.0, -50.0]])
    positions = output_loss("softmax", "position", start_s, start_t, None, torch.ones(1), torch.tensor([[1, 1, 0]]),
                            1.0, 0.0)
    assert positions.item() == pytest.approx(kl_softmax(start_s[:, :2], start_t[:, :2], 1.0).item(), abs=1e-5)


def test_student_specs_and_kept_layers() -> None:
    assert teacher_layers("teacher:layers=3") == 3 and teacher_layers("teacher") == 0
    assert teacher_layers("minilm-l6") is None
    with pytest.raises(TlzooError, match="expected teacher:layers=N"):
        teacher_layers("teacher:layer=3")
    assert kept_layers(6, 3) == [0, 2, 4] and kept_layers(12, 6) == [0, 2, 4, 6, 8, 10]
    assert kept_layers(6, 6) == list(range(6))


def test_pruned_copy_keeps_every_other_layer_and_the_head() -> None:
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=6, num_attention_heads=2,
                        intermediate_size=32, num_labels=2)
    teacher = BertForSequenceClassification(config).eval()
    student, total = pruned_copy(teacher, 3)
    assert total == 6 and student.config.num_hidden_layers == 3 and teacher.config.num_hidden_layers == 6
    assert len(student.bert.encoder.layer) == 3 and len(teacher.bert.encoder.layer) == 6
    for mine, theirs in zip(student.bert.encoder.layer, [teacher.bert.encoder.layer[i] for i in (0, 2, 4)]):
        assert torch.equal(mine.output.dense.weight, theirs.output.dense.weight)
        assert mine.output.dense.weight.data_ptr() != theirs.output.dense.weight.data_ptr()  # a copy
    assert torch.equal(student.classifier.weight, teacher.classifier.weight)
    assert torch.equal(student.bert.embeddings.word_embeddings.weight, teacher.bert.embeddings.word_embeddings.weight)
    student.eval()
    ids = torch.tensor([[1, 5, 7, 2]])
    assert student(input_ids=ids).logits.shape == (1, 2)
    with pytest.raises(TlzooError, match="has only 6 layers"):
        pruned_copy(teacher, 8)


def test_collator_puts_token_targets_at_the_real_tokens_whatever_the_padding_side() -> None:
    def left_padding(rows: list[dict]) -> dict:
        width = max(len(r["input_ids"]) for r in rows)
        return {"input_ids": torch.tensor([[0] * (width - len(r["input_ids"])) + r["input_ids"] for r in rows]),
                "attention_mask": torch.tensor([[0] * (width - len(r["input_ids"])) + [1] * len(r["input_ids"])
                                                for r in rows])}

    collate = TeacherCollator(left_padding, ("teacher_logits", MASK), ("teacher_logits", MASK))
    batch = collate([{"input_ids": [5, 6, 7], "teacher_logits": [[1.0], [2.0], [3.0]], MASK: [0, 1, 1]},
                     {"input_ids": [8], "teacher_logits": [[9.0]], MASK: [1]}])
    assert batch["teacher_logits"][:, :, 0].tolist() == [[1.0, 2.0, 3.0], [0.0, 0.0, 9.0]]
    assert batch[MASK].tolist() == [[0, 1, 1], [0, 0, 1]]


def test_a_distillation_resumes_only_with_tlzoo_distill(tmp_path: Path) -> None:
    from tlzoo.engine.run import resolve_config

    (tmp_path / "run_config.json").write_text(json.dumps({"task": "toy", "distill": {"teacher": "t"}}))
    with pytest.raises(TlzooError, match="is a run of 'tlzoo distill'; continue it with: tlzoo distill --resume"):
        resolve_config(None, output=str(tmp_path), resume=True)
