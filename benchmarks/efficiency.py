"""Training efficiency in one run: achieved compute against the machine's matmul peak, and peak memory.

    .venv/bin/python benchmarks/efficiency.py            # about 10 minutes on 2 CPUs
    .venv/bin/python benchmarks/efficiency.py --quick    # smoke test (results under benchmarks/work)

Each job runs in its own child process (so its peak RSS is its own), one after the other:

1. ``peak``: the fp32 and bf16 matmul peak of this machine (2048x2048, all threads);
2. SST-2 (minilm-l6, the sst2.py recipe on its first 8,000 rows): the HF Trainer (fp32), tlzoo fp32
   and tlzoo bf16; training GFLOP/s = 6 x dense (non-embedding) parameters x real tokens / training time;
3. ``compile``: ``torch.compile`` (inductor, dynamic shapes) against eager on tlzoo's fp32 step: its compile time,
   then both on the same batches, interleaved;
4. XQuAD-en QA (the qa_xquad.py recipe, cut to ``QA_STEPS`` optimizer steps, then the full evaluation):
   the HF Trainer and tlzoo, for peak RSS only (the accuracy of a few steps means nothing), ``QA_RUNS`` runs each,
   taking turns: the peak of one run varies by tens of MB from run to run.

Writes ``benchmarks/results/efficiency.json`` and the ``efficiency`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import statistics
from typing import Any

import qa_xquad
import sst2
from common import WORK, entry, machine, publish, require_shared, run_job

QA_STEPS = 12
"""Optimizer steps of each QA run: the peak of training is reached within the first steps (optimizer state,
the longest windows); the evaluation that follows is the full one."""
QA_RUNS = 3
QUICK = {"sst2_rows": 256, "qa_steps": 2, "qa_runs": 1}
PROFILE, QUICK_PROFILE = {"rounds": 5, "steps": 4}, {"rounds": 2, "steps": 2}
"""The step profile: rounds of this many steps per variant."""
COMPILE, QUICK_COMPILE = {"warmup": 6, "rounds": 4, "steps": 5}, {"warmup": 2, "rounds": 1, "steps": 2}
"""The compile comparison: warm-up steps (the compiled model compiles in them), then rounds of steps per variant."""


def job_qa(args: dict[str, Any]) -> dict[str, Any]:
    return qa_xquad.job(args)


PHASES = ("collate", "forward+backward", "clip", "optimizer")


def _sst2_batches(train: str) -> tuple[list[dict[str, Any]], list[list[int]], Any]:
    """The SST-2 rows tokenised as the recipe does, tlzoo's length-grouped batches of them, the padding collator."""
    from transformers import AutoTokenizer, DataCollatorWithPadding

    from tlzoo.engine.data import LengthGroupedBatches

    texts, labels = sst2.read_tsv(train)
    tokenizer = AutoTokenizer.from_pretrained(sst2.minilm_path())
    encoded = tokenizer(texts, truncation=True, max_length=sst2.RECIPE["max_length"])
    rows = [{**{k: encoded[k][i] for k in encoded}, "labels": labels[i]} for i in range(len(texts))]
    batches = LengthGroupedBatches([len(r["input_ids"]) for r in rows], sst2.RECIPE["batch_size"], 42).batches()
    return rows, batches, DataCollatorWithPadding(tokenizer)


def job_profile(args: dict[str, Any]) -> dict[str, Any]:
    """Where a training step's time goes: tlzoo's step (length-grouped batches, the padding collator, forward and
    backward, gradient clipping, AdamW) timed phase by phase, per variant, the variants interleaved round by round
    so that load on the machine hits them alike; medians in ms, and the top operators of the fp32 step."""
    import time

    import torch
    from transformers import AutoModelForSequenceClassification

    rows, batches, collate = _sst2_batches(args["train"])

    from tlzoo.engine import clipping

    def variant(fused: bool, bf16: bool, fold: bool = False) -> tuple[Any, Any]:
        torch.manual_seed(0)
        model = AutoModelForSequenceClassification.from_pretrained(sst2.minilm_path(), num_labels=2).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01, fused=fused or None)

        def step(indices: list[int], times: dict[str, list[float]] | None) -> None:
            marks = [time.perf_counter()]
            batch = collate([rows[i] for i in indices])
            marks.append(time.perf_counter())
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = model(**batch).loss
            loss.backward()
            loss.item()
            marks.append(time.perf_counter())
            if fold:
                clipping.clip_in_step(optimizer, 1.0)
            else:
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            marks.append(time.perf_counter())
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            marks.append(time.perf_counter())
            if times is not None:
                for phase, start, end in zip(PHASES, marks, marks[1:]):
                    times[phase].append(end - start)
        return model, step

    variants = {f"{'fused' if fused else 'foreach'} AdamW{', clipping in its step' if fold else ''}, "
                f"{'bf16' if bf16 else 'fp32'}": variant(fused, bf16, fold)
                for bf16 in (False, True) for fused, fold in ((False, False), (True, False), (True, True))}
    times = {name: {phase: [] for phase in PHASES} for name in variants}
    for _, step in variants.values():
        step(batches[0], None)
    used = batches[1:1 + args["rounds"] * args["steps"]]
    for start in range(0, len(used), args["steps"]):
        for name, (_, step) in variants.items():
            for indices in used[start:start + args["steps"]]:
                step(indices, times[name])
    model = variants["foreach AdamW, fp32"][0]
    dense = sum(p.numel() for n, p in model.named_parameters() if "embeddings" not in n)
    tokens = statistics.mean(sum(len(rows[i]["input_ids"]) for i in indices) for indices in used)
    out: dict[str, Any] = {"tokens_per_step": tokens, "dense_parameters": dense,
                           "parameters": sum(p.numel() for p in model.parameters()), "variants": {}}
    for name, phases in times.items():
        medians = {phase: 1000 * statistics.median(values) for phase, values in phases.items()}
        total = sum(medians.values())
        out["variants"][name] = {"ms": medians, "total_ms": total, "gflops": 6 * dense * tokens / total / 1e6}
    step = variants["foreach AdamW, fp32"][1]
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        for indices in used[:args["steps"]]:
            step(indices, None)
    events = sorted(profiler.key_averages(), key=lambda e: -e.self_cpu_time_total)[:10]
    spent = sum(e.self_cpu_time_total for e in profiler.key_averages())
    out["top_ops_fp32"] = [{"op": e.key, "share": e.self_cpu_time_total / spent} for e in events]
    return out


def job_compile(args: dict[str, Any]) -> dict[str, Any]:
    """``torch.compile`` (inductor, dynamic shapes) against eager, each on tlzoo's fp32 step (fused AdamW): the
    warm-up steps of each (the compiled model compiles, and recompiles, in them), then rounds of steps of each,
    interleaved, on the same batches; medians in ms."""
    import time

    import torch
    from transformers import AutoModelForSequenceClassification

    rows, batches, collate = _sst2_batches(args["train"])

    def variant(compiled: bool) -> Any:
        torch.manual_seed(0)
        model = AutoModelForSequenceClassification.from_pretrained(sst2.minilm_path(), num_labels=2).train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01, fused=True)
        forward = torch.compile(model, dynamic=True) if compiled else model

        def step(indices: list[int]) -> float:
            started = time.perf_counter()
            loss = forward(**collate([rows[i] for i in indices])).loss
            loss.backward()
            loss.item()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            return time.perf_counter() - started
        return step

    steps = {"eager": variant(False), "compiled": variant(True)}
    warmup = batches[:args["warmup"]]
    warmup_seconds = {name: sum(step(indices) for indices in warmup) for name, step in steps.items()}
    used = batches[len(warmup):len(warmup) + args["rounds"] * args["steps"]]
    times: dict[str, list[float]] = {name: [] for name in steps}
    for start in range(0, len(used), args["steps"]):
        for name, step in steps.items():
            times[name] += [step(indices) for indices in used[start:start + args["steps"]]]
    median = {name: 1000 * statistics.median(values) for name, values in times.items()}
    return {"warmup_steps": len(warmup), "warmup_seconds": warmup_seconds, "measured_steps": len(used),
            "median_ms": median, "speedup": median["eager"] / median["compiled"]}


JOBS = {"peak": sst2.job_peak, "trainer": sst2.job_trainer, "tlzoo": sst2.job_tlzoo, "qa": job_qa,
        "profile": job_profile, "compile": job_compile}


def measure(quick: bool) -> dict[str, Any]:
    data = require_shared("sst2")
    rows = QUICK["sst2_rows"] if quick else sst2.TRAIN_ROWS
    WORK.mkdir(parents=True, exist_ok=True)
    train = WORK / f"efficiency_sst2_{rows}.tsv"
    lines = (data / "train.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    train.write_text("".join(lines[:rows + 1]), encoding="utf-8")
    common = {"train": str(train), "test": str(data / "test.tsv")}
    me = __file__
    r: dict[str, Any] = {"machine": machine(), "quick": quick, "sst2_rows": rows, "recipe": sst2.RECIPE}
    r["peak"] = run_job(me, "peak", {})
    r["profile"] = run_job(me, "profile", {"train": str(train), **(QUICK_PROFILE if quick else PROFILE)})
    r["compile"] = run_job(me, "compile", {"train": str(train), **(QUICK_COMPILE if quick else COMPILE)})
    r["trainer"] = run_job(me, "trainer", common)
    for name, precision in (("tlzoo_fp32", "fp32"), ("tlzoo_bf16", "bf16")):
        r[name] = run_job(me, "tlzoo", {**common, "output": str(WORK / f"efficiency_{name}"), "flops": True,
                                        "options": {**sst2.RECIPE, "precision": precision}})
    files = qa_xquad.split_files(quick)
    steps = QUICK["qa_steps"] if quick else QA_STEPS
    r["qa_steps"] = steps
    r["qa_trainer"], r["qa_tlzoo"] = [], []
    for _ in range(QUICK["qa_runs"] if quick else QA_RUNS):
        r["qa_trainer"].append(run_job(me, "qa", {"name": "trainer", "files": files, "options": {"max_steps": steps}}))
        r["qa_tlzoo"].append(run_job(me, "qa", {"name": "efficiency-qa", "files": files,
                                                "options": {**qa_xquad.recipe_options(), "max_steps": steps}}))
    r["load_average_at_end"] = round(__import__("os").getloadavg()[0], 2)
    return r


def render(r: dict[str, Any]) -> str:
    peak, trainer = r["peak"], r["trainer"]
    fp32_peak = peak["fp32_gflops"]
    rows = ["| run | test accuracy | train samples/s | vs Trainer | GFLOP/s | % of fp32 matmul peak | peak RSS MB |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for key, label in (("trainer", "HF Trainer (fp32)"), ("tlzoo_fp32", "tlzoo fp32"), ("tlzoo_bf16", "tlzoo bf16")):
        run = r[key]
        rows.append(f"| {label} | {run['accuracy']:.4f} | {run['samples_per_second']:.1f} | "
                    f"{run['samples_per_second'] / trainer['samples_per_second']:.2f}x | {run['train_gflops']:.1f} | "
                    f"{100 * run['train_gflops'] / fp32_peak:.0f}% | {run['peak_rss_mb']:.0f} |")
    fp32 = r["tlzoo_fp32"]
    qa_t, qa_z = ([run["peak_rss_mb"] for run in r[key]] for key in ("qa_trainer", "qa_tlzoo"))
    qa_t_mean, qa_z_mean = statistics.mean(qa_t), statistics.mean(qa_z)
    prof = r["profile"]
    profile_rows = ["| variant | " + " | ".join(PHASES) + " | total | GFLOP/s | % of fp32 peak |",
                    "| --- " * (len(PHASES) + 4) + "|"]
    for name, v in prof["variants"].items():
        profile_rows.append(f"| {name} | " + " | ".join(f"{v['ms'][phase]:.0f}" for phase in PHASES)
                            + f" | {v['total_ms']:.0f} | {v['gflops']:.0f} | {100 * v['gflops'] / fp32_peak:.0f}% |")
    share = 100 * fp32["train_gflops"] / fp32_peak
    bf16_share = 100 * r["tlzoo_bf16"]["train_gflops"] / fp32_peak
    quick = " **Quick mode: a few rows and steps; not a result.**" if r["quick"] else ""
    targets = {
        "tlzoo fp32 training >= 50% of the fp32 matmul peak": (f"{share:.0f}%", share >= 50),
        "tlzoo bf16 training (`--precision bf16`) >= 50% of the fp32 matmul peak": (f"{bf16_share:.0f}%",
                                                                                  bf16_share >= 50),
        "SST-2 peak RSS <= Trainer's": (f"{fp32['peak_rss_mb']:.0f} vs {trainer['peak_rss_mb']:.0f} MB",
                                        fp32["peak_rss_mb"] <= trainer["peak_rss_mb"]),
        f"QA peak RSS <= Trainer's (mean of {len(qa_z)} runs each)": (f"{qa_z_mean:.0f} vs {qa_t_mean:.0f} MB",
                                                                      qa_z_mean <= qa_t_mean),
    }
    return "\n".join([
        "## Training efficiency: compute and memory", "",
        f"One run (`benchmarks/efficiency.py`, {r['machine']['date']}, {r['machine']['cpus']} CPUs, load average "
        f"{r['machine']['load_average_at_start']} at the start and {r['load_average_at_end']} at the end), each job "
        f"in its own process. Matmul peak (2048x2048, all threads): fp32 {fp32_peak:.0f} GFLOP/s, bf16 "
        f"{peak['bf16_gflops']:.0f} GFLOP/s.{quick}", "",
        f"SST-2, the sst2 recipe on the first {r['sst2_rows']:,} rows (1 epoch, batch 32, max length 128, dynamic "
        "padding); GFLOP/s = 6 x dense (non-embedding) parameters x real tokens / training time:", "",
        *rows, "",
        f"Where a step's time goes (`profile` job: minilm-l6 on the same batches, {prof['tokens_per_step']:.0f} real "
        f"tokens a step, {prof['dense_parameters'] / 1e6:.1f}M dense of {prof['parameters'] / 1e6:.1f}M parameters; "
        "variants interleaved, median ms a step):", "",
        *profile_rows, "",
        "Top operators of the fp32 step (share of CPU time): "
        + ", ".join(f"{op['op']} {100 * op['share']:.0f}%" for op in prof["top_ops_fp32"][:8]) + ".", "",
        *notes(r), "",
        f"XQuAD-en QA, the qa recipe (max length 384, batch 16) cut to {r['qa_steps']} optimizer steps, then the full "
        f"evaluation (200 questions, batch 64 on both sides), {len(qa_z)} runs each, taking turns: peak RSS HF "
        f"Trainer {', '.join(f'{v:.0f}' for v in qa_t)} MB (mean {qa_t_mean:.0f}), tlzoo "
        f"{', '.join(f'{v:.0f}' for v in qa_z)} MB (mean {qa_z_mean:.0f}).", "",
        "| target | measured | met |", "| --- | --- | --- |",
        *[f"| {name} | {value} | {'yes' if met else '**no**'} |" for name, (value, met) in targets.items()], "",
        "Reproduce: `.venv/bin/python benchmarks/efficiency.py` (raw results: `benchmarks/results/efficiency.json`).",
    ])


def notes(r: dict[str, Any]) -> list[str]:
    """What was tried for issue #20 and what each change bought, from this run's profile."""
    v = r["profile"]["variants"]
    base, fused = v["foreach AdamW, fp32"], v["fused AdamW, fp32"]
    bf16, bf16_fused = v["foreach AdamW, bf16"], v["fused AdamW, bf16"]
    folded, bf16_folded = v["fused AdamW, clipping in its step, fp32"], v["fused AdamW, clipping in its step, bf16"]
    c = r["compile"]
    overhead, saved = c["warmup_seconds"]["compiled"] - c["warmup_seconds"]["eager"], 1 - 1 / c["speedup"]
    payback = (f"The {overhead:.0f} s of compiling are paid back after {overhead / saved / 60:.0f} minutes of "
               "training at eager speed." if saved > 0 else "Compiling is never paid back.")
    share = 100 * (base["ms"]["optimizer"] + base["ms"]["clip"]) / base["total_ms"]
    return [
        "What was tried (issue #20):", "",
        "- SDPA attention: already what transformers loads for these BERT backbones (`attn_implementation` sdpa), "
        "nothing to change.",
        f"- The optimizer: AdamW and gradient clipping run over all {r['profile']['parameters'] / 1e6:.1f}M "
        f"parameters, {100 * (1 - r['profile']['dense_parameters'] / r['profile']['parameters']):.0f}% of them the "
        f"embeddings that the FLOP count leaves out; they take {share:.0f}% of the fp32 step with the per-tensor "
        f"(foreach) AdamW. The fused kernel cuts the optimizer phase from {base['ms']['optimizer']:.0f} to "
        f"{fused['ms']['optimizer']:.0f} ms (fp32 step {base['gflops']:.0f} -> {fused['gflops']:.0f} GFLOP/s; bf16 "
        f"{bf16['gflops']:.0f} -> {bf16_fused['gflops']:.0f}).",
        "- Gradient clipping in the optimizer step (`tlzoo/engine/clipping.py`): `clip_grad_norm_` passes over every "
        "gradient twice (the norm, then a multiplication, by 1.0 when nothing is clipped); the engine computes the "
        "norm and hands the clipping factor to the fused AdamW kernel as its `grad_scale`, which divides each "
        f"gradient as it reads it. Clip phase {fused['ms']['clip']:.0f} -> {folded['ms']['clip']:.0f} ms (fp32 step "
        f"{fused['gflops']:.0f} -> {folded['gflops']:.0f} GFLOP/s; bf16 {bf16_fused['gflops']:.0f} -> "
        f"{bf16_folded['gflops']:.0f}); the same update (`tests/test_clipping.py`).",
        f"- bf16 autocast: forward+backward {base['ms']['forward+backward']:.0f} ms in fp32, "
        f"{bf16['ms']['forward+backward']:.0f} ms in bf16; the rest of the step does not shrink with the precision.",
        "- `torch.compile` (inductor on CPU, dynamic shapes; `compile` job): a step takes "
        f"{c['median_ms']['compiled']:.0f} ms compiled against {c['median_ms']['eager']:.0f} ms eager "
        f"({c['speedup']:.2f}x), and the first {c['warmup_steps']} steps took {c['warmup_seconds']['compiled']:.0f} "
        f"s against {c['warmup_seconds']['eager']:.1f} s (compiling, and recompiling for new lengths). {payback} "
        "Not built into the engine yet (an opt-in for long runs would be the next step).",
        "- Memory: once training is done the engine frees the optimizer's moments and the gradients and returns the "
        "freed heap to the system (`malloc_trim`), so the final evaluation, the plots and the model writing no "
        "longer stack on top of the training peak.",
        "- Memory, QA: the peak is a training step's (the activations of 16 windows of up to 384 tokens, the same "
        "tensors on both sides), and tlzoo starts training lower (550 against 586 MB, measured once). The Trainer "
        "pads every window to 384 tokens; tlzoo pads each batch to its longest (before the change, the first 12 "
        "batches: 87 to 384 tokens), and shorter batches growing the heap first left it fragmented, the peak "
        "higher and more variable (the last run of this benchmark before the change, 2026-12-02: tlzoo 4309, "
        "4378, 4361 MB, the Trainer 4294, 4304, 4302). The batch holding the longest example now goes first, as "
        "in transformers' length-grouped sampler (an out-of-memory also shows at the first step): the QA figures "
        "below. It reshuffles the batches, so the SST-2 accuracy moved within noise (0.8394 -> 0.8372 fp32, 2 of "
        "872 sentences).",
    ]


def main(quick: bool) -> None:
    result = measure(quick)
    publish("efficiency", "efficiency", result, render(result), quick)


if __name__ == "__main__":
    entry(__doc__, JOBS, lambda args: main(args.quick))
