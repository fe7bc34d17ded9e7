"""``tlzoo train TASK --help``: the engine options with the defaults TASK runs with, and TASK's own options.

Click builds a command's help before it parses positional arguments, so :class:`TrainCommand` finds
TASK in the raw arguments itself. Nothing here imports torch or transformers.
"""

from __future__ import annotations

from typing import Any

import click

from tlzoo.api import TlzooError

_NOT_DEFAULTED = {"task", "task_options", "resume"}


class TrainCommand(click.Command):
    """A click command whose help adapts to the TASK argument (the first positional argument)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if any(a in ("--help", "-h") for a in args):
            ctx.meta["tlzoo.help_task"] = self._task_in(ctx, args)
        return super().parse_args(ctx, args)

    def _task_in(self, ctx: click.Context, args: list[str]) -> str | None:
        """The first argument that is neither an option nor an option's value."""
        options = [p for p in self.get_params(ctx) if isinstance(p, click.Option)]
        takes_value = {opt for p in options if not p.is_flag for opt in p.opts}
        flags = {opt for p in options if p.is_flag for opt in (*p.opts, *p.secondary_opts)}
        items = iter(args)
        for arg in items:
            if arg == "--":
                return next(items, None)
            if not arg.startswith("-"):
                return arg
            if "=" in arg:
                continue
            if arg in takes_value or (arg.startswith("--") and arg not in flags):
                next(items, None)  # a known option's value, or a task option's (--text-column text)
        return None

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        task_name = ctx.meta.get("tlzoo.help_task")
        task_class, problem = _load_task(task_name) if task_name else (None, None)
        from tlzoo.taskdoc import engine_defaults, show_value

        task_defaults = dict(task_class.default_hparams) if task_class else {}
        if task_class is not None:
            task_defaults.setdefault("backbone", task_class.default_backbone)
            _format_task_options(formatter, task_name or "", task_class)
        defaults = engine_defaults(task_defaults)
        records = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
            if record is None:
                continue
            value, source = defaults.get(param.name or "", (None, ""))
            if value is not None and param.name not in _NOT_DEFAULTED:
                shown = f"{show_value(value)} ({source})" if source == "task" else show_value(value)
                record = (record[0], f"{record[1]}  [default: {shown}]".strip())
            records.append(record)
        with formatter.section("Options"):
            formatter.write_dl(records)
        if problem:
            formatter.write_paragraph()
            formatter.write_text(problem)
        elif task_class is None:
            formatter.write_paragraph()
            formatter.write_text("'tlzoo train TASK --help' adds TASK's own options and the defaults it "
                                 "sets (see 'tlzoo list tasks').")


def _load_task(name: str) -> tuple[Any, str | None]:
    """The task class called ``name``, or None and a line saying why it is not shown."""
    from tlzoo.plugins import registry

    try:
        return registry().get(name, "task").load(), None
    except TlzooError as exc:
        return None, f"{exc}"
    except Exception as exc:  # a broken plugin: the engine options are still worth showing
        return None, f"task {name!r} cannot be imported ({type(exc).__name__}: {exc})"


def _format_task_options(formatter: click.HelpFormatter, name: str, task_class: Any) -> None:
    from tlzoo.taskdoc import option_docs, show_value

    docs = option_docs(task_class.options_class)
    with formatter.section(f"Options of task {name}"):
        if not docs:
            formatter.write_text("(none)")
            return
        formatter.write_dl([(f"{o.flag} {o.kind.upper()}", f"{o.help}  [default: {show_value(o.default)}]".strip())
                            for o in docs])
