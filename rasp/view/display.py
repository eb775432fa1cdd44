"""Text and HTML renderings of RASP values, shared by the REPL, the CLI and notebooks."""

from __future__ import annotations

import html
from typing import Any

from ..ir import sops
from ..ir.sops import RASPExpr, Selector


def format_atom(v: Any) -> str:
    if isinstance(v, bool):
        return "T" if v else "F"
    if isinstance(v, float):
        return str(round(v, 3))  # as the reference prints: 1.0 stays "1.0", an int 1 is "1"
    return str(v)


def value_type(values: list[Any]) -> str:
    kinds = {type(v).__name__ for v in values}
    if kinds == {"str"}:
        return "strings"
    if kinds == {"bool"}:
        return "bools"
    if kinds <= {"int", "bool"}:  # a boolean among integers: the reference's type check counts it an int
        return "ints"
    return "floats"


def format_sequence(values: list[Any]) -> str:
    """Like the reference REPL: [o, l, l, e, h] (strings)."""
    if len(values) > 1 and len(set(map(format_atom, values))) == 1:
        body = f"[{format_atom(values[0])}]*{len(values)}"
    else:
        body = "[" + ", ".join(format_atom(v) for v in values) + "]"
    return f"{body} ({value_type(values)})"


def format_aligned(tokens: list[Any], values: list[Any]) -> str:
    """Each value under its input token (the reference's `full seq display on`)."""
    top = [format_atom(t) for t in tokens]
    bottom = [format_atom(v) for v in values]
    widths = [max(len(a), len(b)) for a, b in zip(top, bottom)]
    row = lambda cells: " ".join(c.rjust(w) for c, w in zip(cells, widths))  # noqa: E731
    return f"{row(top)}\n{row(bottom)}  ({value_type(values)})"


def format_selector(matrix: list[list[bool]], tokens: list[Any] | None = None) -> str:
    """A 0/1 matrix, rows are queries and columns keys, labelled by the input tokens.

        h e y
      h | 1 0 0
    """
    n = len(matrix)
    labels = [format_atom(t) for t in tokens] if tokens is not None else [str(i) for i in range(n)]
    width = max((len(label) for label in labels), default=1)
    cell = width  # columns as wide as the widest label, so cells line up under labels
    head = " " * (width + 3) + " ".join(label.rjust(cell) for label in labels)
    rows = [head.rstrip()]
    for label, row in zip(labels, matrix):
        cells = " ".join(("1" if b else "0").rjust(cell) for b in row)
        rows.append(f"{label.rjust(width)} | {cells}")
    return "\n".join(rows)


def format_value(v: Any) -> str:
    """Atoms, lists and dicts in RASP's own notation."""
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{format_value(k)}: {format_value(x)}" for k, x in v.items()) + "}"
    if isinstance(v, bool):
        return "True" if v else "False"
    if isinstance(v, float):
        return format_atom(v)
    if isinstance(v, RASPExpr):
        kind = "selector" if isinstance(v, Selector) else "s-op"
        return f"{kind}: {v.name}"
    return str(v)


def html_table(title: str, tokens: list[Any], rows: list[tuple[str, list[Any]]]) -> str:
    """An HTML table with the input as header row (for Jupyter's _repr_html_)."""
    esc = html.escape
    head = "".join(f"<th>{esc(format_atom(t))}</th>" for t in tokens)
    body = "".join(
        f"<tr><th>{esc(name)}</th>" + "".join(f"<td>{esc(format_atom(v))}</td>" for v in vals) + "</tr>"
        for name, vals in rows
    )
    return f"<table><caption>{esc(title)}</caption><tr><th></th>{head}</tr>{body}</table>"


def format_example(raw: Any) -> str:
    """An input as written in RASP: "hello" or [1, 2, 3]."""
    if isinstance(raw, tuple):
        raw = list(raw)
    return format_value(raw)


# --- notebook display -----------------------------------------------------------------

DEFAULT_EXAMPLE = "hello"
_example: Any = DEFAULT_EXAMPLE


def set_example(raw: Any) -> None:
    """Set the input that s-ops and selectors show in notebooks (`_repr_html_`)."""
    from ..ir.evaluate import tokenize

    tokenize(raw)  # raises RaspInputError for empty or unusable inputs
    global _example
    _example = list(raw) if isinstance(raw, tuple) else raw


def get_example() -> Any:
    return _example


SELECTED_COLOR = "#f4a582"


def selector_html(title: str, tokens: list[Any], matrix: list[list[bool]]) -> str:
    """A selector as a coloured HTML 0/1 matrix: a row per query, a column per key, both labelled."""
    esc = html.escape
    head = "".join(f'<th title="key {i}">{esc(format_atom(t))}</th>' for i, t in enumerate(tokens))
    body = "".join(
        f'<tr><th title="query {i}">{esc(format_atom(q))}</th>'
        + "".join(
            f'<td style="background:{SELECTED_COLOR}">1</td>' if b else '<td style="color:#bbbbbb">0</td>'
            for b in row
        )
        + "</tr>"
        for i, (q, row) in enumerate(zip(tokens, matrix))
    )
    corner = '<th style="font-weight:normal">query \\ key</th>'
    return f"<table><caption>{esc(title)}</caption><tr>{corner}{head}</tr>{body}</table>"


def repr_html(expr: RASPExpr, example: Any = None) -> str:
    """HTML for an s-op or selector evaluated on the example input; never raises."""
    try:
        from ..ir.evaluate import evaluate, tokenize

        raw = _example if example is None else example
        tokens = tokenize(raw)
        values = evaluate(expr, raw)
        kind = "selector" if isinstance(expr, Selector) else "s-op"
        title = f"{kind} {expr.name} on {format_example(raw)}"
        if isinstance(expr, Selector):
            return selector_html(title, tokens, values)
        return html_table(title, tokens, [(expr.name, values)])
    except Exception as e:  # noqa: BLE001 - notebook display must never raise
        return _error_html(expr, e)


def _error_html(expr: Any, e: BaseException) -> str:
    from ..errors import RaspError

    try:
        name = expr.name
    except Exception:  # noqa: BLE001
        name = type(expr).__name__
    text = e.format() if isinstance(e, RaspError) else f"internal error: {type(e).__name__}: {e}"
    return (
        f'<div class="rasp-error"><b>{html.escape(str(name))}</b>: cannot show a value'
        f"<pre>{html.escape(text)}</pre></div>"
    )


sops.html_renderer = repr_html  # s-ops and selectors show as these tables in notebooks
