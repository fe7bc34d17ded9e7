"""tlzoo distill: a 3-layer student of the SST-2 and of the CoNLL-2003 NER teacher, with and without
distillation, and int8 on top.

    .venv/bin/python benchmarks/distill.py                # both tasks
    .venv/bin/python benchmarks/distill.py --task ner     # one task (sst2 or ner); the other's results stay
    .venv/bin/python benchmarks/distill.py --quick        # a few rows and steps: checks the script

SST-2 (~15 minutes on 2 idle cores). Teacher: the model of the SST-2 recipe (benchmarks/sst2.py: minilm-l6,
6 layers, the first 8,000 rows of SST-2 train, 1 epoch, batch 32, lr 5e-5), the folder benchmarks/serve.py
trained (``--teacher``, read only). Students train on the same 8,000 rows for 1 epoch at the same batch and
learning rate. Tuning rows: 1,000 held-out rows of SST-2 train (``dev.tsv`` of the shared copy, never trained
on); scored on GLUE SST-2 dev (``test.tsv``, 872 rows) by accuracy.

CoNLL-2003 NER (~20 minutes on 2 idle cores). Teacher: trained here by the strongest recipe of
benchmarks/ner_conll.py, "tlzoo defaults, full train set, 10 min" (minilm-l6, all 14,041 sentences of CoNLL
train, the ner task's default hyper-parameters: lr 1e-4, batch 16, 3 epochs, warm-up 0.06, stopped after
``TEACHER_MINUTES`` of training, the learning rate decaying over that budget; test F1 0.867 there). Students: the
first 4,000 sentences, 300 steps at batch 32 (2.4 epochs), lr 5e-5. Tuning sentences: the last 1,000 of CoNLL
train (held out from the students; the teacher's full training set includes them); scored on CoNLL dev (3,250
sentences) by entity F1 (seqeval, default mode) of the tags ``predict`` returns.

The arms, the same for both tasks, each student ``teacher:layers=3`` (layers 0, 2, 4 of the teacher, its
embeddings and head):

- fine-tuned without distillation (``--alpha 1``: the task loss alone, from the same initial weights);
- distilled, the same steps; a sweep of temperature and alpha, each scored on the tuning rows: the best is
  the row reported;
- distilled with the rest of the training set as unlabelled transfer text (``--unlabeled``, labels dropped),
  at the best setting, for at most the task's ``transfer_minutes`` of training;
- ``tlzoo export --quantize int8`` of the best student.

Prediction throughput: ``predict`` on the scored rows (NER: the first 1,000 of them), batch 64, tokenising and
post-processing included; the models take turns, best of 3 rounds, in one process, so the speed-ups are ratios
measured side by side. Writes
benchmarks/results/distill.json (SST-2) and distill_ner.json, and the ``distill`` and ``distill-ner`` sections
of docs/benchmarks.md (``--quick``: under benchmarks/work/).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import REPO, WORK, entry, machine, publish, require_shared, run_job

TEACHER = REPO.parent / "main" / "benchmarks" / "work" / "serve_sst2"
TEACHER_MINUTES = 10.0
RESERVE_MINUTES, LABELLING_MINUTES = 4.0, 1.5
"""A task's run has a slot on the shared machine (its ``run_minutes``): the students must be done
``RESERVE_MINUTES`` (export, speed) before its end. Under load a sweep point after the first is skipped when it
would not leave one minute for the transfer arm, whose training time shrinks to what is left (less
``LABELLING_MINUTES``: the teacher labels the text)."""
SPEED_ROUNDS, SPEED_BATCH = 3, 64
QUICK = {"train_rows": 256, "tune_rows": 64, "test_rows": 64, "transfer_rows": 256, "max_steps": 3, "sweep": 2}


@dataclasses.dataclass(frozen=True)
class Setup:
    """What differs between the tasks; the arms, the speed job and the table are shared."""

    name: str
    metric: str  # the key of the score in the rows ("accuracy", "f1")
    recipe: dict[str, Any]  # the students' training options
    teacher_recipe: dict[str, Any] | None  # the teacher's, trained here on the full training set (None: a folder)
    train_rows: int
    tune_rows: int
    transfer_rows: int
    sweep: list[tuple[float, float]]
    transfer_options: dict[str, Any]  # what the transfer arm changes in the recipe
    transfer_minutes: float  # the transfer arm's training time cap
    run_minutes: float  # the run's slot on the shared machine
    speed_rows: int  # the scored rows whose prediction is timed (0: all)
    results: str  # benchmarks/results/<results>.json
    section: str  # <!-- section:begin --> in docs/benchmarks.md
    title: str
    describe: Callable[[dict], str]  # the paragraph above the table


def _describe_sst2(r: dict) -> str:
    return (f"Teacher: the SST-2 recipe's model (minilm-l6, 6 layers, {r['train_rows']:,} rows of SST-2 train, 1 "
            f"epoch). Students: `--student teacher:layers=3` (layers 0, 2, 4, embeddings and head copied), "
            f"{r['train_rows']:,} rows, 1 epoch, batch 32, lr 5e-5. Accuracy on GLUE SST-2 dev (872); throughput: "
            f"`predict` on those 872 sentences, batch 64, models taking turns in one process, best of {SPEED_ROUNDS}.")


def _describe_ner(r: dict) -> str:
    t = r["teacher"]
    return (f"Teacher: minilm-l6 (6 layers) trained here by the NER benchmark's strongest recipe, \"tlzoo "
            f"defaults, full train set, 10 min\" (test F1 0.867 there): all {t['train_rows']:,} sentences of "
            f"CoNLL-2003 train, lr 1e-4, batch 16, warm-up 0.06, stopped after {t['max_minutes']:g} minutes of "
            f"training with the learning rate decaying over them ({t['steps']:,} steps, {t['epochs']:.2f} epochs, "
            f"{t['train_seconds']:.0f} s). Students: `--student teacher:layers=3` (layers 0, 2, 4, embeddings and "
            f"head copied), the first {r['train_rows']:,} sentences, {r['recipe']['max_steps']} steps at batch 32, lr "
            f"5e-5. "
            f"Entity F1 (seqeval, default mode) of the "
            f"tags `predict` returns on CoNLL-2003 dev ({r['test_rows']:,} sentences); throughput: `predict` on "
            f"the first {r['speed']['timed_rows']:,} of them (pre-split words), batch 64, models taking turns in one "
            f"process, best of {SPEED_ROUNDS}.")


SETUPS = {
    "sst2": Setup(
        "sst2", "accuracy", {"epochs": 1, "batch_size": 32, "learning_rate": 5e-5, "warmup_ratio": 0.06,
                             "weight_decay": 0.01, "seed": 42, "max_length": 128, "eval_batch_size": 64},
        teacher_recipe=None,
        train_rows=8000, tune_rows=1000, transfer_rows=12000,  # of 52,614 train rows: what fits the budget
        sweep=[(2.0, 0.5), (4.0, 0.5), (2.0, 0.1)], transfer_options={}, transfer_minutes=4.0, run_minutes=30.0,
        speed_rows=0, results="distill",
        section="distill",
        title="Distillation: a 3-layer student of the SST-2 model (`tlzoo distill`)", describe=_describe_sst2),
    "ner": Setup(
        "ner", "f1", {"epochs": 1, "max_steps": 300, "batch_size": 32, "learning_rate": 5e-5, "seed": 42,
                      "eval_batch_size": 64},
        teacher_recipe={"max_minutes": TEACHER_MINUTES},  # ner_conll.py's "tlzoo defaults, full train set"
        train_rows=4000, tune_rows=1000, transfer_rows=9041,  # CoNLL train: 14,041 sentences, all used
        sweep=[(2.0, 0.1), (2.0, 0.5)], transfer_options={"max_steps": 0, "epochs": 3}, transfer_minutes=8.0,
        run_minutes=36.0,
        speed_rows=1000, results="distill_ner", section="distill-ner",
        title="Distillation: a 3-layer student of the CoNLL-2003 NER model (`tlzoo distill`)",
        describe=_describe_ner),
}


# -- data -----------------------------------------------------------------------------------------
def prepare_sst2(setup: Setup, quick: bool) -> dict[str, str]:
    data = require_shared("sst2")
    train_lines = (data / "train.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = train_lines[0], train_lines[1:]
    n_train = QUICK["train_rows"] if quick else setup.train_rows
    n_transfer = QUICK["transfer_rows"] if quick else setup.transfer_rows
    files = {"train": WORK / "distill_sst2_train.tsv", "tune": WORK / "distill_sst2_tune.tsv",
             "test": WORK / "distill_sst2_test.tsv", "transfer": WORK / "distill_sst2_transfer.txt"}
    files["train"].write_text(header + "".join(rows[:n_train]), encoding="utf-8")
    files["transfer"].write_text("".join(line.rsplit("\t", 1)[0].strip() + "\n"
                                         for line in rows[n_train:n_train + n_transfer]), encoding="utf-8")
    tune = (data / "dev.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    files["tune"].write_text("".join(tune[:(QUICK["tune_rows"] if quick else setup.tune_rows) + 1]),
                             encoding="utf-8")
    test = (data / "test.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    files["test"].write_text("".join(test[:QUICK["test_rows"] + 1] if quick else test), encoding="utf-8")
    return {k: str(v) for k, v in files.items()}


def prepare_ner(setup: Setup, quick: bool) -> dict[str, str]:
    """Train head, tune tail and dev as CoNLL files; the sentences between as ``{"tokens": [...]}`` lines."""
    from tlzoo_ner.reader import read_tagged

    data = require_shared("conll2003")
    train = read_tagged(str(data / "train.txt"))
    sentences = [(w, t) for w, t in zip(train.tokens, train.tags) if w]
    n_train = QUICK["train_rows"] if quick else setup.train_rows
    n_tune = QUICK["tune_rows"] if quick else setup.tune_rows
    n_transfer = QUICK["transfer_rows"] if quick else setup.transfer_rows
    dev = read_tagged(str(data / "dev.txt"))
    test = [(w, t) for w, t in zip(dev.tokens, dev.tags) if w]
    parts = {"train": sentences[:n_train], "tune": sentences[-n_tune:],
             "test": test[:QUICK["test_rows"]] if quick else test}
    files = {name: WORK / f"distill_ner_{name}.txt" for name in parts}
    files["teacher"] = data / "train.txt" if not quick else files["train"]  # all 14,041 sentences
    for name, rows in parts.items():
        files[name].write_text("\n\n".join("\n".join(f"{w} {t}" for w, t in zip(words, tags))
                                           for words, tags in rows) + "\n", encoding="utf-8")
    files["transfer"] = WORK / "distill_ner_transfer.jsonl"
    files["transfer"].write_text("".join(json.dumps({"tokens": words}) + "\n" for words, _ in
                                         sentences[n_train:n_train + n_transfer]), encoding="utf-8")
    return {k: str(v) for k, v in files.items()}


PREPARE = {"sst2": prepare_sst2, "ner": prepare_ner}


def scored_inputs(task: str, path: str) -> tuple[list[Any], Callable[[list[dict]], float]]:
    """The scored rows as prediction inputs, and the task's score of a list of predictions of them."""
    if task == "sst2":
        rows = [line.rsplit("\t", 1) for line in Path(path).read_text().splitlines()[1:]]
        gold = [label.strip() for _, label in rows]
        return [text for text, _ in rows], lambda predictions: sum(
            str(p["label"]) == g for p, g in zip(predictions, gold)) / len(gold)
    from tlzoo_ner.metric import SeqevalReport
    from tlzoo_ner.reader import read_tagged

    data = read_tagged(path)
    return [{"tokens": words} for words in data.tokens], lambda predictions: SeqevalReport("IOB2").compute(
        [p["tags"] for p in predictions], data.tags)["f1"]


# -- jobs (each in its own process) ----------------------------------------------------------------
def job_teacher(args: dict) -> dict:
    """The NER teacher, trained by its recipe (the SST-2 teacher is an existing folder)."""
    from tlzoo_ner.reader import read_tagged

    import tlzoo

    result = tlzoo.train("ner", backbone="minilm-l6", train=args["train"], output=args["output"], overwrite=True,
                         quiet=True, eval_every="none", **args["options"])
    train = result.metrics["train"]
    return {"folder": args["output"], "steps": train["steps"], "epochs": train["epochs"],
            "train_rows": sum(1 for words in read_tagged(args["train"]).tokens if words), "samples": train["samples"],
            "train_seconds": train["seconds"], "max_minutes": result.config.max_minutes}


def job_students(args: dict) -> dict:
    """Every student, one after the other in this process (the teacher's outputs are computed once)."""
    import tlzoo

    files, work, limits, metric = args["files"], Path(args["work"]), args["limits"], args["metric"]
    common = {**args["recipe"], **limits, "train": files["train"], "validation": files["tune"],
              "overwrite": True, "quiet": True}
    out: dict[str, Any] = {}

    def student(name: str, **options: Any) -> dict:
        started = time.perf_counter()
        result = tlzoo.distill(args["teacher"], "teacher:layers=3", output=str(work / name), **{**common, **options})
        return {"folder": str(work / name), f"tune_{metric}": result.metrics["validation"][metric],
                "steps": result.metrics["train"]["steps"], "train_rows": result.metrics["train"]["samples"],
                "train_seconds": result.metrics["train"]["seconds"],
                "seconds": round(time.perf_counter() - started, 1),
                **{k: v for k, v in options.items() if k in ("temperature", "alpha")}}

    deadline = args["deadline"]
    out["plain"] = student("distill_plain", alpha=1.0)
    out["sweep"], out["skipped"] = [], []
    for t, a in args["sweep"]:
        if out["sweep"] and deadline and time.time() + out["sweep"][-1]["seconds"] + 60 * (
                1 + LABELLING_MINUTES) > deadline:
            out["skipped"].append({"temperature": t, "alpha": a})
            continue
        out["sweep"].append(student(f"distill_t{t:g}_a{a:g}", temperature=t, alpha=a))
    best = max(out["sweep"], key=lambda r: r[f"tune_{metric}"])
    minutes = args["transfer_minutes"]
    if deadline:
        minutes = round(max(1.0, min(minutes, (deadline - time.time()) / 60 - LABELLING_MINUTES)), 1)
    transfer_limits = {**args["transfer_options"], **limits, **({} if limits else {"max_minutes": minutes})}
    out["transfer"] = student("distill_transfer", temperature=best["temperature"], alpha=best["alpha"],
                              unlabeled=[files["transfer"]], **transfer_limits)
    out["transfer"]["max_minutes"] = minutes
    return out


def job_speed(args: dict) -> dict:
    """Each model's score on all the scored rows (a pass that also warms it up), then its predict throughput on
the first ``speed_rows`` of them (0: all), the models taking turns, best of ``rounds``."""
    import tlzoo

    inputs, score = scored_inputs(args["task"], args["test"])
    models = {name: tlzoo.load(folder) for name, folder in args["models"].items()}
    scores = {name: score(model.predict(inputs, batch_size=SPEED_BATCH)) for name, model in models.items()}
    timed = inputs[:args["speed_rows"]] if args["speed_rows"] else inputs
    best: dict[str, float] = {}
    for _ in range(args["rounds"]):
        for name, model in models.items():
            started = time.perf_counter()
            model.predict(timed, batch_size=SPEED_BATCH)
            rate = len(timed) / (time.perf_counter() - started)
            best[name] = max(best.get(name, 0.0), rate)
    return {"examples_per_second": {k: round(v, 1) for k, v in best.items()}, args["metric"]: scores,
            "timed_rows": len(timed), "torch_threads": __import__("torch").get_num_threads()}


# -- the run --------------------------------------------------------------------------------------
def _size(folder: str) -> int:
    return sum(p.stat().st_size for p in Path(folder).iterdir() if p.suffix in (".safetensors", ".onnx"))


def run_task(setup: Setup, sst2_teacher: str, quick: bool) -> None:
    started = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine()}
    files = PREPARE[setup.name](setup, quick)
    work = WORK / (f"distill_{setup.name}_quick" if quick else f"distill_{setup.name}")
    limits = {"max_steps": QUICK["max_steps"]} if quick else {}
    metric = setup.metric
    if setup.name == "sst2":
        teacher = sst2_teacher
        if not (Path(teacher) / "tlzoo.json").is_file():
            sys.exit(f"teacher {teacher} is missing: run benchmarks/serve.py first (it trains the SST-2 recipe there)")
        results["teacher"] = {"folder": "benchmarks/work/serve_sst2 (the SST-2 recipe)"}
    else:
        teacher = str(work / "teacher")
        results["teacher"] = run_job(__file__, "teacher", {"train": files["teacher"], "output": teacher,
                                                           "options": {**(setup.teacher_recipe or {}), **limits}})
    students = run_job(__file__, "students", {
        "teacher": teacher, "files": files, "work": str(work), "limits": limits, "metric": metric,
        "recipe": setup.recipe, "sweep": setup.sweep[:QUICK["sweep"]] if quick else setup.sweep,
        "transfer_options": setup.transfer_options, "transfer_minutes": setup.transfer_minutes,
        "deadline": None if quick else time.time() + 60 * (setup.run_minutes - RESERVE_MINUTES) - (
            time.perf_counter() - started)})
    tuned = f"tune_{metric}"
    distilled = [*students["sweep"], students["transfer"]]
    best = max(distilled, key=lambda r: r[tuned])
    exported = str(work / "best_int8")
    subprocess.run([str(Path(sys.executable).parent / "tlzoo"), "export", best["folder"], "--output", exported,
                    "--quantize", "int8", "--overwrite"], check=True, stdout=subprocess.DEVNULL)
    chosen = max(students["sweep"], key=lambda r: r[tuned])
    models = {"teacher": teacher, "plain": students["plain"]["folder"], "distilled": chosen["folder"],
              "transfer": students["transfer"]["folder"], "best_int8": exported}
    speed = run_job(__file__, "speed", {"task": setup.name, "metric": metric, "models": models,
                                        "test": files["test"], "rounds": 1 if quick else SPEED_ROUNDS,
                                        "speed_rows": setup.speed_rows})
    rate = speed["examples_per_second"]
    teacher_score = speed[metric]["teacher"]
    results["teacher"][metric] = teacher_score
    best_name = "transfer" if best is students["transfer"] else "distilled"
    rows = []
    for key, label, record in (("teacher", "teacher (6 layers, fp32)", None),
                               ("plain", "student, fine-tuned without distillation", students["plain"]),
                               ("distilled", "student, distilled (same steps)", chosen),
                               ("transfer", "student, distilled + transfer text", students["transfer"]),
                               ("best_int8", f"best student ({best_name}) + export int8", None)):
        rows.append({"model": key, "label": label, metric: speed[metric][key],
                     "of_teacher": speed[metric][key] / teacher_score,
                     "examples_per_second": rate[key], "speedup": rate[key] / rate["teacher"],
                     "size_mb": round(_size(models[key]) / 1e6, 1),
                     **({k: record[k] for k in ("steps", "train_rows", "train_seconds", "temperature", "alpha")
                         if k in record} if record else {})})
    by = {r["model"]: r for r in rows}
    fp32_best = by[best_name]
    name = "accuracy" if metric == "accuracy" else "F1"
    targets = {f"distilled student keeps >= 97% of the teacher's {name}": fp32_best["of_teacher"] >= 0.97,
               "distilled student predicts >= 1.8x faster": fp32_best["speedup"] >= 1.8,
               "distilled student beats the one fine-tuned without distillation":
                   max(by["distilled"][metric], by["transfer"][metric]) > by["plain"][metric]}
    results.update({"recipe": setup.recipe, "train_rows": len(_rows(files["train"], setup.name)),
                    "tune_rows": len(_rows(files["tune"], setup.name)),
                    "test_rows": len(_rows(files["test"], setup.name)),
                    "transfer_rows": len(Path(files["transfer"]).read_text().splitlines()),
                    "transfer_minutes": students["transfer"]["max_minutes"], "sweep": students["sweep"],
                    "sweep_skipped": students["skipped"],
                    "chosen": {"temperature": chosen["temperature"], "alpha": chosen["alpha"]},
                    "rows": rows, "targets": targets, "speed": speed, "quick": quick,
                    "wall_seconds": round(time.perf_counter() - started, 1)})
    publish(setup.results, setup.section, results, markdown(results, setup), quick)


def _rows(path: str, task: str) -> list[Any]:
    if task == "sst2":
        return Path(path).read_text().splitlines()[1:]
    return [block for block in Path(path).read_text().split("\n\n") if block.strip()]


def markdown(r: dict, setup: Setup) -> str:
    metric = setup.metric
    tuned = f"tune_{metric}"
    name = "accuracy" if metric == "accuracy" else "F1"
    unit = "rows" if setup.name == "sst2" else "sentences"
    lines = [f"## {setup.title}", "",
             f"`benchmarks/distill.py --task {setup.name}`, {r['machine']['date']}, {r['machine']['cpus']} CPUs "
             f"(shared; load {r['machine']['load_average_at_start']} at start). {setup.describe(r)}", "",
             f"| model | {name} | of teacher | examples/s | speed-up | size (MB) | steps |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in r["rows"]:
        lines.append(f"| {row['label']} | {row[metric]:.4f} | {100 * row['of_teacher']:.1f}% | "
                     f"{row['examples_per_second']:.0f} | {row['speedup']:.2f}x | {row['size_mb']} | "
                     f"{row.get('steps', '')} |")
    sweep = ", ".join([*(f"T={s['temperature']:g} alpha={s['alpha']:g}: {s[tuned]:.4f}" for s in r["sweep"]),
                       *(f"T={s['temperature']:g} alpha={s['alpha']:g}: not run (the run's "
                         f"{setup.run_minutes:g}-minute slot, machine load)" for s in r.get("sweep_skipped", []))])
    transfer = next(row for row in r["rows"] if row["model"] == "transfer")
    plain = r["rows"][1]
    lines += ["", f"Temperature and alpha, scored on {r['tune_rows']:,} held-out {unit} of the training set: "
                  f"{sweep}; T={r['chosen']['temperature']:g}, alpha={r['chosen']['alpha']:g} is kept. Transfer "
                  f"text: {r['transfer_rows']:,} more {unit} of the training set without their labels, labelled by "
                  f"the teacher's outputs, at most {r['transfer_minutes']:g} minutes of training "
                  f"({transfer.get('train_rows', 0):,} {unit} seen, {transfer.get('steps', 0)} steps). The student "
                  f"without distillation is `--alpha 1` (the task loss alone, same initial weights, "
                  f"{plain.get('steps', 0)} steps).", "",
              "Targets: " + "; ".join(f"{target}: {'met' if ok else 'MISSED'}" for target, ok in r["targets"].items())
              + "."]
    if r["quick"]:
        lines += ["", "**Quick mode: a few rows and steps; not a result.**"]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> None:
    for name in (SETUPS if args.task == "all" else [args.task]):
        run_task(SETUPS[name], str(args.teacher), args.quick)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", choices=["all", *SETUPS], default="all",
                        help="run one task's table (the other's results and section stay as they are)")
    parser.add_argument("--teacher", type=Path, default=Path(os.environ.get("TLZOO_DISTILL_TEACHER", TEACHER)),
                        help="the SST-2 recipe's model folder (read only)")


if __name__ == "__main__":
    entry(__doc__, {"teacher": job_teacher, "students": job_students, "speed": job_speed}, main, configure)
