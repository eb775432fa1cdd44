"""Continuous numbers: s-ops tracked as an interval [lo, hi] rather than a set of values.

A mean of real numbers over many positions can take more values than can be listed
(VADER's sum of valences: billions). Such an s-op is *continuous*: its per-position
"value set" holds the interval's two ends, `ValueSets.continuous` names it, and the
MLPs reading it approximate their function piecewise-linearly (`pieces.py`), with an
error bound. Exact where it can be: a mean lies in the hull of what it averages, so
an aggregate's interval is exact; a map's interval is the range of the function over
a grid of its continuous inputs (every value of its finite ones), widened by a
little, which covers every function monotone between grid points.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import RaspCompileError
from ..ir.sops import RASPExpr

# Grid points per continuous input when estimating a map's range.
GRID = 65
# A map's estimated range is widened by this fraction of its width on each side.
WIDEN = 0.01
# At most this many (finite) combinations are evaluated for one map's range.
MAX_GRID = 200_000


def not_enumerable(expr: RASPExpr, why: str) -> RaspCompileError:
    return RaspCompileError(
        f"'{expr.name}' takes too many different values to list (it is compiled as a continuous "
        f"number, an interval), so it cannot be {why}",
        pos=expr.pos,
        hint="compute decisions from exact values (lexicon features, counts), and keep continuous "
        "numbers (means of real numbers over many positions) for arithmetic",
    )


def interval(lo: float, hi: float, n: int) -> tuple[frozenset, ...]:
    """The per-position sets of a continuous s-op: the interval's ends, at every position."""
    return (frozenset([float(lo), float(hi)]),) * n


def ends(sets: tuple[frozenset, ...]) -> tuple[float, float]:
    union = [float(v) for s in sets for v in s]
    return min(union), max(union)


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def aggregate_interval(expr: RASPExpr, value_sets: tuple[frozenset, ...], default: Any,
                       may_be_empty: bool) -> tuple[frozenset, ...]:
    """A numeric mean's interval: the hull of every value it may average and of its default
    (where the selector may select nothing)."""
    union = [v for s in value_sets for v in s]
    if not union or not all(is_number(v) for v in union):
        raise not_enumerable(expr.sop, "averaged (it is not a number)")
    lo, hi = ends(value_sets)
    if not is_number(default):
        raise not_enumerable(expr, "given a non-numeric default")
    if may_be_empty:
        lo, hi = min(lo, float(default)), max(hi, float(default))
    return interval(lo, hi, len(value_sets))


def map_interval(expr: RASPExpr, sources: list[RASPExpr], source_sets: list[tuple[frozenset, ...]],
                 continuous: set[int], evaluate: Callable[[RASPExpr, dict[int, Any]], Any]) -> tuple[frozenset, ...]:
    """A map of continuous inputs: its range over a grid of their intervals and every value
    of its other inputs (at any position), widened by WIDEN on each side."""
    n = len(source_sets[0])
    axes = []
    for source, sets in zip(sources, source_sets):
        if source.id in continuous:
            lo, hi = ends(sets)
            grid = set(np.linspace(lo, hi, GRID).tolist()) | ({0.0} if lo < 0 < hi else set())
            axes.append(sorted(grid))
        else:
            values = sorted(frozenset().union(*sets), key=lambda v: (isinstance(v, str), str(v) if isinstance(v, str) else v))
            if len(values) > GRID and all(is_number(v) for v in values):  # many numbers: a grid over their range
                values = sorted(set(np.linspace(float(values[0]), float(values[-1]), GRID).tolist()) | {values[0], values[-1]})
            axes.append(values)
    if int(np.prod([len(a) for a in axes])) > MAX_GRID:
        raise RaspCompileError(
            f"'{expr.name}' combines continuous numbers with too many other values to bound it",
            pos=expr.pos, hint="compute it in smaller steps",
        )
    outs = []
    for combo in itertools.product(*axes):
        y = evaluate(expr, {s.id: v for s, v in zip(sources, combo)})
        if y is None:
            continue
        if not (is_number(y) or isinstance(y, bool)) or isinstance(y, bool):
            cont = next(s for s in sources if s.id in continuous)
            raise not_enumerable(cont, f"used in '{expr.name}', which gives {type(y).__name__} values "
                                       "(a decision needs exact values)")
        outs.append(float(y))
    if not outs:
        raise RaspCompileError(f"'{expr.name}' has no computable value", pos=expr.pos)
    lo, hi = min(outs), max(outs)
    pad = WIDEN * (hi - lo)
    return interval(lo - pad, hi + pad, n)
