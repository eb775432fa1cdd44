"""Parse RASP source into the typed AST of `rasp.ast` (Lark LALR + a Transformer)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from ..errors import RaspError, RaspRecursionError, RaspSyntaxError, RaspWarning, SourcePos
from . import ast

_GRAMMAR = Path(__file__).with_name("grammar.lark")

# How expected terminals are named in error messages.
_TERMINAL_TEXT = {
    "SEMICOLON": "';'",
    "COMMA": "','",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "COLON": "':'",
    "EQUAL": "'='",
    "NAME": "a name",
    "INT": "a number",
    "FLOAT": "a number",
    "STRING": "a string",
    "COMPARE_OP": "a comparison (== != < <= > >=)",
    "ELSE": "'else'",
    "IN": "'in'",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "MUL_OP": "'*' or '/'",
    "MOD_OP": "'%'",
    "POW_OP": "'^'",
    "AND": "'and'",
    "OR": "'or'",
    "NOT": "'not'",
    "$END": "end of input",
}


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(
        _GRAMMAR.read_text(),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        cache=True,
    )


# Reference REPL commands that reference .rasp files may contain (e.g. `set example "abc"`,
# `full seq display on`): they only steer the REPL's display, so a file skips them.
_REPL_ONLY_LINE = re.compile(
    r"^[ \t]*(?:set[ \t]+(?:(?:s-op|selector)[ \t]+)?example[ \t]+[^\n]*"
    r"|show[ \t]+(?:(?:s-op|selector)[ \t]+)?example[ \t]*;?"
    r"|(?:(?:s-op|selector)[ \t]+)?examples[ \t]+(?:on|off)[ \t]*;?"
    r"|full[ \t]+seq[ \t]+display[ \t]+(?:on|off)[ \t]*;?)[ \t]*(?:#[^\n]*)?$",
    re.MULTILINE,
)


def parse(source: str, filename: str | None = None) -> ast.Module:
    """Parse a whole program; raises RaspSyntaxError with line, column and expectations."""
    lines = source.splitlines()
    text = _REPL_ONLY_LINE.sub(lambda m: " " * len(m.group(0)), source)
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as e:
        raise _syntax_error(e, source, lines, filename) from None
    try:
        return _ToAst(filename, lines).transform(tree)
    except VisitError as e:
        if isinstance(e.orig_exc, RaspError):
            raise e.orig_exc from None
        if isinstance(e.orig_exc, RecursionError):
            raise _too_deep(filename) from None
        raise
    except RecursionError:
        raise _too_deep(filename) from None


def _too_deep(filename: str | None) -> RaspRecursionError:
    return RaspRecursionError(
        f"{filename or 'the program'} is nested too deeply to parse (an expression of thousands of terms?)",
        hint="split long expressions into several statements",
    )


def _pos(filename: str | None, lines: list[str], line: int, column: int) -> SourcePos:
    text = lines[line - 1] if 0 < line <= len(lines) else None
    return SourcePos(filename, line, column, text)


# Punctuation worth naming one by one, most useful first.
_PUNCTUATION = ["SEMICOLON", "RBRACE", "RPAR", "RSQB", "COMMA", "COLON", "EQUAL", "ELSE", "IN", "LBRACE"]
_OPERATORS = {"PLUS", "MINUS", "MUL_OP", "MOD_OP", "POW_OP", "COMPARE_OP", "AND", "OR", "IF", "LPAR", "LSQB"}


def _describe_expected(expected: set[str]) -> str:
    """"';', ')' or an operator": named punctuation first, then whole classes of tokens."""
    if expected == {"COMPARE_OP"}:
        return _TERMINAL_TEXT["COMPARE_OP"]
    starts_expression = "INT" in expected
    named = [t for t in _PUNCTUATION if t in expected and not (starts_expression and t == "LBRACE")]
    parts = [_TERMINAL_TEXT.get(t, f"'{t.lower()}'") for t in named]
    if starts_expression:
        parts.append("an expression")
    elif "NAME" in expected:
        parts.append("a name")
    elif expected & _OPERATORS:
        parts.append("an operator")
    if expected & {"DEF", "FOR", "LOAD", "RETURN"}:
        parts.append("a statement")
    if not parts:
        parts = sorted(_TERMINAL_TEXT.get(t, f"'{t.lower()}'") for t in expected if not t.startswith("__"))
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _accepted(e: UnexpectedInput) -> set[str]:
    """The terminals the parser would really accept here (LALR's `expected` over-approximates)."""
    parser = getattr(e, "interactive_parser", None)
    if parser is not None:
        try:
            return set(parser.accepts())
        except Exception:  # noqa: BLE001 - fall back to Lark's own estimate
            pass
    return set(getattr(e, "expected", ()) or ())


def _syntax_error(e: UnexpectedInput, source: str, lines: list[str], filename: str | None) -> RaspSyntaxError:
    line = getattr(e, "line", None) or (len(lines) or 1)
    column = getattr(e, "column", None) or 1
    if isinstance(e, UnexpectedEOF) or (isinstance(e, UnexpectedToken) and e.token.type == "$END"):
        line = len(lines) or 1
        column = len(lines[-1]) + 1 if lines else 1
        expected = _describe_expected(_accepted(e))
        msg = "unexpected end of input" + (f"; expected {expected}" if expected else "")
        hint = "statements end with ';' and blocks with '}'"
        return RaspSyntaxError(msg, _pos(filename, lines, line, column), hint=hint)
    if isinstance(e, UnexpectedCharacters):
        char = source[e.pos_in_stream] if e.pos_in_stream < len(source) else "?"
        msg = f"unexpected character {char!r}"
        hint = None
        if char == "'":
            hint = "strings use double quotes: \"abc\""
        return RaspSyntaxError(msg, _pos(filename, lines, line, column), hint=hint)
    assert isinstance(e, UnexpectedToken)
    expected_set = _accepted(e)
    expected = _describe_expected(expected_set)
    msg = f"unexpected {e.token.value!r}; expected {expected}"
    hint = None
    if "SEMICOLON" in expected_set:
        hint = "is a ';' missing at the end of the previous statement?"
    return RaspSyntaxError(msg, _pos(filename, lines, line, column), hint=hint)


_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)")


def unescape(token: Token, pos: SourcePos) -> str:
    """A string literal's text: \\" \\\\ \\n \\t and \\uXXXX (a code point in hex);
    any other backslash is an error, so that a Windows path or a regex does not silently
    change."""

    def one(m: re.Match) -> str:
        code = m.group(1)
        if code in _ESCAPES:
            return _ESCAPES[code]
        if len(code) == 5 and not 0xD800 <= int(code[1:], 16) <= 0xDFFF:  # no lone surrogates
            return chr(int(code[1:], 16))
        raise RaspSyntaxError(
            f"unknown escape '\\{code}' in a string",
            pos,
            hint='strings know \\" \\\\ \\n \\t and \\uXXXX; write \\\\ for a backslash',
        )

    return _ESCAPE.sub(one, str(token)[1:-1])


@v_args(meta=True)
class _ToAst(Transformer):
    def __init__(self, filename: str | None, lines: list[str]):
        super().__init__()
        self.filename = filename
        self.lines = lines
        self.warnings: list[RaspWarning] = []

    def _p(self, meta) -> SourcePos:
        if getattr(meta, "empty", True):
            return _pos(self.filename, self.lines, 1, 1)
        return _pos(self.filename, self.lines, meta.line, meta.column)

    def _tp(self, tok: Token) -> SourcePos:
        return _pos(self.filename, self.lines, tok.line, tok.column)

    # statements
    def start(self, meta, stmts):
        return ast.Module(self._p(meta), list(stmts), self.warnings)

    def assign(self, meta, children):
        names, values = children
        return ast.Assign(self._p(meta), names, values)

    def expr_stmt(self, meta, children):
        return ast.ExprStmt(self._p(meta), children[0])

    def load(self, meta, children):
        return ast.Load(self._p(meta), unescape(children[0], self._tp(children[0])))

    def funcdef(self, meta, children):
        name, params, body = children
        return ast.FuncDef(self._p(meta), str(name), params or [], body)

    def body(self, meta, stmts):
        return list(stmts)

    def return_stmt(self, meta, children):
        return ast.Return(self._p(meta), children[0])

    def forloop(self, meta, children):
        names, iterable, body = children
        return ast.ForLoop(self._p(meta), names, iterable, body)

    def names(self, meta, toks):
        return [str(t) for t in toks]

    def exprs(self, meta, items):
        return list(items)

    # expressions
    def contains(self, meta, children):
        return ast.Contains(self._p(meta), children[0], children[1])

    def ternary(self, meta, children):
        then, cond, otherwise = children
        node = ast.Ternary(self._p(meta), then, cond, otherwise)
        # An unbracketed chain starts where its first branch does; a bracketed one after "(".
        if isinstance(then, ast.Ternary) and then.pos == node.pos:
            self.warnings.append(RaspWarning(
                "unbracketed chain of 'if ... else': 'a if c1 else b if c2 else d' is read as "
                "'(a if c1 else b) if c2 else d', as the reference interpreter reads it (Python "
                "would read 'a if c1 else (b if c2 else d)')",
                pos=node.pos,
                hint="add brackets to say which one you mean",
            ))
        return node

    def binop(self, meta, children):
        left, op, right = children
        return ast.BinOp(self._tp(op), str(op), left, right)

    def unop(self, meta, children):
        op, operand = children
        return ast.UnaryOp(self._tp(op), str(op), operand)

    def index(self, meta, children):
        target, idx = children
        return ast.Index(self._p(meta), target, idx)

    def call(self, meta, children):
        func, args = children
        return ast.Call(self._p(meta), func, args or [])

    def int_lit(self, meta, children):
        return ast.Literal(self._p(meta), int(children[0]))

    def float_lit(self, meta, children):
        return ast.Literal(self._p(meta), float(children[0]))

    def string_lit(self, meta, children):
        return ast.Literal(self._p(meta), unescape(children[0], self._tp(children[0])))

    def name(self, meta, children):
        return ast.Name(self._p(meta), str(children[0]))

    def list_lit(self, meta, children):
        return ast.ListLit(self._p(meta), children[0] or [])

    def dict_lit(self, meta, children):
        pairs = [c for c in children if c is not None]
        return ast.DictLit(self._p(meta), pairs)

    def pair(self, meta, children):
        return (children[0], children[1])

    def list_comp(self, meta, children):
        value, names, iterable = children
        return ast.ListComp(self._p(meta), value, names, iterable)

    def list_comp_if(self, meta, children):
        value, names, iterable, condition = children
        return ast.ListComp(self._p(meta), value, names, iterable, condition)

    def dict_comp(self, meta, children):
        key, value, names, iterable = children
        return ast.DictComp(self._p(meta), key, value, names, iterable)

    def dict_comp_if(self, meta, children):
        key, value, names, iterable, condition = children
        return ast.DictComp(self._p(meta), key, value, names, iterable, condition)

    def select(self, meta, children):
        keys, queries, op = children
        return ast.SelectExpr(self._p(meta), keys, queries, str(op))

    def lambda_(self, meta, children):
        params, body = children
        return ast.Lambda(self._p(meta), params or [], body)
