"""Reading parallel data into ``source`` / ``target`` / ``references`` examples.

Three layouts, chosen by the file name:

- **Aligned text files**: the file's last suffix (before an optional ``.gz``) is the source or target
  language code, and the other language's file lies beside it: ``train.en.gz`` pairs with
  ``train.de.gz`` for ``--source-lang en --target-lang de`` (either file may be the one named).
  One sentence per line; the two files must have the same number of lines.
- **JSON / JSONL** in the HF layout ``{"translation": {"en": ..., "de": ...}}``, or flat
  ``{"en": ..., "de": ...}``.
- **CSV / TSV** with a header: columns named by the language codes, else ``source``/``target``,
  else exactly two columns (source first).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from tlzoo.api import TlzooError
from tlzoo.data.tables import FORMATS, file_format, read_table


def text_language(path: str) -> str:
    """The language suffix of a plain-text corpus file: ``train.en.gz`` -> ``en``."""
    suffixes = [s.lstrip(".") for s in Path(path).suffixes if s.lower() != ".gz"]
    return suffixes[-1] if suffixes else ""


def sibling(path: str, language: str, other: str) -> Path:
    """``dir/train.en.gz`` -> ``dir/train.de.gz`` (the same name with the other language)."""
    file = Path(path)
    gz = ".gz" if file.name.lower().endswith(".gz") else ""
    stem = file.name[:len(file.name) - len(gz) - len(language) - 1]
    return file.with_name(f"{stem}.{other}{gz}")


def read_lines(path: str | Path) -> list[str]:
    """Lines of a UTF-8 text file, gzipped or not. Only ``\\n`` ends a line, so stray Unicode line
    separators inside a sentence cannot shift the alignment."""
    opener = gzip.open if str(path).lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise TlzooError(f"{path}: not UTF-8 text (byte {exc.start}); expected one sentence per "
                         f"line") from exc
    except (OSError, EOFError) as exc:
        raise TlzooError(f"{path}: cannot be read ({exc})") from exc
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.rstrip("\r") for line in lines]


def read_aligned(path: str, source_lang: str, target_lang: str) -> dict[str, list[str]]:
    language = text_language(path)
    other = target_lang if language == source_lang else source_lang
    pair = Path(path), sibling(path, language, other)
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


def _columns(table: Any, path: str, source_lang: str, target_lang: str) -> tuple[list[Any], list[Any]]:
    names = table.column_names
    if "translation" in names:
        rows = table["translation"]
        return [r.get(source_lang) for r in rows], [r.get(target_lang) for r in rows]
    for source, target in ((source_lang, target_lang), ("source", "target")):
        if source in names and target in names:
            return table[source], table[target]
    if len(names) == 2 and file_format(path) in ("csv", "tsv"):
        return table[names[0]], table[names[1]]
    raise TlzooError(f"{path}: no translation pairs found; expected a 'translation' object per line, columns "
                     f"named {source_lang!r} and {target_lang!r} (or 'source' and 'target'), or exactly two "
                     f"columns; the file has {', '.join(map(repr, names))} (set --source-lang/--target-lang)")


def read_table_pairs(path: str, source_lang: str, target_lang: str) -> dict[str, list[str]]:
    table = read_table(path)
    sources, targets = _columns(table, path, source_lang, target_lang)
    first = 2 if file_format(path) in ("csv", "tsv") else 1
    for index, (source, target) in enumerate(zip(sources, targets, strict=True)):
        for language, value in ((source_lang, source), (target_lang, target)):
            if not isinstance(value, str):
                raise TlzooError(f"{path}, line {first + index}: the {language} text is {value!r}; expected "
                                 f"a string (set --source-lang/--target-lang to the file's language codes)")
    return {"source": list(sources), "target": list(targets)}


def read_parallel(path: str, source_lang: str, target_lang: str) -> Any:
    """A ``datasets.Dataset`` with ``source``, ``target`` and ``references`` (the target, alone)."""
    from datasets import Dataset

    language = text_language(path)
    if language in (source_lang, target_lang):
        columns = read_aligned(path, source_lang, target_lang)
    elif language and f".{language.lower()}" not in FORMATS:
        raise TlzooError(f"{path}: the file's language suffix {language!r} matches neither --source-lang "
                         f"{source_lang!r} nor --target-lang {target_lang!r}; expected aligned text files "
                         f"NAME.{source_lang} and NAME.{target_lang} side by side (or set --source-lang/"
                         f"--target-lang to the files' languages), or a {'/'.join(FORMATS)} table")
    else:
        columns = read_table_pairs(path, source_lang, target_lang)
    return Dataset.from_dict({**columns, "references": [[t] for t in columns["target"]]})
