"""Reading tagged sentences: CoNLL-style column files and tables (JSON/JSONL, hub, any table format) of
token and tag lists, through the core's data-source layer (:mod:`tlzoo.data.source`).

Column files (the ``conll`` format: ``.conll``, ``.txt``, ``.iob``, ``.bio``, ``.tsv`` or any extension
no table reader claims): one word per line, columns separated by tabs
(when the first word line holds a tab, so tokens may contain spaces) or else by whitespace; a
blank line or a ``-DOCSTART-`` line ends a sentence. Every word line must have as many columns as
the first one. ``tag_column`` is a column index (0-based; negative counts from the end; default
-1, the last column) and ``token_column`` likewise (default 0).

Tables (JSON/JSONL, ``hub:conll2003@train``, ...): one record per sentence with a token list and a tag
list of the same length (``tag_column``/``token_column`` name the fields; by default ``tokens``/``words``
and ``tags``/``ner_tags``/``ner``/``labels``). Integer tags, as in the HF ``conll2003`` export, are
mapped through ``label_names`` (the tag names in index order), or through the names a hub dataset's
features declare.

The result is a ``datasets.Dataset`` with ``example_id``, ``tokens``, ``tags`` and ``line`` (the
line of the sentence's first word, or the record's row in a table) so that later
checks can name the line too. Every problem raises :class:`TlzooError` naming the file and line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tlzoo.api import TlzooError
from tlzoo.data.source import DataSource, as_source
from tlzoo_ner.schemes import detect_scheme

TOKEN_FIELDS = ("tokens", "words")
TAG_FIELDS = ("tags", "ner_tags", "ner", "labels", "tag")
DOCSTART = "-DOCSTART-"


ACCEPTS = ("table", "tagged")
"""The row kinds the ``ner`` task reads: tables of token/tag lists, and tagged sentences (``conll``)."""


def reader_for(path: str | DataSource) -> Any:
    """The reader of ``path``: its ``--format``, else by extension (``conll`` first, and for the rest)."""
    return as_source(path).reader(ACCEPTS, prefer=("conll",), fallback="conll")


def location(path: str | DataSource, line: int, word: int = 0) -> str:
    """``"file, line N"`` for word ``word`` of the sentence starting at ``line`` (a row in a table)."""
    source = as_source(path)
    if reader_for(source).produces == "tagged":
        return f"{source}, line {line + word}"
    return source.where(line - 1)


@dataclass
class Sentences:
    """Tagged sentences read from ``path``; ``lines[i]`` locates sentence i (see :func:`location`)."""

    path: str | DataSource
    tokens: list[list[str]] = field(default_factory=list)
    tags: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    def where(self, sentence: int, word: int = 0) -> str:
        return location(self.path, self.lines[sentence], word)

    def to_dataset(self) -> Any:
        from datasets import Dataset, Features, List, Value

        features = Features({"example_id": Value("int64"), "tokens": List(Value("string")),
                             "tags": List(Value("string")), "line": Value("int64")})
        return Dataset.from_dict({"example_id": list(range(len(self.tokens))), "tokens": self.tokens,
                                  "tags": self.tags, "line": self.lines}, features=features)


def _column_index(value: str | int | None, default: int, width: int, path: str, flag: str) -> int:
    if value is None or value == "":
        return default % width
    try:
        index = int(value)
    except ValueError:
        raise TlzooError(f"{path}: {flag} {value!r} must be a column number (0-based, negative from the end) "
                         f"for a column file") from None
    if not -width <= index < width:
        raise TlzooError(f"{path}: {flag} {index} is out of range; its lines have {width} columns "
                         f"(0..{width - 1}, or -1 for the last)")
    return index % width


def read_columns(path: str | DataSource, tag_column: str | int | None = None,
                 token_column: str | int | None = None) -> Sentences:
    """Read a CoNLL-style column file (see the module docstring)."""
    result = Sentences(path)
    words: list[str] = []
    tags: list[str] = []
    width = 0
    tabbed = False
    last_line = 0
    token_at = tag_at = 0

    def flush() -> None:
        if words:
            result.tokens.append(list(words))
            result.tags.append(list(tags))
            result.lines.append(last_line - len(words) + 1)
            words.clear()
            tags.clear()

    for number, raw in as_source(path).lines("a UTF-8 column file"):
        line = raw.rstrip("\r\n")
        if not line.strip():
            flush()
            continue
        if not width:
            tabbed = "\t" in line
        fields = [f.strip() for f in line.split("\t")] if tabbed else line.split()
        if fields[0] == DOCSTART:
            flush()
            continue
        if not width:
            width = len(fields)
            if width < 2:
                raise TlzooError(f"{path}, line {number}: one column; expected a token and a tag per "
                                 f"line, separated by {'tabs' if tabbed else 'whitespace'}")
            token_at = _column_index(token_column, 0, width, path, "--token-column")
            tag_at = _column_index(tag_column, -1, width, path, "--tag-column")
            if token_at == tag_at:
                raise TlzooError(f"{path}: the token and tag columns are both column {tag_at}")
        if len(fields) != width:
            raise TlzooError(f"{path}, line {number}: {len(fields)} columns, expected {width} like "
                             f"the first word line ({'tab' if tabbed else 'whitespace'}-separated; "
                             f"blank lines separate sentences)")
        if not fields[token_at] or not fields[tag_at]:
            empty = "token" if not fields[token_at] else "tag"
            raise TlzooError(f"{path}, line {number}: empty {empty}")
        words.append(fields[token_at])
        tags.append(fields[tag_at])
        last_line = number
    flush()
    return result


def read_records(source: DataSource, table: Any, tag_column: str | int | None = None,
                 token_column: str | int | None = None, label_names: Sequence[str] | None = None) -> Sentences:
    """Sentences from a table of token and tag lists (see the module docstring)."""
    from tlzoo.data.tables import detect_column

    token_field = detect_column(table, source, str(token_column) if token_column else None, TOKEN_FIELDS,
                                "token list", "--token-column")
    tag_field = detect_column(table, source, str(tag_column) if tag_column else None, TAG_FIELDS, "tag list",
                              "--tag-column")
    label_names = label_names or _declared_names(table, tag_field)
    result = Sentences(source)
    for index, (tokens, tags) in enumerate(zip(table[token_field], table[tag_field])):
        where = source.where(index)
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise TlzooError(f"{where}: {token_field!r} must be a list of strings, got {tokens!r:.80}")
        if not isinstance(tags, list):
            raise TlzooError(f"{where}: {tag_field!r} must be a list of tags, got {tags!r:.80}")
        if len(tokens) != len(tags):
            raise TlzooError(f"{where}: {len(tokens)} tokens but {len(tags)} tags; expected one tag per "
                             f"token")
        if tokens:
            result.tokens.append(tokens)
            result.tags.append([_tag_name(tag, label_names, where) for tag in tags])
            result.lines.append(index + 1)
    return result


def _declared_names(table: Any, tag_field: str) -> list[str] | None:
    """Tag names a table declares for integer tags (a hub dataset's ``ClassLabel`` feature)."""
    feature = (getattr(table, "features", None) or {}).get(tag_field)
    names = getattr(getattr(feature, "feature", None), "names", None)
    return list(names) if names else None


def _tag_name(tag: Any, label_names: Sequence[str] | None, where: str) -> str:
    if isinstance(tag, str) and tag:
        return tag
    if isinstance(tag, int) and not isinstance(tag, bool):
        if not label_names:
            raise TlzooError(f"{where}: tag {tag} is a number; pass --label-names with the tag names in "
                             f"index order (for HF conll2003: O,B-PER,I-PER,B-ORG,I-ORG,B-LOC,I-LOC,B-MISC,"
                             f"I-MISC)")
        if not 0 <= tag < len(label_names):
            raise TlzooError(f"{where}: tag {tag} has no name; --label-names lists {len(label_names)} "
                             f"(indices 0..{len(label_names) - 1})")
        return label_names[tag]
    raise TlzooError(f"{where}: tag {tag!r} must be a non-empty string or an integer index")


def parse_label_names(value: str | Sequence[str] | None) -> list[str] | None:
    """``"O,B-PER,I-PER"`` (or a list) -> the tag names; None when not given."""
    if value is None or value == "":
        return None
    names = [n.strip() for n in value.split(",")] if isinstance(value, str) else [str(n) for n in value]
    if not all(names):
        raise TlzooError(f"--label-names {value!r} has an empty name; expected comma-separated tags")
    return names


def read_tagged(path: str | DataSource, tag_column: str | int | None = None, token_column: str | int | None = None,
                label_names: str | Sequence[str] | None = None) -> Sentences:
    """Read tagged sentences in any format the ``ner`` task reads, and check that their tags follow one
    known scheme."""
    source = as_source(path)
    reader = reader_for(source)
    if reader.produces == "tagged":
        if label_names:
            raise TlzooError(f"{source}: --label-names applies to tables (JSON, hub) with integer tags, not to "
                             f"column files")
        rows = reader.read(source, tag_column=tag_column, token_column=token_column)
        sentences = Sentences(source, rows["tokens"], rows["tags"], rows["line"])
    else:
        sentences = read_records(source, reader.read(source), tag_column, token_column,
                                 parse_label_names(label_names))
    detect_scheme(sentences.tags, sentences.where)
    return sentences


class ConllReader:
    """The ``conll`` format: CoNLL-style column files -> a ``datasets.Dataset`` of tagged sentences."""

    name: ClassVar[str] = "conll"
    extensions: ClassVar[tuple[str, ...]] = (".conll", ".txt", ".iob", ".bio", ".tsv")
    produces: ClassVar[str] = "tagged"
    columns = ("example_id", "tokens", "tags", "line")

    def read(self, source: DataSource, tag_column: str | int | None = None,
             token_column: str | int | None = None) -> Any:
        return read_columns(source, tag_column, token_column).to_dataset()
