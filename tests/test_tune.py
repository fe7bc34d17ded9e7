"""``tlzoo tune`` (a study interrupted and resumed, pruning, the best model), ``--track`` (TensorBoard events
read back, an MLflow run continued on resume) and ``tlzoo runs`` (its JSON is the manifests'), all with tiny-bert
on the core's toy task through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tlzoo
from tlzoo.api import TlzooError
from tlzoo.testing.toytask import NAME as TOY


def _tlzoo(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "tlzoo", *args], capture_output=True, text=True, timeout=600,
                            env={k: v for k, v in os.environ.items() if not k.startswith("TLZOO_")})
    if check:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result


def _tune(sample: dict, output: Path, *extra: str) -> list[str]:
    return ["tune", TOY, "--backbone", "tiny-bert", "--train", sample["train"], "--validation", sample["validation"],
            "--output", str(output), "--max-steps", "32", "--eval-every", "16", "--batch-size", "16", "--seed", "0",
            "--warmup-ratio", "0", *extra]


@pytest.fixture(scope="module")
def study(toy_plugin_for_module: None, toy_sample: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A study stopped after one good trial, then resumed to three trials with a learning rate too small to
    learn anything: the median pruner must stop both new trials at their first evaluation."""
    root = tmp_path_factory.mktemp("tune")
    space = root / "space.yaml"
    space.write_text("weight_decay: {low: 0.0, high: 0.1}\nbatch_size: null\nepochs: null\nwarmup_ratio: null\n"
                     "llrd: null\nstrategy: null\n")
    output = root / "study"
    first = _tlzoo(*_tune(toy_sample, output, "--trials", "1", "--learning-rate", "3e-3", "--space", str(space),
                          "--prune-after", "1", "--track", "tensorboard"))
    after_first = json.loads((output / "summary.json").read_text())
    resumed = _tlzoo("tune", "--resume", "--output", str(output), "--trials", "3", "--learning-rate", "1e-7")
    return {"output": output, "first": first, "after_first": after_first, "resumed": resumed,
            "summary": json.loads((output / "summary.json").read_text())}


def test_a_stopped_study_resumes_to_the_number_of_trials_asked(study: dict) -> None:
    assert [t["state"] for t in study["after_first"]["trials"]] == ["complete"]
    trials = study["summary"]["trials"]
    assert [t["number"] for t in trials] == [0, 1, 2]
    assert trials[0]["params"] == study["after_first"]["trials"][0]["params"]
    settings = json.loads((study["output"] / "tune.json").read_text())
    assert settings["trials"] == 3 and settings["options"]["learning_rate"] == 1e-7


def test_weak_trials_are_pruned_and_the_log_says_when(study: dict) -> None:
    trials = study["summary"]["trials"]
    assert [t["state"] for t in trials] == ["complete", "pruned", "pruned"]
    for trial in trials[1:]:
        assert trial["pruned_at"] == {"evaluation": 1, "step": 16}
        assert len(trial["curve"]) == 1, "a pruned trial stops training"
        assert f"trial {trial['number']} pruned at evaluation 1 (step 16)" in study["resumed"].stdout
        folder = study["output"] / trial["folder"]
        assert not (folder / "checkpoints").exists() and not (folder / "tlzoo.json").exists()
        assert (folder / "log.jsonl").is_file()


def test_the_objective_is_the_best_evaluation_not_the_last(study: dict) -> None:
    good = study["summary"]["trials"][0]
    values = [value for _, value in good["curve"]]
    assert len(values) == 2
    assert good["value"] == max(values) > 0.9
    assert study["summary"]["best"]["number"] == 0 and study["summary"]["best"]["value"] == max(values)


def test_the_best_model_is_a_normal_model_folder_and_other_weights_are_gone(study: dict) -> None:
    output = study["output"]
    best = output / "best"
    manifest = json.loads((best / "tlzoo.json").read_text())
    assert manifest["config"]["learning_rate"] == 3e-3
    predicted = _tlzoo("predict", str(best), "--text", "a good film", "--text", "all is lost")
    lines = [json.loads(line) for line in predicted.stdout.splitlines()]
    assert [p["label"] for p in lines] == ["yes", "no"]
    metrics = json.loads((best / "metrics.json").read_text())
    assert metrics["validation"]["accuracy"] == pytest.approx(study["summary"]["best"]["value"])
    trial = output / "trials" / "trial-000"
    assert (trial / "tlzoo.json").is_file() and (trial / "metrics.json").is_file()
    assert not list(trial.glob("*.safetensors")) and not (trial / "checkpoints").exists()
    for plot in ("history.png", "trials.png"):
        assert (output / plot).stat().st_size > 1000
    assert "TRIAL  STATE" in study["resumed"].stdout and "best: trial 0" in study["resumed"].stdout


def test_tensorboard_events_of_a_trial_read_back(study: dict) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(study["output"] / "best" / "tracking" / "tlzoo"))
    events.Reload()
    accuracy = events.Scalars("eval_accuracy")
    assert [e.step for e in accuracy] == [16, 32]
    assert [e.value for e in accuracy] == pytest.approx([v for _, v in study["summary"]["trials"][0]["curve"]])
    assert [e.step for e in events.Scalars("train_loss")] == [10, 20, 30, 32]  # every --logging-steps


def test_a_second_study_in_the_same_folder_is_refused(study: dict, toy_sample: dict) -> None:
    result = _tlzoo(*_tune(toy_sample, study["output"], "--trials", "1"), check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "already holds a tune study; pass --resume to continue it or --overwrite" in result.stderr


def test_an_unknown_name_in_the_space_is_refused_with_a_suggestion(toy_plugin: None, toy_sample: dict,
                                                                    tmp_path: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("learning_rat: {low: 1e-5, high: 1e-3, log: true}\n")
    result = _tlzoo(*_tune(toy_sample, tmp_path / "out", "--space", str(space)), check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"error: space file {space}: 'learning_rat' is not an option tlzoo tune can "
                                     f"search; did you mean 'learning_rate'?")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("entry", "message"), [
    ("learning_rate: {low: 1e-3, high: 1e-5}", "learning_rate: low must be below high, got 0.001 and 1e-05"),
    ("batch_size: {low: 8.5, high: 32}", "batch_size must be an integer, got 8.5"),
    ("strategy: [full, lorra]", "strategy must be one of full, freeze, lora, gradual, setfit, got 'lorra'"),
    ("output: somewhere", "'output' is not an option tlzoo tune can search (it is fixed for all trials"),
])
def test_a_bad_space_entry_is_one_clear_error(toy_plugin: None, tmp_path: Path, entry: str, message: str) -> None:
    import yaml

    from tlzoo.engine.run import task_class
    from tlzoo.tuning.space import build_space

    with pytest.raises(TlzooError, match="^search space: .*") as caught:
        build_space(task_class(TOY)[0], yaml.safe_load(entry), "search space", set())
    assert message in str(caught.value)


def test_the_task_plugins_declare_their_space_over_the_generic_one() -> None:
    from tlzoo.engine.run import task_class

    relation = task_class("relation-extraction")[0].search_space()
    classification = task_class("classification")[0].search_space()
    assert relation["markers"] == ["plain", "typed"] and "markers" not in classification
    assert classification["learning_rate"] == {"low": pytest.approx(2e-5), "high": pytest.approx(3e-4),
                                               "log": True}  # around its default 1e-4


# -- --track ---------------------------------------------------------------------------------------------

def _interrupted_then_resumed(options: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """Train, stop with Ctrl-C after the evaluation at step 4 (checkpointed), then resume to the end."""
    from tlzoo.engine.run import Recipe, RunInterrupted

    def interrupt(self: Recipe, record: dict) -> None:
        if record["event"] == "eval" and record["step"] == 4:
            raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(Recipe, "observe", interrupt)
        with pytest.raises(RunInterrupted):
            tlzoo.train(TOY, **options)
    tlzoo.train(output=options["output"], resume=True)


def test_mlflow_records_the_run_and_a_resumed_run_continues_it(toy_options: dict,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("mlflow", reason="the mlflow tracker needs tlzoo[tune] (mlflow-skinny)")
    import mlflow

    options = {**toy_options, "eval_every": "4", "track": "mlflow"}
    _interrupted_then_resumed(options, monkeypatch)
    tracking = Path(options["output"]) / "tracking"
    run_id = json.loads((tracking / "run.json").read_text())["run_id"]
    client = mlflow.tracking.MlflowClient(f"sqlite:///{(tracking / 'mlflow.db').resolve()}")
    assert len(client.search_runs([r.experiment_id for r in client.search_experiments()])) == 1
    run = client.get_run(run_id)
    history = client.get_metric_history(run_id, "eval_accuracy")
    assert sorted({m.step for m in history}) == [4, 8, 12]  # before and after the resume, one run
    params = run.data.params
    manifest = json.loads((Path(options["output"]) / "tlzoo.json").read_text())
    assert params["data.train.sha256"] == manifest["data"]["train"]["sha256"]
    assert params["learning_rate"] == "0.003" and params["versions.torch"] == manifest["versions"]["torch"]
    assert "git_commit" in params


def test_tensorboard_records_the_configuration_and_a_resumed_run_appends(toy_options: dict,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    options = {**toy_options, "eval_every": "4", "track": "tensorboard"}
    _interrupted_then_resumed(options, monkeypatch)
    logdir = Path(options["output"]) / "tracking" / "tlzoo"
    events = EventAccumulator(str(logdir))
    events.Reload()
    assert sorted({e.step for e in events.Scalars("eval_accuracy")}) == [4, 8, 12]
    configs = [yaml.safe_load(p.read_text()) for p in logdir.glob("*/hparams.yml")]
    assert len(configs) == 2  # the first start and the resume
    assert configs[0]["data.validation.sha256"] and configs[0]["task"] == TOY and "git_commit" in configs[0]


def test_nothing_is_tracked_unless_asked(toy_options: dict) -> None:
    result = tlzoo.train(TOY, **toy_options)
    assert not (Path(result.output_dir) / "tracking").exists()


# -- tlzoo runs ------------------------------------------------------------------------------------------

def test_runs_json_is_what_the_manifests_hold_and_sorts_and_plots(study: dict, tmp_path: Path) -> None:
    listed = json.loads(_tlzoo("runs", str(study["output"]), "--json").stdout)
    assert {Path(r["path"]).name for r in listed} == {"best", "trial-000"}  # pruned trials never finished
    for run in listed:
        manifest = json.loads((Path(run["path"]) / "tlzoo.json").read_text())
        assert run["task"] == manifest["task"] and run["backbone"] == manifest["backbone"]["name"]
        assert run["strategy"] == manifest["config"]["strategy"]
        assert run["hparams"]["learning_rate"] == manifest["config"]["learning_rate"]
        assert run["hparams"]["batch_size"] == manifest["config"]["batch_size"]
        assert run["metrics"] == {k: v for k, v in manifest["metrics"].items() if k != "train"}
        assert run["train_seconds"] == manifest["metrics"]["train"]["seconds"]
        assert run["samples_per_second"] == manifest["metrics"]["train"]["samples_per_second"]
    plot = tmp_path / "curves.png"
    table = _tlzoo("runs", str(study["output"]), "--sort", "train_seconds", "--plot", str(plot)).stdout
    assert plot.stat().st_size > 1000
    header, *rows = [line for line in table.splitlines() if not line.startswith("curves:")]
    assert header.split()[:4] == ["RUN", "TASK", "BACKBONE", "STRATEGY"] and "ACCURACY" in header
    seconds = [float(row.split()[-2]) for row in rows]
    assert seconds == sorted(seconds) and len(rows) == 2


def test_runs_refuses_an_unknown_sort_metric(study: dict) -> None:
    result = _tlzoo("runs", str(study["output"]), "--sort", "acuracy", check=False)
    assert result.returncode == 1 and "error: --sort acuracy: no run reports it; did you mean 'accuracy'?" \
        in result.stderr


@pytest.mark.parametrize("args", [("runs", "STUDY"), ("runs", "STUDY", "--json"), ("tune", "--help"),
                                  ("tune", TOY, "--help")])
def test_runs_and_tune_help_never_import_heavy_libraries(study: dict, args: tuple[str, ...]) -> None:
    args = tuple(str(study["output"]) if a == "STUDY" else a for a in args)
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "tlzoo", *args],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert imported and not imported & {"torch", "transformers", "datasets", "optuna"}


def test_ctrl_c_during_a_trial_says_how_to_resume_and_the_resumed_study_runs_it_again(
        toy_options: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tlzoo.engine.run import RunInterrupted
    from tlzoo.tuning.study import TuneRecipe

    output = tmp_path / "study"
    options = {**toy_options, "output": str(output), "max_steps": 4, "eval_every": "2"}
    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: {low: 1.0e-3, high: 3.0e-3, log: true}\n")
    observe = TuneRecipe.observe

    def interrupt(self: TuneRecipe, record: dict) -> None:
        if self.trial.number == 1 and record["event"] == "eval":
            raise KeyboardInterrupt
        observe(self, record)

    with monkeypatch.context() as patch:
        patch.setattr(TuneRecipe, "observe", interrupt)
        with pytest.raises(RunInterrupted, match=f"tune interrupted during trial 1; continue the study with: "
                                                 f"tlzoo tune --resume --output {output}"):
            tlzoo.tune(TOY, trials=3, space=str(space), **options)
    assert not list((output / "trials" / "trial-001").glob("**/*.safetensors"))
    result = tlzoo.tune(output=str(output), resume=True)
    assert [t["state"] for t in result.trials] == ["complete", "fail", "complete", "complete"]
    assert result.trials[1]["message"] == "interrupted"
    assert (output / "best" / "tlzoo.json").is_file()
    assert (output / "importance.png").stat().st_size > 1000  # three complete trials: importances to plot
