"""Translation and summarization on each generation-backbone route, under one fixed CPU budget.

    .venv/bin/python benchmarks/seq2seq.py                 # ~2 hours on 2 cores (4 runs of 20 min + evaluation)
    .venv/bin/python benchmarks/seq2seq.py --quick         # smoke test of the script (~5 minutes)
    .venv/bin/python benchmarks/seq2seq.py --encoder-decoder /path/to/t5-small   # adds route 1

Routes (issue 7), each fine-tuned with the task's default hyper-parameters, fp32, seed 42, and
stopped after ``BUDGET_MINUTES`` of training (the engine's ``max_minutes``; evaluation time is not
counted), in its own process so that peak memory is its own:

1. an encoder-decoder from a local folder (T5, BART, Marian...): only with ``--encoder-decoder``,
   since no pretrained one can be downloaded or pip-installed here;
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
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from common import WORK, entry, machine, publish, require_shared, run_job

BUDGET_MINUTES = 20.0
SETTINGS = {"precision": "fp32", "seed": 42, "epochs": 5, "generation_max_new_tokens": 64,
            "generation_num_beams": 1}
"""Shared by every run; ``epochs`` only sets the learning-rate schedule: the budget ends training."""
QUICK = {"max_train_samples": 32, "max_eval_samples": 8, "max_steps": 2, "generation_max_new_tokens": 8}
"""--quick: a few examples and steps, only to check that the script runs end to end."""
ROUTES = {"minilm-l6+minilm-l6": "2. BERT2BERT (MiniLM x2)", "smollm2-135m": "3. decoder LM (SmolLM2-135M)"}
GERMAN = "Ein Mädchen läuft über die Straße."


def datasets() -> dict[str, dict[str, str]]:
    multi30k, scitldr = require_shared("multi30k"), require_shared("scitldr")
    return {"translation": {"train": str(multi30k / "train.en.gz"), "test": str(multi30k / "test_2016_flickr.en.gz")},
            "summarization": {"train": str(scitldr / "train.jsonl"), "test": str(scitldr / "test.jsonl")}}


# -- the job (runs in its own process) ---------------------------------------------------------
def job_train(args: dict) -> dict:
    """One fine-tuning run through the public API, scored on the test split at the end."""
    import tlzoo

    result = tlzoo.train(args["task"], backbone=args["backbone"], train=args["train"], test=args["test"],
                         output=args["output"], quiet=True, overwrite=True, **args["options"])
    tokenizer = tlzoo.load(result.output_dir).tokenizer
    roundtrip = tokenizer.decode(tokenizer(GERMAN, add_special_tokens=False)["input_ids"], skip_special_tokens=True)
    predictions = Path(result.output_dir) / "evaluation" / "test" / "predictions.jsonl"
    first = json.loads(predictions.read_text(encoding="utf-8").splitlines()[0])
    train = result.metrics["train"]
    return {"test": result.metrics["test"], "train_seconds": train["seconds"], "samples": train["samples"],
            "samples_per_second": train["samples_per_second"], "steps": train["steps"],
            "writes_german": roundtrip.strip() == GERMAN, "german_roundtrip": roundtrip,
            "first_prediction": first, "config": {k: result.config.to_dict()[k] for k in (
                "learning_rate", "batch_size", "max_length", "warmup_ratio", "max_minutes")}}


JOBS = {"train": job_train}


def main(quick: bool, encoder_decoder: str | None) -> None:
    data = datasets()
    WORK.mkdir(parents=True, exist_ok=True)
    routes = dict(ROUTES)
    if encoder_decoder:
        routes = {encoder_decoder: f"1. encoder-decoder ({Path(encoder_decoder).name})", **routes}
    budget = {"max_minutes": 0.1} if quick else {"max_minutes": BUDGET_MINUTES}
    options = {**SETTINGS, **budget, **(QUICK if quick else {})}
    results: dict[str, Any] = {"machine": machine(), "budget_minutes": budget["max_minutes"], "settings": options,
                               "quick": quick, "runs": []}
    for backbone, route in routes.items():
        for task, files in data.items():
            name = f"{Path(backbone).name}-{task}".replace("+", "_")
            run = run_job(__file__, "train", {"task": task, "backbone": backbone, **files,
                                              "output": str(WORK / "seq2seq" / name), "options": options})
            results["runs"].append({"route": route, "backbone": backbone, "task": task, **run})
    publish("seq2seq", "seq2seq", results, render(results), quick)
    print(render(results))


def render(r: dict[str, Any]) -> str:
    translation = ["| route | backbone | BLEU | chrF | gen. words | distinct | writes German | train samples/s | "
                   "pairs seen | peak RSS MB |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    summarization = ["| route | backbone | ROUGE-1 | ROUGE-2 | ROUGE-L | ROUGE-Lsum | gen. words | distinct | "
                     "train samples/s | abstracts seen | peak RSS MB |",
                     "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    signature = ""
    for run in r["runs"]:
        test, common_cells = run["test"], f"| {run['route']} | `{run['backbone']}` |"
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
        f"Each backbone route fine-tuned for {r['budget_minutes']:g} minutes of training per task (evaluation "
        f"not counted) with the task's default hyper-parameters, {settings['precision']}, seed {settings['seed']}, "
        f"greedy generation of at most {settings['generation_max_new_tokens']} tokens. Machine: "
        f"{r['machine']['cpus']} CPUs, {r['machine']['date']}, load average {r['machine']['load_average_at_start']} "
        f"at the start.{quick}", "",
        "Translation, Multi30k test_2016_flickr (1,000 pairs), sacreBLEU signature "
        f"`{signature}`:", "", *translation, "",
        "Summarization, SciTLDR-A test (618 abstracts, best of their reference TLDRs), ROUGE F1 with stemming:",
        "", *summarization, "",
        "`distinct` is the share of distinct outputs (1.0: all differ; a collapsed model repeats one). "
        "`writes German` says whether the tokenizer reproduces \"" + GERMAN + "\" (an uncased WordPiece "
        "vocabulary strips the umlauts). Route 1 (a pretrained T5/BART folder) runs only when one is given "
        "with `--encoder-decoder PATH`: none can be downloaded or pip-installed on these machines.", "",
        "Reproduce: `.venv/bin/python benchmarks/seq2seq.py` (raw results: `benchmarks/results/seq2seq.json`).",
    ])


if __name__ == "__main__":
    entry(__doc__, JOBS, lambda args: main(args.quick, args.encoder_decoder),
          lambda parser: parser.add_argument("--encoder-decoder",
                                             help="a local encoder-decoder folder (T5, BART...) for route 1"))
