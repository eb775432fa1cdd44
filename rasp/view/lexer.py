"""A Pygments lexer for RASP: syntax highlighting in the REPL and in documentation.

    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from rasp.view.lexer import RaspLexer
    highlight(source, RaspLexer(), HtmlFormatter())

The keywords and operators follow the grammar (`rasp/language/grammar.lark`); the
builtin s-ops and functions are the interpreter's. The reference REPL's display
statements (`set example`, `full seq display on`, ...) are highlighted as keywords.
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text

KEYWORDS = ("def", "return", "for", "in", "if", "else", "load", "lambda")
OPERATOR_WORDS = ("and", "or", "not")
CONSTANTS = ("True", "False")
PRIMITIVE_SOPS = ("tokens", "tokens_str", "tokens_int", "tokens_float", "tokens_bool", "tokens_asis",
                  "indices", "length")
BUILTINS = ("select", "aggregate", "selector_width", "range", "zip", "len", "round", "indicator", "map", "draw")


class RaspLexer(RegexLexer):
    name = "RASP"
    aliases = ["rasp"]
    filenames = ["*.rasp"]
    mimetypes = ["text/x-rasp"]

    tokens = {
        "root": [
            (r"\s+", Text),
            (r"#.*?$", Comment.Single),
            # reference REPL statements, at the start of a line
            (r"^(set|show)(\s+)((?:s-op\s+|selector\s+)?example)\b",
             bygroups(Keyword, Text, Keyword)),
            (r"^((?:s-op\s+|selector\s+)?examples|full\s+seq\s+display)(\s+)(on|off)\b",
             bygroups(Keyword, Text, Keyword.Constant)),
            (r"(def)(\s+)([A-Za-z_]\w*)", bygroups(Keyword, Text, Name.Function)),
            (words(KEYWORDS, suffix=r"\b"), Keyword),
            (words(OPERATOR_WORDS, suffix=r"\b"), Operator.Word),
            (words(CONSTANTS, suffix=r"\b"), Keyword.Constant),
            (words(PRIMITIVE_SOPS, suffix=r"\b"), Name.Builtin.Pseudo),
            (words(BUILTINS, suffix=r"\b"), Name.Builtin),
            (r"[A-Za-z_]\w*", Name),
            (r"\d+\.\d+", Number.Float),
            (r"\d+", Number.Integer),
            (r'"[^"\n]*"', String.Double),
            (r"==|!=|<=|>=|[<>+\-*/%^=]", Operator),
            (r"[()\[\]{},;:.]", Punctuation),
            (r".", Text),
        ],
    }
