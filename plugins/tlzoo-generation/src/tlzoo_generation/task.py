"""The ``text-generation`` task: the decoder route of :class:`tlzoo.seq2seq.task.Seq2SeqTask` with the prompt as
written (or a conversation in the backbone's chat template) instead of an instruction wrapped around a source.

A training row is ``prompt + completion + end`` with the loss on the completion and its end token only; a
prompt longer than ``max_length`` keeps its end (the part next to the completion). Outputs end at the end
token or at the first ``stop`` string. Sampling (``do_sample`` with ``temperature``, ``top_p`` and ``sample_seed``),
beams and the output length are prediction options: set per call, per request, or per evaluation run.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, cast

from tlzoo.api import TlzooError
from tlzoo.seq2seq.task import GENERATION_OPTIONS, Seq2SeqOptions, Seq2SeqTask, end_token_id
from tlzoo.task import Built, ForwardContext, TaskOptions
from tlzoo_generation.data import read_completions

PLAIN_CHAT = "{role}: {content}\n"
"""How a conversation is written for a backbone whose tokenizer has no chat template, turn by turn; the prompt
then ends with ``assistant:`` and a line break."""


@dataclasses.dataclass
class GenerationOptions(Seq2SeqOptions):
    max_target_length: int = 256
    """Completion tokens kept for training (longer completions are cut; generation has its own limit)."""
    max_new_tokens: int = 128
    """Generation: the most tokens generated per output."""
    do_sample: bool = False
    """Generation: sample each token (with temperature and top_p) instead of greedy or beam search."""
    temperature: float = 1.0
    """Generation: sampling temperature (below 1 sharper, above 1 flatter)."""
    top_p: float = 1.0
    """Generation: nucleus sampling, the smallest set of tokens holding this probability (1: all)."""
    sample_seed: int | None = None
    """Generation: seed of the sampler, for repeatable samples (unset: whatever the RNG holds)."""
    stop: list[str] | str | None = None
    """Generation: text(s) that end an output (cut before it); a CLI value is one stop string."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.temperature > 0:
            raise TlzooError(f"--temperature must be > 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise TlzooError(f"--top-p must be in (0, 1], got {self.top_p}")
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        if not all(isinstance(s, str) for s in stops):
            raise TlzooError(f"--stop takes text, got {self.stop!r}")
        self.stop = [s for s in stops if s] or None

    def generate_kwargs(self) -> dict[str, Any]:
        kwargs = super().generate_kwargs()
        if self.do_sample:
            kwargs.update(do_sample=True, temperature=self.temperature, top_p=self.top_p)
        return kwargs


class GenerationTask(Seq2SeqTask):
    name = "text-generation"
    model_class: ClassVar[str] = "AutoModelForCausalLM"
    options_class: ClassVar[type[TaskOptions]] = GenerationOptions
    primary_metric = "rougeL"
    metrics = ("completion",)
    output_key = "completion"
    default_backbone = "smollm2-135m"
    default_hparams: Mapping[str, Any] = {"learning_rate": 1e-4, "epochs": 3, "batch_size": 8,
                                          "eval_batch_size": 16, "max_length": 512}
    evaluation_loss = True
    prediction_options: ClassVar[tuple[str, ...]] = (*GENERATION_OPTIONS, "do_sample", "temperature", "top_p",
                                                     "sample_seed", "stop")
    options: GenerationOptions

    def input_keys(self) -> tuple[str, ...]:
        return ("prompt", "text", "source")

    def load_split(self, path: str, split: str) -> Any:
        return read_completions(path)

    def inputs_to_examples(self, inputs: Sequence[Any]) -> Any:
        """A string is a prompt; a dict has ``prompt`` (or ``text``), or ``messages`` (a conversation to answer)."""
        from tlzoo.engine.data import Columns

        sources, turns = [], []
        for value in inputs:
            messages = value.get("messages") if isinstance(value, Mapping) else None
            if messages is not None:
                turns.append(_prompt_turns(messages))
                sources.append("")
            else:
                turns.append("")
                sources.append(self.input_text(value))
        return Columns({"source": sources, "messages": turns})

    def build_model(self, backbone: Any, state: Mapping[str, Any]) -> Built:
        if backbone.kind != "decoder":
            why = ("an encoder reads a whole text at once and has no next-token head to continue it with"
                   if backbone.kind == "encoder" else "an encoder-decoder writes its output from a separate "
                   "encoding of the input, not as the continuation of a prompt")
            raise TlzooError(f"text-generation continues a prompt token by token, so it needs a causal (decoder) LM, "
                             f"and {backbone.name!r} is an {backbone.kind}: {why}; use smollm2-135m, tiny-gpt, or "
                             f"a causal LM folder or hub id (for encoder-decoders, see the translation and "
                             f"summarization tasks)")
        return super().build_model(backbone, state)

    def decoder_prompts(self, examples: Mapping[str, list], tokenizer: Any,
                        max_length: int) -> tuple[list[list[int]], list[bool]]:
        """The prompt as written, or the conversation in the chat template; the first tokens are dropped to fit."""
        texts = [chat_prompt(tokenizer, json.loads(turns)) if turns else source
                 for source, turns in zip(examples["source"], examples["messages"], strict=True)]
        encoded = tokenizer(texts, add_special_tokens=False)["input_ids"]
        start = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else end_token_id(tokenizer)
        prompts = [ids[-max_length:] if ids else [start] for ids in encoded]  # generation needs a token to go on
        return prompts, [len(ids) > max_length for ids in encoded]

    def target_text(self, target: str) -> str:
        return target

    def stop_strings(self, model: Any, options: TaskOptions) -> list[str]:
        return list(cast(GenerationOptions, options).stop or [])

    def generation_kwargs(self, model: Any, context: ForwardContext) -> dict[str, Any]:
        """The settings of :class:`GenerationOptions`; with ``sample_seed`` and sampling, torch's RNG is seeded."""
        options = cast(GenerationOptions, context.options)
        if options.do_sample and options.sample_seed is not None:
            import torch

            torch.manual_seed(options.sample_seed)
        return super().generation_kwargs(model, context)


def chat_prompt(tokenizer: Any, turns: list[dict[str, str]]) -> str:
    """``turns`` rendered with the tokenizer's chat template, up to the cue for the assistant's answer
    (:data:`PLAIN_CHAT` lines then ``assistant:`` when it has none)."""
    if getattr(tokenizer, "chat_template", None):
        return str(tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True))
    return "".join(PLAIN_CHAT.format(**turn) for turn in turns) + "assistant:\n"


def _prompt_turns(messages: Any) -> str:
    """Prediction messages as the JSON the examples hold: all the turns, with a final assistant turn dropped."""
    if not isinstance(messages, list) or not all(isinstance(t, Mapping) and isinstance(t.get("content"), str)
                                                 and isinstance(t.get("role"), str) for t in messages):
        raise TlzooError(f"text-generation messages must be a list of {{\"role\", \"content\"}} turns; "
                         f"got {str(messages)[:80]!r}")
    turns = [{"role": t["role"], "content": t["content"]} for t in messages]
    if turns and turns[-1]["role"] == "assistant":
        turns = turns[:-1]
    if not turns:
        raise TlzooError("text-generation messages hold no turn to answer; put at least the user's turn in them")
    return json.dumps(turns, ensure_ascii=False)
