"""Typed syntax tree of RASP source, built from the Lark parse tree by `rasp.language.parser`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import RaspWarning, SourcePos


@dataclass
class Node:
    pos: SourcePos


# --- expressions ---------------------------------------------------------------------


@dataclass
class Literal(Node):
    value: Any


@dataclass
class Name(Node):
    id: str


@dataclass
class ListLit(Node):
    items: list[Node]


@dataclass
class DictLit(Node):
    pairs: list[tuple[Node, Node]]


@dataclass
class ListComp(Node):
    value: Node
    names: list[str]
    iterable: Node
    condition: Node | None = None  # `[v for x in xs if condition]`


@dataclass
class DictComp(Node):
    key: Node
    value: Node
    names: list[str]
    iterable: Node
    condition: Node | None = None


@dataclass
class BinOp(Node):
    op: str
    left: Node
    right: Node


@dataclass
class UnaryOp(Node):
    op: str
    operand: Node


@dataclass
class Ternary(Node):
    then: Node
    cond: Node
    otherwise: Node


@dataclass
class Contains(Node):
    item: Node
    container: Node


@dataclass
class Index(Node):
    target: Node
    index: Node


@dataclass
class Call(Node):
    func: Node
    args: list[Node]


@dataclass
class SelectExpr(Node):
    keys: Node
    queries: Node
    op: str


@dataclass
class Lambda(Node):
    params: list[str]
    body: Node


# --- statements ----------------------------------------------------------------------


@dataclass
class Assign(Node):
    names: list[str]
    values: list[Node]


@dataclass
class ExprStmt(Node):
    expr: Node


@dataclass
class Load(Node):
    path: str


@dataclass
class FuncDef(Node):
    name: str
    params: list[str]
    body: list[Node]


@dataclass
class Return(Node):
    values: list[Node]


@dataclass
class ForLoop(Node):
    names: list[str]
    iterable: Node
    body: list[Node]


@dataclass
class Module(Node):
    statements: list[Node]
    warnings: list[RaspWarning] = field(default_factory=list)
