"""``tlzoo distill``: a smaller student trained on a teacher's outputs, with ``tlzoo train``'s options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tlzoo.api import TlzooError
from tlzoo.cli.run_cmds import _engine_options, _extra_options, print_summary


@click.command("distill", short_help="Distil a trained model into a smaller student.",
               context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("teacher_dir", required=False, type=click.Path(file_okay=False))
@click.option("--student", help="teacher:layers=N (N of the teacher's layers, every other one: DistilBERT-style) "
                                "or a backbone name or folder (sequence tasks: any tokenizer; token tasks: the "
                                "teacher's).")
@click.option("--unlabeled", multiple=True, type=click.Path(dir_okay=False),
              help="Unlabelled transfer text, in the form 'tlzoo predict --input' reads (repeatable); trained on "
                   "the teacher's outputs only.")
@click.option("--temperature", type=float, help="Softmax temperature T of the KL term (default 2).")
@click.option("--alpha", type=float, help="Weight of the task loss; 1 - alpha weighs the teacher's term (default 0.1).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="YAML file of engine options.")
@click.option("--resume", is_flag=False, flag_value="", default=None, metavar="[DIR]",
              help="Continue an interrupted distillation from its newest checkpoint with its saved settings.")
@(lambda command: _engine_options(command, skip=("backbone", "setfit_iterations", "setfit_learning_rate")))
@click.pass_context
def distill_command(ctx: click.Context, teacher_dir: str | None, student: str | None, unlabeled: tuple[str, ...],
                    temperature: float | None, alpha: float | None, config_file: str | None, resume: str | None,
                    **options: Any) -> None:
    """Train a student on the outputs of TEACHER_DIR (a folder 'tlzoo train' wrote): alpha * task loss +
    (1 - alpha) * T^2 * KL(teacher || student). The student folder is a normal model of the teacher's task,
    labels and head (evaluate, predict, export, serve); other options are 'tlzoo train's."""
    options = {k: v for k, v in options.items() if v is not None and v != ()}
    options.update(_extra_options(ctx.args, "task options"))
    if resume is not None:
        if resume and options.get("output") and Path(options["output"]) != Path(resume):
            raise TlzooError(f"--resume {resume} and --output {options['output']} name different folders")
        options.update({"resume": True, **({"output": resume} if resume else {})})
    import tlzoo

    result = tlzoo.distill(teacher_dir, student, unlabeled=list(unlabeled), temperature=temperature, alpha=alpha,
                           config=config_file, **options)
    print_summary(result, f"student saved to {result.output_dir}")


COMMANDS = [distill_command]
