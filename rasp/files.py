"""Every file the toolkit reads or writes goes through here: sources are read with a size
cap and a clean error, outputs never replace a source, an input of the same command or
(without `force`) any existing file, and are written atomically.

Temporary files: an output is written to a hidden `.NAME.rasp-PID-XXXXXXXX.tmp` beside
the target, then renamed over it. SIGINT, SIGTERM and SIGHUP during a write remove the
temporary before the signal takes effect; a temporary of this naming whose process is gone
(SIGKILL, a power cut) is removed by the next write of the same target.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import stat
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import RaspInputError, RaspLoadError

MAX_SOURCE_BYTES = 1_000_000
# Compared in lower case: UP.RASP is a source too.
SOURCE_SUFFIXES = {".rasp", ".py", ".tsv", ".txt", ".md", ".lark"}
# Kernel interfaces: nothing there is an output file (but /dev/shm is ordinary scratch space).
SYSTEM_ROOTS = ("proc", "sys", "dev")
# Folders whose file names are longer than this are refused before any work (POSIX's NAME_MAX).
NAME_MAX = 255

# (st_dev, st_ino) of every file read since `protect_inputs` began; None: not recording.
_inputs: set[tuple[int, int]] | None = None


@contextlib.contextmanager
def protect_inputs() -> Iterator[None]:
    """While active, no output may replace a file read through this module (a command's
    program, corpus, model...), whatever its name or suffix: the CLI runs each command in it."""
    global _inputs
    outer, _inputs = _inputs, set() if _inputs is None else _inputs
    try:
        yield
    finally:
        _inputs = outer


def note_input(path: str | os.PathLike[str] | int) -> None:
    """Record a file (a path or an open descriptor) as read by the current command."""
    if _inputs is None:
        return
    with contextlib.suppress(OSError):
        st = os.fstat(path) if isinstance(path, int) else os.stat(path)
        _inputs.add((st.st_dev, st.st_ino))


def read_text(path: str | os.PathLike[str], what: str = "file", max_bytes: int | None = None) -> str:
    """A UTF-8 text file, at most `max_bytes` (default MAX_SOURCE_BYTES, read at call time so
    it can be raised); anything else is a RaspLoadError."""
    max_bytes = MAX_SOURCE_BYTES if max_bytes is None else max_bytes
    path = Path(path)
    try:
        if not path.is_file():
            raise RaspLoadError(f"cannot read {what} {path}: not a regular file")
        size = path.stat().st_size
        if size > max_bytes:
            raise RaspLoadError(f"{what} {path} is {size:,} bytes; the limit is {max_bytes:,}")
        with open(path, "rb") as f:
            note_input(f.fileno())
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise RaspLoadError(f"cannot read {what} {path}: {e.strerror or e}") from None
    if len(data) > max_bytes:
        raise RaspLoadError(f"{what} {path} is over the limit of {max_bytes:,} bytes")
    if b"\0" in data:
        raise RaspLoadError(f"{what} {path} is a binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RaspLoadError(f"{what} {path} is not UTF-8 text (byte {e.start})") from None


def check_output(path: str | os.PathLike[str], force: bool = False, sources: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Refuse an output path that would lose something or cannot be a file: an empty name, a
    folder (or a name ending in '/'), a missing folder, a device or anything else that is
    not a regular file, a path under /proc, /sys or /dev, a name too long, a source file,
    one of `sources` or a file the command has read (compared by inode, not name), and an
    existing file without `force`."""
    text = os.fspath(path)
    if not text.strip():
        raise RaspInputError("the output name is empty; give a file name with -o")
    if "\0" in text:
        raise RaspInputError("the output name contains a NUL character")
    path = Path(text)
    try:
        _check_place(text, path)
        if not path.exists():
            return path
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise RaspInputError(f"refusing to write {path}: it exists and is not a regular file")
        for src in sources:
            if Path(src).exists() and os.path.samefile(path, src):
                raise RaspInputError(f"refusing to overwrite {path}: this command reads it (an input or source file)")
        _check_not_input(path, st)
        if path.suffix.lower() in SOURCE_SUFFIXES:
            raise RaspInputError(f"refusing to overwrite {path}: it looks like a source file")
    except OSError as e:
        raise RaspInputError(f"cannot write {path}: {e.strerror or e}") from None
    except RuntimeError:  # pathlib's "Symlink loop"
        raise RaspInputError(f"cannot write {path}: it is a loop of symbolic links") from None
    if not force:
        raise RaspInputError(f"{path} exists; pass --force to replace it")
    return path


def _check_place(text: str, path: Path) -> None:
    """Where the output would go: an existing folder, outside the kernel's file systems."""
    if any(len(os.fsencode(part)) > NAME_MAX for part in path.parts):
        raise RaspInputError(f"cannot write {text[:40]}...: a name in it is longer than {NAME_MAX} bytes")
    if text.endswith(("/", os.sep)) or path.name in ("", ".", "..") or path.is_dir():
        folder = "" if path.is_dir() else f" (and folder {path} does not exist)"
        raise RaspInputError(f"output {text} names a folder{folder}; give a file name")
    resolved = path.resolve()
    top = resolved.parts[1:3]
    if top and top[0] in SYSTEM_ROOTS and top != ("dev", "shm"):
        raise RaspInputError(f"refusing to write {path}: /{top[0]} holds system interfaces, not files")
    if not path.parent.is_dir():
        raise RaspInputError(f"cannot write {path}: folder {path.parent} does not exist")


def _check_not_input(path: Path, st: os.stat_result | None = None) -> None:
    if _inputs is None:
        return
    try:
        st = st or path.stat()
    except OSError:
        return
    if (st.st_dev, st.st_ino) in _inputs:
        raise RaspInputError(f"refusing to overwrite {path}: this command reads it (an input or source file)")


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write `data` to `path` through a temporary file (see the module's docstring) and a
    rename; an error (a full disk, a file-size limit) is a RaspInputError and leaves
    neither a partial target nor a temporary file."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    _check_not_input(path)
    remove_stale_temporaries(path)
    try:
        with _signals_raise():
            tmp = str(temporary_name(path))
            _write_then_rename(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), tmp, path, payload)
    except OSError as e:
        raise RaspInputError(f"cannot write {path}: {e.strerror or e}") from None
    return path


def temporary_name(path: Path, pid: int | None = None) -> Path:
    return path.with_name(f".{path.name}.rasp-{os.getpid() if pid is None else pid}-{secrets.token_hex(4)}.tmp")


def _write_then_rename(fd: int, tmp: str, path: Path, payload: bytes) -> None:
    """Write `payload` to `fd` (the temporary `tmp`) and rename `tmp` onto `path`; the
    temporary goes on any failure or signal."""
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), _file_mode(path))  # temporaries are private (0600); outputs are not
            f.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_TEMPORARY = re.compile(r"\.(?P<name>.+)\.rasp-(?P<pid>\d+)-[0-9a-f]{8}\.tmp")
# Earlier versions named temporaries `.NAME.XXXXXXXX.tmp` (tempfile.mkstemp) with no pid:
# those are removed once clearly abandoned.
_OLD_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")
_OLD_AGE_S = 3600


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove hidden temporaries of `path` (our naming only) left by processes that are gone."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            if not entry.name.startswith(f".{path.name}.") or not entry.is_file(follow_symlinks=False):
                continue
            m = _TEMPORARY.fullmatch(entry.name)
            if m and m["name"] == path.name and not _alive(int(m["pid"])):
                stale = True
            else:
                old = _OLD_TEMPORARY.fullmatch(entry.name)
                stale = bool(old and old["name"] == path.name and time.time() - entry.stat().st_mtime > _OLD_AGE_S)
            if stale:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


class _Signalled(BaseException):
    def __init__(self, signum: int):
        self.signum = signum


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """SIGTERM and SIGHUP inside the block raise, so the block's clean-up runs; the signal
    is then delivered again under its previous handler (a default one ends the process
    with the signal's usual status). Only the main thread can set handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # A signal the process ignores (SIGHUP under nohup) stays ignored: the write goes on.
    wanted = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
              if s is not None and signal.getsignal(s) is not signal.SIG_IGN]

    def handler(signum: int, frame: object) -> None:
        raise _Signalled(signum)

    previous = {s: signal.signal(s, handler) for s in wanted}
    try:
        yield
    except _Signalled as e:
        for s, h in previous.items():
            signal.signal(s, h)
        previous = {}
        signal.raise_signal(e.signum)
        raise SystemExit(128 + e.signum) from None  # reached only if the old handler returned
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _file_mode(path: Path) -> int:
    """The mode a replaced file had, else what the umask gives a new file."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask
