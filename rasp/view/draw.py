"""Computation-graph pictures: s-ops grouped by transformer layer, with example values.

The graph is built with the `graphviz` package (`build_digraph`) and rendered by
Graphviz's `dot` program (with a time limit). Nodes are labelled by their RASP names (or by their
operation when unnamed, never by internal ids); a selector written twice is one node;
selector matrices carry the query tokens down the side and the key tokens along the
top; each attention layer says how many heads the compiled model gives it (one per
attention s-op; `rasp layers` counts as the paper does, sharing heads between equal selectors).
"""

from __future__ import annotations

import html
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ..errors import RaspDependencyError, RaspError
from ..files import check_output, write_atomic
from ..ir.analysis import attention_depths, selector_key, sop_key
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
from .display import format_atom, format_example

_COLORS = {"input": "#e8f0fe", "attention": "#fde2e1", "mlp": "#e6f4ea", "selector": "#fff4d6"}
FORMATS = ("svg", "png", "pdf")
DOT_SECONDS = 120  # a huge graph must not hang `rasp draw`


def operation(expr: RASPExpr) -> str:
    """What a node computes, in words."""
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
        return f"select(key {expr.predicate.value} query)"
    if isinstance(expr, SelectorAnd):
        return "and"
    if isinstance(expr, SelectorOr):
        return "or"
    if isinstance(expr, SelectorNot):
        return "not"
    return type(expr).__name__


def title(expr: RASPExpr) -> str:
    """The user's name for a node; an unnamed node is called by its operation."""
    if isinstance(expr, (Tokens, Indices, Length)):
        return expr.name
    return expr.label or operation(expr)


def node_key(expr: RASPExpr) -> tuple:
    """Nodes with equal keys are drawn once: equal selectors, and the primitive s-ops."""
    return selector_key(expr) if isinstance(expr, Selector) else sop_key(expr)


def _cell(text: str, **attrs: str) -> str:
    extra = "".join(f' {k}="{v}"' for k, v in attrs.items())
    return f"<td{extra}>{html.escape(text)}</td>"


def _values_rows(tokens: list[Any], values: list[Any]) -> str:
    return "<tr>" + "".join(_cell(format_atom(v)) for v in values) + "</tr>"


def _selector_rows(tokens: list[Any], matrix: list[list[bool]]) -> str:
    """Keys along the top, queries down the side; a filled cell where a query selects a key."""
    labels = [format_atom(t) for t in tokens]
    head = "<tr>" + _cell("q \\ k", border="0") + "".join(_cell(k, border="0") for k in labels) + "</tr>"
    body = "".join(
        "<tr>" + _cell(q, border="0")
        + "".join(_cell("■" if b else "·", bgcolor="#f4a582" if b else "white") for b in row)
        + "</tr>"
        for q, row in zip(labels, matrix)
    )
    return head + body


def _node_label(expr: RASPExpr, value: Any, tokens: list[Any]) -> str:
    width = len(tokens) + (1 if isinstance(expr, Selector) else 0)
    rows = _selector_rows(tokens, value) if isinstance(expr, Selector) else _values_rows(tokens, value)
    return (
        '<<table border="0" cellborder="1" cellspacing="0">'
        f'<tr><td colspan="{width}"><b>{html.escape(title(expr))}</b></td></tr>'
        f'<tr><td colspan="{width}"><font point-size="9">{html.escape(operation(expr))}</font></td></tr>'
        f"{rows}</table>>"
    )


def _stage(expr: RASPExpr, depth: dict[int, int], consumers: dict[int, list[RASPExpr]]) -> tuple[int, str]:
    """Where a node is computed: (layer, 'input' | 'attention' | 'mlp'), layer 0 being the embedding."""
    if isinstance(expr, (Tokens, Indices, Constant)):
        return 0, "input"
    if isinstance(expr, Selector):
        users = [u for u in consumers.get(expr.id, []) if is_attention(u)]
        layer = min((depth[u.id] for u in users), default=depth[expr.id] + 1)
        return layer, "attention"
    if is_attention(expr):
        return depth[expr.id], "attention"
    return max(depth[expr.id], 1) if depth[expr.id] else 0, "mlp"


def build_digraph(output: RASPExpr, raw: Input, vocab: list[Any] | None = None, max_len: int | None = None) -> Any:
    """`output`'s computation graph evaluated on `raw`, as a `graphviz.Digraph`.

    Given the vocabulary and maximum length it would be compiled for, each attention
    layer shows the compiled model's head count (`rasp compile` reports the same);
    otherwise one head per attention s-op, which is what the compiler uses unless a
    selector_width counts over an `or` of selects on different s-ops (one head per term).
    """
    try:
        import graphviz
    except ModuleNotFoundError:
        raise RaspDependencyError("drawing needs the 'graphviz' package: pip install 'rasp[draw]'") from None
    tokens = tokenize(raw)
    graph = build_graph(output)
    order = topological_exprs(graph)
    trace = evaluate_trace(output, tokens)
    depth = attention_depths(graph)
    compiled_heads: list[int] | None = None
    if vocab is not None and max_len is not None:
        from ..compiler.compiled import heads_per_layer

        compiled_heads = heads_per_layer(output, vocab, max_len)
    consumers: dict[int, list[RASPExpr]] = {}
    for expr in order:
        for child in expr.children:
            consumers.setdefault(child.id, []).append(expr)

    # One drawn node per key: the first node met stands for its equals.
    shown: dict[tuple, RASPExpr] = {}
    for expr in order:
        shown.setdefault(node_key(expr), expr)

    def drawn(expr: RASPExpr) -> RASPExpr:
        return shown[node_key(expr)]

    clusters: dict[tuple[int, str], list[RASPExpr]] = {}
    for expr in shown.values():
        clusters.setdefault(_stage(expr, depth, consumers), []).append(expr)

    dot = graphviz.Digraph("rasp", graph_attr={"rankdir": "TB", "labelloc": "t",
                                               "label": f"{title(output)} on {format_example(raw)}"},
                           node_attr={"shape": "plaintext", "fontname": "Helvetica"},
                           edge_attr={"color": "#555555"})
    rank = {"input": 0, "attention": 1, "mlp": 2}
    for (layer, kind), members in sorted(clusters.items(), key=lambda kv: (kv[0][0], rank[kv[0][1]])):
        name = "embedding" if layer == 0 else f"layer {layer} {'attention' if kind == 'attention' else 'MLP'}"
        # The compiler gives every attention s-op its own head (`rasp compile` prints the same).
        n_heads = sum(1 for e in members if is_attention(e))
        if compiled_heads is not None and kind == "attention" and layer <= len(compiled_heads):
            n_heads = compiled_heads[layer - 1]
        if n_heads:
            name += f" ({n_heads} head{'s' if n_heads != 1 else ''})"
        with dot.subgraph(name=f"cluster_{layer}_{kind}") as sub:
            sub.attr(label=name, style="filled", color=_COLORS[kind])
            for e in members:
                fill = _COLORS["selector"] if isinstance(e, Selector) else "white"
                sub.node(f"n{e.id}", label=_node_label(e, trace[e], tokens), style="filled", fillcolor=fill)
    edges: set[tuple[int, int]] = set()
    for expr in shown.values():
        for child in expr.children:
            edge = (drawn(child).id, expr.id)
            if edge not in edges:
                edges.add(edge)
                dot.edge(f"n{edge[0]}", f"n{edge[1]}")
    return dot


def to_dot(output: RASPExpr, raw: Input, **compile_for: Any) -> str:
    """The DOT source of `output`'s computation graph evaluated on `raw` (see build_digraph)."""
    return build_digraph(output, raw, **compile_for).source


def render(output: RASPExpr, raw: Input, fmt: str = "svg", **compile_for: Any) -> bytes:
    """The picture as bytes in `fmt` (svg, png or pdf); needs Graphviz's `dot` program,
    which gets at most DOT_SECONDS to lay the graph out."""
    source = build_digraph(output, raw, **compile_for).source
    dot = shutil.which("dot")
    if dot is None:
        raise RaspError(
            "drawing needs Graphviz's 'dot' program, which is not installed",
            hint="install it (apt-get install graphviz, brew install graphviz), or write DOT text with -o graph.dot",
        )
    try:
        proc = subprocess.run([dot, f"-T{fmt}"], input=source.encode(), capture_output=True, check=False,
                              timeout=DOT_SECONDS)
    except subprocess.TimeoutExpired:
        raise RaspError(
            f"graphviz took over {DOT_SECONDS} s to lay out this graph",
            hint="draw a smaller part of the program (--sop NAME), or write DOT text with -o graph.dot",
        ) from None
    if proc.returncode != 0:
        raise RaspError(f"graphviz failed: {proc.stderr.decode(errors='replace').strip()[:500]}")
    return proc.stdout


def draw_expr(expr: RASPExpr, raw: Input, out_path: str | Path, force: bool = False,
              sources: tuple[str | Path, ...] = (), **compile_for: Any) -> Path:
    """Render to .svg/.png/.pdf with Graphviz, or write the DOT text for a .dot path.

    `compile_for` is `vocab=..., max_len=...` to show the compiled model's head counts."""
    out = check_output(out_path, force=force, sources=sources)
    fmt = out.suffix.lstrip(".").lower() or "svg"
    if fmt not in FORMATS + ("dot", "gv"):
        raise RaspError(f"cannot draw to '{out.suffix}': use .svg, .png, .pdf or .dot")
    data: bytes | str = to_dot(expr, raw, **compile_for) if fmt in ("dot", "gv") else render(expr, raw, fmt, **compile_for)
    return write_atomic(out, data)


def draw_to_new_file(expr: RASPExpr, raw: Input, folder: str | Path = ".") -> Path:
    """Draw to NAME.svg in `folder`, or NAME-2.svg, ... : never replaces a file."""
    import re

    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", title(expr)) or "graph"
    n = 1
    while True:
        path = Path(folder) / (f"{stem}.svg" if n == 1 else f"{stem}-{n}.svg")
        if not path.exists():
            return draw_expr(expr, raw, path)
        n += 1
