"""Fuzzing: any source text, parsed, run and evaluated, raises nothing but RaspError."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rasp
from rasp.errors import RaspError
from rasp.ir.sops import SOp
from rasp.language.interpreter import Interpreter

KEYWORDS = ["def", "return", "for", "in", "if", "else", "and", "or", "not", "load",
            "select", "aggregate", "selector_width", "lambda", "range", "zip", "len",
            "round", "indicator", "map", "True", "False"]
NAMES = ["tokens", "tokens_str", "tokens_int", "tokens_float", "tokens_bool", "indices",
         "length", "x", "y", "f", "full_s", "reverse", "hist", "sort", "count", "shift",
         "has_focus", "out", "max", "dyckk_ptf", "load_from_location"]
SYMBOLS = ["=", ";", ",", "(", ")", "[", "]", "{", "}", ":", "+", "-", "*", "/", "%", "^",
           "==", "!=", "<", "<=", ">", ">=", "#"]
LITERALS = ["0", "1", "2", "-1", "3.5", "0.0", '"a"', '""', '"()"', "100", "99999999999"]

token_soup = st.lists(st.sampled_from(KEYWORDS + NAMES + SYMBOLS + LITERALS), max_size=40).map(" ".join)
random_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="abcxyz_019 \n\t=;,()[]{}:+-*/%^<>!\"#.'", max_size=80),
)
INPUTS = ["abc", "a", "((", [1, 2, 3], [0.5, -1.0], ["hi", "there"], [True, False]]

# Small well-formed statements glued at random, so fuzzing also reaches evaluation.
STATEMENTS = [
    "x = tokens_int + 1;", "x = aggregate(select(indices, indices, <), tokens_int);",
    "x = reverse;", "y = x * 2;", "y = x == tokens;", "s = select(x, x, ==);",
    "y = selector_width(s);", "y = aggregate(s, tokens);", "y = aggregate(s, x, 0);",
    "x = tokens_str + \"!\";", "def f(a) { return a + 1; }", "y = f(x);", "y = f(1);",
    "x = [1, 2, 3][indices];", "x = {\"a\": 1}[tokens];", "y = round(x);", "y = x / 0;",
    "y = shift(x, 1, 0);", "y = x[0];", "y = x[-1];", "x = tokens_float ^ 0.5;",
    "y = map(lambda v: v, x);", "y = x if x else tokens;", "y = not x;", "y = -x;",
    "y = x in [1, 2];", "y = sort(x, x);", "y = count(x, 1);", "y = 1 in x;",
    "x = length - indices;", "y = x % 2;", "def g(n) { return g(n); }", "y = g(1);",
]
statement_soup = st.lists(st.sampled_from(STATEMENTS), min_size=1, max_size=8).map(" ".join)


def _run(source: str) -> None:
    interp = Interpreter(load_stdlib=False)
    # Share the stdlib definitions cheaply: copy the loaded globals' bindings.
    interp.globals.variables.update(_STDLIB.globals.variables)
    try:
        results = interp.run_source(source)
        sops = [r.value for r in results if isinstance(r.value, SOp)]
        for sop in sops[-2:]:
            for raw in INPUTS:
                try:
                    rasp.evaluate_batch(sop, [raw])
                except RaspError:
                    pass
    except RaspError as e:
        assert str(e)  # formatting the error must work too


_STDLIB = Interpreter()

FUZZ = settings(max_examples=int(__import__("os").environ.get("RASP_FUZZ_EXAMPLES", "300")), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(random_text)
def test_random_characters_only_raise_rasp_errors(source):
    _run(source)


@FUZZ
@given(token_soup)
def test_token_soup_only_raises_rasp_errors(source):
    _run(source)


@FUZZ
@given(statement_soup)
def test_statement_soup_only_raises_rasp_errors(source):
    _run(source)


def test_fuzz_harness_can_fail():
    """The harness really evaluates: a valid program gives values, a broken one a RaspError."""
    with pytest.raises(RaspError):
        Interpreter().run_source("x = ;")
    interp = Interpreter()
    results = interp.run_source("x = tokens_int + 1;")
    assert rasp.evaluate_batch(results[-1].value, [[1, 2]]) == [[2, 3]]
