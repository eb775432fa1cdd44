"""Issues 22 and 23, output files: what `-o` may name, what `--force` may replace (never a
file the command reads), clean errors when writing fails, and temporary files that no
signal leaves behind."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rasp.files
from rasp.cli import main
from rasp.errors import RaspInputError
from rasp.files import (
    check_output,
    protect_inputs,
    read_text,
    remove_stale_temporaries,
    temporary_name,
    write_atomic,
)

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PROGRAM = 'out = aggregate(select(indices, length - indices - 1, ==), tokens, "_");\n'


def cli(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out + err


@pytest.fixture
def work(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prog.rasp").write_text(PROGRAM)
    return tmp_path


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- 22.4: sources by any case; only regular files or new paths --------------------------------------


@pytest.mark.parametrize("name", ["UP.RASP", "Notes.Md", "data.TSV", "x.Py"])
def test_force_never_replaces_a_source_in_any_case(capsys, work, name):
    target = work / name
    target.write_text("keep")
    code, text = cli(capsys, "compile", "prog.rasp", "--vocab", "ab", "--max-len", "2", "-o", name, "--force")
    assert code == 1 and "source" in text and target.read_text() == "keep"


def test_force_never_replaces_a_device_or_a_fifo(capsys, work):
    code, text = cli(capsys, "draw", "prog.rasp", "--input", "ab", "-o", "/dev/null", "--force")
    assert code == 1 and Path("/dev/null").is_char_device()
    fifo = work / "pipe.dot"
    os.mkfifo(fifo)
    code, text = cli(capsys, "draw", "prog.rasp", "--input", "ab", "-o", fifo, "--force")
    assert code == 1 and "not a regular file" in text
    assert not fifo.is_file() and fifo.exists()


# --- 22.6 / 23.2: names that cannot be an output -------------------------------------------------------


@pytest.mark.parametrize(
    "out, needle",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("newdir/", "folder"),
        ("newdir/sub/", "folder"),
        ("/proc/self/rasp-out.svg", "system"),
        ("/sys/rasp-out.svg", "system"),
        ("x" * 300 + ".svg", "longer than"),
    ],
)
def test_unusable_output_names_are_refused_before_work(capsys, work, out, needle):
    before = _names(work)
    code, text = cli(capsys, "draw", "prog.rasp", "--input", "ab", "-o", out)
    assert code == 1 and needle in text, text
    assert _names(work) == before  # no file named `newdir`, no default name for ''


@pytest.mark.parametrize("command", [
    ["compile", "prog.rasp", "--vocab", "ab", "--max-len", "2"],
    ["view", "prog.rasp", "--vocab", "ab", "--max-len", "2", "--input", "ab"],
])
def test_an_empty_or_folder_output_never_becomes_the_default_or_a_file(capsys, work, command):
    for out in ("", "newdir/"):
        code, text = cli(capsys, *command, "-o", out)
        assert code == 1, text
        assert _names(work) == ["prog.rasp"]


def test_a_loop_of_links_is_refused(capsys, work):
    os.symlink("loop.svg", work / "loop.svg")
    for out in ("loop.svg", "loop.svg/x.svg"):
        code, text = cli(capsys, "draw", "prog.rasp", "--input", "ab", "-o", out, "--force")
        assert code == 1 and "loop" in text
    assert (work / "loop.svg").is_symlink()


def test_check_output_is_the_one_rule_for_the_api_too(tmp_path):
    with pytest.raises(RaspInputError, match="folder"):
        check_output(str(tmp_path / "missing") + "/")
    with pytest.raises(RaspInputError, match="NUL"):
        check_output(str(tmp_path / "a\0b"))
    assert check_output(tmp_path / "new.svg") == tmp_path / "new.svg"


# --- 23.3: --force never replaces a file the command reads -----------------------------------------


def test_force_never_replaces_the_program_through_a_link(capsys, work):
    os.link(work / "prog.rasp", work / "hard.safetensors")
    os.symlink(work / "prog.rasp", work / "soft.safetensors")
    for out in ("hard.safetensors", "soft.safetensors"):
        code, text = cli(capsys, "compile", "prog.rasp", "--vocab", "ab", "--max-len", "2", "-o", out, "--force")
        assert code == 1 and "reads it" in text
    assert (work / "prog.rasp").read_text() == PROGRAM


def test_train_never_replaces_its_corpus(capsys, work):
    corpus = work / "corpus.data"
    corpus.write_text("a b\tb a\n")
    code, text = cli(capsys, "train", "prog.rasp", "--corpus", corpus, "-o", corpus, "--force", "--steps", "1")
    assert code == 1 and "reads it" in text and corpus.read_text() == "a b\tb a\n"


def test_show_model_never_replaces_its_model(capsys, work):
    code, _ = cli(capsys, "compile", "prog.rasp", "--vocab", "ab", "--max-len", "2", "-o", "m.png", "--json")
    assert code == 0
    before = (work / "m.png").read_bytes()
    for command in (["show-model", "m.png", "--input", "ab"], ["view", "m.png", "--input", "ab"]):
        code, text = cli(capsys, *command, "-o", "m.png", "--force")
        assert code == 1 and "reads it" in text
    assert (work / "m.png").read_bytes() == before


def test_inputs_read_during_a_command_are_protected_by_inode(tmp_path):
    data = tmp_path / "in.data"
    data.write_text("text")
    with protect_inputs():
        read_text(data)
        with pytest.raises(RaspInputError, match="reads it"):
            check_output(data, force=True)
        with pytest.raises(RaspInputError, match="reads it"):
            write_atomic(data, "gone")
    assert data.read_text() == "text"
    write_atomic(data, "replaced")  # outside a command (the API), replacing is the caller's choice
    assert data.read_text() == "replaced"


# --- 22.6: writing errors ---------------------------------------------------------------------------


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))


@pytest.mark.parametrize("command", [
    ["draw", "prog.rasp", "--input", "ab", "-o", "g.dot"],
    ["compile", "prog.rasp", "--vocab", "ab", "--max-len", "2", "-o", "m.safetensors"],
])
def test_a_file_size_limit_is_a_clean_error_and_leaves_nothing(work, command):
    run = subprocess.run(
        [PYTHON, "-m", "rasp", *command],
        check=False, capture_output=True, text=True, preexec_fn=_limit_file_size, timeout=120, cwd=work,
    )
    assert run.returncode == 1, run.stderr
    assert "File too large" in run.stderr and "Traceback" not in run.stderr
    assert _names(work) == ["prog.rasp"]


def test_write_errors_name_the_file(tmp_path, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fdopen", full)
    with pytest.raises(RaspInputError, match="No space left"):
        write_atomic(tmp_path / "out.svg", "x" * 10)
    assert _names(tmp_path) == []


# --- 22.5 / 23.4: temporary files ----------------------------------------------------------------------

# A child that writes through write_atomic and stops forever before the rename, or while
# writing the temporary.
CHILD = """
import os, sys, time
import rasp.files as files
stage = sys.argv[1]
def stop(*args, **kwargs):
    print("ready", flush=True)
    time.sleep(600)
if stage == "rename":
    os.replace = stop
else:
    os.fchmod = stop
files.write_atomic(sys.argv[2], b"x" * 100000)
"""


def _child_stopped_in_write(target: Path, stage: str) -> subprocess.Popen:
    child = subprocess.Popen([PYTHON, "-c", CHILD, stage, str(target)],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    return child


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize("stage", ["write", "rename"])
def test_terminating_signals_remove_the_temporary(tmp_path, sig, stage):
    child = _child_stopped_in_write(tmp_path / "out.svg", stage)
    child.send_signal(sig)
    assert child.wait(timeout=30) == -sig  # the signal still ends the process as usual
    assert _names(tmp_path) == []


def test_an_ignored_hangup_stays_ignored(tmp_path):
    """Under nohup, SIGHUP does not stop the write."""
    target = tmp_path / "out.svg"
    child = subprocess.Popen(
        [PYTHON, "-c", CHILD.replace("time.sleep(600)", "time.sleep(1)"), "rename", str(target)],
        stdout=subprocess.PIPE, text=True, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGHUP)
    assert child.wait(timeout=30) == 0


@pytest.mark.parametrize("stage", ["write", "rename"])
def test_after_sigkill_the_next_write_leaves_no_temporary(tmp_path, stage):
    target = tmp_path / "out.svg"
    child = _child_stopped_in_write(target, stage)
    child.kill()
    child.wait(timeout=30)
    assert len(_names(tmp_path)) == 1  # SIGKILL cannot be handled: the temporary stays till the next write
    write_atomic(target, "new")
    assert _names(tmp_path) == ["out.svg"] and target.read_text() == "new"


def test_only_our_own_dead_temporaries_are_removed(tmp_path):
    target = tmp_path / "out.svg"
    dead = subprocess.Popen([PYTHON, "-c", "pass"])
    dead.wait()
    stale = temporary_name(target, pid=dead.pid)
    live = temporary_name(target, pid=os.getpid())
    other = tmp_path / ".out.svg.mine.tmp"  # not our naming
    neighbour = temporary_name(tmp_path / "other.svg", pid=dead.pid)  # another target's
    old_style = tmp_path / ".out.svg.ab12cd34.tmp"  # mkstemp's naming, from earlier versions
    for p in (stale, live, other, neighbour, old_style):
        p.write_text("x")
    long_ago = time.time() - 2 * rasp.files._OLD_AGE_S
    os.utime(old_style, (long_ago, long_ago))
    assert sorted(remove_stale_temporaries(target)) == sorted([stale, old_style])
    assert live.exists() and other.exists() and neighbour.exists()
