"""Reading CoNLL column files and JSON/JSONL token/tag records, with errors that name the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tlzoo_ner.reader import ConllReader, read_tagged
from tlzoo_ner.task import NerTask

from tlzoo.api import TlzooError

CONLL = """-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER
-DOCSTART- -X- -X- O
BRUSSELS NNP B-NP B-LOC


1996-08-22 CD I-NP O
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_column_file_sentences_docstart_and_lines(tmp_path: Path) -> None:
    data = read_tagged(write(tmp_path, "train.txt", CONLL))
    assert data.tokens == [["EU", "rejects", "German", "call"], ["Peter", "Blackburn"], ["BRUSSELS"],
                           ["1996-08-22"]]
    assert data.tags == [["B-ORG", "O", "B-MISC", "O"], ["B-PER", "I-PER"], ["B-LOC"], ["O"]]
    assert data.lines == [3, 8, 11, 14]
    dataset = data.to_dataset()
    assert dataset.column_names == list(ConllReader.columns)
    assert dataset["example_id"] == [0, 1, 2, 3]


def test_tag_and_token_columns_are_configurable(tmp_path: Path) -> None:
    path = write(tmp_path, "train.conll", CONLL)
    chunks = read_tagged(path, tag_column="2")
    assert chunks.tags[0] == ["B-NP", "B-VP", "B-NP", "I-NP"]
    pos = read_tagged(path, tag_column=1, token_column=-1)
    assert pos.tokens[0] == ["B-ORG", "O", "B-MISC", "O"] and pos.tags[0] == ["NNP", "VBZ", "JJ", "NN"]
    with pytest.raises(TlzooError, match="--tag-column 7 is out of range; its lines have 4 columns"):
        read_tagged(path, tag_column=7)


def test_tab_separated_tokens_may_hold_spaces(tmp_path: Path) -> None:
    data = read_tagged(write(tmp_path, "train.tsv", "New York\tB-LOC\nis\tO\n"))
    assert data.tokens == [["New York", "is"]]


def test_wrong_column_count_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.txt", "EU B-ORG\nrejects O\n\nGerman JJ B-MISC\n")
    with pytest.raises(TlzooError, match=r"bad\.txt, line 4: 3 columns, expected 2"):
        read_tagged(path)


def test_single_column_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TlzooError, match=r"one\.txt, line 1: one column"):
        read_tagged(write(tmp_path, "one.txt", "EU\nrejects\n"))


def test_unknown_tag_scheme_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(TlzooError, match=r"odd\.txt, line 3: tag 'X-PER' does not fit a known tag scheme"):
        read_tagged(write(tmp_path, "odd.txt", "EU B-ORG\nsaid O\nPeter X-PER\n"))
    with pytest.raises(TlzooError, match=r"mixed\.txt, line 2: tag 'PER' has no B-/I- style prefix.*line 1"):
        read_tagged(write(tmp_path, "mixed.txt", "EU B-ORG\nPeter PER\n"))
    with pytest.raises(TlzooError, match=r"both\.txt, line 4: .*mixes IOBES"):
        read_tagged(write(tmp_path, "both.txt", "EU S-ORG\nsaid O\n\nPeter U-PER\n"))


def test_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("Zürich B-LOC\n".encode("latin-1"))
    with pytest.raises(TlzooError, match="not UTF-8"):
        read_tagged(str(path))


def test_jsonl_hf_conll2003_layout_with_integer_tags(tmp_path: Path) -> None:
    rows = [{"id": "0", "tokens": ["EU", "rejects", "German", "call"], "pos_tags": [22, 42, 16, 21],
             "ner_tags": [3, 0, 7, 0]},
            {"id": "1", "tokens": ["Peter", "Blackburn"], "pos_tags": [22, 22], "ner_tags": [1, 2]}]
    path = write(tmp_path, "train.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.raises(TlzooError, match=r"train\.jsonl, line 1: tag 3 is a number; pass --label-names"):
        read_tagged(path)
    names = "O,B-PER,I-PER,B-ORG,I-ORG,B-LOC,I-LOC,B-MISC,I-MISC"
    data = read_tagged(path, label_names=names)
    assert data.tags == [["B-ORG", "O", "B-MISC", "O"], ["B-PER", "I-PER"]]
    pos = read_tagged(path, tag_column="pos_tags", label_names=[str(i) for i in range(50)])
    assert pos.tags[1] == ["22", "22"]


def test_jsonl_words_and_string_tags_and_line_numbers(tmp_path: Path) -> None:
    text = ('{"words": ["EU", "rejects"], "ner": ["B-ORG", "O"]}\n\n'
            '{"words": ["Peter", "Blackburn"], "ner": ["B-PER"]}\n')
    with pytest.raises(TlzooError, match=r"t\.jsonl, line 3: 2 tokens but 1 tags"):
        read_tagged(write(tmp_path, "t.jsonl", text))
    good = read_tagged(write(tmp_path, "g.jsonl", text.replace('["B-PER"]', '["B-PER", "I-PER"]')))
    assert good.tokens == [["EU", "rejects"], ["Peter", "Blackburn"]]
    assert [good.where(i).rsplit(", ", 1)[1] for i in range(2)] == ["line 1", "line 3"]


def test_json_array_records(tmp_path: Path) -> None:
    path = write(tmp_path, "t.json", json.dumps([{"tokens": ["EU"], "tags": ["B-ORG"]},
                                                 {"tokens": ["x"], "tags": [None]}]))
    with pytest.raises(TlzooError, match=r"t\.json, record 2: tag None"):
        read_tagged(path)


def test_check_rejects_tags_unseen_in_training(tmp_path: Path) -> None:
    task = NerTask()
    train = task.load_split(write(tmp_path, "train.txt", CONLL), "train")
    state = task.setup(train)
    assert state == {"labels": ["O", "B-LOC", "B-MISC", "B-ORG", "B-PER", "I-PER"], "scheme": "IOB2"}
    path = write(tmp_path, "dev.txt", "EU B-ORG\n\nParis B-LOC\nHilton I-LOC\n")
    with pytest.raises(TlzooError, match=r"dev\.txt, line 4: tag 'I-LOC' was not in the training data"):
        task.check(task.load_split(path, "validation"), state, path)
