"""MLP construction: an exact ReLU MLP for a function tree on every reachable input.

Strategies, the narrowest wins: gated cases with an affine fit or a staircase
along one linear feature per case; and, for a numeric output that is a sum of
one-leaf functions (`length - indices - 1`), one staircase per leaf, so the
width grows with the number of values rather than the number of combinations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import RaspCompileError
from ..ir.sops import RASPExpr
from .layout import ONE, Space
from .pieces import Knots, exact_knots
from .trees import Apply, Leaf, Tree, combinations, reachable
from .valueset import is_number

# A separable function of its leaves: the constant c and, per leaf, {value: f_j(value)}.
Parts = tuple[float, list[dict[Any, float]]]


@dataclass(eq=False)
class MLP:
    """A ReLU MLP: hidden = relu(sum of w_in[space] @ space), out = w_out.T @ hidden."""

    expr: RASPExpr
    out: Space
    w_in: dict[Space, np.ndarray]  # space -> (hidden, space width); ONE carries the biases
    w_out: np.ndarray  # (hidden, out width)

    @property
    def reads(self) -> list[Space]:
        return [s for s in self.w_in if s is not ONE]

    @property
    def hidden(self) -> int:
        return self.w_out.shape[0]



def affine_1d(tree: Tree, space: Space) -> tuple[float | None, float]:
    xs = np.array([float(v) for v in space.values])
    ys = [tree.evaluate({space: v}) for v in space.values]
    if any(not (is_number(y) or isinstance(y, bool)) for y in ys):
        return None, 0.0
    fit = _affine_fit(xs[:, None], np.array(ys, dtype=np.float64))
    return (None, 0.0) if fit is None else (float(fit[0][0]), float(fit[1]))


def _affine_fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float] | None:
    """(a, b) with y == x @ a + b exactly on every point, or None."""
    design = np.hstack([x, np.ones((len(x), 1))])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    if np.abs(design @ coef - y).max(initial=0.0) > 1e-9 * (1 + np.abs(y).max(initial=0.0)):
        return None
    return coef[:-1], float(coef[-1])



# --- MLP construction -------------------------------------------------------------------------


class _Neurons:
    """Accumulates hidden units: input weights per space and an output vector each."""

    def __init__(self, out: Space):
        self.out = out
        self.rows: list[dict[Space, np.ndarray]] = []
        self.outs: list[np.ndarray] = []

    def add(self, weights: dict[Space, np.ndarray], out: np.ndarray) -> None:
        if np.any(out):
            self.rows.append(weights)
            self.outs.append(out)

    def build(self, expr: RASPExpr) -> MLP:
        spaces = list(dict.fromkeys(s for row in self.rows for s in row))
        if ONE not in spaces:
            spaces.append(ONE)
        w_in = {s: np.zeros((len(self.rows), s.width)) for s in spaces}
        for i, row in enumerate(self.rows):
            for s, w in row.items():
                w_in[s][i] += w
        w_out = np.array(self.outs).reshape(len(self.rows), self.out.width)
        return MLP(expr, self.out, w_in, w_out)


def _merge(*parts: dict[Space, np.ndarray]) -> dict[Space, np.ndarray]:
    out: dict[Space, np.ndarray] = {}
    for part in parts:
        for s, w in part.items():
            out[s] = out[s] + w if s in out else np.asarray(w, dtype=np.float64)
    return out


def _scaled(part: dict[Space, np.ndarray], k: float) -> dict[Space, np.ndarray]:
    return {s: w * k for s, w in part.items()}


@dataclass(frozen=True, eq=False)
class _Column:
    """One real input of an MLP's linear forms: a numeric space, or one coordinate of a one-hot space."""

    space: Space
    coord: int | None = None

    def x(self, value: Any) -> float:
        if self.coord is None:
            return float(value)
        return float(self.space.index(value) == self.coord)

    def weights(self, c: float) -> np.ndarray:
        if self.coord is None:
            return np.array([float(c)])
        w = np.zeros(self.space.width)
        w[self.coord] = c
        return w

    @property
    def max_abs(self) -> float:
        return 1.0 if self.coord is not None else max(abs(float(v)) for v in self.space.values)


def _columns(spaces: list[Space]) -> list[_Column]:
    return [_Column(s, i) if s.categorical else _Column(s) for s in spaces for i in (range(s.width) if s.categorical else [None])]


def build_mlp(expr: RASPExpr, tree: Tree, out: Space, parts_of: Callable[[Tree], Parts | None] | None = None) -> MLP:
    """An exact ReLU MLP computing `tree` into `out` on every reachable input: the narrowest of a few.

    By default every categorical leaf is a gate. With numeric leaves present, a
    small categorical leaf can instead enter the linear feature through its
    one-hot coordinates (`depth + indicator(tokens == ")")` needs no case per
    token then), which is tried too. `parts_of` answers `separable_parts` for the
    tree, for a caller that has asked already (lowering memoises it).
    """
    leaves = tree.leaves()
    parts = parts_of(tree) if parts_of else separable_parts(tree, leaves)
    separable = _separable_mlp(expr, out, leaves, parts) or _gated_sum_mlp(expr, tree, out, leaves)
    if separable is not None and combinations(leaves) > SMALL_TABLE:
        return separable
    try:
        best = _build_mlp(expr, tree, out, leaves, ())
    except RaspCompileError:  # numbers too spread out for one feature: gate on the two-valued ones
        best = _build_mlp(expr, tree, out, leaves, (), gate_two_valued=True)
    if separable is not None and separable.hidden < best.hidden:
        best = separable
    if any(not s.categorical for s in leaves):
        for space in leaves:
            if space.categorical and space.width <= DEMOTE_WIDTH and best.hidden > 2 * space.width:
                try:
                    mlp = _build_mlp(expr, tree, out, leaves, (space,))
                except RaspCompileError:
                    continue
                if mlp.hidden < best.hidden:
                    best = mlp
    return best


def separable_parts(tree: Tree, leaves: list[Space]) -> Parts | None:
    """(c, [f_j]) with tree == c + sum_j f_j(leaf_j) on every reachable input, for a numeric
    tree over two or more leaves, at least one numeric; None when it is not of that shape.

    Checked exactly: f_j is the tree with leaf j moved away from an anchor input, and
    c + sum f_j must equal the tree on every reachable combination.
    """
    if len(leaves) < 2 or all(s.categorical for s in leaves):
        return None
    combos = reachable(leaves)
    ys = [tree.evaluate(dict(zip(leaves, combo))) for combo in combos]
    points = [(c, y) for c, y in zip(combos, ys) if y is not None]
    if not points or not all(is_number(y) or isinstance(y, bool) for _, y in points):
        return None
    anchor, y0 = points[0]
    parts: list[dict[Any, float]] = []
    for j in range(len(leaves)):
        part = {}
        for v in dict.fromkeys(c[j] for c, _ in points):
            moved = tree.evaluate(dict(zip(leaves, anchor[:j] + (v,) + anchor[j + 1 :])))
            if not (is_number(moved) or isinstance(moved, bool)):
                return None
            part[v] = float(moved) - float(y0)
        parts.append(part)
    for combo, y in points:
        total = float(y0) + sum(part[v] for part, v in zip(parts, combo))
        if abs(total - float(y)) > 1e-9 * (1 + abs(float(y))):
            return None
    return float(y0), parts


def is_affine(part: dict[Any, float]) -> bool:
    """Whether a one-leaf function, given as {numeric value: output}, is affine."""
    xs = list(part)
    return _affine_fit(np.array([[float(x)] for x in xs]), np.array([part[x] for x in xs])) is not None


def _separable_mlp(expr: RASPExpr, out: Space, leaves: list[Space], found: Parts | None) -> MLP | None:
    """For a numeric output y = c + sum_j f_j(leaf_j) (`found`, from `separable_parts`): one
    linear form (two units) for the categorical leaves and affine f_j, and one staircase per
    other numeric leaf, two units per change of f_j. None when y is not of that shape.
    """
    if out.categorical or found is None:
        return None
    y0, parts = found
    neurons = _Neurons(out)
    form: dict[Space, np.ndarray] = {ONE: np.array([float(y0)])}
    for space, part in zip(leaves, parts):
        if space.categorical:
            form = _merge(form, {space: np.array([part.get(v, 0.0) for v in space.values])})
            continue
        xs = sorted(part, key=float)
        fit = _affine_fit(np.array([[float(x)] for x in xs]), np.array([part[x] for x in xs]))
        if fit is not None:
            form = _merge(form, {space: np.array([fit[0][0]]), ONE: np.array([fit[1]])})
            continue
        form = _merge(form, {ONE: np.array([part[xs[0]]])})
        for lo, hi in zip(xs, xs[1:]):
            step = part[hi] - part[lo]
            if step:
                _add_step(neurons, {space: np.array([1.0])}, float(lo), float(hi), step)
    for sign in (1.0, -1.0):
        neurons.add(_scaled(form, sign), np.array([sign]))
    return neurons.build(expr)


def _gated_sum_mlp(expr: RASPExpr, tree: Tree, out: Space, leaves: list[Space]) -> MLP | None:
    """For categorical leaves: per case of the narrowest few leaves (the gates), the output
    code as a constant plus one vector per value of each other leaf. `c if flag else d`
    over words then costs a unit per value of c and of d, not one per (c, d) pair.
    Tried with 0, 1, then 2 gates; None when no split is exact on every reachable input.
    """
    if len(leaves) < 2 or not all(s.categorical for s in leaves):
        return None
    combos = reachable(leaves)
    by_width = sorted(range(len(leaves)), key=lambda j: leaves[j].width)
    for n_gates in range(min(3, len(leaves))):
        mlp = _gated_sum_with(expr, tree, out, leaves, sorted(by_width[:n_gates]), combos)
        if mlp is not None:
            return mlp
    return None


def _gated_sum_with(expr: RASPExpr, tree: Tree, out: Space, leaves: list[Space], gates: list[int], combos: list[tuple]) -> MLP | None:
    cases: dict[tuple, list[tuple[tuple, Any]]] = {}
    for combo in combos:
        y = tree.evaluate(dict(zip(leaves, combo)))
        if y is not None:
            cases.setdefault(tuple(combo[g] for g in gates), []).append((combo, y))
    others = [j for j in range(len(leaves)) if j not in gates]
    neurons = _Neurons(out)
    for case, points in cases.items():
        anchor, y0 = points[0]
        base = out.encode(y0)
        parts: dict[tuple[int, Any], np.ndarray] = {}
        for j in others:
            for v in dict.fromkeys(c[j] for c, _ in points):
                moved = tree.evaluate(dict(zip(leaves, anchor[:j] + (v,) + anchor[j + 1 :])))
                if moved is None or (not out.categorical and not is_number(moved)):
                    return None
                parts[(j, v)] = out.encode(moved) - base
        for combo, y in points:
            total = base + sum((parts[(j, combo[j])] for j in others), np.zeros(out.width))
            if np.abs(total - out.encode(y)).max() > 1e-9:
                return None
        gate = _gate([leaves[g] for g in gates], case)
        neurons.add(_merge({ONE: np.ones(1)}, gate), base)
        for (j, v), vec in parts.items():
            neurons.add(_merge({leaves[j]: leaves[j].encode(v)}, gate), vec)
    return neurons.build(expr) if cases else None


def _add_step(neurons: _Neurons, z_form: dict[Space, np.ndarray], lo: float, hi: float, step: Any,
              gate: dict[Space, np.ndarray] | None = None) -> None:
    """Two units adding `step` once the linear feature z reaches `hi`, nothing up to `lo`
    (and nothing at all where `gate`, a large negative input off its case, is off)."""
    slope = 1.0 / (hi - lo)
    mid = (hi + lo) / 2
    for shift, sign in ((0.5, 1.0), (-0.5, -1.0)):
        w = _merge(_scaled(z_form, slope), {ONE: np.array([shift - slope * mid])}, gate or {})
        neurons.add(w, sign * np.atleast_1d(step))


def _numeric_knots(out: Space, zs: np.ndarray, ys: list[Any]) -> Knots | None:
    """Exact pieces through the points (z, y), for a numeric output; None otherwise."""
    if out.categorical or not all(is_number(y) or isinstance(y, bool) for y in ys):
        return None
    if len(zs) > 1 and np.diff(zs).min() < 1e-12:
        return None
    return exact_knots(zs.tolist(), [float(y) for y in ys])


def add_pieces(neurons: _Neurons, z_form: dict[Space, np.ndarray], knots: Knots, z_lo: float, z_hi: float,
               gate: dict[Space, np.ndarray] | None = None) -> None:
    """One unit per knot adding `knots`' slope changes along the linear feature z (in
    [z_lo, z_hi]); nothing where `gate` (0 on its case, <= -1 off it) is off. The value
    at the first knot is the caller's (an indicator unit)."""
    for k, change in zip(knots.x.tolist(), knots.changes.tolist()):
        big = max(abs(z_hi - k), abs(z_lo - k)) + 1.0
        w = _merge(z_form, {ONE: np.array([-k])}, _scaled(gate, big) if gate else {})
        neurons.add(w, np.array([change]))


# Up to this many input combinations, every construction is tried and the narrowest kept.
SMALL_TABLE = 2_000

# Categorical leaves up to this width may be read linearly instead of gated on.
DEMOTE_WIDTH = 16


def _build_mlp(expr: RASPExpr, tree: Tree, out: Space, leaves: list[Space], linear: tuple[Space, ...],
               gate_two_valued: bool = False) -> MLP:
    """Categorical leaves not in `linear` form the "case", matched by a gate that is
    0 on the case and <= -1 off it; the other leaves are read through linear
    columns. Per case the output is either affine in the columns (two units), or
    a staircase along one linear feature z of them: two units per step where the
    output changes.
    """
    categorical = [s for s in leaves if (s.categorical or (gate_two_valued and _two_valued(s))) and s not in linear]
    numeric = [s for s in leaves if s not in categorical]
    columns = _columns(numeric)
    cases: dict[tuple, list[tuple[tuple, Any]]] = {}
    for combo in reachable(leaves):
        env = dict(zip(leaves, combo))
        y = tree.evaluate(env)
        if y is None:
            continue
        case = tuple(env[s] for s in categorical)
        cases.setdefault(case, []).append((tuple(env[s] for s in numeric), y))
    if not cases:
        raise RaspCompileError(f"'{expr.name}' has no computable value", pos=expr.pos)

    neurons = _Neurons(out)
    encodings = [out.encode(y) for points in cases.values() for _, y in points]
    baseline = _most_common(encodings)
    neurons.add({ONE: np.ones(1)}, baseline)
    for case, points in cases.items():
        gate = _gate(categorical, case)
        gate_count = len(categorical)
        indicator = _merge({ONE: np.ones(1)}, gate)  # 1 on the case, <= 0 elsewhere
        xs = np.array(
            [[c.x(v) for c, v in zip(columns, _spread(numeric, p[0]))] for p in points], dtype=np.float64
        ).reshape(len(points), len(columns))
        ys = [p[1] for p in points]
        if not numeric or len({out.encode(y).tobytes() for y in ys}) == 1:
            neurons.add(indicator, out.encode(ys[0]) - baseline)
            continue
        if not out.categorical and all(is_number(y) or isinstance(y, bool) for y in ys):
            fit = _affine_fit(xs, np.array(ys, dtype=np.float64))
            if fit is not None:
                form = _linear(columns, fit[0], fit[1])
                bound = _bound(columns, fit[0], abs(fit[1])) + 1
                for sign in (1.0, -1.0):
                    w = _merge(_scaled(form, sign), _scaled(gate, bound) if gate_count else {})
                    neurons.add(w, np.array([sign]))
                neurons.add(indicator, -baseline)
                continue
        z_coef, z_values = _feature(tree, numeric, columns, case, categorical, points, xs)
        order = np.argsort(z_values, kind="stable")
        zs = z_values[order]
        encs = [out.encode(ys[i]) for i in order]
        neurons.add(indicator, encs[0] - baseline)
        z_form = _linear(columns, z_coef, 0.0)
        z_max = _bound(columns, z_coef, 0.0)
        knots = _numeric_knots(out, zs, [ys[i] for i in order])
        changes = sum(1 for a, b in zip(encs, encs[1:]) if np.any(b - a))
        if knots is not None and len(knots.x) < 2 * changes:  # pieces through the points beat steps
            add_pieces(neurons, z_form, knots, -z_max, z_max, gate if gate_count else None)
            continue
        for i in range(1, len(zs)):
            step = encs[i] - encs[i - 1]
            if not np.any(step) or zs[i] - zs[i - 1] < 1e-12:
                continue
            big = (z_max + abs(zs[i] + zs[i - 1]) / 2) / (zs[i] - zs[i - 1]) + 2
            _add_step(neurons, z_form, zs[i - 1], zs[i], step, _scaled(gate, big) if gate_count else {})
    return neurons.build(expr)


def _spread(spaces: list[Space], values: tuple) -> list[Any]:
    """Leaf values repeated once per column (a one-hot leaf has one column per coordinate)."""
    return [v for s, v in zip(spaces, values) for _ in range(s.width if s.categorical else 1)]


def _most_common(vectors: list[np.ndarray]) -> np.ndarray:
    counts: dict[bytes, int] = {}
    for v in vectors:
        counts[v.tobytes()] = counts.get(v.tobytes(), 0) + 1
    best = max(counts, key=counts.get)
    return np.frombuffer(best, dtype=np.float64).copy()


def _two_valued(space: Space) -> bool:
    """A number with two values (`-0.74 if negated else 1`): as good a gate as a one-hot code."""
    return not space.categorical and not space.continuous and len(space.values) == 2


def _gate(categorical: list[Space], case: tuple) -> dict[Space, np.ndarray]:
    """sum of the case's one-hot coordinates minus their count: 0 on the case, <= -1 off it
    (a two-valued number x counts (x - other) / (value - other), 1 on its value, 0 off it)."""
    gate: dict[Space, np.ndarray] = {}
    ones = 0.0
    for space, value in zip(categorical, case):
        if space.categorical:
            gate = _merge(gate, {space: space.encode(value)})
            continue
        other = float(next(v for v in space.values if v != value))
        scale = 1.0 / (float(value) - other)
        gate = _merge(gate, {space: np.array([scale])})
        ones -= other * scale
    if categorical:
        gate = _merge(gate, {ONE: np.array([ones - float(len(categorical))])})
    return gate


def _linear(columns: list[_Column], coef: np.ndarray, bias: float) -> dict[Space, np.ndarray]:
    form: dict[Space, np.ndarray] = {ONE: np.array([bias])}
    for column, c in zip(columns, coef):
        form = _merge(form, {column.space: column.weights(float(c))})
    return form


def _bound(columns: list[_Column], coef: np.ndarray, bias: float) -> float:
    """An upper bound of |coef . x + bias| over every value the columns can hold."""
    total = bias
    for column, c in zip(columns, coef):
        total += abs(c) * column.max_abs
    return float(total)


def _feature(tree, numeric, columns, case, categorical, points, xs) -> tuple[np.ndarray, np.ndarray]:
    """A linear feature z of the numeric leaves on which the output is a function of z.

    The tree is cut into the largest sub-expressions that are affine in the
    numeric leaves (e.g. `n_opens - n_closes`); z is a mixed-radix code of their
    values, injective with gaps of at least 1, so the staircase along z has one
    step per change of output rather than one per input combination.
    """
    if len(columns) == 1:  # one number: itself is injective
        return np.ones(1), xs[:, 0]
    base = dict(zip(categorical, case))
    envs = [{**base, **dict(zip(numeric, p[0]))} for p in points]
    coef = np.zeros(len(columns))
    radix = 1.0
    for feature in _affine_cut(tree, numeric, columns, envs, xs):
        slope, values = feature
        distinct = np.unique(np.round(values, 9))
        gap = np.diff(distinct).min() if len(distinct) > 1 else 1.0
        coef += radix * slope / gap
        radix *= (distinct[-1] - distinct[0]) / gap + 1
    if radix > 1e12:
        raise RaspCompileError("inputs too spread out to compile exactly", pos=getattr(tree, "expr", None) and tree.expr.pos)
    return coef, xs @ coef


def _affine_cut(
    tree: Tree, numeric: list[Space], columns: list[_Column], envs: list[dict], xs: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(slope over the columns, values) of disjoint affine sub-expressions covering the linear leaves.

    A one-hot leaf is affine in its own coordinates through its value's index.
    """
    if not set(numeric) & set(tree.leaves()):
        return []
    values = [tree.evaluate(env) for env in envs]
    if all(is_number(v) or isinstance(v, bool) for v in values):
        vals = np.array(values, dtype=np.float64)
        fit = _affine_fit(xs, vals)
        if fit is not None:
            return [(np.asarray(fit[0]), vals - fit[1])]
    if isinstance(tree, Leaf) and tree.space.categorical:
        slope = np.array([float(c.coord) if c.space is tree.space else 0.0 for c in columns])
        return [(slope, xs @ slope)]
    if isinstance(tree, Apply):
        return [f for arg in tree.args for f in _affine_cut(arg, numeric, columns, envs, xs)]
    raise RaspCompileError(f"cannot compile {tree!r}")  # a numeric leaf is always affine in itself



def cleaning_mlp(space: Space, coords: list[int]) -> MLP:
    """An MLP subtracting `space`'s value from the given coordinates, leaving exact zeros.

    One-hot coordinates are 0 or 1, so one unit relu(x) per coordinate returns
    x; a number needs relu(x) - relu(-x). (At BOS the assembler tracks whatever
    is left.)
    """
    rows, outs = [], []
    for i in coords:
        unit = np.zeros(space.width)
        unit[i] = 1.0
        for sign in (1.0,) if space.categorical else (1.0, -1.0):
            rows.append(sign * unit)
            outs.append(-sign * unit)
    hidden = len(rows)
    w_in = {space: np.array(rows).reshape(hidden, space.width), ONE: np.zeros((hidden, 1))}
    return MLP(space.expr, space, w_in, np.array(outs).reshape(hidden, space.width))

