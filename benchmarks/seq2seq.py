"""Translation and summarization on each generation-backbone route, under one fixed CPU budget.

    .venv/bin/python benchmarks/seq2seq.py                 # both parts: ~1h50 on 2 cores
    .venv/bin/python benchmarks/seq2seq.py --part speed    # training speed against Seq2SeqTrainer (~8 minutes)
    .venv/bin/python benchmarks/seq2seq.py --part accuracy # 6 runs of 12 min + evaluation (~1h40)
    .venv/bin/python benchmarks/seq2seq.py --quick         # smoke test of both parts (~6 minutes)
    .venv/bin/python benchmarks/seq2seq.py --part speed --quick   # smoke test of the speed part (tiny models, seconds)
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

The speed part (its own section, ``seq2seq-speed``): on routes 2 and 3, the same training steps under the HF
reference, ``Seq2SeqTrainer``, and under ``tlzoo train``, in one process per route, in interleaved rounds
(Trainer, tlzoo, Trainer, tlzoo...), compared as the ratio of median training samples/s; also the CPU time
per step and the two loss curves over the steps (the same batches in the same order on both sides).
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
SPEED = {"batch_size": 16, "max_length": 128, "learning_rate": 1e-4, "weight_decay": 0.01, "warmup_ratio": 0.06,
         "max_grad_norm": 1.0, "seed": 42}
"""The recipe of the speed part, the same on both sides (fp32, linear schedule, fused AdamW)."""
SPEED_ROUTES = {"minilm-l6+minilm-l6": 16, "smollm2-135m": 4}
"""Training steps per run of each route in the speed part (sized for about 8 minutes of the benchmark lock)."""
SPEED_ROUNDS = 3
QUICK_SPEED_ROUTES = {"tiny-bert+tiny-bert": 3, "tiny-gpt": 3}
"""--part speed --quick: tiny random models, to check the script in seconds."""
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


def speed_features(task: Any, backbone: Any, built: Any, train: str, steps: int) -> tuple[Any, list[int]]:
    """The first ``steps`` batches' pairs tokenised as ``tlzoo train`` does, and the order of tlzoo's
    length-grouped batches (seed 42, first epoch): the Trainer is given the same batches in the same order."""
    from tlzoo.engine.data import LengthGroupedBatches

    sources, targets = read_pairs(train, steps * SPEED["batch_size"])
    features = task.preprocess({"source": sources, "target": targets}, backbone.load_tokenizer(), built.facts,
                               SPEED["max_length"], True)
    batches = LengthGroupedBatches([len(ids) for ids in features["input_ids"]], SPEED["batch_size"], SPEED["seed"])
    return features, [i for batch in batches.batches() for i in batch]


def trainer_run(name: str, train: str, steps: int) -> dict[str, Any]:
    """One run of the HF reference: ``Seq2SeqTrainer`` with its defaults (fused AdamW, the model's own loss),
    on the model ``tlzoo train`` builds (BERT2BERT: transformers' ``EncoderDecoderModel`` of two MiniLM;
    SmolLM2: ``AutoModelForCausalLM`` from the GGUF file) and tlzoo's features and batches, fed in order."""
    import time

    from datasets import Dataset
    from tlzoo_translation.task import TranslationTask
    from transformers import (
        DataCollatorForSeq2Seq,
        Seq2SeqTrainer,
        Seq2SeqTrainingArguments,
        TrainerCallback,
        set_seed,
    )

    from tlzoo.backbones.resolve import resolve_backbone

    set_seed(SPEED["seed"])
    task, backbone = TranslationTask(), resolve_backbone(name)
    built = task.build_model(backbone, {})
    features, order = speed_features(task, backbone, built, train, steps)
    columns = ("input_ids", "attention_mask", "labels")
    data = Dataset.from_dict({column: [features[column][i] for i in order] for column in columns})
    arguments = Seq2SeqTrainingArguments(
        output_dir=str(WORK / "seq2seq-trainer"), per_device_train_batch_size=SPEED["batch_size"], max_steps=steps,
        learning_rate=SPEED["learning_rate"], weight_decay=SPEED["weight_decay"], warmup_steps=SPEED["warmup_ratio"],
        max_grad_norm=SPEED["max_grad_norm"], seed=SPEED["seed"], save_strategy="no", eval_strategy="no",
        report_to="none", use_cpu=True, logging_steps=1, disable_tqdm=True, train_sampling_strategy="sequential")
    clock: dict[str, float] = {}

    class CpuClock(TrainerCallback):
        def on_train_begin(self, *args: Any, **kwargs: Any) -> None:
            clock["start"] = time.process_time()

        def on_train_end(self, *args: Any, **kwargs: Any) -> None:
            clock["cpu"] = time.process_time() - clock["start"]

    trainer = Seq2SeqTrainer(model=built.model, args=arguments, train_dataset=data, callbacks=[CpuClock()],
                             data_collator=DataCollatorForSeq2Seq(backbone.load_tokenizer(), label_pad_token_id=-100))
    seconds = trainer.train().metrics["train_runtime"]
    losses = [record["loss"] for record in trainer.state.log_history if "loss" in record]
    samples = steps * SPEED["batch_size"]
    return {"seconds": seconds, "samples_per_second": samples / seconds, "cpu_seconds": clock["cpu"], "losses": losses}


def tlzoo_run(name: str, train: str, steps: int, output: Path) -> dict[str, Any]:
    """The same steps through ``tlzoo.train`` (no evaluation set: nothing but training is timed). The CPU time of
    its training loop is read by wrapping ``FitLoop.fit`` (see :func:`job_speed`)."""
    import tlzoo

    options = {"max_steps": steps, "max_train_samples": steps * SPEED["batch_size"], "precision": "fp32",
               "logging_steps": 1, "eval_every": "none", **SPEED}
    result = tlzoo.train("translation", backbone=name, train=train, output=str(output), quiet=True, overwrite=True,
                         **options)
    records = [json.loads(line) for line in (output / "log.jsonl").read_text(encoding="utf-8").splitlines()]
    train_metrics = result.metrics["train"]
    return {"seconds": train_metrics["seconds"], "samples_per_second": train_metrics["samples_per_second"],
            "losses": [record["loss"] for record in records if record.get("event") == "train"],
            "command": shlex.join(["tlzoo", "train", "translation", "--backbone", name, "--train", train,
                                   *cli_arguments(options)])}


def job_speed(args: dict) -> dict:
    """One route: Trainer and tlzoo runs of the same steps, alternating, ``rounds`` times each, in this process."""
    import statistics
    import time

    from tlzoo.engine.loop import FitLoop

    fit, clock = FitLoop.fit, {}

    def timed_fit(loop: Any) -> Any:  # the CPU time of tlzoo's training loop, as CpuClock's for the Trainer
        start = time.process_time()
        try:
            return fit(loop)
        finally:
            clock["cpu"] = time.process_time() - start

    FitLoop.fit = timed_fit
    runs: dict[str, list[dict[str, Any]]] = {"trainer": [], "tlzoo": []}
    for _ in range(args["rounds"]):
        runs["trainer"].append(trainer_run(args["backbone"], args["train"], args["steps"]))
        runs["tlzoo"].append({**tlzoo_run(args["backbone"], args["train"], args["steps"], Path(args["output"])),
                              "cpu_seconds": clock["cpu"]})
    cpu = ablation(args["backbone"], args["train"], args["steps"])
    summary = {side: {"samples_per_second": statistics.median(run["samples_per_second"] for run in done),
                      "cpu_seconds_per_step": statistics.median(run["cpu_seconds"] for run in done) / args["steps"]}
               for side, done in runs.items()}
    return {"backbone": args["backbone"], "steps": args["steps"], "rounds": args["rounds"], "runs": runs,
            "ablation_cpu_seconds": cpu, **summary}


def ablation(name: str, train: str, steps: int, batches: int = 2, repeats: int = 2) -> dict[str, float]:
    """What each kept change buys, in CPU seconds per step on this route's first ``batches`` batches (the median of
    ``repeats`` interleaved passes): forward + backward with the model's own loss (logits at every position) and
    with tlzoo's (labelled positions only); an AdamW step with PyTorch's per-tensor loop and with the fused kernel.
    Also the GFLOP of forward + backward per step with each loss (``*_gflops``)."""
    import statistics
    import time

    import torch
    from tlzoo_translation.task import TranslationTask
    from torch.utils.flop_counter import FlopCounterMode

    from tlzoo.backbones.resolve import resolve_backbone

    torch.manual_seed(SPEED["seed"])
    task, backbone = TranslationTask(), resolve_backbone(name)
    built = task.build_model(backbone, {})
    model, collator = built.model.train(), task.collator(backbone.load_tokenizer(), built.model)
    features, order = speed_features(task, backbone, built, train, steps)
    size, columns = SPEED["batch_size"], ("input_ids", "attention_mask", "labels")
    data = [collator([{c: features[c][i] for c in columns} for i in order[k * size:(k + 1) * size]])
            for k in range(min(batches, steps))]
    losses = {"own_loss": lambda batch: model(**batch).loss, "labelled_loss": lambda batch: task.loss(model, batch)}
    optimizers = {name: torch.optim.AdamW(model.parameters(), lr=1e-6, foreach=False if name == "loop" else None,
                                          fused=True if name == "fused" else None) for name in ("loop", "fused")}
    times: dict[str, list[float]] = {key: [] for key in [*losses, *(f"adamw_{key}" for key in optimizers)]}
    for _ in range(repeats):
        for key, loss in losses.items():
            start = time.process_time()
            for batch in data:
                loss(batch).backward()
            times[key].append((time.process_time() - start) / len(data))
        for key, optimizer in optimizers.items():
            optimizer.step()  # the first step allocates the moments: not timed
            start = time.process_time()
            optimizer.step()
            times[f"adamw_{key}"].append(time.process_time() - start)
        model.zero_grad(set_to_none=True)
    result = {key: statistics.median(values) for key, values in times.items()}
    for key, loss in losses.items():  # matmul FLOPs of forward + backward, per step: immune to a busy machine
        with FlopCounterMode(display=False) as counter:
            for batch in data:
                loss(batch).backward()
        result[f"{key}_gflops"] = counter.get_total_flops() / len(data) / 1e9
    model.zero_grad(set_to_none=True)
    return result


JOBS = {"scratch": job_scratch, "train": job_train, "speed": job_speed}


def main(part: str, quick: bool, encoder_decoder: str | None) -> None:
    if part in ("speed", "all"):
        speed(quick)
    if part in ("accuracy", "all"):
        accuracy(quick, encoder_decoder)


def speed(quick: bool) -> None:
    train = datasets()["translation"]["train"]
    (WORK / "seq2seq").mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "quick": quick, "recipe": SPEED, "routes": []}
    for backbone, steps in (QUICK_SPEED_ROUTES if quick else SPEED_ROUTES).items():
        output = WORK / "seq2seq" / f"speed-{backbone}".replace("+", "_")
        results["routes"].append(run_job(__file__, "speed", {
            "backbone": backbone, "train": train, "steps": steps, "rounds": 2 if quick else SPEED_ROUNDS,
            "output": str(output)}))
        publish("seq2seq_speed", "seq2seq-speed", results, render_speed(results), quick)


def accuracy(quick: bool, encoder_decoder: str | None) -> None:
    data = datasets()
    folder = WORK / "seq2seq"
    folder.mkdir(parents=True, exist_ok=True)
    budget = {"max_minutes": 0.1} if quick else {"max_minutes": BUDGET_MINUTES}
    options = {**SETTINGS, **budget, **(QUICK if quick else {})}
    results: dict[str, Any] = {"machine": machine(), "budget_minutes": budget["max_minutes"], "settings": options,
                               "quick": quick, "runs": []}
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
    settings = r["settings"]
    quick = " **Quick mode: a few examples and steps; not a result.**" if r["quick"] else ""
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
        "Training speed against the HF reference (`Seq2SeqTrainer`): the next section.", "",
        "Reproduce: `.venv/bin/python benchmarks/seq2seq.py --part accuracy` (raw results, with each run's exact "
        "`tlzoo train` command: `benchmarks/results/seq2seq.json`).",
    ])


def curve_agreement(trainer: list[float], tlzoo: list[float]) -> str:
    """The two loss curves of one round, step by step: their ends and the mean absolute difference."""
    if not trainer or len(trainer) != len(tlzoo):
        return "curves of different lengths"
    gap = sum(abs(a - b) for a, b in zip(trainer, tlzoo, strict=True)) / len(trainer)
    return f"{trainer[0]:.3f} -> {trainer[-1]:.3f} | {tlzoo[0]:.3f} -> {tlzoo[-1]:.3f} | {gap:.3f}"


def reading(r: dict[str, Any]) -> list[str]:
    """Why the ratio is what it is: the share of each step's work the kept changes can remove."""
    lines = ["Reading the figures:"]
    for route in r["routes"]:
        cpu = route["ablation_cpu_seconds"]
        own, labelled = cpu["own_loss_gflops"], cpu["labelled_loss_gflops"]
        lines.append(
            f"- `{route['backbone']}`: with both sides on the fused AdamW, the one piece of work tlzoo leaves "
            "out is the vocabulary projection (with its softmax and cross-entropy) at positions without a label: "
            f"{1 - labelled / own:.0%} of the forward + backward FLOPs ({own:.1f} -> {labelled:.1f} GFLOP a step), "
            f"{cpu['own_loss']:.2f} -> {cpu['labelled_loss']:.2f} CPU s of forward + backward on the route's first "
            f"two batches ({cpu['own_loss'] / cpu['labelled_loss']:.2f}x; the full logits' softmax moves "
            "vocabulary-wide rows through memory, so it can cost more than its share of the FLOPs). The rest of a "
            "step, the encoder and decoder layers, attention, dropout, the optimizer, is the same work on the same "
            "batches on both sides; the 1.5x target would need about a third of the whole step removed.")
    lines += [
        "- Tried and kept: labelled-positions loss and fused AdamW (above). The previous decoder-LM path (logits from "
        "the batch's first target position on) is replaced: it still projected the end of every prompt longer than "
        "the batch's shortest, and the padding.",
        "- Not a lever here: SDPA (both sides use transformers' default SDPA attention; BERT's attention dropout sends "
        "CPU SDPA to its math path on both), padding (both sides pad each batch to its longest source and target, on "
        "the same length-grouped batches), per-step Python work (a few ms of a step of seconds), host-device copies "
        "(none on CPU). bf16 and `torch.compile` are outside this fp32 recipe (the encoder compute item measures "
        "them)."]
    return lines


def render_speed(r: dict[str, Any]) -> str:
    speed = ["| backbone | steps x pairs | Seq2SeqTrainer samples/s | tlzoo samples/s | tlzoo / Trainer | "
             "CPU s/step Trainer | CPU s/step tlzoo | CPU ratio |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    curves = ["| backbone | Trainer loss, first -> last step | tlzoo loss, first -> last step | mean abs. difference |",
              "| --- | --- | --- | --- |"]
    parts = ["| backbone | fwd+bwd, model's own loss | fwd+bwd, labelled positions | AdamW, per-tensor loop | "
             "AdamW, fused | step before -> after | GFLOP/step, own loss -> labelled |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for route in r["routes"]:
        trainer, tlzoo, name = route["trainer"], route["tlzoo"], f"`{route['backbone']}`"
        speed.append(f"| {name} | {route['steps']} x {SPEED['batch_size']} | {trainer['samples_per_second']:.2f} | "
                     f"{tlzoo['samples_per_second']:.2f} | "
                     f"**{tlzoo['samples_per_second'] / trainer['samples_per_second']:.2f}x** | "
                     f"{trainer['cpu_seconds_per_step']:.2f} | {tlzoo['cpu_seconds_per_step']:.2f} | "
                     f"{trainer['cpu_seconds_per_step'] / tlzoo['cpu_seconds_per_step']:.2f}x |")
        first = {side: runs[0]["losses"] for side, runs in route["runs"].items()}
        curves.append(f"| {name} | {curve_agreement(first['trainer'], first['tlzoo'])} |")
        cpu = route["ablation_cpu_seconds"]
        before, after = cpu["own_loss"] + cpu["adamw_loop"], cpu["labelled_loss"] + cpu["adamw_fused"]
        own, labelled = cpu["own_loss_gflops"], cpu["labelled_loss_gflops"]
        parts.append(f"| {name} | {cpu['own_loss']:.2f} | {cpu['labelled_loss']:.2f} "
                     f"({cpu['own_loss'] / cpu['labelled_loss']:.2f}x) | {cpu['adamw_loop']:.2f} | "
                     f"{cpu['adamw_fused']:.2f} ({cpu['adamw_loop'] / cpu['adamw_fused']:.1f}x) | "
                     f"{before:.2f} -> {after:.2f} ({before / after:.2f}x) | {own:.1f} -> {labelled:.1f} "
                     f"({own / labelled:.2f}x) |")
    m, recipe = r["machine"], r["recipe"]
    quick = " **Quick mode: tiny random models; not a result.**" if r["quick"] else ""
    rounds = r["routes"][0]["rounds"] if r["routes"] else 0
    return "\n".join([
        "## Sequence to sequence: training speed against Seq2SeqTrainer", "",
        f"Each route trains for the same steps of {recipe['batch_size']} Multi30k en-de pairs under the HF reference, "
        "`Seq2SeqTrainer` with its defaults (fused AdamW, the model's own loss over full logits), and under `tlzoo "
        "train`: tlzoo's length-grouped batches (seed 42), given to the Trainer in the same order, fp32, learning "
        f"rate {recipe['learning_rate']:g}, weight decay {recipe['weight_decay']:g}, {recipe['warmup_ratio']:.0%} "
        f"warm-up then linear decay, gradient clipping at {recipe['max_grad_norm']:g}, seed {recipe['seed']}, the "
        f"same model built the same way. One process per route, {rounds} interleaved rounds (Trainer, tlzoo, "
        "Trainer, tlzoo...); samples/s is each side's median. CPU s/step is the CPU time of the training loop "
        "per step (median), steadier than wall time on a shared machine. Machine: "
        f"{m['cpus']} CPUs, {m['date']}, load average {m['load_average_at_start']} at the start.{quick}", "",
        *speed, "",
        "Loss curves of the first round (the same batches in the same order on both sides; dropout draws differ):",
        "", *curves, "",
        "What each change buys, in CPU seconds per step on the route's first two batches, in the same job: the "
        "vocabulary projection and cross-entropy at labelled positions only (`tlzoo/seq2seq/loss.py`: for the "
        "decoder LM not over the prompt, for both not over target padding; the loss equals the model's own to "
        "1e-5, `tests/test_seq2seq_loss.py`), and AdamW on the fused kernel (the Trainer's default; tlzoo used "
        "the per-tensor loop before):", "", *parts, "", *reading(r), "",
        "Reproduce: `.venv/bin/python benchmarks/seq2seq.py --part speed` (raw results, with the per-step losses of "
        "every run: `benchmarks/results/seq2seq_speed.json`).",
    ])


if __name__ == "__main__":
    def options(parser: Any) -> None:
        parser.add_argument("--part", choices=("all", "speed", "accuracy"), default="all",
                            help="speed: training speed against Seq2SeqTrainer; accuracy: the budget runs")
        parser.add_argument("--encoder-decoder", help="a local encoder-decoder folder (T5, BART...) for route 1")

    entry(__doc__, JOBS, lambda args: main(args.part, args.quick, args.encoder_decoder), options)
