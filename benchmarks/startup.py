"""Startup benchmark: how long ``tlzoo list`` and ``tlzoo plugins`` take as whole processes.

    .venv/bin/python benchmarks/startup.py [--runs 10] [--plugins 100] [--profile]

Measures, round-robin in one run so that machine load hits every command alike, the median wall
time of: ``tlzoo list``, ``tlzoo plugins``, ``python -c "import transformers"`` (the reference),
and ``tlzoo list`` with N generated dummy plugins installed (``.dist-info`` folders on PYTHONPATH).
Writes the raw times to ``benchmarks/results/startup.json`` and its table into ``docs/benchmarks.md``
between the ``startup`` markers (other sections of that file are left alone). Exits 1 when a target
is missed. ``--profile`` also prints the slowest imports of ``tlzoo list`` (``-X importtime``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "startup.json"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- startup:begin -->", "<!-- startup:end -->"

LIST_LIMIT = 0.3
"""Seconds: ``tlzoo list`` and ``tlzoo plugins`` must take at most this..."""
TRANSFORMERS_SHARE = 1 / 3
"""...and at most this share of ``import transformers`` measured in the same run."""
MANY_PLUGINS_LIMIT = 0.6
"""Seconds: ``tlzoo list`` with the dummy plugins installed."""


def tlzoo_command() -> list[str]:
    """The ``tlzoo`` console script next to this interpreter, as users run it (else ``python -m tlzoo``)."""
    script = Path(sys.executable).parent / "tlzoo"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "tlzoo"]


def clean_env(pythonpath: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TLZOO_") and k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def time_once(argv: Sequence[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def write_dummy_plugins(site: Path, count: int) -> None:
    from tlzoo.testing.fakes import task_plugin_source, write_distribution

    for i in range(count):
        name, module = f"dummy-{i:03d}", f"tlzoo_dummy_{i:03d}"
        write_distribution(site, f"tlzoo-{name}", entry_points={name: module},
                           modules={module: task_plugin_source(f"{name}-a", f"{name}-b")})


def installed_plugins() -> list[str]:
    from importlib import metadata

    entry_points = metadata.entry_points(group="tlzoo")
    return sorted({f"{ep.dist.name} {ep.dist.version}" for ep in entry_points if ep.dist})


def profile(argv: Sequence[str], top: int = 15) -> None:
    """Print the slowest imports (cumulative) of one run of ``tlzoo argv`` under ``-X importtime``."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "tlzoo", *argv], env=clean_env(),
                         capture_output=True, text=True)
    # each line: "import time: <self us> | <cumulative us> | <indented module name>"
    lines = [line.split("|") for line in run.stderr.splitlines() if line.startswith("import time:")]
    rows = [(int(parts[1]), parts[2].rstrip()) for parts in lines if parts[1].strip().isdigit()]
    print(f"slowest imports of tlzoo {' '.join(argv)} (cumulative ms):")
    for cumulative, name in sorted(rows, reverse=True)[:top]:
        print(f"  {cumulative / 1000:8.1f}  {name}")


def measure(runs: int, plugin_count: int) -> dict:
    load_average = os.getloadavg()[0]
    tlzoo = tlzoo_command()
    with tempfile.TemporaryDirectory(prefix="tlzoo-bench-") as tmp:
        site = Path(tmp)
        write_dummy_plugins(site, plugin_count)
        commands = {
            "tlzoo list": (tlzoo + ["list"], clean_env()),
            "tlzoo plugins": (tlzoo + ["plugins"], clean_env()),
            "import transformers": ([sys.executable, "-c", "import transformers"], clean_env()),
            f"tlzoo list ({plugin_count} dummy plugins)": (tlzoo + ["list"], clean_env(str(site))),
        }
        for argv, env in commands.values():  # warm the file cache and check that each command works
            time_once(argv, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, (argv, env) in commands.items():
                times[name].append(time_once(argv, env))
    medians = {name: statistics.median(values) for name, values in times.items()}
    reference = medians["import transformers"]
    limit = min(LIST_LIMIT, reference * TRANSFORMERS_SHARE)
    many = f"tlzoo list ({plugin_count} dummy plugins)"
    targets = {
        "tlzoo list": (limit, f"<= {LIST_LIMIT} s and <= 1/3 of import transformers"),
        "tlzoo plugins": (limit, f"<= {LIST_LIMIT} s and <= 1/3 of import transformers"),
        many: (MANY_PLUGINS_LIMIT, f"< {MANY_PLUGINS_LIMIT} s"),
    }
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
        "load_average": load_average,
        "runs": runs, "installed_plugins": installed_plugins(),
        "commands": {name: {"argv": commands[name][0], "seconds": [round(t, 4) for t in values],
                            "median": round(medians[name], 4)} for name, values in times.items()},
        "targets": {name: {"limit": round(value, 4), "rule": rule, "met": medians[name] <= value}
                    for name, (value, rule) in targets.items()},
    }


def table(result: dict) -> str:
    lines = [f"Whole processes, median of {result['runs']} runs each, measured round-robin in one run "
             f"({result['date'][:10]}, Python {result['python']}, {result['cpus']} CPUs, load average "
             f"{result['load_average']:.1f} at the start).",
             f"Installed plugins: {', '.join(result['installed_plugins']) or 'none'}.",
             "Rerun: `.venv/bin/python benchmarks/startup.py`. Raw times: `benchmarks/results/startup.json`.",
             "", "| command | median (s) | target | met |", "| --- | --- | --- | --- |"]
    for name, data in result["commands"].items():
        target = result["targets"].get(name)
        rule = f"{target['rule']} (here {target['limit']:.3f} s)" if target else "reference"
        met = ("yes" if target["met"] else "**no**") if target else ""
        lines.append(f"| `{name}` | {data['median']:.3f} | {rule} | {met} |")
    return "\n".join(lines)


def update_doc(section: str) -> None:
    """Replace the text between the startup markers, creating the file or the section if absent."""
    block = f"{BEGIN}\n{section}\n{END}"
    text = DOC.read_text() if DOC.is_file() else "# Benchmarks\n"
    if BEGIN in text and END in text:
        before, rest = text.split(BEGIN, 1)
        text = before + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n## Startup\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per command (median reported)")
    parser.add_argument("--plugins", type=int, default=100, help="dummy plugins for the scaling measurement")
    parser.add_argument("--profile", action="store_true", help="also print the slowest imports of tlzoo list")
    args = parser.parse_args()
    result = measure(args.runs, args.plugins)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    section = table(result)
    update_doc(section)
    print(section)
    if args.profile:
        profile(["list"])
    return 0 if all(t["met"] for t in result["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
