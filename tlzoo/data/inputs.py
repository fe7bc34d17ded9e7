"""Prediction inputs from the command line and from files: one input per row, in order, never dropped.

A task declares its input fields in its spec metadata ``"input"`` (``{"question": "str", "context":
"str"}``; a type mentioning ``null`` marks an optional field); a task that declares none takes one
``text``. Files are read by suffix:

- ``.txt`` (and standard input or other suffixes, unless the first line is a JSON object): one text
  per line; a blank line is an empty text, so N lines give N predictions.
- ``.csv`` / ``.tsv``: a header row naming the input fields (other columns, e.g. ``label``, are
  ignored); a blank row is an empty input.
- ``.jsonl``: one JSON object (or string) per line; a blank line is an empty input. ``.json``: a JSON
  list of inputs, one input, or JSON lines.

The empty input is ``""`` for text tasks and an object of empty required fields otherwise, which
every task predicts on (``tlzoo check`` verifies it). Errors are :class:`TlzooError` naming the file
and the line (or byte, for text that is not UTF-8). Nothing here imports torch or transformers.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tlzoo.api import Spec, TlzooError
from tlzoo.suggest import close_names

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class InputFields:
    """The fields one prediction input has: all of them in order, and the required ones."""

    names: tuple[str, ...] = ("text",)
    required: tuple[str, ...] = ("text",)

    @classmethod
    def of(cls, spec: Spec) -> InputFields:
        declared = spec.metadata.get("input")
        if not isinstance(declared, Mapping) or not declared:
            return cls()
        names = tuple(str(name) for name in declared)
        return cls(names, tuple(n for n in names if "null" not in str(declared[n]).lower()))

    @property
    def is_text(self) -> bool:
        """Whether an input may be a bare string (the task takes one required ``text``)."""
        return self.required == ("text",)

    def empty(self) -> Any:
        """The input a blank row stands for."""
        return "" if self.is_text else {name: "" for name in self.required}

    def describe(self) -> str:
        return ", ".join(n if n in self.required else f"{n} (optional)" for n in self.names)


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def command_line_inputs(texts: Sequence[str], pairs: Sequence[str], args: Sequence[str], fields: InputFields,
                        options: Iterable[str]) -> list[Any]:
    """Inputs from ``--text``, ``--text-pair`` (paired with the texts in order) and field options (with
    ``--text``, the n-th text and the n-th of each field make one input).

    ``args`` are the words click did not recognise; each must be ``--FIELD VALUE`` for one of the
    task's declared fields (repeatable: the n-th of each field make the n-th input). ``options`` are
    the command's own flags, offered with the fields when a name looks like a typo.
    """
    if texts and "text" not in fields.names:
        raise TlzooError(f"this task takes {' and '.join(map(flag, fields.required))}, not --text")
    if pairs and "text_pair" not in fields.names:
        raise TlzooError(f"this task takes no text pairs (--text-pair); its inputs: {fields.describe()}")
    if pairs and len(pairs) != len(texts):
        raise TlzooError(f"--text-pair given {len(pairs)} time(s) and --text {len(texts)} time(s); give one "
                         f"--text-pair per --text (they pair in order)")
    inputs: list[Any] = [{"text": t, "text_pair": p} for t, p in zip(texts, pairs)] if pairs else list(texts)
    values = _field_values(args, fields, options)
    if values and texts and not pairs:  # --text with other fields: the n-th of each make the n-th input
        values, inputs = {"text": list(texts), **values}, []
    if values:
        counts = {name: len(given) for name, given in values.items()}
        missing = [name for name in fields.required if name not in values]
        if missing:
            raise TlzooError(f"{', '.join(map(flag, values))} given without {', '.join(map(flag, missing))}; "
                             f"each input needs {fields.describe()}")
        if len(set(counts.values())) > 1:
            shown = ", ".join(f"{flag(name)} {count} time(s)" for name, count in counts.items())
            raise TlzooError(f"input fields given different numbers of times ({shown}); give each field once "
                             f"per input")
        inputs += [{name: given[i] for name, given in values.items()} for i in range(next(iter(counts.values())))]
    return inputs


def _field_values(args: Sequence[str], fields: InputFields, options: Iterable[str]) -> dict[str, list[str]]:
    field_flags = {flag(name): name for name in fields.names if name not in ("text", "text_pair")}
    known = sorted({*options, *field_flags})
    values: dict[str, list[str]] = {}
    items = list(args)
    while items:
        word = items.pop(0)
        key, equals, inline = word.partition("=")
        if key not in field_flags:
            close = close_names(key, known, cutoff=0.6)
            hint = f"did you mean {' or '.join(close)}?" if close else f"known options: {', '.join(known)}"
            what = "option" if word.startswith("-") else "argument"
            raise TlzooError(f"unknown {what} {key!r} for this task's predict; {hint}")
        if not equals:
            if not items or items[0].startswith("--"):
                raise TlzooError(f"{key} needs a value")
            inline = items.pop(0)
        values.setdefault(field_flags[key], []).append(inline)
    return values


def read_inputs(path: str, fields: InputFields) -> list[Any]:
    """Inputs from a file (``-``: standard input), one per row, in order; see the module docstring."""
    text = _read_text(path)
    suffix = "" if path == "-" else Path(path).suffix.lower()
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()  # the final line break ends the last row; it does not start one
    if suffix in (".csv", ".tsv"):
        inputs = _table_inputs(text, path, "\t" if suffix == ".tsv" else ",", fields)
    elif suffix == ".json":
        inputs = _json_inputs(text, lines, path, fields)
    elif suffix == ".jsonl" or (suffix != ".txt" and next((x for x in lines if x.strip()), "").lstrip()
                                .startswith("{")):
        inputs = _jsonl_inputs(lines, path, fields)
    else:
        if not fields.is_text:
            raise TlzooError(f"{path}: a text file gives one text per line, but this task's inputs have "
                             f"{fields.describe()}; use a .jsonl, .csv or .tsv file with those fields")
        inputs = list(lines)
    if not inputs:
        raise TlzooError(f"input file {path} is empty; expected one input per line")
    return inputs


def _read_text(path: str) -> str:
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        if not Path(path).is_file():
            raise TlzooError(f"input file {path} does not exist" if not Path(path).exists()
                             else f"input {path} is not a file")
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise TlzooError(f"input file {path} cannot be read ({exc.strerror})") from exc
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = start + exc.start
        line = data[:byte].count(b"\n") + 1
        name = "standard input" if path == "-" else path
        raise TlzooError(f"{name}, line {line}: not UTF-8 text (byte {byte}: 0x{data[byte]:02x}); save the "
                         f"file as UTF-8") from exc


def _checked(value: Any, where: str, fields: InputFields) -> Any:
    """One JSON input: a string (text tasks), an object, or a ``[text, pair]`` list."""
    if isinstance(value, str) and fields.is_text:
        return value
    if isinstance(value, dict) or (isinstance(value, list) and "text_pair" in fields.names):
        return value
    raise TlzooError(f"{where}: expected a JSON object with {fields.describe()}, got "
                     f"{json.dumps(value)[:60]}")


def _jsonl_inputs(lines: Sequence[str], path: str, fields: InputFields) -> list[Any]:
    inputs: list[Any] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            inputs.append(fields.empty())
            continue
        try:
            value = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise TlzooError(f"{path}, line {number}: not valid JSON ({reason}); expected one input per "
                             f"line") from exc
        inputs.append(_checked(value, f"{path}, line {number}", fields))
    return inputs


def _json_inputs(text: str, lines: Sequence[str], path: str, fields: InputFields) -> list[Any]:
    """A JSON list of inputs or a single input; otherwise the file is read as JSON lines."""
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return _jsonl_inputs(lines, path, fields)
    if isinstance(document, list):
        return [_checked(value, f"{path}, item {number}", fields) for number, value in enumerate(document, 1)]
    return [_checked(document, path, fields)]


def _table_inputs(text: str, path: str, delimiter: str, fields: InputFields) -> list[Any]:
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    try:
        header = next(rows, None)
        if not header or not any(name.strip() for name in header):
            raise TlzooError(f"{path}, line 1: expected a header row naming the input columns "
                             f"({fields.describe()})")
        columns = _input_columns(header, path, fields)
        inputs: list[Any] = []
        for row in rows:
            if not row:
                inputs.append(fields.empty())
                continue
            if len(row) != len(header):
                raise TlzooError(f"{path}, line {rows.line_num}: {len(row)} fields, expected {len(header)} "
                                 f"({delimiter!r}-separated, like the header)")
            values = {name: row[index] for name, index in columns.items()}
            inputs.append(values["text"] if set(values) == {"text"} and fields.is_text else values)
    except csv.Error as exc:
        raise TlzooError(f"{path}, line {rows.line_num}: {exc}") from exc
    return inputs


def _input_columns(header: Sequence[str], path: str, fields: InputFields) -> dict[str, int]:
    """The column index of each input field found in the header (case-insensitive)."""
    by_lower = {name.strip().lower(): index for index, name in enumerate(header)}
    columns = {name: by_lower[name.lower()] for name in fields.names if name.lower() in by_lower}
    missing = [name for name in fields.required if name not in columns]
    if missing == list(fields.required) == ["text"] and len(header) == 1:
        return {"text": 0}  # a one-column file is a column of texts, whatever its header says
    if missing:
        raise TlzooError(f"{path}: no column {' or '.join(map(repr, missing))} in the header "
                         f"({', '.join(map(repr, header))}); expected columns {fields.describe()}")
    return columns
