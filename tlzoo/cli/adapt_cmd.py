"""``tlzoo adapt``: continued pre-training of a backbone on unlabelled text, with ``tlzoo train``'s engine options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tlzoo.api import TlzooError
from tlzoo.cli.run_cmds import _engine_options, print_summary

_NOT_HERE = ("train", "validation", "test", "metric", "head", "streaming", "max_train_samples", "max_eval_samples",
             "setfit_iterations", "setfit_learning_rate")
"""Engine options without a meaning here: the data is the corpus, the model the backbone's own LM head."""


@click.command("adapt", short_help="Continue pre-training a backbone on unlabelled text (MLM or CLM).")
@click.option("--corpus", multiple=True, type=click.Path(dir_okay=False),
              help="Unlabelled text (repeatable): .txt (a document per line, or per blank-line separated block), "
                   ".jsonl, .csv/.tsv (with --text-column), each optionally .gz.")
@click.option("--text-column", help="Field or column of .jsonl/.csv/.tsv corpora holding the text (default: text); "
                                    "with --from-task, the task's own --text-column.")
@click.option("--from-task", help="Task-adaptive pre-training: read --data with this task's reader and train on its "
                                  "input text.")
@click.option("--data", type=click.Path(dir_okay=False), help="With --from-task: the task's training file.")
@click.option("--line-by-line", is_flag=True, default=None,
              help="One chunk per document, cut to --max-length (default: documents joined and cut into full "
                   "chunks).")
@click.option("--whole-word-masking", is_flag=True, default=None,
              help="Encoders: mask all the sub-tokens of a word together (always with [MASK]).")
@click.option("--mlm-probability", type=float, help="Encoders: fraction of tokens masked (default 0.15).")
@click.option("--held-out", type=float,
              help="Fraction of the documents kept out of training to score perplexity on (default 0.05).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="YAML file of engine options.")
@click.option("--resume", is_flag=False, flag_value="", default=None, metavar="[DIR]",
              help="Continue an interrupted adaptation from its newest checkpoint with its saved settings.")
@(lambda command: _engine_options(command, skip=_NOT_HERE))
def adapt_command(corpus: tuple[str, ...], config_file: str | None, resume: str | None, **options: Any) -> None:
    """Continue pre-training --backbone on unlabelled text: masked LM for encoders (15% of tokens, 80% [MASK],
    10% random, 10% kept, drawn anew each epoch), causal LM for decoders. Perplexity on a held-out slice is
    scored with fixed masks before and after. The output folder is a backbone: pass it to any task with
    'tlzoo train TASK --backbone DIR'. Other options are 'tlzoo train's."""
    options = {k: v for k, v in options.items() if v is not None and v != ()}
    if resume is not None:
        if resume and options.get("output") and Path(options["output"]) != Path(resume):
            raise TlzooError(f"--resume {resume} and --output {options['output']} name different folders")
        options.update({"resume": True, **({"output": resume} if resume else {})})
    import tlzoo

    result = tlzoo.adapt(corpus=list(corpus), config=config_file, **options)
    perplexity = result.metrics.get("validation", {}).get("perplexity")
    shown = f" (held-out perplexity {perplexity:.4f})" if isinstance(perplexity, float) else ""
    print_summary(result, f"adapted backbone saved to {result.output_dir}{shown}; fine-tune it with: "
                          f"tlzoo train TASK --backbone {result.output_dir}")


COMMANDS = [adapt_command]
