"""Reading the real CoNLL-2003 files when ../shared/datasets is present (skipped otherwise)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tlzoo_ner.reader import read_tagged
from tlzoo_ner.schemes import detect_scheme

CONLL = Path(__file__).resolve().parents[3].parent / "shared" / "datasets" / "conll2003"

pytestmark = [pytest.mark.realdata,
              pytest.mark.skipif(not CONLL.is_dir(), reason=f"{CONLL} is not present")]


@pytest.mark.parametrize(("split", "sentences", "words"), [
    ("train.txt", 14041, 203621), ("dev.txt", 3250, 51362), ("test.txt", 3453, 46435)])
def test_conll2003_counts_and_scheme(split: str, sentences: int, words: int) -> None:
    data = read_tagged(str(CONLL / split))
    assert len(data.tokens) == sentences
    assert sum(len(t) for t in data.tokens) == words
    assert detect_scheme(data.tags, data.where) == "IOB2"
    assert {t for tags in data.tags for t in tags} == {
        "O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"}


HF_SAMPLE = CONLL.parent / "hf_transformers_test_samples" / "conll" / "sample.json"


@pytest.mark.skipif(not HF_SAMPLE.is_file(), reason=f"{HF_SAMPLE} is not present")
def test_hf_run_ner_fixture_json_lines() -> None:
    data = read_tagged(str(HF_SAMPLE))
    assert len(data.tokens) == 10 and data.tokens[1] == ["CHICAGO", "AT", "ATLANTA"]
    assert data.tags[1] == ["B-ORG", "O", "B-LOC"]
