"""The built-in heads. Each builds a torch module over the backbone's body (``AutoModel``) whose forward
returns transformers' output classes (``.logits``, and ``.loss`` with labels), so training, evaluation,
export and serving treat it like an ``AutoModelFor*`` model.

A model with a non-default head saves as ``config.json`` (the body's configuration, holding
``num_labels``, ``id2label`` and ``problem_type``) plus ``model.safetensors`` (body and head weights,
no pickle); :meth:`BodyHead.load` rebuilds it from the folder and the manifest's task state.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from tlzoo.api import TlzooError
from tlzoo.heads import head_level


class TransformersHead:
    """``default``: the task's own transformers class, built and loaded with plain transformers."""

    name = "default"

    def build(self, backbone: Any, model_class: str, state: Mapping[str, Any], **config: Any) -> Any:
        return backbone.build_model(model_class, **config)

    def load(self, folder: str, model_class: str, state: Mapping[str, Any]) -> Any:
        import transformers

        cls = getattr(transformers, model_class, None)
        if cls is None:
            raise TlzooError(f"{Path(folder) / 'tlzoo.json'}: unknown model class {model_class!r} "
                             f"(transformers {transformers.__version__})")
        return cls.from_pretrained(folder, use_safetensors=True)


class HeadModel(nn.Module):
    """``body`` (a transformers base model) with ``head`` on its last hidden states."""

    def __init__(self, body: Any, head: nn.Module, level: str, head_name: str) -> None:
        super().__init__()
        self.body, self.head, self.level, self.head_name = body, head, level, head_name
        self.config = body.config

    @property
    def base_model(self) -> Any:
        """The pretrained body, as transformers names it (strategies freeze it, LoRA adapts it)."""
        return self.body

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> Any:
        from transformers.modeling_outputs import SequenceClassifierOutput, TokenClassifierOutput

        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        hidden = self.body(**inputs).last_hidden_state
        extra = {"input_ids": input_ids} if getattr(self.head, "reads_input_ids", False) else {}
        logits, loss = self.head(hidden, attention_mask, labels, **extra)
        output = SequenceClassifierOutput if self.level == "sequence" else TokenClassifierOutput
        return output(loss=loss, logits=logits)

    def save_pretrained(self, folder: str | Path, safe_serialization: bool = True) -> None:
        """``config.json`` and ``model.safetensors``, as ``transformers`` writes them (never a pickle)."""
        from safetensors.torch import save_model

        Path(folder).mkdir(parents=True, exist_ok=True)
        self.config.save_pretrained(folder)
        save_model(self, str(Path(folder) / "model.safetensors"), metadata={"format": "pt", "head": self.head_name})


def sequence_loss(logits: torch.Tensor, labels: torch.Tensor, config: Any) -> torch.Tensor:
    """The loss transformers' sequence classifiers use for ``config.problem_type``."""
    functional = nn.functional
    problem = config.problem_type or ("regression" if config.num_labels == 1 else "single_label_classification")
    if problem == "regression":
        return functional.mse_loss(logits.squeeze(-1), labels.float().view(-1))
    if problem == "multi_label_classification":
        return functional.binary_cross_entropy_with_logits(logits, labels.float())
    return functional.cross_entropy(logits, labels.view(-1))


def token_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)


def _dropout(config: Any) -> float:
    value = getattr(config, "classifier_dropout", None)
    return float(value if value is not None else getattr(config, "hidden_dropout_prob", 0.1))


class BodyHead:
    """A head built on the backbone's body; subclasses make the layer (``layer``) for a level."""

    name: ClassVar[str] = ""

    def layer(self, config: Any, level: str, state: Mapping[str, Any]) -> nn.Module:
        raise NotImplementedError

    def build(self, backbone: Any, model_class: str, state: Mapping[str, Any], **config: Any) -> HeadModel:
        body = backbone.build_model("AutoModel", **config)
        level = head_level(model_class)
        return HeadModel(body, self.layer(body.config, level, state), level, self.name)

    def load(self, folder: str, model_class: str, state: Mapping[str, Any]) -> HeadModel:
        from safetensors.torch import load_model
        from transformers import AutoConfig, AutoModel

        config = AutoConfig.from_pretrained(folder)
        level = head_level(model_class)
        model = HeadModel(AutoModel.from_config(config), self.layer(config, level, state), level, self.name)
        load_model(model, str(Path(folder) / "model.safetensors"))
        return model


class _MeanPool(nn.Module):
    def __init__(self, config: Any) -> None:
        super().__init__()
        self.config = config
        self.dropout = nn.Dropout(_dropout(config))
        self.out = nn.Linear(config.hidden_size, config.num_labels)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor | None) -> tuple:
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        logits = self.out(self.dropout(pooled))
        return logits, None if labels is None else sequence_loss(logits, labels, self.config)


class MeanPoolHead(BodyHead):
    name = "mean-pool"

    def layer(self, config: Any, level: str, state: Mapping[str, Any]) -> nn.Module:
        return _MeanPool(config)


class _Mlp(nn.Module):
    def __init__(self, config: Any, level: str) -> None:
        super().__init__()
        self.config, self.level = config, level
        size, rate = config.hidden_size, _dropout(config)
        self.layers = nn.Sequential(nn.Dropout(rate), nn.Linear(size, size), nn.GELU(), nn.Dropout(rate),
                                    nn.Linear(size, config.num_labels))

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor | None) -> tuple:
        if self.level == "sequence":
            logits = self.layers(hidden[:, 0])
            return logits, None if labels is None else sequence_loss(logits, labels, self.config)
        logits = self.layers(hidden)
        return logits, None if labels is None else token_loss(logits, labels)


class MlpHead(BodyHead):
    name = "mlp"

    def layer(self, config: Any, level: str, state: Mapping[str, Any]) -> nn.Module:
        return _Mlp(config, level)


class _Crf(nn.Module):
    def __init__(self, config: Any) -> None:
        from tlzoo.heads.crf import LinearChainCrf

        super().__init__()
        labels = [config.id2label[i] for i in range(config.num_labels)]
        self.dropout = nn.Dropout(_dropout(config))
        self.emissions = nn.Linear(config.hidden_size, config.num_labels)
        self.crf = LinearChainCrf(labels)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor | None) -> tuple:
        """Loss: the CRF's negative log-likelihood. Logits: the emissions' log-probabilities with each
        position's Viterbi label raised to the top, so an argmax reads the decoded (valid) path and a
        softmax still gives a confidence."""
        emissions = self.emissions(self.dropout(hidden))
        real = mask.bool()
        loss = None if labels is None else self.crf.nll(emissions, labels, real)
        if loss is not None and self.training:
            return emissions, loss  # no decoding while training
        path = self.crf.decode(emissions, real)
        scores = emissions.float().log_softmax(-1)
        chosen = scores.gather(-1, path.unsqueeze(-1))
        ceiling = scores.max(-1, keepdim=True).values
        logits = torch.minimum(scores, chosen - 1e-3).scatter(-1, path.unsqueeze(-1), ceiling)
        return logits, loss


class CrfHead(BodyHead):
    name = "crf"

    def layer(self, config: Any, level: str, state: Mapping[str, Any]) -> nn.Module:
        scheme = state.get("scheme", "IOB2")
        if scheme not in ("IOB2", "none"):
            raise TlzooError(f"the crf head decodes IOB2 tags, and this training data uses {scheme}; convert the "
                             f"tags to IOB2 or use --head default or mlp")
        return _Crf(config)
