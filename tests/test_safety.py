"""Issue 8, hardening: what `load` may read, outputs that never clobber, tamper-evident
model files, bounded work, clean errors for hostile inputs, and the piped REPL's status."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pytest

import rasp
import rasp.files
from rasp.cli import main
from rasp.cli.app import to_json
from rasp.cli.repl import MAX_LINE_LENGTH, ReplSession, plain_loop
from rasp.errors import (
    RaspArgumentError,
    RaspError,
    RaspInputError,
    RaspLoadError,
    RaspValueError,
)
from rasp.files import MAX_SOURCE_BYTES
from rasp.language import interpreter

PROGRAMS = Path(__file__).resolve().parent.parent / "programs"
SECRET = "s3cr3t-line-that-must-never-be-shown"


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


# --- 1. load reads only inside the allowed folders ------------------------------------------------


@pytest.fixture
def project(tmp_path, monkeypatch):
    """work/ is the working folder, with work/lib/; outside/ holds a 'secret' file."""
    work, outside = tmp_path / "work", tmp_path / "outside"
    (work / "lib").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.rasp").write_text(f"{SECRET} = ;\n")  # a syntax error that would echo the line
    (work / "lib" / "helper.rasp").write_text("helped = tokens;\n")
    monkeypatch.chdir(work)
    return work, outside


def load_error(source: str, where: Path) -> RaspLoadError:
    main_file = where / "main.rasp"
    main_file.write_text(source)
    with pytest.raises(RaspLoadError) as info:
        rasp.load(main_file)
    return info.value


@pytest.mark.parametrize("target", ["{outside}/secret.rasp", "{outside}/secret", "../outside/secret.rasp",
                                    "lib/../../outside/secret"])
def test_load_refuses_files_outside_and_never_shows_them(project, target):
    work, outside = project
    target = target.format(outside=outside)
    err = load_error(f'load "{target}";\n', work)
    text = err.format()
    assert target in text and SECRET not in text
    assert err.pos is not None and err.pos.line == 1


def test_load_refuses_a_link_that_leads_outside(project):
    work, outside = project
    (work / "lib" / "innocent.rasp").symlink_to(outside / "secret.rasp")
    err = load_error('load "lib/innocent";\n', work)
    assert "lib/innocent" in err.format() and SECRET not in err.format()


def test_load_refuses_system_files(project):
    work, _ = project
    for target in ("/etc/passwd", "/proc/self/environ", "../../../../../../etc/passwd"):
        text = load_error(f'load "{target}";\n', work).format()
        assert target in text
        assert "root:" not in text and "PATH=" not in text


def test_load_reads_below_the_files_folder_the_working_folder_and_the_stdlib(project, tmp_path):
    work, _ = project
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "sub").mkdir(parents=True)
    (elsewhere / "sub" / "near.rasp").write_text("near = indices;\n")
    (elsewhere / "main.rasp").write_text('load "sub/near"; load "lib/helper.rasp"; load "rasplib"; out = near;\n')
    prog = rasp.load(elsewhere / "main.rasp")  # near: beside the file; lib/helper: the working folder
    assert prog("abc") == [0, 1, 2]
    assert prog("ab", "helped") == ["a", "b"]


@pytest.mark.parametrize("name", ["a" * 5000, "a/" * 3000, "", ".", "/", "~"])
def test_odd_load_names_are_clean_errors(project, name):
    work, _ = project
    err = load_error(f'load "{name}";\n', work)
    assert "cannot load" in err.message and len(err.message) < 600


def test_a_loop_of_loads_is_capped(project, monkeypatch):
    work, _ = project
    monkeypatch.setattr(interpreter, "MAX_STEPS", 50_000)
    (work / "small.rasp").write_text("x = tokens;\n")
    (work / "main.rasp").write_text('for i in range(100000) { load "small"; }\n')
    with pytest.raises(RaspValueError, match="too much work"):
        rasp.load(work / "main.rasp")


def test_repl_load_statement_is_confined_too(project):
    _, outside = project
    session = ReplSession()
    out = session.feed(f'load "{outside}/secret.rasp";')
    assert "load error" in out and SECRET not in out and session.failed


# --- 2. outputs never clobber ------------------------------------------------------------------


@pytest.fixture
def small_program(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    p = tmp_path / "prog.rasp"
    p.write_text("out = aggregate(select(indices, length - indices - 1, ==), tokens, \"_\");\n")
    return p


def test_compile_never_overwrites_the_program(capsys, small_program):
    before = small_program.read_bytes()
    code, _, err = cli(capsys, "compile", small_program, "--vocab", "a,b", "--max-len", "3", "-o", small_program,
                       "--force")
    assert code == 1 and "source" in err
    assert small_program.read_bytes() == before


def test_compile_default_output_and_force(capsys, small_program, tmp_path):
    args = ["compile", small_program, "--vocab", "a,b", "--max-len", "3", "--json"]
    code, out, _ = cli(capsys, *args)
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prog.rasp", "prog.safetensors"]
    assert json.loads(out)["verified_inputs"] > 0
    written = (tmp_path / "prog.safetensors").stat().st_mtime_ns
    code, _, err = cli(capsys, *args)
    assert code == 1 and "--force" in err
    assert (tmp_path / "prog.safetensors").stat().st_mtime_ns == written
    code, _, _ = cli(capsys, *args, "--force")
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prog.rasp", "prog.safetensors"]  # no temporary files


@pytest.mark.parametrize("out, needle", [("missing/m.safetensors", "does not exist"), (".", "folder")])
def test_compile_bad_output_path(capsys, small_program, out, needle):
    code, _, err = cli(capsys, "compile", small_program, "--vocab", "a,b", "--max-len", "3", "-o", out)
    assert code == 1 and needle in err


def test_draw_refuses_to_clobber(capsys, small_program, tmp_path):
    target = tmp_path / "g.dot"
    target.write_text("keep me")
    code, _, err = cli(capsys, "draw", small_program, "--input", "ab", "-o", target)
    assert code == 1 and "--force" in err and target.read_text() == "keep me"
    code, _, err = cli(capsys, "draw", small_program, "--input", "ab", "-o", small_program, "--force")
    assert code == 1 and small_program.read_text().startswith("out =")
    code, _, _ = cli(capsys, "draw", small_program, "--input", "ab", "-o", target, "--force")
    assert code == 0 and target.read_text().startswith("digraph")


def test_written_files_get_the_usual_permissions(tmp_path):
    from rasp.files import write_atomic

    old = os.umask(0o022)
    try:
        assert (write_atomic(tmp_path / "new.dot", "x").stat().st_mode & 0o777) == 0o644
    finally:
        os.umask(old)
    kept = tmp_path / "kept.dot"
    kept.write_text("old")
    kept.chmod(0o640)
    write_atomic(kept, "new")
    assert kept.read_text() == "new" and (kept.stat().st_mode & 0o777) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.dot", "new.dot"]


# --- 3. model files are tamper-evident -----------------------------------------------------------


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> Path:
    pytest.importorskip("torch")
    prog = rasp.from_source('x = aggregate(select(indices, length - indices - 1, ==), tokens, "_");')
    path = tmp_path_factory.mktemp("model") / "rev.safetensors"
    rasp.compile(prog, vocab="abc", max_len=4).save(path)
    return path


def _edit_header(data: bytes, edit) -> bytes:
    """Rewrite the safetensors JSON header with `edit`, keeping the tensor bytes."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + n])
    edit(header)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + data[8 + n :]


def _reverse_vocab(header: dict) -> None:
    meta = json.loads(header["__metadata__"]["rasp.meta"])
    meta["vocab"] = meta["vocab"][::-1]
    header["__metadata__"]["rasp.meta"] = json.dumps(meta, sort_keys=True)


def _new_format(header: dict) -> None:
    header["__metadata__"]["rasp.format"] = "rasp-model/999"


def test_saved_model_round_trips(saved_model):
    model = rasp.load_model(saved_model)
    assert model.run("abc") == ["c", "b", "a"]


@pytest.mark.parametrize(
    "tamper, needle",
    [
        (lambda d: _edit_header(d, _reverse_vocab), "modified"),
        (lambda d: _edit_header(d, _new_format), "format"),
        (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "modified"),  # one bit of one weight
        (lambda d: d[: len(d) // 2], "not a rasp model"),  # truncated
        (lambda d: d[:5], "not a rasp model"),
        (lambda d: b"\x80\x04\x95" + d[3:], "not a rasp model"),  # a pickle's first bytes
        (lambda d: b"", "not a rasp model"),
    ],
)
def test_tampered_model_is_refused(saved_model, tmp_path, tamper, needle):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(tamper(saved_model.read_bytes()))
    with pytest.raises(RaspLoadError) as info:
        rasp.load_model(bad)
    assert needle in info.value.message


def test_show_model_on_a_tampered_file_is_a_clean_error(capsys, saved_model, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(_edit_header(saved_model.read_bytes(), _reverse_vocab))
    code, _, err = cli(capsys, "show-model", bad, "--input", "ab", "-o", tmp_path / "m.png")
    assert code == 1 and "modified" in err and not (tmp_path / "m.png").exists()


# --- 4. bounded work ---------------------------------------------------------------------------------


def test_run_dev_zero_is_quick_and_clean(capsys):
    start = time.perf_counter()
    code, _, err = cli(capsys, "run", "/dev/zero", "--input", "a")
    assert code == 1 and "not a regular file" in err
    assert time.perf_counter() - start < 5


def test_oversized_source_is_refused(capsys, tmp_path):
    big = tmp_path / "big.rasp"
    big.write_text("# " + "x" * MAX_SOURCE_BYTES + "\n")
    for argv in (["run", big, "--input", "a"], ["check", big], ["layers", big]):
        code, _, err = cli(capsys, *argv)
        assert code == 1 and "limit" in err


def test_source_cap_can_be_changed(monkeypatch, tmp_path):
    src = tmp_path / "p.rasp"
    src.write_text("x = tokens;  # " + "padding " * 20 + "\n")
    assert rasp.load(src)("ab") == ["a", "b"]
    monkeypatch.setattr(rasp.files, "MAX_SOURCE_BYTES", 100)
    with pytest.raises(RaspLoadError, match="limit"):
        rasp.load(src)


@pytest.mark.parametrize(
    "source, needle",
    [
        ('s = "ab"; for i in range(64) { s = s + s; }', "string too long"),
        ("l = [1, 2]; for i in range(64) { l = l + l; }", "list too long"),
        ("n = 3; for i in range(64) { n = n * n; }", "number too large"),
        ("n = 7 ^ 4000;", "number too large"),
        ('s = tokens; for i in range(64) { s = s + s; } v = s("ab");', "string too long"),
    ],
)
def test_growing_values_are_capped(source, needle):
    with pytest.raises(RaspValueError) as info:
        rasp.from_source(source)
    assert needle in info.value.message and info.value.pos is not None


@pytest.mark.parametrize(
    "source",
    [
        "x = [[j for j in range(1000)] for i in range(1000)];",
        "for i in range(1000) { for j in range(1000) { k = i; } }",
        "def f(n) { return 0 if n == 0 else f(n - 1) + f(n - 1); } y = f(40);",
    ],
)
def test_loop_and_call_work_is_capped(monkeypatch, source):
    monkeypatch.setattr(interpreter, "MAX_STEPS", 20_000)
    start = time.perf_counter()
    with pytest.raises(RaspValueError) as info:
        rasp.from_source(source)
    assert "too much work" in info.value.message and info.value.pos is not None
    assert time.perf_counter() - start < 10


def test_work_in_a_mapped_function_is_capped_when_evaluated(monkeypatch):
    monkeypatch.setattr(interpreter, "MAX_STEPS", 20_000)
    prog = rasp.from_source(
        "def fib(n) { return 1 if n < 2 else fib(n - 1) + fib(n - 2); } y = map(lambda v: fib(v + 30), indices);"
    )
    with pytest.raises(RaspValueError, match="too much work"):
        prog("ab")


def test_work_budget_is_per_statement(monkeypatch):
    monkeypatch.setattr(interpreter, "MAX_STEPS", 2_000)
    prog = rasp.from_source("a = [i for i in range(1500)]; b = [i for i in range(1500)]; n = len(a) + len(b);")
    assert prog["n"] == 3000


# --- 5. no tracebacks ---------------------------------------------------------------------------------


@pytest.mark.parametrize("content, needle", [(b"\x00\x01binary\xff", "binary"), (b"x = \"\xff\xfe\";", "UTF-8")])
def test_binary_and_non_utf8_sources(capsys, tmp_path, monkeypatch, content, needle):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.rasp").write_bytes(content)
    for argv in (["run", "bad.rasp", "--input", "a"], ["check", "bad.rasp"], ["layers", "bad.rasp"]):
        code, _, err = cli(capsys, *argv)
        assert code == 1 and needle in err
    (tmp_path / "main.rasp").write_text('load "bad";\n')
    code, _, err = cli(capsys, "run", "main.rasp", "--input", "a")
    assert code == 1 and needle in err
    session = ReplSession()
    assert needle in session.feed(":load bad.rasp") and session.failed


@pytest.mark.parametrize("tokens", ["[18446744073709551616]", "[-99999999999999999999999999]", "[NaN]",
                                    "[Infinity, 1]", "[1e999]", "[[1]]", "[null]", "{}"])
def test_hostile_json_inputs(capsys, tokens):
    code, out, err = cli(capsys, "run", PROGRAMS / "reverse.rasp", "--input-json", tokens, "--json")
    assert code == 1 and out == "" and "input error" in err


def test_non_finite_values_are_errors_not_output():
    prog = rasp.from_source("x = tokens_float + tokens_float; y = tokens_float * 10; z = map(lambda v: v - -v, tokens_float);")
    for name in "xyz":
        with pytest.raises(RaspError):
            prog([1.5e308], name)
    with pytest.raises(RaspValueError):
        to_json({"output": [float("nan")]})
    assert json.loads(to_json({"output": [1.5, 2]})) == {"output": [1.5, 2]}


@pytest.mark.parametrize(
    "args, options",
    [
        (("programs/reverse.rasp", "abc", 4), {}),
        ((None, "abc", 4), {}),
        (("PROG", None, 4), {}),
        (("PROG", 12, 4), {}),
        (("PROG", [["a"]], 4), {}),
        (("PROG", "abc", "4"), {}),
        (("PROG", "abc", 2.5), {}),
        (("PROG", "abc", True), {}),
        (("PROG", "abc", 4), {"causal": "no"}),
        (("PROG", "abc", 4), {"output": 7}),
        (("PROG", "abc", 4), {"max_length": 7}),
    ],
)
def test_compile_with_wrong_argument_types(args, options):
    prog = rasp.from_source("x = reverse;")
    args = tuple(prog if a == "PROG" else a for a in args)
    with pytest.raises(RaspArgumentError) as info:
        rasp.compile(*args, **options)
    assert info.value.message.startswith("rasp.compile:")


def test_check_on_a_huge_sum_is_a_clean_error(capsys, tmp_path):
    src = tmp_path / "sum.rasp"
    src.write_text("x = " + " + ".join(["1"] * 10_000) + ";\n")
    code, _, err = cli(capsys, "check", src)
    assert code == 1 and "nested too deeply" in err


def test_very_long_repl_lines_are_refused():
    session = ReplSession()
    out = session.feed("x = " + "1 + " * MAX_LINE_LENGTH + "1;")
    assert "line too long" in out and session.failed and not session.pending
    assert "value: y = 2" in session.feed("y = 2;")


def test_a_long_pasted_statement_is_not_reparsed_on_every_line():
    lines = ["def big(x) {"] + [f"  v{i} = x + {i};  # }} ;" for i in range(3000)] + ["  return v0;", "}"]
    lines += ["xs = [", *[f'  "{i}",' for i in range(3000)], "  # ]", '  "(end]"', "];", "n = len(xs);"]
    session = ReplSession()
    start = time.perf_counter()
    out = session.feed("\n".join(lines))
    assert time.perf_counter() - start < 20
    assert "function big(x)" in out and "value: n = 3001" in out and not session.failed


def test_piped_repl_never_holds_a_huge_line():
    stdin = io.StringIO("a = 1;\n" + "x" * (5 * MAX_LINE_LENGTH) + "\nb = 2;\n")
    lines: list[str] = []
    assert plain_loop(ReplSession(), stdin, lines.append) == 1
    text = "".join(lines)
    assert "value: a = 1" in text and "line too long" in text and "value: b = 2" in text


# --- 6. inputs that are accepted but wrong ---------------------------------------------------------


@pytest.mark.parametrize("vocab", [",,,", "a,,b", ",a", "a,"])
def test_vocab_with_empty_tokens(capsys, small_program, vocab):
    code, _, err = cli(capsys, "verify", small_program, "--vocab", vocab, "--max-len", "2")
    assert code == 1 and "empty token" in err


def test_input_and_input_json_together(capsys):
    code, _, err = cli(capsys, "run", PROGRAMS / "reverse.rasp", "--input", "ab", "--input-json", '["c"]')
    assert code == 1 and "not both" in err


@pytest.mark.parametrize("flag, value", [("--exhaustive", "-1"), ("--samples", "-5"), ("--max-len", "0"),
                                         ("--max-len", "-2")])
def test_verify_negative_budgets_are_refused(capsys, small_program, flag, value):
    argv = ["verify", small_program, "--vocab", "a,b", "--max-len", "2", flag, value]
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in argv])
    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_verify_that_checks_nothing_is_not_ok(capsys, small_program):
    code, _, err = cli(capsys, "verify", small_program, "--vocab", "a,b", "--max-len", "2", "--exhaustive", "0",
                       "--samples", "0")
    assert code == 1 and "no inputs were checked" in err


def test_causal_verify_checks_every_prefix(capsys, tmp_path):
    pytest.importorskip("torch")
    # Sorting needs the future: a causal model cannot compute it, and verify must say so.
    code, out, err = cli(capsys, "verify", PROGRAMS / "sort.rasp", "--vocab", "a,b,c", "--max-len", "3",
                         "--causal", "--json")
    assert code == 1 and json.loads(out)["mismatches"] > 0 and json.loads(out)["reference"] == "prefixes"
    assert "mismatch on" in err
    code, out, err = cli(capsys, "compile", PROGRAMS / "sort.rasp", "--vocab", "a,b,c", "--max-len", "3",
                         "--causal", "-o", tmp_path / "sort.safetensors")
    assert code == 1 and "every prefix" in out and "nothing saved" in out and "mismatch on" in err
    assert not (tmp_path / "sort.safetensors").exists()
    # A prefix count is the same with or without the mask: verified ok, against prefixes.
    count = tmp_path / "count.rasp"
    count.write_text('c = aggregate(select(indices, indices, <=), indicator(tokens == "a"));\n')
    code, out, _ = cli(capsys, "verify", count, "--vocab", "a,b", "--max-len", "4", "--causal")
    assert code == 0 and "every prefix" in out


@pytest.mark.parametrize(
    "raw, expected",
    [
        ([3, 1.5], ["3", "1.5"]),
        ([3, 1], ["3", "1"]),
        ([True, 1], ["True", "1"]),
        ([2.0, False], ["2.0", "False"]),
    ],
)
def test_json_tokens_keep_their_types(capsys, raw, expected):
    prog = rasp.from_source("s = tokens_str;")
    assert prog(raw) == expected
    assert prog.batch([raw, [7] * len(raw)]) == [expected, ["7"] * len(raw)]
    code, out, _ = cli(capsys, "run", PROGRAMS / "reverse.rasp", "--input-json", json.dumps(raw), "--json")
    assert code == 0 and json.loads(out)["output"] == expected[::-1]


def test_json_number_tokens_as_numbers():
    prog = rasp.from_source("f = tokens_float; b = tokens_bool; i = tokens_int;")
    assert prog([3, 1.5], "f") == [3.0, 1.5]
    assert prog([True, 0], "b") == [True, False]
    assert prog([True, 2], "i") == [1, 2]
    # Python's int(), as the reference: numbers truncate, a string must spell an integer
    assert prog([3, 1.5], "i") == [3, 1] and prog([2.5, -1.9], "i") == [2, -1]
    with pytest.raises(RaspInputError, match="the input has '2.5'$"):
        prog(["2.5", "1"], "i")


# --- 7. the piped REPL's exit status ----------------------------------------------------------------


@pytest.mark.parametrize(
    "stdin, status",
    [
        ("x = 1 +;\n", 1),
        ("x = 1;\ny = nope;\nz = 2;\n", 1),
        (":nocommand\n", 1),
        ("x = indices +\n", 1),  # unfinished at the end
        ("x = 1;\ny = x + 1;\n", 0),
        ("x = 1;\nexit\ny = nope;\n", 0),  # nothing failed before leaving
        ("x = nope;\nexit\n", 1),
    ],
)
def test_piped_repl_exit_status(stdin, status):
    assert plain_loop(ReplSession(), io.StringIO(stdin), lambda text: None) == status

