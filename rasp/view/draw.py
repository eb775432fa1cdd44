"""Computation-graph pictures: s-ops grouped by transformer layer, with example values.

We write Graphviz DOT ourselves and call the `dot` program to render it, so
no Python graphviz binding is needed.
"""

from __future__ import annotations

import html
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ..errors import RaspError
from ..files import check_output, write_atomic
from ..ir.analysis import attention_depths, selector_key
from ..ir.evaluate import Input, evaluate_trace, tokenize
from ..ir.graph import build_graph, topological_exprs
from ..ir.sops import (
    Aggregate,
    Constant,
    Indices,
    Length,
    Map,
    RASPExpr,
    Select,
    Selector,
    SelectorAnd,
    SelectorNot,
    SelectorOr,
    SelectorWidth,
    SequenceMap,
    Tokens,
    is_attention,
)
from .display import format_atom

_COLORS = {"input": "#e8f0fe", "attention": "#fde2e1", "mlp": "#e6f4ea", "selector": "#fff4d6"}
DOT_SECONDS = 120  # a huge graph must not hang `rasp draw`


def _operation(expr: RASPExpr) -> str:
    if isinstance(expr, Tokens):
        return f"tokens ({expr.kind})"
    if isinstance(expr, Indices):
        return "indices"
    if isinstance(expr, Length):
        return "length (attention)"
    if isinstance(expr, Constant):
        return f"constant {expr.value!r}"
    if isinstance(expr, (Map, SequenceMap)):
        return f"map: {expr.description}"
    if isinstance(expr, Aggregate):
        return "aggregate" + (f" (default {expr.default!r})" if expr.default is not None else "")
    if isinstance(expr, SelectorWidth):
        return "selector_width"
    if isinstance(expr, Select):
        return f"select(k {expr.predicate.value} q)"
    if isinstance(expr, SelectorAnd):
        return "and"
    if isinstance(expr, SelectorOr):
        return "or"
    if isinstance(expr, SelectorNot):
        return "not"
    return type(expr).__name__


def _values_row(values: list[Any]) -> str:
    cells = "".join(f"<td>{html.escape(format_atom(v))}</td>" for v in values)
    return f"<tr>{cells}</tr>"


def _selector_rows(matrix: list[list[bool]], width: int) -> str:
    """One text row per query: a filled square where the query attends to that key."""
    return "".join(
        f'<tr><td colspan="{width}" border="0"><font face="Courier">{" ".join("■" if b else "·" for b in row)}</font></td></tr>'
        for row in matrix
    )


def _node_label(expr: RASPExpr, value: Any, width: int) -> str:
    title = html.escape(expr.name)
    op = html.escape(_operation(expr))
    if isinstance(expr, Selector):
        rows = _selector_rows(value, width)
    else:
        rows = _values_row(value)
    return (
        f'<<table border="0" cellborder="1" cellspacing="0">'
        f'<tr><td colspan="{width}"><b>{title}</b></td></tr>'
        f'<tr><td colspan="{width}"><font point-size="9">{op}</font></td></tr>{rows}</table>>'
    )


def _stage(expr: RASPExpr, depth: dict[int, int], consumers: dict[int, list[RASPExpr]]) -> tuple[int, str]:
    """Where a node is computed: (layer, 'attention' | 'mlp'), layer 0 being the embedding."""
    if isinstance(expr, (Tokens, Indices, Constant)):
        return 0, "input"
    if isinstance(expr, Selector):
        users = [u for u in consumers.get(expr.id, []) if is_attention(u)]
        layer = min((depth[u.id] for u in users), default=depth[expr.id] + 1)
        return layer, "attention"
    if is_attention(expr):
        return depth[expr.id], "attention"
    return max(depth[expr.id], 1) if depth[expr.id] else 0, "mlp"


def to_dot(output: RASPExpr, raw: Input) -> str:
    """The DOT source of `output`'s computation graph evaluated on `raw`."""
    tokens = tokenize(raw)
    graph = build_graph(output)
    trace = evaluate_trace(output, tokens)
    depth = attention_depths(graph)
    consumers: dict[int, list[RASPExpr]] = {}
    for expr in topological_exprs(graph):
        for child in expr.children:
            consumers.setdefault(child.id, []).append(expr)
    clusters: dict[tuple[int, str], list[RASPExpr]] = {}
    for expr in topological_exprs(graph):
        clusters.setdefault(_stage(expr, depth, consumers), []).append(expr)

    lines = [
        "digraph rasp {",
        '  rankdir=TB; node [shape=plaintext, fontname="Helvetica"]; edge [color="#555555"];',
        f'  label="{html.escape(output.name)} on {html.escape(repr(raw))}"; labelloc=t;',
    ]
    order = {"input": 0, "attention": 1, "mlp": 2}
    for (layer, kind), members in sorted(clusters.items(), key=lambda kv: (kv[0][0], order[kv[0][1]])):
        title = "embedding" if layer == 0 else f"layer {layer} {'attention' if kind == 'attention' else 'MLP'}"
        heads = {selector_key(e.selector) for e in members if isinstance(e, (Aggregate, SelectorWidth))}
        if heads:
            title += f" ({len(heads)} head{'s' if len(heads) != 1 else ''})"
        lines.append(f'  subgraph "cluster_{layer}_{kind}" {{')
        lines.append(f'    label="{title}"; style=filled; color="{_COLORS[kind]}";')
        for e in members:
            fill = _COLORS["selector"] if isinstance(e, Selector) else "white"
            lines.append(f'    n{e.id} [label={_node_label(e, trace[e], len(tokens))}, style=filled, fillcolor="{fill}"];')
        lines.append("  }")
    for expr in topological_exprs(graph):
        for child in expr.children:
            lines.append(f"  n{child.id} -> n{expr.id};")
    lines.append("}")
    return "\n".join(lines)


def draw_expr(
    expr: RASPExpr, raw: Input, out_path: str | Path, force: bool = False, sources: tuple[str | Path, ...] = ()
) -> Path:
    """Render to .svg/.png/.pdf with Graphviz, or write the DOT text for a .dot path.
    The file is written atomically and never replaces a source (or, without `force`,
    any existing file)."""
    out = check_output(out_path, force, sources)
    fmt = out.suffix.lstrip(".").lower() or "svg"
    if fmt not in ("dot", "gv", "svg", "png", "pdf"):
        raise RaspError(f"cannot draw to '{out.suffix}': use .svg, .png, .pdf or .dot")
    dot_source = to_dot(expr, raw)
    if fmt in ("dot", "gv"):
        return write_atomic(out, dot_source)
    dot = shutil.which("dot")
    if dot is None:
        raise RaspError(
            "drawing needs Graphviz's 'dot' program, which is not installed",
            hint="install it (apt-get install graphviz, brew install graphviz), or write DOT text with -o graph.dot",
        )
    try:
        proc = subprocess.run([dot, f"-T{fmt}"], input=dot_source.encode(), capture_output=True, check=False,
                              timeout=DOT_SECONDS)
    except subprocess.TimeoutExpired:
        raise RaspError(
            f"graphviz took over {DOT_SECONDS} s to lay out this graph",
            hint="draw a smaller part of the program (--sop NAME), or write DOT text with -o graph.dot",
        ) from None
    if proc.returncode != 0:
        raise RaspError(f"graphviz failed: {proc.stderr.decode(errors='replace').strip()[:500]}")
    return write_atomic(out, proc.stdout)


def draw_file(
    path: str | Path, raw: Input, out_path: str | Path, output: str | None = None, force: bool = False
) -> Path:
    from ..language.program import load

    prog = load(path)
    return draw_expr(prog.sop(output), raw, out_path, force, (path,))
