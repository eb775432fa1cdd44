"""`read_tsv("file.tsv")`: a data file (a lexicon) read into a dict, inside load's sandbox.

The rule, separate from `load`'s own: the name must end in `.tsv`; it is looked up in the
folder of the file that calls it (and below), then the working folder (and below), then the
stdlib, after following links, so an absolute path, a `..` escape or a link leading
elsewhere is refused; it must be a regular UTF-8 text file within the size limit of
sources. Errors name the file and the line, never the file's content.

Format: one `key<TAB>value[<TAB>more...]` row a line; columns after the second are ignored;
blank lines are skipped; a value that reads as a whole number is an int, one that reads as
a finite decimal number a float, anything else stays a string; a key given twice keeps its
last value (as VADER's own reader does).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from ..errors import RaspLoadError, SourcePos
from ..files import read_text
from .sandbox import find_inside, not_inside, shown_name

SUFFIX = ".tsv"
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def resolve_table(name: str, roots: list[Path], pos: SourcePos | None) -> Path:
    """The file `read_tsv(name)` means, or a RaspLoadError that says nothing about others."""
    if not name.endswith(SUFFIX):
        raise RaspLoadError(f"read_tsv reads only {SUFFIX} files, not {shown_name(name)!r}", pos=pos)
    found = find_inside(name, roots, (SUFFIX,))  # load's own check: inside the roots, links followed
    if found is not None:
        return found
    raise not_inside("read", name, SUFFIX, "read_tsv", roots, pos,
                     hint="read_tsv reads .tsv files next to the calling file (and below), in the working folder "
                     "(and below) and in the stdlib")

def parse_value(text: str) -> Any:
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text) and math.isfinite(float(text)):
        return float(text)
    return text


def read_table(path: Path, pos: SourcePos | None) -> dict[str, Any]:
    text = read_text(path, "table")
    table: dict[str, Any] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or fields[0] == "":
            raise RaspLoadError(
                f"{path.name} line {number}: expected 'key<TAB>value', got "
                f"{len(fields)} field{'s' if len(fields) != 1 else ''}" + (" with an empty key" if len(fields) > 1 else ""),
                pos=pos,
            )
        table[fields[0]] = parse_value(fields[1])
    return table
