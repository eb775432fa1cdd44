"""Conformance with the reference interpreter (tech-srl/RASP at HEAD) on new reference-style
programs (issue 18, items 10 to 14).

Each case is a program written in the reference's own style (selects, aggregates,
selector_width, element-wise operators, ternaries, comprehensions, functions, dicts,
lists, loops, the stdlib and the paper's programs), an input, the s-op to evaluate and
the reference's answer. The answers were worked out from the reference's evaluator
(RASP_support/Evaluator.py, FunctionalSupport.py, Support.py, Sugar.py, its rasplib.rasp
and paper_examples.rasp), by running those semantics on each program: types are part of
the answer (1, 1.0 and True differ), and ERROR means the reference rejects the program or
fails on that input. The few programs where rasp answers differently on purpose are at the
end, each with what the reference does; the README's differences table lists them.
"""

from __future__ import annotations

import pytest

import rasp
from rasp.errors import RaspError

ERROR = "error"


def typed(values):
    """Values with their types (floats to 9 places), so 1, 1.0 and True are different answers."""
    return [(type(v).__name__, round(v, 9) if isinstance(v, float) else v) for v in values]


CASES = [
    ('prev = aggregate(select(indices, indices-1, ==), tokens, "_");', 'abcd', 'prev', ['_', 'a', 'b', 'c']),
    ('nxt = aggregate(select(indices, indices+1, ==), tokens);', 'abcd', 'nxt', ERROR),
    ('nxt = aggregate(select(indices, indices+1, ==), tokens);', 'a', 'nxt', [0]),
    ('x = aggregate(select(indices, indices+1, ==), indices);', 'abcd', 'x', [1, 2, 3, 0]),
    ('x = aggregate(select(indices, indices, <=), indices);', 'abcd', 'x', [0, 0.5, 1.0, 1.5]),
    ('x = aggregate(select(indices, indices, <), indices);', 'abcd', 'x', [0, 0, 0.5, 1.0]),
    ('x = aggregate(select(indices, indices, >), indices, -1);', 'abcd', 'x', [2.0, 2.5, 3, -1]),
    ('x = aggregate(select(indices, indices, >=), indices);', 'abcde', 'x', [2.0, 2.5, 3.0, 3.5, 4]),
    ('x = aggregate(select(indices, indices, !=), indices);', 'abc', 'x', [1.5, 1.0, 0.5]),
    ('x = aggregate(select(tokens, tokens, ==), indices);', 'abab', 'x', [1.0, 2.0, 1.0, 2.0]),
    ('x = aggregate(select(tokens, "a", ==), indices);', 'banana', 'x', [3.0, 3.0, 3.0, 3.0, 3.0, 3.0]),
    ('x = aggregate(select("a", tokens, ==), indices);', 'banana', 'x', [0, 2.5, 0, 2.5, 0, 2.5]),
    ('x = aggregate(select(tokens, tokens, <), indices, 0.5);', 'cab', 'x', [1.5, 0.5, 1]),
    ('x = aggregate(select(indices, 0, ==), tokens);', 'xyz', 'x', ['x', 'x', 'x']),
    ('x = aggregate(select(indices, length-1, ==), tokens);', 'xyz', 'x', ['z', 'z', 'z']),
    ('x = aggregate(select(indices, 10, ==), tokens);', 'ab', 'x', [0, 0]),
    ('x = aggregate(select(indices, 10, ==), tokens, "none");', 'ab', 'x', ['none', 'none']),
    ('x = aggregate(select(indices, 10, ==), indices, "none");', 'abc', 'x', ['none', 'none', 'none']),
    ('x = aggregate(select(indices, indices+1, ==), indices, "none");', 'abc', 'x', ERROR),
    ('x = aggregate(select(indices, indices, ==), indices, "none");', 'abc', 'x', [0, 1, 2]),
    ('x = aggregate(select(indices, indices-1, ==), tokens);', 'abc', 'x', ERROR),
    ('x = aggregate(select(indices, indices-1, ==), tokens == "a");', 'aba', 'x', [0, True, False]),
    ('x = aggregate(select(indices, indices, ==), tokens == "a");', 'aba', 'x', [True, False, True]),
    ('x = aggregate(select(indices, indices, <=), tokens == "a");', 'aba', 'x', ERROR),
    ('x = aggregate(select(indices, indices, <=), indicator(tokens == "a"));', 'aba', 'x', [1, 0.5, 0.666666667]),
    ('x = aggregate(select(indices, indices, <=), tokens);', 'aba', 'x', ERROR),
    ('x = aggregate(select(indices, indices, ==), 5);', 'abc', 'x', [5, 5, 5]),
    ('x = aggregate(select(indices, indices, <=), 2.5);', 'abc', 'x', [2.5, 2.5, 2.5]),
    ('x = aggregate(select(indices, 0, ==), indices, 7.5) + 1;', 'ab', 'x', [1, 1]),
    ('x = aggregate(select(indices, indices-1, ==), indices, 2.5);', 'abc', 'x', [2.5, 0, 1]),
    ('x = aggregate(select(indices, indices-1, ==), indices + 0.5);', 'abc', 'x', [0, 0.5, 1.5]),
    ('x = aggregate(select(indices, indices, <=), tokens_int);', [3, 1, 2], 'x', [3, 2.0, 2.0]),
    ('x = aggregate(select(tokens_int, tokens_int, <), tokens_int);', [3, 1, 2, 1], 'x', [1.333333333, 0, 1.0, 0]),
    ('s = select(indices, indices, <) and select(tokens, tokens, ==); x = aggregate(s, indices, -1);', 'abab', 'x', [-1, -1, 0, 1]),
    ('s = select(indices, indices, <) or select(indices, 0, ==); x = aggregate(s, indices);', 'abcd', 'x', [0, 0, 0.5, 1.0]),
    ('s = not select(indices, indices, ==); x = aggregate(s, indices);', 'abcd', 'x', [2.0, 1.666666667, 1.333333333, 1.0]),
    ('s = not select(indices, indices, ==); x = aggregate(s, indices);', 'a', 'x', [0]),
    ('s = select(indices, indices, <=) and not select(tokens, "b", ==); x = selector_width(s);', 'abba', 'x', [1, 1, 1, 2]),
    ('x = selector_width(select(tokens, tokens, ==));', 'hello', 'x', [1, 1, 2, 2, 1]),
    ('x = selector_width(select(indices, indices, <));', 'hello', 'x', [0, 1, 2, 3, 4]),
    ('x = selector_width(select(indices, 100, ==));', 'abc', 'x', [0, 0, 0]),
    ('x = selector_width(select(1, 1, ==));', 'abcd', 'x', [4, 4, 4, 4]),
    ('x = selector_width(select(tokens, "l", ==) or select(indices, 0, ==));', 'hello', 'x', [3, 3, 3, 3, 3]),
    ('x = selector_width(select(indices, indices, <=)) * 2;', 'abc', 'x', [2, 4, 6]),
    ('x = tokens + "!";', 'ab', 'x', ['a!', 'b!']),
    ('x = "<" + tokens + ">";', 'ab', 'x', ['<a>', '<b>']),
    ('x = tokens + tokens;', 'ab', 'x', ['aa', 'bb']),
    ('x = tokens * 3;', 'ab', 'x', ['aaa', 'bbb']),
    ('x = indices * indices - 1;', 'abcd', 'x', [-1, 0, 3, 8]),
    ('x = indices / 2;', 'abcd', 'x', [0.0, 0.5, 1.0, 1.5]),
    ('x = (indices + 1) / (indices + 1);', 'abc', 'x', [1.0, 1.0, 1.0]),
    ('x = indices % 3;', 'abcdefg', 'x', [0, 1, 2, 0, 1, 2, 0]),
    ('x = 2 ^ indices;', 'abcde', 'x', [1, 2, 4, 8, 16]),
    ('x = indices ^ 2;', 'abcde', 'x', [0, 1, 4, 9, 16]),
    ('x = -indices;', 'abc', 'x', [0, -1, -2]),
    ('x = - indices + 3;', 'abc', 'x', [3, 2, 1]),
    ('x = round(indices / 2);', 'abcdef', 'x', [0, 0, 1, 2, 2, 2]),
    ('x = round(indices * 0.3);', 'abcdef', 'x', [0, 0, 1, 1, 1, 2]),
    ('x = indicator(indices > 1);', 'abcd', 'x', [0, 0, 1, 1]),
    ('x = indicator(tokens == "a") + indicator(tokens == "b");', 'abc', 'x', [1, 1, 0]),
    ('x = indices > 1;', 'abcd', 'x', [False, False, True, True]),
    ('x = indices <= length - 2;', 'abcd', 'x', [True, True, True, False]),
    ('x = tokens == "a" or tokens == "b";', 'abc', 'x', [True, True, False]),
    ('x = tokens == "a" and indices > 0;', 'aab', 'x', [False, True, False]),
    ('x = not (tokens == "a");', 'aab', 'x', [False, False, True]),
    ('x = not indices;', 'abc', 'x', [True, False, False]),
    ('x = indices and 1;', 'abc', 'x', [False, True, True]),
    ('x = (indices > 0) + 1;', 'abc', 'x', [1, 2, 2]),
    ('x = (indices > 0) * 2.5;', 'abc', 'x', [0.0, 2.5, 2.5]),
    ('x = 1 if tokens == "a" else 0;', 'aba', 'x', [1, 0, 1]),
    ('x = "yes" if indices < 2 else "no";', 'abcd', 'x', ['yes', 'yes', 'no', 'no']),
    ('x = tokens if indices == 0 else "-";', 'abc', 'x', ['a', '-', '-']),
    ('x = indices if indices > 1 else 0.5;', 'abcd', 'x', [0.5, 0.5, 2, 3]),
    ('x = (1 if indices == 0 else 2) if indices < 2 else 3;', 'abcd', 'x', [1, 2, 3, 3]),
    ('x = 1 if indices == 0 else (2 if indices == 1 else 3);', 'abcd', 'x', [1, 2, 3, 3]),
    ('x = length - indices;', 'abc', 'x', [3, 2, 1]),
    ('x = length * 1.0 / 2;', 'abc', 'x', [1.5, 1.5, 1.5]),
    ('x = tokens_int * 2;', [1, 2, 3], 'x', [2, 4, 6]),
    ('x = tokens_int + tokens_int;', [4, 5], 'x', [8, 10]),
    ('x = tokens_float / 2;', [1, 3], 'x', [0.5, 1.5]),
    ('x = tokens_str + "x";', [1, 2], 'x', ['1x', '2x']),
    ('x = tokens_int;', [2.5, 3.9], 'x', [2, 3]),
    ('x = tokens_int;', ['7', '8'], 'x', [7, 8]),
    ('x = tokens_float;', ['1.5', '2'], 'x', [1.5, 2.0]),
    ('x = tokens_bool;', ['false', '', 'x'], 'x', [True, False, True]),
    ('x = tokens_bool;', [0, 1, 2], 'x', [False, True, True]),
    ('x = tokens_asis;', [True, 1, 0], 'x', [True, 1, 0]),
    ('x = tokens_asis + 1;', [True, 1, 0], 'x', [2, 2, 1]),
    ('x = tokens_asis;', [1, 2.5], 'x', [1, 2.5]),
    ('x = tokens_str;', [True, False], 'x', ['True', 'False']),
    ('x = tokens_asis == 1;', [1, 2, 1], 'x', [True, False, True]),
    ('x = tokens in ["a", "e", "i"];', 'hello', 'x', [False, True, False, False, False]),
    ('x = indices in [0, 2];', 'abcd', 'x', [True, False, True, False]),
    ('x = "l" in tokens;', 'hello', 'x', [True, True, True, True, True]),
    ('x = "z" in tokens;', 'hello', 'x', [False, False, False, False, False]),
    ('x = tokens[0];', 'xyz', 'x', ['x', 'x', 'x']),
    ('x = tokens[1];', 'xyz', 'x', ['y', 'y', 'y']),
    ('x = tokens[-1];', 'xyz', 'x', ['z', 'z', 'z']),
    ('x = tokens[-4];', 'ab', 'x', [0, 0]),
    ('x = tokens[5];', 'ab', 'x', [0, 0]),
    ('x = indices[-2];', 'abcd', 'x', [2, 2, 2, 2]),
    ('x = "hello"[indices];', 'abc', 'x', ['h', 'e', 'l']),
    ('x = "qwertyuiop"[indices * 3];', 'abc', 'x', ['q', 'r', 'u']),
    ('x = [5, 8, 2, 9][indices];', 'abc', 'x', [5, 8, 2]),
    ('d = {"a": 1, "b": 2}; x = d[tokens];', 'abba', 'x', [1, 2, 2, 1]),
    ('d = {0: "zero", 1: "one"}; x = d[indices];', 'ab', 'x', ['zero', 'one']),
    ('l = [10, 20, 30]; x = indices + l[1];', 'ab', 'x', [20, 21]),
    ('l = [10, 20, 30]; x = indices + l[-1];', 'ab', 'x', [30, 31]),
    ('vals = [i * 2 for i in range(4)]; x = indices + vals[3];', 'ab', 'x', [6, 7]),
    ('vals = [i for i in range(1, 10, 3)]; x = indices + len(vals);', 'ab', 'x', [3, 4]),
    ('pairs = zip([1, 2], ["a", "b"]); x = tokens + pairs[1][1];', 'xy', 'x', ['xb', 'yb']),
    ('d = {k: v for k, v in zip(["a", "b"], [1, 2])}; x = d[tokens];', 'ba', 'x', [2, 1]),
    ('total = 0; for i in range(5) { total = total + i; } x = indices + total;', 'ab', 'x', [10, 11]),
    ('acc = indices; for i in [1, 2, 3] { acc = acc + i; } x = acc;', 'ab', 'x', [6, 7]),
    ('x = indices; for k in {"a": 1, "b": 2} { x = x + 1; }', 'abc', 'x', [2, 3, 4]),
    ('words = ["ab", "cd"]; x = tokens + words[0] + words[1];', 'z', 'x', ['zabcd']),
    ('x = indices + (3 if 2 > 1 else 4);', 'ab', 'x', [3, 4]),
    ('x = indices + len([1, 2, 3]);', 'ab', 'x', [3, 4]),
    ('x = indices + ([1, 2] + [3])[2];', 'ab', 'x', [3, 4]),
    ('l = [1, 2] + [3]; x = indices + l[2];', 'ab', 'x', [3, 4]),
    ('a, b = 1, 2; x = indices * a + b;', 'abc', 'x', [2, 3, 4]),
    ('x = indices + (1 in [1, 2]);', 'ab', 'x', [1, 2]),
    ('def inc(s) { return s + 1; } x = inc(inc(indices));', 'abc', 'x', [2, 3, 4]),
    ('def two(s) { return s, s * 2; } a, b = two(indices); x = b;', 'abc', 'x', [0, 2, 4]),
    ('def f(s, k) { t = s + k; return t * 2; } x = f(indices, 1);', 'abc', 'x', [2, 4, 6]),
    ('def outer(s) { def inner(t) { return t * 10; } return inner(s) + 1; } x = outer(indices);', 'abc', 'x', [1, 11, 21]),
    ('k = 5; def addk(s) { return s + k; } x = addk(indices);', 'abc', 'x', [5, 6, 7]),
    ('def pick(flag) { return "a" if flag else "b"; } x = tokens + pick(True);', 'xy', 'x', ['xa', 'ya']),
    ('def shifted(s, n) { return aggregate(select(indices, indices - n, ==), s, "."); } x = shifted(tokens, 2);', 'abcde', 'x', ['.', '.', 'a', 'b', 'c']),
    ('def rev(s) { return aggregate(select(indices, length - indices - 1, ==), s); } x = rev(rev(tokens));', 'abc', 'x', ['a', 'b', 'c']),
    ('def width_of(s) { return selector_width(s); } x = width_of(select(tokens, tokens, ==));', 'aab', 'x', [2, 2, 1]),
    ('x = count(tokens, "l");', 'hello', 'x', [2, 2, 2, 2, 2]),
    ('x = contains(tokens, "e");', 'hello', 'x', [True, True, True, True, True]),
    ('x = contains(tokens, "q");', 'hello', 'x', [False, False, False, False, False]),
    ('x = max(indices, 2);', 'hello', 'x', [2, 2, 2, 3, 4]),
    ('x = min(indices, 2);', 'hello', 'x', [0, 1, 2, 2, 2]),
    ('x = load_from_location(tokens, 1);', 'hello', 'x', ['e', 'e', 'e', 'e', 'e']),
    ('x = shift(tokens, 1, "_");', 'hello', 'x', ['_', 'h', 'e', 'l', 'l']),
    ('x = shift(indices, 2, 0);', 'hello', 'x', [0, 0, 0, 1, 2]),
    ('x = mark_last_instance(tokens, "l");', 'hello', 'x', [False, False, False, True, False]),
    ('x = has_focus(select(tokens, "l", ==));', 'hello', 'x', [True, True, True, True, True]),
    ('x = has_focus(select(tokens, indices, ==));', 'hello', 'x', [False, False, False, False, False]),
    ('x = sort(tokens, tokens);', 'hello', 'x', ['e', 'h', 'l', 'l', 'o']),
    ('x = sort(tokens, -indices);', 'hello', 'x', ['o', 'l', 'l', 'e', 'h']),
    ('x = sort(indices, tokens);', 'dcab', 'x', [2, 3, 1, 0]),
    ('x = aggregate(select_next_identical(tokens), indices, -1);', 'abab', 'x', [2, 3, -1, -1]),
    ('x = aggregate(select_from_last(tokens, "a"), indices);', 'abab', 'x', [2, 2, 2, 2]),
    ('x = hist_bos;', '§abbccc', 'x', [0, 1, 2, 2, 3, 3, 3]),
    ('x = hist_bos;', 'hello', 'x', [0, 1, 2, 2, 1]),
    ('x = hist_nobos;', 'hello', 'x', [1, 1, 2, 2, 1]),
    ('x = reverse;', 'hello', 'x', ['o', 'l', 'l', 'e', 'h']),
    ('x = sort_bos;', '§cab', 'x', ['§', 'a', 'b', 'c']),
    ('x = hist2_bos;', '§abbcc', 'x', [0, 1, 2, 2, 2, 2]),
    ('x = sort_by_most_freq;', '§abbccc', 'x', ['§', 'c', 'b', 'a', '§', '§', '§']),
    ('x = dyck1_ptf;', '(()(', 'x', ['P', 'P', 'P', 'P']),
    ('x = dyck1_ptf;', '())(', 'x', ['P', 'T', 'F', 'F']),
    ('x = dyck2_ptf;', '({})', 'x', ['P', 'P', 'P', 'T']),
    ('x = dyck2_ptf;', '({)}', 'x', ['P', 'P', 'F', 'F']),
    ('x = dyck3_ptf;', '([]{})', 'x', ['P', 'P', 'P', 'P', 'P', 'T']),
    ('x = dyckk_ptf(["ab"]);', 'aabb', 'x', ['P', 'P', 'P', 'T']),
    ('x = selector_width(select(tokens, tokens, ==)) + hist_nobos;', 'abca', 'x', [4, 2, 2, 4]),
    ('tokens = tokens_int; x = tokens + 1;', [1, 2], 'x', [2, 3]),
    ('tokens = tokens_int; x = sort(tokens, tokens);', [3, 1, 2], 'x', [1, 2, 3]),
    ('x = indices; x = x + 1; x = x * 2;', 'abc', 'x', [2, 4, 6]),
    ('y = indices + 1; x = aggregate(select(y, y, ==), tokens);', 'abc', 'x', ['a', 'b', 'c']),
    ('x = aggregate(select(indices, indices, ==), tokens) + aggregate(select(indices, 0, ==), tokens);', 'abc', 'x', ['aa', 'ba', 'ca']),
    ('x = (tokens == "a") == (indices == 0);', 'aba', 'x', [True, True, False]),
    ('x = indices == 1.0;', 'abc', 'x', [False, True, False]),
    ('x = tokens < "b";', 'abc', 'x', [True, False, False]),
    ('x = 10 - indices * 2 ^ 2;', 'abc', 'x', [10, 6, 2]),
    ('x = -2 ^ 2 + indices;', 'ab', 'x', [4, 5]),
    ('x = 7 % 3 + indices;', 'ab', 'x', [1, 2]),
    ('x = indices + 7 / 2;', 'ab', 'x', [3.5, 4.5]),
    ('x = round(2.5) + indices;', 'ab', 'x', [2, 3]),
    ('x = round(indices + 0.5);', 'abcd', 'x', [0, 2, 2, 4]),
    ('x = aggregate(select(indices, indices, <=), indices) * 2;', 'abcd', 'x', [0, 1.0, 2.0, 3.0]),
    ('frac = aggregate(select(indices, indices, <=), indicator(tokens == "(")); x = round(frac * (indices + 1));', '(()', 'x', [1, 2, 2]),
    ('x = indices + 1 if indices > 0 else indices - 1;', 'abc', 'x', [-1, 2, 3]),
    ('x = tokens_float + 0.5;', [1, 2], 'x', [1.5, 2.5]),
    ('x = tokens_bool and True;', [True, False], 'x', [True, False]),
    ('x = indicator(tokens_bool);', [True, False, True], 'x', [1, 0, 1]),
    ('x = aggregate(select(indices, indices, <=), tokens_bool);', [True, False, True], 'x', ERROR),
    ('x = aggregate(select(indices, indices, ==), tokens_bool);', [True, False, True], 'x', [True, False, True]),
    ('x = indices + 2 ^ 3 ^ 2;', 'a', 'x', [64]),
    ('x = indices * 0 + 10 - 2 - 3;', 'a', 'x', [5]),
    ('x = indices * 0 + 100 / 10 / 2;', 'a', 'x', [5.0]),
    ('x = indices * 0 + 2 * 3 % 4;', 'a', 'x', [2]),
    ('x = indices * 0 + 7 % 4 * 2;', 'a', 'x', [7]),
    ('x = not indices == 0;', 'abc', 'x', [False, True, True]),
    ('x = - indices ^ 2;', 'abc', 'x', [0, 1, 4]),
    ('x = indices < 2 == True;', 'abcd', 'x', [True, True, False, False]),
    ('x = indices > 0 and indices < 3 or indices == 0;', 'abcde', 'x', [True, True, True, False, False]),
    ('x = tokens == "a" or tokens == "b" and indices > 5;', 'abc', 'x', [False, False, False]),
    ('x = indices in [1, 2] == True;', 'abc', 'x', ERROR),
    ('x = indices + (not 0);', 'ab', 'x', [1, 2]),
    ('x = indices + (True and 5);', 'ab', 'x', [5, 6]),
    ('x = indices + (0 or 7);', 'ab', 'x', [7, 8]),
    ('x = True and indices;', 'ab', 'x', [False, True]),
    ('x = indices or 0;', 'ab', 'x', [False, True]),
    ('x = indices + round(-0.5);', 'ab', 'x', [0, 1]),
    ('x = indices + round(3.5);', 'ab', 'x', [4, 5]),
    ('x = indices * 1.5;', 'abc', 'x', [0.0, 1.5, 3.0]),
    ('x = indices / 3;', 'abcd', 'x', [0.0, 0.333333333, 0.666666667, 1.0]),
    ('x = (indices - 2) % 3;', 'abcde', 'x', [1, 2, 0, 1, 2]),
    ('x = indices - 2.5;', 'abc', 'x', [-2.5, -1.5, -0.5]),
    ('x = tokens + 1;', 'ab', 'x', ERROR),
    ('x = tokens < 3;', 'ab', 'x', ERROR),
    ('x = 1 / indices;', 'ab', 'x', ERROR),
    ('x = indices + "a";', 'ab', 'x', ERROR),
    ('x = indices + [1, 2] == [1, 2];', 'ab', 'x', ERROR),
    ('x = indices + ("a" + "b" == "ab");', 'ab', 'x', [1, 2]),
    ('x = indices + ("a" < "b");', 'ab', 'x', [1, 2]),
    ('x = tokens + "ab" * 2;', 'z', 'x', ['zabab']),
    ('x = indices + 3 > 2;', 'ab', 'x', [True, True]),
    ('indices + 1;', 'abc', 'out', [1, 2, 3]),
    ('y = indices; y * 3;', 'abc', 'out', [0, 3, 6]),
    ('aggregate(select(indices, 0, ==), tokens);', 'abc', 'out', ['a', 'a', 'a']),
    ('x = selector_width(select(1, indices, ==));', 'abc', 'x', [0, 3, 0]),
    ('x = selector_width(select(indices, 1, ==));', 'abc', 'x', [1, 1, 1]),
    ('x = selector_width(select(tokens, tokens, >));', 'abca', 'x', [2, 1, 0, 2]),
    ('x = selector_width(select(tokens, tokens, <=));', 'abca', 'x', [2, 3, 4, 2]),
    ('x = selector_width(select(indices, 1.0, ==));', 'abc', 'x', [1, 1, 1]),
    ('x = selector_width(select(tokens, 1, ==));', 'abc', 'x', [0, 0, 0]),
    ('x = selector_width(select(tokens, indices, <));', 'abc', 'x', ERROR),
    ('x = selector_width(select(indices, indices, ==) or not select(indices, indices, ==));', 'abc', 'x', [3, 3, 3]),
    ('x = selector_width(not (select(indices, indices, <) or select(indices, indices, >)));', 'abc', 'x', [1, 1, 1]),
    ('x = aggregate(not select(1, 1, ==), indices, 9);', 'abc', 'x', [9, 9, 9]),
    ('x = aggregate(select(indices, indices, ==) and select(tokens, "a", ==), tokens, "-");', 'abca', 'x', ['a', '-', '-', 'a']),
    ('x = aggregate(select(indices, indices, <=), 1);', 'abc', 'x', [1, 1.0, 1.0]),
    ('x = aggregate(select(indices, indices, <=), tokens_float);', [1, 2, 4], 'x', [1.0, 1.5, 2.333333333]),
    ('x = aggregate(select(indices, indices, <=), indices) + 0.25;', 'abcd', 'x', [0.25, 0.75, 1.25, 1.75]),
    ('x = aggregate(select(indices, indices, <), indices, 1.5);', 'abc', 'x', [1.5, 0, 0.5]),
    ('x = aggregate(select(indices, indices, <), indices, True);', 'abc', 'x', [True, 0, 0.5]),
    ('x = aggregate(select(indices, indices, ==), indices, True);', 'abc', 'x', [0, 1, 2]),
    ('x = aggregate(select(indices, 5, ==), indices, True);', 'abc', 'x', [True, True, True]),
    ('x = aggregate(select(indices, indices, <), tokens == "b", True);', 'abc', 'x', ERROR),
    ('x = aggregate(select(indices, indices, <), tokens, 5);', 'abc', 'x', ERROR),
    ('x = aggregate(select(indices, 9, ==), tokens, 5) + 1;', 'abc', 'x', [6, 6, 6]),
    ('x = aggregate(select(indices, 0, ==), indices) == 0;', 'abc', 'x', [True, True, True]),
    ('def fact(n) { return 1 if n == 0 else n * fact(n - 1); } x = indices + fact(4);', 'ab', 'x', [24, 25]),
    ('def f(s) { return s + k; } k = 3; x = f(indices);', 'ab', 'x', [3, 4]),
    ('def f() { return indices * 2; } x = f();', 'abc', 'x', [0, 2, 4]),
    ('def f(s) { s = s + 1; return s; } x = f(indices);', 'abc', 'x', [1, 2, 3]),
    ('def three(s) { return s, s + 1, s + 2; } a, b, c = three(indices); x = c;', 'ab', 'x', [2, 3]),
    ('a = 1; b = 2; a, b = b, a; x = indices + a * 10 + b;', 'ab', 'x', [21, 22]),
    ('def f(a, b) { return a - b; } x = f(indices, 1);', 'abc', 'x', [-1, 0, 1]),
    ('def f(a, b) { return a - b; } x = f(indices);', 'abc', 'x', ERROR),
    ('def g(s) { t = aggregate(select(indices, 0, ==), s); return t + s; } x = g(indices + 1);', 'abc', 'x', [2, 3, 4]),
    ('def apply(f, s) { return f(s); } def dbl(s) { return s * 2; } x = apply(dbl, indices);', 'abc', 'x', [0, 2, 4]),
    ('def mk(n) { def add(s) { return s + n; } return add; } add3 = mk(3); x = add3(indices);', 'abc', 'x', [3, 4, 5]),
    ('def count_a(s) { return round(length * aggregate(select(indices, indices, ==) or select(1, 1, ==), indicator(s == "a"))); } x = count_a(tokens);', 'abca', 'x', [2, 2, 2, 2]),
    ('x = indices + len(range(2, 10, 3));', 'ab', 'x', [3, 4]),
    ('x = indices + range(10, 0, -3)[1];', 'ab', 'x', [7, 8]),
    ('x = indices + zip([1, 2], [3, 4], [5, 6])[1][2];', 'ab', 'x', [6, 7]),
    ('ys = [a * b for a, b in zip([1, 2, 3], [4, 5, 6])]; x = indices + ys[2];', 'ab', 'x', [18, 19]),
    ('d = {"x": 1, "y": 2}; ks = [k for k in d]; x = tokens + ks[1];', 'ab', 'x', ['ay', 'by']),
    ('d = {i: i * i for i in range(4)}; x = d[indices];', 'abcd', 'x', [0, 1, 4, 9]),
    ('nested = [[1, 2], [3, 4]]; x = indices + nested[1][0];', 'ab', 'x', [3, 4]),
    ('s = 0; for a, b in zip([1, 2], [10, 20]) { s = s + a * b; } x = indices + s;', 'ab', 'x', [50, 51]),
    ('l = []; for i in range(3) { l = l + [i * i]; } x = indices + l[2];', 'ab', 'x', [4, 5]),
    ('x = tokens; for c in ["a", "b"] { x = x + c; }', 'z', 'x', ['zab']),
    ('m = {"a": "A", "b": "B", "c": "C"}; x = m[tokens];', 'cab', 'x', ['C', 'A', 'B']),
    ('x = [1, 2, 3][-1] + indices;', 'ab', 'x', [3, 4]),
    ('x = indices + [1, 2, 3][3];', 'ab', 'x', ERROR),
    ('x = "a" in {"a": 1};', 'ab', 'x', ERROR),
    ('pairs = [["a", 1], ["b", 2]]; d = {p[0]: p[1] for p in pairs}; x = d[tokens];', 'ab', 'x', [1, 2]),
    ('d = {1: 10, 2: 20}; x = indices + d[1] + d[2];', 'ab', 'x', [30, 31]),
    ('x = indices + {True: 5}[True];', 'ab', 'x', [5, 6]),
    ('x = indices + [5, 6][True];', 'ab', 'x', [6, 7]),
    ('x = sort(tokens, indicator(tokens == "b"));', 'abab', 'x', ['a', 'a', 'b', 'b']),
    ('x = shift(tokens_int, 1, 0);', [5, 6, 7], 'x', [0, 5, 6]),
    ('x = max(tokens_int, tokens_int * 0 + 2);', [1, 2, 3], 'x', [2, 2, 3]),
    ('x = load_from_location(indices, length - 1);', 'abc', 'x', [2, 2, 2]),
    ('x = mark_last_instance(indices > 0, True);', 'abc', 'x', [False, False, True]),
    ('x = dyck1_ptf;', '())', 'x', ['P', 'T', 'F']),
    ('x = sort_by_most_freq;', '§aab', 'x', ['§', 'a', 'b', '§']),
    ('x = hist2_bos;', '§aab', 'x', [0, 1, 1, 1]),
    ('tokens = tokens_str + "!"; x = tokens;', 'ab', 'x', ['a!', 'b!']),
    ('x = selector_width(select(indices, indices, <=) and select(tokens, "a", ==));', 'abaa', 'x', [1, 1, 2, 3]),
    ('x = has_focus(select(indices, indices, <));', 'abc', 'x', [False, True, True]),
    ('x = count(indices, 1);', 'abc', 'x', [1, 1, 1]),
    ('x = count(tokens, "z");', 'abc', 'x', [0, 0, 0]),
    ('x = contains(indices, 2);', 'abc', 'x', [True, True, True]),
    ('x = max(tokens, "b");', 'abc', 'x', ['b', 'b', 'c']),
    ('x = min(indices, length - indices);', 'abcde', 'x', [0, 1, 2, 2, 1]),
    ('x = load_from_location(tokens, 0);', 'abc', 'x', ['a', 'a', 'a']),
    ('x = load_from_location(tokens, 7);', 'abc', 'x', [0, 0, 0]),
    ('x = shift(tokens, 2, "*");', 'abcd', 'x', ['*', '*', 'a', 'b']),
    ('x = shift(tokens, 0, "*");', 'abcd', 'x', ['a', 'b', 'c', 'd']),
    ('x = mark_last_instance(tokens, "a");', 'banana', 'x', [False, False, False, False, False, True]),
    ('x = aggregate(select_from_last(tokens, "n"), indices);', 'banana', 'x', [4, 4, 4, 4, 4, 4]),
    ('x = sort(tokens, tokens);', 'banana', 'x', ['a', 'a', 'a', 'b', 'n', 'n']),
    ('x = sort(indices, -indices);', 'abcd', 'x', [3, 2, 1, 0]),
    ('x = aggregate(select_next_identical(tokens), indices, -1);', 'banana', 'x', [-1, 3, 4, 5, -1, -1]),
    ('x = hist_nobos;', 'banana', 'x', [1, 3, 2, 3, 2, 3]),
    ('x = reverse;', 'banana', 'x', ['a', 'n', 'a', 'n', 'a', 'b']),
    ('x = hist_bos;', '§banana', 'x', [0, 1, 3, 2, 3, 2, 3]),
    ('x = sort_bos;', '§banana', 'x', ['§', 'a', 'a', 'a', 'b', 'n', 'n']),
    ('x = hist2_bos;', '§banana', 'x', [0, 1, 1, 1, 1, 1, 1]),
    ('x = sort_by_most_freq;', '§banana', 'x', ['§', 'a', 'n', 'b', '§', '§', '§']),
    ('x = dyck1_ptf;', '(())()', 'x', ['P', 'P', 'P', 'T', 'P', 'T']),
    ('x = dyck2_ptf;', '{()}[', 'x', ['P', 'P', 'P', 'T', 'T']),
    ('x = dyck3_ptf;', '([)]', 'x', ['P', 'P', 'F', 'F']),
    ('load "paper_examples"; x = reverse;', 'abc', 'x', ['c', 'b', 'a']),
    ('x = indices; # a comment', 'ab', 'x', [0, 1]),
    ('def f(s) { # comment in a body\n return s + 1; } x = f(indices);', 'ab', 'x', [1, 2]),
    ('full_s = select(indices, indices, ==); x = indices;', 'ab', 'x', [0, 1]),
    ('count = 1; x = indices;', 'ab', 'x', [0, 1]),
    ('def f(tokens) { return tokens + 1; } x = f(indices);', 'ab', 'x', [1, 2]),
    ('def f(indices) { return indices + 1; } x = f(3) + indices;', 'ab', 'x', ERROR),
    ('out = indices; x = out;', 'ab', 'x', [0, 1]),
    ('v = 1; def f() { v = 2; return v; } y = f(); x = indices + v;', 'ab', 'x', [1, 2]),
    ('v = 1; def f() { v = 2; return v; } x = indices + f();', 'ab', 'x', [2, 3]),
    ('for i in [1, 2] { j = i; } x = indices + i + j;', 'ab', 'x', [4, 5]),
    ('ys = [i for i in [1, 2]]; x = indices + i;', 'ab', 'x', ERROR),
    ('a, b = [1, 2]; x = indices + a + b;', 'ab', 'x', [3, 4]),
    ('x = indices + [c for c in "ab"][0];', 'ab', 'x', ERROR),
    ('for c in "ab" { y = c; } x = tokens + y;', 'ab', 'x', ERROR),
    ('x = indices + range(1.5)[0];', 'ab', 'x', ERROR),
    ('x = indices + zip(1, [2])[0][0];', 'ab', 'x', ERROR),
    ('d = {1: 2}; x = indices;', 'ab', 'x', [0, 1]),
    ('x = indices + [1, 2][-3];', 'ab', 'x', ERROR),
    ('def f(a, b) { return a + b; } x = f(indices, 1, 2);', 'ab', 'x', ERROR),
    ('x = indices + round(1.4);', 'ab', 'x', [1, 2]),
    ('x = round(tokens_float * 0.5);', [1, 3, 5], 'x', [0, 2, 2]),
    ('x = indices + (not "a");', 'ab', 'x', [0, 1]),
    ('x = select(indices, indices, ==) == 1;', 'ab', 'x', ERROR),
    ('x = aggregate(indices, indices);', 'ab', 'x', ERROR),
    ('x = aggregate(select(indices, indices, ==), indices, indices);', 'ab', 'x', ERROR),
    ('x = selector_width(indices);', 'ab', 'x', ERROR),
    ('x = select(indices, indices, ==) and indices;', 'ab', 'x', ERROR),
    ('s = select(indices, indices, ==); x = aggregate(s or s, indices);', 'abc', 'x', [0, 1, 2]),
    ('s = select(indices, indices, <); x = aggregate(s and not s, indices, 5);', 'abc', 'x', [5, 5, 5]),
    ('def sw(s) { return selector_width(s); } x = sw(select(indices, indices, <)) + sw(select(indices, indices, >));', 'abcd', 'x', [3, 3, 3, 3]),
    ('def rec(n, s) { return s if n == 0 else rec(n - 1, s + 1); } x = rec(5, indices);', 'ab', 'x', [5, 6]),
    ('def loop3(s) { for i in range(3) { s = s * 2; } return s; } x = loop3(indices);', 'abc', 'x', [0, 8, 16]),
    ('fs = [1, 2, 3]; total = 0; for f in fs { total = total + f * f; } x = indices * total;', 'ab', 'x', [0, 14]),
    ('x = indices + len([[1], [2, 3]][1]);', 'ab', 'x', [2, 3]),
    ('x = indices + {"a": [1, 2]}["a"][1];', 'ab', 'x', [2, 3]),
    ('x = tokens + {"a": "1", "b": "2"}[tokens];', 'ab', 'x', ['a1', 'b2']),
    ('x = [indices, indices + 1][1];', 'ab', 'x', [1, 2]),
    ('l = [indices, tokens]; x = l[0] * 2;', 'ab', 'x', [0, 2]),
    ('x = indices + 1 if True else "no";', 'ab', 'x', [1, 2]),
    ('x = "yes" if False else indices;', 'ab', 'x', [0, 1]),
    ('x = indices if "" else 5;', 'ab', 'x', ERROR),
    ('x = aggregate(select(indices, indices, ==), tokens) + "" + tokens;', 'ab', 'x', ['aa', 'bb']),
    ('x = aggregate(select(tokens, tokens, ==) and select(indices, indices, <), indices, -1);', 'abacab', 'x', [-1, -1, 0, -1, 1.0, 1]),
    ('x = aggregate(select(tokens, tokens, ==) and select(indices, indices, >), indices, -1);', 'abacab', 'x', [3.0, 5, 4, -1, -1, -1]),
    ('first_a = aggregate(select(tokens, "a", ==) and select(indices, 0, ==), indices, -1); x = first_a;', 'ab', 'x', [0, 0]),
    ('n = selector_width(select(tokens, "a", ==)); x = n == length;', 'aaa', 'x', [True, True, True]),
    ('frac = aggregate(select(1, 1, ==), indicator(tokens == "a")); x = frac;', 'aab', 'x', [0.666666667, 0.666666667, 0.666666667]),
    ('frac = aggregate(select(1, 1, ==), indicator(tokens == "a")); x = frac * length;', 'aab', 'x', [2.0, 2.0, 2.0]),
    ('x = tokens_int % 2 == 0;', [1, 2, 3, 4], 'x', [False, True, False, True]),
    ('x = tokens_int ^ 2;', [2, 3], 'x', [4, 9]),
    ('x = tokens_int / tokens_int;', [2, 3], 'x', [1.0, 1.0]),
    ('x = -tokens_int;', [2, -3], 'x', [-2, 3]),
    ('x = tokens_float * 2;', [0.5, 1.25], 'x', [1.0, 2.5]),
    ('x = aggregate(select(indices, indices, <=), tokens_float);', [0.5, 1.5, 2.5], 'x', [0.5, 1.0, 1.5]),
    ('x = sort(tokens_int, tokens_int);', [5, 3, 9, 1], 'x', [1, 3, 5, 9]),
    ('x = sort(tokens_int, -tokens_int);', [5, 3, 9, 1], 'x', [9, 5, 3, 1]),
    ('x = shift(tokens_int, 1, -1);', [5, 3, 9], 'x', [-1, 5, 3]),
    ('x = count(tokens_int, 3);', [3, 1, 3], 'x', [2, 2, 2]),
    ('x = tokens_str;', [1.0, 2.5], 'x', ['1.0', '2.5']),
    ('x = tokens_float;', [1, 2], 'x', [1.0, 2.0]),
    ('x = tokens_asis;', ['a', 'b'], 'x', ['a', 'b']),
    ('x = indices in tokens;', 'ab', 'x', ERROR),
    ('x = aggregate(select(indices, indices, ==), [1, 2]);', 'ab', 'x', ERROR),
    ('x = indices + (1 if [1] else 2);', 'ab', 'x', [1, 2]),
    ('x = indices + (1 if [] else 2);', 'ab', 'x', [2, 3]),
    ('x = indices + (1 if {} else 2);', 'ab', 'x', [2, 3]),
    ('x = select(indices, indices, ==); y = selector_width(x);', 'abc', 'y', [1, 1, 1]),
    ('x = indices * 2 if indices > 0 else -1;', 'abc', 'x', [-1, 2, 4]),
    ('x = aggregate(select(indices, indices, <=), indices * 2.0);', 'abc', 'x', [0.0, 1.0, 2.0]),
    ('x = aggregate(select(indices, indices, <=), indices + 0.5) * 2;', 'abc', 'x', [1.0, 2.0, 3.0]),
    ('x = indices - length / 2;', 'abcd', 'x', [-2.0, -1.0, 0.0, 1.0]),
    ('x = (indices + 1) % 2 == 0 and tokens == "b";', 'abab', 'x', [False, True, False, True]),
    ('m = {"(": 1, ")": -1}; d = m[tokens]; x = round((indices + 1) * aggregate(select(indices, indices, <=), d));', '(()', 'x', [1, 2, 1]),
    ('def f(s, t) { return select(s, t, ==); } x = selector_width(f(tokens, tokens));', 'aab', 'x', [2, 2, 1]),
    ('def g(sel) { return aggregate(sel, indices, -1); } x = g(select(indices, indices + 1, ==));', 'abc', 'x', [1, 2, -1]),
    ('x = aggregate(select(indices, indices, ==), tokens_asis);', [True, 2, 0], 'x', [True, 2, 0]),
    ('x = aggregate(select(indices, indices, <=), tokens_asis);', [True, 2, 0], 'x', [True, 1.5, 1.0]),
    ('x = tokens_asis * 2;', [True, 2, 0.5], 'x', [2, 4, 1.0]),
    ('x = indicator(tokens_asis);', [True, 0, 0.5], 'x', [1, 0, 1]),
    ('x = tokens_asis == True;', [True, 1, 0], 'x', [True, True, False]),

]


@pytest.mark.parametrize("source,raw,name,expected", CASES)
def test_reference_style_program(source, raw, name, expected):
    if expected == ERROR:
        with pytest.raises(RaspError):
            rasp.from_source(source)(raw, name)
    else:
        assert typed(rasp.from_source(source)(raw, name)) == typed(expected)


def test_there_are_enough_cases():
    assert len(CASES) >= 100


# --- the listed causes, one by one ---------------------------------------------------------------


def test_no_default_and_nothing_selected_anywhere_gives_zeros_even_for_strings():
    assert typed(rasp.evaluate("x = tokens[-4];", "ab")) == typed([0, 0])
    assert typed(rasp.evaluate("x = aggregate(select(indices, 9, ==), tokens);", "abc")) == typed([0, 0, 0])
    # a zero next to a string is one s-op of two types: an error, as in the reference
    with pytest.raises(RaspError, match="default"):
        rasp.evaluate("x = aggregate(select(indices, indices - 1, ==), tokens);", "ab")


def test_a_default_of_another_type_is_accepted():
    src = 'x = aggregate(select(indices, k, ==), indices, "none");'
    assert rasp.evaluate(src.replace("k", "9"), "abc") == ["none"] * 3
    assert typed(rasp.evaluate(src.replace("k", "indices"), "abc")) == typed([0, 1, 2])
    with pytest.raises(RaspError):
        rasp.evaluate(src.replace("k", "indices + 1"), "abc")


def test_a_batch_gives_each_input_the_types_a_single_run_gives_it():
    prog = rasp.from_source("x = tokens[5];")
    inputs = ["ab", "abcdefg", "a", "xyzuvwq"]
    assert [typed(r) for r in prog.batch(inputs)] == [typed(prog(raw)) for raw in inputs]
    assert prog.batch(inputs)[0] == [0, 0] and prog.batch(inputs)[1] == ["f"] * 7


def test_booleans_keep_their_type_next_to_integers():
    assert typed(rasp.evaluate("x = tokens_asis;", [True, 1, 0])) == typed([True, 1, 0])
    got = rasp.evaluate('x = aggregate(select(indices, indices - 1, ==), tokens == "a");', "aba")
    assert typed(got) == typed([0, True, False])
    assert typed(rasp.evaluate("x = tokens_asis + 0;", [True, 1])) == typed([1, 1])
    from rasp.view.display import format_sequence

    assert format_sequence([0, True, False]) == "[0, T, F] (ints)"  # the reference's Sequence type: int


def test_strings_are_indexed_by_an_s_op():
    assert rasp.evaluate('x = "hello"[indices];', "abc") == ["h", "e", "l"]
    assert rasp.evaluate('x = "qwertyuiop"[indices * 3];', "abcd") == ["q", "r", "u", "p"]
    with pytest.raises(RaspError, match="out of range"):
        rasp.evaluate('x = "hi"[indices];', "abc")


def test_hist_bos_and_dyck_follow_the_reference_current_file():
    assert typed(rasp.evaluate("x = hist_bos;", "§" + "ab" * 24)) == typed([0] + [24] * 48)
    assert rasp.evaluate("x = dyck1_ptf;", "(()))(") == ["P", "P", "P", "T", "F", "F"]


def test_tokens_conversions_are_pythons():
    assert typed(rasp.evaluate("x = tokens_int;", [2.9, -1.5, 3])) == typed([2, -1, 3])
    assert typed(rasp.evaluate("x = tokens_int;", [True, 2])) == typed([1, 2])
    assert rasp.evaluate("x = tokens_bool;", ["false", "", "0", "x"]) == [True, False, True, True]
    assert rasp.evaluate("x = tokens_bool;", [0, 2.5, 1]) == [False, True, True]
    with pytest.raises(RaspError):
        rasp.evaluate("x = tokens_int;", ["2.5"])  # int("2.5") fails in Python too


# --- deliberate differences (README, "Differences from the reference interpreter") -------------


@pytest.mark.parametrize("source,raw,ours", [
    # the reference refuses to average several values that are not numbers, even equal ones
    ("x = aggregate(select(indices, indices, <=), tokens);", "aaa", ["a", "a", "a"]),
    # the reference has no element-wise != (its grammar's comparisons are == <= >= < >)
    ('x = tokens != "a";', "ab", [False, True]),
    # len of a string or a dict, and `in` a dict or a string: the reference takes lists only
    ('x = indices + len("abc");', "ab", [3, 4]),
    ('x = indices + len({"a": 1});', "ab", [1, 2]),
    ('x = tokens in {"a": 1};', "ab", [True, False]),
    ('x = indices + ("a" in {"a": 1});', "ab", [1, 2]),
    ('x = indices + ("a" in "abc");', "ab", [1, 2]),
    # the reference's rasplib names are constants there; here they may be reassigned
    ("count = 3; x = indices + count;", "ab", [3, 4]),
    # `select (` with a space: the reference's grammar has `select(` as one token
    ("x = selector_width(select (indices, indices, <));", "abc", [0, 1, 2]),
    # names the reference reserves without using them, and indicator of an atom
    ("get = 1; x = indices + get;", "ab", [1, 2]),
    ("x = indices + indicator(True);", "ab", [1, 2]),
    # the reference's average refers to an undefined `s`; its mark_first_instance marks the last
    ("x = average(indices);", "abcd", [1.5] * 4),
    ('x = mark_first_instance(tokens, "a");', "banana", [False, True, False, False, False, False]),
])
def test_deliberate_differences(source, raw, ours):
    assert typed(rasp.evaluate(source, raw)) == typed(ours)
