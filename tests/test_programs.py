"""Every example in programs/ runs on sample inputs and gives the hand-checked output."""

from __future__ import annotations

from pathlib import Path

import pytest

import rasp

PROGRAMS = Path(__file__).resolve().parent.parent / "programs"
T, F = True, False

# file -> (output name, [(input, expected output), ...])
CASES = {
    "reverse": ("reverse", [("hello", list("olleh")), (["to", "be", "or"], ["or", "be", "to"])]),
    "hist": ("hist", [("hello", [1, 1, 2, 2, 1]), ("abab", [2, 2, 2, 2])]),
    "hist2": ("hist2", [("aaabbccdef", [1, 1, 1, 2, 2, 2, 2, 3, 3, 3]), ("hello", [3, 3, 1, 1, 3])]),
    "sort": ("sorted_tokens", [("hello", list("ehllo")), ("dcba", list("abcd"))]),
    "sort_by_most_freq": ("by_freq", [("hello", list("lheo-")), ("abbccc", list("cba---"))]),
    "dyck1": ("dyck1", [("(())", list("PPPT")), ("())(", list("PTFF")), ("(()", list("PPP"))]),
    "dyck2": ("dyck2", [("({})", list("PPPT")), ("({)}", list("PPFF")), ("()(]", list("PTPP")),
                        ("}{", list("FF")), ("{()}()", list("PPPTPT"))]),
    "dyck3": ("dyck3", [("([]{})", list("PPPPPT")), ("([)]", list("PPFF")), ("()(]", list("PTPF")),
                        ("[(])", list("PPFF"))]),
    "shift": ("shifted", [("abcd", ["_", "a", "b", "c"]), ("z", ["_"])]),
    "prev_token": ("prev", [("abcd", ["_", "a", "b", "c"]), ("zz", ["_", "z"])]),
    "count_a": ("count_a", [("banana", [3] * 6), ("xyz", [0] * 3)]),
    "most_frequent": ("most_frequent", [("hello", ["l"] * 5), ("abcab", ["a"] * 5), ("xyzzy", ["y"] * 5)]),
    "paren_depth": ("depth", [("(()())", [1, 2, 1, 2, 1, 0]), ("())", [1, 0, -1])]),
    "prefix_sum": ("prefix_sum", [([3, 1, 4, 1, 5], [3, 4, 8, 9, 14]), ("2718", [2, 9, 10, 18])]),
    "argmax": ("argmax", [([3, 1, 4, 1, 5, 9, 2, 6], [5] * 8), ([2, 7, 7], [1] * 3), ([4], [0])]),
    "palindrome": ("is_palindrome", [("racecar", [T] * 7), ("abca", [F] * 4), ("abba", [T] * 4)]),
    "sentiment": ("sentiment", [
        (["the", "film", "was", "not", "good"], ["neg"] * 5),
        (["i", "love", "this", "great", "fun", "film"], ["pos"] * 6),
        (["not", "bad", "at", "all"], ["pos"] * 4),
        (["boring", "but", "happy"], ["pos"] * 3),  # the clause after "but" decides
        (["happy", "but", "long"], ["pos"] * 3),  # ... when it holds a sentiment word
        (["slightly", "good", "and", "very", "dull"], ["neg"] * 5),
    ]),
    "grammaticality": ("grammaticality", [
        (["the", "cats", "sleep"], ["good"] * 3),
        (["the", "cats", "sleeps"], ["bad"] * 3),
        (["she", "does", "not", "see", "him"], ["good"] * 5),
        (["she", "does", "not", "see", "he"], ["bad"] * 5),
    ]),
    # VADER (tokens of the vader tokenizer): "good" has valence 1.9, compound x / sqrt(x^2 + 15)
    "vader": ("compound", [
        (["we", "drove", "home", "<!0>", "<?0>"], [0.0] * 5),
        (["good", "<!0>", "<?0>"], [1.9 / (1.9 * 1.9 + 15) ** 0.5] * 3),
        (["not", "good", "<!0>", "<?0>"], [1.9 * -0.74 / ((1.9 * -0.74) ** 2 + 15) ** 0.5] * 4),
    ]),
    # BLiMP-style agreement (tokens of the blimp tokenizer): one label for the whole sentence
    "agreement": ("agreement_label", [
        (["these", "mice", "are", "sleeping", "."], ["good"] * 5),
        (["these", "mouse", "are", "sleeping", "."], ["bad"] * 5),
        (["mary", "hurt", "himself", "."], ["bad"] * 4),
        (["mary", "hurt", "herself", "."], ["good"] * 4),
    ]),
    "translate": ("french", [
        (["the", "cat", "sees", "a", "dog"], ["le", "chat", "voit", "un", "chien"]),
        (["the", "dog", "of", "the", "teacher", "sleeps"], ["le", "chien", "du", "_", "professeur", "dort"]),
        (["the", "robot", "eats"], ["le", "robot", "mange"]),  # unknown words pass through
        (["she", "does", "not", "see", "him"], ["elle", "ne", "le", "voit", "pas"]),
    ]),
}


def test_every_program_has_cases():
    files = sorted(p.stem for p in PROGRAMS.glob("*.rasp"))
    assert len(files) >= 15
    assert files == sorted(CASES)


@pytest.mark.parametrize("stem", sorted(CASES))
def test_program_output(stem):
    prog = rasp.load(PROGRAMS / f"{stem}.rasp")
    name, cases = CASES[stem]
    assert prog.output_name == name
    for raw, expected in cases:
        assert prog(raw) == expected, (stem, raw)


def test_program_secondary_outputs():
    prog = rasp.load(PROGRAMS / "argmax.rasp")
    assert prog([3, 1, 4, 1, 5, 9, 2, 6], "max_value") == [9] * 8
    prog = rasp.load(PROGRAMS / "prefix_sum.rasp")
    assert prog([3, 1, 4, 1, 5], "prefix_mean") == pytest.approx([3, 2, 8 / 3, 2.25, 2.8])
    prog = rasp.load(PROGRAMS / "sentiment.rasp")
    words = ["i", "hate", "not", "fun", "but", "very", "good"]
    assert prog(words, "score") == [0, -2, 0, -2, 0, 0, 4]
    prog = rasp.load(PROGRAMS / "hist2.rasp")
    assert prog("hello", "hist") == [1, 1, 2, 2, 1]


@pytest.mark.parametrize(
    "stem,layers,heads",
    [("reverse", 2, 1), ("hist", 1, 1), ("sort", 2, 1), ("sort_by_most_freq", 3, 2), ("dyck1", 2, 1),
     ("shift", 1, 1), ("count_a", 1, 1), ("translate", 6, 7)],
)
def test_program_layers(stem, layers, heads):
    report = rasp.load(PROGRAMS / f"{stem}.rasp").layers()
    assert (report.layers, report.heads) == (layers, heads)


def test_programs_batch_like_single():
    prog = rasp.load(PROGRAMS / "dyck3.rasp")
    inputs = ["([]{})", "([)]", "()(]", "((", "]", "{[()]}"]
    assert prog.batch(inputs * 50) == [prog(s) for s in inputs] * 50
