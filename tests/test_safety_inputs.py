"""Hostile and careless inputs, numbers at the limits and odd argument combinations
(issues 22 and 23): each ends in a clean error or in the right result, never in a
traceback, a silently changed token or a file nobody asked for."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import rasp
from rasp.cli import main
from rasp.errors import RaspError, RaspLoadError
from rasp.language import interpreter as interpreter_module

REVERSE = "opp = length - indices - 1;\nflip = select(indices, opp, ==);\nreverse = aggregate(flip, tokens);\n"


def cli(capsys, *argv) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse's usage errors
        code = e.code
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture
def work(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rev.rasp").write_text(REVERSE)
    return tmp_path


# --- NUL characters in tokens (22.2, 23.2) ------------------------------------------------


@pytest.mark.parametrize("tokens", [["a", "\0"], ["a\0", "a", "b"], ["a\0b"], ["\0\0"]])
def test_nul_in_a_token_is_refused_not_dropped(capsys, work, tokens):
    code, out, err = cli(capsys, "run", "rev.rasp", "--input-json", json.dumps(tokens))
    assert code == 1 and out == ""
    assert "NUL" in err and "input error" in err
    with pytest.raises(RaspError, match="NUL"):  # the Python API the same way
        rasp.load(work / "rev.rasp")(tokens)


def test_nul_is_refused_in_vocabularies_and_in_values_a_program_makes():
    prog = rasp.from_source(REVERSE)
    with pytest.raises(RaspError, match="NUL"):
        rasp.compile(prog, ["a", "b\0"], 3)
    # a map whose results end in NUL would be cut short by numpy: an error instead
    from rasp.ir.evaluate import evaluate
    from rasp.ir.sops import Map, Tokens

    with pytest.raises(RaspError, match="NUL"):
        evaluate(Map(fn=lambda t: t + "\0", inner=Tokens(kind="str")), "ab")


# --- numbers (22.9, 22.16) ----------------------------------------------------------------


@pytest.mark.parametrize("expression, fits", [
    ("2 ^ 2049", True), ("2 ^ 4095", True), ("2 ^ 4096", False), ("3 ^ 2584", True), ("3 ^ 2585", False),
    ("(2 ^ 2048) * (2 ^ 2047)", True), ("(2 ^ 2048) * (2 ^ 2048)", False),
    ("(2 ^ 4095) + (2 ^ 4095)", False), ("0 - (2 ^ 4095) - (2 ^ 4095)", False),
    ("1 ^ 100000", True), ("(0 - 1) ^ 100001", True), ("0 ^ 100000", True),
])
def test_integers_are_bounded_exactly_at_4096_bits(expression, fits):
    source = f"x = {expression};"
    if fits:
        value = rasp.from_source(source)["x"]
        assert value == eval(expression.replace("^", "**"))  # noqa: S307 - our own literals
        assert value.bit_length() <= 4096
    else:
        with pytest.raises(RaspError, match="4,096 bits"):
            rasp.from_source(source)


def test_a_loop_that_doubles_a_number_stops_and_every_integer_prints():
    with pytest.raises(RaspError, match="4,096 bits"):
        rasp.from_source("x = 1; for i in range(10000) { x = x + x; }")
    biggest = rasp.from_source("x = 2 ^ 4095 - 1 + 2 ^ 4095;")["x"]
    assert len(str(biggest)) > 1200  # under Python's 4,300-digit printing limit


@pytest.mark.parametrize("digits, fits", [(1233, True), (1234, False), (4301, False), (5000, False), (100_000, False)])
def test_integer_literals_at_the_limit(digits, fits):
    source = "x = " + "1" * digits + ";"
    if fits:
        assert rasp.from_source(source)["x"] == int("1" * digits)
    else:
        with pytest.raises(RaspError, match="integer literal too large"):
            rasp.from_source(source)


@pytest.mark.parametrize("text, needle", [
    ("[" + "1" * 5000 + "]", "64 bits"),
    ("[" + "1" * 25 + "]", "64 bits"),
    ("[18446744073709551616]", "64 bits"),
    ("[-9223372036854775809]", "64 bits"),
    ("[" * 30000 + "]" * 30000, "nested too deeply"),
    ("[1e999]", "finite"),
])
def test_json_inputs_at_the_limits_are_clean_errors(capsys, work, text, needle):
    code, _, err = cli(capsys, "run", "rev.rasp", "--input-json", text)
    assert code == 1 and needle in err


def test_json_integers_inside_64_bits_are_kept(capsys, work):
    (work / "ints.rasp").write_text("x = tokens_int;")
    code, out, _ = cli(capsys, "run", "ints.rasp", "--input-json", json.dumps([2**63 - 1, -(2**63)]), "--json")
    assert code == 0 and json.loads(out)["output"] == [2**63 - 1, -(2**63)]


@pytest.mark.parametrize("token", ["12345678901234567890", "-99999999999999999999", 1e300, -1e19])
def test_tokens_int_of_a_number_outside_64_bits_is_refused(token):
    with pytest.raises(RaspError, match="64 bits"):
        rasp.from_source("x = tokens_int;")([token])


@pytest.mark.parametrize("token", ["1e999", "nan", "-inf"])
def test_tokens_float_of_text_that_is_not_finite_is_refused(token):
    with pytest.raises(RaspError, match="tokens_float"):
        rasp.from_source("x = tokens_float;")([token])


def test_tokens_bool_of_numbers_is_their_truthiness():
    # the reference converts numbers with bool(): 0.5 and 2 are true, 0 is false
    assert rasp.from_source("x = tokens_bool;")([0.5, 2, 0, -1.5]) == [True, True, False, True]


# --- sources: byte-order mark, nesting (22.16) --------------------------------------------


def test_a_byte_order_mark_starts_a_source(capsys, work):
    (work / "bom.rasp").write_bytes(b"\xef\xbb\xbf" + REVERSE.encode())
    code, out, _ = cli(capsys, "run", "bom.rasp", "--input", "ab")
    assert code == 0 and "[b, a]" in out
    (work / "lib.rasp").write_bytes(b"\xef\xbb\xbfhelper = tokens;\n")
    assert rasp.from_source('load "lib"; y = helper;', filename=str(work / "main.rasp"))("ab") == ["a", "b"]


def test_nesting_is_bounded_with_the_bound_named():
    from rasp.language.parser import MAX_NESTING

    deep = "x = " + "(" * MAX_NESTING + "1" + ")" * MAX_NESTING + ";"
    assert rasp.from_source(deep)["x"] == 1
    for depth in (MAX_NESTING + 1, 100_000):
        with pytest.raises(RaspError, match=f"nested over {MAX_NESTING:,}") as info:
            rasp.from_source("x = " + "[" * depth + "1" + "]" * depth + ";")
        assert len(info.value.format()) < 1000  # the quoted line is a window, not 100,000 brackets
    # brackets inside strings and comments are not nesting
    assert rasp.from_source('x = "' + "(" * 2000 + '"; # ' + "[" * 2000)["x"] == "(" * 2000


# --- load (22.7, 23.10) ---------------------------------------------------------------------


def _load_error(source: str, folder: Path) -> RaspError:
    with pytest.raises(RaspError) as info:
        rasp.from_source(source, filename=str(folder / "main.rasp"))
    return info.value


def test_load_of_a_link_loop_is_a_clean_error(work):
    (work / "self.rasp").symlink_to("self.rasp")
    (work / "a.rasp").symlink_to("b.rasp")
    (work / "b.rasp").symlink_to("a.rasp")
    for name in ("self", "self.rasp", "a", "b.rasp"):
        error = _load_error(f'load "{name}";', work)
        assert isinstance(error, RaspLoadError) and "cannot load" in error.message


@pytest.mark.parametrize("name", [".netrc", "secret.txt", "notes", "secret.tsv", "data.rasp.txt"])
def test_load_reads_only_rasp_sources(work, name):
    secret = "machine example.com login bob password hunter2"
    (work / name).write_text(secret + "\n")
    error = _load_error(f'load "{name}";', work)
    assert secret not in error.format() and "hunter2" not in error.format()


def test_load_finds_rasp_files_whatever_the_case_of_the_suffix(work):
    (work / "Upper.RASP").write_text("up = tokens;\n")
    (work / "lower.rasp").write_text("low = tokens;\n")
    prog = rasp.from_source('load "Upper.RASP"; load "lower"; x = up;', filename=str(work / "main.rasp"))
    assert prog("ab") == ["a", "b"] and "low" in prog


def test_load_refuses_a_rasp_link_to_another_kind_of_file(work):
    (work / "secret.txt").write_text("password hunter2\n")
    (work / "lib.rasp").symlink_to("secret.txt")
    assert "hunter2" not in _load_error('load "lib";', work).format()


@pytest.mark.parametrize("content", [
    "machine example.com login bob password hunter2\n",
    "\n\n  password = hunter2 hunter2\nmore\n",
    "hunter2\n",
    "# a comment\nhunter2 hunter2;\n",
])
def test_a_loaded_file_that_does_not_parse_from_its_start_is_not_quoted(work, content):
    (work / "secret.rasp").write_text(content)
    error = _load_error('load "secret";', work)
    assert "hunter2" not in error.format() and "not RASP source" in error.message


def test_a_loaded_file_that_fails_later_is_quoted_as_usual(work):
    (work / "half.rasp").write_text("x = tokens;\ny = 1 +;\n")
    error = _load_error('load "half";', work)
    assert "y = 1 +;" in error.format()


def test_the_load_roots_check_is_one_function_builtins_can_share(work):
    from rasp.language.sandbox import find_inside, program_roots

    (work / "lexicon.tsv").write_text("good\t1\n")
    roots = program_roots(None, work / "nowhere")
    assert find_inside("lexicon.tsv", roots, (".tsv",)) == (work / "lexicon.tsv").resolve()
    assert find_inside("lexicon", roots, (".tsv",)) == (work / "lexicon.tsv").resolve()
    assert find_inside("/etc/passwd", roots, (".tsv",)) is None
    assert find_inside("../x.tsv", roots, (".tsv",)) is None


# --- the step budget of maps (22.14, 23.8) --------------------------------------------------

HEAVY = """
def heavy(x) {
    s = 0;
    for i in range(500) { s = s + 1; }
    return x + s;
}
y = map(heavy, tokens_int);
"""


def test_a_heavy_map_over_many_values_shares_one_budget(monkeypatch):
    monkeypatch.setattr(interpreter_module, "MAX_STEPS", 20_000)
    prog = rasp.from_source(HEAVY)
    assert prog([1, 2, 3]) == [501, 502, 503]  # three values: well inside the budget
    with pytest.raises(RaspError, match="distinct arguments"):
        prog(list(range(200)))  # 200 x ~500 steps: over 20,000 + 100 per value
    with pytest.raises(RaspError, match="distinct arguments"):  # compiling infers its values under the same budget
        rasp.compile(prog, list(range(200)), 2)


def test_a_cheap_map_over_many_values_is_not_refused():
    prog = rasp.from_source("def f(x) { return x + 1; } y = map(lambda t: f(t) * 2, tokens_int);")
    values = list(range(2000))
    assert prog(values) == [(v + 1) * 2 for v in values]


# --- argument handling (22.10, 22.16, 23.12) ------------------------------------------------


def test_compile_and_train_of_a_selector_are_clean_errors(capsys, work):
    for argv in (["compile", "rev.rasp", "--vocab", "ab", "--max-len", "3", "--sop", "flip"],
                 ["train", "rev.rasp", "--vocab", "ab", "--max-len", "3", "--sop", "flip", "--steps", "1"],
                 ["verify", "rev.rasp", "--vocab", "ab", "--max-len", "3", "--sop", "flip"],
                 ["draw", "rev.rasp", "--input", "ab", "--vocab", "ab", "--max-len", "3", "--sop", "flip", "-o", "f.dot"]):
        code, _, err = cli(capsys, *argv)
        assert code == 1 and "is a selector" in err, argv
    assert sorted(p.name for p in work.iterdir()) == ["rev.rasp"]


@pytest.mark.parametrize("argv, needle", [
    (["draw", "rev.rasp", "--input", "ab", "--vocab", "ab", "--max-len", "-1", "-o", "g.dot"], "at least 1"),
    (["draw", "rev.rasp", "--input", "ab", "--vocab", "ab", "--max-len", "0", "-o", "g.dot"], "at least 1"),
    (["eval", "rev.rasp", "c.tsv", "--show", "-1"], "--show"),
    (["train", "rev.rasp", "--vocab", "ab", "--max-len", "2", "--seed", "-1"], "--seed"),
    (["train", "rev.rasp", "--vocab", "ab", "--max-len", "2", "--seed", str(2**70)], "--seed"),
    (["train", "rev.rasp", "--vocab", "ab", "--max-len", "2", "--seed", "9" * 5000], "too many digits"),
    (["run", "rev.rasp", "--input", "ab", "--sop", ""], "--sop"),
    (["run", "rev.rasp", "--input", "ab", "--sop", "  "], "--sop"),
])
def test_meaningless_numbers_and_names_are_usage_errors(capsys, work, argv, needle):
    code, _, err = cli(capsys, *argv)
    assert code in (1, 2) and needle in err  # a usage error (2) or, for draw's guard, a clean error (1)
    assert sorted(p.name for p in work.iterdir()) == ["rev.rasp"]


def test_seeds_up_to_2_to_the_64_are_accepted():
    from rasp.cli.args import seed_int

    assert seed_int(str(2**64 - 1)) == 2**64 - 1 and seed_int("0") == 0


def test_a_vocabulary_of_negative_numbers_needs_no_equals_sign(capsys, work):
    (work / "ints.rasp").write_text("x = tokens_int + 1;")
    code, out, err = cli(capsys, "compile", "ints.rasp", "--vocab", "-1,2", "--max-len", "2", "-o", "m.safetensors")
    assert code == 0, err
    assert rasp.load_model(work / "m.safetensors").run(["-1", "2"]) == [0, 3]
    code, out, _ = cli(capsys, "run", "rev.rasp", "--input", "-ab")
    assert code == 0 and "[b, a, -]" in out
    code, _, err = cli(capsys, "compile", "ints.rasp", "--vocab", "--max-len", "2")  # a missing value stays an error
    assert code == 2


def test_draw_in_a_program_writes_only_when_asked(capsys, work):
    pytest.importorskip("graphviz")
    (work / "d.rasp").write_text(REVERSE + 'for i in range(5) { draw(reverse, "abc"); }\nout = reverse;\n')
    code, _, err = cli(capsys, "run", "d.rasp", "--input", "ab")
    assert code == 0 and "wrote no file" in err and err.count("warning") == 1
    code, _, _ = cli(capsys, "compile", "d.rasp", "--vocab", "ab", "--max-len", "2", "-o", "d.safetensors")
    assert code == 0
    assert sorted(p.name for p in work.iterdir()) == ["d.rasp", "d.safetensors", "rev.rasp"]
    import shutil

    if shutil.which("dot"):
        code, _, _ = cli(capsys, "run", "d.rasp", "--input", "ab", "--draw")
        assert code == 0 and len(list(work.glob("reverse*.svg"))) == 5


# --- saved models: trace/view flags (23.12), compare's program (23.1, 22.16) --------------


@pytest.fixture
def saved(capsys, work) -> Path:
    code, _, err = cli(capsys, "compile", "rev.rasp", "--vocab", "abc", "--max-len", "4", "-o", "rev.safetensors")
    assert code == 0, err
    return work / "rev.safetensors"


@pytest.mark.parametrize("flags, needle", [
    (["--vocab", "ab"], "--vocab"), (["--max-len", "3"], "--max-len"), (["--causal"], "--causal"),
    (["--sop", "nope"], "'nope'"),
])
def test_trace_and_view_of_a_saved_model_refuse_compile_flags(capsys, saved, flags, needle):
    for command in (["trace"], ["view", "-o", "v.html"]):
        code, _, err = cli(capsys, command[0], saved, "--input", "ab", *command[1:], *flags)
        assert code == 1 and needle in err
    assert not Path("v.html").exists()
    code, out, _ = cli(capsys, "trace", saved, "--input", "ab", "--sop", "reverse")  # its own output is fine
    assert code == 0 and "output: b a" in out


def test_compare_checks_the_program_given(capsys, work, saved):
    (work / "sort.rasp").write_text("sorted_tokens = sort(tokens, tokens);\n")
    code, _, err = cli(capsys, "compare", "sort.rasp", saved, "--samples", "5", "--json")
    assert code == 1 and "'reverse'" in err and "'sorted_tokens'" in err and "another program" in err
    (work / "other.rasp").write_text(REVERSE.replace("aggregate(flip, tokens)", "aggregate(flip, tokens) + \"!\""))
    code, _, err = cli(capsys, "compare", "other.rasp", saved, "--samples", "5", "--json")
    assert code == 1 and "another program" in err
    code, out, err = cli(capsys, "compare", "rev.rasp", saved, "--samples", "5", "--json")
    assert code == 0, err
    assert {h["compiled"] for h in json.loads(out)["heads"]} >= {"reverse"}


def test_compare_writes_a_png_only_under_a_png_name(capsys, work, saved):
    code, _, err = cli(capsys, "compare", "rev.rasp", saved, "-o", "file.txt")
    assert code == 1 and ".png" in err and not (work / "file.txt").exists()


# --- deep programs compile (22.10) ------------------------------------------------------------


def test_a_chain_deeper_than_the_recursion_limit_compiles():
    chain = "x = tokens;\n" + "x = aggregate(select(indices, indices, ==), x);\n" * 200 + "y = x;\n"
    prog = rasp.from_source(chain)
    old_limit = sys.getrecursionlimit()
    sys.setrecursionlimit(500)  # as if the chain were ten times longer: the walk needs about 800 frames
    try:
        model = rasp.compile(prog, ["a", "b"], 2)
    finally:
        sys.setrecursionlimit(old_limit)
    assert model.module.cfg.n_layers == 200 and model.run("ab") == ["a", "b"]
