"""`tlzoo serve` under load: a closed-loop load generator against tlzoo and a hand-written reference server.

    .venv/bin/python benchmarks/serve.py            # the full benchmark (about 30 minutes on 2 CPUs)
    .venv/bin/python benchmarks/serve.py --quick    # a few seconds per level: checks the script

Models (minilm-l6): the SST-2 classifier of the SST-2 benchmark recipe (benchmarks/sst2.py: first 8,000
training rows, 1 epoch), an NER model (CoNLL-2003) and an extractive-QA model (XQuAD articles); NER and
QA are trained for 300 and 100 steps only, since serving speed does not depend on their accuracy.

Run it on a quiet machine: with more runnable processes than cores, torch's intra-op threads wait for
each other and single forward passes take 10-50x longer (seen here at load averages of 4-10 on 2 cores,
for both servers); the table records the load average of every level.

Servers, one at a time, each in its own process on loopback:
- ``reference``: FastAPI + uvicorn + ``transformers.pipeline`` (text-classification, token-classification
  with simple aggregation, question-answering), a sync endpoint: one request per forward pass;
- ``tlzoo``: ``tlzoo serve`` with its defaults (micro-batching on), and, for SST-2, batching off
  (``--batch-size 1``) and waits of 2 and 10 ms (the default is 0), to check the defaults by the numbers.

Load: one request per sentence (SST-2 dev; CoNLL-2003 test; XQuAD eval questions), C clients each
sending its next request when the previous one is answered, C = 1, 8, 32, for 20 s per level after a
warm-up. Reports requests/s, p50/p90/p99 latency, errors (non-200) and lost requests (sent, never
answered). Writes benchmarks/results/serve.json and the `serve` section of docs/benchmarks.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import WORK, entry, machine, publish, require_shared, run_job

LEVELS = (1, 8, 32)
SECONDS, WARMUP = 20.0, 3.0
QUICK = {"seconds": 2.0, "warmup": 0.5, "train_rows": 64, "max_steps": 2}
WAITS_MS = (2.0, 10.0)
"""``--max-wait-ms`` values measured for SST-2 besides the default (0: no wait), to check that default."""


# -- jobs (each runs in its own process) --------------------------------------------------------
def job_train(args: dict) -> dict:
    import tlzoo

    result = tlzoo.train(args["task"], backbone="minilm-l6", output=args["output"], overwrite=True, quiet=True,
                         eval_every="none", **args["options"])
    return {"output": result.output_dir, "metrics": result.metrics.get("test") or result.metrics.get("validation")}


def job_reference_server(args: dict) -> dict:
    """The hand-written reference: a sync FastAPI endpoint around ``transformers.pipeline``."""
    import uvicorn
    from fastapi import FastAPI
    from transformers import pipeline

    if args["task"] == "extractive-qa":  # transformers 5 has no question-answering pipeline any more
        predictor = _answerer(args["model"])
    else:
        kind = {"classification": "text-classification", "ner": "token-classification"}[args["task"]]
        extra = {"aggregation_strategy": "simple"} if kind == "token-classification" else {}
        predictor = pipeline(kind, model=args["model"], device="cpu", **extra)
    app = FastAPI()

    @app.post("/predict")
    def predict(body: dict) -> Any:  # sync: FastAPI runs it in its thread pool, one request per forward pass
        inputs = body["inputs"]
        result = predictor(**inputs) if isinstance(inputs, dict) else predictor(inputs)
        return json.loads(json.dumps(result, default=float))

    uvicorn.run(app, host="127.0.0.1", port=args["port"], log_level="warning")
    return {}


def _answerer(model_dir: str) -> Callable[..., dict[str, Any]]:
    """What the removed question-answering pipeline did, by hand: one window of 384 tokens, the best span of
    at most 30 tokens in the context."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForQuestionAnswering.from_pretrained(model_dir).eval()

    def answer(question: str, context: str) -> dict[str, Any]:
        encoded = tokenizer(question, context, truncation="only_second", max_length=384,
                            return_offsets_mapping=True, return_tensors="pt")
        offsets = encoded.pop("offset_mapping")[0].tolist()
        in_context = [i for i, s in enumerate(encoded.sequence_ids(0)) if s == 1]
        with torch.inference_mode():
            output = model(**encoded)
        index = torch.tensor(in_context)
        scores = output.start_logits[0, index][:, None] + output.end_logits[0, index][None, :]
        length = index[None, :] - index[:, None]
        scores = scores.masked_fill((length < 0) | (length >= 30), float("-inf"))
        best = int(scores.argmax())
        i, j = in_context[best // len(in_context)], in_context[best % len(in_context)]
        return {"answer": context[offsets[i][0]:offsets[j][1]], "start": offsets[i][0], "end": offsets[j][1],
                "score": float(scores.max())}

    return answer


def job_load(args: dict) -> dict:
    """Closed-loop clients on keep-alive connections; latencies of requests started after the warm-up."""
    bodies = [json.dumps({"inputs": item}).encode() for item in json.loads(Path(args["inputs"]).read_text())]
    return asyncio.run(_load(args["port"], args["path"], bodies, args["clients"], args["seconds"], args["warmup"]))


async def _load(port: int, path: str, bodies: list[bytes], clients: int, seconds: float,
                warmup: float) -> dict[str, Any]:
    started = time.perf_counter()
    record_from, stop_at = started + warmup, started + warmup + seconds
    latencies: list[float] = []
    counts = {"errors": 0, "lost": 0}
    statuses: dict[str, int] = {}

    async def client(index: int) -> None:
        reader = writer = None
        position = index * 7919
        while time.perf_counter() < stop_at:
            body = bodies[position % len(bodies)]
            position += 1
            request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       f"Content-Length: {len(body)}\r\n\r\n").encode() + body
            sent = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(request)
                await writer.drain()
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
            except (OSError, IndexError, ValueError, asyncio.IncompleteReadError):
                if sent >= record_from:
                    counts["lost"] += 1
                writer = None
                continue
            if sent >= record_from and time.perf_counter() <= stop_at + 30:
                latencies.append(time.perf_counter() - sent)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                counts["errors"] += status != 200
        if writer is not None:
            writer.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = max(time.perf_counter() - record_from, 1e-9)
    latencies.sort()

    def quantile(q: float) -> float:
        return 1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else float("nan")

    return {"clients": clients, "requests": len(latencies), "rps": len(latencies) / elapsed,
            "p50_ms": quantile(0.5), "p90_ms": quantile(0.9), "p99_ms": quantile(0.99), "statuses": statuses,
            "load_average": round(os.getloadavg()[0], 2), **counts}


JOBS = {"train": job_train, "reference_server": job_reference_server, "load": job_load}


# -- servers and levels ----------------------------------------------------------------------------
def _wait_until_answering(port: int, path: str, body: bytes, process: subprocess.Popen, timeout: float = 300) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before answering")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the server did not answer within {timeout} s")


def measure_server(command: Callable[[int], list[str]], path: str, inputs_file: Path,
                   timing: dict[str, float]) -> dict[str, Any]:
    """Start a server (``command(port)``), run every load level against it, stop it; the results per level."""
    from tlzoo.testing.serving import free_port

    port = free_port()
    process = subprocess.Popen(command(port), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    first = json.dumps({"inputs": json.loads(inputs_file.read_text())[0]}).encode()
    try:
        _wait_until_answering(port, path, first, process)
        levels = [run_job(__file__, "load", {"port": port, "path": path, "inputs": str(inputs_file), "clients": c,
                                             **timing}) for c in LEVELS]
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=120)
    return {"levels": levels, "exit_code": process.returncode, "stderr_tail": stderr[-500:]}


def tlzoo_command(model: str, *options: str) -> Callable[[int], list[str]]:
    return lambda port: [sys.executable, "-m", "tlzoo", "serve", model, "--log-level", "warning", *options,
                         "--port", str(port)]


def reference_command(model: str, task: str) -> Callable[[int], list[str]]:
    return lambda port: [sys.executable, __file__, "--job", "reference_server", "--args",
                         json.dumps({"model": model, "task": task, "port": port})]


# -- data ----------------------------------------------------------------------------------------
def prepare(quick: bool) -> dict[str, Any]:
    from ner_conll import write_sentences
    from qa_xquad import split_files
    from sst2 import RECIPE, TRAIN_ROWS, read_tsv

    sst2, conll = require_shared("sst2"), require_shared("conll2003")
    WORK.mkdir(parents=True, exist_ok=True)
    rows = QUICK["train_rows"] if quick else TRAIN_ROWS
    train = WORK / "serve_sst2_train.tsv"
    lines = (sst2 / "train.tsv").read_text(encoding="utf-8").splitlines(keepends=True)
    train.write_text("".join(lines[:rows + 1]), encoding="utf-8")
    sentences, _ = read_tsv(str(sst2 / "test.tsv"))
    ner_train = write_sentences(conll / "train.txt", WORK / "serve_conll_train.txt", 64 if quick else 4000)
    from tlzoo_ner.reader import read_tagged

    ner_texts = [" ".join(words) for words in read_tagged(str(conll / "test.txt")).tokens[:1000] if words]
    qa_files = split_files(quick)
    qa_inputs = [{"question": qa["question"], "context": paragraph["context"]}
                 for article in json.loads(Path(qa_files["validation"]).read_text())["data"]
                 for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
    inputs = {}
    for name, items in (("sst2", sentences), ("ner", ner_texts), ("qa", qa_inputs)):
        inputs[name] = WORK / f"serve_inputs_{name}.json"
        inputs[name].write_text(json.dumps(items))
    steps = {"max_steps": QUICK["max_steps"]} if quick else {}
    return {
        "inputs": inputs,
        "train": {
            "sst2": ("classification", {"train": str(train), "test": str(sst2 / "test.tsv"), **RECIPE, **steps}),
            "ner": ("ner", {"train": ner_train, "epochs": 1, "batch_size": 32, "learning_rate": 5e-5, "seed": 42,
                            "max_steps": QUICK["max_steps"] if quick else 300}),
            "qa": ("extractive-qa", {"train": qa_files["train"], "batch_size": 16, "learning_rate": 5e-5,
                                     "seed": 42, "max_steps": QUICK["max_steps"] if quick else 100}),
        },
    }


def main(quick: bool) -> None:
    data = prepare(quick)
    timing = {"seconds": QUICK["seconds"] if quick else SECONDS, "warmup": QUICK["warmup"] if quick else WARMUP}
    results: dict[str, Any] = {"machine": machine(), "quick": quick, "levels": LEVELS, **timing, "models": {},
                               "runs": {}}
    folders = {}
    for name, (task, options) in data["train"].items():
        folders[name] = str(WORK / f"serve_{name}")
        results["models"][name] = run_job(__file__, "train", {"task": task, "output": folders[name],
                                                              "options": options})
    tasks = {"sst2": "classification", "ner": "ner", "qa": "extractive-qa"}
    plan: list[tuple[str, str, Callable[[int], list[str]], str]] = []
    for name in ("sst2", "ner", "qa"):
        plan.append((name, "reference", reference_command(folders[name], tasks[name]), "/predict"))
        plan.append((name, "tlzoo", tlzoo_command(folders[name]), "/predict"))
    plan.append(("sst2", "tlzoo_batching_off", tlzoo_command(folders["sst2"], "--batch-size", "1"), "/predict"))
    for wait in WAITS_MS:
        plan.append(("sst2", f"tlzoo_wait_{wait:g}ms", tlzoo_command(folders["sst2"], "--max-wait-ms", f"{wait:g}"),
                     "/predict"))
    for model, server, command, path in plan:
        print(f"[serve] {model} / {server}", file=sys.stderr, flush=True)
        results["runs"].setdefault(model, {})[server] = measure_server(command, path, data["inputs"][model], timing)
    results["load_average_at_end"] = round(os.getloadavg()[0], 2)
    results["targets"] = targets(results)
    publish("serve", "serve", results, render(results), quick)


def targets(r: dict[str, Any]) -> dict[str, bool]:
    runs = r["runs"]["sst2"]
    ref, ours = {x["clients"]: x for x in runs["reference"]["levels"]}, {x["clients"]: x for x in
                                                                          runs["tlzoo"]["levels"]}
    everything = [level for model in r["runs"].values() for run in model.values() for level in run["levels"]]
    ours_everywhere = [level for model in r["runs"].values() for name, run in model.items() if name != "reference"
                       for level in run["levels"]]
    return {
        "32 clients: >= 3x the reference's requests/s": ours[32]["rps"] >= 3 * ref[32]["rps"],
        "32 clients: lower p99 than the reference": ours[32]["p99_ms"] < ref[32]["p99_ms"],
        "1 client: p50 within 10% of the reference or better": ours[1]["p50_ms"] <= 1.1 * ref[1]["p50_ms"],
        "tlzoo: zero errors and zero lost requests": all(x["errors"] == 0 and x["lost"] == 0 for x in ours_everywhere),
        "every run measured": bool(everything),
    }


def render(r: dict[str, Any]) -> str:
    labels = {"reference": "reference (FastAPI + pipeline, sync)", "tlzoo": "tlzoo serve (defaults)",
              "tlzoo_batching_off": "tlzoo serve --batch-size 1 (batching off)"}
    rows = ["| model | server | clients | requests/s | p50 ms | p90 ms | p99 ms | errors | lost | load avg |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for model, runs in r["runs"].items():
        for server, run in runs.items():
            wait = server.removeprefix("tlzoo_wait_").removesuffix("ms")
            label = labels.get(server, f"tlzoo serve --max-wait-ms {wait}")
            for x in run["levels"]:
                rows.append(f"| {model} | {label} | {x['clients']} | {x['rps']:.1f} | {x['p50_ms']:.1f} | "
                            f"{x['p90_ms']:.1f} | {x['p99_ms']:.1f} | {x['errors']} | {x['lost']} | "
                            f"{x['load_average']} |")
    sst2 = r["models"]["sst2"]["metrics"] or {}
    mode = " (QUICK SMOKE RUN: not a measurement)" if r["quick"] else ""
    return "\n".join([
        "## Serving", "",
        f"`tlzoo serve` against a hand-written FastAPI + uvicorn + `transformers.pipeline` sync server{mode}. "
        f"Closed loop, loopback, {r['seconds']:g} s per level after {r['warmup']:g} s of warm-up, one input per "
        f"request; SST-2 classifier from the SST-2 recipe (dev accuracy {sst2.get('accuracy', float('nan')):.4f}). "
        f"Machine: {r['machine']['cpus']} CPUs, {r['machine']['date']}, load average "
        f"{r['machine']['load_average_at_start']} at start and {r['load_average_at_end']} at the end.", "",
        *rows, "",
        "| target | met |", "| --- | --- |",
        *[f"| {k} | {'yes' if v else '**no**'} |" for k, v in r["targets"].items()],
        "", "Reproduce: `.venv/bin/python benchmarks/serve.py` (raw results: `benchmarks/results/serve.json`).",
    ])


if __name__ == "__main__":
    entry(__doc__, JOBS, lambda args: main(args.quick))
