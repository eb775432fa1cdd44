"""The program graph: one networkx DAG shared by interpreter, analysis and compiler.

Nodes are the integer ids of IR nodes; each node carries the node itself
under the attribute `expr`. Edges point from an input to the node using it.
"""

from __future__ import annotations

import networkx as nx

from .sops import RASPExpr

EXPR = "expr"


def build_graph(*outputs: RASPExpr) -> nx.DiGraph:
    graph = nx.DiGraph()
    stack = list(outputs)
    while stack:
        expr = stack.pop()
        if expr.id in graph and graph.nodes[expr.id].get(EXPR) is expr:
            continue
        graph.add_node(expr.id, **{EXPR: expr})
        for child in expr.children:
            graph.add_edge(child.id, expr.id)
            if child.id not in graph or EXPR not in graph.nodes[child.id]:
                stack.append(child)
    return graph


def topological_exprs(graph: nx.DiGraph) -> list[RASPExpr]:
    """Every node, inputs before the nodes that use them (ties broken by creation order)."""
    return [graph.nodes[n][EXPR] for n in nx.lexicographical_topological_sort(graph)]


def expr_of(graph: nx.DiGraph, node: int) -> RASPExpr:
    return graph.nodes[node][EXPR]


def rewrite(output: RASPExpr, replace) -> RASPExpr:
    """A copy of the graph below `output` in which `replace(expr, rebuilt)` stands for each node.

    `rebuilt` is `expr` with its children already rewritten (a new node only when a child
    changed); `replace` returns it, or another node to use instead. Labels and source
    positions carry over to the rebuilt nodes.
    """
    import dataclasses

    new: dict[int, RASPExpr] = {}
    for expr in topological_exprs(build_graph(output)):
        changes = {
            f.name: new[getattr(expr, f.name).id]
            for f in dataclasses.fields(expr)
            if f.init and isinstance(getattr(expr, f.name), RASPExpr)
        }
        if isinstance(getattr(expr, "inputs", None), tuple):
            changes["inputs"] = tuple(new[i.id] for i in expr.inputs)
        rebuilt = expr
        if any(changes[k] is not getattr(expr, k) for k in changes):
            rebuilt = dataclasses.replace(expr, **changes)
            rebuilt.label, rebuilt.pos = expr.label, expr.pos
        new[expr.id] = replace(expr, rebuilt)
    return new[output.id]
