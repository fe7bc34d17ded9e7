"""tlzoo export: PyTorch fp32 vs ONNX fp32 vs ONNX int8 (and PyTorch dynamic int8) on three fine-tuned models,
and PyTorch fp32 vs dynamic int8 on generation models.

    .venv/bin/python benchmarks/export.py            # trains the models, then measures (~40 minutes, 2 cores)
    .venv/bin/python benchmarks/export.py --models sst2=../main/benchmarks/work/serve_sst2   # reuses a model
    .venv/bin/python benchmarks/export.py --quick    # a few examples and steps: checks the script

``--models NAME=DIR`` reuses a folder trained elsewhere instead of training NAME (sst2, ner, qa), only if its
``tlzoo.json`` shows the same recipe (options and training file's SHA-256); it is read, never written.

Models, trained with the recipes of the other benchmarks on minilm-l6: SST-2 classifier (sst2.py: 8,000
training rows, scored on GLUE dev, 872 rows), CoNLL-2003 NER (ner_conll.py: 4,000 sentences, test set,
3,453 sentences), XQuAD QA (qa_xquad.py: the fixed article split). Each variant runs in its own process:
``evaluate`` on the full evaluation set (throughput: examples per second, tokenising and post-processing
included, the same code for every backend; the task metric), then the median latency of ``predict`` on
one input at a time. ``reduce_range`` (7-bit weights) is measured on SST-2.

Generation (translation, Multi30k en-de): each backbone of ``GENERATION`` fine-tuned for
``GENERATION_MINUTES`` minutes (a short run: the point is the fp32/int8 comparison of the same model), then
``tlzoo export`` (``--format pytorch``: Linear layers to dynamic int8 at load) measured like the others
on the first ``GENERATION_EVAL`` sentences of test_2016_flickr (greedy): sentences/s,
BLEU, load time. Start-up of the command line: wall time and peak RSS of ``tlzoo predict DIR --text ...``
on the SST-2 model, PyTorch vs ONNX int8, and whether torch is imported (``-X importtime``). Writes
benchmarks/results/export.json and the ``export`` section of docs/benchmarks.md (``--quick``: under
benchmarks/work/).
"""

from __future__ import annotations

import gzip
import json
import statistics
import time
from pathlib import Path
from typing import Any

from common import WORK, entry, machine, publish, require_shared, run_job

LATENCY_INPUTS = 30
GENERATION = ("smollm2-135m",)
"""The BERT2BERT route (minilm-l6+minilm-l6) runs too when added here; tests/test_export.py covers both."""
GENERATION_MINUTES = 1.5
GENERATION_NEW_TOKENS = 48
GENERATION_EVAL = 48
GENERATION_LATENCY_INPUTS = 3
CLI_REPEATS = 2
QUICK = {"sst2_rows": 128, "ner_sentences": 64, "test_sentences": 64, "max_steps": 3, "latency_inputs": 5,
         "eval_rows": 64, "generation_eval": 8, "generation_train": 64}
METRIC = {"sst2": "accuracy", "ner": "f1", "qa": "f1", **{name: "bleu" for name in GENERATION}}
TASK = {"sst2": "classification", "ner": "ner", "qa": "extractive-qa", **{name: "translation" for name in GENERATION}}
RECIPE_KEYS = ("epochs", "max_steps", "batch_size", "learning_rate", "warmup_ratio", "weight_decay", "seed",
               "max_length")
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
    multi30k = require_shared("multi30k")
    mt_eval = WORK / "export_multi30k_test.en"
    for language in ("en", "de"):
        with gzip.open(multi30k / f"test_2016_flickr.{language}.gz", "rt", encoding="utf-8") as handle:
            lines = handle.readlines()[:QUICK["generation_eval"] if quick else GENERATION_EVAL]
        mt_eval.with_suffix(f".{language}").write_text("".join(lines), encoding="utf-8")
    mt_options = {"epochs": 1, "seed": 42, "max_new_tokens": GENERATION_NEW_TOKENS, "eval_every": "none",
                  **({"max_steps": QUICK["max_steps"], "max_train_samples": QUICK["generation_train"]} if quick
                     else {"max_minutes": GENERATION_MINUTES, "max_train_samples": 4000})}
    generation = {name: {"train": str(multi30k / "train.en.gz"), "eval": str(mt_eval), "options": mt_options}
                  for name in GENERATION}
    return {
        "sst2": {"train": str(sst_train), "eval": str(sst_eval), "options": {**sst_options, **limits}},
        "ner": {"train": ner_train, "eval": ner_eval, "options": {**ner_options, **limits}},
        "qa": {"train": qa_files["train"], "eval": qa_files["validation"],
               "options": {**qa_xquad.recipe_options(), **limits}},
        **generation,
    }


def job_train(args: dict) -> dict:
    import tlzoo

    backbone = args["model"] if args["model"] in GENERATION else "minilm-l6"
    result = tlzoo.train(TASK[args["model"]], backbone=backbone, train=args["train"], output=args["output"],
                         overwrite=True, quiet=True, **{"eval_every": "none", **args["options"]})
    return {"train_seconds": result.metrics["train"]["seconds"], "train_samples": result.metrics["train"]["samples"]}


def reusable(name: str, folder: str, spec: dict[str, Any]) -> dict[str, Any]:
    """``folder``'s training facts when it was trained with ``spec``'s recipe (options, training file); else exit."""
    import hashlib

    manifest = json.loads((Path(folder) / "tlzoo.json").read_text())
    config, wanted = manifest["config"], {"max_steps": 0, **spec["options"]}
    if manifest["task"] != TASK[name] or manifest["backbone"]["name"] != "minilm-l6":
        raise SystemExit(f"--models {name}={folder}: a {manifest['task']} model on {manifest['backbone']['name']}, "
                         f"expected {TASK[name]} on minilm-l6")
    differ = {k: (config.get(k), wanted[k]) for k in RECIPE_KEYS if k in wanted and config.get(k) != wanted[k]}
    digest = hashlib.sha256(Path(spec["train"]).read_bytes()).hexdigest()
    if manifest["data"]["train"]["sha256"] != digest:
        differ["training file"] = (manifest["data"]["train"]["name"], Path(spec["train"]).name)
    if differ:
        raise SystemExit(f"--models {name}={folder} was not trained with the benchmark's recipe (got, expected): "
                         f"{differ}")
    train = manifest["metrics"]["train"]
    return {"reused": str(Path(folder).resolve()), "train_seconds": train["seconds"], "train_samples": train["samples"]}


def job_export(args: dict) -> dict:
    import tlzoo

    out = {}
    for name, options in args["exports"].items():
        started = time.perf_counter()
        report = tlzoo.export(args["model_dir"], str(Path(args["work"]) / name), overwrite=True, **options).report
        kept = ("parity", "fusions", "agreement", "quantize_seconds")
        out[name] = {key: report[key] for key in kept if key in report}
        out[name].update(size_bytes=report["size_bytes"], export_seconds=round(time.perf_counter() - started, 1))
    return out


# -- measurement ---------------------------------------------------------------------------------
def _inputs(task: Any, examples: Any, count: int) -> list[Any]:
    rows = examples.select(range(min(count, len(examples))))
    if task.name == "ner":
        return [{"tokens": r["tokens"]} for r in rows]
    if task.name == "extractive-qa":
        return [{"question": r["question"], "context": r["context"]} for r in rows]
    if task.name == "translation":
        return [r["source"] for r in rows]
    return [r["text"] for r in rows]


def job_measure(args: dict) -> dict:
    import tlzoo
    from tlzoo.engine.data import read_split

    started = time.perf_counter()
    model = tlzoo.load(args["model_dir"])
    if args["variant"] == "pytorch_dynamic_int8":
        from tlzoo.engine.quantize import quantize_linear

        quantize_linear(model.model)
    load_seconds = time.perf_counter() - started
    examples = read_split(model.task, args["eval"], "evaluation")
    inputs = _inputs(model.task, examples, args["latency_inputs"])
    model.predict(inputs[:2 if args["model"] in GENERATION else 8])  # warm-up (thread pools, first allocations)
    started = time.perf_counter()
    metrics = model.evaluate(args["eval"])
    seconds = time.perf_counter() - started
    latencies = []
    for item in inputs:
        start = time.perf_counter()
        model.predict([item], batch_size=1)
        latencies.append(time.perf_counter() - start)
    return {"metric": metrics[METRIC[args["model"]]], "examples": len(examples), "eval_seconds": seconds,
            "examples_per_second": len(examples) / seconds, "latency_ms_median": 1000 * statistics.median(latencies),
            "load_seconds": load_seconds}


JOBS = {"train": job_train, "export": job_export, "measure": job_measure}


def cli_startup(model_dir: str, repeats: int) -> dict[str, Any]:
    """``tlzoo predict DIR --text ...`` as a user runs it: median wall time, peak RSS, and torch's import time."""
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "tlzoo", "predict", model_dir, "--text", "a gripping, beautifully acted film"]
    walls, peaks = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(command)} failed")
        walls.append(time.perf_counter() - started)
        peaks.append(usage.ru_maxrss / 1024)
    traced = subprocess.run([command[0], "-X", "importtime", *command[1:]], capture_output=True, text=True,
                            check=True).stderr.splitlines()
    cumulative = {line.split("|")[-1].strip(): int(line.split("|")[1]) for line in traced
                  if line.startswith("import time:") and line.split("|")[1].strip().isdigit()}
    return {"wall_seconds_median": round(statistics.median(walls), 2), "peak_rss_mb": round(max(peaks)),
            "torch_imported": "torch" in cumulative, "torch_import_seconds": round(cumulative.get("torch", 0) / 1e6, 2),
            "transformers_import_seconds": round(cumulative.get("transformers", 0) / 1e6, 2)}


def main(quick: bool, models: dict[str, str]) -> None:
    me = __file__
    files = prepare(quick)
    unknown = sorted(set(models) - {"sst2", "ner", "qa"})
    if unknown:
        raise SystemExit(f"--models: unknown model {unknown[0]!r}; expected sst2, ner or qa")
    results: dict[str, Any] = {"machine": machine(), "quick": quick, "models": {}}
    root = WORK / ("export_quick" if quick else "export")
    for name, spec in files.items():
        folder = root / name
        model_dir = models.get(name) or str(folder / "pytorch")
        train = (reusable(name, model_dir, spec) if name in models else
                 run_job(me, "train", {"model": name, "train": spec["train"], "output": model_dir,
                                       "options": spec["options"]}))
        generative = name in GENERATION
        exports = ({"pytorch_int8_export": {"format": "pytorch"}} if generative else
                   {"onnx_fp32": {"quantize": "none"}, "onnx_int8": {"quantize": "int8"}})
        if name == "sst2":
            exports["onnx_int8_reduce_range"] = {"quantize": "int8", "reduce_range": True}
        exported = run_job(me, "export", {"model_dir": model_dir, "work": str(folder), "exports": exports})
        variants = (("pytorch_fp32", "pytorch_int8_export") if generative else
                    (*VARIANTS, *(["onnx_int8_reduce_range"] if name == "sst2" else [])))
        runs = {}
        for variant in variants:
            source = model_dir if variant in ("pytorch_fp32", "pytorch_dynamic_int8") else str(folder / variant)
            latency = GENERATION_LATENCY_INPUTS if generative else LATENCY_INPUTS
            runs[variant] = run_job(me, "measure", {
                "model": name, "variant": variant, "model_dir": source, "eval": spec["eval"],
                "latency_inputs": QUICK["latency_inputs"] if quick else latency})
            runs[variant].update(exported.get(variant, {}))
        results["models"][name] = {"train": train, "runs": runs}
        (root / "partial.json").write_text(json.dumps(results, indent=2))  # kept if a later step fails
    results["cli_startup"] = {variant: cli_startup(model_dir, 1 if quick else CLI_REPEATS) for variant, model_dir in
                              (("pytorch_fp32", models.get("sst2") or str(root / "sst2" / "pytorch")),
                               ("onnx_int8", str(root / "sst2" / "onnx_int8")))}
    results["targets"] = targets(results)
    publish("export", "export", results, render(results), quick)


def targets(r: dict[str, Any]) -> dict[str, bool]:
    models = r["models"]

    def loss(name: str) -> float:  # points lost by int8 against PyTorch fp32
        runs = models[name]["runs"]
        return 100 * (runs["pytorch_fp32"]["metric"] - runs["onnx_int8"]["metric"]) / (100 if name == "qa" else 1)

    sst = models["sst2"]["runs"]
    speedup = sst["onnx_int8"]["examples_per_second"] / sst["pytorch_fp32"]["examples_per_second"]
    size = all(models[m]["runs"]["onnx_int8"]["size_bytes"]["int8"] <=
               0.3 * models[m]["runs"]["onnx_int8"]["size_bytes"]["fp32"] for m in ("sst2", "ner", "qa"))
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
             f"{r['machine']['date']}.{quick}", *_reused(r), "",
             "| model | variant | metric | examples/s | speed-up | batch-1 latency (ms) | file (MB) | load (s) "
             "| peak RSS (MB) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    generation = [name for name in r["models"] if name in GENERATION]
    for name, model in r["models"].items():
        if name not in generation:
            lines += _rows(name, model["runs"])
    lines += ["", "Targets: " + "; ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in r["targets"].items()), "",
              "### Generation: PyTorch dynamic int8 (`tlzoo export --format pytorch`)", "",
              f"Translation, Multi30k en-de: each backbone fine-tuned for {GENERATION_MINUTES:g} minutes on the CPU "
              f"(training samples below), then evaluated on the first {GENERATION_EVAL} sentences of "
              f"test_2016_flickr (greedy, at most {GENERATION_NEW_TOKENS} new tokens; BLEU is sacreBLEU on that "
              f"subset). The int8 folder keeps the fp32 safetensors weights; the Linear layers are quantised "
              f"when it loads (in the load time). Latency: one sentence, median of {GENERATION_LATENCY_INPUTS}.", "",
              "| model | variant | metric | sentences/s | speed-up | batch-1 latency (ms) | weights (MB) | load (s) "
              "| peak RSS (MB) |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name in generation:
        lines += _rows(name, r["models"][name]["runs"])
    trained = [(name, r["models"][name]["train"]) for name in generation]
    lines += ["", "Training: " + "; ".join(f"{name} {t['train_samples']} samples in {t['train_seconds']:.0f} s"
                                           for name, t in trained)]
    lines += ["", "### Start-up of `tlzoo predict DIR --text ...` (SST-2 model)", "",
              "| folder | wall time (s, median) | peak RSS (MB) | torch imported | torch import (s) "
              "| transformers import (s) |", "| --- | --- | --- | --- | --- | --- |"]
    for variant, run in r["cli_startup"].items():
        lines.append(f"| {variant} | {run['wall_seconds_median']:.2f} | {run['peak_rss_mb']} | "
                     f"{'yes' if run['torch_imported'] else 'no'} | {run['torch_import_seconds']:.2f} | "
                     f"{run['transformers_import_seconds']:.2f} |")
    return "\n".join(lines)


def _reused(r: dict[str, Any]) -> list[str]:
    reused = [(name, m["train"]["reused"]) for name, m in r["models"].items() if "reused" in m["train"]]
    return ["", "Not retrained (same recipe and training file, checked from its tlzoo.json): " +
            "; ".join(f"{name} `{folder}`" for name, folder in reused) + "."] if reused else []


def _rows(name: str, runs: dict[str, Any]) -> list[str]:
    base = runs["pytorch_fp32"]["examples_per_second"]
    rows = []
    for variant, run in runs.items():
        sizes = run.get("size_bytes", {})
        size = sizes.get("weights_fp32", sizes.get("int8" if "int8" in variant else "fp32"))
        metric = run["metric"]
        shown = f"{metric:.2f}" if METRIC[name] == "bleu" else f"{metric:.4f}"
        rows.append(f"| {name} | {variant} | {METRIC[name]} {shown} | {run['examples_per_second']:.1f} | "
                    f"{run['examples_per_second'] / base:.2f}x | {run['latency_ms_median']:.1f} | "
                    f"{'' if size is None else f'{size / 1e6:.1f}'} | {run['load_seconds']:.1f} | "
                    f"{run['peak_rss_mb']:.0f} |")
    return rows


def configure(parser: Any) -> None:
    parser.add_argument("--models", action="append", default=[], metavar="NAME=DIR",
                        help="reuse a trained folder for sst2, ner or qa when its recipe matches (read only)")


def parse_models(values: list[str]) -> dict[str, str]:
    pairs = [value.partition("=") for value in values]
    bad = [value for value, (name, eq, folder) in zip(values, pairs) if not (name and eq and folder)]
    if bad:
        raise SystemExit(f"--models {bad[0]!r}: expected NAME=DIR")
    return {name: folder for name, _, folder in pairs}


if __name__ == "__main__":
    entry(__doc__, JOBS, lambda args: main(args.quick, parse_models(args.models)), configure)
