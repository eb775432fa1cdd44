"""The standard library (rasplib) and the paper's programs, on hand-checked inputs."""

from __future__ import annotations

import pytest

import rasp
from rasp.ir.analysis import analyse

T, F = True, False


def run(source: str, raw, output: str | None = None):
    return rasp.evaluate(source, raw, output)


@pytest.fixture(scope="module")
def lib():
    return rasp.from_source("")


# --- rasplib -------------------------------------------------------------------------------


def test_full_s_selects_everything():
    assert run("w = selector_width(full_s);", "abc") == [3, 3, 3]


def test_has_focus():
    assert run("x = has_focus(select(indices, indices, <));", "abc") == [F, T, T]
    assert run('x = has_focus(select(tokens, "z", ==));', "ab") == [F, F]


@pytest.mark.parametrize(
    "src,raw,expected",
    [
        ('x = count(tokens, "a");', "banana", [3] * 6),
        ('x = count(tokens, "n");', "banana", [2] * 6),
        ('x = count(tokens, "z");', "banana", [0] * 6),
        ("x = count(tokens_int, 7);", [7, 1, 7, 7], [3] * 4),
    ],
)
def test_count(src, raw, expected):
    assert run(src, raw) == expected


def test_contains():
    assert run('x = contains(tokens, "n");', "banana") == [T] * 6
    assert run('x = contains(tokens, "z");', "banana") == [F] * 6


def test_max_and_min():
    assert run("x = max(tokens_int, indices);", [5, 0, 1]) == [5, 1, 2]
    assert run("x = min(tokens_int, indices);", [5, 0, 1]) == [0, 0, 1]
    assert rasp.from_source("r = max(3, 7); s = min(3, 7);")["r"] == 7
    assert rasp.from_source("r = max(3, 7); s = min(3, 7);")["s"] == 3


def test_average():
    assert run("x = average(tokens_int);", [1, 2, 3, 6]) == [3, 3, 3, 3]
    assert run("x = average(tokens_int);", [1, 2]) == [1.5, 1.5]


def test_load_from_location():
    assert run("x = load_from_location(tokens, 2);", "abcd") == ["c"] * 4
    assert run("x = load_from_location(tokens, length - 1);", "abcd") == ["d"] * 4
    # position q reads position tokens[q]
    assert run("x = load_from_location(tokens_int, tokens_int);", [2, 0, 1]) == [1, 2, 0]


def test_shift():
    assert run('x = shift(tokens, 1, "_");', "abcd") == ["_", "a", "b", "c"]
    assert run('x = shift(tokens, 2, "-");', "abcd") == ["-", "-", "a", "b"]
    assert run("x = shift(tokens_int, -1, 0);", [1, 2, 3, 4]) == [2, 3, 4, 0]


def test_mark_first_and_last_instance():
    assert run('x = mark_first_instance(tokens, "a");', "banana") == [F, T, F, F, F, F]
    assert run('x = mark_last_instance(tokens, "a");', "banana") == [F, F, F, F, F, T]
    assert run('x = mark_first_instance(tokens, "z");', "ab") == [F, F]


def test_select_from_first_and_last():
    assert run('x = aggregate(select_from_first(tokens, "a"), indices);', "banana") == [1] * 6
    assert run('x = aggregate(select_from_last(tokens, "a"), indices);', "banana") == [5] * 6
    assert run('x = aggregate(select_from_first(tokens, "n"), indices);', "banana") == [2] * 6


@pytest.mark.parametrize(
    "src,raw,expected",
    [
        ("x = sort(tokens, tokens);", "hello", list("ehllo")),
        ("x = sort(tokens_int, tokens_int);", [3, 1, 2], [1, 2, 3]),
        ("x = sort(tokens, -indices);", "abc", ["c", "b", "a"]),
        # stable: keys [0, 1, 0, 1, 0]
        ("x = sort(tokens, indices % 2);", "abcde", ["a", "c", "e", "b", "d"]),
        ("x = sort(tokens, tokens);", ["pear", "apple", "fig"], ["apple", "fig", "pear"]),
    ],
)
def test_sort(src, raw, expected):
    assert run(src, raw) == expected


def test_select_next_identical():
    src = "x = aggregate(select_next_identical(tokens), indices, -1);"
    assert run(src, "abab") == [2, 3, -1, -1]
    assert run(src, "aaa") == [1, 2, -1]


# --- paper programs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,raw,expected",
    [
        ("reverse", "hello", list("olleh")),
        ("reverse", ["a", "bc"], ["bc", "a"]),
        ("reverse", "x", ["x"]),
        ("hist", "hello", [1, 1, 2, 2, 1]),
        ("hist", "aaab", [3, 3, 3, 1]),
        ("hist_nobos", "hello", [1, 1, 2, 2, 1]),
        ("hist2", "aaabbccdef", [1, 1, 1, 2, 2, 2, 2, 3, 3, 3]),
        ("hist2", "hello", [3, 3, 1, 1, 3]),
        ("sort_tokens", "hello", list("ehllo")),
        ("sort_tokens", "cba", list("abc")),
        ("sort_by_most_freq_nobos", "hello", ["l", "h", "e", "o", "§"]),
        ("sort_by_most_freq_nobos", "abbccc", ["c", "b", "a", "§", "§", "§"]),
        ("dyck1", "(())", list("PPPT")),
        ("dyck1", "())(", list("PTFF")),
        ("dyck1", ")(", list("FF")),
        ("dyck1", "a(b)", list("TPPT")),
        ("dyck1_ptf", "()()", list("PTPT")),
        ("dyck2", "({})", list("PPPT")),
        ("dyck2", "({)}", list("PPFF")),
        ("dyck2", "()(]", list("PTPP")),   # ']' is not a dyck2 bracket
        ("dyck2_ptf", "{}", list("PT")),
        ("dyck3_ptf", "()(]", list("PTPF")),
        ("dyck3_ptf", "([]{})", list("PPPPPT")),
        ("dyck3_ptf", "([)]", list("PPFF")),
    ],
)
def test_paper_programs(lib, name, raw, expected):
    assert lib(raw, name) == expected


def test_hist_bos_treats_position_zero_as_bos(lib):
    assert lib("#aab", "hist_bos") == pytest.approx([0, 2, 2, 1])
    assert lib("#xyx", "hist_bos") == pytest.approx([0, 2, 1, 2])


def test_make_functions_on_other_sops():
    assert run("x = make_reverse(tokens_int);", [1, 2, 3]) == [3, 2, 1]
    assert run("x = make_hist(indices % 2);", "abcde") == [3, 2, 3, 2, 3]
    assert run("x = make_hist2(tokens_int);", [5, 5, 6, 7]) == [1, 1, 2, 2]
    assert run('x = make_sort_by_most_freq(tokens, "-", 50);', "hello") == ["l", "h", "e", "o", "-"]
    assert run("x = make_dyck1(tokens);", ["(", "x", ")"]) == ["P", "P", "T"]


def test_dyckk_ptf_with_custom_pairs():
    assert run('x = dyckk_ptf(["<>"]);', "<<>>") == list("PPPT")
    assert run('x = dyckk_ptf(["<>"]);', "><") == list("FF")
    assert run('x = dyckk_ptf(["<>", "ab"]);', "<a>b") == list("PPFF")
    assert run('x = dyckk_ptf(["<>", "ab"]);', "<ab>") == list("PPPT")


# --- layers and heads (RASP paper Table 1) -------------------------------------------------


@pytest.mark.parametrize(
    "name,layers,heads",
    [
        ("reverse", 2, 1),
        ("hist", 1, 1),
        ("sort_tokens", 2, 1),
        ("sort_by_most_freq_nobos", 3, 2),
        ("dyck1", 2, 1),
    ],
)
def test_layer_and_head_counts(lib, name, layers, heads):
    report = analyse(lib[name])
    assert (report.layers, report.heads) == (layers, heads)


def test_program_layers_method_matches_analyse(lib):
    report = lib.layers("reverse")
    assert report.layers == 2
    assert sum(report.heads_per_layer.values()) == 2
