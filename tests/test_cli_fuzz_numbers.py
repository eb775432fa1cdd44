"""Fuzzing numbers at the limits (issue 22): every subcommand's numeric flags given values
a careless or hostile user might type, and programs and inputs holding numbers at or
past the documented limits (64-bit tokens, 4,096-bit integers, finite floats, nesting).

As in test_cli_fuzz: every run ends with a clean status (0, 1, or argparse's 2), no
traceback, in bounded time and memory, and writes no file it was not asked for.
"""

from __future__ import annotations

import functools
import json
import os
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli_fuzz import MEMORY_HEADROOM, SECONDS_PER_COMMAND, _files, _memory_cap, _run_cli

PROGRAM = "opp = length - indices - 1;\nflip = select(indices, opp, ==);\nrev = aggregate(flip, tokens);\n"

# Text a number flag may be given: limits of the types behind it, and things that are not numbers.
ODD_NUMBERS = ["-1", "-0", "+2", " 2", "1e3", "0x10", "nan", "inf", "-inf", "1.5", "", "x", "\u0663",
               str(2**31), str(2**63), str(2**64), str(2**70), "-" + str(2**63), "9" * 30, "9" * 5000]
SMALL = ["0", "1", "2", "3"]
NUMBERS = st.sampled_from(ODD_NUMBERS + SMALL)
# Values that would make a valid command do a lot of real work (train for 2**63 steps, serve on
# a valid port forever) are left out for those flags: bounding them is not an error to find here.
LONG_RUNNING = {"--steps", "--batch", "--layers", "--heads", "--d-model", "--d-mlp", "--samples", "--port"}
SIZES_OK = {"-1", "-0", "+2", " 2", "1e3", "0x10", "nan", "inf", "-inf", "1.5", "", "x", "\u0663", "9" * 5000, *SMALL}

# command: (argv before the fuzzed flag, its numeric flags)
COMMANDS = {
    "draw": (["draw", "p.rasp", "--input", "ab", "--vocab", "ab", "--max-len", "2", "-o", "g.dot"], ["--max-len"]),
    "compile": (["compile", "p.rasp", "--vocab", "ab", "--max-len", "2", "-o", "m.safetensors"],
                ["--max-len", "--max-params"]),
    "verify": (["verify", "p.rasp", "--vocab", "ab", "--max-len", "2", "--exhaustive", "20", "--samples", "5"],
               ["--max-len", "--exhaustive", "--samples", "--max-params"]),
    "trace": (["trace", "p.rasp", "--vocab", "ab", "--max-len", "2", "--input", "ab"], ["--max-len"]),
    "view": (["view", "p.rasp", "--vocab", "ab", "--max-len", "2", "--input", "ab", "-o", "v.html"], ["--max-len"]),
    "serve": (["serve", "p.rasp", "--vocab", "ab", "--max-len", "2"], ["--port"]),
    "eval": (["eval", "p.rasp", "c.tsv"], ["--show"]),
    "train": (["train", "p.rasp", "--vocab", "ab", "--max-len", "2", "--steps", "1", "--batch", "2",
               "-o", "t.safetensors"],
              ["--layers", "--heads", "--d-model", "--d-mlp", "--steps", "--batch", "--lr", "--seed", "--min-len",
               "--target", "--max-len"]),
    "compare": (["compare", "p.rasp", "m.safetensors"], ["--samples"]),
}
OUTPUTS = {"draw": "g.dot", "compile": "m.safetensors", "view": "v.html", "train": "t.safetensors"}


def _as_int(text: str) -> int | None:
    """The whole number argparse's int() reads in `text`, if any."""
    try:
        return int(text)
    except ValueError:
        return None


def _flag_value(draw_value, command: str):
    flag = draw_value(st.sampled_from(COMMANDS[command][1]))
    choices = sorted(SIZES_OK) if flag in LONG_RUNNING else ODD_NUMBERS + SMALL
    if command == "serve":  # a valid port would serve until stopped
        choices = [v for v in choices if _as_int(v) is None or not 0 <= _as_int(v) <= 65535]
    return flag, draw_value(st.sampled_from(choices))


@functools.cache
def _model_bytes() -> bytes:
    """A compiled model of PROGRAM, for compare."""
    import rasp

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.safetensors"
        rasp.compile(rasp.from_source(PROGRAM), "ab", 2).save(path)
        return path.read_bytes()


def _run_in_folder(argv: list[str], files: dict[str, bytes]) -> tuple[int, str, float, set[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, data in files.items():
            (work / name).write_bytes(data)
        before = _files(work)
        old_cwd = os.getcwd()
        os.chdir(work)
        start = time.perf_counter()
        try:
            with _memory_cap(MEMORY_HEADROOM):
                code, text = _run_cli(argv, "")
        finally:
            os.chdir(old_cwd)
        seconds = time.perf_counter() - start
        after = _files(work)
    changed = {p.name for p, data in after.items() if before.get(p) != data}
    return code, text, seconds, changed


def _check(argv: list[str], code: int, text: str, seconds: float, changed: set[str], allowed: set[str]) -> None:
    assert code in (0, 1, 2), (argv, code, text[-2000:])
    assert "Traceback" not in text and "internal error" not in text, (argv, text[-2000:])
    assert seconds < SECONDS_PER_COMMAND, (argv, seconds)
    assert changed <= allowed, (argv, changed)


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=45, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.data(), command=st.sampled_from(sorted(COMMANDS)))
def test_numeric_flags_at_the_limits(data, command):
    flag, value = _flag_value(data.draw, command)
    argv = COMMANDS[command][0] + [f"{flag}={value}"]  # `=` so that "-1" is the flag's value
    files = {"p.rasp": PROGRAM.encode(), "c.tsv": b"a b\tb a\nb b\tb b\n", "m.safetensors": _model_bytes()}
    code, text, seconds, changed = _run_in_folder(argv, files)
    allowed = {OUTPUTS[command]} if command in OUTPUTS else set()
    if command == "train":
        allowed.add("t.loss.png")
    _check(argv, code, text, seconds, changed, allowed)
    number = _as_int(value)
    if flag not in ("--lr", "--target") and (number is None or number < 0):
        assert code != 0, (argv, text[-500:])  # a count, size or seed that is no whole number >= 0 is refused


LITERALS = ["2 ^ 4095", "2 ^ 4096", "1" * 1233, "1" * 1234, "1" * 5000, "(2 ^ 4095) + (2 ^ 4095)",
            "0 - 2 ^ 4095 - 2 ^ 4095", "3 ^ 2585", "2 ^ 63", "1.0e308 * 10", "0.1 ^ 400", "(0 - 1) ^ 99999",
            "9223372036854775807", "4611686018427387904 * 2"]
SOPS = ["tokens_int + {n}", "tokens_int * {n}", "tokens_float * 1.0e308", "map(lambda t: t ^ 64, tokens_int)",
        "tokens_int", "tokens_float", "tokens_bool", "indicator(tokens_int == {n})"]
JSON_INPUTS = [[2**63 - 1], [-(2**63)], [2**63], [-(2**63) - 1], ["12345678901234567890"], [1e308], [-0.0],
               ["1e999"], ["nan"], [0.5, 2], [True, 3], ["9" * 30], [1, 2, 3]]
RAW_JSON = ["[" + "1" * 5000 + "]", "[" * 2000 + "]" * 2000, "[" * 30000 + "]" * 30000, "[1e999]", "[NaN]",
            "[-" + "9" * 400 + "]", "[0." + "0" * 5000 + "1]"]


@pytest.mark.filterwarnings("ignore")
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(literal=st.sampled_from(LITERALS), sop=st.sampled_from(SOPS),
       given_input=st.one_of(st.sampled_from(JSON_INPUTS).map(json.dumps), st.sampled_from(RAW_JSON)),
       command=st.sampled_from(["run", "trace", "compile", "verify"]),
       vocab=st.sampled_from(["1,2", "-1,2", "9223372036854775807,-9223372036854775808", "0,1"]))
def test_numbers_in_programs_and_inputs_at_the_limits(literal, sop, given_input, command, vocab):
    source = f"n = {literal};\nout = {sop.format(n='n')};\n"
    argv = [command, "p.rasp"]
    if command == "run":
        argv += ["--input-json", given_input]
    elif command == "trace":
        argv += ["--vocab", vocab, "--max-len", "2", "--input-json", given_input]
    elif command == "compile":
        argv += ["--vocab", vocab, "--max-len", "2", "-o", "m.safetensors"]
    else:
        argv += ["--vocab", vocab, "--max-len", "2", "--exhaustive", "20", "--samples", "5"]
    code, text, seconds, changed = _run_in_folder(argv, {"p.rasp": source.encode()})
    _check(argv, code, text, seconds, changed, {"m.safetensors"} if command == "compile" else set())
