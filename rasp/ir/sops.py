"""The RASP intermediate representation: s-ops and selectors as an immutable DAG.

Programs are lazy: evaluating RASP source builds these nodes, and the
interpreter (`rasp.ir.evaluate`), the layer analysis (`rasp.ir.analysis`) and the
compiler (`rasp.compiler`) all consume the same graph (`rasp.ir.graph`).

Nodes compare by identity, so they can be dictionary keys and graph nodes.
"""

from __future__ import annotations

import enum
import itertools
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import SourcePos

_next_id = itertools.count()

# How notebooks show a node: set by the view layer (`rasp.view.display`), which imports this
# module, so the IR never imports a view.
html_renderer: Callable[[RASPExpr], str] | None = None


class Comparison(enum.Enum):
    """A select predicate, always read as `predicate(key, query)`."""

    EQ = "=="
    NEQ = "!="
    LT = "<"
    LEQ = "<="
    GT = ">"
    GEQ = ">="
    TRUE = "true"
    FALSE = "false"

    def __call__(self, key: Any, query: Any) -> bool:
        if self is Comparison.TRUE:
            return True
        if self is Comparison.FALSE:
            return False
        return bool(_COMPARISON_FUNCTIONS[self](key, query))

    @property
    def numpy_fn(self) -> Callable[[Any, Any], Any]:
        return _COMPARISON_FUNCTIONS[self]


_COMPARISON_FUNCTIONS = {
    Comparison.EQ: operator.eq,
    Comparison.NEQ: operator.ne,
    Comparison.LT: operator.lt,
    Comparison.LEQ: operator.le,
    Comparison.GT: operator.gt,
    Comparison.GEQ: operator.ge,
}


class Scope:
    """One function call: the s-ops named inside it are shown as `RESULT.NAME`, RESULT being
    the name of what the call returned, so two calls' locals never share a label."""

    result: Any = None


# A label longer than this is shortened in its middle (it stays the source expression).
MAX_LABEL = 100


@dataclass(eq=False, repr=False)
class RASPExpr:
    """Base of every IR node. `label` is the user-facing name, set on assignment; `owner`
    the function call whose local variable it was assigned to (None at top level)."""

    label: str | None = field(default=None, init=False)
    owner: Scope | None = field(default=None, init=False, repr=False, compare=False)
    pos: SourcePos | None = field(default=None, init=False, repr=False)
    id: int = field(default_factory=lambda: next(_next_id), init=False, repr=False)

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return ()

    @property
    def name(self) -> str:
        """The label every view shows: the user's name for this node (qualified by the call
        it was made in), else its source expression. The one labelling rule of the package."""
        if self.label:
            return self._qualified_label()
        return shorten(self.describe())

    def _qualified_label(self) -> str:
        parts, node, seen = [self.label], self, {self.id}
        while node.owner is not None and isinstance(node.owner.result, RASPExpr) and len(parts) < 4:
            node = node.owner.result
            if node.id in seen or not node.label:
                break
            seen.add(node.id)
            parts.append(node.label)
        return ".".join(reversed(parts))

    def describe(self) -> str:
        """The source expression of this node, built from its inputs' names."""
        return f"{type(self).__name__.lower()}_{self.id}"

    def named(self, label: str) -> RASPExpr:
        self.label = label
        return self

    def at(self, pos: SourcePos | None) -> RASPExpr:
        if self.pos is None:
            self.pos = pos
        return self

    def __repr__(self) -> str:
        kind = "selector" if isinstance(self, Selector) else "s-op"
        return f"<{kind} {self.name}>"

    def _repr_html_(self) -> str | None:
        """Jupyter display: the value on the example input (`rasp.view.display.set_example`)."""
        return None if html_renderer is None else html_renderer(self)

    __hash__ = object.__hash__


class SOp(RASPExpr):
    """A sequence operation: one value per position."""


class Selector(RASPExpr):
    """A boolean (query x key) attention pattern."""


# --- primitive s-ops -------------------------------------------------------------


@dataclass(eq=False, repr=False)
class Tokens(SOp):
    """The input tokens, converted to `kind` (str, int, float or bool)."""

    kind: str = "str"

    @property
    def name(self) -> str:
        return self.label or f"tokens_{self.kind}"


@dataclass(eq=False, repr=False)
class Indices(SOp):
    @property
    def name(self) -> str:
        return self.label or "indices"


@dataclass(eq=False, repr=False)
class Length(SOp):
    """The sequence length at every position (needs one attention layer to compute)."""

    @property
    def name(self) -> str:
        return self.label or "length"


@dataclass(eq=False, repr=False)
class Constant(SOp):
    """The same atom at every position."""

    value: Any = None

    @property
    def name(self) -> str:
        return self.label or _atom(self.value)


# --- element-wise -----------------------------------------------------------------


@dataclass(eq=False, repr=False)
class Map(SOp):
    """`fn` applied to each value of `inner`. `description` (an operator such as `-`, or a
    function's name) and `operands` (every argument, atoms included, in source order) make
    its label: `indices - 1`."""

    fn: Callable[[Any], Any] = None  # type: ignore[assignment]
    inner: SOp = None  # type: ignore[assignment]
    description: str = "map"
    operands: tuple[Any, ...] = ()

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return (self.inner,)

    def describe(self) -> str:
        return render_operation(self.description, self.operands or (self.inner,))


@dataclass(eq=False, repr=False)
class SequenceMap(SOp):
    """`fn` applied position-wise to the values of several s-ops; labelled as `Map` is."""

    fn: Callable[..., Any] = None  # type: ignore[assignment]
    inputs: tuple[SOp, ...] = ()
    description: str = "map"
    operands: tuple[Any, ...] = ()

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return tuple(self.inputs)

    def describe(self) -> str:
        return render_operation(self.description, self.operands or self.inputs)


# --- attention ----------------------------------------------------------------------


@dataclass(eq=False, repr=False)
class Select(Selector):
    """Query position q attends to key position k when predicate(keys[k], queries[q])."""

    keys: SOp = None  # type: ignore[assignment]
    queries: SOp = None  # type: ignore[assignment]
    predicate: Comparison = Comparison.EQ

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return (self.keys, self.queries)

    def describe(self) -> str:
        return f"select({self.keys.name}, {self.queries.name}, {self.predicate.value})"


@dataclass(eq=False, repr=False)
class SelectorAnd(Selector):
    left: Selector = None  # type: ignore[assignment]
    right: Selector = None  # type: ignore[assignment]

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return (self.left, self.right)

    def describe(self) -> str:
        return f"{_combined(self.left, SelectorAnd)} and {_combined(self.right)}"


@dataclass(eq=False, repr=False)
class SelectorOr(Selector):
    left: Selector = None  # type: ignore[assignment]
    right: Selector = None  # type: ignore[assignment]

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return (self.left, self.right)

    def describe(self) -> str:
        return f"{_combined(self.left, SelectorOr)} or {_combined(self.right)}"


@dataclass(eq=False, repr=False)
class SelectorNot(Selector):
    inner: Selector = None  # type: ignore[assignment]

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return (self.inner,)

    def describe(self) -> str:
        return f"not {_combined(self.inner)}"


@dataclass(eq=False, repr=False)
class Aggregate(SOp):
    """Mean of the selected values; a lone selected value is returned as is.

    Several selected values must be numbers, or all equal; no selected value
    gives `default` (0 when none is given, as in the reference interpreter).
    """

    selector: Selector = None  # type: ignore[assignment]
    sop: SOp = None  # type: ignore[assignment]
    default: Any = None

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return (self.selector, self.sop)

    def describe(self) -> str:
        return f"aggregate({self.selector.name}, {self.sop.name})"


@dataclass(eq=False, repr=False)
class SelectorWidth(SOp):
    """The number of key positions each query position selects."""

    selector: Selector = None  # type: ignore[assignment]

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return (self.selector,)

    def describe(self) -> str:
        return f"selector_width({self.selector.name})"


# --- labels ---------------------------------------------------------------------------

# Binding strength of the operators a label is written with, to place parentheses as the
# source needs them (higher binds tighter).
_PRECEDENCE = {
    "if-else": 0, "or": 1, "and": 2, "not": 3,
    "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4, "in": 4,
    "+": 5, "-": 5, "*": 6, "/": 6, "%": 6, "unary -": 7, "unary +": 7, "^": 8,
}
_ATOM_SHOWN = 30  # a list or dict constant longer than this is shown as [...] or {...}


class Verbatim(str):
    """Source text shown as it is in a label (a lambda's head), not as a string constant."""


def shorten(label: str) -> str:
    if len(label) <= MAX_LABEL:
        return label
    keep = MAX_LABEL - 5
    return f"{label[: keep * 2 // 3]} ... {label[-(keep - keep * 2 // 3):]}"


def render_operation(op: str, operands: tuple[Any, ...]) -> str:
    """The source expression of an element-wise operation: `indices - 1`, `not flag`,
    `a if c else b`, `x in ["a", "b"]`, `f(x, 2)`."""
    if op in ("unary -", "unary +", "not") and len(operands) == 1:
        inner = _operand(operands[0], _PRECEDENCE[op], right=True)
        return f"{op.removeprefix('unary ')}{' ' if op == 'not' else ''}{inner}"
    if op == "if-else" and len(operands) == 3:
        cond, then, otherwise = (_operand(x, 1, right=True) for x in operands)
        return f"{then} if {cond} else {otherwise}"
    if op == "[]" and len(operands) == 2:
        return f"{_atom(operands[0])}[{_operand(operands[1], -1, right=True)}]"
    if op in _PRECEDENCE and len(operands) == 2:
        level = _PRECEDENCE[op]
        return f"{_operand(operands[0], level, right=False)} {op} {_operand(operands[1], level, right=True)}"
    return f"{op}({', '.join(_operand(x, -1, right=True) for x in operands)})"


def _operand(value: Any, level: int, right: bool) -> str:
    """One operand as written inside an operation of binding strength `level`."""
    if not isinstance(value, RASPExpr):
        return _atom(value)
    text = value.name
    inner = getattr(value, "description", None) if not value.label else None
    inner_level = _PRECEDENCE.get(inner, 99) if isinstance(value, (Map, SequenceMap)) else 99
    if inner_level < level or (inner_level == level and right):
        return f"({text})"
    return text


def _combined(selector: Selector, same: type | None = None) -> str:
    """A selector inside `and`, `or` or `not`: in parentheses when it is itself such an
    unnamed combination (but for the left operand of the same operator: `a and b and c`)."""
    if not selector.label and isinstance(selector, (SelectorAnd, SelectorOr)) and type(selector) is not same:
        return f"({selector.name})"
    return selector.name


def _atom(value: Any) -> str:
    if isinstance(value, Verbatim):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (list, dict, tuple, set, frozenset)):
        text = repr(value)
        if len(text) <= _ATOM_SHOWN:
            return text.replace("'", '"')
        return "{...}" if isinstance(value, dict) else "[...]"
    return repr(value)


ATTENTION_SOPS = (Aggregate, SelectorWidth, Length)


def is_attention(expr: RASPExpr) -> bool:
    """S-ops that need an attention layer to compute (RASP paper counting)."""
    return isinstance(expr, ATTENTION_SOPS)
