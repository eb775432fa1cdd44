"""A synthetic word-level program of the seed tasks' shape, at any vocabulary size.

A lexicon of features (category, gender) over `n_words` words; heads that find
the previous token and the nearest determiner/noun to the left; a sequence map
combining two categorical features; a membership test and a selector width.
Shared by tests/test_scale.py (small) and bench/bench_scale.py (hundreds of words).
"""

from __future__ import annotations

import json
import random

CATEGORIES = ["det", "noun", "verb", "adj", "other"]
GENDERS = ["m", "f", "n"]


def word_program(n_words: int, seed: int = 0) -> tuple[str, list[str]]:
    """(RASP source, vocabulary): the lexicon is random but fixed by `seed`."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(n_words)]
    category = {w: CATEGORIES[i % len(CATEGORIES)] for i, w in enumerate(words)}
    gender = {w: rng.choice(GENDERS) for w in words}
    stop = sorted(rng.sample(words, max(1, n_words // 10)))
    source = f"""
cat = lookup({json.dumps(category)}, tokens, "other");
gen = lookup({json.dumps(gender)}, tokens, "n");
is_stop = tokens in {json.dumps(stop)};
prev_cat = take_from(cat, indices - 1, "none");
prev_noun_gen = prev_where(cat == "noun", gen, "none");
prev_det = prev_where(cat == "det", tokens, "none");
nouns_so_far = count_upto(cat == "noun");
agree = "ok" if gen == prev_noun_gen else (cat + "/" + prev_cat);
out = (agree + "!") if is_stop else (agree if nouns_so_far < 3 else prev_det);
"""
    return source, words
