"""The `rasp` command line: run, check and layers, with clean errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rasp.cli import main

PROGRAMS = Path(__file__).resolve().parent.parent / "programs"


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def cli_process(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rasp", *map(str, argv)], check=False, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def prog(tmp_path) -> Path:
    p = tmp_path / "prog.rasp"
    p.write_text("x = tokens;\ny = reverse;\n")
    return p


def test_run_human_output(capsys):
    code, out, err = cli(capsys, "run", PROGRAMS / "reverse.rasp", "--input", "hello")
    assert code == 0
    assert out == 'reverse("hello") = [o, l, l, e, h] (strings)\n'
    assert err == ""


def test_run_human_output_ints(capsys):
    code, out, _ = cli(capsys, "run", PROGRAMS / "hist.rasp", "--input", "hello")
    assert code == 0
    assert out.strip() == 'hist("hello") = [1, 1, 2, 2, 1] (ints)'


def test_run_json_is_one_object(capsys):
    code, out, err = cli(capsys, "run", PROGRAMS / "sort.rasp", "--input", "hello", "--json")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == {"output": ["e", "h", "l", "l", "o"], "name": "sorted_tokens"}
    assert err == ""


def test_run_input_json_ints(capsys):
    code, out, _ = cli(capsys, "run", PROGRAMS / "prefix_sum.rasp", "--input-json", "[3, 1, 4]", "--json")
    assert code == 0
    assert json.loads(out) == {"output": [3, 4, 8], "name": "prefix_sum"}


def test_run_input_json_string(capsys):
    code, out, _ = cli(capsys, "run", PROGRAMS / "reverse.rasp", "--input-json", '"abc"', "--json")
    assert code == 0
    assert json.loads(out)["output"] == ["c", "b", "a"]


def test_run_words(capsys):
    code, out, _ = cli(capsys, "run", PROGRAMS / "translate.rasp", "--words",
                       "--input", "the dog eats a fish", "--json")
    assert code == 0
    assert json.loads(out)["output"] == ["le", "chien", "mange", "un", "poisson"]


def test_run_output_name(capsys, prog):
    code, out, _ = cli(capsys, "run", prog, "--input", "ab", "--output", "x", "--json")
    assert code == 0
    assert json.loads(out) == {"output": ["a", "b"], "name": "x"}
    code, out, _ = cli(capsys, "run", prog, "--input", "ab", "--output", "x")
    assert out.startswith('x("ab") = [a, b]')


def test_run_selector_output_prints_matrix(capsys, tmp_path):
    p = tmp_path / "sel.rasp"
    p.write_text("s = select(indices, indices, <);\nx = tokens;\n")
    code, out, _ = cli(capsys, "run", p, "--input", "ab", "--output", "s")
    assert code == 0
    assert out.splitlines()[-2:] == ["a | 0 0", "b | 1 0"]


def test_check_ok(capsys, prog):
    code, out, err = cli(capsys, "check", prog, PROGRAMS / "dyck2.rasp")
    assert code == 0
    assert f"{prog}: ok (2 statements)" in out
    assert err == ""


def test_check_syntax_error(capsys, tmp_path):
    bad = tmp_path / "bad.rasp"
    bad.write_text("x = tokens;\ny = x +;\n")
    code, _out, err = cli(capsys, "check", bad)
    assert code == 1
    assert f"{bad}:2:8" in err
    assert "syntax error" in err
    assert "y = x +;" in err
    assert "Traceback" not in err


def test_layers(capsys):
    code, out, _ = cli(capsys, "layers", PROGRAMS / "reverse.rasp")
    assert code == 0
    assert out.startswith("reverse: 2 layers, 1 head")
    code, out, _ = cli(capsys, "layers", PROGRAMS / "sort_by_most_freq.rasp", "--json")
    data = json.loads(out)
    assert (data["name"], data["layers"], data["heads"]) == ("by_freq", 3, 2)


@pytest.mark.parametrize(
    "argv,needle",
    [
        (["run", "{prog}", "--input-json", "[1,"], "--input-json is not valid JSON"),
        (["run", "{prog}", "--input-json", '{"a": 1}'], "JSON list"),
        (["run", "{prog}", "--input-json", "[[1]]"], "tokens must be"),
        (["run", "{prog}"], "no input given"),
        (["run", "{prog}", "--input", ""], "input is empty"),
        (["run", "{prog}", "--input", "ab", "--output", "nope"], "'nope' is not defined"),
        (["run", "{missing}", "--input", "ab"], "cannot read"),
        (["check", "{missing}"], "cannot read"),
        (["layers", "{missing}"], "cannot read"),
        (["run", "{prog}", "--input", "a" * 3000], "limit"),
    ],
)
def test_errors_exit_1_with_clean_message(capsys, prog, tmp_path, argv, needle):
    subs = {"{prog}": str(prog), "{missing}": str(tmp_path / "missing.rasp")}
    argv = [subs.get(a, a) for a in argv]
    code, out, err = cli(capsys, *argv)
    assert code == 1
    assert needle in err
    assert "Traceback" not in err
    assert out == ""


def test_runtime_error_in_program(capsys, tmp_path):
    p = tmp_path / "bad.rasp"
    p.write_text('x = tokens_int + "a";\n')
    code, _out, err = cli(capsys, "run", p, "--input-json", "[1, 2]")
    assert code == 1
    assert "type error" in err
    assert f"{p}:1:" in err


def test_process_run_json():
    result = cli_process("run", PROGRAMS / "dyck1.rasp", "--input", "(()", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"output": ["P", "P", "P"], "name": "dyck1"}


def test_process_error_has_no_traceback(tmp_path):
    p = tmp_path / "rec.rasp"
    p.write_text("def f(x) { return f(x) + 1; }\ny = f(tokens);\n")
    result = cli_process("run", p, "--input", "ab")
    assert result.returncode == 1
    assert "recursion error" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_process_syntax_error_has_no_traceback(tmp_path):
    p = tmp_path / "bad.rasp"
    p.write_text("x = select(tokens, tokens, ==;\n")
    result = cli_process("check", p)
    assert result.returncode == 1
    assert f"{p}:1:" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_optional_package_is_a_clean_cli_error(monkeypatch, capsys):
    from rasp.cli import app as cli

    def needs_torch(args):
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    assert cli.run_guarded(needs_torch, None) == 1
    err = capsys.readouterr().err
    assert "pip install 'rasp[torch]'" in err
    assert "Traceback" not in err
