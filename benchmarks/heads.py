"""Task heads compared on SST-2 and CoNLL-2003 with minilm-l6, each with the other benchmarks' recipe.

    .venv/bin/python benchmarks/heads.py            # ~25 minutes on 2 cores
    .venv/bin/python benchmarks/heads.py --quick    # smoke test of the script (results under benchmarks/work)

SST-2 (as benchmarks/sst2.py): the first 8,000 rows of train.tsv, 1 epoch, batch 32, lr 5e-5, warm-up 6%,
weight decay 0.01, max length 128, seed 42, accuracy on GLUE dev (test.tsv, 872 rows); heads default,
mean-pool and mlp with full fine-tuning, then default and mean-pool with ``--strategy freeze`` (lr 5e-2,
as sst2.py's freeze run), where only the head learns and the pooling matters most.
CoNLL-2003 (as benchmarks/ner_conll.py's same-recipe run): the first 4,000 training sentences, 1 epoch,
batch 32, lr 5e-5, no warm-up or weight decay, max length 512, seed 42, entity F1 on the full test set;
heads default, mlp and crf. Each run is its own process. Writes benchmarks/results/heads.json and the
``heads`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import json
from typing import Any

from common import WORK, entry, machine, publish, require_shared, run_job

SST2 = {"epochs": 1, "batch_size": 32, "learning_rate": 5e-5, "warmup_ratio": 0.06, "weight_decay": 0.01,
        "seed": 42, "max_length": 128}
CONLL = {"epochs": 1, "batch_size": 32, "learning_rate": 5e-5, "warmup_ratio": 0.0, "weight_decay": 0.0,
         "seed": 42, "max_length": 512, "precision": "fp32"}
SST2_RUNS = {"default, freeze": {"head": "default", "strategy": "freeze", "learning_rate": 5e-2},
             "mean-pool, freeze": {"head": "mean-pool", "strategy": "freeze", "learning_rate": 5e-2},
             "default": {}, "mean-pool": {}, "mlp": {}}
"""Cheapest first (a frozen backbone trains several times faster), so a cut-short run still compares heads."""
CONLL_RUNS = ("default", "mlp", "crf")
TRAIN_ROWS, TRAIN_SENTENCES = 8000, 4000


def job_train(args: dict) -> dict:
    import tlzoo

    result = tlzoo.train(args["task"], backbone="minilm-l6", train=args["train"], test=args["test"],
                         output=args["output"], overwrite=True, quiet=True, eval_every="none", **args["options"])
    test, train = result.metrics["test"], result.metrics["train"]
    scores = {k: test[k] for k in ("accuracy", "f1", "strict_f1", "precision", "recall") if k in test}
    return {**scores, "train_seconds": train["seconds"], "samples_per_second": train["samples_per_second"],
            "steps": train["steps"]}


JOBS = {"train": job_train}


def main(quick: bool) -> None:
    from ner_conll import write_sentences

    sst2, conll = require_shared("sst2"), require_shared("conll2003")
    WORK.mkdir(parents=True, exist_ok=True)
    rows = 256 if quick else TRAIN_ROWS
    sst2_train = WORK / "heads_sst2_train.tsv"
    lines = (sst2 / "train.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    sst2_train.write_text("".join(lines[:rows + 1]), encoding="utf-8")
    sentences = 64 if quick else TRAIN_SENTENCES
    conll_train = write_sentences(conll / "train.txt", WORK / "heads_conll_train.txt", sentences)
    conll_test = (write_sentences(conll / "test.txt", WORK / "heads_conll_test.txt", 64) if quick
                  else str(conll / "test.txt"))
    limits = {"max_steps": 2} if quick else {}
    me = __file__
    results: dict[str, Any] = {"machine": machine(), "sst2_recipe": SST2, "conll_recipe": CONLL, "quick": quick,
                               "sst2_train_rows": rows, "conll_train_sentences": sentences, "sst2": {}, "conll": {}}
    for name, options in SST2_RUNS.items():
        options = {**SST2, "head": name, **options, **limits}
        results["sst2"][name] = run_job(me, "train", {
            "task": "classification", "train": str(sst2_train), "test": str(sst2 / "test.tsv"),
            "output": str(WORK / f"heads_sst2_{name.replace(', ', '_')}"), "options": options})
        _checkpoint(results)
    for name in CONLL_RUNS:
        results["conll"][name] = run_job(me, "train", {
            "task": "ner", "train": conll_train, "test": conll_test, "output": str(WORK / f"heads_conll_{name}"),
            "options": {**CONLL, "head": name, **limits}})
        _checkpoint(results)
    publish("heads", "heads", results, render(results), quick)


def _checkpoint(results: dict[str, Any]) -> None:
    """The runs so far, in benchmarks/work/heads.partial.json: a long run's figures before it ends."""
    (WORK / "heads.partial.json").write_text(json.dumps(results, indent=2) + "\n")


def render(r: dict[str, Any]) -> str:
    sst2 = ["| head (SST-2) | strategy | test accuracy | train samples/s | peak RSS MB |",
            "| --- | --- | --- | --- | --- |"]
    for name, run in r["sst2"].items():
        head, _, strategy = name.partition(", ")
        sst2.append(f"| {head} | {strategy or 'full'} | {run['accuracy']:.4f} | {run['samples_per_second']:.1f} | "
                    f"{run['peak_rss_mb']:.0f} |")
    conll = ["| head (CoNLL-2003) | F1 (default) | F1 (strict IOB2) | precision | recall | train samples/s |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, run in r["conll"].items():
        conll.append(f"| {name} | {run['f1']:.4f} | {run['strict_f1']:.4f} | {run['precision']:.4f} | "
                     f"{run['recall']:.4f} | {run['samples_per_second']:.1f} |")
    return "\n".join([
        "## Heads (minilm-l6)", "",
        f"SST-2: first {r['sst2_train_rows']:,} training rows, 1 epoch, batch 32, lr 5e-5 (freeze: 5e-2), warm-up 6%, "
        "weight decay 0.01, max length 128, seed 42; accuracy on GLUE dev (872). CoNLL-2003: first "
        f"{r['conll_train_sentences']:,} training sentences, 1 epoch, batch 32, lr 5e-5, max length 512, seed 42; "
        f"entity F1 on the full test set (3,453 sentences). Machine: {r['machine']['cpus']} CPUs, "
        f"{r['machine']['date']}.", "", *sst2, "", *conll, "",
        "Reproduce: `.venv/bin/python benchmarks/heads.py` (raw results: `benchmarks/results/heads.json`).",
    ])


if __name__ == "__main__":
    entry(__doc__, JOBS, lambda args: main(args.quick))
