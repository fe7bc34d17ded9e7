"""Generation speed: tlzoo's prediction path against a plain HF loop, in one process, at the same outputs.

    .venv/bin/python benchmarks/generation_speed.py           # ~12 min on 2 cores
    .venv/bin/python benchmarks/generation_speed.py --quick   # smoke test of the script (~3 minutes)

For each route (BERT2BERT ``minilm-l6+minilm-l6``, the decoder LM ``smollm2-135m``) and task (translation on
Multi30k, summarization on SciTLDR-A), in one child process: BERT2BERT is first fine-tuned briefly through
``tlzoo train`` (``TRAIN`` steps; as shipped its cross-attention is random and it writes to the token limit), so that
its outputs have a real length and end at its end token; SmolLM2-135M-Instruct runs as shipped with the task's
prompt (a few training steps of it take minutes on this machine). Then, on the first ``SIZE`` examples of the
validation split (Multi30k val, SciTLDR-A dev), up to ``ROUNDS`` interleaved rounds of:

- plain: ``model.generate`` over batches of 16 in file order, greedy, at most 64 new tokens, nothing else set
  (the model's generation config: its end and pad tokens), on the same prompt tokens as tlzoo's (a decoder's
  left-padded), each output decoded and cut as the task cuts it (a decoder's answer at its first line break);
- tlzoo: the evaluation path (``run_forward``, what ``tlzoo evaluate`` and ``tlzoo predict`` run: tokenising,
  length-sorted batches of the ``eval_batch_size`` of the folder or task, greedy decoding in which finished rows
  leave the batch, the task's stop strings, the original order restored);
- tlzoo via ``model.generate``: the same path with the greedy loop switched off (``tlzoo.seq2seq.greedy.applies``
  patched to say no), i.e. before this change; it gives the "before" share of the training budget.

Reported: sentences/s of each (median of the rounds), the ratios, and how many of tlzoo's outputs equal the plain
loop's (all of them, or the cause of each that differs), and the share of a 12-minute training budget that one
evaluation of the whole validation split takes at each speed. Data: ../shared/datasets (multi30k, scitldr).
Writes benchmarks/results/generation_speed.json and the ``generation-speed`` section of docs/benchmarks.md;
``--quick`` writes both under benchmarks/work/ instead.
"""

from __future__ import annotations

import gzip
import statistics
import time
from pathlib import Path
from typing import Any

from common import WORK, entry, machine, publish, require_shared, run_job
from seq2seq import tlzoo_cli

BUDGET_MINUTES = 12.0
PLAIN_BATCH = 16
MAX_NEW_TOKENS = 64
ROUTES = {"minilm-l6+minilm-l6": "BERT2BERT (MiniLM x2)", "smollm2-135m": "decoder LM (SmolLM2-135M)"}
TASKS = {"translation": "Multi30k en-de val", "summarization": "SciTLDR-A dev"}
VALIDATION_SIZE = {"translation": 1014, "summarization": 619}
"""The whole validation split, for the share of the training budget that one evaluation of it takes."""
TRAIN = {("minilm-l6+minilm-l6", "translation"): {"max_steps": 16, "batch_size": 16},
         ("minilm-l6+minilm-l6", "summarization"): {"max_steps": 6, "batch_size": 8},
         ("smollm2-135m", "translation"): None, ("smollm2-135m", "summarization"): None}
"""Brief fine-tuning per route and task (learning rate and the rest: the task's defaults); None: the backbone as
shipped (SmolLM2-135M-Instruct follows the task's prompt, and a few steps of it take minutes on this machine)."""
SIZE = {("minilm-l6+minilm-l6", "translation"): 200, ("minilm-l6+minilm-l6", "summarization"): 48,
        ("smollm2-135m", "translation"): 64, ("smollm2-135m", "summarization"): 32}
"""Validation examples per route and task: enough for several of tlzoo's batches (what length sorting and wide
batches act on), within minutes for the plain loop (SmolLM2 on one thread: about 0.6 translations and 0.3 summaries
a second)."""
ROUNDS = 3
ROUND_SECONDS = 100.0
"""A job starts another round only while its rounds so far took less than this (at least one round runs): the
machine is shared, and the whole run must fit in about 12 minutes."""
THREADS = 1
"""Torch threads of every job. This machine's 2 cores are shared with other work, and a 2-thread OpenMP team
slows down 3-10x whenever another process takes a core (a 32-row SmolLM2 decoding step: 0.4 s on 1 thread, 4.3 s
on 2 at load average 10); one thread keeps the rounds comparable and the run within its time."""
QUICK = {"size": 4, "rounds": 1, "max_steps": 1}


def data_files(folder: Path, quick: bool) -> dict[str, dict[str, str]]:
    """Per task: the training file and a validation slice of the largest ``SIZE`` of the task (written into
    ``folder``); each job reads the first ``SIZE`` examples of its route from it."""
    multi30k, scitldr = require_shared("multi30k"), require_shared("scitldr")
    folder.mkdir(parents=True, exist_ok=True)
    size = {task: QUICK["size"] if quick else max(n for (_, each), n in SIZE.items() if each == task)
            for task in TASKS}
    for language in ("en", "de"):
        with gzip.open(multi30k / f"val.{language}.gz", "rt", encoding="utf-8") as handle:
            lines = handle.read().splitlines()[:size["translation"]]
        (folder / f"val.{language}").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = (scitldr / "dev.jsonl").read_text(encoding="utf-8").splitlines()[:size["summarization"]]
    (folder / "dev.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return {"translation": {"train": str(multi30k / "train.en.gz"), "slice": str(folder / "val.en")},
            "summarization": {"train": str(scitldr / "train.jsonl"), "slice": str(folder / "dev.jsonl")}}


# -- the jobs (each runs in its own process) -----------------------------------------------------
def train(args: dict) -> dict:
    """A brief fine-tuning run through the ``tlzoo train`` command line (in this process)."""
    options = args["options"]
    started = time.perf_counter()
    command = tlzoo_cli(["train", args["task"], "--backbone", args["backbone"], "--train", args["train"],
                         "--output", args["output"], "--quiet", "--overwrite", "--seed", "42",
                         "--max-steps", str(options["max_steps"]), "--batch-size", str(options["batch_size"]),
                         "--max-train-samples", str(options["max_steps"] * options["batch_size"]),
                         "--max-new-tokens", str(MAX_NEW_TOKENS)])
    return {"command": command, "seconds": time.perf_counter() - started}


def plain_loop(task: Any, model: Any, tokenizer: Any, features: dict[str, list]) -> list[str]:
    """``model.generate`` over batches of ``PLAIN_BATCH`` in file order, greedy, ``MAX_NEW_TOKENS`` at most, nothing
    else set; decoded and cut as the task cuts its outputs."""
    import torch

    decoder = not model.config.is_encoder_decoder
    tokenizer.padding_side = "left" if decoder else "right"
    texts: list[str] = []
    with torch.inference_mode():
        for start in range(0, len(features["input_ids"]), PLAIN_BATCH):
            rows = [{"input_ids": ids} for ids in features["input_ids"][start:start + PLAIN_BATCH]]
            batch = tokenizer.pad(rows, return_tensors="pt")
            generated = model.generate(**batch, max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
            if decoder:
                generated = generated[:, batch["input_ids"].shape[1]:]
            texts += [task.cut_output(text, model, task.options)[0]
                      for text in tokenizer.batch_decode(generated, skip_special_tokens=True)]
    return texts


def loaded(args: dict) -> tuple[Any, Any, Any, dict[str, Any], int, int, dict[str, Any]]:
    """(task, model, tokenizer, state, max_length, eval batch size, training facts): the folder of a brief
    ``tlzoo train`` run, or with no training options the backbone as shipped under the task's defaults."""
    import tlzoo

    if args["options"] is None:
        from tlzoo.backbones.resolve import resolve_backbone
        from tlzoo.plugins import registry

        task = registry().get(args["task"], "task").load()({"max_new_tokens": MAX_NEW_TOKENS})
        backbone = resolve_backbone(args["backbone"])
        built = task.build_model(backbone, {})
        return (task, built.model.eval(), backbone.load_tokenizer(), dict(built.facts),
                int(task.default_hparams["max_length"]), int(task.default_hparams["eval_batch_size"]),
                {"command": "(none: the backbone as shipped, with the task's prompt)"})
    trained = train(args)
    predictor = tlzoo.load(args["output"])
    return (predictor.task, predictor.model, predictor.tokenizer, predictor.state, predictor.max_length,
            predictor.config.eval_batch_size, trained)


def job_run(args: dict) -> dict:
    """Train one folder briefly (or take the backbone as shipped), then interleaved rounds of the plain loop,
    tlzoo's evaluation path, and that path through ``model.generate`` (one process: one start and import)."""
    import torch

    from tlzoo.engine.data import read_split, tokenize
    from tlzoo.engine.inference import run_forward
    from tlzoo.seq2seq import greedy
    from tlzoo.task import ForwardContext

    torch.set_num_threads(THREADS)
    task, model, tokenizer, state, max_length, batch_size, trained = loaded(args)
    examples = read_split(task, args["slice"], "evaluation", limit=args["size"])
    features = task.preprocess({"source": list(examples["source"])}, tokenizer, state, max_length, False)
    prompt_tokens = [len(ids) for ids in features["input_ids"]]
    collator = task.collator(tokenizer, model)
    fast = greedy.applies

    def tlzoo_outputs() -> list[str]:
        """What ``tlzoo evaluate`` runs before its metrics: tokenising, length-sorted batches, generation."""
        tokenized = tokenize(task, examples, tokenizer, state, max_length, False, "tokenising")
        outputs = run_forward(task, model, tokenized, collator, batch_size, ForwardContext(tokenizer, task.options,
                                                                                          max_length))
        return task.postprocess(outputs, tokenized, examples, state)

    def generate_outputs() -> list[str]:
        greedy.applies = lambda model, kwargs: False
        try:
            return tlzoo_outputs()
        finally:
            greedy.applies = fast

    arms = {"plain": lambda: plain_loop(task, model, tokenizer, features), "tlzoo": tlzoo_outputs,
            "tlzoo_generate": generate_outputs}
    seconds: dict[str, list[float]] = {arm: [] for arm in arms}
    outputs: dict[str, list[str]] = {}
    started_rounds = time.perf_counter()
    for done in range(args["rounds"]):
        if done and (time.perf_counter() - started_rounds) * (done + 1) / done > ROUND_SECONDS:
            break
        for arm, run in arms.items():
            started = time.perf_counter()
            outputs[arm] = run()
            seconds[arm].append(time.perf_counter() - started)
    sources = list(examples["source"])
    differ = [{"index": i, "source": sources[i][:200], "plain": outputs["plain"][i], "tlzoo": outputs["tlzoo"][i]}
              for i in range(len(sources)) if outputs["plain"][i] != outputs["tlzoo"][i]]
    tokens = [len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in outputs["tlzoo"]]
    return {"train": trained, "examples": len(sources), "threads": torch.get_num_threads(), "seconds": seconds,
            "median_seconds": {arm: statistics.median(values) for arm, values in seconds.items()},
            "identical": len(sources) - len(differ), "identical_generate": sum(
                a == b for a, b in zip(outputs["plain"], outputs["tlzoo_generate"], strict=True)),
            "differ": differ, "eval_batch_size": batch_size,
            "prompt_tokens_mean": sum(prompt_tokens) / len(prompt_tokens),
            "output_tokens_mean": sum(tokens) / len(tokens), "output_tokens_max": max(tokens),
            "first_output": outputs["tlzoo"][0]}


JOBS = {"run": job_run}


def main(quick: bool) -> None:
    folder = WORK / "generation_speed"
    data = data_files(folder / "data", quick)
    results: dict[str, Any] = {"machine": machine(), "quick": quick, "plain_batch": PLAIN_BATCH,
                               "max_new_tokens": MAX_NEW_TOKENS, "rounds": QUICK["rounds"] if quick else ROUNDS,
                               "runs": []}
    for backbone, route in ROUTES.items():
        for task, dataset in TASKS.items():
            name = f"{backbone}-{task}".replace("+", "_")
            options = TRAIN[(backbone, task)]
            if options is not None and quick:
                options = {**options, "max_steps": QUICK["max_steps"]}
            run = run_job(__file__, "run", {"task": task, "backbone": backbone, "train": data[task]["train"],
                                            "output": str(folder / name), "options": options,
                                            "slice": data[task]["slice"], "rounds": results["rounds"],
                                            "size": QUICK["size"] if quick else SIZE[(backbone, task)]})
            run["train"].update(options or {})
            results["runs"].append({"route": route, "backbone": backbone, "task": task, "dataset": dataset, **run})
            publish("generation_speed", "generation-speed", results, render(results), quick)


def speed(run: dict[str, Any], arm: str) -> float:
    return run["examples"] / run["median_seconds"][arm]


def share(run: dict[str, Any], arm: str) -> float:
    """The share of a ``BUDGET_MINUTES`` training budget that one evaluation of the whole validation split takes."""
    return VALIDATION_SIZE[run["task"]] / speed(run, arm) / (BUDGET_MINUTES * 60)


def trained(run: dict[str, Any]) -> str:
    if "max_steps" not in run["train"]:
        return "the backbone as shipped (SmolLM2-135M-Instruct), with the task's prompt"
    return f"fine-tuned {run['train']['max_steps']} steps of {run['train']['batch_size']}"


def render(r: dict[str, Any]) -> str:
    rows = ["| route | task (examples) | plain HF loop sent./s | tlzoo via generate sent./s | tlzoo sent./s | "
            "tlzoo / plain | identical to plain | eval. of the validation split in a 12-min budget: plain / "
            "before / after |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for run in r["runs"]:
        ratio = speed(run, "tlzoo") / speed(run, "plain")
        rows.append(
            f"| {run['route']} | {run['task']} ({run['examples']}) | {speed(run, 'plain'):.2f} | "
            f"{speed(run, 'tlzoo_generate'):.2f} | {speed(run, 'tlzoo'):.2f} | **{ratio:.2f}x** | "
            f"{run['identical']}/{run['examples']} | {share(run, 'plain'):.0%} / {share(run, 'tlzoo_generate'):.0%} "
            f"/ {share(run, 'tlzoo'):.0%} |")
    details = [f"- {run['route']}, {run['task']}: {trained(run)}; prompts {run['prompt_tokens_mean']:.0f} tokens "
               "on average, outputs "
               f"{run['output_tokens_mean']:.1f} tokens (longest {run['output_tokens_max']}); tlzoo batches of "
               f"{run['eval_batch_size']}, {run['threads']} torch thread, {len(run['seconds']['tlzoo'])} rounds; "
               "first output: "
               f"\"{run['first_output'][:100]}\"" for run in r["runs"]]
    quick = " **Quick mode: a few examples, not a result.**" if r["quick"] else ""
    m = r["machine"]
    return "\n".join([
        "## Generation speed: evaluation and prediction against a plain HF loop", "",
        f"In one process per route and task, up to {r['rounds']} interleaved rounds (median; the count of each "
        "is in the details below): the plain loop "
        f"(`model.generate` over batches of {r['plain_batch']} in file order, greedy, at most {r['max_new_tokens']} "
        "new tokens, nothing else set), tlzoo's evaluation path (`run_forward`: what `tlzoo evaluate` and "
        "`tlzoo predict` run), and the same path through `model.generate` (before the greedy loop), on the same "
        "inputs. BERT2BERT is fine-tuned briefly by `tlzoo train` first (as shipped its cross-attention is random "
        "and it writes to the limit); SmolLM2-135M-Instruct runs as shipped with the task's prompt (a few training "
        "steps of it take minutes here), so its answer ends at a line break: tlzoo cuts it there and stops the row, "
        "the plain loop (which has no stop string) writes on to its end token or the limit and is cut afterwards. "
        "The `tlzoo via generate` column has the same stop, so `tlzoo / tlzoo via generate` is what the greedy loop "
        f"itself buys. Machine: {m['cpus']} CPUs, {m['date']}, load average "
        f"{m['load_average_at_start']} at the start.{quick}", "",
        *rows, "",
        "The last column: one evaluation of the whole validation split (Multi30k val 1,014 pairs, SciTLDR-A dev "
        "619 abstracts) at the measured speed, as a share of a 12-minute training budget. `identical`: tlzoo's "
        "output text equals the plain loop's (outputs of both cut where the task cuts them: a decoder's answer "
        "at its first line break).", "",
        *details, "",
        "What tlzoo's generation does, and what each part is for (issue 20):", "",
        "- Length-sorted batches (longest first, the original order restored): the engine already did this for "
        "every task (less padding in the prompts); kept.",
        "- Greedy decoding in which a finished row leaves the batch (`tlzoo/seq2seq/greedy.py`): `model.generate` "
        "keeps every row until the batch's longest one ends; here a row's inputs and its slice of the KV cache are "
        "dropped at the step it writes its end token, completes a stop string or reaches the limit. Same steps as "
        "`model.generate` otherwise (its `prepare_inputs_for_generation`, positions from the attention mask for "
        "left-padded prompts, the cache on, logits of the last position only), so the tokens are the same: checked "
        "token for token against `model.generate` in `tests/test_greedy_generation.py`, and here as text against "
        "the plain loop. Its gain is the `tlzoo / tlzoo via generate` ratio of the table. Beams, sampling and any "
        "generation-config setting that changes the scores still go to `model.generate`.",
        "- The stop-string check (a decoder's answer ends at its first line break): it decoded every row at "
        "every step; now a row is decoded only after a token whose own text can complete a stop string (decoded "
        "once per token). Measured on 32 SmolLM2 rows of Multi30k German: 1.0 ms a step before, 0.05 ms after, "
        "against 0.4 s for the model's step on one thread: the suspect was not where the time went (under 1%).",
        "- KV cache: on in both (`model.generate`'s default). A decoder LM's cache in tlzoo keeps room for the "
        "tokens to come (`tlzoo/seq2seq/kv_cache.py`): transformers' `DynamicLayer` grows by `torch.cat`, copying "
        "every layer's keys and values whole, into fresh memory, at each generated token, and SmolLM2's "
        "summarization prompts (208 tokens on average, a batch padded to its longest: up to 350) are in each of "
        "its 30 layers from the first step. tlzoo's "
        "layers allocate their buffers once, with room up to the token limit, and write each new position in "
        "place; attention reads the same values. Measured before this run (scratch runs, one thread, the same "
        "outputs): SmolLM2 summarization, 32 abstracts in batches of 16, 36.6 -> 32.3 s (1.13x); SmolLM2 "
        "translation, 64 sentences, 8.0 -> 7.9 s (within noise). An encoder-decoder keeps transformers' cache: "
        "its source sits in the cross-attention cache, written once, and its self-attention cache holds a few "
        "tokens, cheap to copy; reserved buffers, mostly empty, made attention over them slower (BERT2BERT "
        "translation: 5% slower).",
        "- Larger batches: a SmolLM2 decoding step on one thread costs about 0.17 s plus 9 ms a row (0.18 s for 1 "
        "row, 0.59 s for 32, 1.26 s for 128), so wide batches amortise the weights; with finished rows leaving, "
        "a wide batch no longer costs its longest row's length times its width. Translation's evaluation batch is "
        "now 128 sentences (was 32). Measured before the change, one thread, tlzoo against the plain loop on the "
        "same slices (scratch runs, 2026-12-02): BERT2BERT translation, 200 sentences, 1.55x at 32, 1.91x at 64, "
        "2.09x at 128, 2.05x at 256; SmolLM2 translation, 64 sentences, 4.03x at 64, 3.93x at 128. Summarization "
        "stayed at 16 while a wide batch padded its long inputs to the longest (BERT2BERT, 48 abstracts, 2.23x at 16, "
        "2.12x at 32, 1.89x at 64; SmolLM2, 32 abstracts, 1.09x at 16, 1.13x at 32); with the prompt pass in "
        "groups (next item) it evaluates in batches of 32.",
        "- The prompt pass in groups (`prompt_groups` in `tlzoo/seq2seq/greedy.py`): a batch's prompts (a decoder "
        "LM's) or sources (an encoder's) go through the model in groups of rows of similar length, longest first, "
        "about 1,024 real tokens each, every group padded only to its own longest (a decoder LM's group of one "
        "length runs without a mask). A decoder LM's reserved cache is then put together from the groups' "
        "caches, left-padded with zeros that the attention mask leaves out, and an encoder's outputs likewise; the "
        "decoding steps run "
        "over the whole batch. The tokens are `model.generate`'s (`tests/test_greedy_generation.py`, with the "
        "pass in one forward and in groups). Measured before this run (scratch runs, one thread, the same texts): "
        "SmolLM2 summarization, 32 abstracts, 33.8 s in two batches of 16, 29.8 s with groups, 24.7 s in one "
        "batch of 32 with groups (its prompt pass 11 s of it); BERT2BERT summarization, 48 abstracts, 4.5 s at "
        "16, 4.0 s at 16 with groups, 3.7 s at 32 with groups; translation at 128, SmolLM2 64 sentences 8.0 -> "
        "7.3 s, BERT2BERT 200 sentences 2.7 -> 2.6 s. What it costs: a wider batch holds twice the rows' cache, "
        "and a group's own cache lives until it is written into the batch's (SmolLM2 summarization, tlzoo's path "
        "alone in a process of its own, peak RSS: 1729 MB at 16 in one pass, 1899 MB at 32 in groups, 2539 MB at "
        "32 in one pass).",
        "- The next token: `max(dim=-1).indices` instead of `argmax` (the same first index of equal maxima; "
        "6.5 -> 2.0 ms for 128 rows of BERT's 30,522 scores on one thread).",
        "- Where 2x is out of reach: SmolLM2's summaries run to the 64-token limit (no row leaves early), so "
        "tlzoo and the plain loop run the same steps. Measured on the 32 abstracts (scratch runs, one thread): the "
        "prompt pass takes 16.4 s in the plain loop's batches (15.0 s in tlzoo's former sorted batches of 16) and "
        "11 s in tlzoo's groups, about 130 GFLOP/s (70% of one core's fp32 matmul peak): without padding it is "
        "the prompts' own FLOPs, which no batching removes. For 2x (about 21 s here), decoding would have to fit "
        "in about 10 s; it takes 14 s, 64 steps of the 32 rows at about 0.22 s each. A decoding step is bound by "
        "memory traffic, not FLOPs: the 540 MB of fp32 weights and about as much cached keys and values (32 rows, "
        "up to 414 positions, 30 layers) are read at every step, at about 5-6 GB/s on one core here. Speculative "
        "decoding would not pay on a CPU either: checking k drafted tokens costs about k rows of a step, and "
        "drafts looked up in the prompt (an offline count on these 32 summaries) would cut a row's steps by about "
        "half but the batch's, set by its slowest row, only from 64 to 51-60.",
        "",
        "Reproduce: `.venv/bin/python benchmarks/generation_speed.py` (raw results, with each training command and "
        "every output that differs: `benchmarks/results/generation_speed.json`).",
    ])


if __name__ == "__main__":
    entry(__doc__, JOBS, lambda args: main(args.quick))
