"""The REPL's commands, recognised only at the start of a statement: `set example`,
`show example`, `examples on|off`, `full seq display on|off`, `:help`, `:layers`, `:load`,
`:draw` and leaving. `run_command(session, line)` runs one, or returns None for RASP source.
"""

from __future__ import annotations

import difflib
import re
import shlex
from pathlib import Path
from typing import Any

from ..errors import (
    RaspError,
    RaspInputError,
    RaspLoadError,
    RaspNameError,
    RaspSyntaxError,
    RaspTypeError,
)
from ..files import read_text
from ..ir.evaluate import tokenize
from ..ir.sops import RASPExpr, SOp
from ..language import ast
from ..language.interpreter import Builtin, Function, stdlib_dir
from ..language.operators import is_atom, type_name
from ..language.parser import parse
from ..view.display import format_example, format_value

# The session the commands act on: a `repl_session.ReplSession` (not imported: it imports this).
ReplSession = Any

HISTORY_FILE = "~/.rasp_history"
HISTORY_ENV = "RASP_HISTORY"

# A trailing ';' is allowed, since the reference REPL's commands are written both ways.
# `subset` is the reference's: `s-op` or `selector` alone, both when absent.
_SET_EXAMPLE = re.compile(r"^set\s+(?:(?P<subset>s-op|selector)\s+)?example\s+(?P<expr>.+?)\s*;?\s*$")
_SHOW_EXAMPLE = re.compile(r"^show\s+(?:(?P<subset>s-op|selector)\s+)?example\s*;?\s*$")
_TOGGLE_EXAMPLES = re.compile(r"^(?:(?P<subset>s-op|selector)\s+)?examples\s+(?P<switch>on|off)\s*;?\s*$")
_FULL_SEQ_DISPLAY = re.compile(r"^full\s+seq\s+display\s+(?P<switch>on|off)\s*;?\s*$")
_EXIT = re.compile(r"^(?:exit|quit|:quit|:q|:exit)\s*;?\s*$")
_COLON_COMMAND = re.compile(r"^:(?P<cmd>[A-Za-z_]+)\b\s*(?P<args>.*?)\s*$")
_PATTERNS = (_EXIT, _SET_EXAMPLE, _SHOW_EXAMPLE, _TOGGLE_EXAMPLES, _FULL_SEQ_DISPLAY, _COLON_COMMAND)

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
    (":help [NAME]", "this text, or what NAME is (a builtin, a library function with its comment, a keyword)"),
    ("exit, quit, :quit", "leave (or Ctrl-D)"),
]
COLON_COMMANDS = ["help", "layers", "load", "draw", "quit"]

# Language keywords that :help explains (they are syntax, not values a name can look up).
KEYWORD_HELP = {
    "select": "select(keys, queries, op): a selector; query position q attends to key position k "
    "when `keys[k] op queries[q]`; op is one of == != < <= > >= (also true, false)",
    "lambda": "lambda x, y: EXPR: an anonymous function (use it with map)",
    "def": "def NAME(PARAMS) { ...; return EXPR; }: a function",
    "for": "for NAME in LIST { ... }: a loop over a list of atoms (or range(n))",
    "load": 'load "FILE";: run a .rasp file (next to the loading file, in the working folder or the stdlib)',
    "if": "A if COND else B: element-wise when COND is an s-op",
    "and": "a and b: element-wise for s-ops; for selectors, both conditions",
    "or": "a or b: element-wise for s-ops; for selectors, either condition",
    "not": "not a: element-wise for s-ops; for selectors, the complement",
    "in": "x in LIST: element-wise membership when x is an s-op",
}


def is_command(line: str) -> bool:
    return any(p.match(line) for p in _PATTERNS)


def run_command(session: ReplSession, line: str) -> str | None:
    """Run `line` if it is a REPL command and return its output; None if it is RASP source.
    A failing command raises its RaspError."""
    if _EXIT.match(line):
        session.done = True
        return ""
    m = _SET_EXAMPLE.match(line)
    if m:
        return set_example(session, m.group("expr"), m.group("subset"))
    m = _SHOW_EXAMPLE.match(line)
    if m:
        return _show_example(session, m.group("subset"))
    m = _TOGGLE_EXAMPLES.match(line)
    if m:
        on = m.group("switch") == "on"
        if m.group("subset") in (None, "s-op"):
            session.show_examples = on
        if m.group("subset") in (None, "selector"):
            session.show_selector_examples = on
        return f"{m.group('subset') or ''} examples {m.group('switch')}".lstrip()
    m = _FULL_SEQ_DISPLAY.match(line)
    if m:
        session.full_seq_display = m.group("switch") == "on"
        return f"full seq display {m.group('switch')}"
    m = _COLON_COMMAND.match(line)
    if m:
        handler = {"help": cmd_help, "h": cmd_help, "layers": cmd_layers, "load": cmd_load, "draw": cmd_draw}.get(
            m.group("cmd")
        )
        if handler is None:
            close = difflib.get_close_matches(m.group("cmd"), COLON_COMMANDS, n=1)
            hint = f"did you mean ':{close[0]}'?" if close else "type :help for the commands"
            raise RaspError(f"unknown command ':{m.group('cmd')}'", hint=hint)
        return handler(session, m.group("args"))
    return None


# --- examples ---------------------------------------------------------------------------------


def _show_example(session: ReplSession, subset: str | None) -> str:
    if subset is None and session.example == session.selector_example:
        return f"example: {format_example(session.example)}"
    lines = []
    if subset in (None, "s-op"):
        lines.append(f"s-op example: {format_example(session.example)}")
    if subset in (None, "selector"):
        lines.append(f"selector example: {format_example(session.selector_example)}")
    return "\n".join(lines)


def set_example(session: ReplSession, source: str, subset: str | None = None) -> str:
    value = _eval_expression(session, source)
    if not isinstance(value, (str, list)):
        raise RaspInputError(
            f"the example must be a string or a list of tokens, got {format_value(value)}",
            hint='e.g. set example "hello" or set example [1, 2, 3]',
        )
    tokenize(value)  # empty, too long or odd tokens fail here, not on every later statement
    if subset in (None, "s-op"):
        session.example = value
    if subset in (None, "selector"):
        session.selector_example = value
    return f"{subset + ' ' if subset else ''}example: {format_example(value)}"


def _eval_expression(session: ReplSession, source: str) -> Any:
    module = parse(source + ";")
    if len(module.statements) != 1 or not isinstance(module.statements[0], ast.ExprStmt):
        shown = source if len(source) <= 60 else source[:57] + "..."
        raise RaspSyntaxError(f"expected one expression, got: {shown}")
    return session.interp.eval(module.statements[0].expr, session.interp.globals)


def _expr_arg(session: ReplSession, args: str, command: str) -> tuple[str, RASPExpr]:
    if not args:
        raise RaspError(f"{command} needs the name of an s-op, e.g. {command} reverse")
    value = _eval_expression(session, args)
    if not isinstance(value, RASPExpr):
        raise RaspTypeError(f"{command} needs an s-op or selector; '{args}' is {_kind(value)}")
    return args, value


# --- :layers, :load, :draw ---------------------------------------------------------------------


def cmd_layers(session: ReplSession, args: str) -> str:
    from ..ir.analysis import analyse

    name, value = _expr_arg(session, args, ":layers")
    return f"{name}: {analyse(value)}"


def cmd_load(session: ReplSession, args: str) -> str:
    parts = _split_args(args, ":load")
    if len(parts) != 1:
        raise RaspError(":load takes one file name, e.g. :load programs/sort.rasp")
    path = Path(parts[0]).expanduser()
    if not path.exists() and path.suffix != ".rasp" and path.with_name(path.name + ".rasp").exists():
        path = path.with_name(path.name + ".rasp")
    if not path.exists():
        looked = [path.absolute()] + ([] if path.suffix == ".rasp" else [path.absolute().with_name(path.name + ".rasp")])
        raise RaspLoadError(f"cannot read program {parts[0]}: no such file (looked for {' and '.join(map(str, looked))})")
    env = session.interp.globals
    before = dict(env.variables)
    try:
        session.interp.run_file(path)
    except RaspSyntaxError as e:
        raise _unquoted(e, path) from None
    return f"loaded {path}{changed_summary(before, env.variables)}"


def _unquoted(e: RaspSyntaxError, path: Path) -> RaspSyntaxError:
    """A syntax error in a file that may not be RASP source (not a .rasp file, failing on its
    first line, or outside the working folder and the stdlib: /etc/passwd, a key file) shows
    where parsing stopped, never the file's text."""
    in_file = e.pos is not None and e.pos.file == str(path)
    roots = [Path.cwd().resolve(), stdlib_dir().resolve()]
    outside = not any(path.resolve().is_relative_to(root) for root in roots)
    if in_file and (path.suffix.lower() != ".rasp" or e.pos.line == 1 or outside):
        from dataclasses import replace

        e.pos = replace(e.pos, source_line=None)
        e.hint = f"{path} does not look like a RASP program"
    return e


def cmd_draw(session: ReplSession, args: str) -> str:
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
    name, value = _expr_arg(session, names[0], ":draw")
    if out_path is None:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "graph"
        out_path = f"{safe}.svg"
    try:
        from ..view.draw import draw_expr
    except ImportError:
        raise RaspError("drawing is not available in this installation (rasp.view.draw is missing)") from None
    written = draw_expr(value, session.example, out_path, force)
    return f"wrote {written if written is not None else out_path}"


# --- :help -------------------------------------------------------------------------------------


def cmd_help(session: ReplSession, args: str) -> str:
    if args:
        return _help_name(session, args)
    width = max(len(c) for c, _ in COMMANDS)
    lines = ["Commands:"]
    lines += [f"  {c.ljust(width)}  {doc}" for c, doc in COMMANDS]
    lines.append("Statements end with ';' and blocks with '}'; they may span several lines.")
    lines.append("Ctrl-C cancels the current input; Ctrl-D leaves.")
    lines.append(f"History is kept in {HISTORY_FILE} (set {HISTORY_ENV} to use another file; --no-history for none).")
    lines.append("")
    builtins = session.interp.builtins.variables
    primitives = [n for n, v in builtins.items() if isinstance(v, SOp)]
    lines.append("Primitive s-ops: " + ", ".join(primitives))
    lines.append("Builtins:")
    funcs = [v for v in builtins.values() if isinstance(v, Builtin)]
    sig_width = max((len(b.signature) for b in funcs), default=0)
    lines.append(f"  {'select(keys, queries, op)'.ljust(sig_width)}  a selector; op is one of == != < <= > >=")
    lines += [f"  {b.signature.ljust(sig_width)}  {b.doc}" for b in funcs]
    env = session.interp.globals
    lib = [(n, env.variables[n]) for n in session.library_names if n in env.variables]
    lib_funcs = [f"{n}({', '.join(v.params)})" for n, v in lib if isinstance(v, Function)]
    lib_values = [n for n, v in lib if not isinstance(v, Function)]
    if lib_funcs:
        lines.append("Library functions: " + ", ".join(lib_funcs))
    if lib_values:
        lines.append("Library values: " + ", ".join(lib_values))
    lines.append("Type :help NAME for one of them.")
    return "\n".join(lines)


def _help_name(session: ReplSession, name: str) -> str:
    try:
        value = session.interp.globals.lookup(name)
    except KeyError:
        if name in KEYWORD_HELP:
            return f"keyword {KEYWORD_HELP[name]}"
        names = session.interp.globals.all_names() + list(KEYWORD_HELP)
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean '{close[0]}'?" if close else None
        raise RaspNameError(f"name '{name}' is not defined", hint=hint) from None
    if isinstance(value, Builtin):
        return f"builtin {value.signature}: {value.doc}"
    if isinstance(value, Function):
        doc = function_comment(value)
        where = f" (defined in {Path(value.pos.file).name}:{value.pos.line})" if value.pos and value.pos.file else ""
        return f"{value}{where}" + (f"\n{doc}" if doc else "")
    return session.describe(name, value)


def function_comment(func: Function) -> str:
    """The comment block right above a function's `def` in its file ('' if none): the
    stdlib's documentation of it."""
    pos = func.pos
    if pos is None or not pos.file:
        return ""
    try:
        lines = read_text(pos.file, "program").splitlines()[: pos.line - 1]
    except RaspError:
        return ""
    comment: list[str] = []
    for line in reversed(lines):
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        comment.append("  " + stripped.lstrip("#").strip())
    return "\n".join(reversed(comment)).rstrip()


# --- helpers ------------------------------------------------------------------------------------


def _split_args(args: str, command: str) -> list[str]:
    """A command's arguments, split like a shell would (quotes keep spaces)."""
    try:
        return shlex.split(args)
    except ValueError as e:
        raise RaspError(f"{command}: {e}") from None


def changed_summary(before: dict[str, Any], after: dict[str, Any]) -> str:
    """': a, b' naming the variables a statement or file (re)defined."""
    changed = [n for n, v in after.items() if not n.startswith("_") and before.get(n, _MISSING) is not v]
    if not changed:
        return ""
    shown = ", ".join(changed[:20]) + (f", ... ({len(changed)} in all)" if len(changed) > 20 else "")
    return f": {shown}"


_MISSING = object()


def _kind(value: Any) -> str:
    if is_atom(value):
        return f"the value {format_value(value)}"
    return f"a {type_name(value)}"
