"""Writes the synthetic sample dataset in src/tlzoo_relation/sample_data (run from the plugin folder).

Training sentences in the SemEval-2010 Task 8 format, validation sentences as JSONL with character spans,
so the sample exercises both inputs. Templates put the relation in the wording, so a tiny model learns it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from tlzoo_relation.marked import parse_marked

WHOLES = ["car", "house", "computer", "bicycle", "piano", "clock", "ship", "camera"]
PARTS = ["engine", "roof", "keyboard", "wheel", "key", "hand", "mast", "lens"]
CAUSES = ["storm", "fire", "virus", "earthquake", "drought", "explosion"]
EFFECTS = ["flooding", "smoke", "fever", "damage", "famine", "noise"]
CONTAINERS = ["box", "jar", "bottle", "basket", "drawer", "bag"]
CONTENTS = ["apples", "coins", "letters", "cookies", "tools", "marbles"]
OTHERS = ["man", "table", "city", "river", "dog", "book", "garden", "teacher"]

TEMPLATES = [
    ("The <e1>{part}</e1> of the <e2>{whole}</e2> was replaced last week.", "Component-Whole(e1,e2)"),
    ("Every <e1>{whole}</e1> has a <e2>{part}</e2> that needs care.", "Component-Whole(e2,e1)"),
    ("The <e1>{cause}</e1> caused heavy <e2>{effect}</e2> in the valley.", "Cause-Effect(e1,e2)"),
    ("The <e1>{effect}</e1> was caused by the <e2>{cause}</e2> last night.", "Cause-Effect(e2,e1)"),
    ("The <e1>{content}</e1> were kept in a <e2>{container}</e2> on the shelf.", "Content-Container(e1,e2)"),
    ("The <e1>{other}</e1> walked past the <e2>{other2}</e2> without a word.", "Other"),
]


def sentences(rng: random.Random, count: int) -> list[tuple[str, str]]:
    rows = []
    for _ in range(count):
        template, label = rng.choice(TEMPLATES)
        index = rng.randrange(len(WHOLES))
        words = {"part": PARTS[index], "whole": WHOLES[index], "cause": rng.choice(CAUSES),
                 "effect": rng.choice(EFFECTS), "content": rng.choice(CONTENTS),
                 "container": rng.choice(CONTAINERS), "other": rng.choice(OTHERS), "other2": rng.choice(OTHERS)}
        rows.append((template.format(**words), label))
    return rows


def main() -> None:
    folder = Path("src/tlzoo_relation/sample_data")
    rng = random.Random(13)
    with (folder / "sample_train.txt").open("w", newline="") as handle:
        for number, (text, label) in enumerate(sentences(rng, 160), 1):
            handle.write(f'{number}\t"{text}"\r\n{label}\r\nComment:\r\n\r\n')
    with (folder / "sample_validation.jsonl").open("w") as handle:
        for text, label in sentences(rng, 48):
            example = parse_marked(text)
            handle.write(json.dumps({"text": example.text, "head": [example.head.start, example.head.end],
                                     "tail": [example.tail.start, example.tail.end], "label": label}) + "\n")


if __name__ == "__main__":
    main()
