"""tlzoo export: PyTorch fp32 vs ONNX fp32 vs ONNX int8 (and PyTorch dynamic int8) on three fine-tuned models.

    .venv/bin/python benchmarks/export.py            # trains the three models, then measures (~40 minutes, 2 cores)
    .venv/bin/python benchmarks/export.py --quick    # a few examples and steps: checks the script

Models, trained with the recipes of the other benchmarks on minilm-l6: SST-2 classifier (sst2.py: 8,000
training rows, scored on GLUE dev, 872 rows), CoNLL-2003 NER (ner_conll.py: 4,000 sentences, test set,
3,453 sentences), XQuAD QA (qa_xquad.py: the fixed article split). Each variant runs in its own process:
``evaluate`` on the full evaluation set (throughput: examples per second, tokenising and post-processing
included, the same code for every backend; the task metric), then the median latency of ``predict`` on
one input at a time. ``reduce_range`` (7-bit weights) is measured on SST-2. Writes
benchmarks/results/export.json and the ``export`` section of docs/benchmarks.md (``--quick``: under
benchmarks/work/).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from common import WORK, entry, machine, publish, require_shared, run_job

LATENCY_INPUTS = 50
QUICK = {"sst2_rows": 128, "ner_sentences": 64, "test_sentences": 64, "max_steps": 3, "latency_inputs": 5,
         "eval_rows": 64}
METRIC = {"sst2": "accuracy", "ner": "f1", "qa": "f1"}
TASK = {"sst2": "classification", "ner": "ner", "qa": "extractive-qa"}
VARIANTS = ("pytorch_fp32", "pytorch_dynamic_int8", "onnx_fp32", "onnx_int8")


# -- data and training (the other benchmarks' recipes) -------------------------------------------
def prepare(quick: bool) -> dict[str, dict[str, Any]]:
    """Training/evaluation files and training options per model."""
    import ner_conll
    import qa_xquad
    import sst2

    WORK.mkdir(parents=True, exist_ok=True)
    limits = {"max_steps": QUICK["max_steps"]} if quick else {}
    sst = require_shared("sst2")
    lines = (sst / "test.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    train_lines = (sst / "train.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    sst_train, sst_eval = WORK / "export_sst2_train.tsv", WORK / "export_sst2_eval.tsv"
    sst_train.write_text("".join(train_lines[:(QUICK["sst2_rows"] if quick else sst2.TRAIN_ROWS) + 1]))
    sst_eval.write_text("".join(lines[:QUICK["eval_rows"] + 1] if quick else lines))
    sst_options = {k: sst2.RECIPE[k] for k in ("epochs", "batch_size", "learning_rate", "warmup_ratio",
                                               "weight_decay", "seed", "max_length")}
    conll = require_shared("conll2003")
    ner_train = ner_conll.write_sentences(conll / "train.txt", WORK / "export_conll_train.txt",
                                          QUICK["ner_sentences"] if quick else ner_conll.RECIPE["train_sentences"])
    ner_eval = (ner_conll.write_sentences(conll / "test.txt", WORK / "export_conll_test.txt", QUICK["test_sentences"])
                if quick else str(conll / "test.txt"))
    ner_options = {"epochs": 1, "batch_size": 32, "learning_rate": 5e-5, "seed": 42, "warmup_ratio": 0.0,
                   "weight_decay": 0.0, "max_length": 512}
    qa_files = qa_xquad.split_files(quick)
    return {
        "sst2": {"train": str(sst_train), "eval": str(sst_eval), "options": {**sst_options, **limits}},
        "ner": {"train": ner_train, "eval": ner_eval, "options": {**ner_options, **limits}},
        "qa": {"train": qa_files["train"], "eval": qa_files["validation"],
               "options": {**qa_xquad.recipe_options(), **limits}},
    }


def job_train(args: dict) -> dict:
    import tlzoo

    result = tlzoo.train(TASK[args["model"]], backbone="minilm-l6", train=args["train"], output=args["output"],
                         overwrite=True, quiet=True, **{"eval_every": "none", **args["options"]})
    return {"train_seconds": result.metrics["train"]["seconds"]}


def job_export(args: dict) -> dict:
    import tlzoo

    out = {}
    for name, options in args["exports"].items():
        result = tlzoo.export(args["model_dir"], str(Path(args["work"]) / name), overwrite=True, **options)
        out[name] = {"parity": result.report["parity"]["max_abs_diff"], "size_bytes": result.report["size_bytes"],
                     "fusions": result.report["fusions"]}
    return out


# -- measurement ---------------------------------------------------------------------------------
def _inputs(task: Any, examples: Any, count: int) -> list[Any]:
    rows = examples.select(range(min(count, len(examples))))
    if task.name == "ner":
        return [{"tokens": r["tokens"]} for r in rows]
    if task.name == "extractive-qa":
        return [{"question": r["question"], "context": r["context"]} for r in rows]
    return [r["text"] for r in rows]


def job_measure(args: dict) -> dict:
    import tlzoo
    from tlzoo.engine.data import read_split

    model = tlzoo.load(args["model_dir"])
    if args["variant"] == "pytorch_dynamic_int8":
        import torch

        model.model = torch.ao.quantization.quantize_dynamic(model.model, {torch.nn.Linear}, dtype=torch.qint8)
    examples = read_split(model.task, args["eval"], "evaluation")
    inputs = _inputs(model.task, examples, args["latency_inputs"])
    model.predict(inputs[:8])  # warm-up (thread pools, first-call allocations)
    started = time.perf_counter()
    metrics = model.evaluate(args["eval"])
    seconds = time.perf_counter() - started
    latencies = []
    for item in inputs:
        start = time.perf_counter()
        model.predict([item], batch_size=1)
        latencies.append(time.perf_counter() - start)
    return {"metric": metrics[METRIC[args["model"]]], "examples": len(examples), "eval_seconds": seconds,
            "examples_per_second": len(examples) / seconds, "latency_ms_median": 1000 * statistics.median(latencies)}


JOBS = {"train": job_train, "export": job_export, "measure": job_measure}


def main(quick: bool) -> None:
    me = __file__
    files = prepare(quick)
    results: dict[str, Any] = {"machine": machine(), "quick": quick, "models": {}}
    for name, spec in files.items():
        folder = WORK / "export" / name
        model_dir = str(folder / "pytorch")
        train = run_job(me, "train", {"model": name, "train": spec["train"], "output": model_dir,
                                      "options": spec["options"]})
        exports = {"onnx_fp32": {"quantize": "none"}, "onnx_int8": {"quantize": "int8"}}
        if name == "sst2":
            exports["onnx_int8_reduce_range"] = {"quantize": "int8", "reduce_range": True}
        exported = run_job(me, "export", {"model_dir": model_dir, "work": str(folder), "exports": exports})
        runs = {}
        for variant in (*VARIANTS, *(["onnx_int8_reduce_range"] if name == "sst2" else [])):
            source = model_dir if variant.startswith("pytorch") else str(folder / variant)
            runs[variant] = run_job(me, "measure", {
                "model": name, "variant": variant, "model_dir": source, "eval": spec["eval"],
                "latency_inputs": QUICK["latency_inputs"] if quick else LATENCY_INPUTS})
            if variant in exported:
                runs[variant].update(size_bytes=exported[variant]["size_bytes"],
                                     parity=exported[variant]["parity"], fusions=exported[variant]["fusions"])
        results["models"][name] = {"train": train, "runs": runs}
    results["targets"] = targets(results)
    publish("export", "export", results, render(results), quick)


def targets(r: dict[str, Any]) -> dict[str, bool]:
    models = r["models"]

    def loss(name: str) -> float:  # points lost by int8 against PyTorch fp32
        runs = models[name]["runs"]
        return 100 * (runs["pytorch_fp32"]["metric"] - runs["onnx_int8"]["metric"]) / (100 if name == "qa" else 1)

    sst = models["sst2"]["runs"]
    speedup = sst["onnx_int8"]["examples_per_second"] / sst["pytorch_fp32"]["examples_per_second"]
    size = all(m["runs"]["onnx_int8"]["size_bytes"]["int8"] <= 0.3 * m["runs"]["onnx_int8"]["size_bytes"]["fp32"]
               for m in models.values())
    return {"SST-2: int8 >= 2.5x PyTorch fp32 throughput": speedup >= 2.5,
            "SST-2: int8 loses <= 0.5 accuracy points": loss("sst2") <= 0.5,
            "NER: int8 loses <= 0.5 F1 points": loss("ner") <= 0.5,
            "QA: int8 loses <= 1 F1 point": loss("qa") <= 1.0,
            "int8 file <= 30% of fp32": size}


def render(r: dict[str, Any]) -> str:
    quick = " **Quick mode: a few examples and steps; not a result.**" if r["quick"] else ""
    lines = ["## Export: ONNX and int8 (benchmarks/export.py)", "",
             f"minilm-l6 fine-tuned with the recipes above (SST-2, CoNLL-2003 NER, XQuAD QA); each variant in its own "
             f"process: `evaluate` on the full evaluation set (throughput includes tokenising and post-processing), "
             f"then the median latency of one `predict` call on one input. Machine: {r['machine']['cpus']} CPUs, "
             f"{r['machine']['date']}.{quick}", "",
             "| model | variant | metric | examples/s | speed-up | batch-1 latency (ms) | file (MB) | peak RSS (MB) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, model in r["models"].items():
        runs = model["runs"]
        base = runs["pytorch_fp32"]["examples_per_second"]
        for variant, run in runs.items():
            sizes = run.get("size_bytes", {})
            size = sizes.get("int8" if "int8" in variant else "fp32")
            lines.append(f"| {name} | {variant} | {METRIC[name]} {run['metric']:.4f} | "
                         f"{run['examples_per_second']:.1f} | {run['examples_per_second'] / base:.2f}x | "
                         f"{run['latency_ms_median']:.1f} | {'' if size is None else f'{size / 1e6:.1f}'} | "
                         f"{run['peak_rss_mb']:.0f} |")
    lines += ["", "Targets: " + "; ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in r["targets"].items())]
    return "\n".join(lines)


if __name__ == "__main__":
    entry(__doc__, JOBS, lambda args: main(args.quick))
