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


@dataclass(eq=False, repr=False)
class RASPExpr:
    """Base of every IR node. `label` is the user-facing name, set on assignment."""

    label: str | None = field(default=None, init=False)
    pos: SourcePos | None = field(default=None, init=False, repr=False)
    id: int = field(default_factory=lambda: next(_next_id), init=False, repr=False)

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return ()

    @property
    def name(self) -> str:
        if self.label:
            return self.label
        derived = self.describe()
        return derived if len(derived) <= 40 else f"{type(self).__name__.lower()}_{self.id}"

    def describe(self) -> str:
        """A readable default name built from the inputs' names."""
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
        return self.label or repr(self.value)


# --- element-wise -----------------------------------------------------------------


@dataclass(eq=False, repr=False)
class Map(SOp):
    """`fn` applied to each value of `inner`. `description` is shown in graphs and tables."""

    fn: Callable[[Any], Any] = None  # type: ignore[assignment]
    inner: SOp = None  # type: ignore[assignment]
    description: str = "map"

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return (self.inner,)

    def describe(self) -> str:
        return f"{self.description}({self.inner.name})"


@dataclass(eq=False, repr=False)
class SequenceMap(SOp):
    """`fn` applied position-wise to the values of several s-ops (a zipmap)."""

    fn: Callable[..., Any] = None  # type: ignore[assignment]
    inputs: tuple[SOp, ...] = ()
    description: str = "zipmap"

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return tuple(self.inputs)

    def describe(self) -> str:
        return f"{self.description}({', '.join(s.name for s in self.inputs)})"


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
        return f"({self.left.name} and {self.right.name})"


@dataclass(eq=False, repr=False)
class SelectorOr(Selector):
    left: Selector = None  # type: ignore[assignment]
    right: Selector = None  # type: ignore[assignment]

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return (self.left, self.right)

    def describe(self) -> str:
        return f"({self.left.name} or {self.right.name})"


@dataclass(eq=False, repr=False)
class SelectorNot(Selector):
    inner: Selector = None  # type: ignore[assignment]

    @property
    def children(self) -> tuple[RASPExpr, ...]:
        return (self.inner,)

    def describe(self) -> str:
        return f"not {self.inner.name}"


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


ATTENTION_SOPS = (Aggregate, SelectorWidth, Length)


def is_attention(expr: RASPExpr) -> bool:
    """S-ops that need an attention layer to compute (RASP paper counting)."""
    return isinstance(expr, ATTENTION_SOPS)
