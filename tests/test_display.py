"""Text and HTML renderings of RASP values (rasp.view.display) and `_repr_html_` on s-ops."""

from __future__ import annotations

import re

import pytest

import rasp
from rasp.errors import RaspInputError
from rasp.ir.sops import SOp
from rasp.language.interpreter import Interpreter
from rasp.view import display
from rasp.view.display import (
    format_atom,
    format_example,
    format_selector,
    format_sequence,
    format_value,
    html_table,
    repr_html,
)


@pytest.fixture(autouse=True)
def _restore_example():
    yield
    display.set_example(display.DEFAULT_EXAMPLE)


@pytest.fixture(scope="module")
def values():
    interp = Interpreter()
    interp.run_source(
        """
        rev = aggregate(select(indices, length - indices - 1, ==), tokens);
        before = select(indices, indices, <);
        mean = aggregate(select(indices, indices, <=), tokens);
        double = tokens_int * 2;
        """
    )
    return interp.globals.lookup


def cells(html_text: str) -> list[str]:
    return re.findall(r"<td[^>]*>(.*?)</td>", html_text)


# --- text -------------------------------------------------------------------------------


def test_format_atom():
    assert format_atom(True) == "T"
    assert format_atom(False) == "F"
    assert format_atom(2.0) == "2.0"  # a float stays a float, as the reference prints it
    assert format_atom(0.5) == "0.5"
    assert format_atom(1 / 3) == "0.333"
    assert format_atom(7) == "7"
    assert format_atom("a") == "a"


def test_format_sequence():
    assert format_sequence(["o", "l", "l", "e", "h"]) == "[o, l, l, e, h] (strings)"
    assert format_sequence([1, 2, 3]) == "[1, 2, 3] (ints)"
    assert format_sequence([True, False]) == "[T, F] (bools)"
    assert format_sequence([0.5, 1.5]) == "[0.5, 1.5] (floats)"
    # identical values are abbreviated
    assert format_sequence([4, 4, 4]) == "[4]*3 (ints)"


def test_format_selector_rows_are_queries():
    # select(indices, indices, <) on "abc": query q selects keys k < q
    matrix = [[False, False, False], [True, False, False], [True, True, False]]
    assert format_selector(matrix, list("abc")) == (
        "    a b c\n"
        "a | 0 0 0\n"
        "b | 1 0 0\n"
        "c | 1 1 0"
    )


def test_format_selector_wide_labels_line_up():
    matrix = [[True, False], [False, True]]
    assert format_selector(matrix, [10, 2]) == (
        "     10  2\n"
        "10 |  1  0\n"
        " 2 |  0  1"
    )


def test_format_selector_without_tokens_uses_positions():
    assert format_selector([[True]]) == "    0\n0 | 1"


def test_format_value(values):
    assert format_value("hi") == '"hi"'
    assert format_value([1, "a", [True]]) == '[1, "a", [True]]'
    assert format_value({"a": 1, 2: [3]}) == '{"a": 1, 2: [3]}'
    assert format_value(2.5) == "2.5"
    assert format_value(values("rev")) == "s-op: rev"
    assert format_value(values("before")) == "selector: before"


def test_format_example():
    assert format_example("hello") == '"hello"'
    assert format_example([1, 2, 3]) == "[1, 2, 3]"
    assert format_example(("a", "b")) == '["a", "b"]'


def test_html_table_escapes():
    out = html_table("t<", ["<", "&"], [("x", ["a", 1])])
    assert "<caption>t&lt;</caption>" in out
    assert "<th>&lt;</th><th>&amp;</th>" in out
    assert cells(out) == ["a", "1"]


# --- notebooks ----------------------------------------------------------------------------


def test_repr_html_sop_on_default_example(values):
    out = values("rev")._repr_html_()
    assert out.startswith("<table>")
    assert re.findall(r"<th>(.)</th>", out)[:5] == list("hello")
    assert cells(out) == ["o", "l", "l", "e", "h"]


def test_repr_html_selector_matrix(values):
    display.set_example("abc")
    out = values("before")._repr_html_()
    assert cells(out) == ["0", "0", "0", "1", "0", "0", "1", "1", "0"]
    # rows are labelled by the query tokens, columns by the key tokens
    assert re.findall(r'<tr><th title="query \d">(.)</th>', out) == ["a", "b", "c"]
    assert re.findall(r'<th title="key \d">(.)</th>', out) == ["a", "b", "c"]
    assert "query \\ key" in out
    # selected cells are coloured, the others are not
    assert out.count(f'<td style="background:{display.SELECTED_COLOR}">1</td>') == 3


def test_short_repr_for_sops_and_selectors(values):
    assert repr(values("rev")) == "<s-op rev>"
    assert repr(values("before")) == "<selector before>"
    assert len(repr(values("double"))) < 40


def test_program_has_an_svg_graph():
    import shutil

    pytest.importorskip("graphviz")
    if shutil.which("dot") is None:
        pytest.skip("graphviz 'dot' not installed")
    prog = rasp.from_source("rev = aggregate(select(indices, length - indices - 1, ==), tokens);")
    display.set_example("abc")
    svg = prog._repr_svg_()
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "rev" in svg


def test_set_example_changes_notebook_display(values):
    display.set_example([1, 2, 3])
    assert display.get_example() == [1, 2, 3]
    assert cells(values("double")._repr_html_()) == ["2", "4", "6"]
    # an explicit example overrides the default
    assert cells(repr_html(values("double"), [5])) == ["10"]


def test_set_example_rejects_empty():
    with pytest.raises(RaspInputError):
        display.set_example("")
    assert display.get_example() == "hello"


def test_repr_html_shows_rasp_errors_instead_of_raising(values):
    out = values("mean")._repr_html_()  # averages strings on "hello"
    assert "<table>" not in out
    assert "value error" in out
    assert "mean" in out
    # tokens_int cannot read "hello"
    out = values("double")._repr_html_()
    assert "input error" in out


def test_repr_html_never_raises_on_internal_errors():
    class Weird(SOp):
        pass

    out = Weird()._repr_html_()
    assert "internal error" in out
    assert "<pre>" in out
