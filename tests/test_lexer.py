"""The Pygments lexer for RASP (REPL highlighting and documentation)."""

from pygments.token import Comment, Keyword, Name, Number, Operator, String

from rasp.view.lexer import RaspLexer


def tokens_of(source: str) -> list[tuple[object, str]]:
    return [(t, v) for t, v in RaspLexer().get_tokens(source) if v.strip()]


def test_statement_tokens():
    got = tokens_of('def f(s) { return aggregate(select(indices, s, ==), tokens, "x") if 1.5 > 0 else 2; } # c')
    assert (Keyword, "def") in got
    assert (Name.Function, "f") in got
    assert (Keyword, "return") in got
    assert (Name.Builtin, "aggregate") in got
    assert (Name.Builtin, "select") in got
    assert (Name.Builtin.Pseudo, "indices") in got
    assert (Name.Builtin.Pseudo, "tokens") in got
    assert (Operator, "==") in got
    assert (String.Double, '"x"') in got
    assert (Number.Float, "1.5") in got
    assert (Number.Integer, "2") in got
    assert (Keyword, "if") in got and (Keyword, "else") in got
    assert (Comment.Single, "# c") in got
    assert (Name, "s") in got


def test_names_containing_keywords_are_names():
    got = tokens_of("index_of = define + formula;")
    assert (Name, "index_of") in got and (Name, "define") in got and (Name, "formula") in got


def test_reference_repl_statements():
    got = tokens_of('set selector example "ab"\nfull seq display on\n')
    assert (Keyword, "set") in got and (Keyword, "selector example") in got
    assert (Keyword, "full seq display") in got and (Keyword.Constant, "on") in got


def test_every_stdlib_file_lexes_without_errors():
    from pathlib import Path

    from pygments.token import Error

    for path in (Path(__file__).resolve().parent.parent / "stdlib").glob("*.rasp"):
        assert all(t is not Error for t, _ in RaspLexer().get_tokens(path.read_text())), path
