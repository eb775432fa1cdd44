"""MLPs over continuous numbers (intervals), with a stated error bound.

A function tree with continuous leaves is compiled per case of its categorical
leaves (gates: 0 on the case, <= -1 off it), as a function of its continuous leaves:

* affine in them (`mean * length` for a given length; `0.5 * a - b`): two units per
  case, exact;
* otherwise, of exactly one of them (`s / sqrt(s * s + 15)`): piecewise-linear pieces
  fitted to the function on the leaf's interval within `tolerance` (`pieces.py`).

The error bound of the output is the largest fitting error seen plus the largest
slope times the input's own bound, so errors carried from earlier approximations are
counted where they are amplified.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import RaspCompileError
from ..ir.sops import RASPExpr
from .layout import ONE, Space
from .mlps import MLP, _gate, _merge, _Neurons, _scaled, add_pieces
from .pieces import fitted_knots
from .trees import Tree, reachable
from .valueset import is_number

# Default largest error of a fitted function (absolute, times max(1, |output|)).
TOLERANCE = 1e-6
# Exact inputs with more values than this are read as numbers on their interval, not gated on.
GATE_MAX = 1_024
# Random points per case on which a function of continuous leaves is tested for being affine.
AFFINE_PROBES = 24


@dataclass
class Approximation:
    mlp: MLP
    error: float  # a bound on |output - exact| over the leaves' intervals
    lo: float  # the output's range
    hi: float
    # thresholds where the function jumps, as (input name, value): the bound holds at them and
    # from pieces.JUMP_MARGIN away (a sign test with a margin)
    jumps: list[tuple[str, float]] = field(default_factory=list)


def continuous_mlp(expr: RASPExpr, tree: Tree, out: Space, tolerance: float = TOLERANCE,
                   affine_only: bool = False) -> Approximation | None:
    """The MLP, its error bound and range; with `affine_only`, None unless every case is affine."""
    leaves = tree.leaves()
    numbers = [s for s in leaves if is_continuous(s)]
    gates = [s for s in leaves if not is_continuous(s)]
    if any(not s.categorical for s in gates):
        raise RaspCompileError(f"'{expr.name}' mixes continuous numbers with exact ones it cannot gate on", pos=expr.pos)
    rng = np.random.default_rng(0)
    neurons = _Neurons(out)
    error, lo, hi = 0.0, np.inf, -np.inf
    jumps: list[tuple[str, float]] = []
    for case in reachable(gates):
        env = dict(zip(gates, case))

        def f(*xs: float, env: dict = env) -> float:
            y = tree.evaluate({**env, **dict(zip(numbers, xs))})
            if not (is_number(y) or isinstance(y, bool)):
                raise RaspCompileError(
                    f"'{expr.name}' cannot be computed at {', '.join(f'{s.name} = {x:.6g}' for s, x in zip(numbers, xs))}, "
                    "inside the interval that input can take", pos=expr.pos,
                    hint="keep the function defined over the whole range (e.g. add a small constant under a sqrt)")
            return float(y)

        gate = _gate(gates, case)
        indicator = _merge({ONE: np.ones(1)}, gate)
        fit = _affine(f, numbers, rng)
        if fit is not None:
            slope, bias = fit
            form = _merge({ONE: np.array([bias])}, *({s: np.array([a])} for s, a in zip(numbers, slope)))
            bound = abs(bias) + sum(abs(a) * _largest(s) for s, a in zip(numbers, slope)) + 1
            for sign in (1.0, -1.0):
                neurons.add(_merge(_scaled(form, sign), _scaled(gate, bound) if gates else {}), np.array([sign]))
            corners = [bias + sum(a * x for a, x in zip(slope, c)) for c in _corners(numbers)]
            error = max(error, sum(abs(a) * s.error for s, a in zip(numbers, slope)))
            lo, hi = min(lo, *corners), max(hi, *corners)
            continue
        if affine_only:
            return None
        if len(numbers) != 1:
            names = ", ".join(s.name for s in numbers)
            raise RaspCompileError(
                f"'{expr.name}' is a non-linear function of several continuous numbers ({names}), "
                "which the compiler approximates only one at a time", pos=expr.pos,
                hint="compute a single number first (e.g. a sum), then apply the non-linear map to it")
        (x,) = numbers
        x_lo, x_hi = _ends(x)
        scale = max(1.0, abs(f(x_lo)), abs(f(x_hi)), abs(f((x_lo + x_hi) / 2)))
        knots = fitted_knots(f, x_lo, x_hi, tolerance * scale)
        neurons.add(indicator, np.array([knots.y0]))
        add_pieces(neurons, {x: np.ones(1)}, knots, x_lo, x_hi, gate if gates else None)
        values = knots(np.linspace(x_lo, x_hi, 257))
        jumps += [(x.name, c) for c in knots.jumps if (x.name, c) not in jumps]
        error = max(error, knots.error + float(np.abs(knots.slopes).max(initial=0.0)) * x.error)
        lo, hi = min(lo, float(values.min())), max(hi, float(values.max()))
    if not np.isfinite(lo):
        raise RaspCompileError(f"'{expr.name}' has no computable value", pos=expr.pos)
    return Approximation(neurons.build(expr), error, lo, hi, jumps)


def is_continuous(space: Space) -> bool:
    """Read as a number on an interval: a continuous number, or an exact number with more
    values than can be gated on one by one (a running valence: tens of thousands)."""
    return space.continuous or (not space.categorical and len(space.values) > GATE_MAX)


def _ends(space: Space) -> tuple[float, float]:
    return float(min(space.values)), float(max(space.values))


def _largest(space: Space) -> float:
    return max(abs(float(v)) for v in space.values)


def _corners(numbers: list[Space]) -> list[tuple[float, ...]]:
    out: list[tuple[float, ...]] = [()]
    for s in numbers:
        out = [c + (v,) for c in out for v in _ends(s)]
    return out


def _affine(f, numbers: list[Space], rng: np.random.Generator) -> tuple[np.ndarray, float] | None:
    """(slope, bias) when f is affine in the continuous leaves on random probes and the
    interval's corners (within 1e-12 relative), else None."""
    ends = np.array([_ends(s) for s in numbers])
    points = np.vstack([np.array(_corners(numbers)), ends[:, 0] + rng.random((AFFINE_PROBES, len(numbers))) * (ends[:, 1] - ends[:, 0])])
    ys = np.array([f(*p) for p in points])
    design = np.hstack([points, np.ones((len(points), 1))])
    coef, *_ = np.linalg.lstsq(design, ys, rcond=None)
    if np.abs(design @ coef - ys).max() > 1e-12 * (1 + np.abs(ys).max()):
        return None
    return coef[:-1], float(coef[-1])
