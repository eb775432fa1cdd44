"""The REPL: ReplSession driven directly, the prompt_toolkit loop, and `python -m rasp` piped."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rasp.cli.repl import ReplSession, make_history, prompt_loop

REPO = Path(__file__).resolve().parent.parent

REVERSE = "x = aggregate(select(indices, length - indices - 1, ==), tokens);"


@pytest.fixture
def session():
    return ReplSession()


def lines_of(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


# --- values on the example ------------------------------------------------------------------


def test_assignment_shows_value_on_example(session):
    out = session.feed(REVERSE)
    assert lines_of(out) == [
        "s-op: x",
        '     Example: x("hello") = [o, l, l, e, h] (strings)',
    ]


def test_numbers_lists_dicts_and_functions(session):
    assert session.feed("3 + 4;") == "value: out = 7"
    assert session.feed('l = [1, "a"];') == 'list: l = [1, "a"]'
    assert session.feed('d = {"a": 1};') == 'dict: d = {"a": 1}'
    assert session.feed("def g(a, b) { return a; }") == "function g(a, b)"
    assert session.feed('s = "hi";') == 'value: s = "hi"'


def test_multiline_def_continues_until_block_closes(session):
    assert session.feed("def f(a, b) {") == ""
    assert session.pending
    assert session.feed("    # a comment inside the body") == ""
    assert session.feed("    c = a + b;") == ""
    assert session.pending
    assert session.feed("    return c;") == ""
    assert session.feed("}") == "function f(a, b)"
    assert not session.pending
    out = session.feed("y = f(indices, indices);")
    # indices + indices on "hello": 0+0, 1+1, ...
    assert 'y("hello") = [0, 2, 4, 6, 8] (ints)' in out


def test_statement_without_semicolon_waits_for_it(session):
    assert session.feed("z = indices") == ""
    assert session.pending
    assert session.feed("  + 1") == ""
    out = session.feed(";")
    assert 'z("hello") = [1, 2, 3, 4, 5] (ints)' in out


def test_several_statements_on_one_line(session):
    out = session.feed("a = 1; b = indices * 3;")
    assert lines_of(out) == [
        "value: a = 1",
        "s-op: b",
        '     Example: b("hello") = [0, 3, 6, 9, 12] (ints)',
    ]


def test_set_and_show_example(session):
    assert session.feed("show example") == 'example: "hello"'
    assert session.feed("set example [1, 2, 3]") == "example: [1, 2, 3]"
    assert session.feed("show example") == "example: [1, 2, 3]"
    out = session.feed("n = tokens_int * 10;")
    assert "n([1, 2, 3]) = [10, 20, 30] (ints)" in out
    session.feed('set example "ab";')
    out = session.feed("r = aggregate(select(indices, length - indices - 1, ==), tokens);")
    assert 'r("ab") = [b, a] (strings)' in out


def test_set_example_rejects_non_sequences(session):
    out = session.feed("set example 5")
    assert "input error" in out
    out = session.feed('set example ""')
    assert "empty" in out
    assert session.feed("show example") == 'example: "hello"'


def test_examples_off_and_on(session):
    assert session.feed("examples off") == "examples off"
    assert session.feed("q = indices + 1;") == "s-op: q"
    assert session.feed("sel = select(indices, indices, ==);") == "selector: sel"
    session.feed("examples on")
    assert "Example" in session.feed("q;")


def test_selector_matrix_rows_are_queries(session):
    session.feed('set example "abc"')
    out = session.feed("s = select(indices, indices, <);")
    # query q selects the keys k with k < q
    assert lines_of(out) == [
        "selector: s",
        "     Example:",
        "             a b c",
        "         a | 0 0 0",
        "         b | 1 0 0",
        "         c | 1 1 0",
    ]


# --- commands --------------------------------------------------------------------------------


def test_layers(session):
    session.feed("one = aggregate(select(indices, indices, ==), tokens);")
    session.feed("two = selector_width(select(one, one, ==));")
    out = session.feed(":layers one")
    assert out.startswith("one: 1 layer, 1 head")
    out = session.feed(":layers two")
    assert out.startswith("two: 2 layers, 1 head")
    assert "layer 2" in out


def test_layers_errors(session):
    out = session.feed(":layers tokenz")
    assert "name error" in out and "did you mean 'tokens'?" in out
    session.feed("def f(a) { return a; }")
    assert "needs an s-op" in session.feed(":layers f")
    assert "needs the name" in session.feed(":layers")


def test_help_lists_commands_builtins_and_library(session):
    out = session.feed(":help")
    for expected in ["set example", "show example", "examples on|off", ":layers", ":load", ":draw",
                     ":quit", "aggregate(selector, sop[, default])", "selector_width(selector)",
                     "select(keys, queries, op)", "indices", "length"]:
        assert expected in out, expected
    # functions from stdlib/rasplib.rasp
    assert "count(seq, atom)" in out
    assert "shift(seq, n, filler)" in out
    assert "full_s" in out


def test_help_for_one_name(session):
    assert session.feed(":help count").startswith("function count(seq, atom)")
    assert session.feed(":help aggregate").startswith("builtin aggregate(selector, sop[, default])")
    assert "did you mean 'count'?" in session.feed(":help cout")


def test_unknown_command(session):
    out = session.feed(":layer x")
    assert "unknown command ':layer'" in out
    assert "did you mean ':layers'?" in out


def test_load_command_and_load_statement(session, tmp_path, monkeypatch):
    lib = tmp_path / "mylib.rasp"
    lib.write_text("def triple(a) {\n    return a * 3;\n}\nt = triple(indices);\n")
    out = session.feed(f":load {lib}")
    assert out.startswith("loaded ")
    assert "triple" in out and "t" in out.split(":")[-1]
    out = session.feed("u = t + 1;")
    assert 'u("hello") = [1, 4, 7, 10, 13] (ints)' in out

    other = tmp_path / "other.rasp"
    other.write_text("w = indices * 0 + 7;\n")
    monkeypatch.chdir(tmp_path)
    out = session.feed('load "other";')
    assert out.startswith('loaded "other"')
    assert "[7]*5 (ints)" in session.feed("w;")


def test_load_missing_file(session, tmp_path):
    out = session.feed(f":load {tmp_path / 'nope.rasp'}")
    assert "load error" in out and "cannot read" in out
    assert "load error" in session.feed('load "no_such_file_anywhere";')
    assert "s-op: x" in session.feed(REVERSE)


def test_draw_reports_cleanly(session, tmp_path):
    session.feed(REVERSE)
    target = tmp_path / "x.dot"
    out = session.feed(f":draw x -o {target}")
    try:
        import rasp.view.draw  # noqa: F401
    except ImportError:
        assert "not available" in out
    else:
        assert out.startswith("wrote ")
        assert target.exists()
    assert "needs an s-op" in session.feed(":draw 3")
    assert "-o needs a file name" in session.feed(":draw x -o")


# --- errors never end the session ---------------------------------------------------------------


def test_syntax_error_points_at_the_column(session):
    out = session.feed("x = 3 +;")
    assert lines_of(out)[:3] == [
        "<input>:1:8: syntax error: unexpected ';'; expected an expression",
        "    x = 3 +;",
        "           ^",
    ]
    assert not session.pending
    assert "s-op: x" in session.feed(REVERSE)


def test_undefined_name_has_hint(session):
    out = session.feed("y = tokns + 1;")
    assert "name error: name 'tokns' is not defined" in out
    assert "hint: did you mean 'tokens'?" in out
    assert "y = tokns + 1;" in out
    assert "value: k = 2" in session.feed("k = 2;")


def test_averaging_strings_keeps_the_definition(session):
    out = session.feed("m = aggregate(select(indices, indices, <=), tokens);")
    assert out.startswith("s-op: m\n")
    assert 'Example: m("hello") fails' in out
    assert "value error" in out and "averag" in out
    # the session goes on with a numeric example ...
    session.feed("set example [2, 4]")
    assert "[2, 3.0] (floats)" in session.feed("mi = aggregate(select(indices, indices, <=), tokens_int);")
    assert "s-op: m" in session.feed("m;")
    # ... and the session goes on
    assert "value: k = 1" in session.feed("k = 1;")


def test_error_in_second_statement_keeps_the_first(session):
    out = session.feed("a = 5; b = nope;")
    assert out.startswith("value: a = 5")
    assert "name error" in out
    assert session.feed("a;") == "value: a = 5"


def test_internal_error_is_one_line_and_session_continues(session, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(session.interp, "run_statements", broken)
    assert session.feed("a = 1;") == "internal error: ZeroDivisionError: boom"
    monkeypatch.undo()
    assert session.feed("a = 1;") == "value: a = 1"

    def broken_display(name, value):
        raise ValueError("display bug\nsecond line")

    monkeypatch.setattr(session, "describe", broken_display)
    assert session.feed("b = 2;") == "internal error: ValueError: display bug"
    monkeypatch.undo()
    assert session.feed("b;") == "value: b = 2"


def test_reset_drops_unfinished_input(session):
    session.feed("def f(a) {")
    assert session.pending
    session.reset()
    assert not session.pending
    assert session.feed("1;") == "value: out = 1"


def test_unfinished_input_at_end_is_reported(session):
    session.feed("v = indices")
    out = session.finish()
    assert "unexpected end of input" in out
    assert session.finish() == ""


def test_exit(session):
    assert session.feed("exit") == ""
    assert session.done
    assert session.feed(REVERSE) == ""
    for word in ["quit", ":quit", "exit;"]:
        s = ReplSession(interpreter=session.interp)
        s.feed(word)
        assert s.done, word


# --- the real loops -----------------------------------------------------------------------------


def test_prompt_toolkit_loop_with_pipe_input(capsys, tmp_path, monkeypatch):
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from rasp.cli.repl import main

    history = tmp_path / "history"
    monkeypatch.setenv("RASP_HISTORY", str(history))
    with create_pipe_input() as inp:
        inp.send_text(REVERSE + "\n")
        inp.send_text("def f(a) {\n  return a + 1;\n}\n")
        inp.send_text("oops(;\n")
        inp.send_text("exit\n")
        rc = main([], input=inp, output=DummyOutput())
    assert rc == 0
    out = capsys.readouterr().out
    assert 'running example is: "hello"' in out
    assert 'Example: x("hello") = [o, l, l, e, h] (strings)' in out
    assert "function f(a)" in out
    assert "syntax error" in out
    # lines typed are kept in the history file
    assert REVERSE in history.read_text()


def test_prompt_loop_ctrl_c_cancels_and_ctrl_d_exits(capsys):
    from prompt_toolkit.history import InMemoryHistory
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    session = ReplSession()
    with create_pipe_input() as inp:
        inp.send_text("def f(a) {\n")
        inp.send_text("\x03")  # Ctrl-C: the unfinished def is dropped
        inp.send_text("k = 3;\n")
        inp.send_text("\x04")  # Ctrl-D on an empty line: leave
        rc = prompt_loop(session, input=inp, output=DummyOutput(), history=InMemoryHistory())
    assert rc == 0
    assert capsys.readouterr().out == "value: k = 3\n"
    with pytest.raises(KeyError):
        session.interp.globals.lookup("f")


def test_history_falls_back_to_memory(tmp_path):
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    assert isinstance(make_history(tmp_path / "h"), FileHistory)
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert isinstance(make_history(blocked / "h"), InMemoryHistory)


def _run_piped(stdin: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, HOME=str(tmp_path))
    return subprocess.run(
        [sys.executable, "-m", "rasp"],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )


def test_piped_stdin_subprocess(tmp_path):
    lines = [
        "x = tokens; ",
        REVERSE,
        "def f(a) {",
        "  return a * 2;",
        "}",
        "y = undefined_thing;",
        "z = f(indices);",
    ]
    stdin = "".join(line + "\n" for line in lines)
    proc = _run_piped(stdin, tmp_path)
    assert proc.returncode == 1, proc.stderr  # one statement failed; the others still ran
    out = proc.stdout
    assert 'Example: x("hello") = [h, e, l, l, o] (strings)' in out
    assert 'Example: x("hello") = [o, l, l, e, h] (strings)' in out
    assert "function f(a)" in out
    assert "name 'undefined_thing' is not defined" in proc.stderr  # errors go to stderr
    assert "undefined_thing" not in out
    assert 'z("hello") = [0, 2, 4, 6, 8] (ints)' in out
    assert ">>" not in out  # no prompts when not on a terminal
    assert not (tmp_path / ".rasp_history").exists()


def test_piped_stdin_reports_unfinished_statement_at_end(tmp_path):
    proc = _run_piped("a = 1;\nb = indices +\n", tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == "value: a = 1\n" and proc.stderr.startswith("<input>:1:")
    assert "unexpected end of input" in proc.stderr


def test_piped_stdin_exit_stops_reading(tmp_path):
    proc = _run_piped("a = 1;\nexit\nb = 2;\n", tmp_path)
    assert proc.returncode == 0
    assert proc.stdout == "value: a = 1\n"


# --- a real terminal ------------------------------------------------------------------------------


def _read_until(fd: int, pattern: bytes, timeout: float = 30.0) -> bytes:
    import re
    import select
    import time

    buf = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
        if re.search(pattern, buf):
            return buf
    raise AssertionError(f"waited for {pattern!r}, got {buf!r}")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_pseudo_terminal_session(tmp_path):
    """Type into the REPL on a pty, waiting for each prompt as a person would."""
    import pty

    master, slave = pty.openpty()
    env = dict(os.environ, HOME=str(tmp_path), PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm")
    env.pop("RASP_HISTORY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rasp"], stdin=slave, stdout=slave, stderr=slave,
        env=env, cwd=REPO, close_fds=True,
    )
    os.close(slave)
    try:
        _read_until(master, rb">>")
        os.write(master, REVERSE.encode() + b"\r")
        _read_until(master, rb"\[o, l, l, e, h\] \(strings\)[^>]*>>")
        os.write(master, b"def f(a) {\r")
        _read_until(master, rb"\.\.\.")
        os.write(master, b"\x03")  # Ctrl-C drops the unfinished def
        _read_until(master, rb">>")
        os.write(master, b"f;\r")
        _read_until(master, rb"name 'f' is not defined[^>]*>>")
        os.write(master, b"\x04")  # Ctrl-D leaves
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert REVERSE in (tmp_path / ".rasp_history").read_text()


# --- editing: highlighting, suggestions, multi-line history ------------------------------------


def test_multiline_def_is_one_history_entry(capsys):
    from prompt_toolkit.history import InMemoryHistory
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    history = InMemoryHistory()
    with create_pipe_input() as inp:
        inp.send_text("def f(a) {\r  return a + 1;\r}\r")
        inp.send_text("y = f(indices);\r")
        inp.send_text("exit\r")
        rc = prompt_loop(ReplSession(), input=inp, output=DummyOutput(), history=history)
    assert rc == 0
    assert "def f(a) {\n  return a + 1;\n}" in history.get_strings()
    assert "y = f(indices);" in history.get_strings()
    assert "Example: y(\"hello\") = [1, 2, 3, 4, 5] (ints)" in capsys.readouterr().out


def test_is_complete_decides_what_enter_does():
    s = ReplSession()
    assert not s.is_complete("def f(a) {")
    assert not s.is_complete("x = select(indices,")
    assert s.is_complete("def f(a) { return a; }")
    assert s.is_complete("set example \"abc\"")
    assert s.is_complete("x = = 3;")  # a syntax error is run (and reported), not continued


def test_prompt_highlights_rasp_and_suggests_from_history():
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.lexers import PygmentsLexer
    from prompt_toolkit.output import DummyOutput

    from rasp.cli.repl import make_prompt
    from rasp.view.lexer import RaspLexer

    with create_pipe_input() as inp:
        prompt = make_prompt(ReplSession(), input=inp, output=DummyOutput())
    assert isinstance(prompt.lexer, PygmentsLexer) and prompt.lexer.pygments_lexer_cls is RaspLexer
    assert isinstance(prompt.auto_suggest, AutoSuggestFromHistory)
