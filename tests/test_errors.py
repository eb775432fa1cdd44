"""Every user mistake is a clear RaspError (with position and hint where it helps), never a traceback."""

from __future__ import annotations

import json

import pytest

import rasp
from rasp.cli import main
from rasp.errors import (
    RaspArgumentError,
    RaspError,
    RaspInputError,
    RaspLoadError,
    RaspNameError,
    RaspRecursionError,
    RaspSyntaxError,
    RaspTypeError,
    RaspValueError,
)
from rasp.ir.evaluate import MAX_INPUT_LENGTH
from rasp.language.parser import parse


def run(source: str, raw="abc", output: str | None = None):
    return rasp.evaluate(source, raw, output)


def error_of(source: str, raw="abc") -> RaspError:
    with pytest.raises(RaspError) as info:
        run(source, raw)
    return info.value


# --- syntax errors ---------------------------------------------------------------------------


def test_syntax_error_has_file_line_column_text_and_expectations():
    src = "x = tokens;\ny = select(tokens, tokens ==);\n"
    with pytest.raises(RaspSyntaxError) as info:
        parse(src, "prog.rasp")
    e = info.value
    assert (e.pos.file, e.pos.line, e.pos.column) == ("prog.rasp", 2, 29)
    assert e.pos.source_line == "y = select(tokens, tokens ==);"
    text = e.format()
    assert text.startswith("prog.rasp:2:29: syntax error: unexpected ')'; expected an expression")
    assert "    y = select(tokens, tokens ==);" in text
    # the caret sits under the offending ')'
    assert text.splitlines()[2] == "    " + " " * 28 + "^"


def test_missing_semicolon_hint():
    with pytest.raises(RaspSyntaxError) as info:
        parse("x = tokens\ny = 2;", "f.rasp")
    e = info.value
    assert (e.pos.line, e.pos.column) == (2, 1)
    assert e.message.startswith("unexpected 'y'; expected ")
    assert "';'" in e.message
    assert "';' missing" in e.hint


def test_unexpected_end_of_input():
    with pytest.raises(RaspSyntaxError) as info:
        parse("def f(x) { return x; ")
    e = info.value
    assert e.message.startswith("unexpected end of input; expected ")
    # the block is still open: '}' is named first, and more statements may follow
    assert "expected '}'" in e.message
    assert "a statement" in e.message
    assert e.pos.line == 1


def test_bad_character_and_single_quotes():
    with pytest.raises(RaspSyntaxError) as info:
        parse("x = 'a';")
    e = info.value
    assert "unexpected character" in e.message
    assert (e.pos.line, e.pos.column) == (1, 5)
    assert "double quotes" in e.hint


@pytest.mark.parametrize(
    "src,message",
    [
        ("x = (1 + 2;", "unexpected ';'; expected ')'"),
        ("x = [1, 2;", "unexpected ';'; expected ']'"),
        ("x = 1 if 2;", "unexpected ';'; expected 'else'"),
    ],
)
def test_expectations_name_the_fix(src, message):
    with pytest.raises(RaspSyntaxError) as info:
        parse(src)
    assert info.value.message == message


def test_bad_select_comparison():
    with pytest.raises(RaspSyntaxError) as info:
        parse("s = select(indices, indices, =);")
    assert "a comparison" in info.value.message


def test_syntax_error_position_on_later_line_and_column():
    with pytest.raises(RaspSyntaxError) as info:
        parse("a = 1;\nb = 2;\n\n    c = (3 + ;\n")
    assert (info.value.pos.line, info.value.pos.column) == (4, 14)


# --- names -------------------------------------------------------------------------------------


def test_undefined_name_with_did_you_mean():
    e = error_of("x = reverse; y = lenght;")
    assert isinstance(e, RaspNameError)
    assert "name 'lenght' is not defined" in e.message
    assert e.hint == "did you mean 'length'?"
    assert (e.pos.line, e.pos.column) == (1, 18)


def test_undefined_function_hint():
    e = error_of("x = selctor_width(select(indices, indices, ==));")
    assert isinstance(e, RaspNameError)
    assert "selector_width" in e.hint


def test_undefined_name_without_close_match_has_no_hint():
    e = error_of("x = qqqqqqqq;")
    assert isinstance(e, RaspNameError)
    assert e.hint is None


def test_reserved_names_cannot_be_assigned():
    for name in ["indices", "length", "tokens_str", "tokens_int", "True", "False"]:
        e = error_of(f"{name} = 3;")
        assert isinstance(e, RaspNameError), name
        assert "reserved" in e.message


def test_unknown_output_name():
    prog = rasp.from_source("x = tokens;")
    with pytest.raises(RaspNameError):
        prog("ab", "nope")


def test_program_without_sops_has_no_output():
    with pytest.raises(RaspNameError):
        run("x = 1;")


# --- arguments ---------------------------------------------------------------------------------


def test_wrong_argument_count_for_functions():
    e = error_of("def f(a, b) { return a; } x = f(1);")
    assert isinstance(e, RaspArgumentError)
    assert "f(a, b) takes 2 arguments, got 1" in e.message
    e = error_of("x = make_reverse(tokens, 1);")
    assert isinstance(e, RaspArgumentError)
    assert "takes 1 argument, got 2" in e.message
    e = error_of("f = lambda a: a; x = f(1, 2);")
    assert isinstance(e, RaspArgumentError)


def test_wrong_argument_count_for_builtins():
    e = error_of("x = aggregate(select(indices, indices, ==));")
    assert isinstance(e, RaspArgumentError)
    assert "aggregate" in e.message and "got 1" in e.message
    assert isinstance(error_of("x = range(1, 2, 3, 4);"), RaspArgumentError)
    assert isinstance(error_of("x = selector_width();"), RaspArgumentError)


def test_unpacking_mismatch():
    assert isinstance(error_of("a, b = 1, 2, 3;"), RaspValueError)
    assert isinstance(error_of("x = [1 for a, b in [1]];"), RaspValueError)


# --- types ----------------------------------------------------------------------------------


def test_averaging_strings_is_an_error():
    e = error_of("x = aggregate(full_s, tokens);", "abc")
    assert isinstance(e, RaspValueError)
    assert "average" in e.message
    assert "'a'" in e.message and "'b'" in e.message


def test_adding_string_to_number():
    e = error_of('x = tokens_int + "a";', [1, 2])
    assert isinstance(e, RaspTypeError)
    assert "'x'" in e.message
    e = error_of('x = 1 + "a";')
    assert isinstance(e, RaspTypeError)
    assert "'+'" in e.message


def test_type_errors_on_selectors_and_sops():
    assert isinstance(error_of("x = aggregate(tokens, tokens);"), RaspTypeError)
    assert isinstance(error_of("x = selector_width(tokens);"), RaspTypeError)
    assert isinstance(error_of("x = select(indices, indices, ==) + 1;"), RaspTypeError)
    assert isinstance(error_of("x = select(indices, indices, ==) and tokens;"), RaspTypeError)
    assert isinstance(error_of("x = tokens[indices];"), RaspTypeError)
    assert isinstance(error_of("x = tokens + [1];"), RaspTypeError)
    assert isinstance(error_of("x = map(3, tokens);"), RaspTypeError)
    assert isinstance(error_of("x = 3(4);"), RaspTypeError)
    assert isinstance(error_of('x = -"a";'), RaspTypeError)
    assert isinstance(error_of("for x in 3 { y = 1; }"), RaspTypeError)


def test_select_cannot_order_strings_against_numbers():
    e = error_of("x = selector_width(select(tokens_int, tokens_str, <));", [1, 2])
    assert isinstance(e, RaspTypeError)
    assert "strings with numbers" in e.message


def test_aggregate_default_type_mismatch():
    e = error_of('x = aggregate(select(indices, indices, <), tokens_int, "a");', [1, 2])
    assert isinstance(e, RaspTypeError)


def test_aggregate_without_default_selecting_nothing_on_strings():
    # the default 0 at position 0 next to the string "a": one s-op cannot hold both
    e = error_of("x = aggregate(select(indices, indices, <), tokens);", "ab")
    assert isinstance(e, RaspTypeError)
    assert "default" in e.hint


def test_value_errors():
    assert isinstance(error_of("x = 1 / 0;"), RaspValueError)
    assert isinstance(error_of("x = tokens_int / 0;", [1]), RaspValueError)
    assert isinstance(error_of("x = tokens_int % (tokens_int - 1);", [1]), RaspValueError)
    assert isinstance(error_of("x = [1, 2][5];"), RaspValueError)
    assert isinstance(error_of("x = {1: 2}[3];"), RaspValueError)
    assert isinstance(error_of("x = zip([1], [1, 2]);"), RaspValueError)
    e = error_of('x = {"a": 1}[tokens];', "ab")
    assert "'b'" in e.message


def test_huge_numbers_are_errors():
    assert isinstance(error_of("x = 2 ^ 100000;"), RaspError)
    assert isinstance(error_of("x = tokens_int ^ 100000;", [3]), RaspError)
    assert isinstance(error_of("x = 99999999999 * 99999999999; y = tokens_int * x;", [5]), RaspValueError)


def test_return_outside_function():
    with pytest.raises(RaspError):
        run("return 3;")


# --- recursion --------------------------------------------------------------------------------


def test_unbounded_recursion_on_atoms():
    e = error_of("def f(x) { return f(x); } y = f(1);")
    assert type(e) is RaspRecursionError
    assert "'f'" in e.message
    assert not isinstance(e, RecursionError)


def test_unbounded_recursion_on_sops():
    e = error_of("def f(x) { return f(x + 1) + 1; } y = f(tokens_int);")
    assert type(e) is RaspRecursionError


def test_mutual_recursion():
    e = error_of("def f(x) { return g(x); } def g(x) { return f(x); } y = f(1);")
    assert type(e) is RaspRecursionError


def test_deeply_nested_expression():
    e = error_of("x = " + "-" * 5000 + "1; y = tokens;")
    assert isinstance(e, RaspRecursionError)


# --- inputs ----------------------------------------------------------------------------------


def test_empty_input():
    for raw in ["", []]:
        e = error_of("x = tokens;", raw)
        assert isinstance(e, RaspInputError)
        assert "empty" in e.message


def test_over_long_input():
    run("x = tokens;", "a" * MAX_INPUT_LENGTH)  # the limit itself is fine
    e = error_of("x = tokens;", "a" * (MAX_INPUT_LENGTH + 1))
    assert isinstance(e, RaspInputError)
    assert str(MAX_INPUT_LENGTH) in e.message


def test_bad_token_types():
    assert isinstance(error_of("x = tokens;", [1, "a"]), RaspInputError)
    assert isinstance(error_of("x = tokens;", [[1]]), RaspInputError)
    assert isinstance(error_of("x = tokens;", 42), RaspInputError)
    e = error_of("x = tokens_int;", "abc")
    assert isinstance(e, RaspInputError)
    assert e.message == "tokens_int needs int tokens, but the input has 'a'"
    assert isinstance(error_of("x = tokens_int;", ["1.5"]), RaspInputError)  # int("1.5") fails, int(1.5) is 1


@pytest.mark.parametrize("bad", ["[1,", "{\"a\": 1}", "3", "[[1, 2]]", "[null]", "nope"])
def test_bad_input_json(capsys, tmp_path, bad):
    p = tmp_path / "p.rasp"
    p.write_text("x = tokens;\n")
    code = main(["run", str(p), "--input-json", bad])
    out, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("input error:")
    assert "Traceback" not in err
    assert out == ""


def test_good_input_json_still_works(capsys, tmp_path):
    p = tmp_path / "p.rasp"
    p.write_text("x = tokens_int + 1;\n")
    assert main(["run", str(p), "--input-json", "[1, 2]", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["output"] == [2, 3]


# --- files -----------------------------------------------------------------------------------


def test_missing_load(tmp_path):
    p = tmp_path / "p.rasp"
    p.write_text('load "nowhere";\n')
    with pytest.raises(RaspLoadError) as info:
        rasp.load(p)
    assert info.value.pos.line == 1
    assert "nowhere" in info.value.message


def test_circular_load(tmp_path):
    (tmp_path / "a.rasp").write_text('load "b";\n')
    (tmp_path / "b.rasp").write_text('load "a";\n')
    with pytest.raises(RaspLoadError) as info:
        rasp.load(tmp_path / "a.rasp")
    assert "circular" in info.value.message


def test_error_inside_loaded_file_points_there(tmp_path):
    (tmp_path / "lib.rasp").write_text("x = 1;\ny = nope;\n")
    (tmp_path / "main.rasp").write_text('load "lib";\n')
    with pytest.raises(RaspNameError) as info:
        rasp.load(tmp_path / "main.rasp")
    assert info.value.pos.file.endswith("lib.rasp")
    assert info.value.pos.line == 2


def test_errors_format_without_position():
    e = RaspInputError("input is empty")
    assert e.format() == "input error: input is empty"
