"""Which files a program may read by name (`load "lib";`, and any builtin that reads a data
file): only inside its roots — the folder of the file that names it (and below), the
working folder (and below) and the stdlib — and only files of the kinds asked for, by
suffix (case-insensitive). Paths are resolved first, links included, so an absolute
path, a `..` escape or a link that leads elsewhere is refused, as is anything that is not
a regular file; a link loop or an unreadable name counts as "not there"."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import RaspLoadError, SourcePos


def program_roots(pos: SourcePos | None, stdlib: Path) -> list[Path]:
    """The folders a program may read from: its own file's folder (when it has a file),
    the working folder and the stdlib."""
    roots = []
    if pos is not None and pos.file:
        roots.append(Path(pos.file).resolve().parent)
    roots += [Path.cwd().resolve(), stdlib.resolve()]
    return list(dict.fromkeys(roots))


def has_suffix(name: str | Path, suffixes: Sequence[str]) -> bool:
    """Whether `name` ends in one of `suffixes` (".rasp"), in any case."""
    return Path(name).suffix.lower() in suffixes


def find_inside(name: str, roots: Sequence[Path], suffixes: Sequence[str]) -> Path | None:
    """The regular file `name` means, resolved, inside one of `roots` and ending in one of
    `suffixes` (after links are followed); a name without such a suffix means name +
    suffixes[0]. None when there is no such file: the caller's error then says nothing of
    what exists outside."""
    candidate = name if has_suffix(name, suffixes) else name + suffixes[0]
    for base in roots:
        try:
            path = (base / candidate).resolve()
            if path.is_file() and has_suffix(path, suffixes) and any(path.is_relative_to(r) for r in roots):
                return path
        except (OSError, ValueError, RuntimeError):  # a name too long, a NUL byte, a link loop
            continue
    return None


def shown_name(name: str) -> str:
    """A name as errors quote it: at most 200 characters."""
    return name if len(name) <= 200 else name[:200] + "..."


def not_inside(verb: str, name: str, kind: str, who: str, roots: Sequence[Path], pos: SourcePos | None,
               hint: str) -> RaspLoadError:
    """The refusal of `name` when no `kind` file inside `roots` has it ("cannot VERB NAME: no
    such KIND file inside the folders WHO may read"): it says nothing of what exists outside."""
    where = ", ".join(str(r) for r in roots)
    return RaspLoadError(f"cannot {verb} {shown_name(name)!r}: no such {kind} file inside the folders {who} "
                         f"may read ({where})", pos=pos, hint=hint)
