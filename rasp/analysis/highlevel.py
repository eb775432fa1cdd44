"""The program side of the analysis: a RASP program as a high-level causal model.

Its variables are the program's s-ops (constants left out), named as the user named them
(or by their expression). A model with a causal mask computes the program's causal reading
(every select also needs key <= query, `length` is the prefix's length: `causal_reference`),
so under `causal` the variables are that program's nodes, still under the user's names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import RaspInputError
from ..ir.evaluate import Input, evaluate_arrays, plan, tokenize
from ..ir.intervene import Positions, intervene_batch
from ..ir.kinds import RowsDiffer
from ..ir.sops import Constant, Indices, Length, SOp, Tokens


@dataclass
class Variable:
    name: str
    node: SOp  # in the program the model computes (the causal reading under a mask)
    named: bool = True  # named by the user, or tokens, indices, length (not an inner expression)


@dataclass
class HighLevel:
    output: SOp
    variables: list[Variable]

    def chosen(self, names: Sequence[str] | None = None, every: bool = False) -> list[Variable]:
        """The variables called `names`; by default the named ones (all with `every`)."""
        if names:
            return [self.variable(n) for n in names]
        return [v for v in self.variables if every or v.named]

    def variable(self, name: str) -> Variable:
        for v in self.variables:
            if v.name == name:
                return v
        raise RaspInputError(f"the program has no s-op called '{name}'",
                             hint="s-ops: " + ", ".join(v.name for v in self.variables))

    def descendants(self, name: str) -> list[str]:
        """The variables computed from `name` (directly or not)."""
        node = self.variable(name).node
        return [v.name for v in self.variables if v.node is not node and any(e is node for e in plan(v.node))]

    def values(self, inputs: Sequence[Input]) -> dict[str, list[list[Any]]]:
        """Every variable's value on every input (and the output's, under its name)."""
        order = plan(self.output)
        out: dict[str, list[list[Any]]] = {v.name: [None] * len(inputs) for v in self.variables}  # type: ignore[list-item]
        tokens = [tokenize(x) for x in inputs]
        by_length: dict[int, list[int]] = {}
        for i, t in enumerate(tokens):
            by_length.setdefault(len(t), []).append(i)
        for members in by_length.values():
            try:
                groups = [(members, evaluate_arrays(order, [tokens[i] for i in members]))]
            except RowsDiffer:  # strings for some inputs, numbers for others: one at a time
                groups = [([i], evaluate_arrays(order, [tokens[i]])) for i in members]
            for rows, arrays in groups:
                for v in self.variables:
                    for i, row in zip(rows, arrays[v.node.id].tolist()):
                        out[v.name][i] = row
        return out

    def counterfactuals(self, name: str, bases: Sequence[Input], sources: Sequence[Input],
                        positions: Sequence[Positions] | None = None) -> list[list[Any] | None]:
        """The output on each base with `name` from its source (None where that fails)."""
        return intervene_batch(self.output, self.variable(name).node, bases, sources, positions, skip_errors=True)


def high_level(sop: SOp, causal: bool = False) -> HighLevel:
    """The variables of `sop`'s program, read causally under `causal`."""
    from ..compiler.verify import causal_reference

    nodes = [e for e in plan(sop) if isinstance(e, SOp) and not isinstance(e, Constant)]
    rebuilt: dict[int, Any] = {}
    output = causal_reference(sop, rebuilt) if causal else sop
    taken: dict[str, int] = {}
    variables = []
    for e in nodes:
        name = e.name
        taken[name] = taken.get(name, 0) + 1
        if taken[name] > 1:  # two s-ops of one name (a function called twice): number the later ones
            name = f"{name}#{taken[name]}"
        named = bool(e.label) or isinstance(e, (Tokens, Indices, Length))
        variables.append(Variable(name, rebuilt[e.id] if causal else e, named))
    return HighLevel(output, variables)
