"""Interchange interventions in the interpreter: a program run on a base input with some
s-ops' values taken from their run on a source input.

This is the counterfactual of causal abstraction (Geiger et al.): a RASP program is a
causal model whose variables are its s-ops, and "what would the output be had `opp_index`
held its value on the source input?" is answered by evaluating the program on the base
with `opp_index` replaced, everything downstream recomputed from it.

Which positions take the source's values is given per pair as (base position, source
position) pairs: `[(2, 0)]` puts the source's value at position 0 into the base's position 2
and leaves every other position alone; None replaces every position by the same position of
the source (base and source then need the same length). Evaluation is vectorised like the
interpreter's: pairs whose bases have one length run as one batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import RaspError, RaspInputError
from .evaluate import (
    Input,
    evaluate_arrays,
    evaluate_batch,
    length_chunks,
    plan,
    tokenize,
    values_array,
)
from .kinds import RowsDiffer
from .sops import SOp

Positions = Sequence[tuple[int, int]] | None  # (base position, source position) pairs; None: all


def source_positions(base_len: int, source_len: int, positions: Positions) -> np.ndarray:
    """For each base position, the source position whose value it takes (-1: its own)."""
    if positions is None:
        if base_len != source_len:
            raise RaspInputError(
                f"an intervention at every position needs a base and a source of one length, not {base_len} and {source_len}",
                hint="give (base position, source position) pairs to intervene at some positions only",
            )
        return np.arange(base_len)
    taken = np.full(base_len, -1, dtype=np.int64)
    for p, q in positions:
        if not (0 <= p < base_len and 0 <= q < source_len):
            raise RaspInputError(f"position pair ({p}, {q}) is outside a base of length {base_len} "
                                 f"and a source of length {source_len}")
        taken[p] = q
    return taken


def intervene_batch(output: SOp, variables: SOp | Sequence[SOp], bases: Sequence[Input], sources: Sequence[Input],
                    positions: Sequence[Positions] | None = None, skip_errors: bool = False) -> list[list[Any] | None]:
    """`output` on each base, with every s-op in `variables` taking its values on the paired
    source (at `positions[i]` for pair i; None: every position). Where the intervened
    program fails (an aggregate that now averages several strings, say), a RaspError, or
    None for that pair with `skip_errors`."""
    variables = [variables] if isinstance(variables, SOp) else list(variables)
    if len(bases) != len(sources) or (positions is not None and len(positions) != len(bases)):
        raise RaspInputError("give one source (and one positions entry) per base input")
    order = plan(output)
    known = {e.id for e in order}
    for v in variables:
        if v.id not in known:
            raise RaspInputError(f"'{v.name}' is not computed on the way to '{output.name}', so it cannot be intervened on")
    base_tokens = [tokenize(b) for b in bases]
    source_values = {v.id: evaluate_batch(v, sources) for v in variables}
    taken = [source_positions(len(b), len(source_values[variables[0].id][i]),
                              None if positions is None else positions[i]) for i, b in enumerate(base_tokens)]
    results: list[list[Any] | None] = [None] * len(bases)
    for idx in length_chunks(base_tokens):
        try:
            outs = _run(order, output, variables, base_tokens, source_values, taken, idx)
        except (RaspError, RowsDiffer) as e:  # RowsDiffer: strings for some pairs, numbers for others
            if isinstance(e, RaspError) and not skip_errors:
                raise
            outs = [_run_one(order, output, variables, base_tokens, source_values, taken, i, skip_errors)
                    for i in idx]
        for i, out in zip(idx, outs):
            results[i] = out
    return results


def _run(order, output, variables, base_tokens, source_values, taken, idx) -> list[list[Any]]:
    def replacing(v: SOp):
        def replace(values: np.ndarray) -> np.ndarray:
            mixed = values.astype(object)
            for row, i in enumerate(idx):
                at = taken[i] >= 0
                mixed[row, at] = [source_values[v.id][i][q] for q in taken[i][at].tolist()]
            return values_array(mixed.ravel().tolist(), v, values.shape)

        return replace

    values = evaluate_arrays(order, [base_tokens[i] for i in idx], {v.id: replacing(v) for v in variables})
    return values[output.id].tolist()


def _run_one(order, output, variables, base_tokens, source_values, taken, i, skip_errors) -> list[Any] | None:
    try:
        return _run(order, output, variables, base_tokens, source_values, taken, [i])[0]
    except RaspError:
        if not skip_errors:
            raise
        return None


def find_sop(output: SOp, name: str) -> SOp:
    """The s-op called `name` among those computing `output` (labels first, then derived names)."""
    sops = [e for e in plan(output) if isinstance(e, SOp)]
    for matches in ([e for e in sops if e.label == name], [e for e in sops if e.name == name]):
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise RaspInputError(f"{len(matches)} s-ops on the way to '{output.name}' are called '{name}'",
                                 hint="give each a name of its own in the program")
    shown = ", ".join(sorted({e.name for e in sops if e.label}))
    raise RaspInputError(f"no s-op called '{name}' is computed on the way to '{output.name}'",
                         hint=f"named s-ops there: {shown}" if shown else None)
