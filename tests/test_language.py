"""The RASP language, form by form: statements, expressions, builtins, inputs and batches.

Every expected value below was worked out by hand from the language definition.
Reminder: select(keys, queries, op) lets query q attend to key k when keys[k] op queries[q].
"""

from __future__ import annotations

import random

import pytest

import rasp
from rasp.errors import RaspError
from rasp.ir.evaluate import evaluate as evaluate_expr


def run(source: str, raw, output: str | None = None):
    return rasp.evaluate(source, raw, output)


def value(source: str, name: str):
    return rasp.from_source(source)[name]

# --- statements --------------------------------------------------------------------------


def test_assignment_binds_atoms_lists_and_dicts():
    src = 'a = 3; b = "hi"; c = [1, 2.5, "x"]; d = {"k": 1, 2: "two"}; e = True;'
    assert value(src, "a") == 3
    assert value(src, "b") == "hi"
    assert value(src, "c") == [1, 2.5, "x"]
    assert value(src, "d") == {"k": 1, 2: "two"}
    assert value(src, "e") is True


def test_multi_assignment_and_swap():
    assert value("a, b = 1, 2;", "a") == 1
    assert value("a, b = 1, 2;", "b") == 2
    assert value("a, b = 1, 2; a, b = b, a;", "a") == 2
    assert value("a, b = 1, 2; a, b = b, a;", "b") == 1
    # a single list value is unpacked too
    assert value("a, b, c = [7, 8, 9];", "c") == 9


def test_multi_assignment_of_sops():
    assert run("a, b = tokens, reverse; c = a + b;", ["x", "y"], "c") == ["xy", "yx"]
    assert run("a, b = indices, length; c = a * b;", "abc") == [0, 3, 6]


def test_reassignment_rebinds():
    assert value("x = 1; x = x + 1; x = x * 10;", "x") == 20


def test_def_and_call():
    assert value("def f(a, b) { return a * 10 + b; } r = f(4, 2);", "r") == 42
    assert value("def zero() { return 0; } r = zero();", "r") == 0


def test_def_with_statements_before_return():
    src = "def f(x) { y = x + 1; z = y * 2; return z; } r = f(3);"
    assert value(src, "r") == 8


def test_function_locals_do_not_leak():
    src = "y = 100; def f(x) { y = x; return y; } r = f(1);"
    assert value(src, "r") == 1
    assert value(src, "y") == 100


def test_nested_defs_and_closures():
    src = """
    def make_adder(n) {
        def add(x) { return x + n; }
        return add;
    }
    add3 = make_adder(3);
    add10 = make_adder(10);
    r = add3(4);
    s = add10(4);
    """
    assert value(src, "r") == 7
    assert value(src, "s") == 14


def test_closure_sees_enclosing_sop_parameter():
    src = """
    def offset(seq) {
        def plus(k) { return seq + k; }
        return plus(100);
    }
    y = offset(tokens_int);
    """
    assert run(src, [1, 2]) == [101, 102]


def test_recursion_on_atoms_terminates():
    src = "def fact(n) { return 1 if n <= 1 else n * fact(n - 1); } r = fact(6);"
    assert value(src, "r") == 720


def test_function_returning_several_values():
    src = "def two() { return 1, 2; } a, b = two();"
    assert value(src, "a") == 1
    assert value(src, "b") == 2


def test_for_loop_accumulates():
    assert value("s = 0; for i in range(5) { s = s + i; }", "s") == 10
    assert value("s = 0; for k, v in [[1, 2], [3, 4]] { s = s + k * v; }", "s") == 14


def test_for_loop_over_dict_iterates_keys():
    assert value('s = ""; for k in {"a": 1, "b": 2} { s = s + k; }', "s") == "ab"


def test_for_loop_building_sops():
    # x = tokens_int + 1 + 2 + 3
    src = "x = tokens_int; for k in [1, 2, 3] { x = x + k; }"
    assert run(src, [0, 10]) == [6, 16]


def test_expression_statement_binds_out():
    assert value("3 + 4;", "out") == 7
    prog = rasp.from_source("tokens_int * 2;")
    assert prog.output_name == "out"
    assert prog([1, 5]) == [2, 10]


def test_expression_statement_of_a_name_keeps_the_name():
    prog = rasp.from_source("y = indices; y;")
    assert prog.output_name == "y"
    assert prog("abc") == [0, 1, 2]


def test_comments_everywhere():
    src = """
    # a full-line comment
    x = 1; # trailing comment
    def f(a) {
        # inside a body
        return a + 1; # after return
    }
    # y = 100;
    y = f(x);
    """
    assert value(src, "y") == 2


def test_load_runs_another_file(tmp_path):
    (tmp_path / "lib.rasp").write_text("def triple(x) { return 3 * x; }\nk = 5;\n")
    main = tmp_path / "main.rasp"
    main.write_text('load "lib";\ny = triple(tokens_int) + k;\n')
    prog = rasp.load(main)
    assert prog([1, 2]) == [8, 11]
    assert prog.output_name == "y"


def test_load_with_extension_and_nested(tmp_path):
    (tmp_path / "a.rasp").write_text("a = 1;\n")
    (tmp_path / "b.rasp").write_text('load "a.rasp";\nb = a + 1;\n')
    (tmp_path / "c.rasp").write_text('load "b";\nc = indices + b;\n')
    assert rasp.load(tmp_path / "c.rasp")("xyz") == [2, 3, 4]


def test_last_assigned_sop_is_the_output():
    prog = rasp.from_source("a = indices; b = 7; c = tokens; d = [1];")
    assert prog.output_name == "c"
    assert prog("hi") == ["h", "i"]


# --- select: all six comparisons -------------------------------------------------------

# keys tokens_int = [5, 0, 1], queries indices = [0, 1, 2]
SELECT_WIDTHS = [
    ("<", [0, 1, 2]),   # key < q:  q0 none, q1 {0}, q2 {0, 1}
    ("<=", [1, 2, 2]),  # q0 {0}, q1 {0, 1}, q2 {0, 1}
    (">", [2, 1, 1]),   # q0 {5, 1}, q1 {5}, q2 {5}
    (">=", [3, 2, 1]),  # q0 all, q1 {5, 1}, q2 {5}
    ("==", [1, 1, 0]),
    ("!=", [2, 2, 3]),
]


@pytest.mark.parametrize("op,widths", SELECT_WIDTHS)
def test_select_comparisons_compare_key_op_query(op, widths):
    src = f"s = select(tokens_int, indices, {op}); w = selector_width(s);"
    assert run(src, [5, 0, 1]) == widths


def test_select_matrix_rows_are_queries():
    prog = rasp.from_source("s = select(indices, indices, <); x = tokens;")
    assert evaluate_expr(prog["s"], "abc") == [
        [False, False, False],
        [True, False, False],
        [True, True, False],
    ]


def test_select_with_atom_queries_and_keys():
    # every query selects the key(s) holding "a"
    assert run('w = selector_width(select(tokens, "a", ==));', "banana") == [3] * 6
    # an atom on both sides selects everything
    assert run("w = selector_width(select(1, 1, ==));", "abcd") == [4] * 4


# --- aggregate ------------------------------------------------------------------------------


def test_aggregate_mean_of_numbers():
    assert run("x = aggregate(select(indices, indices, <=), tokens_int);", [2, 4, 6]) == [2, 3, 4]
    assert run("x = aggregate(select(1, 1, ==), tokens_int);", [1, 2]) == [1.5, 1.5]


def test_aggregate_single_selection_moves_values():
    assert run("x = aggregate(select(indices, 0, ==), tokens);", "xyz") == ["x", "x", "x"]
    assert run("x = aggregate(select(indices, 0, ==), tokens_int);", [5, 6, 7]) == [5, 5, 5]


def test_aggregate_default_where_nothing_is_selected():
    src = "x = aggregate(select(indices, indices, <), tokens_int, -1);"
    assert run(src, [5, 6, 7]) == [-1, 5, 5.5]
    src = 'x = aggregate(select(indices + 1, indices, ==), tokens, "_");'
    assert run(src, "abc") == ["_", "a", "b"]


def test_aggregate_numeric_default_is_zero():
    assert run("x = aggregate(select(indices, indices, <), tokens_int);", [4, 8]) == [0, 4]


def test_aggregate_of_an_atom():
    assert run("x = aggregate(select(indices, indices, <), 1, 0);", "abc") == [0, 1, 1]


# --- selector combinators ---------------------------------------------------------------------

# A = key < query: widths [0, 1, 2, 3];  B = key 1 only: widths [1, 1, 1, 1]
SEL_PREFIX = "a = select(indices, indices, <); b = select(indices, 1, ==);"


def test_selector_and():
    assert run(SEL_PREFIX + "w = selector_width(a and b);", "wxyz") == [0, 0, 1, 1]


def test_selector_or():
    assert run(SEL_PREFIX + "w = selector_width(a or b);", "wxyz") == [1, 2, 2, 3]


def test_selector_not():
    assert run(SEL_PREFIX + "w = selector_width(not a);", "wxyz") == [4, 3, 2, 1]


def test_selector_combination_nested():
    # (not a) and (not b): key >= query and key != 1
    assert run(SEL_PREFIX + "w = selector_width(not a and not b);", "wxyz") == [3, 2, 2, 1]


# --- arithmetic, comparison and logic -------------------------------------------------------


@pytest.mark.parametrize(
    "expr,expected",
    [
        ("tokens_int + 3", [10, 5]),
        ("tokens_int - 1", [6, 1]),
        ("tokens_int * 2", [14, 4]),
        ("tokens_int / 2", [3.5, 1.0]),
        ("tokens_int % 3", [1, 2]),
        ("tokens_int ^ 2", [49, 4]),
        ("10 - tokens_int", [3, 8]),
        ("tokens_int + indices", [7, 3]),
        ("tokens_int * indices", [0, 2]),
        ("-tokens_int", [-7, -2]),
        ("+tokens_int", [7, 2]),
    ],
)
def test_sop_arithmetic(expr, expected):
    assert run(f"x = {expr};", [7, 2]) == expected


@pytest.mark.parametrize(
    "expr,expected",
    [
        ("7 / 2", 3.5),
        ("2 ^ 10", 1024),
        ("7 % 3", 1),
        ("-7 % 3", 2),
        ("1 + 2 * 3", 7),
        ("2 * 3 ^ 2", 18),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),
        ("2 ^ 3 ^ 2", 64),       # left-associative, as in the reference grammar
        ("7 % 3 * 2", 1),        # '*' binds tighter than '%': 7 % 6
        ("1 + 7 % 4", 4),        # '%' binds tighter than '+'
        ("-2 ^ 2", 4),           # unary minus binds tightest
        ('"ab" + "cd"', "abcd"),
        ("1.5 + 1", 2.5),
    ],
)
def test_atom_arithmetic_and_precedence(expr, expected):
    result = value(f"r = {expr};", "r")
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    "expr,expected",
    [
        ("tokens_int == 2", [False, True, False]),
        ("tokens_int != 2", [True, False, True]),
        ("tokens_int < 2", [True, False, False]),
        ("tokens_int <= 2", [True, True, False]),
        ("tokens_int > 2", [False, False, True]),
        ("tokens_int >= 2", [False, True, True]),
        ("tokens_int == indices", [False, False, False]),
        ("tokens_int > indices", [True, True, True]),
    ],
)
def test_sop_comparisons(expr, expected):
    assert run(f"x = {expr};", [1, 2, 3]) == expected


@pytest.mark.parametrize(
    "expr,expected",
    [
        ("3 < 4", True), ("3 > 4", False), ("3 == 3", True), ("3 != 3", False),
        ("4 <= 4", True), ("5 >= 6", False), ('"a" < "b"', True), ('"a" == "a"', True),
        ("True and False", False), ("True or False", True), ("not True", False),
        ("not False and True", True), ("1 < 2 and 2 < 3", True), ("False or 2 > 3", False),
    ],
)
def test_atom_comparisons_and_logic(expr, expected):
    assert value(f"r = {expr};", "r") is expected


def test_sop_logic():
    src_a = 'x = tokens == "a" and indices > 0;'
    assert run(src_a, "aab") == [False, True, False]
    src_o = 'x = tokens == "a" or indices > 1;'
    assert run(src_o, "abb") == [True, False, True]
    assert run('x = not (tokens == "a");', "aba") == [False, True, False]
    # an s-op combined with an atom
    assert run('x = tokens == "a" and True;', "ab") == [True, False]
    assert run('x = tokens == "a" or True;', "ab") == [True, True]


def test_round_and_indicator():
    assert value("r = round(2.6);", "r") == 3
    assert value("r = round(-1.2);", "r") == -1
    assert run("x = round(tokens_float);", [1.4, 2.6, -0.7]) == [1, 3, -1]
    assert run('x = indicator(tokens == "a");', "aba") == [1, 0, 1]
    assert run("x = indicator(tokens_int > 1) + indicator(tokens_int > 2);", [1, 2, 3]) == [0, 1, 2]


def test_ternary_on_atoms_and_sops():
    assert value('r = "yes" if 3 > 2 else "no";', "r") == "yes"
    assert value('r = "yes" if 3 < 2 else "no";', "r") == "no"
    assert run('x = "big" if tokens_int > 2 else "small";', [1, 5]) == ["small", "big"]
    # a nested (parenthesised) ternary
    src = 'x = "F" if tokens_int < 0 else ("T" if tokens_int == 0 else "P");'
    assert run(src, [-1, 0, 2]) == ["F", "T", "P"]
    # s-op branches with an s-op condition
    assert run("x = indices if tokens_int > 0 else tokens_int;", [5, -3, 9]) == [0, -3, 2]


def test_ternary_condition_may_be_any_expression():
    assert run('x = 1 if tokens in ["a", "b"] else 0;', "abc") == [1, 1, 0]


def test_ternary_on_atoms_evaluates_only_the_branch_taken():
    # the untaken branch would divide by zero
    assert value("r = 1 if True else 1 / 0;", "r") == 1


def test_in_lists_dicts_and_sops():
    assert value("r = 3 in [1, 2, 3];", "r") is True
    assert value("r = 4 in [1, 2, 3];", "r") is False
    assert value('r = "k" in {"k": 1};', "r") is True
    assert run('x = tokens in ["a", "b"];', "abc") == [True, True, False]
    assert run('x = "a" in tokens;', "bca") == [True, True, True]
    assert run('x = "z" in tokens;', "bca") == [False, False, False]
    # 'in' binds looser than '+'
    assert value("r = 1 + 2 in [3];", "r") is True


def test_indexing_sops():
    assert run("x = tokens[0];", "abc") == ["a", "a", "a"]
    assert run("x = tokens[1];", "abc") == ["b", "b", "b"]
    assert run("x = tokens[-1];", "abc") == ["c", "c", "c"]
    assert run("x = tokens_int[-2];", [4, 5, 6, 7]) == [6, 6, 6, 6]


def test_indexing_lists_strings_dicts():
    assert value("r = [10, 20, 30][1];", "r") == 20
    assert value("r = [10, 20, 30][-1];", "r") == 30
    assert value('r = "hello"[1];', "r") == "e"
    assert value('r = {"a": 1, "b": 2}["b"];', "r") == 2
    assert value("r = [[1, 2], [3, 4]][1][0];", "r") == 3


def test_list_and_dict_lookup_by_sop():
    assert run('x = ["p", "q", "r"][indices];', "xyz") == ["p", "q", "r"]
    assert run("x = [10, 20, 30][tokens_int];", [2, 0, 2]) == [30, 10, 30]
    assert run('x = {"a": 1, "b": 2}[tokens];', "abba") == [1, 2, 2, 1]


def test_lists_dicts_range_zip_len():
    assert value("r = [];", "r") == []
    assert value("r = {};", "r") == {}
    assert value("r = range(4);", "r") == [0, 1, 2, 3]
    assert value("r = range(2, 5);", "r") == [2, 3, 4]
    assert value("r = range(10, 0, -3);", "r") == [10, 7, 4, 1]
    assert value('r = zip([1, 2], ["a", "b"]);', "r") == [[1, "a"], [2, "b"]]
    assert value("r = zip([1], [2], [3]);", "r") == [[1, 2, 3]]
    assert value("r = len([4, 5, 6]);", "r") == 3
    assert value("r = len({});", "r") == 0
    assert value("r = [1, 2] + [3];", "r") == [1, 2, 3]


def test_list_and_dict_comprehensions():
    assert value("r = [i * i for i in range(4)];", "r") == [0, 1, 4, 9]
    assert value("r = {i: i * i for i in range(3)};", "r") == {0: 0, 1: 1, 2: 4}
    assert value('r = {k: v for k, v in zip([1, 2], ["a", "b"])};', "r") == {1: "a", 2: "b"}
    assert value('r = [p[0] for p in ["()", "{}"]];', "r") == ["(", "{"]
    assert value("r = [a + b for a, b in [[1, 2], [3, 4]]];", "r") == [3, 7]
    # comprehension names do not leak
    assert "i" not in rasp.from_source("r = [i for i in range(3)];")


def test_comprehension_of_sops():
    src = "parts = [tokens_int * k for k in [1, 10]]; x = parts[0] + parts[1];"
    assert run(src, [1, 2]) == [11, 22]


def test_map_with_lambda_and_def():
    assert run('x = map(lambda a: a + "!", tokens);', "ab") == ["a!", "b!"]
    assert run("x = map(lambda a, b: a * b, tokens_int, indices);", [3, 4, 5]) == [0, 4, 10]
    src = "def sq(v) { return v * v; } x = map(sq, tokens_int);"
    assert run(src, [3, -2]) == [9, 4]
    assert run("x = map(lambda a: 1 if a > 2 else 0, tokens_int);", [1, 3]) == [0, 1]


def test_lambda_is_a_value():
    assert value("f = lambda a, b: a - b; r = f(10, 3);", "r") == 7


# --- builtins ------------------------------------------------------------------------------------


def test_primitives():
    assert run("x = indices;", "abcd") == [0, 1, 2, 3]
    assert run("x = length;", "abcd") == [4, 4, 4, 4]
    assert run("x = tokens;", "abc") == ["a", "b", "c"]
    assert run("x = tokens_str;", [1, 2]) == ["1", "2"]
    assert run("x = tokens_int;", [3, 1]) == [3, 1]
    assert run("x = tokens_int;", "42") == [4, 2]
    assert run("x = tokens_float * 2;", [1, 2.5]) == [2.0, 5.0]
    assert run("x = tokens_bool;", [True, False]) == [True, False]
    assert run("x = tokens_bool;", ["True", "false", ""]) == [True, True, False]  # Python's bool(), as the reference
    assert value("r = True;", "r") is True
    assert value("r = False;", "r") is False


def test_tokens_is_reassignable():
    src = "tokens = tokens_int; x = tokens + 1;"
    assert run(src, [1, 2]) == [2, 3]


def test_sop_values_have_python_types():
    out = run("x = tokens_int + 1;", [1])
    assert type(out[0]) is int
    out = run("x = tokens_int / 2;", [1])
    assert type(out[0]) is float
    out = run("x = tokens_int > 0;", [1])
    assert type(out[0]) is bool


def test_applying_an_sop_to_an_input():
    assert value('r = (tokens_int + 1)([1, 2]);', "r") == [2, 3]
    assert value('r = reverse("abc");', "r") == ["c", "b", "a"]


# --- inputs ---------------------------------------------------------------------------------------


def test_string_input_is_one_token_per_character():
    assert run("x = length;", "a b") == [3, 3, 3]
    assert run("x = tokens;", "a b") == ["a", " ", "b"]


def test_word_list_input_is_one_token_per_word():
    assert run("x = length;", ["hello", "world"]) == [2, 2]
    assert run("x = reverse;", ["hello", "big", "world"]) == ["world", "big", "hello"]


def test_int_list_input():
    assert run("x = tokens_int * tokens_int;", [3, -4, 10]) == [9, 16, 100]
    assert run("x = sort(tokens_int, tokens_int);", [3, -4, 10, 0]) == [-4, 0, 3, 10]


def test_tuple_input():
    assert run("x = tokens;", ("p", "q")) == ["p", "q"]


# --- batches --------------------------------------------------------------------------------------


def _random_inputs(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice("abc()") for _ in range(rng.randint(1, 12))) for _ in range(n)]


@pytest.mark.parametrize("name", ["sort_tokens", "hist", "reverse", "dyck1", "hist2", "sort_by_most_freq"])
def test_batch_equals_one_at_a_time(stdlib_program, name):
    inputs = _random_inputs(3000)
    batched = stdlib_program.batch(inputs, name)
    assert len(batched) == len(inputs)
    single = [stdlib_program(s, name) for s in inputs[:300]]
    assert batched[:300] == single
    # and against an independent oracle where one is obvious
    if name == "sort_tokens":
        assert batched == [sorted(s) for s in inputs]
    if name == "reverse":
        assert batched == [list(reversed(s)) for s in inputs]
    if name == "hist":
        assert batched == [[s.count(c) for c in s] for s in inputs]


def test_evaluate_batch_function_on_mixed_lengths():
    prog = rasp.from_source("x = tokens_int + length;")
    inputs = [[1], [1, 2], [5, 5, 5], [0]] * 1000
    out = rasp.evaluate_batch(prog.output, inputs)
    assert out[:4] == [[2], [3, 4], [8, 8, 8], [1]]
    assert out == [[2], [3, 4], [8, 8, 8], [1]] * 1000


def test_batch_of_word_inputs():
    prog = rasp.from_source("x = reverse;")
    assert prog.batch([["a", "bb"], ["cc", "d"], ["e"]]) == [["bb", "a"], ["d", "cc"], ["e"]]


def test_batch_error_is_a_rasp_error():
    prog = rasp.from_source("x = tokens_int;")
    with pytest.raises(RaspError):
        prog.batch([[1, 2], "ab"])


def test_reference_repl_commands_in_files_are_skipped(tmp_path):
    p = tmp_path / "ref.rasp"
    p.write_text(
        'example = "abc";\n'
        "set example example\n"
        "full seq display on \n"
        "show example\n"
        "  selector examples off # display only\n"
        "y = reverse;\n"
    )
    prog = rasp.load(p)
    assert prog.output_name == "y"
    assert prog("xyz") == ["z", "y", "x"]
