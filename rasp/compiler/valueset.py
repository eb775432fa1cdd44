"""Value-set inference: every value each s-op can take, per query position.

Sets are kept per position because positions carry most of the correlation in
real programs: at position p a prefix mean has denominator exactly p+1, so
`(indices+1) * aggregate(up_to_self, x)` is known to be an integer. The union
over positions is what a residual space must encode; the per-position sets
bound which input combinations an MLP must handle.

Selectors get a tri-state matrix over (query position, key position):
NEVER, MAYBE or ALWAYS selected, from which aggregate widths and means follow.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import RaspCompileError, RaspError
from ..ir.evaluate import _convert_tokens, native, token_array
from ..ir.sops import (
    Aggregate,
    Comparison,
    Constant,
    Indices,
    Length,
    Map,
    RASPExpr,
    Select,
    SelectorAnd,
    SelectorNot,
    SelectorOr,
    SelectorWidth,
    SequenceMap,
    Tokens,
)

NEVER, MAYBE, ALWAYS = 0, 1, 2
# Beyond this many values (or input combinations) a program is too big to compile.
MAX_VALUES = 100_000


def value_key(v: Any) -> tuple:
    """A total order on mixed atoms: numbers (and bools) first, then strings."""
    if isinstance(v, str):
        return (1, 0.0, v)
    return (0, float(v), "")


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@dataclass(frozen=True)
class ValueSets:
    """Result of inference: per-position value sets and selector tri-states, by node id."""

    max_len: int
    per_position: dict[int, tuple[frozenset, ...]]
    selections: dict[int, np.ndarray]

    def at(self, expr: RASPExpr, position: int) -> frozenset:
        return self.per_position[expr.id][position]

    def values(self, expr: RASPExpr) -> tuple:
        """Every value of `expr` at any position, sorted."""
        union = frozenset().union(*self.per_position[expr.id])
        return tuple(sorted(union, key=value_key))

    def is_numeric(self, expr: RASPExpr) -> bool:
        return all(is_number(v) for v in self.values(expr))

    def max_width(self, selector: RASPExpr) -> int:
        states = self.selections[selector.id]
        return int((states > NEVER).sum(axis=1).max())


def call(expr: RASPExpr, fn: Callable[..., Any], args: Iterable[Any]) -> Any:
    """fn(*args) as the interpreter computes it; None when the combination raises.

    Combinations that raise are assumed unreachable: were one reached, the
    interpreter would raise on that input too.
    """
    try:
        out = fn(*args)
    except RaspError:
        return None
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, IndexError, KeyError):
        return None
    return native(out)


def too_large(expr: RASPExpr, what: str) -> RaspCompileError:
    return RaspCompileError(
        f"'{expr.name}' can take {what} (more than {MAX_VALUES:,}), too many to compile",
        pos=expr.pos,
        hint="compile with a smaller vocabulary or max_len, or round/bucket the values",
    )


def infer_value_sets(order: list[RASPExpr], vocab: list[Any], max_len: int, causal: bool = False,
                     before: Callable[[RASPExpr, dict, dict], None] | None = None) -> ValueSets:
    """Value sets for every node of `order` (a topological order of the program).

    With `causal`, attention only sees keys at or before the query (and `length`
    is the prefix length), as in a causally masked model. `before(expr, sets,
    selections)` is called before each node is inferred (estimate.WorkEstimate:
    the estimate of its cost, from the sets so far, can refuse it before it runs).
    """
    sets: dict[int, tuple[frozenset, ...]] = {}
    selections: dict[int, np.ndarray] = {}
    n = max_len
    for expr in order:
        if before is not None:
            before(expr, sets, selections)
        if isinstance(expr, Tokens):
            converted = _convert_tokens(token_array([vocab]), expr)[0].tolist()
            sets[expr.id] = (frozenset(map(native, converted)),) * n
        elif isinstance(expr, Indices):
            sets[expr.id] = tuple(frozenset([p]) for p in range(n))
        elif isinstance(expr, Length):
            sets[expr.id] = tuple(frozenset([p + 1] if causal else range(p + 1, n + 1)) for p in range(n))
        elif isinstance(expr, Constant):
            sets[expr.id] = (frozenset([native(expr.value)]),) * n
        elif isinstance(expr, (Map, SequenceMap)):
            children = expr.children
            sets[expr.id] = _elementwise(expr, [sets[c.id] for c in children])
        elif isinstance(expr, Select):
            selections[expr.id] = _select_states(expr, sets[expr.keys.id], sets[expr.queries.id])
        elif isinstance(expr, SelectorAnd):
            selections[expr.id] = np.minimum(selections[expr.left.id], selections[expr.right.id])
        elif isinstance(expr, SelectorOr):
            selections[expr.id] = np.maximum(selections[expr.left.id], selections[expr.right.id])
        elif isinstance(expr, SelectorNot):
            selections[expr.id] = ALWAYS - selections[expr.inner.id]
        elif isinstance(expr, SelectorWidth):
            sets[expr.id] = width_sets(_masked(selections[expr.selector.id], causal))
        elif isinstance(expr, Aggregate):
            sets[expr.id] = _aggregate(expr, _masked(selections[expr.selector.id], causal), sets[expr.sop.id])
        else:
            raise RaspCompileError(f"cannot compile a {type(expr).__name__}", pos=expr.pos)
    return ValueSets(max_len, sets, selections)


def _masked(states: np.ndarray, causal: bool) -> np.ndarray:
    if not causal:
        return states
    return np.where(np.tri(len(states), dtype=bool), states, NEVER).astype(np.int8)


def _elementwise(expr: RASPExpr, child_sets: list[tuple[frozenset, ...]]) -> tuple[frozenset, ...]:
    fn = expr.fn
    cache: dict[tuple, frozenset] = {}
    results: dict[tuple, Any] = {}
    out = []
    for position_sets in zip(*child_sets):
        key = tuple(position_sets)
        if key not in cache:
            size = int(np.prod([len(s) for s in position_sets]))
            if size > MAX_VALUES:
                raise too_large(expr, f"{size:,} input combinations")
            values = set()
            for args in itertools.product(*position_sets):
                if args not in results:
                    results[args] = call(expr, fn, args)
                if results[args] is not None:
                    values.add(results[args])
            cache[key] = frozenset(values)
        out.append(cache[key])
    return tuple(out)


def _compare(pred: Comparison, key: Any, query: Any) -> bool:
    try:
        return pred(key, query)
    except TypeError:  # strings against numbers, as the interpreter treats them
        return pred is Comparison.NEQ


def _select_states(expr: Select, keys: tuple[frozenset, ...], queries: tuple[frozenset, ...]) -> np.ndarray:
    n = len(keys)
    key_values = sorted(frozenset().union(*keys), key=value_key)
    query_values = sorted(frozenset().union(*queries), key=value_key)
    table = np.array(
        [[_compare(expr.predicate, k, q) for k in key_values] for q in query_values], dtype=bool
    ).reshape(len(query_values), len(key_values))
    k_index = {v: i for i, v in enumerate(key_values)}
    q_index = {v: i for i, v in enumerate(query_values)}
    # Per distinct key set, its values as a row of a membership matrix; per distinct query
    # set, which key values every / some of its values select; then a key set is ALWAYS
    # selected when all its values are, MAYBE when some are.
    key_sets = list(dict.fromkeys(keys))
    members = np.zeros((len(key_sets), len(key_values)), dtype=bool)
    for row, key_set in enumerate(key_sets):
        members[row, [k_index[v] for v in key_set]] = True
    where = {s: i for i, s in enumerate(key_sets)}
    key_row = np.array([where[s] for s in keys], dtype=np.int64)
    states = np.empty((n, n), dtype=np.int8)
    by_query_set: dict[frozenset, np.ndarray] = {}
    for p in range(n):
        if queries[p] not in by_query_set:
            rows = table[[q_index[v] for v in queries[p]]]
            always = ~(members & ~rows.all(axis=0)).any(axis=1)
            some = (members & rows.any(axis=0)).any(axis=1)
            by_query_set[queries[p]] = np.where(always, ALWAYS, np.where(some, MAYBE, NEVER)).astype(np.int8)[key_row]
        states[p] = by_query_set[queries[p]]
    return states



def _key_sets(states: np.ndarray, p: int) -> Iterable[tuple[list[int], list[int]]]:
    """For each sequence length covering query position p: the ALWAYS and MAYBE keys."""
    for length in range(p + 1, states.shape[0] + 1):
        row = states[p, :length]
        yield np.flatnonzero(row == ALWAYS).tolist(), np.flatnonzero(row == MAYBE).tolist()


def width_sets(states: np.ndarray) -> tuple[frozenset, ...]:
    """Per query position, every number of keys the selector can select (any length)."""
    n = states.shape[0]
    always = np.cumsum(states == ALWAYS, axis=1)  # [p, L-1]: ALWAYS keys among the first L
    maybe = np.cumsum(states == MAYBE, axis=1)
    out = []
    for p in range(n):
        lo, hi = always[p, p:], always[p, p:] + maybe[p, p:]
        if (hi[:-1] + 1 >= lo[1:]).all():  # the ranges for consecutive lengths overlap
            out.append(frozenset(range(int(lo.min()), int(hi.max()) + 1)))
        else:
            out.append(frozenset(w for a, b in zip(lo.tolist(), hi.tolist()) for w in range(a, b + 1)))
    return tuple(out)


def aggregate_default(expr: Aggregate, numeric: bool) -> Any:
    """The value an aggregate takes where its selector selects nothing."""
    if expr.default is not None:
        return native(expr.default)
    return 0


def _aggregate(expr: Aggregate, states: np.ndarray, value_sets: tuple[frozenset, ...]) -> tuple[frozenset, ...]:
    union = frozenset().union(*value_sets)
    numeric = bool(union) and all(is_number(v) for v in union)
    averages = numeric and int((states > NEVER).sum(axis=1).max()) > 1
    sums = _SumSets(expr, value_sets)
    out = []
    for p in range(states.shape[0]):
        if not averages:  # every selectable key's values, and the default where none is sure
            values = set().union(*(value_sets[k] for k in np.flatnonzero(states[p] > NEVER)))
            if not (states[p, : p + 1] == ALWAYS).any():
                values.add(aggregate_default(expr, numeric))
            out.append(frozenset(values))
            continue
        values = set()
        for always, maybe in _key_sets(states, p):
            if not always:
                values.add(aggregate_default(expr, numeric))
            if not averages:
                for k in always + maybe:
                    values |= value_sets[k]
                continue
            pool = frozenset().union(*(value_sets[k] for k in maybe)) if maybe else frozenset()
            for extra in range(0 if always else 1, len(maybe) + 1):
                for total in sums.of(always, pool, extra):
                    values.add(_mean(total, len(always) + extra))
        if len(values) > MAX_VALUES:
            raise too_large(expr, f"{len(values):,} values")
        out.append(frozenset(values))
    return tuple(out)


def _mean(total: Any, width: int) -> Any:
    mean = total / width
    return int(mean) if isinstance(total, int) and mean == int(mean) else mean


class _SumSets:
    """Sets of sums: one value from each ALWAYS key, plus `extra` values from a pool.

    Memoised on prefixes, since consecutive lengths and positions share them.
    """

    def __init__(self, expr: Aggregate, value_sets: tuple[frozenset, ...]):
        self.expr = expr
        self.value_sets = value_sets
        self.memo: dict[tuple, frozenset] = {(): frozenset([0])}

    def _add(self, a: frozenset, b: frozenset) -> frozenset:
        if len(a) * len(b) > 50 * MAX_VALUES:
            raise too_large(self.expr, "too many different means")
        out = frozenset(_exact(x + y) for x in a for y in b)
        if len(out) > MAX_VALUES:
            raise too_large(self.expr, f"{len(out):,} different sums")
        return out

    def _get(self, key: tuple, build: Callable[[], frozenset]) -> frozenset:
        if key not in self.memo:
            self.memo[key] = build()
        return self.memo[key]

    def of(self, always: list[int], pool: frozenset, extra: int) -> frozenset:
        base = self._fixed(tuple(always))
        if extra == 0:
            return base
        return self._get(("pool", tuple(always), pool, extra), lambda: self._add(self.of(always, pool, extra - 1), pool))

    def _fixed(self, keys: tuple) -> frozenset:
        if keys in self.memo:
            return self.memo[keys]
        return self._get(keys, lambda: self._add(self._fixed(keys[:-1]), self.value_sets[keys[-1]]))


def _exact(x: Any) -> Any:
    # Float sums are rounded so that equal means computed in different orders coincide.
    return round(x, 9) if isinstance(x, float) else x
