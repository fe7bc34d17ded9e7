"""The base of text-to-text tasks, for the three kinds of generation backbone.

- **encoder-decoder** (T5, BART, Marian, or a warm-started ``a+b`` pair): the source (after an
  optional task prefix, T5's ``"translate English to German: "``) feeds the encoder, the target
  becomes the labels; the model shifts them right behind its decoder start token. A leading label
  token equal to that start token is dropped (a BERT tokenizer puts [CLS] first, which is also a
  BERT2BERT decoder's start), so the decoder never learns to repeat its start token. Labels end
  on the end token even when the tokenizer adds none (GPT-2-style BPE vocabularies don't), or the
  model would never learn to stop.
- **decoder** (a causal LM such as SmolLM2): one sequence ``prompt + target + end`` where the prompt
  reads ``"{Instruction}:\\n{source}\\n{Target name}:"``; the labels are -100 over the prompt so the
  loss covers the target only. Training batches are right-padded, generation prompts left-padded.
  A generated answer ends at the end token or at its first line break.

Examples hold ``source`` (text), ``target`` (the training target) and ``references`` (the list of
acceptable outputs that metrics compare against). Readers in the task plugins produce them.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from tlzoo.api import TlzooError
from tlzoo.task import BaseTask, Built, ForwardContext, TaskOptions, truncation_flags

if TYPE_CHECKING:
    from tlzoo.seq2seq.stopping import StopCheck

KINDS = ("encoder-decoder", "decoder")
T5_FAMILY = frozenset({"t5", "mt5", "umt5", "longt5"})
"""Model types pretrained with a task prefix on their inputs."""


@dataclasses.dataclass
class Seq2SeqOptions(TaskOptions):
    source_prefix: str | None = None
    """Text put before every source for encoder-decoders. Unset: the task's own prefix (e.g.
    ``"summarize: "``) for T5-family backbones, which were pretrained with one, nothing otherwise."""
    max_target_length: int = 128
    """Target tokens kept for training (longer targets are cut; generation has its own limit)."""
    max_new_tokens: int = 64
    """Generation: the most tokens generated per output."""
    num_beams: int = 1
    """Generation: beam size (1: greedy)."""
    length_penalty: float = 1.0
    """Generation: beam-search length penalty (>1 favours longer outputs)."""
    no_repeat_ngram_size: int = 0
    """Generation: forbid repeating n-grams of this size (0: off)."""

    def __post_init__(self) -> None:
        for name, low in (("max_target_length", 1), ("max_new_tokens", 1), ("num_beams", 1),
                          ("no_repeat_ngram_size", 0)):
            if getattr(self, name) < low:
                raise TlzooError(f"--{name.replace('_', '-')} must be >= {low}, got {getattr(self, name)}")

    def generate_kwargs(self) -> dict[str, Any]:
        """The generation settings as ``model.generate`` keyword arguments."""
        kwargs: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "num_beams": self.num_beams}
        if self.num_beams > 1:
            kwargs["length_penalty"] = self.length_penalty
        if self.no_repeat_ngram_size:
            kwargs["no_repeat_ngram_size"] = self.no_repeat_ngram_size
        return kwargs


GENERATION_OPTIONS = ("max_new_tokens", "num_beams", "length_penalty", "no_repeat_ngram_size")
"""The :class:`Seq2SeqOptions` a prediction call may change (older folders saved them in the engine config,
as ``generation_<name>``)."""


def end_token_id(tokenizer: Any) -> int:
    """The token that ends a sequence: EOS, else [SEP] (BERT-style vocabularies have no EOS)."""
    end = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else tokenizer.sep_token_id
    if end is None:
        raise TlzooError("the backbone's tokenizer has neither an EOS nor a [SEP] token to end a target with")
    return int(end)


def pad_token_id(tokenizer: Any) -> int:
    """[PAD], else the end token (many causal LMs ship without a pad token)."""
    return int(tokenizer.pad_token_id) if tokenizer.pad_token_id is not None else end_token_id(tokenizer)


def generation_stats(predictions: Sequence[str]) -> dict[str, float]:
    """Average length in words, and the share of distinct outputs (a collapsed model repeats one)."""
    if not predictions:
        return {"gen_len": 0.0, "distinct": 0.0}
    return {"gen_len": sum(len(p.split()) for p in predictions) / len(predictions),
            "distinct": len(set(predictions)) / len(predictions)}


class DecoderOnlyCollator:
    """Pads decoder-only features: right for training (labels -100), left for generation prompts.

    Generation appends to the right end of each row, so prompts must end flush; training rows keep
    positions from 0 like in pretraining.
    """

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, features: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        import torch

        width = max(len(f["input_ids"]) for f in features)
        training = "labels" in features[0]
        batch: dict[str, list[list[int]]] = {"input_ids": [], "attention_mask": [], "labels": []}
        for feature in features:
            ids = list(feature["input_ids"])
            fill = width - len(ids)
            rows = {"input_ids": (ids, self.pad_id), "attention_mask": ([1] * len(ids), 0)}
            if training:
                rows["labels"] = (list(feature["labels"]), -100)
            for key, (values, pad) in rows.items():
                batch[key].append(values + [pad] * fill if training else [pad] * fill + values)
        return {key: torch.tensor(values, dtype=torch.long) for key, values in batch.items() if values}


class Seq2SeqTask(BaseTask):
    """Text in, text out. Subclasses set ``name``, metrics and the reader, and word the task."""

    model_class: ClassVar[str] = "AutoModelForSeq2SeqLM"
    """Per run, :meth:`build_model` sets the instance's class by backbone kind (the manifest records it)."""
    options_class: ClassVar[type[TaskOptions]] = Seq2SeqOptions
    generative: ClassVar[bool] = True
    metric_kind: ClassVar[str] = "text"
    greater_is_better: ClassVar[bool] = True
    prediction_options: ClassVar[tuple[str, ...]] = GENERATION_OPTIONS
    streams: ClassVar[bool] = True
    output_key: ClassVar[str] = "prediction"
    """The key of the generated text in each prediction."""
    options: Seq2SeqOptions

    # -- wording, per task -------------------------------------------------------------------
    def instruction(self) -> str:
        """What to do, lower-case: ``"translate English to German"``; T5's prefix and the LM prompt."""
        raise NotImplementedError

    def target_name(self) -> str:
        """What the output is called in a decoder prompt: ``"German"``, ``"Summary"``."""
        raise NotImplementedError

    def input_keys(self) -> tuple[str, ...]:
        """Keys of a dict prediction input that may hold the source text, first found wins."""
        return ("source", "text")

    # -- data --------------------------------------------------------------------------------
    def references(self, examples: Any, state: Mapping[str, Any]) -> list[list[str]]:
        return list(examples["references"])

    def inputs_to_examples(self, inputs: Sequence[Any]) -> Any:
        from datasets import Dataset

        return Dataset.from_dict({"source": [self.input_text(value) for value in inputs]})

    def input_text(self, value: Any) -> str:
        """The source text of one prediction input: a string, or a dict with one of ``input_keys``."""
        if isinstance(value, str):
            return value
        if isinstance(value, Mapping):
            for key in self.input_keys():
                if key in value:
                    text = value[key]
                    return " ".join(text) if isinstance(text, list) else str(text)
        raise TlzooError(f"{self.name} input must be a string or an object with one of the keys "
                         f"{', '.join(self.input_keys())}; got {str(value)[:80]!r}")

    # -- model -------------------------------------------------------------------------------
    def build_model(self, backbone: Any, state: Mapping[str, Any]) -> Built:
        """Build by backbone kind; the facts are what preprocessing and prediction need in ``state``."""
        if backbone.kind not in KINDS:
            raise TlzooError(
                f"{self.name} generates text, so it needs an encoder-decoder or a decoder backbone, and "
                f"{backbone.name!r} is an {backbone.kind}; use e.g. a T5/BART folder, tiny-bart, a pair of "
                f"encoders warm-started as one (minilm-l6+minilm-l6) or a decoder LM (smollm2-135m)")
        decoder_only = backbone.kind == "decoder"
        self.model_class = "AutoModelForCausalLM" if decoder_only else "AutoModelForSeq2SeqLM"
        model = backbone.build_model(self.model_class)
        facts: dict[str, Any] = {"kind": backbone.kind}
        if backbone.kind == "encoder-decoder":
            prefix = self.options.source_prefix
            if prefix is None:
                prefix = f"{self.instruction()}: " if model.config.model_type in T5_FAMILY else ""
            start = model.generation_config.decoder_start_token_id
            facts.update(source_prefix=prefix, decoder_start_token_id=start if start is not None
                         else model.config.decoder_start_token_id)
        return Built(model, facts)

    def preprocess(self, examples: Mapping[str, list], tokenizer: Any, state: Mapping[str, Any],
                   max_length: int, training: bool) -> dict[str, list]:
        """Features for training (with ``labels``) or for generation (the model's inputs only)."""
        if state["kind"] == "decoder":
            return self._decoder_features(examples, tokenizer, max_length, training)
        sources = [state["source_prefix"] + text for text in examples["source"]]
        encoded = tokenizer(sources, max_length=max_length, truncation=True, return_token_type_ids=False)
        features: dict[str, list] = {"input_ids": encoded["input_ids"],
                                     "attention_mask": encoded["attention_mask"],
                                     "truncated": truncation_flags(encoded, max_length)}
        if training:
            labels = tokenizer(text_target=examples["target"], max_length=self.options.max_target_length,
                               truncation=True)["input_ids"]
            start, end = state["decoder_start_token_id"], end_token_id(tokenizer)
            room = max(self.options.max_target_length - 1, 1)
            labels = [ids[1:] if ids and ids[0] == start else ids for ids in labels]
            features["labels"] = [ids if ids and ids[-1] == end else ids[:room] + [end] for ids in labels]
        return features

    def decoder_prompts(self, examples: Mapping[str, list], tokenizer: Any,
                        max_length: int) -> tuple[list[list[int]], list[bool]]:
        """The prompt token ids of each example for a decoder LM, and whether each lost tokens to ``max_length``.

        Here ``"{Instruction}:\\n{source}\\n{Target name}:"`` with the source cut to fit; a subclass may build
        prompts its own way (e.g. a chat template), the target and the loss mask are added the same way.
        """
        instruction = self.instruction()
        head = tokenizer(f"{instruction[:1].upper()}{instruction[1:]}:\n", add_special_tokens=False)
        cue = tokenizer(f"\n{self.target_name()}:", add_special_tokens=False)
        room = max(max_length - len(head["input_ids"]) - len(cue["input_ids"]), 1)
        sources = tokenizer(list(examples["source"]), add_special_tokens=False, truncation=True,
                            max_length=room)
        prompts = [head["input_ids"] + ids + cue["input_ids"] for ids in sources["input_ids"]]
        return prompts, truncation_flags(sources, room)

    def target_text(self, target: str) -> str:
        """A training target as it follows the prompt (here after a space, as the cue ends on ``:``)."""
        return f" {target}"

    def _decoder_features(self, examples: Mapping[str, list], tokenizer: Any, max_length: int,
                          training: bool) -> dict[str, list]:
        """``prompt + target + end`` with the loss on the target; the prompt fits in ``max_length``."""
        prompts, truncated = self.decoder_prompts(examples, tokenizer, max_length)
        features: dict[str, list] = {"truncated": truncated}
        if not training:
            features.update(input_ids=prompts, attention_mask=[[1] * len(p) for p in prompts])
            return features
        end = end_token_id(tokenizer)
        room = max(self.options.max_target_length - 1, 1)
        targets = tokenizer([self.target_text(text) for text in examples["target"]], add_special_tokens=False,
                            truncation=True, max_length=room)["input_ids"]
        features["input_ids"] = [p + t + [end] for p, t in zip(prompts, targets, strict=True)]
        features["attention_mask"] = [[1] * len(ids) for ids in features["input_ids"]]
        features["labels"] = [[-100] * len(p) + t + [end] for p, t in zip(prompts, targets, strict=True)]
        return features

    def collator(self, tokenizer: Any, model: Any) -> Any:
        if model.config.is_encoder_decoder:
            from transformers import DataCollatorForSeq2Seq

            return DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100)
        return DecoderOnlyCollator(pad_token_id(tokenizer))

    def loss(self, model: Any, batch: Mapping[str, Any]) -> Any:
        """The model's own loss, computed from the logits of the labelled positions only (see
        :mod:`tlzoo.seq2seq.loss`): not over a decoder LM's prompt, nor the padding after short targets."""
        from tlzoo.seq2seq.loss import labelled_loss

        return labelled_loss(model, batch)

    def forward(self, model: Any, batch: Mapping[str, Any], context: ForwardContext) -> list[str]:
        """Generation with the options of ``context``, decoded to text and cut where the output ends; a row stops
        generating at its first stop string (see :meth:`stop_check`).

        Greedy search runs :func:`tlzoo.seq2seq.greedy.generate` (the same tokens, a row leaving the batch when it
        ends); beams, sampling and settings that change the scores run ``model.generate``.
        """
        from tlzoo.seq2seq import greedy

        inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
        kwargs = self.generation_kwargs(model, context)
        stopped = self.stop_check(model, context)
        if greedy.applies(model, kwargs):
            generated: Any = greedy.generate(model, inputs["input_ids"], inputs["attention_mask"], kwargs, stopped)
        else:
            prompt = 0 if model.config.is_encoder_decoder else inputs["input_ids"].shape[1]
            criteria = {} if stopped is None else {"stopping_criteria": stopped.criteria(prompt)}
            generated = model.generate(**inputs, **kwargs, **criteria)[:, prompt:]
        texts = context.tokenizer.batch_decode(generated, skip_special_tokens=True)
        return [self.cut_output(text, model, context.options)[0] for text in texts]

    def stop_check(self, model: Any, context: ForwardContext) -> StopCheck | None:
        """Whether a row's generated tokens hold a stop string (:meth:`cut_output` finds one in their text), asked
        after each token; None when there are no stop strings.

        transformers' own ``stop_strings`` would also end an output at a stop string inside the leading whitespace
        that :meth:`cut_output` skips (an answer opening with a line break), so its outputs would differ from the ones
        cut here and from :meth:`stream`'s.
        """
        from tlzoo.seq2seq.stopping import StopCheck

        stops = self.stop_strings(model, context.options)
        if not stops:
            return None
        return StopCheck(context.tokenizer, stops, lambda text: self.cut_output(text, model, context.options)[1])

    def generation_kwargs(self, model: Any, context: ForwardContext) -> dict[str, Any]:
        """``model.generate`` keyword arguments: the options' settings, and the end and pad tokens of a decoder."""
        kwargs = {"do_sample": False, **cast(Seq2SeqOptions, context.options).generate_kwargs()}
        if not model.config.is_encoder_decoder:
            kwargs.update(eos_token_id=end_token_id(context.tokenizer), pad_token_id=pad_token_id(context.tokenizer))
        return kwargs

    def stop_strings(self, model: Any, options: TaskOptions) -> list[str]:
        """Texts that end a generated output before its end token: a decoder's answer ends at its first line break
        (it would go on to write the next prompt), an encoder-decoder's only at its end token."""
        return [] if model.config.is_encoder_decoder else ["\n"]

    def cut_output(self, text: str, model: Any, options: TaskOptions) -> tuple[str, bool]:
        """The output in generated ``text`` (up to the first stop string, stripped), and whether a stop string
        ended it."""
        text = text.lstrip()
        found = [i for i in (text.find(stop) for stop in self.stop_strings(model, options) if stop) if i >= 0]
        return (text[:min(found)] if found else text).strip(), bool(found)

    def stream(self, model: Any, batch: Mapping[str, Any], context: ForwardContext) -> Iterator[str]:
        """The output for a one-row ``batch``, as pieces of text while it is generated (through transformers'
        ``TextIteratorStreamer``); the pieces join to what :meth:`forward` returns.

        A piece that could still turn out to begin a stop string is held back until it is known not to; once the
        output is cut, generation stops at the next token.
        """
        from threading import Event, Thread

        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        class _Cancel(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), cancelled.is_set(), dtype=torch.bool,
                                  device=input_ids.device)

        cancelled = Event()
        streamer = TextIteratorStreamer(context.tokenizer, skip_prompt=not model.config.is_encoder_decoder,
                                        skip_special_tokens=True)
        kwargs = {**self.generation_kwargs(model, context), "num_beams": 1}  # beams cannot stream
        inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
        failure: list[BaseException] = []

        def generate() -> None:
            try:
                with torch.inference_mode():
                    model.generate(**inputs, **kwargs, streamer=streamer,
                                   stopping_criteria=StoppingCriteriaList([_Cancel()]))
            except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
                failure.append(exc)
                streamer.end()

        hold = max((len(s) for s in self.stop_strings(model, context.options)), default=1) - 1
        worker = Thread(target=generate, name="tlzoo-stream", daemon=True)
        worker.start()
        text, sent = "", ""
        try:
            for piece in streamer:
                text += piece
                kept, stopped = self.cut_output(text, model, context.options)
                ready = kept if stopped else kept[:max(len(kept) - hold, len(sent))]
                if ready.startswith(sent) and len(ready) > len(sent):
                    yield ready[len(sent):]
                    sent = ready
                if stopped:
                    break
            else:
                kept = self.cut_output(text, model, context.options)[0]
                if kept.startswith(sent) and len(kept) > len(sent):
                    yield kept[len(sent):]
        finally:
            cancelled.set()
            worker.join()
        if failure:
            raise failure[0]

    # -- results -----------------------------------------------------------------------------
    def postprocess(self, outputs: Sequence[Any], features: Any, examples: Any,
                    state: Mapping[str, Any]) -> list[str]:
        return list(outputs)

    def format_prediction(self, prediction: Any, state: Mapping[str, Any]) -> dict[str, Any]:
        return {self.output_key: prediction}

    def write_artifacts(self, predictions: Sequence[Any], references: Sequence[Any],
                        state: Mapping[str, Any], folder: str) -> list[str]:
        """``predictions.jsonl``: each output beside its references, to read what the model writes."""
        path = Path(folder) / "predictions.jsonl"
        with open(path, "w", encoding="utf-8") as handle:
            for prediction, refs in zip(predictions, references, strict=True):
                handle.write(json.dumps({self.output_key: prediction, "references": list(refs)},
                                        ensure_ascii=False) + "\n")
        return [str(path)]
