"""Every file the toolkit reads or writes goes through here: sources are read with a size
cap and a clean error, outputs never replace a source or (without `force`) any existing
file, and are written atomically (a temporary file beside the target, then a rename)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import RaspInputError, RaspLoadError

MAX_SOURCE_BYTES = 1_000_000
SOURCE_SUFFIXES = {".rasp", ".py", ".tsv", ".txt", ".md", ".lark"}


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
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise RaspLoadError(f"cannot read {what} {path}: {e.strerror or e}") from None
    if len(data) > max_bytes:
        raise RaspLoadError(f"{what} {path} is over the limit of {max_bytes:,} bytes")
    if b"\0" in data:
        raise RaspLoadError(f"{what} {path} is a binary file, not text")
    try:
        return data.decode("utf-8-sig")  # a byte-order mark first is the encoding's mark, not text
    except UnicodeDecodeError as e:
        raise RaspLoadError(f"{what} {path} is not UTF-8 text (byte {e.start})") from None


def check_output(path: str | os.PathLike[str], force: bool = False, sources: Iterable[str | os.PathLike[str]] = ()) -> Path:
    """Refuse an output path that would lose something: a source, an existing file without
    `force`, a folder, or a path whose folder does not exist."""
    path = Path(path)
    if path.is_dir():
        raise RaspInputError(f"output {path} is a folder; give a file name")
    if not path.parent.is_dir():
        raise RaspInputError(f"cannot write {path}: folder {path.parent} does not exist")
    for src in sources:
        if path.exists() and Path(src).exists() and path.resolve() == Path(src).resolve():
            raise RaspInputError(f"refusing to overwrite the source file {path} with an output")
    if path.suffix in SOURCE_SUFFIXES and path.exists():
        raise RaspInputError(f"refusing to overwrite {path}: it looks like a source file")
    if path.exists() and not force:
        raise RaspInputError(f"{path} exists; pass --force to replace it")
    return path


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write `data` to `path` through a temporary file in the same folder and a rename."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _file_mode(path))  # mkstemp's files are private (0600); outputs are not
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _file_mode(path: Path) -> int:
    """The mode a replaced file had, else what the umask gives a new file."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask
