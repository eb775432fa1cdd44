"""The REPL without a terminal: `ReplSession.feed(line)` takes one line of input and returns
the text to print, holding an unfinished statement until it is finished. Commands
(`:help`, `set example`, ...) live in `repl_commands`; the prompt and the loops in `repl`.

Like the reference REPL (tech-srl/RASP), every s-op and selector is shown on the current
example input:

    >> x = aggregate(select(indices, length - indices - 1, ==), tokens);
    s-op: x
         Example: x("hello") = [o, l, l, e, h] (strings)

Input is bounded: a line over MAX_LINE_LENGTH characters or a statement over
MAX_SOURCE_BYTES is refused (the rest of a refused statement is skipped, not run line by
line), and an unfinished statement is parsed again only on lines where it can have ended,
so a long pasted statement costs time linear in its length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import RaspError, RaspSyntaxError
from ..files import MAX_SOURCE_BYTES
from ..ir.evaluate import evaluate, tokenize
from ..ir.sops import RASPExpr, Selector, SOp
from ..language import ast
from ..language.interpreter import Builtin, Function, Interpreter
from ..language.parser import parse
from ..view.display import (
    format_aligned,
    format_atom,
    format_example,
    format_selector,
    format_sequence,
    format_value,
)
from . import repl_commands
from .repl_commands import changed_summary

DEFAULT_EXAMPLE = "hello"
# A longer line is refused (and, when piped, never held in memory whole).
MAX_LINE_LENGTH = 20_000
# Past this many lines or characters, an unfinished statement is re-parsed only where it
# can have ended (before, every line is parsed, so a mistake shows at once).
_REPARSE_LINES = 20
_REPARSE_CHARS = 4_000
INDENT = "     "

_INCOMPLETE_PREFIX = "unexpected end of input"


@dataclass
class Output:
    """One piece of what a line produced: text to print, and whether it reports an error
    (piped sessions print those on stderr)."""

    text: str
    error: bool = False


class ReplSession:
    """A REPL without a terminal: feed it lines, print what it returns."""

    def __init__(self, interpreter: Interpreter | None = None, example: Any = DEFAULT_EXAMPLE):
        self.interp = interpreter if interpreter is not None else Interpreter()
        self.example: Any = example
        self.selector_example: Any = example
        self.show_examples = True
        self.show_selector_examples = True
        self.full_seq_display = False
        self.done = False
        self.failed = False  # some statement or command failed (piped mode exits 1)
        self._buffer: list[str] = []
        self._buffer_chars = 0  # characters held in _buffer (kept, not summed: linear time)
        self._open_brackets = 0  # brackets the buffered statement leaves open
        self._skipping = False  # dropping the rest of a statement that was refused
        # What the standard library defined, for :help.
        self.library_names = [n for n in self.interp.globals.variables if not n.startswith("_")]

    # --- input -------------------------------------------------------------------------

    def is_complete(self, text: str) -> bool:
        """Whether `text`, typed at a fresh prompt, is ready to run (a command, or whole statements)."""
        if self._buffer or not text.strip():
            return True
        if repl_commands.is_command(text.strip()):
            return True
        try:
            parse(text)
        except RaspSyntaxError as e:
            return not e.message.startswith(_INCOMPLETE_PREFIX)
        except Exception:  # noqa: BLE001 - let feed() report it
            return True
        return True

    @property
    def pending(self) -> bool:
        """True while an unfinished statement is buffered (show the continuation prompt)."""
        return bool(self._buffer)

    def reset(self) -> None:
        """Drop the unfinished statement (Ctrl-C)."""
        self._clear()
        self._skipping = False

    def feed(self, text: str) -> str:
        """Process one or more lines; returns the text to print ('' if none)."""
        return "\n".join(o.text for o in self.feed_parts(text))

    def feed_parts(self, text: str) -> list[Output]:
        """`feed`, with errors told apart from the rest."""
        outputs = [o for line in text.splitlines() or [""] for o in self._feed_line(line)]
        return [o for o in outputs if o.text]

    def refuse_line(self) -> Output:
        """A line too long to take in (a piped reader never holds it whole): refuse it with
        the statement it belongs to; the next line starts afresh."""
        self._clear()
        self._skipping = False
        return self.fail(
            f"error: line too long (over {MAX_LINE_LENGTH:,} characters); statements may span several lines"
        )

    def finish(self) -> str:
        """At end of input: report a statement left unfinished."""
        if not self._buffer:
            return ""
        source = "\n".join(self._buffer)
        self._clear()
        try:
            parse(source)
        except RaspError as e:
            return self.fail(e.format()).text
        return ""

    def fail(self, text: str) -> Output:
        """Report an error: remember it (piped sessions exit 1)."""
        self.failed = True
        return Output(text, error=True)

    def _clear(self) -> None:
        self._buffer = []
        self._buffer_chars = 0
        self._open_brackets = 0

    def _may_be_complete(self, code: str) -> bool:
        """A statement can only end on a line ending in ';' or '}' with every bracket closed."""
        return self._open_brackets < 0 or (self._open_brackets == 0 and code.rstrip().endswith((";", "}")))

    def _feed_line(self, line: str) -> list[Output]:
        if self.done:
            return []
        if len(line) > MAX_LINE_LENGTH:
            return [self.refuse_line()]
        if self._skipping:
            self._skip(line)
            return []
        if self._buffer_chars + len(line) > MAX_SOURCE_BYTES:
            self._skip(line)  # the statement goes on past this line: drop it to its end
            self._buffer, self._buffer_chars = [], 0
            return [self.fail(f"error: statement too long (over {MAX_SOURCE_BYTES:,} characters); it was dropped")]
        if not self._buffer:
            stripped = line.strip()
            if not stripped:
                return []
            try:
                command = repl_commands.run_command(self, stripped)
            except RaspError as e:
                return [self.fail(e.format())]
            except Exception as e:  # noqa: BLE001
                return [self.fail(internal_error(e))]
            if command is not None:
                return [Output(command)]
        self._buffer.append(line)
        self._buffer_chars += len(line) + 1
        change, code = _scan(line)
        self._open_brackets = (self._open_brackets if len(self._buffer) > 1 else 0) + change
        long = len(self._buffer) > _REPARSE_LINES or self._buffer_chars > _REPARSE_CHARS
        if long and not self._may_be_complete(code):
            return []  # a long statement is parsed only when it can have ended: linear, not quadratic
        source = "\n".join(self._buffer)
        try:
            module = parse(source)
        except RaspSyntaxError as e:
            if e.message.startswith(_INCOMPLETE_PREFIX):
                return []  # keep reading: the statement is not finished
            self._clear()
            return [self.fail(e.format())]
        except RaspError as e:  # nested too deeply, too long: a clean error like any other
            self._clear()
            return [self.fail(e.format())]
        except Exception as e:  # noqa: BLE001 - the session must survive anything
            self._clear()
            return [self.fail(internal_error(e))]
        self._clear()
        warnings = [Output(w.format(), error=True) for w in module.warnings]
        try:
            return warnings + self._run(module.statements)
        except Exception as e:  # noqa: BLE001 - e.g. a display bug: report it and go on
            return warnings + [self.fail(internal_error(e))]

    def _skip(self, line: str) -> None:
        """Skip a line of a refused statement; the statement ends on a line that closes its
        brackets and ends in ';' or '}'."""
        change, code = _scan(line)
        self._open_brackets += change
        self._skipping = not self._may_be_complete(code)
        if not self._skipping:
            self._open_brackets = 0

    # --- statements ----------------------------------------------------------------------

    def _run(self, statements: list[ast.Node]) -> list[Output]:
        out: list[Output] = []
        env = self.interp.globals
        for stmt in statements:
            before = dict(env.variables)
            try:
                results = self.interp.run_statements([stmt], env)
            except RaspError as e:
                out.append(self.fail(e.format()))
                break
            except Exception as e:  # noqa: BLE001
                out.append(self.fail(internal_error(e)))
                break
            if isinstance(stmt, ast.Load):
                out.append(Output(f"loaded {format_value(stmt.path)}{changed_summary(before, env.variables)}"))
            out += [Output(self.describe(r.name, r.value)) for r in results]
        return out

    def describe(self, name: str, value: Any) -> str:
        """A value as the REPL shows it, with its example value for s-ops and selectors."""
        if isinstance(value, SOp):
            lines = [f"s-op: {name}"]
            if self.show_examples:
                lines.append(self._sop_example(name, value))
            return "\n".join(lines)
        if isinstance(value, Selector):
            lines = [f"selector: {name}"]
            if self.show_selector_examples:
                lines.append(self._selector_example(name, value))
            return "\n".join(lines)
        if isinstance(value, RASPExpr):
            return f"{type(value).__name__.lower()}: {name}"
        if isinstance(value, (Function, Builtin)):
            return str(value)
        if isinstance(value, list):
            return f"list: {name} = {format_value(value)}"
        if isinstance(value, dict):
            return f"dict: {name} = {format_value(value)}"
        if value is None:
            return ""
        return f"value: {name} = {format_value(value)}"

    def _sop_example(self, name: str, value: SOp) -> str:
        call = f"{name}({format_example(self.example)})"
        try:
            values = evaluate(value, self.example)
        except RaspError as e:
            return f"{INDENT}Example: {call} fails:\n" + indent(e.format(), INDENT + "  ")
        except Exception as e:  # noqa: BLE001
            return f"{INDENT}Example: {call} fails: {internal_error(e)}"
        if self.full_seq_display and len(set(map(format_atom, values))) > 1:
            return f"{INDENT}Example: {call} =\n" + indent(format_aligned(tokenize(self.example), values), INDENT + "    ")
        return f"{INDENT}Example: {call} = {format_sequence(values)}"

    def _selector_example(self, name: str, value: Selector) -> str:
        try:
            matrix = evaluate(value, self.selector_example)
            tokens = tokenize(self.selector_example)
        except RaspError as e:
            return f"{INDENT}Example: {name}({format_example(self.selector_example)}) fails:\n" + indent(
                e.format(), INDENT + "  "
            )
        except Exception as e:  # noqa: BLE001
            return f"{INDENT}Example: fails: {internal_error(e)}"
        return f"{INDENT}Example:\n" + indent(format_selector(matrix, tokens), INDENT + "    ")


# --- helpers ------------------------------------------------------------------------------


def _scan(line: str) -> tuple[int, str]:
    """(brackets the line opens minus those it closes, the line without its comment),
    outside strings."""
    change, in_string = 0, False
    for i, ch in enumerate(line):
        if ch == '"':
            in_string = not in_string
        elif in_string:
            continue
        elif ch == "#":
            return change, line[:i]
        elif ch in "([{":
            change += 1
        elif ch in ")]}":
            change -= 1
    return change, line


def internal_error(e: BaseException) -> str:
    text = str(e).splitlines()[0] if str(e) else ""
    return f"internal error: {type(e).__name__}" + (f": {text}" if text else "")


def indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


