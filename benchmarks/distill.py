"""tlzoo distill: a 3-layer student of the SST-2 teacher, with and without distillation, and int8 on top.

    .venv/bin/python benchmarks/distill.py            # ~15 minutes on 2 idle cores
    .venv/bin/python benchmarks/distill.py --quick    # a few rows and steps: checks the script

Teacher: the model of the SST-2 recipe (benchmarks/sst2.py: minilm-l6, 6 layers, the first 8,000 rows of SST-2
train, 1 epoch, batch 32, lr 5e-5), the folder benchmarks/serve.py trained (``--teacher``, read only).
Students: ``teacher:layers=3`` (layers 0, 2, 4 of the teacher, its embeddings and head), trained on the same
8,000 rows for 1 epoch at the same batch and learning rate:

- fine-tuned without distillation (``--alpha 1``: the task loss alone, from the same initial weights);
- distilled, the same steps; a sweep of temperature and alpha, each scored on 1,000 held-out rows of SST-2
  train (``dev.tsv`` of the shared copy, never trained on): the best of these sets the defaults of
  ``tlzoo distill`` and is the row reported;
- distilled with the next rows of SST-2 train as unlabelled transfer text (``--unlabeled``, their labels
  dropped), at the best setting, for at most ``TRANSFER_MINUTES`` of training.

Accuracy on GLUE SST-2 dev (``test.tsv``, 872 rows), prediction throughput (``predict`` on those 872 sentences,
batch 64, tokenising and post-processing included; the models take turns, best of 3 rounds, in one process),
weights size, and ``tlzoo export --quantize int8`` of the best student. Writes benchmarks/results/distill.json
and the ``distill`` section of docs/benchmarks.md (``--quick``: under benchmarks/work/).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import REPO, WORK, entry, machine, publish, require_shared, run_job

TEACHER = REPO.parent / "main" / "benchmarks" / "work" / "serve_sst2"
RECIPE = {"epochs": 1, "batch_size": 32, "learning_rate": 5e-5, "warmup_ratio": 0.06, "weight_decay": 0.01,
          "seed": 42, "max_length": 128, "eval_batch_size": 64}
TRAIN_ROWS, TUNE_ROWS = 8000, 1000
TRANSFER_ROWS = 12000
"""Rows of SST-2 train after the first 8,000 used as unlabelled transfer text (of 52,614): what fits the budget."""
TRANSFER_MINUTES = 4.0
SWEEP = [(2.0, 0.5), (4.0, 0.5), (2.0, 0.1)]
"""(temperature, alpha) pairs tried for the distilled student."""
QUICK = {"train_rows": 256, "tune_rows": 64, "test_rows": 64, "transfer_rows": 256, "max_steps": 3,
         "sweep": SWEEP[:2]}
SPEED_ROUNDS, SPEED_BATCH = 3, 64


def prepare(quick: bool) -> dict[str, str]:
    data = require_shared("sst2")
    WORK.mkdir(parents=True, exist_ok=True)
    train_lines = (data / "train.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = train_lines[0], train_lines[1:]
    n_train = QUICK["train_rows"] if quick else TRAIN_ROWS
    n_transfer = QUICK["transfer_rows"] if quick else TRANSFER_ROWS
    files = {"train": WORK / "distill_sst2_train.tsv", "tune": WORK / "distill_sst2_tune.tsv",
             "test": WORK / "distill_sst2_test.tsv", "transfer": WORK / "distill_sst2_transfer.txt"}
    files["train"].write_text(header + "".join(rows[:n_train]), encoding="utf-8")
    files["transfer"].write_text("".join(line.rsplit("\t", 1)[0].strip() + "\n"
                                         for line in rows[n_train:n_train + n_transfer]), encoding="utf-8")
    tune = (data / "dev.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    files["tune"].write_text("".join(tune[:(QUICK["tune_rows"] if quick else TUNE_ROWS) + 1]), encoding="utf-8")
    test = (data / "test.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    files["test"].write_text("".join(test[:QUICK["test_rows"] + 1] if quick else test), encoding="utf-8")
    return {k: str(v) for k, v in files.items()}


# -- jobs (each in its own process) ----------------------------------------------------------------
def job_students(args: dict) -> dict:
    """Every student, one after the other in this process (the teacher's outputs are computed once)."""
    import tlzoo

    files, work, limits = args["files"], Path(args["work"]), args["limits"]
    common = {**RECIPE, **limits, "train": files["train"], "validation": files["tune"], "test": files["test"],
              "overwrite": True, "quiet": True}
    out: dict[str, Any] = {}

    def student(name: str, **options: Any) -> dict:
        started = time.perf_counter()
        result = tlzoo.distill(args["teacher"], "teacher:layers=3", output=str(work / name), **{**common, **options})
        return {"folder": str(work / name), "tune_accuracy": result.metrics["validation"]["accuracy"],
                "accuracy": result.metrics["test"]["accuracy"], "steps": result.metrics["train"]["steps"],
                "train_rows": result.metrics["train"]["samples"], "train_seconds": result.metrics["train"]["seconds"],
                "seconds": round(time.perf_counter() - started, 1), **options}

    out["plain"] = student("distill_plain", alpha=1.0)
    out["sweep"] = [student(f"distill_t{t:g}_a{a:g}", temperature=t, alpha=a) for t, a in args["sweep"]]
    best = max(out["sweep"], key=lambda r: r["tune_accuracy"])
    transfer_limits = {} if limits else {"max_minutes": args["transfer_minutes"]}
    out["transfer"] = student("distill_transfer", temperature=best["temperature"], alpha=best["alpha"],
                              unlabeled=[files["transfer"]], **transfer_limits)
    return out


def job_speed(args: dict) -> dict:
    """Predict throughput of each model on the same sentences and batch; the models take turns."""
    import tlzoo

    rows = [line.rsplit("\t", 1) for line in Path(args["test"]).read_text().splitlines()[1:]]
    sentences, gold = [text for text, _ in rows], [label.strip() for _, label in rows]
    models = {name: tlzoo.load(folder) for name, folder in args["models"].items()}
    for model in models.values():
        model.predict(sentences[:SPEED_BATCH], batch_size=SPEED_BATCH)  # warm-up
    best: dict[str, float] = {}
    accuracy: dict[str, float] = {}
    for _ in range(args["rounds"]):
        for name, model in models.items():
            started = time.perf_counter()
            predictions = model.predict(sentences, batch_size=SPEED_BATCH)
            rate = len(sentences) / (time.perf_counter() - started)
            best[name] = max(best.get(name, 0.0), rate)
            accuracy[name] = sum(str(p["label"]) == g for p, g in zip(predictions, gold)) / len(gold)
    return {"examples_per_second": {k: round(v, 1) for k, v in best.items()}, "accuracy": accuracy,
            "torch_threads": __import__("torch").get_num_threads()}


# -- the run --------------------------------------------------------------------------------------
def _size(folder: str) -> int:
    return sum(p.stat().st_size for p in Path(folder).iterdir() if p.suffix in (".safetensors", ".onnx"))


def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    teacher = str(args.teacher)
    if not (Path(teacher) / "tlzoo.json").is_file():
        sys.exit(f"teacher {teacher} is missing: run benchmarks/serve.py first (it trains the SST-2 recipe there)")
    files = prepare(args.quick)
    work = WORK / ("distill_quick" if args.quick else "distill")
    limits = {"max_steps": QUICK["max_steps"]} if args.quick else {}
    students = run_job(__file__, "students", {
        "teacher": teacher, "files": files, "work": str(work), "limits": limits,
        "sweep": QUICK["sweep"] if args.quick else SWEEP, "transfer_minutes": TRANSFER_MINUTES})
    distilled = [*students["sweep"], students["transfer"]]
    best = max(distilled, key=lambda r: r["tune_accuracy"])
    exported = str(work / "best_int8")
    subprocess.run([str(Path(sys.executable).parent / "tlzoo"), "export", best["folder"], "--output", exported,
                    "--quantize", "int8", "--overwrite"], check=True, stdout=subprocess.DEVNULL)
    chosen = max(students["sweep"], key=lambda r: r["tune_accuracy"])
    models = {"teacher": teacher, "plain": students["plain"]["folder"], "distilled": chosen["folder"],
              "transfer": students["transfer"]["folder"], "best_int8": exported}
    speed = run_job(__file__, "speed", {"models": models, "test": files["test"],
                                        "rounds": 1 if args.quick else SPEED_ROUNDS})
    rate = speed["examples_per_second"]
    teacher_accuracy = speed["accuracy"]["teacher"]
    best_name = "transfer" if best is students["transfer"] else "distilled"
    rows = []
    for key, label, record in (("teacher", "teacher (6 layers, fp32)", None),
                               ("plain", "student, fine-tuned without distillation", students["plain"]),
                               ("distilled", "student, distilled (same steps)", chosen),
                               ("transfer", "student, distilled + transfer text", students["transfer"]),
                               ("best_int8", f"best student ({best_name}) + export int8", None)):
        rows.append({"model": key, "label": label, "accuracy": speed["accuracy"][key],
                     "of_teacher": speed["accuracy"][key] / teacher_accuracy,
                     "examples_per_second": rate[key], "speedup": rate[key] / rate["teacher"],
                     "size_mb": round(_size(models[key]) / 1e6, 1),
                     **({k: record[k] for k in ("steps", "train_rows", "train_seconds", "temperature", "alpha")
                         if k in record} if record else {})})
    by = {r["model"]: r for r in rows}
    fp32_best = by[best_name]
    targets = {"distilled student keeps >= 97% of the teacher's accuracy": fp32_best["of_teacher"] >= 0.97,
               "distilled student predicts >= 1.8x faster": fp32_best["speedup"] >= 1.8,
               "distilled student beats the one fine-tuned without distillation":
                   max(by["distilled"]["accuracy"], by["transfer"]["accuracy"]) > by["plain"]["accuracy"]}
    results = {"machine": machine(), "teacher": {"folder": "benchmarks/work/serve_sst2 (the SST-2 recipe)",
                                                 "accuracy": teacher_accuracy},
               "recipe": RECIPE, "train_rows": TRAIN_ROWS, "tune_rows": TUNE_ROWS, "transfer_rows": TRANSFER_ROWS,
               "transfer_minutes": TRANSFER_MINUTES, "sweep": students["sweep"], "chosen": {
                   "temperature": chosen["temperature"], "alpha": chosen["alpha"]},
               "rows": rows, "targets": targets, "speed": speed, "quick": args.quick,
               "wall_seconds": round(time.perf_counter() - started, 1)}
    publish("distill", "distill", results, markdown(results), args.quick)


def markdown(r: dict) -> str:
    lines = ["## Distillation: a 3-layer student of the SST-2 model (`tlzoo distill`)", "",
             f"`benchmarks/distill.py`, {r['machine']['date']}, {r['machine']['cpus']} CPUs (shared; load "
             f"{r['machine']['load_average_at_start']} at start). Teacher: the SST-2 recipe's model (minilm-l6, 6 "
             f"layers, {r['train_rows']:,} rows of SST-2 train, 1 epoch). Students: `--student teacher:layers=3` "
             f"(layers 0, 2, 4, embeddings and head copied), {r['train_rows']:,} rows, 1 epoch, batch 32, lr 5e-5. "
             f"Accuracy on GLUE SST-2 dev (872); throughput: `predict` on those 872 sentences, batch 64, models "
             f"taking turns in one process, best of {SPEED_ROUNDS}.", "",
             "| model | accuracy | of teacher | examples/s | speed-up | size (MB) | steps |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in r["rows"]:
        lines.append(f"| {row['label']} | {row['accuracy']:.4f} | {100 * row['of_teacher']:.1f}% | "
                     f"{row['examples_per_second']:.0f} | {row['speedup']:.2f}x | {row['size_mb']} | "
                     f"{row.get('steps', '')} |")
    sweep = ", ".join(f"T={s['temperature']:g} alpha={s['alpha']:g}: {s['tune_accuracy']:.4f}" for s in r["sweep"])
    transfer = next(row for row in r["rows"] if row["model"] == "transfer")
    lines += ["", f"Temperature and alpha, scored on {r['tune_rows']:,} held-out rows of SST-2 train: {sweep}; "
                  f"T={r['chosen']['temperature']:g}, alpha={r['chosen']['alpha']:g} is kept (the default of "
                  f"`tlzoo distill`). Transfer text: the next {r['transfer_rows']:,} rows of SST-2 train without "
                  f"their labels, labelled by the teacher's outputs, at most {r['transfer_minutes']:g} minutes of "
                  f"training ({transfer.get('train_rows', 0):,} rows seen, {transfer.get('steps', 0)} steps). The "
                  f"student without distillation is `--alpha 1` (the task loss alone, same initial weights).", "",
              "Targets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in r["targets"].items())
              + "."]
    return "\n".join(lines)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--teacher", type=Path, default=Path(os.environ.get("TLZOO_DISTILL_TEACHER", TEACHER)),
                        help="the SST-2 recipe's model folder (read only)")


if __name__ == "__main__":
    entry(__doc__, {"students": job_students, "speed": job_speed}, main, configure)
