"""The interactive RASP REPL (`rasp` with no arguments).

`ReplSession` is the whole REPL without a terminal: `feed(line)` takes one
line of input and returns the text to print, holding incomplete statements
until they are finished. `main` wraps it in a prompt_toolkit loop (history,
continuation prompt, completion) or, when stdin is not a terminal, in a plain
line-by-line loop.

Like the reference REPL (tech-srl/RASP), every s-op and selector is shown on
the current example input:

    >> x = aggregate(select(indices, length - indices - 1, ==), tokens);
    s-op: x
         Example: x("hello") = [o, l, l, e, h] (strings)
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from ..errors import RaspError, RaspInputError, RaspNameError, RaspSyntaxError, RaspTypeError
from ..files import MAX_SOURCE_BYTES
from ..ir.evaluate import evaluate, tokenize
from ..ir.sops import RASPExpr, Selector, SOp
from ..language import ast
from ..language.interpreter import Builtin, Function, Interpreter
from ..language.operators import is_atom, type_name
from ..language.parser import parse
from ..view.display import (
    format_aligned,
    format_atom,
    format_example,
    format_selector,
    format_sequence,
    format_value,
)

PROMPT = ">> "
CONTINUATION_PROMPT = "... "
DEFAULT_EXAMPLE = "hello"
HISTORY_FILE = "~/.rasp_history"
# A longer line is refused (and, when piped, never held in memory whole).
MAX_LINE_LENGTH = 20_000
# Past this many lines, an unfinished statement is re-parsed only where it can have ended.
_REPARSE_LINES = 20
INDENT = "     "

_INCOMPLETE_PREFIX = "unexpected end of input"

# REPL commands, recognised only at the start of a statement. A trailing ';' is allowed,
# since the reference REPL's commands are written both ways.
# `subset` is the reference's: `s-op` or `selector` alone, both when absent.
_SET_EXAMPLE = re.compile(r"^set\s+(?:(?P<subset>s-op|selector)\s+)?example\s+(?P<expr>.+?)\s*;?\s*$")
_SHOW_EXAMPLE = re.compile(r"^show\s+(?:(?P<subset>s-op|selector)\s+)?example\s*;?\s*$")
_TOGGLE_EXAMPLES = re.compile(r"^(?:(?P<subset>s-op|selector)\s+)?examples\s+(?P<switch>on|off)\s*;?\s*$")
_FULL_SEQ_DISPLAY = re.compile(r"^full\s+seq\s+display\s+(?P<switch>on|off)\s*;?\s*$")
_EXIT = re.compile(r"^(?:exit|quit|:quit|:q|:exit)\s*;?\s*$")
_COLON_COMMAND = re.compile(r"^:(?P<cmd>[A-Za-z_]+)\b\s*(?P<args>.*?)\s*$")

COMMANDS = [
    ('set example "hello"', "the input values are shown on (a string, or a list: set example [1, 2, 3])"),
    ('set s-op|selector example "hi"', "an example for s-ops only, or for selectors only"),
    ("show example", "print the current example(s)"),
    ("[s-op|selector] examples on|off", "show or hide values on the example"),
    ("full seq display on|off", "show each s-op value under its input token"),
    ('draw(NAME, "input");', "draw NAME's computation graph on an input to NAME.svg"),
    (":layers NAME", "layers and heads NAME needs (RASP paper counting)"),
    (":load FILE", 'run a .rasp file in this session (in RASP itself: load "file";)'),
    (":draw NAME [-o FILE]", "draw NAME's computation graph on the example (Graphviz; .svg .png .pdf .dot)"),
    (":help [NAME]", "this text, or what NAME is"),
    ("exit, quit, :quit", "leave (or Ctrl-D)"),
]

KEYWORDS = ["def", "return", "for", "in", "if", "else", "and", "or", "not", "lambda", "load", "select"]


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
        self._open_brackets = 0  # brackets the buffered statement leaves open
        # What the standard library defined, for :help.
        self.library_names = [n for n in self.interp.globals.variables if not n.startswith("_")]

    # --- input -------------------------------------------------------------------------

    def is_complete(self, text: str) -> bool:
        """Whether `text`, typed at a fresh prompt, is ready to run (a command, or whole statements)."""
        if self._buffer or not text.strip():
            return True
        if self._is_command(text.strip()):
            return True
        try:
            parse(text)
        except RaspSyntaxError as e:
            return not e.message.startswith(_INCOMPLETE_PREFIX)
        except Exception:  # noqa: BLE001 - let feed() report it
            return True
        return True

    @staticmethod
    def _is_command(line: str) -> bool:
        patterns = (_EXIT, _SET_EXAMPLE, _SHOW_EXAMPLE, _TOGGLE_EXAMPLES, _FULL_SEQ_DISPLAY, _COLON_COMMAND)
        return any(p.match(line) for p in patterns)

    @property
    def pending(self) -> bool:
        """True while an unfinished statement is buffered (show the continuation prompt)."""
        return bool(self._buffer)

    def reset(self) -> None:
        """Drop the unfinished statement (Ctrl-C)."""
        self._buffer = []

    def feed(self, text: str) -> str:
        """Process one or more lines; returns the text to print ('' if none)."""
        lines = text.splitlines() or [""]
        outputs = [self._feed_line(line) for line in lines]
        return "\n".join(o for o in outputs if o)

    def finish(self) -> str:
        """At end of input: report a statement left unfinished."""
        if not self._buffer:
            return ""
        source = "\n".join(self._buffer)
        self._buffer = []
        try:
            parse(source)
        except RaspError as e:
            return self._failure(e.format())
        return ""

    def _may_be_complete(self, code: str) -> bool:
        """A statement can only end on a line ending in ';' or '}' with every bracket closed."""
        return self._open_brackets < 0 or (self._open_brackets == 0 and code.rstrip().endswith((";", "}")))

    def _failure(self, text: str) -> str:
        """Report an error: remember it (piped sessions exit 1) and return its text."""
        self.failed = True
        return text

    def _feed_line(self, line: str) -> str:
        if self.done:
            return ""
        if len(line) > MAX_LINE_LENGTH:
            self._buffer = []
            return self._failure(
                f"error: line too long (over {MAX_LINE_LENGTH:,} characters); statements may span several lines"
            )
        if sum(len(b) for b in self._buffer) + len(line) > MAX_SOURCE_BYTES:
            self._buffer = []
            return self._failure(f"error: statement too long (over {MAX_SOURCE_BYTES:,} characters); it was dropped")
        if not self._buffer:
            stripped = line.strip()
            if not stripped:
                return ""
            command = self._try_command(stripped)
            if command is not None:
                return command
        self._buffer.append(line)
        change, code = _scan(line)
        self._open_brackets = (self._open_brackets if len(self._buffer) > 1 else 0) + change
        if len(self._buffer) > _REPARSE_LINES and not self._may_be_complete(code):
            return ""  # a long statement is parsed only when it can have ended: linear, not quadratic
        source = "\n".join(self._buffer)
        try:
            module = parse(source)
        except RaspSyntaxError as e:
            if e.message.startswith(_INCOMPLETE_PREFIX):
                return ""  # keep reading: the statement is not finished
            self._buffer = []
            return self._failure(e.format())
        except Exception as e:  # noqa: BLE001 - the session must survive anything
            self._buffer = []
            return self._failure(_internal(e))
        self._buffer = []
        warnings = [w.format() for w in module.warnings]
        try:
            return "\n".join(warnings + [self._run(module.statements)]).strip("\n")
        except Exception as e:  # noqa: BLE001 - e.g. a display bug: report it and go on
            return self._failure(_internal(e))

    # --- statements ----------------------------------------------------------------------

    def _run(self, statements: list[ast.Node]) -> str:
        out: list[str] = []
        env = self.interp.globals
        for stmt in statements:
            before = dict(env.variables)
            try:
                results = self.interp.run_statements([stmt], env)
            except RaspError as e:
                out.append(self._failure(e.format()))
                break
            except Exception as e:  # noqa: BLE001
                out.append(self._failure(_internal(e)))
                break
            if isinstance(stmt, ast.Load):
                out.append(f"loaded {format_value(stmt.path)}{_changed_summary(before, env.variables)}")
            for r in results:
                out.append(self.describe(r.name, r.value))
        return "\n".join(o for o in out if o)

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
            return f"{INDENT}Example: {call} fails:\n" + _indent(e.format(), INDENT + "  ")
        except Exception as e:  # noqa: BLE001
            return f"{INDENT}Example: {call} fails: {_internal(e)}"
        if self.full_seq_display and len(set(map(format_atom, values))) > 1:
            return f"{INDENT}Example: {call} =\n" + _indent(format_aligned(tokenize(self.example), values), INDENT + "    ")
        return f"{INDENT}Example: {call} = {format_sequence(values)}"

    def _selector_example(self, name: str, value: Selector) -> str:
        try:
            matrix = evaluate(value, self.selector_example)
            tokens = tokenize(self.selector_example)
        except RaspError as e:
            return f"{INDENT}Example: {name}({format_example(self.selector_example)}) fails:\n" + _indent(
                e.format(), INDENT + "  "
            )
        except Exception as e:  # noqa: BLE001
            return f"{INDENT}Example: fails: {_internal(e)}"
        return f"{INDENT}Example:\n" + _indent(format_selector(matrix, tokens), INDENT + "    ")

    # --- REPL commands ---------------------------------------------------------------------

    def _try_command(self, line: str) -> str | None:
        """Run `line` if it is a REPL command; None if it is RASP source."""
        try:
            return self._command(line)
        except RaspError as e:
            return self._failure(e.format())
        except Exception as e:  # noqa: BLE001
            return self._failure(_internal(e))

    def _command(self, line: str) -> str | None:
        if _EXIT.match(line):
            self.done = True
            return ""
        m = _SET_EXAMPLE.match(line)
        if m:
            return self.set_example(m.group("expr"), m.group("subset"))
        m = _SHOW_EXAMPLE.match(line)
        if m:
            return self._show_example(m.group("subset"))
        m = _TOGGLE_EXAMPLES.match(line)
        if m:
            on = m.group("switch") == "on"
            if m.group("subset") in (None, "s-op"):
                self.show_examples = on
            if m.group("subset") in (None, "selector"):
                self.show_selector_examples = on
            return f"{m.group('subset') or ''} examples {m.group('switch')}".lstrip()
        m = _FULL_SEQ_DISPLAY.match(line)
        if m:
            self.full_seq_display = m.group("switch") == "on"
            return f"full seq display {m.group('switch')}"
        m = _COLON_COMMAND.match(line)
        if m:
            handler = {
                "help": self.cmd_help,
                "h": self.cmd_help,
                "layers": self.cmd_layers,
                "load": self.cmd_load,
                "draw": self.cmd_draw,
            }.get(m.group("cmd"))
            if handler is None:
                close = difflib.get_close_matches(m.group("cmd"), ["help", "layers", "load", "draw", "quit"], n=1)
                hint = f"did you mean ':{close[0]}'?" if close else "type :help for the commands"
                raise RaspError(f"unknown command ':{m.group('cmd')}'", hint=hint)
            return handler(m.group("args"))
        return None

    def _show_example(self, subset: str | None) -> str:
        if subset is None and self.example == self.selector_example:
            return f"example: {format_example(self.example)}"
        lines = []
        if subset in (None, "s-op"):
            lines.append(f"s-op example: {format_example(self.example)}")
        if subset in (None, "selector"):
            lines.append(f"selector example: {format_example(self.selector_example)}")
        return "\n".join(lines)

    def set_example(self, source: str, subset: str | None = None) -> str:
        value = self._eval_expression(source)
        if not isinstance(value, (str, list)):
            raise RaspInputError(
                f"the example must be a string or a list of tokens, got {format_value(value)}",
                hint='e.g. set example "hello" or set example [1, 2, 3]',
            )
        tokenize(value)  # empty, too long or odd tokens fail here, not on every later statement
        if subset in (None, "s-op"):
            self.example = value
        if subset in (None, "selector"):
            self.selector_example = value
        return f"{subset + ' ' if subset else ''}example: {format_example(value)}"

    def _eval_expression(self, source: str) -> Any:
        module = parse(source + ";")
        if len(module.statements) != 1 or not isinstance(module.statements[0], ast.ExprStmt):
            raise RaspSyntaxError(f"expected one expression, got: {source}")
        return self.interp.eval(module.statements[0].expr, self.interp.globals)

    def _expr_arg(self, args: str, command: str) -> tuple[str, RASPExpr]:
        if not args:
            raise RaspError(f"{command} needs the name of an s-op, e.g. {command} reverse")
        value = self._eval_expression(args)
        if not isinstance(value, RASPExpr):
            raise RaspTypeError(f"{command} needs an s-op or selector; '{args}' is {_kind(value)}")
        return args, value

    def cmd_layers(self, args: str) -> str:
        from ..ir.analysis import analyse

        name, value = self._expr_arg(args, ":layers")
        return f"{name}: {analyse(value)}"

    def cmd_load(self, args: str) -> str:
        parts = _split_args(args, ":load")
        if len(parts) != 1:
            raise RaspError(":load takes one file name, e.g. :load programs/sort.rasp")
        path = Path(parts[0]).expanduser()
        if not path.exists() and path.suffix != ".rasp" and path.with_name(path.name + ".rasp").exists():
            path = path.with_name(path.name + ".rasp")
        env = self.interp.globals
        before = dict(env.variables)
        self.interp.run_file(path)
        return f"loaded {path}{_changed_summary(before, env.variables)}"

    def cmd_draw(self, args: str) -> str:
        parts = _split_args(args, ":draw")
        out_path: str | None = None
        names: list[str] = []
        force = False
        i = 0
        while i < len(parts):
            if parts[i] == "--force":
                force = True
                i += 1
            elif parts[i] in ("-o", "--out"):
                if i + 1 >= len(parts):
                    raise RaspError(":draw -o needs a file name, e.g. :draw x -o x.svg")
                out_path = parts[i + 1]
                i += 2
            else:
                names.append(parts[i])
                i += 1
        if len(names) != 1:
            raise RaspError(":draw takes one s-op name, e.g. :draw reverse -o reverse.svg")
        name, value = self._expr_arg(names[0], ":draw")
        if out_path is None:
            safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "graph"
            out_path = f"{safe}.svg"
        try:
            from ..view.draw import draw_expr
        except ImportError:
            raise RaspError("drawing is not available in this installation (rasp.view.draw is missing)") from None
        written = draw_expr(value, self.example, out_path, force)
        return f"wrote {written if written is not None else out_path}"

    def cmd_help(self, args: str) -> str:
        if args:
            return self._help_name(args)
        width = max(len(c) for c, _ in COMMANDS)
        lines = ["Commands:"]
        lines += [f"  {c.ljust(width)}  {doc}" for c, doc in COMMANDS]
        lines.append("Statements end with ';' and blocks with '}'; they may span several lines.")
        lines.append("Ctrl-C cancels the current input; Ctrl-D leaves.")
        lines.append("")
        builtins = self.interp.builtins.variables
        primitives = [n for n, v in builtins.items() if isinstance(v, SOp)]
        lines.append("Primitive s-ops: " + ", ".join(primitives))
        lines.append("Builtins:")
        funcs = [v for v in builtins.values() if isinstance(v, Builtin)]
        sig_width = max((len(b.signature) for b in funcs), default=0)
        lines.append(f"  {'select(keys, queries, op)'.ljust(sig_width)}  a selector; op is one of == != < <= > >=")
        lines += [f"  {b.signature.ljust(sig_width)}  {b.doc}" for b in funcs]
        env = self.interp.globals
        lib = [(n, env.variables[n]) for n in self.library_names if n in env.variables]
        lib_funcs = [f"{n}({', '.join(v.params)})" for n, v in lib if isinstance(v, Function)]
        lib_values = [n for n, v in lib if not isinstance(v, Function)]
        if lib_funcs:
            lines.append("Library functions: " + ", ".join(lib_funcs))
        if lib_values:
            lines.append("Library values: " + ", ".join(lib_values))
        lines.append("Type :help NAME for one of them.")
        return "\n".join(lines)

    def _help_name(self, name: str) -> str:
        try:
            value = self.interp.globals.lookup(name)
        except KeyError:
            close = difflib.get_close_matches(name, self.interp.globals.all_names(), n=1)
            hint = f"did you mean '{close[0]}'?" if close else None
            raise RaspNameError(f"name '{name}' is not defined", hint=hint) from None
        if isinstance(value, Builtin):
            return f"builtin {value.signature}: {value.doc}"
        return self.describe(name, value)


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


def _internal(e: BaseException) -> str:
    text = str(e).splitlines()[0] if str(e) else ""
    return f"internal error: {type(e).__name__}" + (f": {text}" if text else "")


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


def _split_args(args: str, command: str) -> list[str]:
    """A command's arguments, split like a shell would (quotes keep spaces)."""
    try:
        return shlex.split(args)
    except ValueError as e:
        raise RaspError(f"{command}: {e}") from None


def _kind(value: Any) -> str:
    if is_atom(value):
        return f"the value {format_value(value)}"
    return f"a {type_name(value)}"


def _changed_summary(before: dict[str, Any], after: dict[str, Any]) -> str:
    changed = [n for n, v in after.items() if not n.startswith("_") and before.get(n, _MISSING) is not v]
    if not changed:
        return ""
    shown = ", ".join(changed[:20]) + (f", ... ({len(changed)} in all)" if len(changed) > 20 else "")
    return f": {shown}"


_MISSING = object()


# --- terminal loops -------------------------------------------------------------------------


def banner(session: ReplSession) -> str:
    from .. import __version__

    return (
        f"RASP {__version__}: type :help for commands, exit or Ctrl-D to leave\n"
        f"running example is: {format_example(session.example)}"
    )


def make_history(path: str | os.PathLike[str] | None = None) -> Any:
    """A FileHistory at `path` (~/.rasp_history), or in-memory history if it is not writable."""
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    target = Path(os.path.expanduser(str(path if path is not None else HISTORY_FILE)))
    try:
        with open(target, "a", encoding="utf-8"):
            pass
    except OSError:
        return InMemoryHistory()
    return FileHistory(str(target))


def _completer(session: ReplSession) -> Any:
    from prompt_toolkit.completion import WordCompleter

    def words() -> list[str]:
        names = [n for n in session.interp.globals.all_names() if not n.startswith("_")]
        return sorted(set(names + KEYWORDS)) + [":help", ":layers", ":load", ":draw", ":quit"]

    return WordCompleter(words, pattern=re.compile(r"(:?[A-Za-z_][A-Za-z0-9_]*|:)"))


def _key_bindings(session: ReplSession) -> Any:
    """Enter runs a finished statement and starts a new line inside an unfinished one, so a
    multi-line `def` is edited, and recalled from history, as one entry."""
    from prompt_toolkit.key_binding import KeyBindings

    kb = KeyBindings()

    @kb.add("enter")
    @kb.add("c-j")
    def _(event: Any) -> None:
        buffer = event.current_buffer
        if session.is_complete(buffer.text):
            buffer.validate_and_handle()
        else:
            buffer.insert_text("\n")

    return kb


def make_prompt(session: ReplSession, input: Any = None, output: Any = None, history: Any = None) -> Any:
    """The prompt_toolkit prompt: RASP highlighted, suggestions from history, multi-line entries."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.lexers import PygmentsLexer

    from ..view.lexer import RaspLexer

    return PromptSession(
        history=history,
        input=input,
        output=output,
        completer=_completer(session),
        complete_while_typing=False,
        lexer=PygmentsLexer(RaspLexer),
        auto_suggest=AutoSuggestFromHistory(),
        multiline=True,
        key_bindings=_key_bindings(session),
        prompt_continuation=lambda width, line_number, wrap_count: CONTINUATION_PROMPT.rjust(width),
    )


def prompt_loop(
    session: ReplSession,
    input: Any = None,
    output: Any = None,
    history: Any = None,
    write: Callable[[str], Any] | None = None,
) -> int:
    """The interactive loop: prompt_toolkit reads, the session evaluates, `write` prints."""
    emit = write or _stdout_writer()
    prompt_session = make_prompt(session, input, output, history)
    while not session.done:
        try:
            line = prompt_session.prompt(CONTINUATION_PROMPT if session.pending else PROMPT)
        except KeyboardInterrupt:
            session.reset()
            continue
        except EOFError:
            _emit(emit, session.finish())
            break
        try:
            _emit(emit, session.feed(line))
        except KeyboardInterrupt:
            session.reset()
            _emit(emit, "interrupted")
    return 0


def plain_loop(session: ReplSession, stdin: TextIO, write: Callable[[str], Any] | None = None) -> int:
    """The loop for piped input: no prompts, one line at a time. Exits 1 if any statement
    failed (so scripts notice), else 0."""
    emit = write or _stdout_writer()
    for line in _bounded_lines(stdin):
        try:
            _emit(emit, session.feed(line.rstrip("\r\n")))
        except KeyboardInterrupt:
            session.reset()
            _emit(emit, "interrupted")
            return 130
        if session.done:
            break
    else:
        _emit(emit, session.finish())
    return 1 if session.failed else 0


def _bounded_lines(stdin: TextIO) -> Iterator[str]:
    """The lines of `stdin`; a line over MAX_LINE_LENGTH comes out cut just past the limit
    (the session refuses it) and its rest is skipped, never held in memory."""
    while True:
        line = stdin.readline(MAX_LINE_LENGTH + 1)
        if not line:
            return
        if len(line) > MAX_LINE_LENGTH and not line.endswith("\n"):
            rest = line
            while rest and not rest.endswith("\n"):
                rest = stdin.readline(MAX_LINE_LENGTH)
        yield line


def _stdout_writer() -> Callable[[str], Any]:
    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    return write


def _emit(write: Callable[[str], Any], text: str) -> None:
    if text:
        write(text + "\n")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="rasp repl", description="The interactive RASP REPL.")
    p.add_argument("files", nargs="*", help=".rasp files to load first")
    p.add_argument("--example", "-e", help='the starting example input (default "hello")')
    p.add_argument("--no-history", action="store_true", help="do not read or write ~/.rasp_history")
    return p.parse_args(argv if argv is not None else [])


def main(argv: list[str] | None = None, input: Any = None, output: Any = None) -> int:
    """Run the REPL; `input`/`output` are prompt_toolkit Input/Output objects (for tests)."""
    args = _parse_args(argv)
    try:
        session = ReplSession(example=args.example if args.example else DEFAULT_EXAMPLE)
    except RaspError as e:  # a broken standard library must not look like a crash
        print(e.format(), file=sys.stderr)
        return 1
    interactive = input is not None or output is not None or (sys.stdin.isatty() and sys.stdout.isatty())
    if interactive:
        _emit(_stdout_writer(), banner(session))
    for f in args.files:
        _emit(_stdout_writer(), session.feed(f":load {shlex.quote(f)}"))
    if not interactive:
        if hasattr(sys.stdin, "reconfigure"):
            sys.stdin.reconfigure(errors="replace")  # odd bytes must not end the session
        try:
            return plain_loop(session, sys.stdin)
        except BrokenPipeError:
            return 0
    if args.no_history:
        from prompt_toolkit.history import InMemoryHistory

        history = InMemoryHistory()
    else:
        history = make_history(os.environ.get("RASP_HISTORY") or HISTORY_FILE)
    return prompt_loop(session, input=input, output=output, history=history)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
