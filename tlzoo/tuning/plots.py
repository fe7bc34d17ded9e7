"""The PNGs of a study (matplotlib, as :mod:`tlzoo.engine.plot`): ``history.png`` (each trial's objective and
the best so far), ``importance.png`` (Optuna's parameter importances) and ``trials.png`` (every trial's
evaluation curve on one chart, pruned trials dashed)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any


def plot_study(study: Any, result: Any, folder: Path) -> list[Path]:
    """Write the plots the study has data for; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    written = [path for path in (_history(result, folder / "history.png"), _curves(result, folder / "trials.png"),
                                 _importance(study, result, folder / "importance.png")) if path]
    return written


def _history(result: Any, path: Path) -> Path | None:
    import matplotlib.pyplot as plt

    done = [(t["number"], t["value"]) for t in result.trials if t["state"] == "complete"]
    pruned = [(t["number"], t["curve"][-1][1]) for t in result.trials if t["state"] == "pruned" and t["curve"]]
    if not done and not pruned:
        return None
    figure, axis = plt.subplots(figsize=(7, 4))
    if done:
        axis.plot(*zip(*done), "o", color="tab:blue", label="trial (best evaluation)")
        best, running = [], None
        for number, value in done:
            running = value if running is None else (max if result.greater_is_better else min)(running, value)
            best.append((number, running))
        axis.step(*zip(*best), where="post", color="tab:red", label="best so far")
    if pruned:
        axis.plot(*zip(*pruned), "x", color="tab:gray", label="pruned (last evaluation)")
    axis.set_xlabel("trial")
    axis.set_ylabel(result.metric)
    axis.set_title("optimisation history")
    axis.legend(loc="best")
    return _save(figure, path)


def _curves(result: Any, path: Path) -> Path | None:
    import matplotlib.pyplot as plt

    shown = [t for t in result.trials if t["curve"]]
    if not shown:
        return None
    figure, axis = plt.subplots(figsize=(7, 4))
    for t in shown:
        style = "--" if t["state"] == "pruned" else "-"
        best = result.best is not None and t["number"] == result.best["number"]
        axis.plot(*zip(*t["curve"]), style, marker="o", linewidth=2.5 if best else 1.2,
                  label=f"trial {t['number']}" + (" (best)" if best else " (pruned)" if style == "--" else ""))
    axis.set_xlabel("optimizer step")
    axis.set_ylabel(f"validation {result.metric}")
    axis.set_title("every trial's evaluations")
    axis.legend(loc="best", fontsize="small", ncol=2 if len(shown) > 8 else 1)
    return _save(figure, path)


def _importance(study: Any, result: Any, path: Path) -> Path | None:
    """Optuna's fANOVA importances; none until two complete trials differ in a parameter."""
    import matplotlib.pyplot as plt
    import optuna

    if sum(t["state"] == "complete" for t in result.trials) < 2:
        return None
    try:
        with warnings.catch_warnings():  # e.g. "importances will be equal" on a handful of trials: the plot shows it
            warnings.simplefilter("ignore")
            importances = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError):  # e.g. every complete trial drew the same values
        return None
    if not importances:
        return None
    names = list(importances)[::-1]
    figure, axis = plt.subplots(figsize=(7, max(2.5, 0.4 * len(names) + 1)))
    axis.barh(names, [importances[n] for n in names], color="tab:blue")
    axis.set_xlabel(f"importance for {result.metric} (fANOVA)")
    axis.set_title("parameter importances")
    return _save(figure, path)


def _save(figure: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
