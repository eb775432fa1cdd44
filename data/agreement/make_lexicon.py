"""Build the lexicon of programs/agreement.rasp from real lexical resources (never from BLiMP).

    .venv/bin/pip install lemminflect inflect wordfreq gender-guesser   # or: pip install '.[lexicon]'
    .venv/bin/python data/agreement/make_lexicon.py

Sources:
- lemminflect (its inflection table, from the Automatically Generated Inflection Database and
  the SPECIALIST lexicon): English nouns with their plurals, verbs with their forms, adjectives;
- inflect: irregular plurals lemminflect lists only as lemmas ("people" is the plural of
  "person") and invariant nouns ("fish", "sheep");
- wordfreq: keeps the words of English in common use (a lemma stays when one of its forms has a
  Zipf frequency of at least MIN_ZIPF), so the lexicon stays a few tens of thousands of words;
- gender-guesser (its name dictionary, nam_dict.txt by Joerg Michael, GNU FDL 1.2): first
  names with their gender.

Writes data/agreement/lexicon.tsv (word, noun number, verb forms, adjective, name gender; one
word a line) and programs/agreement_lexicon/COLUMN.rasp, the same table as RASP dicts (one file a column)
that programs/agreement.rasp loads. Codes:
- noun: `s` singular, `p` plural, `b` both (an invariant noun: sheep, series);
- verb: the letters of the forms the word is: `n` base/non-third-person present, `3` third
  person singular present, `d` past or past participle, `g` -ing form;
- adjective: `a`;
- name: `m` or `f`.
"""

from __future__ import annotations

import csv
import gzip
import sys
from pathlib import Path

MIN_ZIPF = 2.5  # about once in three million words
NAME_MIN_ZIPF = 1.5  # names: about once in thirty million words
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def read_lemminflect() -> tuple[dict[str, list[str]], dict[str, list[list[str]]], set[str]]:
    """lemminflect's table: nouns (lemma -> plurals), verbs (lemma -> [VBD, VBN, VBG, VBZ]
    lists), adjectives (lemmas)."""
    import lemminflect

    table = Path(lemminflect.__file__).parent / "resources" / "infl_lu.csv.gz"
    nouns: dict[str, list[str]] = {}
    verbs: dict[str, list[list[str]]] = {}
    adjectives: set[str] = set()
    with gzip.open(table, "rt", encoding="utf-8") as f:
        for row in csv.reader(f):
            lemma, pos, forms = row[0], row[1], row[2:]
            if not lemma.isalpha() or not lemma.islower():
                continue  # proper nouns and abbreviations: names come from the name list
            if pos == "noun":
                nouns[lemma] = [p for p in forms[0].split("/") if p] if forms else []
            elif pos == "verb":
                verbs[lemma] = [field.split("/") if field else [] for field in (forms + [""] * 4)[:4]]
            elif pos == "adj":
                adjectives.add(lemma)
    return nouns, verbs, adjectives


def inflect_irregulars() -> dict[str, list[str]]:
    """inflect's irregular nouns (ox -> oxen) and its classical plurals (cactus -> cacti,
    octopus -> octopodes, radius -> radii): singular -> plurals."""
    import inflect

    out: dict[str, list[str]] = {}
    for singular, plurals in inflect.pl_sb_irregular.items():
        out[singular] = plurals.split("|")
    classical = inflect.engine()
    classical.classical(all=True)
    for name in dir(inflect):
        if name.startswith("pl_sb_C_") and name.endswith("_list"):
            for singular in getattr(inflect, name):
                if singular.isalpha() and singular.islower():
                    out.setdefault(singular, []).append(classical.plural_noun(singular))
    return out


def regular_plural(lemma: str, plural: str) -> bool:
    return plural in (lemma + "s", lemma + "es", lemma[:-1] + "ies")


def common(words: list[str]) -> bool:
    from wordfreq import zipf_frequency

    return any(zipf_frequency(w, "en") >= MIN_ZIPF for w in words)


def noun_numbers(nouns: dict[str, list[str]]) -> dict[str, str]:
    import inflect

    engine = inflect.engine()
    plural_of: dict[str, str] = {}
    for lemma, plurals in nouns.items():
        for p in plurals:
            if p != lemma:
                plural_of.setdefault(p, lemma)
    for lemma in nouns:  # inflect's singular, when it is a real noun ("people" -> "person")
        singular = engine.singular_noun(lemma)
        if singular and singular != lemma and singular in nouns:
            plural_of.setdefault(lemma, singular)
    number: dict[str, str] = {}
    for lemma, plurals in nouns.items():
        # inflect knows the invariant nouns (sheep, series); lemminflect's "plural" equal to the
        # lemma marks a mass noun ("pork"), which agrees as a singular.
        invariant = engine.plural_noun(lemma) == lemma
        number[lemma] = "b" if invariant else "s"
    for word in plural_of:
        number[word] = "p"  # an irregular plural that is also a lemma ("people") is plural
    return number


def verb_forms(verbs: dict[str, list[list[str]]]) -> dict[str, str]:
    forms: dict[str, set[str]] = {}
    for lemma, (past, participle, ing, third) in verbs.items():
        forms.setdefault(lemma, set()).add("n")
        for code, words in (("d", past + (participle or past)), ("g", ing), ("3", third)):
            for w in words:
                forms.setdefault(w, set()).add(code)
    return {w: "".join(sorted(codes)) for w, codes in forms.items()}


def names() -> dict[str, str]:
    """First names and their gender. gender-guesser's own reading of its per-country columns
    is off by a column on some lines, so this takes its overall judgement (over all countries)
    and keeps the names English text uses (Zipf frequency at least NAME_MIN_ZIPF)."""
    import gender_guesser.detector as gd
    from wordfreq import zipf_frequency

    detector = gd.Detector(case_sensitive=False)
    genders = {"male": "m", "mostly_male": "m", "female": "f", "mostly_female": "f"}
    out: dict[str, str] = {}
    for name in detector.names:
        gender = genders.get(detector.get_gender(name))
        if gender and name.isalpha() and zipf_frequency(name, "en") >= NAME_MIN_ZIPF:
            out[name] = gender
    return out


def build() -> dict[str, dict[str, str]]:
    nouns, verbs, adjectives = read_lemminflect()
    for singular, plurals in inflect_irregulars().items():
        nouns[singular] = list(dict.fromkeys(nouns.get(singular, []) + plurals))
    # Irregular nouns stay whatever their frequency: no rule can guess them.
    nouns = {lemma: plurals for lemma, plurals in nouns.items()
             if common([lemma] + plurals) or not all(regular_plural(lemma, p) for p in plurals)}
    verbs = {lemma: forms for lemma, forms in verbs.items() if common([lemma] + [w for f in forms for w in f])}
    adjectives = {a for a in adjectives if common([a])}
    columns = {"noun": noun_numbers(nouns), "verb": verb_forms(verbs), "adj": {a: "a" for a in adjectives},
               "name": names()}
    words = sorted({w for table in columns.values() for w in table})
    return {w: {k: table[w] for k, table in columns.items() if w in table} for w in words}


def write(lexicon: dict[str, dict[str, str]]) -> None:
    header = "word\tnoun\tverb\tadj\tname\n"
    rows = ["\t".join([w] + [e.get(k, "") for k in ("noun", "verb", "adj", "name")]) for w, e in lexicon.items()]
    (HERE / "lexicon.tsv").write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    folder = ROOT / "programs" / "agreement_lexicon"  # one file a column: load reads at most 1 MB a file
    folder.mkdir(exist_ok=True)
    for column in ("noun", "verb", "adj", "name"):
        entries = [f'"{w}": "{e[column]}"' for w, e in lexicon.items() if column in e]
        lines = ["# Generated by data/agreement/make_lexicon.py from lemminflect, inflect, wordfreq and",
                 "# gender-guesser (see that script); do not edit by hand. Codes as in its docstring.",
                 f"lexicon_{column} = {{" + ", ".join(entries) + "};"]
        (folder / f"{column}.rasp").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    lexicon = build()
    write(lexicon)
    counts = {k: sum(k in e for e in lexicon.values()) for k in ("noun", "verb", "adj", "name")}
    print(f"{len(lexicon)} words: {counts}", file=sys.stderr)
