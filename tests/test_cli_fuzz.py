"""Fuzzing the command line as a careless or hostile user would: random bytes and random
RASP fragments as program files, random combinations of subcommands and flags.

Every run must end with a clean exit status (0, 1, or argparse's 2) and no traceback, in
bounded time and memory, write no file other than the output it was asked for (never the
program itself), and never show the content of a file outside the folders `load` may read.
"""

from __future__ import annotations

import contextlib
import io
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rasp.cli import main

SECRET = "fuzz-secret-never-shown"
MEMORY_HEADROOM = 3 << 30  # address space a command may add
SECONDS_PER_COMMAND = 20

FRAGMENTS = [
    "x = tokens;", "y = reverse;", "z = aggregate(select(indices, indices, ==), tokens);",
    "w = selector_width(select(tokens, tokens, ==));", "n = tokens_int + 1;", "f = tokens_float / 0;",
    'load "../secret";', 'load "/etc/passwd";', 'load "secret.rasp";', 'load "rasplib";',
    's = "ab"; for i in range(64) { s = s + s; }', "l = [i for i in range(100000)];",
    "def g(k) { return g(k); } q = g(1);", "m = 10 ^ 5000;", "x = " + "(" * 300 + "1" + ")" * 300 + ";",
    "x = 1 +;", "def", "{", "}", ";", "\x00", "\ufffd", "é", "\n", " ", "tokens", "select(", "==", '"',
]
SOURCES = st.one_of(
    st.binary(max_size=64),
    st.lists(st.sampled_from(FRAGMENTS), max_size=6).map(lambda parts: " ".join(parts).encode()),
)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
INPUT_FLAGS = st.lists(
    st.one_of(
        st.tuples(st.just("--input"), st.one_of(TEXT, st.just("hello"))),
        st.tuples(st.just("--input-json"), st.sampled_from(
            ["[1, 2]", "[3, 1.5]", "[true, 1]", '["a", 1]', "[18446744073709551616]", "[NaN]", "[]", "{",
             '"ab"', "[[1]]", "[1e999]"])),
        st.tuples(st.sampled_from(["--words", "--json", "--force", "--causal", "--no-reuse"])),
        st.tuples(st.sampled_from(["--sop", "--output"]), st.sampled_from(["x", "y", "nope", ""])),
        st.tuples(st.just("--vocab"), st.sampled_from(["a,b", "ab", ",,,", "", "1,2", "a,a"])),
        st.tuples(st.just("--max-len"), st.sampled_from(["1", "3", "0", "-4", "x"])),
        st.tuples(st.sampled_from(["--exhaustive", "--samples"]), st.sampled_from(["0", "-1", "5"])),
        st.tuples(st.just("-o"), st.sampled_from(
            ["out.dot", "out.safetensors", "prog.rasp", "missing/out.dot", ".", "../escape.dot", "out.png"])),
    ),
    max_size=5,
)
COMMANDS = st.sampled_from(["run", "check", "layers", "draw", "verify", "compile", "show-model", "repl"])
# Mostly valid required flags, so that most runs get past argparse to the program itself.
BASE_INPUT = st.sampled_from([["--input", "ab"], ["--input", "hello"], ["--input-json", "[1, 2]"], []])
BASE_PROGRAM = st.tuples(st.sampled_from(["a,b", "1,2", "ab"]), st.sampled_from(["1", "2", "3"])).map(
    lambda vm: ["--vocab", vm[0], "--max-len", vm[1], "--exhaustive", "20", "--samples", "5"]
)


def _files(root: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _requested_output(argv: list[str], work: Path) -> set[Path]:
    """The files a command may write: its -o path, or compile's default PROGRAM.safetensors."""
    outs = {(work / argv[i + 1]).resolve() for i, a in enumerate(argv[:-1]) if a == "-o"}
    if argv[0] == "compile" and "-o" not in argv:
        outs.add((work / "prog.safetensors").resolve())
    return outs


@contextlib.contextmanager
def _memory_cap(extra: int):
    """Cap this process's address space at its current size plus `extra` while inside."""
    status = Path("/proc/self/status")
    if not status.exists():
        yield
        return
    size_kb = next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("VmSize"))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = size_kb * 1024 + extra
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _run_cli(argv: list[str], stdin: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    saved_stdin, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except SystemExit as e:  # argparse's usage errors
        code = e.code if isinstance(e.code, int) else 2
    finally:
        sys.stdin = saved_stdin
    return code, out.getvalue() + err.getvalue()


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(source=SOURCES, command=COMMANDS, flags=INPUT_FLAGS, base_input=BASE_INPUT, base_program=BASE_PROGRAM)
def test_cli_fuzz(source, command, flags, base_input, base_program):
    argv = [command]
    if command == "show-model":
        argv += ["prog.rasp", "--input", "ab"]
    elif command == "check":
        argv += ["prog.rasp", "prog.rasp"]
    elif command in ("verify", "compile"):
        argv += ["prog.rasp", *base_program]
        if command == "compile":
            argv = argv[:6]  # compile has no budgets
    elif command != "repl":
        argv += ["prog.rasp", *base_input]
    argv += [part for flag in flags for part in flag]
    if command == "repl":
        argv = ["repl"]  # the program's text is piped to it instead
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        work = root / "work"
        work.mkdir()
        (root / "secret.rasp").write_text(f"{SECRET} = ;\n")
        (work / "prog.rasp").write_bytes(source)
        before = _files(root)
        old_cwd = os.getcwd()
        os.chdir(work)
        start = time.perf_counter()
        try:
            with _memory_cap(MEMORY_HEADROOM):
                code, text = _run_cli(argv, source.decode("utf-8", "replace"))
        finally:
            os.chdir(old_cwd)
        seconds = time.perf_counter() - start
        after = _files(root)

    assert code in (0, 1, 2), (argv, code, text[-2000:])
    assert "Traceback" not in text and "internal error" not in text, (argv, text[-2000:])
    assert SECRET not in text, argv
    assert seconds < SECONDS_PER_COMMAND, (argv, seconds)
    assert after[work / "prog.rasp"] == source, f"{argv} changed the program"
    new_or_changed = {p.resolve() for p, data in after.items() if before.get(p) != data}
    assert new_or_changed <= _requested_output(argv, work), (argv, new_or_changed)
