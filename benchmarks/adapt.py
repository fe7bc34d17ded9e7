"""tlzoo adapt: task-adaptive pre-training (TAPT) then fine-tuning, against fine-tuning alone, minilm-l6.

    .venv/bin/python benchmarks/adapt.py                # ~24 minutes on 2 idle cores
    .venv/bin/python benchmarks/adapt.py --equal-time   # then the equal-time arms it skipped (~23 minutes)
    .venv/bin/python benchmarks/adapt.py --quick        # a few rows and steps: checks the script

Two tasks, each with the data of its recipe benchmark (../shared/datasets):

- SST-2: the first 8,000 rows of train.tsv (classification), scored by accuracy on GLUE dev (test.tsv, 872);
- CoNLL-2003: the first 4,000 sentences of train.txt (ner), scored by entity F1 on the full dev.txt (3,250).

Fixed epochs, not time budgets (the machine is shared: a budget would measure the load). Per task:

1. ``tapt``: ``tlzoo adapt --from-task TASK --data TRAIN`` on minilm-l6 (masked LM on the task's own input text,
   the same rows as fine-tuning; 5% of them held out, by a fixed seed, for perplexity with fixed masks before
   and after), ``TAPT`` settings for the task's ``tapt_epochs`` (stopped at ``tapt_minutes`` if the machine is
   slower, the learning rate then decaying over that time), seed 42, once;
2. ``base``: fine-tuning minilm-l6, the task's ``FINE_TUNE`` settings, seeds 1, 2, 3;
3. ``adapted``: the same fine-tuning of the TAPT backbone, seeds 1, 2, 3 (gain at fixed fine-tuning);
4. ``base_equal_time``: fine-tuning minilm-l6 for the epochs that the TAPT time buys on top, seeds 1, 2, 3: extra
   epochs = TAPT training seconds / (mean training seconds of ``base`` per epoch), measured in this run (gain at
   equal total time). These run last, for each task only when the run, at the time expected from the ``base``
   arm's, still ends within ``BUDGET_MINUTES`` of the start; ``--equal-time`` runs the skipped ones afterwards, from
   the saved results (the TAPT folders and timings under benchmarks/work and benchmarks/results stay as they are).

The run's slot on the shared machine is 25 minutes, and every second of SST-2's TAPT is paid four times in it (once
adapting, then again by each of the 3 seeds of its equal-time arm): SST-2 gets 2 epochs of TAPT, CoNLL (whose
equal-time arm does not fit) 6. Fine-tuning stays at 0.5 epoch: a full epoch would double the four fixed arms
(~10 -> ~20 minutes) and leave no time to adapt.

Writes benchmarks/results/adapt.json and the ``adapt`` section of docs/benchmarks.md (``--quick``: under
benchmarks/work/).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from common import RESULTS, WORK, entry, machine, publish, require_shared, run_job
from ner_conll import write_sentences

SEEDS = (1, 2, 3)
TASKS = {
    "sst2": {"task": "classification", "metric": "accuracy", "rows": 8000, "label": "SST-2",
             "fine_tune": {"epochs": 0.5, "batch_size": 32, "learning_rate": 5e-5, "warmup_ratio": 0.06,
                           "weight_decay": 0.01, "max_length": 64},
             "tapt_epochs": 2, "tapt_minutes": 2.5},
    "conll": {"task": "ner", "metric": "f1", "rows": 4000, "label": "CoNLL-2003",
              "fine_tune": {"epochs": 0.5, "batch_size": 16, "learning_rate": 1e-4, "warmup_ratio": 0.06,
                            "weight_decay": 0.01, "max_length": 128},
              "tapt_epochs": 6, "tapt_minutes": 5.0},
}
TAPT = {"batch_size": 16, "learning_rate": 1e-4, "warmup_ratio": 0.06, "weight_decay": 0.01,
        "max_length": 128, "seed": 42}
"""Masked LM, 15% of the tokens (80/10/10, drawn anew each epoch), documents joined into 128-token chunks; the
epochs (and a time cap) are the task's ``tapt_epochs`` and ``tapt_minutes``."""
QUICK = {"rows": 200, "dev_rows": 64, "max_steps": 3}
BUDGET_MINUTES = 24.5
"""The equal-time arms run last, and only when the whole run then stays within this budget (the machine is shared:
under load they are skipped, and the table says so, rather than overrunning the benchmark's slot)."""


def prepare(quick: bool) -> dict[str, dict[str, str]]:
    WORK.mkdir(parents=True, exist_ok=True)
    sst2, conll = require_shared("sst2"), require_shared("conll2003")
    files: dict[str, dict[str, str]] = {}
    lines = (sst2 / "train.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    rows = QUICK["rows"] if quick else TASKS["sst2"]["rows"]
    train, dev = WORK / "adapt_sst2_train.tsv", WORK / "adapt_sst2_dev.tsv"
    train.write_text("".join(lines[:rows + 1]), encoding="utf-8")
    dev_lines = (sst2 / "test.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    dev.write_text("".join(dev_lines[:QUICK["dev_rows"] + 1] if quick else dev_lines), encoding="utf-8")
    files["sst2"] = {"train": str(train), "dev": str(dev)}
    conll_rows = QUICK["rows"] if quick else TASKS["conll"]["rows"]
    files["conll"] = {
        "train": write_sentences(conll / "train.txt", WORK / "adapt_conll_train.txt", conll_rows),
        "dev": write_sentences(conll / "dev.txt", WORK / "adapt_conll_dev.txt", QUICK["dev_rows"] if quick else 10**9)}
    return files


# -- jobs (each in its own process) ----------------------------------------------------------------
def job_tapt(args: dict) -> dict:
    import tlzoo

    started = time.perf_counter()
    result = tlzoo.adapt("minilm-l6", from_task=args["task"], data=args["train"], output=args["output"],
                         overwrite=True, quiet=True, **args["settings"])
    adaptation = json.loads((Path(args["output"]) / "tlzoo.json").read_text())["adaptation"]
    return {"folder": args["output"], "steps": result.metrics["train"]["steps"],
            "epochs": result.metrics["train"]["epochs"], "train_seconds": result.metrics["train"]["seconds"],
            "seconds": round(time.perf_counter() - started, 1),
            "perplexity": adaptation["perplexity"], "documents": adaptation["documents"],
            "chunks": adaptation["chunks"]}


def job_fine_tune(args: dict) -> dict:
    """One arm: the same fine-tuning for each seed, one after the other in this process."""
    import tlzoo

    runs = []
    for seed in args["seeds"]:
        started = time.perf_counter()
        result = tlzoo.train(args["task"], backbone=args["backbone"], train=args["train"], validation=args["dev"],
                             output=str(Path(args["output"]) / f"seed{seed}"), overwrite=True, quiet=True,
                             seed=seed, eval_every="none", **args["settings"])
        runs.append({"seed": seed, "score": result.metrics["validation"][args["metric"]],
                     "steps": result.metrics["train"]["steps"], "epochs": result.metrics["train"]["epochs"],
                     "train_seconds": result.metrics["train"]["seconds"],
                     "seconds": round(time.perf_counter() - started, 1)})
    return {"runs": runs}


# -- the run --------------------------------------------------------------------------------------
def _summary(arm: dict) -> dict:
    scores = [r["score"] for r in arm["runs"]]
    return {"mean": statistics.mean(scores), "std": statistics.stdev(scores) if len(scores) > 1 else 0.0,
            "train_seconds": statistics.mean(r["train_seconds"] for r in arm["runs"]),
            "steps": arm["runs"][0]["steps"], "epochs": arm["runs"][0]["epochs"]}


def run_fixed(name: str, spec: dict, files: dict[str, str], quick: bool) -> dict:
    """TAPT, then the same fine-tuning of the base and of the adapted backbone."""
    work = WORK / ("adapt_quick" if quick else "adapt") / name
    limit = {"max_steps": QUICK["max_steps"]} if quick else {}
    common = _fine_tuning(spec, files, quick)
    settings = {**TAPT, "epochs": spec["tapt_epochs"], "max_minutes": spec["tapt_minutes"], **limit}
    tapt = run_job(__file__, "tapt", {"task": spec["task"], "train": files["train"], "output": str(work / "tapt"),
                                      "settings": settings})
    arms = {"base": run_job(__file__, "fine_tune", {**common, "backbone": "minilm-l6", "output": str(work / "base")}),
            "adapted": run_job(__file__, "fine_tune", {**common, "backbone": tapt["folder"],
                                                       "output": str(work / "adapted")})}
    return {"task": spec["task"], "label": spec["label"], "metric": spec["metric"], "fine_tune": spec["fine_tune"],
            "tapt_epochs": spec["tapt_epochs"], "tapt_minutes": spec["tapt_minutes"],
            "tapt": tapt, "arms": arms, "work": str(work), "common": common}


def _fine_tuning(spec: dict, files: dict[str, str], quick: bool) -> dict:
    """The fine-tuning job's arguments that every arm of a task shares."""
    limit = {"max_steps": QUICK["max_steps"]} if quick else {}
    return {"task": spec["task"], "train": files["train"], "dev": files["dev"], "metric": spec["metric"],
            "seeds": list(SEEDS), "settings": {**spec["fine_tune"], **limit}}


def run_equal_time(result: dict, quick: bool) -> None:
    """Fine-tuning alone for the epochs the TAPT time buys on top of the fixed fine-tuning."""
    base = _summary(result["arms"]["base"])
    extra = round(result["tapt"]["train_seconds"] / (base["train_seconds"] / max(base["epochs"], 1e-9)), 2)
    settings = {**result["common"]["settings"], "epochs": round(result["fine_tune"]["epochs"] + extra, 2)}
    if quick:
        settings["max_steps"] = 2 * QUICK["max_steps"]
    result["extra_epochs"], result["equal_time_epochs"] = extra, settings["epochs"]
    result["arms"]["base_equal_time"] = run_job(__file__, "fine_tune", {
        **result["common"], "backbone": "minilm-l6", "settings": settings,
        "output": str(Path(result["work"]) / "base_equal_time")})


def _expected_seconds(result: dict) -> float:
    """The equal-time arm's wall time: the ``base`` arm's, plus the TAPT training time for each seed."""
    return result["arms"]["base"]["wall_seconds"] + len(SEEDS) * result["tapt"]["train_seconds"]


def conclude(result: dict) -> None:
    summaries = result["summaries"] = {arm: _summary(runs) for arm, runs in result["arms"].items()}
    result["gain_fixed"] = summaries["adapted"]["mean"] - summaries["base"]["mean"]
    result["seed_std"] = max(summaries["base"]["std"], summaries["adapted"]["std"])
    equal = summaries.get("base_equal_time")
    result["gain_equal_time"] = summaries["adapted"]["mean"] - equal["mean"] if equal else None


def main(args: argparse.Namespace) -> None:
    if args.equal_time:
        return complete(args.quick)
    started = time.perf_counter()
    files = prepare(args.quick)
    tasks = {name: run_fixed(name, spec, files[name], args.quick) for name, spec in TASKS.items()}
    for result in tasks.values():
        expected = _expected_seconds(result)
        if time.perf_counter() - started + expected < BUDGET_MINUTES * 60:
            run_equal_time(result, args.quick)
        else:
            result["equal_time_skipped"] = (f"its expected {expected / 60:.0f} minutes would overrun the "
                                            f"{BUDGET_MINUTES:g}-minute budget of the run (machine load)")
    results = {"machine": machine(), "tapt": TAPT, "seeds": list(SEEDS), "tasks": tasks,
               "budget_minutes": BUDGET_MINUTES, "quick": args.quick,
               "wall_seconds": round(time.perf_counter() - started, 1)}
    finish(results)


def complete(quick: bool) -> None:
    """The equal-time arms that the saved run skipped, run now; the run's other results are kept as they are."""
    path = WORK / "adapt.quick.json" if quick else RESULTS / "adapt.json"
    if not path.is_file():
        sys.exit(f"{path} is missing: run benchmarks/adapt.py{' --quick' if quick else ''} first")
    results = json.loads(path.read_text())
    started = time.perf_counter()
    files = prepare(quick)
    skipped = [name for name, t in results["tasks"].items() if "equal_time_skipped" in t]
    for name in skipped:
        task = results["tasks"][name]
        task["common"] = _fine_tuning(TASKS[name], files[name], quick)
        run_equal_time(task, quick)
        del task["equal_time_skipped"]
    results["equal_time_run"] = {"tasks": skipped, "machine": machine(),
                                 "wall_seconds": round(time.perf_counter() - started, 1)}
    finish(results)


def finish(results: dict) -> None:
    """Summaries, gains and targets of the tasks' arms; then the JSON and the doc section."""
    tasks = results["tasks"]
    for result in tasks.values():
        conclude(result)
        result.pop("common", None)
    gains_equal = [t["gain_equal_time"] > t["seed_std"] for t in tasks.values() if t["gain_equal_time"] is not None]
    targets = {"perplexity drops on held-out text (both tasks)":
               all(t["tapt"]["perplexity"]["after"] < t["tapt"]["perplexity"]["before"] for t in tasks.values()),
               "fine-tuning gain larger than the seeds' std on at least one task (fixed fine-tuning)":
               any(t["gain_fixed"] > t["seed_std"] for t in tasks.values()),
               "... and at equal total time": any(gains_equal)}
    results["targets"] = targets
    publish("adapt", "adapt", results, markdown(results), results["quick"])


def markdown(r: dict) -> str:
    m = r["machine"]
    tapt = r["tapt"]
    lines = ["## Adaptation: TAPT then fine-tuning vs fine-tuning alone (`tlzoo adapt`)", "",
             f"`benchmarks/adapt.py`, {m['date']}, {m['cpus']} CPUs (shared with other work; load "
             f"{m['load_average_at_start']} at start; {r['wall_seconds'] / 60:.1f} minutes in all). minilm-l6. "
             f"TAPT: `tlzoo adapt --from-task TASK --data TRAIN`, masked LM on the task's own training text (the "
             f"fine-tuning rows; 5% of them held out for perplexity, scored with fixed masks), the "
             f"task's epochs (below: SST-2's are fewer, as each second of its TAPT is spent again by each seed of "
             f"its equal-time arm, in a 25-minute slot), chunks of {tapt['max_length']} tokens, batch "
             f"{tapt['batch_size']}, lr {tapt['learning_rate']:g}, seed {tapt['seed']}, once per task. Fine-tuning: "
             f"fixed epochs (no time budget: the machine is shared; 0.5 epoch, as a full epoch would double the four "
             f"fixed arms and leave no time to adapt), seeds {', '.join(map(str, r['seeds']))}, each arm from the "
             f"same seeds; mean ± standard "
             f"deviation over the seeds. *Equal total time*: fine-tuning alone for the epochs the TAPT time buys on "
             f"top (TAPT training seconds / fine-tuning seconds per epoch, both measured in this run).", ""]
    later = r.get("equal_time_run")
    if later and later["tasks"]:
        names = " and ".join(r["tasks"][name]["label"] for name in later["tasks"])
        lines[-1:-1] = [f"The equal-time arms of {names} did not fit the run's budget and ran afterwards "
                        f"(`--equal-time`, from this run's TAPT timings): {later['machine']['date']}, load "
                        f"{later['machine']['load_average_at_start']} at their start, "
                        f"{later['wall_seconds'] / 60:.1f} minutes."]
    for t in r["tasks"].values():
        ft, s = t["fine_tune"], t["summaries"]
        lines += [f"**{t['label']}** ({t['task']}, {t['metric']} on dev): fine-tuning {ft['epochs']:g} epoch, batch "
                  f"{ft['batch_size']}, lr {ft['learning_rate']:g}, warm-up {ft['warmup_ratio']:g}, max length "
                  f"{ft['max_length']}. TAPT: {t['tapt']['documents']['train']:,} texts in {t['tapt']['chunks']:,} "
                  f"chunks, {t['tapt']['epochs']:g} epochs of the {t['tapt_epochs']} planned (capped at "
                  f"{t['tapt_minutes']:g} minutes), {t['tapt']['steps']} steps, {t['tapt']['train_seconds']:.0f} s "
                  f"of training; held-out "
                  f"perplexity ({t['tapt']['documents']['held_out']} texts) {t['tapt']['perplexity']['before']:,.1f} "
                  f"before, {t['tapt']['perplexity']['after']:,.2f} after.", "",
                  f"| arm | {t['metric']} (mean ± std) | epochs | steps | train s (mean) | TAPT s | total s |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for arm, label in (("base", "fine-tuning alone"), ("adapted", "TAPT + fine-tuning"),
                           ("base_equal_time", "fine-tuning alone, equal total time")):
            row = s.get(arm)
            if row is None:
                lines.append(f"| {label} | not run: {t['equal_time_skipped']} | | | | | |")
                continue
            tapt_s = t["tapt"]["train_seconds"] if arm == "adapted" else 0.0
            lines.append(f"| {label} | {row['mean']:.4f} ± {row['std']:.4f} | {row['epochs']:g} | {row['steps']} | "
                         f"{row['train_seconds']:.0f} | {tapt_s:.0f} | {row['train_seconds'] + tapt_s:.0f} |")
        equal = f"{t['gain_equal_time']:+.4f}" if t["gain_equal_time"] is not None else "not measured"
        lines += ["", f"Gain of TAPT: {t['gain_fixed']:+.4f} at fixed fine-tuning, {equal} at equal total time; the "
                      f"seeds' standard deviation (larger of the two fixed arms): {t['seed_std']:.4f}.", ""]
    lines += ["minilm-l6 (all-MiniLM-L6-v2) ships without its masked-LM head: `tlzoo adapt` starts a new one (the "
              "decoder tied to the word embeddings), so the perplexity before is that of an untrained head and "
              "much of its drop is the head being learnt, not the encoder adapting.", "",
              "Targets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in r["targets"].items())
              + ".", "",
              "Reproduce: `.venv/bin/python benchmarks/adapt.py`, then `--equal-time` for arms its budget skipped (raw "
              "results: `benchmarks/results/adapt.json`)."]
    return "\n".join(lines)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--equal-time", action="store_true",
                        help="run the equal-time arms the saved run skipped (its budget), keeping its other results")


if __name__ == "__main__":
    entry(__doc__, {"tapt": job_tapt, "fine_tune": job_fine_tune}, main, configure)
