"""Blocks: the program lowered to attention heads and MLPs over named residual spaces.

Lowering rules, chosen to minimise depth:

* Chains of element-wise maps are fused into one function tree and computed by a
  single MLP from the tree's leaves (the s-ops that must live in the residual).
* A map chain over a single categorical s-op never needs an MLP when attention
  reads it: its table folds into the query/key matrices or into the OV circuit.
* `selector_width` and `length` are attention heads writing 1/(w+1) (the weight
  of position 0, BOS, among w+1 equally scored keys); decoding w is just another
  map, so it fuses with whatever consumes the width.

Weights are expressed per space; `model.py` places them in the residual stream.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import RaspCompileError
from ..ir.sops import (
    Aggregate,
    Comparison,
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
    SOp,
    Tokens,
)
from .layout import ONE, Space
from .valueset import (
    ALWAYS,
    MAX_VALUES,
    MAYBE,
    NEVER,
    ValueSets,
    aggregate_default,
    call,
    is_number,
    value_key,
)

# --- function trees: fused element-wise computation -----------------------------------------


class Tree:
    """A value computed position-wise from residual spaces (the leaves)."""

    def leaves(self) -> list[Space]:
        raise NotImplementedError

    def evaluate(self, env: dict[Space, Any]) -> Any:
        raise NotImplementedError


@dataclass(eq=False)
class Leaf(Tree):
    space: Space

    def leaves(self) -> list[Space]:
        return [self.space]

    def evaluate(self, env: dict[Space, Any]) -> Any:
        return env[self.space]


@dataclass(eq=False)
class Const(Tree):
    value: Any

    def leaves(self) -> list[Space]:
        return []

    def evaluate(self, env: dict[Space, Any]) -> Any:
        return self.value


@dataclass(eq=False)
class Apply(Tree):
    expr: RASPExpr
    fn: Callable[..., Any]
    args: list[Tree]
    memo: dict = field(default_factory=dict, repr=False)

    def leaves(self) -> list[Space]:
        return list(dict.fromkeys(s for a in self.args for s in a.leaves()))

    def evaluate(self, env: dict[Any, Any]) -> Any:
        """The value at one input; results are also stored in `env`, for sub-expressions."""
        if self not in env:
            args = tuple(a.evaluate(env) for a in self.args)
            if any(a is None for a in args):
                env[self] = None
            else:
                if args not in self.memo:
                    self.memo[args] = call(self.expr, self.fn, args)
                env[self] = self.memo[args]
        return env[self]

    def subtrees(self) -> list[Tree]:
        out: list[Tree] = [self]
        for a in self.args:
            out += a.subtrees() if isinstance(a, Apply) else [a]
        return out


def combinations(leaves: list[Space]) -> int:
    """An upper bound on the number of `reachable` combinations (cheap to compute)."""
    per_position = {tuple(s.per_position[p] for s in leaves) for p in range(_positions(leaves))}
    return sum(int(np.prod([len(x) for x in sets])) for sets in per_position) if leaves else 1


def reachable(leaves: list[Space]) -> list[tuple]:
    """Every combination of leaf values that can meet at one position."""
    combos: set[tuple] = set()
    for p in range(_positions(leaves)):
        combos.update(itertools.product(*(s.per_position[p] for s in leaves)))
    return sorted(combos, key=lambda c: [value_key(v) for v in c]) if leaves else [()]


def _positions(leaves: list[Space]) -> int:
    return max((len(s.per_position) for s in leaves), default=0)


# --- blocks -----------------------------------------------------------------------------------


@dataclass
class Atom:
    """One bilinear term of an attention score: table[query value, key value] in {0, 1}.

    A side that is None is constant; it reads the `one` space.
    """

    query: Space | None
    key: Space | None
    table: np.ndarray


@dataclass(eq=False)
class Head:
    """An attention head: each query averages over the keys where every atom is 1.

    Position 0 (BOS) scores just below a selected key, so it takes all the
    weight when nothing is selected and contributes `bos_value` (the default);
    width heads score it like a selected key, so its weight is 1/(w+1).
    """

    expr: RASPExpr
    atoms: list[Atom]
    out: Space
    value: Space | None  # read at the keys; None for width heads
    ov: np.ndarray  # (value width, out width)
    ov_bias: np.ndarray  # (out width,): added at every key (affine value maps)
    bos_value: np.ndarray  # (out width,)
    bos_selected: bool  # width heads: BOS counts like a selected key

    @property
    def reads(self) -> list[Space]:
        spaces = [a.query for a in self.atoms] + [a.key for a in self.atoms] + [self.value]
        return list(dict.fromkeys(s for s in spaces if s is not None))


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


@dataclass
class Blocks:
    """Stage output: embedded spaces, heads and MLPs, and the output space."""

    tokens: list[Space]  # spaces set by the token embedding (tokens, constants)
    positions: list[Space]  # spaces set by the position embedding (indices)
    heads: list[Head]
    mlps: list[MLP]
    output: Space


# --- lowering ---------------------------------------------------------------------------------

Literal = tuple[Selector, bool]  # a selector (on one pair of leaves), negated or not


class Lowering:
    def __init__(self, vs: ValueSets, causal: bool):
        self.vs = vs
        self.causal = causal
        self.spaces: dict[tuple[int, str], Space] = {}
        self.token_spaces: list[Space] = []
        self.position_spaces: list[Space] = []
        self.heads: list[Head] = []
        self.mlps: list[MLP] = []

    # -- spaces ----------------------------------------------------------------------------

    def new_space(self, expr: RASPExpr | None, name: str, categorical: bool, per_position) -> Space:
        values = tuple(sorted(frozenset().union(*per_position), key=value_key))
        if not categorical and not all(is_number(v) or isinstance(v, bool) for v in values):
            raise RaspCompileError(f"'{name}' holds non-numbers", pos=getattr(expr, "pos", None))
        return Space(name, values, categorical, tuple(per_position), expr)

    def space(self, expr: SOp, categorical: bool | None = None) -> Space:
        """The residual space holding `expr`, computing it if needed.

        `categorical` asks for an encoding; None takes the natural one.
        """
        natural = self._natural_encoding(expr)
        want = True if isinstance(expr, (Tokens, Indices, Constant)) else natural
        want = want if categorical is None else categorical
        for key in [(expr.id, want)] + ([(expr.id, not want)] if categorical is None else []):
            if key in self.spaces:
                return self.spaces[key]
        per_position = self.vs.per_position[expr.id]
        if isinstance(expr, (Tokens, Constant, Indices)):
            space = self.new_space(expr, expr.name, True, per_position)
            embedded = self.position_spaces if isinstance(expr, Indices) else self.token_spaces
            embedded.append(space)
        elif isinstance(expr, Aggregate) and want == natural:
            space = self._aggregate(expr)
        else:
            space = self.new_space(expr, expr.name, want, per_position)
            tree = self.tree(expr)
            if isinstance(tree, Leaf):  # a numeric aggregate wanted as categorical
                tree = Apply(expr, lambda v: v, [tree])
            self.mlps.append(build_mlp(expr, tree, space))
        self.spaces[(expr.id, want)] = space
        return space

    def _natural_encoding(self, expr: SOp) -> bool:
        if isinstance(expr, Aggregate):
            return self._aggregate_is_categorical(expr)
        return not self.vs.is_numeric(expr)

    # -- trees -----------------------------------------------------------------------------

    def tree(self, expr: SOp) -> Tree:
        """`expr` as a function of residual spaces, fusing maps and width decoding."""
        if isinstance(expr, Constant):
            return Const(expr.value)
        for key in ((expr.id, True), (expr.id, False)):
            if key in self.spaces:  # computed already: reading it is cheaper than refusing
                return Leaf(self.spaces[key])
        if isinstance(expr, (Map, SequenceMap)):
            return self._within_budget(Apply(expr, expr.fn, [self.tree(c) for c in expr.children]))
        if isinstance(expr, (SelectorWidth, Length)):
            return self._width_tree(expr)
        return Leaf(self.space(expr))

    def _within_budget(self, node: Apply) -> Tree:
        """Stop fusing when the fused table would get too large: materialise big children."""
        while combinations(node.leaves()) > MAX_VALUES and any(isinstance(a, Apply) for a in node.args):
            biggest = max(
                (i for i, a in enumerate(node.args) if isinstance(a, Apply)),
                key=lambda i: len(node.args[i].leaves()),
            )
            node.args[biggest] = Leaf(self.space(node.args[biggest].expr))
        if combinations(node.leaves()) > MAX_VALUES:
            raise RaspCompileError(
                f"'{node.expr.name}' combines too many values to compile as one MLP",
                pos=node.expr.pos,
                hint="compile with a smaller vocabulary or max_len",
            )
        return node

    def single_leaf(self, expr: SOp, numeric_ok: bool) -> tuple[Space | None, Tree]:
        """A tree over at most one leaf, categorical unless numeric_ok (materialising if needed)."""
        tree = self.tree(expr)
        leaves = tree.leaves()
        if not leaves or (len(leaves) == 1 and (leaves[0].categorical or numeric_ok)):
            return (leaves[0] if leaves else None), tree
        space = self.space(expr, categorical=None if numeric_ok else True)
        return space, Leaf(space)

    # -- selectors -------------------------------------------------------------------------

    def atoms(self, literals: tuple[Literal, ...]) -> list[Atom]:
        """Score atoms for a conjunction of literals, merged per (query, key) pair of leaves."""
        groups: dict[tuple, np.ndarray] = {}
        for selector, negated in literals:
            pair = self._pair(_selects(selector)[0])
            table = self._table(selector, *pair)
            table = ~table if negated else table
            groups[pair] = groups[pair] & table if pair in groups else table
        return [Atom(q, k, t.astype(np.float64)) for (q, k), t in groups.items()]

    def _pair(self, select: Select) -> tuple[Space | None, Space | None]:
        return self.single_leaf(select.queries, False)[0], self.single_leaf(select.keys, False)[0]

    def _table(self, selector: Selector, q_space: Space | None, k_space: Space | None) -> np.ndarray:
        """selector[query value, key value] over the values of one (query, key) pair of leaves."""
        if isinstance(selector, SelectorAnd):
            return self._table(selector.left, q_space, k_space) & self._table(selector.right, q_space, k_space)
        if isinstance(selector, SelectorOr):
            return self._table(selector.left, q_space, k_space) | self._table(selector.right, q_space, k_space)
        if isinstance(selector, SelectorNot):
            return ~self._table(selector.inner, q_space, k_space)
        q_tree = self.single_leaf(selector.queries, False)[1]
        k_tree = self.single_leaf(selector.keys, False)[1]
        q_values = q_space.values if q_space else (None,)
        k_values = k_space.values if k_space else (None,)
        rows = [
            [_compare(selector.predicate, _at(k_tree, k_space, kv), _at(q_tree, q_space, qv)) for kv in k_values]
            for qv in q_values
        ]
        return np.array(rows, dtype=bool).reshape(len(q_values), len(k_values))

    def terms(self, selector: Selector) -> list[tuple[Literal, ...]]:
        """The selector in disjunctive normal form, without terms that never select.

        A selector whose selects all compare the same pair of leaves is one literal.
        """
        if len({self._pair(s) for s in _selects(selector)}) == 1:
            return [((selector, False),)]
        terms = [t for t in _dnf(selector) if self._term_states(t).max() > NEVER]
        return terms or [_dnf(selector)[0]]

    def _term_states(self, term: tuple[Literal, ...]) -> np.ndarray:
        n = self.vs.max_len
        states = np.full((n, n), ALWAYS, dtype=np.int8)
        for select, negated in term:
            s = self.vs.selections[select.id]
            states = np.minimum(states, ALWAYS - s if negated else s)
        if self.causal:
            states = np.where(np.tri(n, dtype=bool), states, NEVER).astype(np.int8)
        return states

    # -- attention s-ops -------------------------------------------------------------------

    def _aggregate_is_categorical(self, expr: Aggregate) -> bool:
        values = self.vs.values(expr.sop)
        numeric = bool(values) and all(is_number(v) for v in values)
        if not numeric:
            return True
        return self.vs.max_width(expr.selector) <= 1 or _has_injective_atom(expr.selector, self.vs)

    def _aggregate(self, expr: Aggregate) -> Space:
        terms = self.terms(expr.selector)
        if len(terms) > 1:
            raise RaspCompileError(
                f"aggregate '{expr.name}' uses a selector that is an 'or' of conditions on "
                "different s-ops, which one attention head cannot average over",
                pos=expr.pos,
                hint="combine the s-ops first (e.g. a key made with a zipmap) and select on that",
            )
        categorical = self._aggregate_is_categorical(expr)
        if categorical:
            value, tree = self.single_leaf(expr.sop, numeric_ok=False)
        else:
            value, tree = self.single_leaf(expr.sop, numeric_ok=True)
        per_position = self.vs.per_position[expr.id]
        out = self.new_space(expr, expr.name, categorical, per_position)
        default = aggregate_default(expr, not categorical)
        bos_value = out.encode(default) if (categorical or is_number(default)) else np.zeros(out.width)
        if value is None:  # aggregating a constant
            ov = np.zeros((0, out.width))
            bias = out.encode(tree.evaluate({}))
        elif value.categorical:
            ov = np.stack([out.encode(tree.evaluate({value: v})) for v in value.values])
            bias = np.zeros(out.width)
        else:
            slope, bias0 = _affine_1d(tree, value)
            if slope is None:
                value = self.space(expr.sop, categorical=False)
                slope, bias0 = 1.0, 0.0
            ov, bias = np.array([[slope]]), np.array([bias0])
        if not categorical and not all(is_number(v) for v in out.values):
            raise RaspCompileError(f"aggregate '{expr.name}' averages non-numbers", pos=expr.pos)
        atoms = self.atoms(terms[0])
        self.heads.append(Head(expr, atoms, out, value, ov, bias, bos_value, bos_selected=False))
        return out

    def _width_tree(self, expr: SelectorWidth | Length) -> Tree:
        """selector_width as a decoding map over width heads (inclusion-exclusion for 'or')."""
        if isinstance(expr, Length):
            terms: list[tuple[Literal, ...]] = [()]
        else:
            terms = self.terms(expr.selector)
        raws, signs = [], []
        for size in range(1, len(terms) + 1):
            for subset in itertools.combinations(terms, size):
                term = tuple(dict.fromkeys(lit for t in subset for lit in t))
                if size > 1 and self._never(term):
                    continue
                raws.append(self._width_head(expr, term, f"{expr.name}.raw{len(raws) or ''}"))
                signs.append(1 if size % 2 else -1)

        def decode(*weights: float) -> int:
            return sum(s * (round(1 / w) - 1) for s, w in zip(signs, weights))

        return Apply(expr, decode, [Leaf(r) for r in raws])

    def _never(self, term: tuple[Literal, ...]) -> bool:
        """Whether a conjunction provably selects nothing (e.g. `k < q and k == q`)."""
        if self._term_states(term).max() == NEVER:
            return True
        return any(not atom.table.any() for atom in self.atoms(term))

    def _width_head(self, expr: RASPExpr, term: tuple[Literal, ...], name: str) -> Space:
        key = ("width", tuple((sel.id, neg) for sel, neg in term))
        if key in self.spaces:
            return self.spaces[key]
        states = self._term_states(term)
        per_position = []
        for p in range(self.vs.max_len):
            widths = set()
            for length in range(p + 1, self.vs.max_len + 1):
                row = states[p, :length]
                always, maybe = int((row == ALWAYS).sum()), int((row == MAYBE).sum())
                widths.update(range(always, always + maybe + 1))
            per_position.append(frozenset(1 / (w + 1) for w in widths))
        out = self.new_space(None, name, False, per_position)
        atoms = self.atoms(term)
        empty = np.zeros((0, 1))
        self.heads.append(Head(expr, atoms, out, None, empty, np.zeros(1), np.ones(1), bos_selected=True))
        self.spaces[key] = out
        return out


def _at(tree: Tree, space: Space | None, value: Any) -> Any:
    return tree.evaluate({space: value} if space is not None else {})


def _compare(pred: Comparison, key: Any, query: Any) -> bool:
    if key is None or query is None:
        return False
    try:
        return pred(key, query)
    except TypeError:
        return pred is Comparison.NEQ


def _selects(selector: Selector) -> list[Select]:
    if isinstance(selector, Select):
        return [selector]
    return [s for child in selector.children for s in _selects(child)]


def _dnf(selector: Selector) -> list[tuple[Literal, ...]]:
    if isinstance(selector, Select):
        return [((selector, False),)]
    if isinstance(selector, SelectorAnd):
        return [a + b for a in _dnf(selector.left) for b in _dnf(selector.right)]
    if isinstance(selector, SelectorOr):
        return _dnf(selector.left) + _dnf(selector.right)
    if isinstance(selector, SelectorNot):
        out: list[tuple[Literal, ...]] = [()]
        for term in _dnf(selector.inner):
            out = [t + ((s, not neg),) for t in out for s, neg in term]
        return out
    raise RaspCompileError(f"cannot compile selector {type(selector).__name__}", pos=selector.pos)


def _has_injective_atom(selector: Selector, vs: ValueSets) -> bool:
    """An `==` select whose keys differ at every position selects at most one key."""
    if isinstance(selector, SelectorAnd):
        return _has_injective_atom(selector.left, vs) or _has_injective_atom(selector.right, vs)
    if isinstance(selector, Select) and selector.predicate is Comparison.EQ:
        sets = vs.per_position[selector.keys.id]
        return all(len(s) == 1 for s in sets) and len(set().union(*sets)) == len(sets)
    return False


def _affine_1d(tree: Tree, space: Space) -> tuple[float | None, float]:
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


def build_mlp(expr: RASPExpr, tree: Tree, out: Space) -> MLP:
    """An exact ReLU MLP computing `tree` into `out` on every reachable input: the narrowest of a few.

    By default every categorical leaf is a gate. With numeric leaves present, a
    small categorical leaf can instead enter the linear feature through its
    one-hot coordinates (`depth + indicator(tokens == ")")` needs no case per
    token then), which is tried too.
    """
    leaves = tree.leaves()
    best = _build_mlp(expr, tree, out, leaves, ())
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


# Categorical leaves up to this width may be read linearly instead of gated on.
DEMOTE_WIDTH = 16


def _build_mlp(expr: RASPExpr, tree: Tree, out: Space, leaves: list[Space], linear: tuple[Space, ...]) -> MLP:
    """Categorical leaves not in `linear` form the "case", matched by a gate that is
    0 on the case and <= -1 off it; the other leaves are read through linear
    columns. Per case the output is either affine in the columns (two units), or
    a staircase along one linear feature z of them: two units per step where the
    output changes.
    """
    categorical = [s for s in leaves if s.categorical and s not in linear]
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
        for i in range(1, len(zs)):
            step = encs[i] - encs[i - 1]
            if not np.any(step) or zs[i] - zs[i - 1] < 1e-12:
                continue
            slope = 1.0 / (zs[i] - zs[i - 1])
            mid = (zs[i] + zs[i - 1]) / 2
            big = slope * (z_max + abs(mid)) + 2
            for shift, sign in ((0.5, 1.0), (-0.5, -1.0)):
                w = _merge(_scaled(z_form, slope), {ONE: np.array([shift - slope * mid])})
                if gate_count:
                    w = _merge(w, _scaled(gate, big))
                neurons.add(w, sign * step)
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


def _gate(categorical: list[Space], case: tuple) -> dict[Space, np.ndarray]:
    """sum of the case's one-hot coordinates minus their count: 0 on the case, <= -1 off it."""
    gate: dict[Space, np.ndarray] = {}
    for space, value in zip(categorical, case):
        gate[space] = space.encode(value)
    if categorical:
        gate = _merge(gate, {ONE: np.array([-float(len(categorical))])})
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


def lower(output: SOp, vs: ValueSets, causal: bool = False) -> Blocks:
    """Lower the program computing `output` to heads and MLPs."""
    lowering = Lowering(vs, causal)
    out = lowering.space(output)
    return Blocks(lowering.token_spaces, lowering.position_spaces, lowering.heads, lowering.mlps, out)


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
