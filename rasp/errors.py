"""The RaspError hierarchy: every mistake a user can make surfaces as one of these.

Errors carry a SourcePos so the CLI and REPL can point at the offending text;
nothing a user types should ever reach them as a Python traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class SourcePos:
    file: str | None
    line: int
    column: int
    source_line: str | None = None

    def __str__(self) -> str:
        where = self.file or "<input>"
        return f"{where}:{self.line}:{self.column}"


class RaspError(Exception):
    """Base class for all user-facing errors."""

    kind = "error"

    def __init__(self, message: str, pos: SourcePos | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.pos = pos
        self.hint = hint

    def with_pos(self, pos: SourcePos | None) -> RaspError:
        """Attach a position if the error does not have one yet."""
        if self.pos is None and pos is not None:
            self.pos = pos
        return self

    def format(self) -> str:
        head = f"{self.pos}: " if self.pos else ""
        lines = [f"{head}{self.kind}: {self.message}"]
        if self.pos and self.pos.source_line is not None:
            text, caret = _window(self.pos.source_line.rstrip("\n").expandtabs(1), max(self.pos.column - 1, 0))
            lines.append(f"    {text}")
            lines.append("    " + " " * caret + "^")
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


QUOTE_WIDTH = 120  # characters of a long source line an error shows, around the column


def _window(text: str, column: int) -> tuple[str, int]:
    """The part of a source line an error quotes, and the caret's column in it: all of a
    short line; of a long one (a million brackets) a window around the column."""
    if len(text) <= QUOTE_WIDTH:
        return text, column
    start = max(0, min(column - QUOTE_WIDTH // 2, len(text) - QUOTE_WIDTH))
    head = "..." if start > 0 else ""
    tail = "..." if start + QUOTE_WIDTH < len(text) else ""
    return head + text[start : start + QUOTE_WIDTH] + tail, column - start + len(head)


class RaspWarning(RaspError):
    """Not raised: something legal that probably does not mean what it says (printed, run goes on)."""

    kind = "warning"


class RaspSyntaxError(RaspError):
    kind = "syntax error"


class RaspNameError(RaspError):
    kind = "name error"


class RaspTypeError(RaspError):
    kind = "type error"


class RaspValueError(RaspError):
    kind = "value error"


class RaspBudgetError(RaspValueError):
    """Too much work (a statement's or a map's step budget): never a sign that a value is
    unreachable, so code that skips values whose computation fails re-raises it."""


class RaspArgumentError(RaspError):
    kind = "argument error"


class RaspRecursionError(RaspError):
    kind = "recursion error"


class RaspInputError(RaspError):
    """Bad input sequence: empty, too long, or tokens of the wrong type."""

    kind = "input error"


class RaspLoadError(RaspError):
    kind = "load error"


class RaspCompileError(RaspError):
    """A program (or part of it) lies outside the compilable subset."""

    kind = "compile error"


class RaspDependencyError(RaspError):
    kind = "error"


# Optional dependencies and the pip extra that installs each.
OPTIONAL_PACKAGES = {"torch": "torch", "safetensors": "torch", "matplotlib": "draw", "graphviz": "draw",
                     "transformer_lens": "lens"}


def missing_package(e: ModuleNotFoundError) -> RaspDependencyError | None:
    """The clear error for an optional package that is not installed (None for other modules)."""
    top = (e.name or "").split(".")[0]
    extra = OPTIONAL_PACKAGES.get(top)
    if extra is None:
        return None
    return RaspDependencyError(f"this needs the '{top}' package: pip install 'rasp[{extra}]'")


@contextmanager
def optional_packages() -> Iterator[None]:
    """Turn a missing optional package into the RaspDependencyError the CLI prints."""
    try:
        yield
    except ModuleNotFoundError as e:
        error = missing_package(e)
        if error is None:
            raise
        raise error from None
