"""Text and HTML renderings of RASP values, shared by the REPL, the CLI and notebooks."""

from __future__ import annotations

import html
from typing import Any

from .sops import RASPExpr, Selector


def format_atom(v: Any) -> str:
    if isinstance(v, bool):
        return "T" if v else "F"
    if isinstance(v, float):
        r = round(v, 3)
        return str(int(r)) if r == int(r) and abs(r) < 1e15 and v == int(v) else str(r)
    return str(v)


def value_type(values: list[Any]) -> str:
    kinds = {type(v).__name__ for v in values}
    if kinds == {"str"}:
        return "strings"
    if kinds == {"bool"}:
        return "bools"
    if kinds <= {"int"}:
        return "ints"
    return "floats"


def format_sequence(values: list[Any]) -> str:
    """Like the reference REPL: [o, l, l, e, h] (strings)."""
    if len(values) > 1 and len(set(map(format_atom, values))) == 1:
        body = f"[{format_atom(values[0])}]*{len(values)}"
    else:
        body = "[" + ", ".join(format_atom(v) for v in values) + "]"
    return f"{body} ({value_type(values)})"


def format_selector(matrix: list[list[bool]], tokens: list[Any] | None = None) -> str:
    """A 0/1 matrix, rows are queries and columns keys, labelled by the input tokens."""
    labels = [format_atom(t) for t in tokens] if tokens is not None else [str(i) for i in range(len(matrix))]
    width = max((len(label) for label in labels), default=1)
    head = " " * (width + 3) + " ".join(label.rjust(1) for label in labels)
    rows = [head]
    for label, row in zip(labels, matrix):
        rows.append(f"{label.rjust(width)} | " + " ".join("1" if b else "0" for b in row))
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
        return format_atom(v) if v != int(v) else str(v)
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
