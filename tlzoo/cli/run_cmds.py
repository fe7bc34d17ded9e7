"""``tlzoo train``, ``tlzoo evaluate`` and ``tlzoo predict``.

Engine options are generated from :class:`TrainConfig`'s fields, so the CLI, YAML files and the
Python API accept the same names. Options a task declares (e.g. ``--text-column``) are passed
through to it; ``tlzoo info TASK`` lists them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
import typing
from pathlib import Path
from typing import Any

import click

from tlzoo.api import TlzooError
from tlzoo.cli.task_help import TrainCommand
from tlzoo.engine.config import HELP, TrainConfig

_POSITIONAL = {"task", "task_options"}


def _engine_options(command: Any, skip: tuple[str, ...] = ()) -> Any:
    """``command`` with a flag per :class:`TrainConfig` field but the positional ones, ``resume`` and ``skip``."""
    hints = typing.get_type_hints(TrainConfig)
    for field in reversed(dataclasses.fields(TrainConfig)):
        if field.name in _POSITIONAL or field.name == "resume" or field.name in skip:
            continue
        flag = "--" + field.name.replace("_", "-")
        hint = hints[field.name]
        default = None  # unset options fall through to task defaults and the YAML file
        if hint is bool:
            decl = f"{flag}/--no-{flag[2:]}" if field.default else flag
            command = click.option(decl, field.name, is_flag=True, default=None, help=HELP.get(field.name, ""))(command)
            continue
        kind: Any = {int: int, float: float}.get(hint, str)
        if typing.get_origin(hint) is typing.Literal:  # precision, strategy: the choices TrainConfig declares
            kind = click.Choice(typing.get_args(hint))
        many = typing.get_origin(hint) is list
        command = click.option(flag, field.name, type=kind, default=default, multiple=many,
                               help=HELP.get(field.name, ""))(command)
    return command


def _extra_options(args: list[str], what: str) -> dict[str, str]:
    """Turn ``--some-name value`` pairs left over by click into ``{"some_name": "value"}``.

    A bare ``--some-flag`` (followed by another option or nothing) means ``"true"``.
    """
    values: dict[str, str] = {}
    items = list(args)
    while items:
        key = items.pop(0)
        if not key.startswith("--") or len(key) == 2:
            raise TlzooError(f"unexpected argument {key!r}; {what} take the form --name value")
        name, equals, inline = key[2:].partition("=")
        value = inline if equals else ("true" if not items or items[0].startswith("--") else items.pop(0))
        values[name.replace("-", "_")] = value
    return values


@click.command("train", cls=TrainCommand,
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("task", required=False)
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="YAML file of options.")
@click.option("--print-config", is_flag=True, help="Print the fully resolved configuration and exit.")
@click.option("--resume", is_flag=False, flag_value="", default=None, metavar="[DIR]",
              help="Continue an interrupted run from its newest checkpoint with its saved options (DIR "
                   "defaults to --output or the --config file's output:).")
@_engine_options
@click.pass_context
def train_command(ctx: click.Context, task: str | None, config_file: str | None, print_config: bool,
                  resume: str | None, **options: Any) -> None:
    """Fine-tune a backbone on TASK. Task-specific options (e.g. --text-column) follow the task."""
    options = {k: v for k, v in options.items() if v is not None and v != ()}  # (): a repeatable option unused
    options.update(_extra_options(ctx.args, "task options"))
    if resume is not None:
        if resume and options.get("output") and Path(options["output"]) != Path(resume):
            raise TlzooError(f"--resume {resume} and --output {options['output']} name different folders")
        options.update({"resume": True, **({"output": resume} if resume else {})})
    from tlzoo.engine.run import resolve_config

    if print_config:
        import yaml

        config = resolve_config(task, config_file, **options)
        click.echo(yaml.safe_dump(config.to_dict(), sort_keys=False), nl=False)
        return
    from tlzoo.engine.run import train

    result = train(task, config_file, **options)
    print_summary(result, f"model saved to {result.output_dir} (curves: {Path(result.output_dir) / 'curves.png'})")


def print_summary(result: Any, saved: str) -> None:
    """A finished run's validation and test metrics, then ``saved``; once, not once per process."""
    if result.config.quiet or int(os.environ.get("RANK", "0")) != 0:
        return
    for split in ("validation", "test"):
        if split in result.metrics:
            shown = {k: round(v, 4) for k, v in result.metrics[split].items() if isinstance(v, float)}
            click.echo(f"{split}: {json.dumps(shown)}")
    click.echo(saved)


@click.command("evaluate", short_help="Score a trained model on a labelled file.")
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.option("--data", required=True, type=click.Path(dir_okay=False), help="Labelled file to score.")
@click.option("--output", type=click.Path(dir_okay=False), help="Write the metrics JSON here.")
@click.option("--batch-size", type=int, help="Evaluation batch size.")
@click.option("--metric", "metric", multiple=True, help=HELP["metric"])
@click.option("--format", "data_format", help="Data format of --data (see 'tlzoo list datasets'); default: by "
                                             "file extension.")
def evaluate_command(model_dir: str, data: str, output: str | None, batch_size: int | None,
                     metric: tuple[str, ...], data_format: str | None) -> None:
    """Score a trained model on a labelled file with the task's metrics (and any --metric)."""
    import tlzoo

    metrics = tlzoo.load(model_dir).evaluate(data, batch_size=batch_size, metrics=metric, format=data_format)
    text = json.dumps(metrics, indent=2)
    click.echo(text)
    target = Path(output) if output else Path(model_dir) / "evaluation" / f"{Path(data).stem}.metrics.json"
    _write_atomically(target, text + "\n")


def _write_atomically(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(handle, "w") as stream:
        stream.write(text)
    os.replace(tmp, target)


@click.command("predict", short_help="Predict with a trained model, one JSON line per input.",
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.option("--text", multiple=True, help="An input text (repeatable).")
@click.option("--text-pair", multiple=True,
              help="The second text of a pair, for tasks that take pairs (repeatable; pairs with --text in order).")
@click.option("--input", "input_file", type=click.Path(dir_okay=False),
              help="A file of inputs, one per row: .txt (one text per line), .csv/.tsv (a column per input "
                   "field), .jsonl (one JSON object per line); '-' reads standard input.")
@click.option("--output", type=click.Path(dir_okay=False), help="Write JSON lines here instead of stdout.")
@click.option("--batch-size", type=int, help="Prediction batch size.")
@click.option("--format", "output_format", type=click.Choice(["jsonl", "npy"]), default="jsonl", show_default=True,
              help="jsonl: one JSON line per input; npy: the vector each prediction holds (e.g. an embedding) as one "
                   "float32 array of shape (inputs, size), written to --output FILE.")
@click.option("--stream", is_flag=True,
              help="Print each output as plain text while it is generated, one line per input (tasks that "
                   "generate text).")
@click.pass_context
def predict_command(ctx: click.Context, model_dir: str, text: tuple[str, ...], text_pair: tuple[str, ...],
                    input_file: str | None, output: str | None, batch_size: int | None, output_format: str,
                    stream: bool) -> None:
    """Predict with a trained model: one JSON line per input, in order (a blank input row gives the
    prediction on an empty input). Structured inputs: the task's fields (--question Q --context C) or a file.
    The task's prediction options (generation tasks: --num-beams N, --max-new-tokens N, ...) apply to this
    call only."""
    from tlzoo.data.inputs import InputFields, command_line_inputs, read_inputs
    from tlzoo.engine.model_folder import read_manifest, task_spec

    spec = task_spec(model_dir, read_manifest(model_dir))
    fields = InputFields.of(spec)
    option_names = spec.load().prediction_options
    prediction_options, field_args = _prediction_options(ctx.args, option_names)
    options = [opt for param in ctx.command.params for opt in param.opts if opt.startswith("--")]
    options += ["--" + name.replace("_", "-") for name in option_names]
    inputs = command_line_inputs(text, text_pair, field_args, fields, options)
    if input_file:
        inputs += read_inputs(input_file, fields)
    if not inputs:
        raise TlzooError("nothing to predict: pass --text, --input FILE or the task's input fields")
    if output_format == "npy" and not output:
        raise TlzooError("--format npy writes a binary array: pass --output FILE.npy")
    if stream and output:
        raise TlzooError("--stream prints to the terminal; drop --output (or --stream, for JSON lines in a file)")
    import tlzoo

    if stream:
        _stream(tlzoo.load(model_dir), inputs, prediction_options)
        return
    predictions = tlzoo.load(model_dir).predict(inputs, batch_size=batch_size, **prediction_options)
    if output_format == "npy":
        _write_vectors(Path(output), predictions)
        return
    lines = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in predictions)
    if output:
        _write_atomically(Path(output), lines)
    else:
        sys.stdout.write(lines)


def _write_vectors(target: Path, predictions: list[dict[str, Any]]) -> None:
    """The one field holding a list of numbers in every prediction, stacked into a ``.npy`` array."""
    import numpy as np

    def is_vector(value: Any) -> bool:
        return isinstance(value, list) and bool(value) and all(isinstance(x, (int, float)) for x in value)

    names = [name for name in predictions[0] if all(is_vector(p.get(name)) for p in predictions)]
    if len(names) != 1:
        fields = ", ".join(sorted({name for p in predictions for name in p}))
        raise TlzooError(f"--format npy needs one vector per prediction, and these predictions hold "
                         f"{'several' if names else 'none'} ({fields}); e.g. give single texts to an embedding model")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".npy")
    with os.fdopen(handle, "wb") as stream:
        np.save(stream, np.asarray([p[names[0]] for p in predictions], dtype=np.float32))
    os.replace(tmp, target)


def _stream(predictor: Any, inputs: list[Any], options: dict[str, str]) -> None:
    """Each input's output piece by piece as it is generated, then a line break."""
    if not predictor.task.streams:
        raise TlzooError(f"task {predictor.task.name!r} does not stream its predictions; drop --stream")
    for value in inputs:
        for piece in predictor.stream(value, **options):
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
        sys.stdout.flush()


def _prediction_options(args: list[str], names: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    """Split the words click left over into the task's prediction options (``--num-beams 4``, as strings;
    the task types and checks them) and the rest, which name input fields."""
    flags = {"--" + name.replace("_", "-"): name for name in names}
    options: dict[str, str] = {}
    rest: list[str] = []
    items = list(args)
    while items:
        word = items.pop(0)
        key, equals, inline = word.partition("=")
        if key not in flags:
            rest.append(word)
            continue
        if not equals:
            if not items or items[0].startswith("--"):
                raise TlzooError(f"{key} needs a value")
            inline = items.pop(0)
        options[flags[key]] = inline
    return options, rest


COMMANDS = [train_command, evaluate_command, predict_command]
