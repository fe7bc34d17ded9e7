"""Any bytes into a reader give a well-formed result or one TlzooError, never another exception.

Inputs mix raw bytes with fragments of the formats (quotes, separators, braces, line breaks, bad
UTF-8, a BOM), so the readers get past their first check. Example counts are kept small.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tlzoo.api import TlzooError
from tlzoo.data.inputs import InputFields, read_inputs
from tlzoo.data.tables import read_table

FRAGMENTS = [b"text", b"label", b"question", b"context", b"text_pair", b"a", b"good film", b"0", b"1", b"3e-3",
             b",", b"\t", b" ", b'"', b"'", b"{", b"}", b"[", b"]", b":", b'"text": ', b'{"text": "x"}', b"null",
             b"\n", b"\r\n", b"\r", b"\n\n", b"\xe9", b"\xff\xfe", b"\xef\xbb\xbf", b"\x00", "é東".encode(),
             "\u2028".encode(), b"-DOCSTART- -X- O O", b"B-PER", b"I-LOC", b"O", b'{"data": [', b'"paragraphs"']
CONTENT = st.one_of(st.binary(max_size=120), st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(b"".join))
FIELDS = st.sampled_from([InputFields(), InputFields(("text", "text_pair"), ("text",)),
                          InputFields(("question", "context"), ("question", "context"))])
SUFFIXES = st.sampled_from([".txt", ".csv", ".tsv", ".jsonl", ".json", ".dat"])
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _outcome(files: dict[str, bytes], read: Callable[[str], Any]) -> Any:
    """``read`` on the first of ``files`` written to a fresh folder; a TlzooError is a fine outcome."""
    with tempfile.TemporaryDirectory() as folder:
        for name, content in files.items():
            (Path(folder) / name).write_bytes(content)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return read(str(Path(folder) / next(iter(files))))
        except TlzooError as error:
            message = str(error)
            assert message and "\n" not in message.strip() and "Traceback" not in message
            return error


@FAST
@given(content=CONTENT, suffix=SUFFIXES, fields=FIELDS)
def test_predict_input_parser(content: bytes, suffix: str, fields: InputFields) -> None:
    result = _outcome({"in" + suffix: content}, lambda path: read_inputs(path, fields))
    if isinstance(result, TlzooError):
        return
    assert isinstance(result, list) and result
    for item in result:
        assert isinstance(item, (str, dict, list))
        if isinstance(item, str):
            assert fields.is_text
    if suffix == ".txt":  # one input per line, blank lines included
        text = content.removeprefix(b"\xef\xbb\xbf").decode()
        assert len(result) == len(text.replace("\r\n", "\n").replace("\r", "\n").removesuffix("\n").split("\n"))
    if suffix in (".csv", ".tsv"):  # rows by column: texts, or objects holding the required fields
        for item in result:
            assert isinstance(item, str) or set(fields.required) <= set(item)


def _check_table(result: Any) -> None:
    """A dataset with named columns (an empty one is fine: the engine rejects it, naming the file)."""
    if not isinstance(result, TlzooError):
        assert result.column_names and len(result) == len(result[result.column_names[0]])


@SLOW
@given(content=CONTENT, suffix=st.sampled_from([".csv", ".tsv", ".jsonl", ".json"]))
@example(content=b"\nnull", suffix=".json")  # crashed Arrow's JSON reader (a segmentation fault)
def test_read_table(content: bytes, suffix: str) -> None:
    _check_table(_outcome({"data" + suffix: content}, read_table))


@SLOW
@given(content=CONTENT, suffix=st.sampled_from([".conll", ".jsonl", ".json"]))
@example(content=b"null\t}B-PER", suffix=".json")
def test_ner_reader(content: bytes, suffix: str) -> None:
    from tlzoo_ner.reader import read_tagged

    result = _outcome({"data" + suffix: content}, read_tagged)
    if not isinstance(result, TlzooError):
        assert len(result.tokens) == len(result.tags) == len(result.lines)
        assert all(len(words) == len(tags) for words, tags in zip(result.tokens, result.tags))


@SLOW
@given(content=CONTENT, suffix=st.sampled_from([".jsonl", ".json"]))
def test_squad_reader(content: bytes, suffix: str) -> None:
    from tlzoo_qa.reader import read_squad

    _check_table(_outcome({"data" + suffix: content}, read_squad))


@SLOW
@given(source=CONTENT, target=CONTENT)
def test_parallel_reader(source: bytes, target: bytes) -> None:
    from tlzoo_translation.data import read_parallel

    result = _outcome({"train.en": source, "train.de": target}, lambda path: read_parallel(path, "en", "de"))
    if not isinstance(result, TlzooError):
        assert len(result["source"]) == len(result["target"])
