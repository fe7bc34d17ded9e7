"""Prediction inputs: one output row per input row, in order; columns read by name; clear errors.

The parser tests need no model; the end-to-end ones train a tiny model of the core's test task ``toy`` per
module and run the real CLI on it; text pairs, which ``toy`` does not take, on a tiny classifier.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import tlzoo
from tlzoo.api import TlzooError
from tlzoo.data.inputs import InputFields, command_line_inputs, read_inputs
from tlzoo.testing.toytask import NAME as TOY

TEXT = InputFields()
PAIRS = InputFields(("text", "text_pair"), ("text",))
QA = InputFields(("question", "context"), ("question", "context"))
OPTIONS = ["--text", "--text-pair", "--input", "--output", "--batch-size"]


def _write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


def test_a_blank_text_line_is_an_empty_input_not_dropped(tmp_path: Path) -> None:
    path = _write(tmp_path, "in.txt", "good film\n\nbad film\n")
    assert read_inputs(path, TEXT) == ["good film", "", "bad film"]
    assert read_inputs(_write(tmp_path, "crlf.txt", "a\r\n\r\nb"), TEXT) == ["a", "", "b"]


def test_csv_and_tsv_are_read_by_column(tmp_path: Path) -> None:
    csv_path = _write(tmp_path, "in.csv", 'label,text\npos,"great, really"\n\nneg,awful\n')
    assert read_inputs(csv_path, TEXT) == ["great, really", "", "awful"]
    pairs = _write(tmp_path, "pairs.tsv", "Text\tText_Pair\tid\na\tb\t1\nc\td\t2\n")
    assert read_inputs(pairs, PAIRS) == [{"text": "a", "text_pair": "b"}, {"text": "c", "text_pair": "d"}]
    qa = _write(tmp_path, "qa.csv", "context,question\nParis is in France.,Where is Paris?\n")
    assert read_inputs(qa, QA) == [{"question": "Where is Paris?", "context": "Paris is in France."}]
    assert read_inputs(_write(tmp_path, "one.csv", "sentence\nhello\n"), TEXT) == ["hello"]


def test_csv_errors_name_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(TlzooError, match=r"no column 'context' in the header \('question', 'label'\)"):
        read_inputs(_write(tmp_path, "qa.csv", "question,label\nq,1\n"), QA)
    with pytest.raises(TlzooError, match=r"ragged.csv, line 3: 3 fields, expected 2"):
        read_inputs(_write(tmp_path, "ragged.csv", "text,label\na,1\nb,2,3\n"), TEXT)


def test_jsonl_keeps_blank_lines_and_names_bad_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, "in.jsonl", '{"question": "q", "context": "c"}\n\n')
    assert read_inputs(path, QA) == [{"question": "q", "context": "c"}, {"question": "", "context": ""}]
    with pytest.raises(TlzooError, match=r"bad.jsonl, line 2: not valid JSON"):
        read_inputs(_write(tmp_path, "bad.jsonl", '"a"\n{oops\n'), TEXT)
    with pytest.raises(TlzooError, match=r"num.jsonl, line 1: expected a JSON object with question, context"):
        read_inputs(_write(tmp_path, "num.jsonl", "3\n"), QA)
    assert read_inputs(_write(tmp_path, "list.json", '["a", "", "b"]'), TEXT) == ["a", "", "b"]


def test_non_utf8_names_the_file_line_and_byte(tmp_path: Path) -> None:
    path = _write(tmp_path, "latin1.txt", "ok\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(TlzooError, match=r"latin1.txt, line 2: not UTF-8 text \(byte 6: 0xe9\)"):
        read_inputs(path, TEXT)


def test_a_text_file_for_a_structured_task_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TlzooError, match="a text file gives one text per line.*question, context"):
        read_inputs(_write(tmp_path, "q.txt", "what?\n"), QA)


def test_command_line_pairs_and_fields() -> None:
    assert command_line_inputs(["a", "b"], ["x", "y"], [], PAIRS, OPTIONS) == [
        {"text": "a", "text_pair": "x"}, {"text": "b", "text_pair": "y"}]
    assert command_line_inputs([], [], ["--question", "q1", "--context=c1", "--question", "q2", "--context", "c2"],
                               QA, OPTIONS) == [{"question": "q1", "context": "c1"},
                                                {"question": "q2", "context": "c2"}]
    with pytest.raises(TlzooError, match="--text-pair given 1 time"):
        command_line_inputs(["a", "b"], ["x"], [], PAIRS, OPTIONS)
    with pytest.raises(TlzooError, match="takes no text pairs"):
        command_line_inputs(["a"], ["x"], [], TEXT, OPTIONS)
    with pytest.raises(TlzooError, match="--question given without --context"):
        command_line_inputs([], [], ["--question", "q"], QA, OPTIONS)
    with pytest.raises(TlzooError, match="takes --question and --context, not --text"):
        command_line_inputs(["a"], [], [], QA, OPTIONS)


@pytest.mark.parametrize(("args", "hint"), [(["--foo", "3"], "known options: --batch-size"),
                                            (["--batch-szie", "4"], "did you mean --batch-size?"),
                                            (["--qestion", "q"], "did you mean --question?"),
                                            (["--text_pair", "b"], "did you mean --text-pair?")])
def test_unknown_options_are_errors_with_a_hint(args: list[str], hint: str) -> None:
    with pytest.raises(TlzooError, match=f"unknown option '{args[0]}'.*{hint}"):
        command_line_inputs([], [], args, QA, OPTIONS)


# -- end to end ---------------------------------------------------------------------------------------

def _trained(task: str, sample: dict[str, str], out: Path) -> str:
    tlzoo.train(task, backbone="tiny-bert", train=sample["train"], validation=sample["validation"],
                output=str(out), max_steps=2, batch_size=8, quiet=True, seed=0)
    return str(out)


@pytest.fixture(scope="module")
def model_dir(toy_plugin_for_module: None, toy_sample: dict[str, str],
              tmp_path_factory: pytest.TempPathFactory) -> str:
    return _trained(TOY, toy_sample, tmp_path_factory.mktemp("predict") / "run")


@pytest.fixture(scope="module")
def pair_model_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A classifier: the task whose inputs are a text and an optional text pair."""
    from tlzoo_classification.sample import paths

    return _trained("classification", paths(), tmp_path_factory.mktemp("predict-pairs") / "run")


def _predict(model_dir: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tlzoo", "predict", model_dir, *args], capture_output=True,
                          text=True, input=stdin, timeout=300)


def test_predict_rows_stay_aligned_through_the_cli(model_dir: str, tmp_path: Path) -> None:
    txt = _write(tmp_path, "in.txt", "a great film\n\nawful\n")
    csv_path = _write(tmp_path, "in.csv", "text,label\na great film,positive\n\nawful,negative\n")
    by_txt = _predict(model_dir, "--input", txt)
    by_csv = _predict(model_dir, "--input", csv_path)
    assert by_txt.returncode == 0 and by_csv.returncode == 0, by_txt.stderr + by_csv.stderr
    rows = [json.loads(line) for line in by_txt.stdout.splitlines()]
    assert len(rows) == 3 and by_csv.stdout == by_txt.stdout  # the header is not predicted
    empty = tlzoo.load(model_dir).predict("")
    assert rows[1]["scores"] == pytest.approx(empty[0]["scores"], abs=1e-5)


def test_predict_cli_errors_are_one_line(model_dir: str, tmp_path: Path) -> None:
    latin = _write(tmp_path, "latin.txt", "caf\xe9\n".encode("latin-1"))
    for args, message in [(["--foo", "3"], "unknown option '--foo'"),
                          (["--text", "a", "--batch-szie", "2"], "did you mean --batch-size?"),
                          (["--input", latin], "latin.txt, line 1: not UTF-8 text (byte 3: 0xe9)")]:
        result = _predict(model_dir, *args)
        assert result.returncode == 1, result.stdout
        assert result.stderr.strip().splitlines() == [result.stderr.strip()], result.stderr
        assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr


def test_text_pairs_from_the_command_line(pair_model_dir: str) -> None:
    result = _predict(pair_model_dir, "--text", "a", "--text-pair", "b", "--text", "c", "--text-pair", "d")
    assert result.returncode == 0, result.stderr
    expected = tlzoo.load(pair_model_dir).predict([["a", "b"], ["c", "d"]])
    assert [json.loads(line)["scores"] for line in result.stdout.splitlines()] == [
        pytest.approx(p["scores"], abs=1e-5) for p in expected]


def test_a_bare_string_is_one_input(model_dir: str) -> None:
    model = tlzoo.load(model_dir)
    single = model.predict("a wonderful film")
    assert len(single) == 1
    assert single[0]["scores"] == pytest.approx(model.predict(["a wonderful film"])[0]["scores"], abs=1e-5)


def test_command_line_text_with_other_fields() -> None:
    spans = InputFields(("text", "head", "tail"), ("text",))
    assert command_line_inputs(["a", "b"], [], ["--head", "0:1", "--tail", "2:3", "--head", "4:5", "--tail", "6:7"],
                               spans, OPTIONS) == [{"text": "a", "head": "0:1", "tail": "2:3"},
                                                   {"text": "b", "head": "4:5", "tail": "6:7"}]
    with pytest.raises(TlzooError, match="different numbers of times"):
        command_line_inputs(["a", "b"], [], ["--head", "0:1", "--tail", "2:3"], spans, OPTIONS)
