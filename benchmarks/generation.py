"""Text generation: SmolLM2-135M-Instruct as shipped (zero-shot) against the same model fine-tuned for 12 minutes.

    .venv/bin/python benchmarks/generation.py            # ~30 min on 2 cores (one 12-minute run + two evaluations)
    .venv/bin/python benchmarks/generation.py --lora     # adds the LoRA arm (~16 min more)
    .venv/bin/python benchmarks/generation.py --quick    # smoke test of the script (~3 minutes)

The set: SciTLDR-A (../shared/datasets/scitldr) framed as an instruction in chat form, the user asking for a
one-sentence TL;DR of a paper abstract and the assistant answering with the TLDR (rendered with SmolLM2's chat
template). Training: all 1,992 training abstracts (their first TLDR). Scored on a fixed subset, the first
``EVAL_SIZE`` abstracts of SciTLDR-A *test* (a split of other papers: nothing is shared with training), against
all of their reference TLDRs: ROUGE-L (primary), exact match, share of distinct outputs, output length, and the
perplexity of the first reference TLDR (from the evaluation loss). Greedy decoding, at most 64 new tokens, fp32,
seed 42.

Arms, each in its own process:

- zero-shot: the backbone as shipped, scored in process by the engine's evaluation (``evaluate_model``, what
  ``tlzoo evaluate`` runs) with the task's preprocessing, generation and metrics;
- full fine-tuning: the task's defaults (learning rate 1e-4, batch 8, max length 512), stopped after
  ``BUDGET_MINUTES`` of training (``--max-minutes``; evaluation not counted);
- LoRA (only with ``--lora``): the same budget with ``--strategy lora`` (r 8) at learning rate ``LORA_LR``, to see
  whether it should be the task's default.

Evaluating 200 abstracts (each prompt a whole abstract, run once for the loss and once to generate) took 14.5
minutes for the model as shipped, which writes to the 64-token limit, and ~3.5 minutes after fine-tuning (20-word
outputs), on 2 busy cores. The training arms log every step (loss, samples/s) to
``benchmarks/work/generation/ARM/log.jsonl`` while they run.

Writes benchmarks/results/generation.json and the ``generation`` section of docs/benchmarks.md (after each arm,
so a late failure keeps the earlier ones); ``--quick`` writes both under benchmarks/work/ instead.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from common import WORK, entry, machine, publish, require_shared, run_job
from seq2seq import cli_arguments, tlzoo_cli

BUDGET_MINUTES = 12.0
EVAL_SIZE = 200
LORA_LR = 5e-4
INSTRUCTION = "Write a one-sentence TL;DR of this paper abstract.\n\n"
SETTINGS = {"precision": "fp32", "seed": 42, "max_new_tokens": 64}
QUICK = {"max_steps": 2, "max_new_tokens": 8}
"""--quick: a few examples and steps, only to check that the script runs end to end."""
ARMS = {"zero-shot": {},
        "full fine-tuning": {"max_minutes": BUDGET_MINUTES, "logging_steps": 1},
        "LoRA": {"max_minutes": BUDGET_MINUTES, "logging_steps": 1, "strategy": "lora", "learning_rate": LORA_LR}}


def conversation(row: dict[str, Any]) -> dict[str, Any]:
    """A SciTLDR record as a chat example: the abstract in an instruction, the first TLDR as the answer."""
    abstract = " ".join(" ".join(sentence.split()) for sentence in row["source"])
    tldrs = [" ".join(t.split()) for t in row["target"] if t.strip()]
    return {"messages": [{"role": "user", "content": INSTRUCTION + abstract},
                         {"role": "assistant", "content": tldrs[0]}], "references": tldrs}


def build_data(folder: Path, quick: bool) -> dict[str, str]:
    """train.jsonl (every training abstract) and test.jsonl (the first EVAL_SIZE test abstracts) in ``folder``."""
    scitldr = require_shared("scitldr")
    sizes = {"train": 16 if quick else None, "test": 4 if quick else EVAL_SIZE}
    paths = {}
    for split, size in sizes.items():
        rows = [json.loads(line) for line in (scitldr / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]
        rows = [row for row in rows if any(t.strip() for t in row["target"])][:size]
        paths[split] = str(folder / f"{split}.jsonl")
        Path(paths[split]).write_text("".join(json.dumps(conversation(r), ensure_ascii=False) + "\n" for r in rows),
                                      encoding="utf-8")
    return paths


def job_train(args: dict) -> dict:
    """One arm through the ``tlzoo train`` command line, scored on the test subset at the end."""
    output = Path(args["output"])
    command = tlzoo_cli(["train", "text-generation", "--backbone", "smollm2-135m", "--train", args["train"],
                         "--test", args["test"], "--output", str(output), "--quiet", "--overwrite",
                         *cli_arguments(args["options"])])
    metrics = json.loads((output / "metrics.json").read_text(encoding="utf-8"))
    predictions = (output / "evaluation" / "test" / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    train = metrics["train"]
    return {"command": command, "test": metrics["test"], "train_seconds": train["seconds"],
            "samples": train["samples"], "steps": train["steps"], "first_prediction": json.loads(predictions[0])}


def job_zero_shot(args: dict) -> dict:
    """The backbone as shipped, scored by the engine's own evaluation (the path ``tlzoo evaluate`` takes) with the
    task's preprocessing, generation and metrics: no training step, no saved folder."""
    import torch
    from tlzoo_generation.task import GenerationTask

    from tlzoo.backbones.resolve import resolve_backbone
    from tlzoo.engine.data import read_split, tokenize
    from tlzoo.engine.evaluation import EvalSet, evaluate_model
    from tlzoo.task import ForwardContext

    torch.manual_seed(SETTINGS["seed"])
    options = args["options"]
    task = GenerationTask({"max_new_tokens": options["max_new_tokens"]})
    backbone = resolve_backbone("smollm2-135m")
    tokenizer = backbone.load_tokenizer()
    built = task.build_model(backbone, {})
    model, state = built.model.eval(), dict(built.facts)
    max_length = int(task.default_hparams["max_length"])
    examples = read_split(task, args["test"], "test")
    features = tokenize(task, examples, tokenizer, state, max_length, False, "tokenising test")
    loss_features = tokenize(task, examples, tokenizer, state, max_length, True, "tokenising test for its loss")
    artifacts = Path(args["output"])
    artifacts.mkdir(parents=True, exist_ok=True)
    test = evaluate_model(task, model, EvalSet(examples, features, args["test"], loss_features),
                          task.collator(tokenizer, model), ForwardContext(tokenizer, task.options), state,
                          int(task.default_hparams["eval_batch_size"]), artifacts=artifacts, device=torch.device("cpu"))
    first = json.loads((artifacts / "predictions.jsonl").read_text(encoding="utf-8").splitlines()[0])
    return {"command": "(in process: tlzoo.engine.evaluation.evaluate_model on the backbone as shipped)",
            "test": test, "train_seconds": 0.0, "samples": 0, "steps": 0, "first_prediction": first}


JOBS = {"train": job_train, "zero_shot": job_zero_shot}


def main(quick: bool, lora: bool) -> None:
    folder = WORK / "generation"
    folder.mkdir(parents=True, exist_ok=True)
    data = build_data(folder, quick)
    results: dict[str, Any] = {"machine": machine(), "budget_minutes": 0.1 if quick else BUDGET_MINUTES,
                               "eval_size": 4 if quick else EVAL_SIZE, "settings": SETTINGS, "quick": quick,
                               "instruction": INSTRUCTION, "runs": [], "skipped": [] if lora else ["LoRA"]}
    for arm, options in ARMS.items():
        if arm in results["skipped"]:
            continue
        options = {**SETTINGS, **options, **(QUICK if quick and arm != "zero-shot" else {})}
        if quick and "max_minutes" in options:
            options["max_minutes"] = 0.1
        if quick:
            options["max_new_tokens"] = QUICK["max_new_tokens"]
        job = "zero_shot" if arm == "zero-shot" else "train"
        steps = f"; training steps go to {folder / arm.replace(' ', '-') / 'log.jsonl'}" if job == "train" else ""
        print(f"[{arm}] started {time.strftime('%H:%M:%S')}{steps}", file=sys.stderr, flush=True)
        run = run_job(__file__, job, {**data, "output": str(folder / arm.replace(" ", "-")), "options": options})
        results["runs"].append({"arm": arm, "options": options, **run})
        publish("generation", "generation", results, render(results), quick)


def render(r: dict[str, Any]) -> str:
    rows = ["| arm | ROUGE-L | exact match | perplexity | distinct | words | training | steps | examples seen |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for run in r["runs"]:
        test = run["test"]
        rows.append(f"| {run['arm']} | {test['rougeL']:.2f} | {test['exact_match']:.1f} | {test['perplexity']:.2f} "
                    f"| {test['distinct']:.3f} | {test['gen_len']:.1f} | {run['train_seconds'] / 60:.1f} min "
                    f"| {run['steps']:,} | {run['samples']:,} |")
    machine_line = (f"{r['machine']['cpus']} CPUs shared with other work, {r['machine']['date']}, load average "
                    f"{r['machine']['load_average_at_start']} at the start")
    return "\n".join([
        "## Text generation: zero-shot against fine-tuned (SmolLM2-135M-Instruct, SciTLDR as an instruction)", "",
        f"`tlzoo train text-generation` on SciTLDR-A in chat form (the user: \"{r['instruction'].strip()}\" and the "
        f"abstract; the assistant: its TLDR), {r['budget_minutes']:g}-minute training budget, {machine_line}. Scored "
        f"on the first {r['eval_size']} abstracts of SciTLDR-A test (other papers than training), against all their "
        "reference TLDRs; greedy, at most 64 new tokens. Perplexity is that of the first reference TLDR after the "
        "prompt (the evaluation loss, per token). Zero-shot is the model as shipped, through the same evaluation code "
        "(`evaluate_model`)." + (" **Quick run: not a result.**" if r["quick"] else ""), "",
        *rows, "",
        *([f"Not run here: {', '.join(r['skipped'])} (add `--lora`; ~16 more minutes), so whether LoRA should be the "
           "task's default stays unmeasured.", ""] if r.get("skipped") else []),
        "Reproduce: `.venv/bin/python benchmarks/generation.py` (raw results with each arm's `tlzoo train` command: "
        "`benchmarks/results/generation.json`).",
    ])


if __name__ == "__main__":
    entry(__doc__, JOBS, lambda args: main(args.quick, args.lora),
          lambda parser: parser.add_argument("--lora", action="store_true", help="also run the LoRA arm (~16 min)"))
