"""Function trees: element-wise computation fused over residual spaces (the leaves)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..ir.sops import RASPExpr
from .layout import Space
from .valueset import call, value_key


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
    # Computed once: asked at every level of a fused chain, recomputing would be quadratic.
    # Whoever replaces an argument calls `forget_leaves` on the tree above it.
    _leaves: list[Space] | None = field(default=None, repr=False)

    def leaves(self) -> list[Space]:
        if self._leaves is None:
            self._leaves = list(dict.fromkeys(s for a in self.args for s in a.leaves()))
        return list(self._leaves)

    def forget_leaves(self) -> None:
        """After an argument somewhere below was replaced: recompute the leaves when asked."""
        for t in self.subtrees():
            if isinstance(t, Apply):
                t._leaves = None

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


def replace_leaf(tree: Tree, old: Space, new: Space, done: dict[int, Tree] | None = None) -> Tree:
    """A copy of `tree` reading `new` wherever it read `old` (which must hold the same values);
    a subtree shared in `tree` stays shared in the copy."""
    done = {} if done is None else done
    if id(tree) in done:
        return done[id(tree)]
    if isinstance(tree, Leaf):
        out: Tree = Leaf(new) if tree.space is old else tree
    elif isinstance(tree, Apply):
        out = Apply(tree.expr, tree.fn, [replace_leaf(a, old, new, done) for a in tree.args])
    else:
        out = tree
    done[id(tree)] = out
    return out


def combinations(leaves: list[Space]) -> int:
    """An upper bound on the number of `reachable` combinations (cheap to compute)."""
    if not leaves:
        return 1
    per_position = {tuple(s.per_position[p] for s in leaves) for p in range(_positions(leaves))}
    by_position = sum(int(np.prod([len(x) for x in sets])) for sets in per_position)
    # every combination is also one of the product of the leaves' value sets
    return min(by_position, int(np.prod([float(len(s.values)) for s in leaves])))


def reachable(leaves: list[Space]) -> list[tuple]:
    """Every combination of leaf values that can meet at one position."""
    combos: set[tuple] = set()
    for p in range(_positions(leaves)):
        combos.update(itertools.product(*(s.per_position[p] for s in leaves)))
    return sorted(combos, key=lambda c: [value_key(v) for v in c]) if leaves else [()]


def _positions(leaves: list[Space]) -> int:
    return max((len(s.per_position) for s in leaves), default=0)


