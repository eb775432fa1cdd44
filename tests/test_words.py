"""stdlib/words.rasp: lexicon lookup and heads that find words by feature, checked against
plain Python on random sentences, and compiled exactly."""

import random

import pytest

import rasp

LEXICON = {"the": "det", "a": "det", "cat": "n", "dog": "n", "big": "adj", "sees": "v"}
WORDS = [*LEXICON, "and"]
SOURCE = """
pos = lookup({"the": "det", "a": "det", "cat": "n", "dog": "n", "big": "adj", "sees": "v"}, tokens, "other");
prev_noun = prev_where(pos == "n", tokens, "_");
next_noun = next_where(pos == "n", tokens, "_");
next_word = take_from(tokens, indices + 1, "_");
"""


def expected(words, name):
    pos = [LEXICON.get(w, "other") for w in words]
    nouns = [i for i, p in enumerate(pos) if p == "n"]
    if name == "pos":
        return pos
    if name == "prev_noun":
        return [words[max([j for j in nouns if j < i], default=-1)] if any(j < i for j in nouns) else "_"
                for i in range(len(words))]
    if name == "next_noun":
        return [words[min(j for j in nouns if j > i)] if any(j > i for j in nouns) else "_"
                for i in range(len(words))]
    return [*words[1:], "_"]


def check_against_python(source, words, expect, name):
    """`name` of `source` on 300 random sentences over `words` equals `expect(sentence, name)`."""
    prog = rasp.from_source(source)
    rng = random.Random(name)
    sentences = [[rng.choice(words) for _ in range(rng.randint(1, 9))] for _ in range(300)]
    assert prog.batch(sentences, name) == [expect(s, name) for s in sentences]


def check_compiles_exactly(source, words, names):
    pytest.importorskip("torch")
    from rasp.compiler.verify import default_inputs, verify

    prog = rasp.from_source(source)
    for name in names:
        model = rasp.compile(prog, vocab=words, max_len=5, output=name)
        report = verify(model, default_inputs(words, 5, 3000, 300))
        assert report.ok and report.checked > 1000


@pytest.mark.parametrize("name", ["pos", "prev_noun", "next_noun", "next_word"])
def test_word_helpers_match_python(name):
    check_against_python(SOURCE, WORDS, expected, name)


def test_word_helpers_compile_exactly():
    check_compiles_exactly(SOURCE, WORDS, ("prev_noun", "next_noun"))


FEATURES = {"the": {"cat": "det"}, "cat": {"cat": "n", "g": "m"}, "dog": {"cat": "n", "g": "m"},
            "mouse": {"cat": "n", "g": "f"}, "big": {"cat": "adj"}, "sees": {"cat": "v"}}
FEATURE_WORDS = [*FEATURES, "and"]
FEATURE_SOURCE = """
FEATURES = {"the": {"cat": "det"}, "cat": {"cat": "n", "g": "m"}, "dog": {"cat": "n", "g": "m"},
            "mouse": {"cat": "n", "g": "f"}, "big": {"cat": "adj"}, "sees": {"cat": "v"}};
gender = feature(FEATURES, "g", tokens, "-");
cat = feature(FEATURES, "cat", tokens, "other");
subject = first_where(cat == "n", tokens, "_");
second_noun = nth_where(cat == "n", 2, tokens, "_");
next_noun = nth_where(cat == "n", count_upto(cat == "n") - indicator(cat == "n") + 1, tokens, "_");
noun_before_last = nth_prev_where(cat == "n", 2, tokens, "_");
"""


def expected_feature(words, name):
    nouns = [i for i, w in enumerate(words) if FEATURES.get(w, {}).get("cat") == "n"]
    n = len(words)
    if name == "gender":
        return [FEATURES.get(w, {}).get("g", "-") for w in words]
    if name == "subject":
        return [words[nouns[0]] if nouns else "_"] * n
    if name == "second_noun":
        return [words[nouns[1]] if len(nouns) > 1 else "_"] * n
    if name == "next_noun":
        return [next((words[j] for j in nouns if j >= i), "_") for i in range(n)]
    left = [[j for j in nouns if j < i] for i in range(n)]
    return [words[lj[-2]] if len(lj) > 1 else "_" for lj in left]


@pytest.mark.parametrize("name", ["gender", "subject", "second_noun", "next_noun", "noun_before_last"])
def test_feature_helpers_match_python(name):
    check_against_python(FEATURE_SOURCE, FEATURE_WORDS, expected_feature, name)


def test_feature_helpers_compile_exactly():
    check_compiles_exactly(FEATURE_SOURCE, FEATURE_WORDS, ("next_noun", "noun_before_last"))
