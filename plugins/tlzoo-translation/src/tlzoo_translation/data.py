"""Reading parallel data into ``source`` / ``target`` / ``references`` examples.

Three layouts, chosen by the file name (or ``--format``) through the data-source layer:

- **Aligned text files** (the ``parallel-text`` format): the file's last suffix (before an optional
  ``.gz``/``.bz2``/``.xz``) is the source or target
  language code, and the other language's file lies beside it: ``train.en.gz`` pairs with
  ``train.de.gz`` for ``--source-lang en --target-lang de`` (either file may be the one named).
  One sentence per line; the two files must have the same number of lines.
- **JSON / JSONL** in the HF layout ``{"translation": {"en": ..., "de": ...}}``, or flat
  ``{"en": ..., "de": ...}``.
- **CSV / TSV** with a header: columns named by the language codes, else ``source``/``target``,
  else exactly two columns (source first). Any other table format (a hub dataset, a format a plugin
  adds) is read like JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from tlzoo.api import TlzooError
from tlzoo.data.source import DataSource, as_source

ACCEPTS = ("table", "parallel")
"""The row kinds the translation task reads: tables and aligned text files."""


def text_language(path: str | DataSource) -> str:
    """The language suffix of a plain-text corpus file: ``train.en.gz`` -> ``en``."""
    return as_source(path).extension.lstrip(".")


def sibling(path: str | DataSource, language: str, other: str) -> Path:
    """``dir/train.en.gz`` -> ``dir/train.de.gz`` (the same name with the other language)."""
    source = as_source(path)
    file = Path(source.path)
    compression = source.compression
    stem = file.name[:len(file.name) - len(compression) - len(language) - 1]
    return file.with_name(f"{stem}.{other}{compression}")


def read_lines(path: str | Path | DataSource) -> list[str]:
    """Lines of a UTF-8 text file, compressed or not. Only ``\\n`` ends a line, so stray Unicode line
    separators inside a sentence cannot shift the alignment."""
    return [line.removesuffix("\n").rstrip("\r")
            for _, line in as_source(str(path)).lines("one sentence per line")]


class ParallelTextReader:
    """The ``parallel-text`` format: NAME.SRC and NAME.TGT side by side, one sentence per line (any
    extension that is a language code); the translation task picks it for a file named by a language."""

    name: ClassVar[str] = "parallel-text"
    extensions: ClassVar[tuple[str, ...]] = ()
    produces: ClassVar[str] = "parallel"

    def read(self, source: DataSource, source_lang: str = "en", target_lang: str = "de") -> Any:
        from datasets import Dataset

        return Dataset.from_dict(read_aligned(source, source_lang, target_lang))


def read_aligned(path: str | DataSource, source_lang: str, target_lang: str) -> dict[str, list[str]]:
    language = text_language(path)
    if language not in (source_lang, target_lang):
        raise TlzooError(f"{path}: the file's language suffix {language!r} matches neither --source-lang "
                         f"{source_lang!r} nor --target-lang {target_lang!r}; name aligned text files "
                         f"NAME.{source_lang} and NAME.{target_lang}")
    other = target_lang if language == source_lang else source_lang
    pair = Path(str(path)), sibling(path, language, other)
    if not pair[1].is_file():
        raise TlzooError(f"{path} is the {language} side of a parallel corpus, but its {other} side "
                         f"{pair[1]} does not exist; put both files side by side")
    source_path, target_path = pair if language == source_lang else pair[::-1]
    sources, targets = read_lines(source_path), read_lines(target_path)
    if len(sources) != len(targets):
        raise TlzooError(f"misaligned parallel corpus: {source_path} has {len(sources)} lines but "
                         f"{target_path} has {len(targets)}; line i of one must translate line i of the "
                         f"other")
    return {"source": sources, "target": targets}


def _columns(table: Any, path: DataSource, source_lang: str, target_lang: str,
             positional: bool) -> tuple[list[Any], list[Any]]:
    names = table.column_names
    if "translation" in names:
        rows = table["translation"]
        return [r.get(source_lang) for r in rows], [r.get(target_lang) for r in rows]
    for source, target in ((source_lang, target_lang), ("source", "target")):
        if source in names and target in names:
            return table[source], table[target]
    if len(names) == 2 and positional:
        return table[names[0]], table[names[1]]
    raise TlzooError(f"{path}: no translation pairs found; expected a 'translation' object per line, columns "
                     f"named {source_lang!r} and {target_lang!r} (or 'source' and 'target'), or exactly two "
                     f"columns; the file has {', '.join(map(repr, names))} (set --source-lang/--target-lang)")


def read_table_pairs(path: DataSource, reader: Any, source_lang: str, target_lang: str) -> dict[str, list[str]]:
    table = reader.read(path)
    sources, targets = _columns(table, path, source_lang, target_lang, reader.name in ("csv", "tsv"))
    for index, (source, target) in enumerate(zip(sources, targets, strict=True)):
        for language, value in ((source_lang, source), (target_lang, target)):
            if not isinstance(value, str):
                raise TlzooError(f"{path.where(index)}: the {language} text is {value!r}; expected "
                                 f"a string (set --source-lang/--target-lang to the file's language codes)")
    return {"source": list(sources), "target": list(targets)}


def read_parallel(path: str | DataSource, source_lang: str, target_lang: str) -> Any:
    """A ``datasets.Dataset`` with ``source``, ``target`` and ``references`` (the target, alone)."""
    from datasets import Dataset

    source = as_source(path)
    named = text_language(source) in (source_lang, target_lang)
    try:
        reader = source.reader(ACCEPTS, fallback="parallel-text" if named else None)
    except TlzooError:
        if source.format or source.is_hub:
            raise
        raise TlzooError(f"{path}: the file's language suffix {text_language(source)!r} matches neither "
                         f"--source-lang {source_lang!r} nor --target-lang {target_lang!r}; expected aligned text "
                         f"files NAME.{source_lang} and NAME.{target_lang} side by side (or set --source-lang/"
                         f"--target-lang to the files' languages), or a .csv/.tsv/.json/.jsonl table") from None
    if reader.produces == "parallel":
        columns = reader.read(source, source_lang=source_lang, target_lang=target_lang).to_dict()
    else:
        columns = read_table_pairs(source, reader, source_lang, target_lang)
    return Dataset.from_dict({**columns, "references": [[t] for t in columns["target"]]})
