"""stdlib/clauses.rasp: clause numbers, doubled words, the last flagged value, words within k
to the left, and the scope of a trigger word; checked against plain Python on random
sentences, and compiled exactly."""

import random

import pytest

import rasp

WORDS = ["not", "good", "bad", "but", "the", "film", "good"]
SOURCE = """
trigger = tokens == "not";
target = tokens in ["good", "bad"];
clause = clause_of(tokens == "but");
doubled = repeats_prev(tokens);
last_target = last_where(target, tokens, "_");
near_not = within_left(trigger, 2, clause);
negated = reached_by(trigger, target, 3, clause);
"""


def expected(words, name):
    n = len(words)
    target = [w in ("good", "bad") for w in words]
    clause = [sum(w == "but" for w in words[: i + 1]) for i in range(n)]
    if name == "clause":
        return clause
    if name == "doubled":
        return [i > 0 and words[i] == words[i - 1] for i in range(n)]
    if name == "last_target":
        hits = [w for w, t in zip(words, target) if t]
        return [hits[-1] if hits else "_"] * n
    if name == "near_not":
        return [any(words[j] == "not" and clause[j] == clause[i] for j in range(max(0, i - 2), i)) for i in range(n)]
    # negated: the first target after a "not", at most 3 words on, in the same clause
    out = [False] * n
    for j, w in enumerate(words):
        if w != "not":
            continue
        nxt = next((i for i in range(j + 1, n) if target[i]), None)
        if nxt is not None and nxt - j <= 3 and clause[nxt] == clause[j]:
            out[nxt] = True
    return out


NAMES = ["clause", "doubled", "last_target", "near_not", "negated"]


@pytest.mark.parametrize("name", NAMES)
def test_clause_helpers_match_python(name):
    prog = rasp.from_source(SOURCE)
    rng = random.Random(name)
    sentences = [[rng.choice(WORDS) for _ in range(rng.randint(1, 10))] for _ in range(400)]
    assert prog.batch(sentences, name) == [expected(s, name) for s in sentences]


def test_negation_scope_examples():
    prog = rasp.from_source(SOURCE)
    said = "not the film good but good".split()
    assert prog(said, "negated") == [False, False, False, True, False, False]
    # too far: four words on
    assert prog("not the film the good".split(), "negated") == [False] * 5
    # the next target only, and not across "but"
    assert prog("not bad good".split(), "negated") == [False, True, False]
    assert prog("not but good".split(), "negated") == [False, False, False]


@pytest.mark.parametrize("name", NAMES)
def test_clause_helpers_compile(name):
    pytest.importorskip("torch")
    from rasp.compiler.verify import exhaustive_inputs, verify

    prog = rasp.from_source(SOURCE)
    vocab = ["not", "good", "but", "the"]
    model = rasp.compile(prog, vocab=vocab, max_len=5, output=name)
    report = verify(model, list(exhaustive_inputs(vocab, 5)))
    assert report.ok, report.mismatches[:3]
