"""Reading parallel data: aligned text files (plain or gzip), HF JSONL, CSV/TSV, and their errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from tlzoo_translation.data import read_parallel, sibling, text_language
from tlzoo_translation.task import TranslationTask

from tlzoo.api import TlzooError

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "datasets"


def write(path: Path, lines: list[str]) -> Path:
    data = "".join(f"{line}\n" for line in lines).encode()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def test_language_suffix_and_sibling() -> None:
    assert text_language("data/train.en.gz") == "en"
    assert text_language("data/val.de") == "de"
    assert sibling("data/train.en.gz", "en", "de") == Path("data/train.de.gz")
    assert sibling("data/test_2016_flickr.de", "de", "en") == Path("data/test_2016_flickr.en")


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_aligned_files_from_either_side(tmp_path: Path, suffix: str) -> None:
    write(tmp_path / f"train.en{suffix}", ["A dog runs.", "Two men talk."])
    write(tmp_path / f"train.de{suffix}", ["Ein Hund läuft.", "Zwei Männer reden."])
    for named in ("en", "de"):
        data = read_parallel(str(tmp_path / f"train.{named}{suffix}"), "en", "de")
        assert data["source"] == ["A dog runs.", "Two men talk."]
        assert data["target"] == ["Ein Hund läuft.", "Zwei Männer reden."]
        assert data["references"] == [["Ein Hund läuft."], ["Zwei Männer reden."]]
    reverse = read_parallel(str(tmp_path / f"train.en{suffix}"), "de", "en")
    assert reverse["source"][0] == "Ein Hund läuft." and reverse["target"][0] == "A dog runs."


def test_unicode_line_separator_keeps_alignment(tmp_path: Path) -> None:
    write(tmp_path / "a.en", ["one\u2028still one", "two"])
    write(tmp_path / "a.de", ["eins", "zwei"])
    assert read_parallel(str(tmp_path / "a.en"), "en", "de")["target"] == ["eins", "zwei"]


def test_misaligned_files_name_both_counts(tmp_path: Path) -> None:
    write(tmp_path / "train.en.gz", ["a", "b", "c"])
    write(tmp_path / "train.de.gz", ["x", "y"])
    with pytest.raises(TlzooError) as error:
        read_parallel(str(tmp_path / "train.de.gz"), "en", "de")
    message = str(error.value)
    assert "train.en.gz has 3 lines" in message and "train.de.gz has 2" in message


def test_missing_sibling(tmp_path: Path) -> None:
    write(tmp_path / "train.en", ["a"])
    with pytest.raises(TlzooError, match=r"its de side .*train\.de does not exist"):
        read_parallel(str(tmp_path / "train.en"), "en", "de")


def test_language_suffix_that_matches_neither_option(tmp_path: Path) -> None:
    write(tmp_path / "train.en", ["a"])
    write(tmp_path / "train.de", ["x"])
    with pytest.raises(TlzooError) as error:
        read_parallel(str(tmp_path / "train.en"), "fr", "de")
    assert str(error.value) == (
        f"{tmp_path / 'train.en'}: the file's language suffix 'en' matches neither --source-lang 'fr' nor "
        f"--target-lang 'de'; expected aligned text files NAME.fr and NAME.de side by side (or set "
        f"--source-lang/--target-lang to the files' languages), or a .csv/.tsv/.json/.jsonl table")
    with pytest.raises(TlzooError, match="language suffix '' matches neither"):
        read_parallel(str(write(tmp_path / "train", ["a"])), "en", "de")


def test_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "t.en").write_bytes(b"caf\xe9\n")
    (tmp_path / "t.de").write_text("x\n")
    with pytest.raises(TlzooError, match="not UTF-8"):
        read_parallel(str(tmp_path / "t.en"), "en", "de")


def test_hf_jsonl_and_flat_json(tmp_path: Path) -> None:
    nested = tmp_path / "train.jsonl"
    nested.write_text("\n".join(json.dumps({"translation": {"en": e, "ro": r}})
                                for e, r in [("hello", "salut"), ("thanks", "mulțumesc")]) + "\n")
    data = read_parallel(str(nested), "en", "ro")
    assert data["source"] == ["hello", "thanks"] and data["target"] == ["salut", "mulțumesc"]
    flat = tmp_path / "flat.jsonl"
    flat.write_text(json.dumps({"en": "hi", "de": "hallo"}) + "\n")
    assert read_parallel(str(flat), "en", "de")["target"] == ["hallo"]


def test_jsonl_missing_language_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"translation": {"en": "a", "de": "b"}}) + "\n"
                    + json.dumps({"translation": {"en": "c", "fr": "d"}}) + "\n")
    with pytest.raises(TlzooError, match=r"line 2: the de text is None"):
        read_parallel(str(path), "en", "de")


def test_tables_by_language_names_or_position(tmp_path: Path) -> None:
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("de\ten\nHallo\tHello\n")
    assert read_parallel(str(tsv), "en", "de")["source"] == ["Hello"]
    csv = tmp_path / "pairs.csv"
    csv.write_text('english,german\n"Hello, world",Hallo Welt\n')
    data = read_parallel(str(csv), "en", "de")
    assert data["source"] == ["Hello, world"] and data["target"] == ["Hallo Welt"]


def test_table_without_pairs_lists_its_columns(tmp_path: Path) -> None:
    path = tmp_path / "pairs.csv"
    path.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(TlzooError, match=r"no translation pairs found.*'a', 'b', 'c'"):
        read_parallel(str(path), "en", "de")


def test_prediction_inputs() -> None:
    task = TranslationTask({"source_lang": "en", "target_lang": "ro"})
    assert task.input_text("plain") == "plain"
    assert task.input_text({"translation": {"en": "nested", "ro": "x"}}) == "nested"
    assert task.input_text({"en": "flat"}) == "flat"
    with pytest.raises(TlzooError, match="en, source, text"):
        task.input_text({"de": "falsch"})


@pytest.mark.realdata
@pytest.mark.skipif(not (SHARED / "multi30k").is_dir(), reason="needs ../shared/datasets/multi30k")
def test_multi30k() -> None:
    train = read_parallel(str(SHARED / "multi30k" / "train.en.gz"), "en", "de")
    test = read_parallel(str(SHARED / "multi30k" / "test_2016_flickr.de.gz"), "en", "de")
    assert len(train) == 29000 and len(test) == 1000
    assert train["target"][0].startswith("Zwei junge weiße Männer")


@pytest.mark.realdata
@pytest.mark.skipif(not (SHARED / "hf_transformers_test_samples").is_dir(), reason="needs the HF test samples")
def test_wmt_en_ro_sample() -> None:
    data = read_parallel(str(SHARED / "hf_transformers_test_samples" / "wmt_en_ro" / "train.json"), "en", "ro")
    assert len(data) > 0 and all(data["source"]) and all(data["target"])
