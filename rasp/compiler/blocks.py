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
from .continuous import GATE_MAX, TOLERANCE, continuous_mlp, is_continuous
from .intervals import not_enumerable
from .layout import Space
from .mlps import MLP, Parts, affine_1d, build_mlp, is_affine, separable_parts
from .trees import Apply, Const, Leaf, Tree, combinations, replace_leaf
from .valueset import (
    ALWAYS,
    MAX_VALUES,
    NEVER,
    ValueSets,
    aggregate_default,
    is_number,
    selects_at_most_one,
    value_key,
    width_sets,
)

# --- blocks -----------------------------------------------------------------------------------


@dataclass
class Atom:
    """One bilinear term of an attention score: table[query value, key value] in {0, 1}.

    A side that is None is constant; it reads the `one` space.
    """

    query: Space | None
    key: Space | None
    table: np.ndarray
    # how many satisfied atoms a full score counts as (0 for the parts of a numeric equality)
    count: int = 1


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



@dataclass
class Blocks:
    """Stage output: embedded spaces, heads and MLPs, and the output space."""

    tokens: list[Space]  # spaces set by the token embedding (tokens, constants, token features)
    positions: list[Space]  # spaces set by the position embedding (indices)
    heads: list[Head]
    mlps: list[MLP]
    output: Space
    # token features: spaces of element-wise maps of the tokens alone, by the map they hold,
    # written by the embedding (one row per vocabulary token holds its features)
    features: dict[Space, RASPExpr] = field(default_factory=dict)
    jumps: list[dict[str, Any]] = field(default_factory=list)  # thresholds of fitted maps


# --- lowering ---------------------------------------------------------------------------------

# Fused element-wise tables beyond this many input combinations are split where that shrinks them.
FUSE_BUDGET = 16_384

# A lookup (an aggregate selecting at most one key) of numbers with more values than this is
# read as one number, not one-hot (a running valence: thousands of values).
LOOKUP_ONE_HOT = 64

# Below this estimated table width, selects compare one-hot codes (no extra layer).
NUMERIC_SELECT_MIN = 2_048
# ... and only where they would be this many times wider than the numeric form (which may cost a layer).
NUMERIC_SELECT_FACTOR = 4

Literal = tuple[Selector, bool]  # a selector (on one pair of leaves), negated or not


class Lowering:
    def __init__(self, vs: ValueSets, causal: bool, tolerance: float = TOLERANCE):
        self.vs = vs
        self.causal = causal
        self.tolerance = tolerance
        self.features: dict[Space, RASPExpr] = {}
        self.jumps: list[dict[str, Any]] = []  # thresholds of fitted maps (see continuous.py)
        self.spaces: dict[tuple[int, str], Space] = {}
        self.token_spaces: list[Space] = []
        self.position_spaces: list[Space] = []
        self.heads: list[Head] = []
        self.mlps: list[MLP] = []
        self.numeric_choice: dict[int, bool] = {}
        self.separable: dict[tuple, Parts | None] = {}  # by `_tree_key`

    # -- spaces ----------------------------------------------------------------------------

    def new_space(self, expr: RASPExpr | None, name: str, categorical: bool, per_position) -> Space:
        values = tuple(sorted(frozenset().union(*per_position), key=value_key))
        if not categorical and not all(is_number(v) or isinstance(v, bool) for v in values):
            raise RaspCompileError(f"'{name}' holds non-numbers", pos=getattr(expr, "pos", None))
        continuous = expr is not None and self.vs.is_continuous(expr)
        if continuous and categorical:
            raise not_enumerable(expr, "read as a category (one dimension per value)")
        return Space(name, values, categorical, tuple(per_position), expr, continuous=continuous)

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
            space = self.new_space(expr, expr.name, want, per_position)
            embedded = self.position_spaces if isinstance(expr, Indices) else self.token_spaces
            embedded.append(space)
        elif isinstance(expr, Aggregate) and want == natural:
            space = self._aggregate(expr)
        elif self._is_token_feature(expr):
            space = self.new_space(expr, expr.name, want, per_position)
            self.token_spaces.append(space)
            self.features[space] = expr
        elif self.vs.is_continuous(expr):
            space = self.new_space(expr, expr.name, want, per_position)
            self._continuous(expr, space)
        else:
            space = self.new_space(expr, expr.name, want, per_position)
            tree = self.tree(expr)
            if want and not natural and combinations(tree.leaves()) > FUSE_BUDGET:
                tree = Leaf(self.space(expr, categorical=False))  # one-hot from the number, a layer later
            if isinstance(tree, Leaf):  # a numeric s-op wanted as categorical
                tree = Apply(expr, lambda v: v, [tree])
            if not want:
                tree = self._numeric_positions(tree)
            self.mlps.append(build_mlp(expr, tree, space, self.separable_parts))
        self.spaces[(expr.id, want)] = space
        return space

    def _is_token_feature(self, expr: SOp) -> bool:
        """An element-wise map of the tokens alone (a lexicon lookup): the embedding computes it."""
        if not isinstance(expr, (Map, SequenceMap)):
            return False
        # only maps of the tokens themselves: a map of a feature (`indicator(tokens == "(")`)
        # reads that feature, so an intervention on the feature's dimensions reaches it
        children = expr.children
        return any(isinstance(c, Tokens) for c in children) and all(isinstance(c, (Tokens, Constant)) for c in children)

    def _continuous(self, expr: SOp, space: Space) -> None:
        """The MLP of a map over continuous numbers. Its exact inputs become gates (one-hot);
        where the map is not affine per gate case, the smallest sub-expressions mixing gates
        and continuous numbers (`mean * length`) get their own MLP first, so the non-linear
        rest (`s / sqrt(s * s + 15)`) is fitted on one number rather than once per case."""
        for child in expr.children:  # a large exact number is read as one, not fused in
            if isinstance(child, (Map, SequenceMap)) and not self.vs.is_continuous(child) \
                    and self.vs.is_numeric(child) and len(self.vs.values(child)) > GATE_MAX:
                self.space(child)
        for _ in range(16):
            tree = self._gated(self.tree(expr))
            mixed = _mixed_subtrees(tree)
            gated = any(not is_continuous(s) for s in tree.leaves())
            approx = continuous_mlp(expr, tree, space, self.tolerance, affine_only=gated and bool(mixed))
            if approx is not None:
                break
            for sub in mixed:
                self.space(sub.expr)
        else:
            raise RaspCompileError(f"'{expr.name}' cannot be split into MLPs over continuous numbers", pos=expr.pos)
        space.error = approx.error
        self.jumps += [{"sop": expr.name, "input": name, "at": at} for name, at in approx.jumps]
        self.mlps.append(approx.mlp)

    def _gated(self, tree: Tree) -> Tree:
        """`tree` with every part that holds no continuous number read one-hot (a gate)."""
        if isinstance(tree, Leaf) and is_continuous(tree.space):
            return tree
        if any(is_continuous(s) for s in tree.leaves()):
            if isinstance(tree, Apply):
                return Apply(tree.expr, tree.fn, [self._gated(a) for a in tree.args])
            return tree
        if isinstance(tree, Const) or (isinstance(tree, Leaf) and tree.space.categorical):
            return tree
        expr = tree.expr if isinstance(tree, Apply) else tree.space.expr
        if expr is None or len(self.vs.values(expr)) > GATE_MAX:
            raise RaspCompileError(
                f"'{getattr(expr, 'name', tree)}' has too many values to gate a function of continuous numbers on",
                pos=getattr(expr, "pos", None))
        return Leaf(self.space(expr, categorical=True))

    def _natural_encoding(self, expr: SOp) -> bool:
        if self.vs.is_continuous(expr):
            return False
        if isinstance(expr, Aggregate):
            return self._aggregate_is_categorical(expr)
        return not self.vs.is_numeric(expr)

    # -- trees -----------------------------------------------------------------------------

    def tree(self, expr: SOp, shared: dict[int, Tree] | None = None) -> Tree:
        """`expr` as a function of residual spaces, fusing maps and width decoding. An
        s-op read several times in one tree is one subtree (`shared`, by s-op id), so that
        evaluating the tree computes it once: `v + b if v > 0 else v - b` nested three
        deep would otherwise hold 64 copies of the innermost step."""
        shared = {} if shared is None else shared
        if expr.id not in shared:
            shared[expr.id] = self._tree(expr, shared)
        return shared[expr.id]

    def _tree(self, expr: SOp, shared: dict[int, Tree]) -> Tree:
        if isinstance(expr, Constant):
            return Const(expr.value)
        for key in ((expr.id, True), (expr.id, False)):
            if key in self.spaces:  # computed already: reading it is cheaper than refusing
                return Leaf(self.spaces[key])
        if self._is_token_feature(expr):  # a lexicon lookup: the embedding computes it
            return Leaf(self.space(expr))
        if isinstance(expr, (Map, SequenceMap)):
            return self._within_budget(Apply(expr, expr.fn, [self.tree(c, shared) for c in expr.children]))
        if isinstance(expr, (SelectorWidth, Length)):
            return self._width_tree(expr)
        return Leaf(self.space(expr))

    def _within_budget(self, node: Apply) -> Tree:
        """Stop fusing when the fused table would get large: materialise the sub-expressions
        that shrink it most (`tokens in [...]` over 300 words is 2 values, not 300), at the
        cost of one more MLP layer; past MAX_VALUES, materialise whatever it takes.
        A numeric sum of one-leaf functions (`length - indices - 1`) is never split: its
        MLP grows with the number of values of each leaf, not of their combinations."""
        if combinations(node.leaves()) > FUSE_BUDGET and self._separable(node):
            return node
        while combinations(node.leaves()) > FUSE_BUDGET:
            before = combinations(node.leaves())
            best: tuple[float, Apply, int] | None = None
            parents = {id(t): t for t in [node, *node.subtrees()] if isinstance(t, Apply)}
            for parent in parents.values():
                for i, child in enumerate(parent.args):
                    if isinstance(child, Apply):
                        after = self._combinations_reading(node, parent, i)
                        if after * 2 < before and (best is None or after < best[0]):
                            best = (after, parent, i)
            if best is None:
                break
            _, parent, i = best
            parent.args[i] = Leaf(self.space(parent.args[i].expr))
            node.forget_leaves()
        while combinations(node.leaves()) > MAX_VALUES and any(isinstance(a, Apply) for a in node.args):
            biggest = max(
                (i for i, a in enumerate(node.args) if isinstance(a, Apply)),
                key=lambda i: len(node.args[i].leaves()),
            )
            node.args[biggest] = Leaf(self.space(node.args[biggest].expr))
            node.forget_leaves()
        if combinations(node.leaves()) > MAX_VALUES:
            raise RaspCompileError(
                f"'{node.expr.name}' combines too many values to compile as one MLP",
                pos=node.expr.pos,
                hint="compile with a smaller vocabulary or max_len",
            )
        return node

    def _combinations_reading(self, node: Apply, parent: Apply, i: int) -> int:
        """`node`'s input combinations were `parent.args[i]` read from the residual: leaves
        shared with the rest of the tree (`v` in `v + b if v > 0 else v`) count once, so this
        is the true cost of materialising that sub-expression."""
        child = parent.args[i]
        stand_in = Space(child.expr.name, (), True, self.vs.per_position[child.expr.id])
        parent.args[i] = Leaf(stand_in)
        node.forget_leaves()  # the cached leaves above the stand-in are stale, now and after
        try:
            return combinations(node.leaves())
        finally:
            parent.args[i] = child
            node.forget_leaves()

    def _numeric_positions(self, tree: Tree) -> Tree:
        """Read positions as one number rather than max_len one-hot dimensions where the tree
        is a sum of one-leaf functions that is affine in the position (`length - indices - 1`):
        no hidden unit either way, and the one-hot code may then be left out of the residual."""
        one_hot = [s for s in tree.leaves() if s.categorical and isinstance(s.expr, Indices)]
        if not one_hot or not isinstance(tree, Apply):
            return tree
        found = self.separable_parts(tree)
        if found is None or not is_affine(found[1][tree.leaves().index(one_hot[0])]):
            return tree
        number = self.space(one_hot[0].expr, categorical=False)
        candidate = replace_leaf(tree, one_hot[0], number)
        self.separable[_tree_key(candidate)] = found  # the same function of the same values
        return candidate

    def _separable(self, node: Apply) -> bool:
        return self.vs.is_numeric(node.expr) and self.separable_parts(node) is not None

    def separable_parts(self, tree: Tree) -> Parts | None:
        """`mlps.separable_parts`, once per s-op and leaves: lowering rebuilds an s-op's tree
        each time it asks, and the check evaluates it on every reachable input."""
        if not isinstance(tree, Apply):
            return None
        key = _tree_key(tree)
        if key not in self.separable:
            self.separable[key] = separable_parts(tree, tree.leaves())
        return self.separable[key]

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
        numeric: list[Atom] = []
        for selector, negated in literals:
            if isinstance(selector, Select) and not negated and self._numeric_equality(selector):
                numeric += self._numeric_atoms(selector)
                continue
            pair = self._categorical_pair(_selects(selector)[0])
            table = self._table(selector, *pair)
            table = ~table if negated else table
            groups[pair] = groups[pair] & table if pair in groups else table
        return [Atom(q, k, t.astype(np.float64)) for (q, k), t in groups.items()] + numeric

    def _pair(self, select: Select) -> tuple[Space | None, Space | None]:
        if self._numeric_equality(select):
            return self.space(select.queries, categorical=False), self.space(select.keys, categorical=False)
        return self._categorical_pair(select)

    def _categorical_pair(self, select: Select) -> tuple[Space | None, Space | None]:
        return self.single_leaf(select.queries, False)[0], self.single_leaf(select.keys, False)[0]

    # -- numeric equality: select(k, q, ==) scored -(k - q)^2, with no table over values -------

    def _numeric_equality(self, select: Select) -> bool:
        """Whether to compare numbers directly rather than one-hot codes.

        One-hot codes cost a table over the query's input combinations (for
        `length - indices - 1`, every (length, index) pair) and a dimension per
        value; the numeric form costs the squares of both sides, an MLP layer
        more at worst. It is chosen where the tables would be much wider.
        """
        if select.id in self.numeric_choice:
            return self.numeric_choice[select.id]
        choice = False
        if select.predicate is Comparison.EQ:
            q_values, k_values = self.vs.values(select.queries), self.vs.values(select.keys)
            if q_values and k_values and all(is_number(v) for v in q_values + k_values):
                table_cost = self._table_cost(select.queries)
                if select.keys is not select.queries:
                    table_cost += self._table_cost(select.keys)
                numeric_cost = 4 * (len(q_values) + len(k_values))
                choice = table_cost > max(NUMERIC_SELECT_MIN, NUMERIC_SELECT_FACTOR * numeric_cost)
        self.numeric_choice[select.id] = choice
        return choice

    def _table_cost(self, expr: SOp) -> int:
        """Roughly, the width that reading `expr` one-hot in attention costs."""
        width = len(self.vs.values(expr))
        if isinstance(expr, (Tokens, Indices, Constant)) or any(k in self.spaces for k in ((expr.id, True), (expr.id, False))):
            return width
        leaves = self.tree(expr).leaves()
        if len(leaves) == 1 and leaves[0].categorical:
            return width
        return width + combinations(leaves)

    def _numeric_atoms(self, select: Select) -> list[Atom]:
        """Score SCALE * (1 - (k - q)^2 / gap^2): a full SCALE where k == q, at most 0
        elsewhere, since distinct values are at least `gap` apart."""
        q, k = self._pair(select)
        values = sorted({float(v) for v in self.vs.values(select.queries) + self.vs.values(select.keys)})
        gap = min(np.diff(values), default=1.0)
        lam = 1.0 / gap**2
        return [
            Atom(q, k, np.array([[2 * lam]]), count=0),
            Atom(self._square(select.queries, q), None, np.array([[-lam]]), count=0),
            Atom(None, self._square(select.keys, k), np.array([[-lam]]), count=0),
            Atom(None, None, np.array([[1.0]])),
        ]

    def _square(self, expr: SOp, base: Space) -> Space:
        """A numeric space holding expr^2: embedded for indices, else an MLP from expr's
        inputs when that is narrow, or from `base` (one layer later)."""
        key = (expr.id, "square")
        if key in self.spaces:
            return self.spaces[key]
        per_position = tuple(frozenset(v * v for v in s) for s in self.vs.per_position[expr.id])
        # a scratch space like the width heads': it holds no s-op of the program (so traces
        # do not check it against the interpreter's value of expr)
        out = self.new_space(None, f"{expr.name}^2", False, per_position)
        if isinstance(expr, Indices):
            self.position_spaces.append(out)
        else:
            tree = self.tree(expr)
            if combinations(tree.leaves()) > 8 * len(base.values):
                tree = Leaf(base)
            self.mlps.append(build_mlp(expr, Apply(expr, _square, [tree]), out))
        self.spaces[key] = out
        return out

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
        if self.vs.is_continuous(expr.sop):
            return False
        values = self.vs.values(expr.sop)
        numeric = bool(values) and all(is_number(v) for v in values)
        if not numeric:
            return True
        lookup = self.vs.max_width(expr.selector) <= 1 or selects_at_most_one(expr.selector, self.vs.per_position)
        return lookup and len(values) <= LOOKUP_ONE_HOT

    def _aggregate(self, expr: Aggregate) -> Space:
        terms = self.terms(expr.selector)
        if len(terms) > 1:
            raise RaspCompileError(
                f"aggregate '{expr.name}' uses a selector that is an 'or' of conditions on "
                "different s-ops, which one attention head cannot average over",
                pos=expr.pos,
                hint="combine the s-ops into one key first (an element-wise operation such as a + 10 * b) and select on that",
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
            slope, bias0 = (1.0, 0.0) if isinstance(tree, Leaf) else (None, 0.0)
            if not value.continuous and slope is None:
                slope, bias0 = affine_1d(tree, value)
            if slope is None:
                value = self.space(expr.sop, categorical=False)
                slope, bias0 = 1.0, 0.0
            ov, bias = np.array([[slope]]), np.array([bias0])
            out.error = abs(slope) * value.error
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
        per_position = [frozenset(1 / (w + 1) for w in widths) for widths in width_sets(self._term_states(term))]
        out = self.new_space(None, name, False, per_position)
        atoms = self.atoms(term)
        empty = np.zeros((0, 1))
        self.heads.append(Head(expr, atoms, out, None, empty, np.zeros(1), np.ones(1), bos_selected=True))
        self.spaces[key] = out
        return out


def _tree_key(tree: Apply) -> tuple:
    """An s-op's tree over given leaves: trees lowering builds for one s-op and the same
    leaves compute the same function (a square's tree, built apart, is never keyed)."""
    return tree.expr.id, tuple(map(id, tree.leaves()))


def _square(x: Any) -> Any:
    return x * x


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


def _mixed_subtrees(tree: Tree) -> list[Apply]:
    """The smallest proper sub-expressions of `tree` that combine continuous and exact leaves."""
    def mixed(t: Tree) -> bool:
        kinds = {is_continuous(s) for s in t.leaves()}
        return isinstance(t, Apply) and kinds == {True, False}

    out: dict[int, Apply] = {}
    stack = list(tree.args) if isinstance(tree, Apply) else []
    while stack:
        t = stack.pop()
        if mixed(t):
            inner = [a for a in t.args if mixed(a)]
            if inner:
                stack.extend(inner)
            else:
                out.setdefault(t.expr.id, t)
        elif isinstance(t, Apply):
            stack.extend(t.args)
    return list(out.values())


def lower(output: SOp, vs: ValueSets, causal: bool = False, tolerance: float = TOLERANCE) -> Blocks:
    """Lower the program computing `output` to heads and MLPs."""
    lowering = Lowering(vs, causal, tolerance)
    out = lowering.space(output)
    read = {s for b in [*lowering.heads, *lowering.mlps] for s in b.reads} | {out}
    # an embedded code nothing reads (the one-hot indices once read as a number, the raw
    # tokens once every reader takes token features) takes no dimensions
    positions = [s for s in lowering.position_spaces if s in read]
    tokens = [s for s in lowering.token_spaces if s in read]
    features = {s: e for s, e in lowering.features.items() if s in read}
    return Blocks(tokens, positions, lowering.heads, lowering.mlps, out, features, lowering.jumps)


