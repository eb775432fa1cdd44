"""The REPL's files, help and limits (issue 18 items 15, 16, 21; issue 22 items 3 and 15;
issue 23 item 7): a missing file says so and where it looked; `:help` knows keywords and
shows the stdlib's comments; a file that is not RASP source is never quoted; long, huge,
NUL-holding or undecodable input is bounded, linear and reported on stderr."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rasp
from rasp.cli.repl import plain_loop
from rasp.cli.repl_session import MAX_LINE_LENGTH, ReplSession
from rasp.errors import RaspLoadError
from rasp.files import MAX_SOURCE_BYTES

REPO = Path(__file__).resolve().parent.parent
SECRET = "hunter2-do-not-print"


def piped(data: bytes, tmp_path: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, HOME=str(tmp_path))
    return subprocess.run([sys.executable, "-m", "rasp"], input=data, capture_output=True, cwd=tmp_path,
                          env=env, timeout=300, check=False)


def run_lines(lines: list[str]) -> tuple[int, str, str, float]:
    out, err = [], []
    start = time.perf_counter()
    code = plain_loop(ReplSession(), io.BytesIO("".join(line + "\n" for line in lines).encode()), out.append, err.append)
    return code, "".join(out), "".join(err), time.perf_counter() - start


# --- files: 18.15, 22.3 -------------------------------------------------------------------------


def test_a_missing_file_says_no_such_file_and_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = ReplSession()
    out = session.feed(":load nonexist.rasp")
    assert "no such file" in out and str(tmp_path / "nonexist.rasp") in out and "regular file" not in out
    out = session.feed(":load nonexist")
    assert str(tmp_path / "nonexist") in out and str(tmp_path / "nonexist.rasp") in out
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(RaspLoadError, match="no such file") as info:
        rasp.load("programs/sort.rasp")
    assert str(elsewhere / "programs" / "sort.rasp") in info.value.message


@pytest.mark.parametrize("content", [
    f"root:x:0:0:{SECRET}:/root:/bin/bash\n",  # not RASP from its first line
    f"machine example.com login bob password {SECRET}\n",
    f"x = 1;\ny = {SECRET} {SECRET};\n",  # a later line, but not a .rasp file
])
def test_load_never_quotes_a_file_that_is_not_rasp_source(tmp_path, content):
    target = tmp_path / "passwd"
    target.write_text(content)
    session = ReplSession()
    out = session.feed(f":load {target}")
    assert session.failed and "syntax error" in out and SECRET not in out and str(target) in out


def test_load_quotes_the_line_of_a_rasp_program_with_a_mistake(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prog.rasp").write_text("x = tokens;\ny = x +;\n")
    out = ReplSession().feed(":load prog.rasp")
    assert "y = x +;" in out  # a real program's mistake is shown where it is


def test_load_quotes_nothing_of_a_rasp_file_outside_the_working_folder(tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "p.rasp").write_text(f"x = tokens;\ny = {SECRET} {SECRET};\n")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    out = ReplSession().feed(f":load {outside / 'p.rasp'}")
    assert "syntax error" in out and SECRET not in out


# --- help: 18.16 --------------------------------------------------------------------------------


def test_help_knows_keywords_and_shows_stdlib_comments():
    session = ReplSession()
    out = session.feed(":help select")
    assert "not defined" not in out and "select(keys, queries, op)" in out and not session.failed
    out = session.feed(":help count_upto")
    assert out.startswith("function count_upto(flag)") and "How many positions up to and including" in out
    assert "words.rasp" in out
    assert ":help" in session.feed(":help") and "RASP_HISTORY" in session.feed(":help")


def test_help_of_a_function_typed_in_the_session_has_no_comment():
    session = ReplSession()
    session.feed("def double(x) { return 2 * x; }")
    assert session.feed(":help double") == "function double(x)"


# --- the split: 18.21 ---------------------------------------------------------------------------


def test_repl_modules_stay_small():
    for name in ("repl.py", "repl_session.py", "repl_commands.py"):
        lines = (REPO / "rasp" / "cli" / name).read_text().count("\n")
        assert lines < 400, f"{name} has {lines} lines"
    from rasp.cli import repl, repl_session

    assert repl.ReplSession is repl_session.ReplSession  # one session, the prompt only wraps it


# --- limits: 22.15, 23.7 ------------------------------------------------------------------------


@pytest.fixture
def parsed(monkeypatch) -> list[int]:
    """The length of every text the session parses (work linear in the input keeps the sum
    a small multiple of the input's size)."""
    import rasp.cli.repl_session as session_module

    sizes: list[int] = []
    real = session_module.parse

    def counting(source: str, *args, **kwargs):
        sizes.append(len(source))
        return real(source, *args, **kwargs)

    monkeypatch.setattr(session_module, "parse", counting)
    return sizes


@pytest.mark.parametrize("lines", [
    ["def f(a) {", *[f"  a{i} = a + {i};" for i in range(20_000)], "  return a;", "}", "y = 1;"],
    ["xs = [", *[f'  "{i}",' for i in range(20_000)], '  "end"', "];", "y = 1;"],
])
def test_multi_line_statements_are_parsed_in_linear_time(parsed, lines):
    code, out, err, _ = run_lines(lines)
    assert code == 0, err
    assert "value: y = 1" in out and "internal error" not in err
    size = sum(len(line) + 1 for line in lines)
    assert sum(parsed) < 3 * size, "a long statement is parsed again and again"


def test_a_sum_of_thousands_of_lines_is_a_clean_error():
    code, out, err, _ = run_lines(["x = 1", *["+ 1"] * 5_000, ";", "y = 2;"])
    assert code == 1 and "internal error" not in err and "nested too deeply" in err and "value: y = 2" in out


def test_a_statement_over_the_limit_is_dropped_to_its_end(parsed):
    line = "1, " * 5_000
    lines = ["x = ["] + [line] * (MAX_SOURCE_BYTES // len(line) + 20) + ["1];", "y = 2;"]
    code, out, err, _ = run_lines(lines)
    assert code == 1 and "statement too long" in err and err.count("error") == 1
    assert "value: y = 2" in out
    assert sum(parsed) < 100_000, "neither the 1.2-million-character statement nor its rest is parsed"


@pytest.mark.parametrize("line, needle", [
    ("x = " + "1 + " * (MAX_LINE_LENGTH // 3) + "1;", "line too long"),
    ("set example [[1, 2], [3]]", "tokens must be"),
    ("x = 1\x00;", "unexpected character"),
])
def test_refused_input_is_reported_on_stderr(tmp_path, line, needle):
    proc = piped((line + "\ny = 2;\n").encode(), tmp_path)
    assert proc.returncode == 1
    assert needle in proc.stderr.decode() and b"value: y = 2" in proc.stdout


def test_invalid_utf8_is_an_error_with_a_non_zero_exit(tmp_path):
    proc = piped(b"a = 1;\n# \xff\xfe in a comment\nb = 2;\n", tmp_path)
    assert proc.returncode == 1 and "not UTF-8" in proc.stderr.decode()
    assert b"value: a = 1" in proc.stdout and b"value: b = 2" in proc.stdout
