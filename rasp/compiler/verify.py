"""Checking a compiled model against the interpreter, exhaustively and by sampling."""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import RaspError
from ..ir.evaluate import evaluate_batch
from ..ir.graph import build_graph, topological_exprs
from ..ir.sops import Comparison, Indices, Length, Map, RASPExpr, Select, SelectorAnd, SOp


@dataclass
class VerifyReport:
    checked: int = 0
    skipped: int = 0  # inputs the interpreter itself rejects
    first_rejection: tuple[list[Any], RaspError] | None = None
    mismatches: list[tuple[list[Any], list[Any], list[Any]]] = field(default_factory=list)
    max_error: float = 0.0  # the largest |model - interpreter| over numeric outputs checked
    tolerance: float = 0.0  # the model's stated error bound, within which numbers count as equal

    @property
    def ok(self) -> bool:
        return not self.mismatches


def causal_reference(sop: SOp, new: dict[int, RASPExpr] | None = None) -> SOp:
    """The program a causally masked model computes: every select also needs key <= query,
    and `length` is the length of the prefix. `new`, when given, receives every node's
    rebuilt counterpart by the original's id."""
    new = {} if new is None else new
    for expr in topological_exprs(build_graph(sop)):
        if isinstance(expr, Length):
            new[expr.id] = Map(fn=lambda i: i + 1, inner=Indices(), description="prefix length")
            continue
        changes = {
            f.name: new[getattr(expr, f.name).id]
            for f in dataclasses.fields(expr)
            if f.init and isinstance(getattr(expr, f.name), RASPExpr)
        }
        if hasattr(expr, "inputs") and isinstance(expr.inputs, tuple):
            changes["inputs"] = tuple(new[i.id] for i in expr.inputs)
        rebuilt = dataclasses.replace(expr, **changes) if changes else expr
        if isinstance(expr, Select):
            past = Select(keys=Indices(), queries=Indices(), predicate=Comparison.LEQ)
            rebuilt = SelectorAnd(left=rebuilt, right=past)
        new[expr.id] = rebuilt
    return new[sop.id]  # type: ignore[return-value]


def same(expected: list[Any], got: list[Any], bound: float = 0.0) -> bool:
    """Equal outputs: strings exactly, numbers within 1e-6 relative or the model's error bound."""
    if len(expected) != len(got):
        return False
    for e, g in zip(expected, got):
        if isinstance(e, str) or isinstance(g, str):
            if e != g:
                return False
        elif abs(float(e) - float(g)) > max(1e-6 * max(1.0, abs(float(e))), bound):
            return False
    return True


def numeric_error(expected: list[Any], got: list[Any]) -> float:
    errors = [abs(float(e) - float(g)) for e, g in zip(expected, got) if not isinstance(e, str) and not isinstance(g, str)]
    return max(errors, default=0.0)


def exhaustive_inputs(vocab: list[Any], max_length: int) -> Iterable[list[Any]]:
    for n in range(1, max_length + 1):
        for combo in itertools.product(vocab, repeat=n):
            yield list(combo)


def random_inputs(vocab: list[Any], max_len: int, count: int, seed: int = 0, min_len: int = 1) -> list[list[Any]]:
    rng = random.Random(seed)
    return [[rng.choice(vocab) for _ in range(rng.randint(min_len, max_len))] for _ in range(count)]


def default_inputs(vocab: list[Any], max_len: int, budget: int = 20_000, samples: int = 2_000) -> list[list[Any]]:
    """All inputs up to the longest length that fits `budget`, then random longer ones."""
    exhaustive_len, total = 0, 0
    while exhaustive_len < max_len and total + len(vocab) ** (exhaustive_len + 1) <= budget:
        exhaustive_len += 1
        total += len(vocab) ** exhaustive_len
    inputs = list(exhaustive_inputs(vocab, exhaustive_len))
    if exhaustive_len < max_len:
        inputs += random_inputs(vocab, max_len, samples, min_len=exhaustive_len + 1)
    return inputs


def verify(
    model: Any,
    inputs: list[list[Any]],
    sop: SOp | None = None,
    chunk: int = 2_000,
    on_progress: Callable[[int], None] | None = None,
) -> VerifyReport:
    """Compare model.run_batch with the interpreter on every input. A causal model's output
    at each position must be the program's output on the prefix ending there."""
    sop = sop if sop is not None else (getattr(model, "reference", None) or model.program)
    bound = float(getattr(model, "error_bound", 0.0))
    report = VerifyReport(tolerance=bound)
    for start in range(0, len(inputs), chunk):
        batch = inputs[start : start + chunk]
        expected = _interpret_prefixes(sop, batch) if model.causal else _interpret(sop, batch)
        for raw, exp in zip(batch, expected):
            if isinstance(exp, RaspError) and report.first_rejection is None:
                report.first_rejection = (raw, exp)
        expected = [None if isinstance(exp, RaspError) else exp for exp in expected]
        kept = [(raw, exp) for raw, exp in zip(batch, expected) if exp is not None]
        report.skipped += len(batch) - len(kept)
        got = model.run_batch([raw for raw, _ in kept])
        for (raw, exp), out in zip(kept, got):
            report.checked += 1
            if len(exp) == len(out):
                report.max_error = max(report.max_error, numeric_error(exp, out))
            if not same(exp, out, bound):
                report.mismatches.append((raw, exp, out))
        if on_progress:
            on_progress(len(batch))
    return report


def _interpret(sop: SOp, inputs: list[list[Any]]) -> list[Any]:
    try:
        return evaluate_batch(sop, inputs)
    except RaspError:  # some inputs raise: find them one by one
        out = []
        for raw in inputs:
            try:
                out.append(evaluate_batch(sop, [raw])[0])
            except RaspError as err:
                out.append(err)
        return out


def _interpret_prefixes(sop: SOp, inputs: list[list[Any]]) -> list[Any]:
    """What a causal model must output: at position i, the program run on raw[:i+1], at i.
    An input is rejected (its first error) if the interpreter rejects any of its prefixes."""
    prefixes = [raw[: i + 1] for raw in inputs for i in range(len(raw))]
    values = iter(_interpret(sop, prefixes))
    out: list[Any] = []
    for raw in inputs:
        per_prefix = [next(values) for _ in raw]
        error = next((v for v in per_prefix if isinstance(v, RaspError)), None)
        out.append(error if error is not None else [v[i] for i, v in enumerate(per_prefix)])
    return out
