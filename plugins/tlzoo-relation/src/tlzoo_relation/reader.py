"""The ``semeval2010`` data format: SemEval-2010 Task 8 files, as released.

Each example is a line ``ID<TAB>"sentence with <e1>..</e1> and <e2>..</e2>"``, then (in training and
keyed test files) a line with its label, e.g. ``Component-Whole(e2,e1)`` or ``Other``, an optional
``Comment:`` line, and a blank line. Unlabelled files (the released test sentences) are the sentence
lines alone. Line ends may be CRLF. The rows are the marked sentences as they are (``id``, ``text``,
``label``, ``line``); the ``relation-extraction`` task parses the markers, and names the line of a row
whose markers are wrong.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from tlzoo.api import TlzooError
from tlzoo.data.source import DataSource

_SENTENCE = re.compile(r'^(?P<id>\d+)\t"(?P<text>.*)"$')
_LABEL = re.compile(r"^[A-Za-z][\w\-:/.]*(\(e[12],e[12]\))?$")
EXPECTED = 'ID<TAB>"sentence", a label line (e.g. Component-Whole(e2,e1) or Other), "Comment: ..." or a blank line'


class SemEvalReader:
    """SemEval-2010 Task 8 ``TRAIN_FILE.TXT`` / ``TEST_FILE_FULL.TXT`` / ``TEST_FILE.txt`` -> marked sentences."""

    name: ClassVar[str] = "semeval2010"
    extensions: ClassVar[tuple[str, ...]] = (".txt",)
    produces: ClassVar[str] = "relation"

    def read(self, source: DataSource) -> Any:
        from datasets import Dataset, Features, Value

        columns: dict[str, list[Any]] = {"id": [], "text": [], "label": [], "line": []}
        labelled = True  # the last sentence may still take its label line
        seen: dict[str, int] = {}
        for number, raw in source.lines("SemEval-2010 Task 8 examples"):
            line = raw.rstrip("\r\n")
            sentence = _SENTENCE.match(line)
            if sentence:
                if sentence.group("id") in seen:
                    raise TlzooError(f"{source}, line {number}: sentence id {sentence.group('id')} was already used "
                                     f"on line {seen[sentence.group('id')]}; expected each id once")
                seen[sentence.group("id")] = number
                for key, value in (("id", sentence.group("id")), ("text", sentence.group("text")),
                                   ("label", None), ("line", number)):
                    columns[key].append(value)
                labelled = False
            elif not line.strip() or line.startswith("Comment:"):
                continue
            elif _LABEL.match(line.strip()) and not labelled:
                columns["label"][-1] = line.strip()
                labelled = True
            else:
                what = "a second label line" if _LABEL.match(line.strip()) else "this line"
                raise TlzooError(f"{source}, line {number}: {what} is not part of a SemEval-2010 Task 8 example "
                                 f"({line.strip()[:60]!r}); expected {EXPECTED}")
        if not columns["id"]:
            raise TlzooError(f"{source} holds no examples; expected {EXPECTED}")
        if any(label is not None for label in columns["label"]):
            missing = next((line for line, label in zip(columns["line"], columns["label"]) if label is None), None)
            if missing is not None:
                raise TlzooError(f"{source}, line {missing}: this sentence has no label line while others do; "
                                 f"expected a label such as Component-Whole(e2,e1) or Other after it")
        features = Features({"id": Value("string"), "text": Value("string"), "label": Value("string"),
                             "line": Value("int64")})
        return Dataset.from_dict(columns, features=features)

    def location(self, source: DataSource, row: int) -> str:
        """The file line of row ``row`` (its sentence line), by reading the file up to it."""
        count = -1
        for number, raw in source.lines():
            if _SENTENCE.match(raw.rstrip("\r\n")):
                count += 1
                if count == row:
                    return f"{source}, line {number}"
        return f"{source}, example {row + 1}"
