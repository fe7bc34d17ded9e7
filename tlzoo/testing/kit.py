"""The conformance checks. Each returns :class:`CheckResult` values instead of raising, so
``tlzoo check`` can show every problem at once; :func:`assert_plugin_conforms` turns them into one
assertion for pytest.

What a conforming plugin does:

1. its top-level module imports without torch, transformers, datasets (checked in a fresh process);
2. it loads in tlzoo without error, declares a compatible ``TLZOO_API`` and registers components;
3. each spec's factory resolves; each task factory is a :class:`tlzoo.task.BaseTask` subclass whose spec
   metadata names its ``sample`` data (``"module:function"`` returning ``{"train": path,
   "validation": path}``) and non-empty ``example_inputs``; the listing facts in each spec's metadata
   match the class (a metric's ``primary`` and ``consumes``, a reader's ``extensions`` and ``produces``, a
   task's ``metrics`` and ``primary``), and a task's metrics exist and fit its ``metric_kind``;
4. each task trains a few steps on its test backbone (metadata ``test_backbone``, default ``tiny-bert``)
   with a falling loss, saves, loads back with the same validation metrics and the same predictions
   on every load, and predicts on empty, very long and non-ASCII input.

Metadata ``test_options`` (a mapping) may override the training options below for one task.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from tlzoo.api import Spec, TlzooError
from tlzoo.plugins import ENTRY_POINT_GROUP, default_api_range
from tlzoo.plugins import canonical_name as _canonical
from tlzoo.samples import sample_files

HEAVY_MODULES = ("torch", "transformers", "datasets", "accelerate", "evaluate", "peft", "sklearn",
                 "tensorflow")
"""Modules a plugin's top-level module must not import (listing would pay for them)."""

TRAIN_OPTIONS: Mapping[str, Any] = {"max_steps": 60, "learning_rate": 3e-3, "batch_size": 8,
                                    "logging_steps": 1, "seed": 0, "quiet": True, "overwrite": True}
"""How each task is trained by :func:`check_task` (a task's ``test_options`` metadata overrides these).

A freshly initialised tiny model sits on a loss plateau at first: at 1e-3 a two-label task barely
moves in 60 steps, at 3e-3 it leaves the plateau within 40 on every seed tried.
"""

MIN_LOSS_DROP = 0.02
"""The mean loss of the last quarter of steps must be this fraction below that of the first quarter."""

NON_ASCII = "Ünïcödé façade — naïve café, 東京で日本語を話す, Москва, مرحبا 🤗"
LONG_WORDS = 3000


@dataclass
class CheckResult:
    """One check: ``ok`` False is a failure; ``detail`` says what was seen (or why it failed), and
    ``traceback`` holds the full one when it failed on an exception (``tlzoo --debug check`` shows it)."""

    name: str
    ok: bool
    detail: str = ""
    traceback: str = ""

    def line(self) -> str:
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}" + (f": {self.detail}" if self.detail else "")


@dataclass
class PluginTarget:
    """An installed plugin: its distribution and the ``tlzoo`` entry points it declares."""

    distribution: str
    version: str
    entry_points: list[metadata.EntryPoint]

    @property
    def modules(self) -> list[str]:
        return [ep.value.partition(":")[0].strip() for ep in self.entry_points]


@dataclass
class PluginReport:
    plugin: str
    distribution: str = ""
    version: str = ""
    results: list[CheckResult] = field(default_factory=list)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return bool(self.results) and not self.failures

    def format(self) -> str:
        head = f"{self.distribution or self.plugin} {self.version}".strip()
        return "\n".join([head, *(f"  {r.line()}" for r in self.results)])

    def as_dict(self) -> dict[str, Any]:
        return {"plugin": self.plugin, "distribution": self.distribution, "version": self.version,
                "ok": self.ok, "results": [asdict(r) for r in self.results]}


def find_plugin(name: str) -> PluginTarget:
    """The installed plugin called ``name``: its distribution (``tlzoo-x`` or ``x``) or entry-point name."""
    wanted = {_canonical(name), _canonical(f"tlzoo-{name}")}
    by_dist: dict[str, PluginTarget] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist else ""
        if _canonical(dist) in wanted or ep.name == name:
            target = by_dist.setdefault(dist, PluginTarget(dist, ep.dist.version if ep.dist else "", []))
            target.entry_points.append(ep)
    if len(by_dist) > 1:
        raise TlzooError(f"{name!r} matches several plugins ({', '.join(sorted(by_dist))}); "
                         f"name the distribution")
    if not by_dist:
        installed = sorted({ep.dist.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.dist})
        raise TlzooError(f"no installed plugin called {name!r}; installed: "
                         f"{', '.join(installed) or '(none)'} (install one with 'pip install -e DIR' "
                         f"or 'tlzoo install NAME')")
    return next(iter(by_dist.values()))


_PROBE = """
import importlib, json, sys, time
start = time.perf_counter()
importlib.import_module(sys.argv[1])
seconds = time.perf_counter() - start
print(json.dumps({"heavy": [m for m in sys.argv[2:] if m in sys.modules], "seconds": seconds}))
"""


def check_light_import(module: str) -> CheckResult:
    """Import ``module`` in a fresh interpreter and fail if it pulled in any of :data:`HEAVY_MODULES`."""
    name = f"{module} imports without {'/'.join(HEAVY_MODULES[:3])}"
    probe = subprocess.run([sys.executable, "-c", _PROBE, module, *HEAVY_MODULES],
                           capture_output=True, text=True, timeout=300)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["(no output)"])[-1]
        return CheckResult(name, False, f"import failed: {last}", probe.stderr)
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    if seen["heavy"]:
        return CheckResult(name, False, f"importing {module} imported {', '.join(seen['heavy'])}; move those "
                                        f"imports into the factory submodules")
    return CheckResult(name, True, f"{seen['seconds'] * 1000:.0f} ms")


def plugin_specs(target: PluginTarget) -> list[Spec]:
    """The specs the loaded plugin registered (loading every installed plugin, as ``tlzoo`` would)."""
    from tlzoo.plugins import registry

    return [s for s in registry().specs() if _canonical(s.plugin) == _canonical(target.distribution)]


def _load_result(target: PluginTarget) -> CheckResult:
    """Did the plugin load in tlzoo, with a declared and compatible ``TLZOO_API``?"""
    from tlzoo.plugins import host

    name = "loads in tlzoo with a compatible TLZOO_API"
    infos = [i for i in host().plugins if _canonical(i.distribution) == _canonical(target.distribution)]
    if not infos:
        return CheckResult(name, False, "not loaded (excluded by TLZOO_LOAD_PLUGINS or "
                                        "TLZOO_DISABLE_PLUGIN_AUTOLOAD?)")
    errors = [f"{i.name}: {i.error}" for i in infos if i.error]
    if errors:
        return CheckResult(name, False, "; ".join(errors))
    undeclared = [i.name for i in infos if not i.api_range]
    if undeclared:
        return CheckResult(name, False, f"{', '.join(undeclared)} declares no TLZOO_API; add "
                                        f"TLZOO_API = {default_api_range()!r} to the top-level module")
    return CheckResult(name, True, ", ".join(sorted({i.api_range for i in infos})))


def _check_spec(spec: Spec) -> CheckResult:
    from tlzoo.api import Dataset, Metric

    name = f"{spec.kind} {spec.name}: spec is valid"
    try:
        if not spec.description.strip():
            raise TlzooError("description is empty")
        factory = spec.load()
        if spec.kind == "task":
            from tlzoo.task import BaseTask

            if not (isinstance(factory, type) and issubclass(factory, BaseTask)):
                raise TlzooError(f"factory {spec.factory} must be a tlzoo.task.BaseTask subclass")
            sample_files(spec)
            examples = spec.metadata.get("example_inputs")
            if not isinstance(examples, list) or not examples:
                raise TlzooError("metadata 'example_inputs' must be a non-empty list of prediction inputs")
            _require_matching(spec, _task_drift(spec, factory()))
        elif spec.kind == "metric":
            metric = factory()
            if not isinstance(metric, Metric):
                raise TlzooError("the factory must build an object with name, primary, "
                                 "greater_is_better, consumes and compute()")
            _require_matching(spec, _drift(spec, metric, {"name": spec.name, "primary": spec.metadata.get("primary"),
                                                          "consumes": spec.metadata.get("consumes")}))
        elif spec.kind == "dataset":
            reader = factory()
            if not isinstance(reader, Dataset):
                raise TlzooError("the factory must build a reader with name, extensions, produces and read()")
            _require_matching(spec, _drift(spec, reader, {
                "name": spec.name, "extensions": _as_list(spec.metadata.get("extensions")),
                "produces": spec.metadata.get("produces")}))
        elif not callable(factory):
            raise TlzooError(f"factory {spec.factory} is not callable")
    except Exception as exc:  # report, don't raise: the other checks still run
        return _failure(name, exc)
    return CheckResult(name, True)


def _drift(spec: Spec, component: Any, declared: Mapping[str, Any]) -> list[str]:
    """``declared`` (what the spec says, which listing and reader/metric choice use) against the built
    component's attributes; one ``field: spec says X, class says Y`` per difference."""
    differ = []
    for key, said in declared.items():
        actual = _as_list(getattr(component, key, None))
        if said != actual:
            where = "name" if key == "name" else f"metadata {key!r}"
            differ.append(f"{where}: spec says {said!r}, class says {actual!r}")
    return differ


def _as_list(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


def _task_drift(spec: Spec, task: Any) -> list[str]:
    """A task spec's ``metrics`` and ``primary`` (when given) against the class; the class's metrics
    must exist in the catalog and score what the task predicts (its ``metric_kind``); the ``parameters``
    a server accepts must be prediction options of the class."""
    from tlzoo.metrics.compute import resolve_metrics

    declared = {key: spec.metadata[key] for key in ("metrics", "primary") if key in spec.metadata}
    differ = _drift(spec, task, {"metrics": _as_list(declared["metrics"])} if "metrics" in declared else {})
    if "primary" in declared and declared["primary"] != task.primary_metric:
        differ.append(f"metadata 'primary': spec says {declared['primary']!r}, class says "
                      f"{task.primary_metric!r}")
    if task.metrics:
        try:
            resolve_metrics(task)
        except TlzooError as exc:
            differ.append(f"class metrics: {exc}")
    served = sorted(set(spec.metadata.get("parameters") or {}) - set(task.prediction_options))
    if served:
        differ.append(f"metadata 'parameters': {', '.join(served)} are not prediction options of the class "
                      f"(it has {', '.join(task.prediction_options) or 'none'})")
    return differ


def _require_matching(spec: Spec, differ: Sequence[str]) -> None:
    if differ:
        raise TlzooError(f"spec metadata does not match {spec.factory}: {'; '.join(differ)}")


def check_specs(target: PluginTarget) -> list[CheckResult]:
    """Load checks and one validity check per registered spec."""
    results = [_load_result(target)]
    if not results[0].ok:
        return results
    specs = plugin_specs(target)
    if not specs:
        return [*results, CheckResult("registers components", False, "the tlzoo_register hook added no spec")]
    results.append(CheckResult("registers components", True, ", ".join(f"{s.kind}:{s.name}" for s in specs)))
    return results + [_check_spec(s) for s in specs]


def edge_case_inputs(example: Any) -> dict[str, Any]:
    """Empty, very long and non-ASCII variants of one prediction input.

    ``example`` is a string, a list of tokens, or a dict of such fields. "Empty" empties every field;
    "very long" repeats the longest field to :data:`LONG_WORDS` words (a long document, not a long
    question); "non-ASCII" replaces every field with mixed-script text.
    """

    def transform(value: Any, on_text: Callable[[str], str],
                  on_tokens: Callable[[list[str]], list[str]]) -> Any:
        if isinstance(value, str):
            return on_text(value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return on_tokens(value)
        if isinstance(value, Mapping):
            return {k: transform(v, on_text, on_tokens) for k, v in value.items()}
        return value

    def lengthen(words: list[str]) -> list[str]:
        words = words or ["word"]
        return [words[i % len(words)] for i in range(LONG_WORDS)]

    if isinstance(example, Mapping):
        longest = max(example, key=lambda k: len(str(example[k])))
        long = {k: transform(v, lambda t: " ".join(lengthen(t.split())), lengthen) if k == longest else v
                for k, v in example.items()}
    else:
        long = transform(example, lambda t: " ".join(lengthen(t.split())), lengthen)
    return {"empty": transform(example, lambda _: "", lambda _: []),
            "very long": long,
            "non-ASCII": transform(example, lambda _: NON_ASCII, lambda _: NON_ASCII.split())}


def _same(a: Any, b: Any, tol: float = 1e-4) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(
            a, b, rel_tol=tol, abs_tol=tol)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[k], b[k], tol) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, tol) for x, y in zip(a, b, strict=True))
    return a == b


def _same_metrics(expected: Mapping[str, Any], reloaded: Mapping[str, Any]) -> CheckResult:
    """The metrics computed at the end of training, recomputed by the folder loaded back."""
    name = "saves and loads back with the same validation metrics"
    if not expected:
        return CheckResult(name, False, "training reported no validation metrics")
    differ = [f"{k} {expected[k]} != {reloaded.get(k)}" for k in sorted(expected)
              if not _same(expected[k], reloaded.get(k))]
    return CheckResult(name, not differ, f"differ: {', '.join(differ)}" if differ else
                       f"{len(expected)} metrics match")


def _falling_loss(history: Sequence[Mapping[str, Any]]) -> CheckResult:
    losses = [float(h["loss"]) for h in history if "loss" in h and h.get("event", "train") == "train"]
    name = "trains with a falling loss"
    if len(losses) < 4:
        return CheckResult(name, False, f"only {len(losses)} loss values logged; expected one per step")
    k = max(1, len(losses) // 4)
    first, last = sum(losses[:k]) / k, sum(losses[-k:]) / k
    detail = f"loss {first:.3f} -> {last:.3f} over {len(losses)} steps (mean of first/last {k})"
    if not all(math.isfinite(x) for x in losses):
        return CheckResult(name, False, "non-finite loss: " + detail)
    return CheckResult(name, last < first * (1 - MIN_LOSS_DROP), detail)


@contextmanager
def _quiet_progress_bars() -> Iterator[None]:
    """Silence the datasets and transformers progress bars while checking; restore them afterwards."""
    import datasets
    from transformers.utils import logging as hf_logging

    was = datasets.is_progress_bar_enabled(), hf_logging.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was[0]:
            datasets.enable_progress_bars()
        if was[1]:
            hf_logging.enable_progress_bar()


def check_task(spec: Spec, workdir: Path,
               on_result: Callable[[CheckResult], Any] | None = None) -> list[CheckResult]:
    """Train ``spec``'s task on its sample data and test backbone, then save, reload and predict.

    ``on_result`` sees each result as soon as it is known (training takes a while).
    """
    with _quiet_progress_bars():
        return _check_task(spec, workdir, on_result)


def _check_task(spec: Spec, workdir: Path,
                on_result: Callable[[CheckResult], Any] | None) -> list[CheckResult]:
    import tlzoo

    prefix = f"task {spec.name}: "
    backbone = spec.metadata.get("test_backbone", "tiny-bert")
    results: list[CheckResult] = []

    def record(result: CheckResult) -> CheckResult:
        result.name = prefix + result.name
        results.append(result)
        if on_result:
            on_result(result)
        return result

    try:
        files = sample_files(spec)
        options = {**TRAIN_OPTIONS, **dict(spec.metadata.get("test_options") or {})}
        start = time.perf_counter()
        result = tlzoo.train(spec.name, backbone=backbone, train=files["train"],
                             validation=files["validation"], output=str(workdir / spec.name), **options)
        record(CheckResult(f"trains on {backbone}", True, f"{time.perf_counter() - start:.1f} s"))
    except Exception as exc:
        record(_failure(f"trains on {backbone}", exc))
        return results
    record(_falling_loss(result.history))

    examples = list(spec.metadata["example_inputs"])
    try:
        first, second = tlzoo.load(result.output_dir), tlzoo.load(result.output_dir)
        record(_same_metrics(result.metrics.get("validation", {}), first.evaluate(files["validation"])))
        predictions = first.predict(examples)
        ok = len(predictions) == len(examples) and all(isinstance(p, dict) for p in predictions)
        json.dumps(predictions)
        same = _same(predictions, second.predict(examples))
        record(CheckResult("predicts the same outputs after every load", ok and same,
                           f"{len(predictions)} predictions" if ok and same else
                           "predictions differ between two loads of the same folder" if ok else
                           "predict() must return one dict per input"))
    except Exception as exc:
        record(_failure("saves, loads back and predicts", exc))
        return results
    for label, value in edge_case_inputs(examples[0]).items():
        try:
            output = first.predict([value])
            json.dumps(output)
            ok = len(output) == 1 and isinstance(output[0], dict)
            record(CheckResult(f"predicts on {label} input", ok, "" if ok else f"got {output!r:.100}"))
        except Exception as exc:
            record(_failure(f"predicts on {label} input", exc))
    return results


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _failure(name: str, exc: BaseException) -> CheckResult:
    """A failed check for an exception: its first line as the detail, and its traceback."""
    return CheckResult(name, False, _one_line(exc), "".join(traceback.format_exception(exc)))


def check_plugin(name: str, tasks: Iterable[str] | None = None, workdir: Path | None = None,
                 progress: Callable[[str], Any] | None = None) -> PluginReport:
    """Run every check on the installed plugin ``name`` (distribution or entry-point name).

    ``tasks`` limits the training checks to those task names; ``workdir`` keeps the trained check
    models (default: a temporary folder, removed afterwards); ``progress`` receives each result line.
    """
    target = find_plugin(name)
    report = PluginReport(name, target.distribution, target.version)

    def add_one(result: CheckResult) -> None:
        report.results.append(result)
        if progress:
            progress(f"  {result.line()}")

    def add(results: Iterable[CheckResult]) -> None:
        for result in results:
            add_one(result)

    if progress:
        progress(f"checking {target.distribution} {target.version}")
    add(check_light_import(module) for module in dict.fromkeys(target.modules))
    add(check_specs(target))
    wanted = set(tasks) if tasks is not None else None
    task_specs = [s for s in plugin_specs(target)
                  if s.kind == "task" and (wanted is None or s.name in wanted)]
    if wanted is not None and len(task_specs) < len(wanted):
        unknown = wanted - {s.name for s in task_specs}
        add([CheckResult("requested tasks exist", False, f"{', '.join(sorted(unknown))} not registered by "
                                                         f"{target.distribution}")])
    with tempfile.TemporaryDirectory(prefix="tlzoo-check-") as tmp:
        folder = Path(workdir) if workdir else Path(tmp)
        for spec in task_specs:
            check_task(spec, folder, on_result=add_one)
    return report


def assert_plugin_conforms(name: str, **options: Any) -> PluginReport:
    """Run :func:`check_plugin` and raise ``AssertionError`` with the full report if any check fails."""
    report = check_plugin(name, **options)
    assert report.ok, "conformance checks failed:\n" + report.format()
    return report
