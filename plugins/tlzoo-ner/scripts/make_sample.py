"""Write the plugin's synthetic sample data (templated sentences; no real corpus is copied).

    python plugins/tlzoo-ner/scripts/make_sample.py

Rewrites ``src/tlzoo_ner/sample_data/sample_{train,validation}.conll``: two columns (word, IOB2
tag), ``-DOCSTART-`` between documents of 20 sentences, a blank line between sentences. The
output is the same on every run (fixed seed), so the committed files can be checked against it.
"""

from __future__ import annotations

import random
from pathlib import Path

PEOPLE = ["John Smith", "Maria Garcia", "Wei Chen", "Amina Diallo", "Peter Novak", "Sofia Rossi",
          "Ahmed Khan", "Laura Jensen", "Carlos Mendes", "Yuki Tanaka", "Olga Petrova", "David Brown",
          "Anna Kowalski", "James Wilson", "Fatima Haddad", "Lucas Martin", "Emma Schulz", "Ravi Patel",
          "Grace Okafor", "Tom Evans", "Merkel", "Johnson", "Dupont", "Ivanov", "Kim"]
ORGS = ["Reuters", "Airbus", "Siemens", "Toyota", "the United Nations", "the World Bank", "Nestle", "Fiat",
        "Bank of England", "Real Madrid", "Ajax", "Volvo", "Philips", "the European Commission", "NATO",
        "Deutsche Bank", "Sony", "Unilever", "Boeing", "Interpol"]
PLACES = ["Paris", "London", "Berlin", "Tokyo", "New York", "Madrid", "Nairobi", "Sydney", "Toronto",
          "Lagos", "South Africa", "Brazil", "Japan", "Kenya", "Italy", "Germany", "Rio de Janeiro", "Hong Kong",
          "Oslo", "Cairo", "the Netherlands", "Poland"]
NATIONALITIES = ["German", "French", "British", "Japanese", "Brazilian", "Dutch", "Italian", "Kenyan",
                 "Polish", "Canadian", "Egyptian", "Norwegian"]
EVENTS = ["World Cup", "Olympic Games", "Tour de France", "Nobel Prize", "Champions League", "Davis Cup"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
YEARS = ["1994", "1998", "2003", "2011", "2016", "2021"]

SLOTS = {"PER": ("PER", PEOPLE), "PER2": ("PER", PEOPLE), "ORG": ("ORG", ORGS), "ORG2": ("ORG", ORGS),
         "LOC": ("LOC", PLACES), "LOC2": ("LOC", PLACES), "NAT": ("MISC", NATIONALITIES),
         "EVENT": ("MISC", EVENTS), "DAY": (None, DAYS), "YEAR": (None, YEARS)}
TEMPLATES = [
    "{PER} lives in {LOC} .",
    "{PER} works for {ORG} in {LOC} .",
    "{ORG} said on {DAY} that profits rose in {LOC} .",
    "{PER} , a {NAT} engineer , joined {ORG} in {YEAR} .",
    "Shares in {ORG} fell 3 percent in {LOC} trading on {DAY} .",
    "{PER} met {PER2} at the {ORG} office in {LOC} .",
    "{LOC} and {LOC2} signed a trade deal on {DAY} .",
    "{ORG} chief executive {PER} told reporters the {NAT} market was weak .",
    "Police in {LOC} said {PER} was arrested on {DAY} .",
    "{PER} won the {EVENT} in {LOC} in {YEAR} .",
    "The {NAT} government asked {ORG} to stay in {LOC} .",
    "{PER} scored twice as {ORG} beat {ORG2} 3-1 .",
    "It was the first visit to {LOC} by a {NAT} leader since {YEAR} .",
    "{ORG} will open a new plant near {LOC} in {YEAR} .",
    "Fans in {LOC} watched the {EVENT} final on television .",
    "{PER} said the {NAT} team would travel to {LOC} for the {EVENT} .",
    "\" We are very happy , \" {PER} told {ORG} .",
    "The {EVENT} will be held in {LOC} in {YEAR} .",
    "{PER} of {LOC} finished second behind {PER2} .",
    "Talks between {ORG} and {ORG2} ended on {DAY} without a deal .",
    "The market was quiet on {DAY} .",
    "Prices rose 2 percent in the first quarter , the report said .",
]


def sentence(rng: random.Random) -> list[tuple[str, str]]:
    words: list[tuple[str, str]] = []
    for part in rng.choice(TEMPLATES).split():
        if part.startswith("{") and part.endswith("}"):
            kind, values = SLOTS[part[1:-1]]
            for i, word in enumerate(rng.choice(values).split()):
                if kind is None or (i == 0 and word == "the"):
                    words.append((word, "O"))
                else:
                    inside = i > 0 and words[-1][1] != "O"
                    words.append((word, f"{'I' if inside else 'B'}-{kind}"))
        else:
            words.append((part, "O"))
    return words


def write(path: Path, count: int, rng: random.Random) -> None:
    lines: list[str] = []
    for index in range(count):
        if index % 20 == 0:
            lines += ["-DOCSTART- O", ""]
        lines += [f"{word} {tag}" for word, tag in sentence(rng)] + [""]
    path.write_text("\n".join(lines))


def main() -> None:
    folder = Path(__file__).resolve().parents[1] / "src" / "tlzoo_ner" / "sample_data"
    rng = random.Random(2003)
    write(folder / "sample_train.conll", 400, rng)
    write(folder / "sample_validation.conll", 100, rng)


if __name__ == "__main__":
    main()
