"""Helpers shared by the benchmarks: real-data location, child processes with peak memory, results.

Every benchmark compares tlzoo with the HF reference *in the same run*, one measured job per child
process (so peak RSS is per job), and reports ratios: absolute times on shared machines are noise.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TLZOO_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))
RESULTS = REPO / "benchmarks" / "results"
WORK = REPO / "benchmarks" / "work"
DOC = REPO / "docs" / "benchmarks.md"


def require_shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        sys.exit(f"benchmark data {path} is missing (set TLZOO_SHARED_DATASETS to the datasets folder)")
    return path


def run_job(script: str, job: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run ``python script --job job --args JSON`` in a child; returns its JSON result + peak RSS."""
    command = [sys.executable, script, "--job", job, "--args", json.dumps(args)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"job {job} failed with exit code {process.returncode}")
    result = json.loads(output.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    print(f"[{job}] {json.dumps(result)}", file=sys.stderr, flush=True)
    return result


def emit(result: dict[str, Any]) -> None:
    """A job's last stdout line: its JSON result."""
    print(json.dumps(result), flush=True)


def save_results(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def update_doc_section(section: str, markdown: str, doc: Path = DOC) -> None:
    """Replace the text between ``<!-- section:begin -->`` and ``<!-- section:end -->`` in ``doc``."""
    begin, end = f"<!-- {section}:begin -->", f"<!-- {section}:end -->"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    if begin in text and end in text:
        text = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)


def publish(name: str, section: str, results: dict[str, Any], markdown: str, quick: bool) -> None:
    """Raw JSON to benchmarks/results and the doc section; a quick (smoke) run writes both under WORK."""
    if quick:
        WORK.mkdir(parents=True, exist_ok=True)
        (WORK / f"{name}.quick.json").write_text(json.dumps(results, indent=2) + "\n")
        update_doc_section(section, markdown, WORK / "benchmarks.quick.md")
    else:
        save_results(name, results)
        update_doc_section(section, markdown)
    print(markdown)


def entry(doc: str, jobs: dict[str, Callable[[dict], dict]], main: Callable[[argparse.Namespace], Any],
          configure: Callable[[argparse.ArgumentParser], None] | None = None) -> None:
    """The command line every benchmark shares: ``--quick`` for a smoke run, ``--job`` for a child."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--job", choices=sorted(jobs), help=argparse.SUPPRESS)
    parser.add_argument("--args", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true",
                        help="a few examples and steps to check the script; results go under benchmarks/work")
    if configure:
        configure(parser)
    args = parser.parse_args()
    if args.job:
        emit(jobs[args.job](json.loads(args.args)))
    else:
        sys.exit(main(args) or 0)


def machine() -> dict[str, Any]:
    import platform

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "date": time.strftime("%Y-%m-%d"),
            "load_average_at_start": round(os.getloadavg()[0], 2)}


def matmul_peak(dtype_name: str, size: int = 2048, repeats: int = 10) -> float:
    """Measured GFLOP/s of a square matmul in this process (the machine's practical peak)."""
    import torch

    dtype = getattr(torch, dtype_name)
    a = torch.randn(size, size).to(dtype)
    b = torch.randn(size, size).to(dtype)
    a @ b
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9
