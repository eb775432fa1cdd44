"""Piecewise-linear functions of one number, as ReLU units.

f(x) = y_0 + sum_i (s_i - s_{i-1}) relu(x - x_i) over knots x_0 < x_1 < ... with
slopes s_i between them: one unit per knot. Two ways to get the knots:

* `exact_knots`: through finitely many points, exactly: a knot only where the points
  leave the current line, so `v + b * sign(v)` over thousands of values is a handful
  of knots (one ramp across the gap around 0, which no value falls in);
* `fitted_knots`: for a function on an interval (a continuous number), adaptively
  halving pieces until linear interpolation is within a tolerance of the function
  everywhere it is sampled (12 more points per piece, after fitting); the largest error
  seen is the stated bound. Sampled, not proved: exact for piecewise-linear
  functions, and for smooth ones the error between samples is far below it. A jump
  (`x + p if x > 0 else x - p`) is found, placed at its threshold (to 9 decimals) and
  given a ramp JUMP_MARGIN wide on each side: the bound holds at the threshold and
  from JUMP_MARGIN away, a sign test with a margin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

# Pieces of one fitted function beyond which fitting stops (the bound then says so).
MAX_PIECES = 4_096
# A jump of a fitted function (a sign test on a continuous number) becomes a ramp this wide on
# each side of it: the bound holds for inputs at least this far from the jump, and exactly at it.
JUMP_MARGIN = 1e-9
# Points checked inside every fitted piece, to state its error.
CHECK_POINTS = 12


@dataclass
class Knots:
    """A continuous piecewise-linear function: its value at x[0] and the slope change at each knot."""

    x: np.ndarray  # knots, increasing
    y0: float  # value at x[0] (and to its left)
    changes: np.ndarray  # slope change at each knot (the first is the first slope)
    error: float = 0.0  # largest |f - pieces| measured (0 for exact knots), away from jumps
    jumps: list[float] = field(default_factory=list)  # where f jumps: exact only JUMP_MARGIN away

    @property
    def slopes(self) -> np.ndarray:
        return np.cumsum(self.changes)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        slopes = self.slopes
        at_knots = self.y0 + np.concatenate([[0.0], np.cumsum(slopes[:-1] * np.diff(self.x))])
        i = np.clip(np.searchsorted(self.x, x, side="right") - 1, 0, len(self.x) - 1)
        return np.where(x <= self.x[0], self.y0, at_knots[i] + slopes[i] * (x - self.x[i]))


def _from_points(xs: list[float], ys: list[float]) -> Knots:
    """The piecewise-linear interpolant through points with distinct, increasing xs."""
    x = np.array(xs, dtype=np.float64)
    y = np.array(ys, dtype=np.float64)
    if len(x) == 1:
        return Knots(x, float(y[0]), np.zeros(1))
    slopes = np.diff(y) / np.diff(x)
    changes = np.diff(slopes, prepend=0.0)
    return Knots(x[:-1], float(y[0]), changes)


def exact_knots(xs: list[float], ys: list[float], rtol: float = 1e-9) -> Knots:
    """Knots through every point (xs increasing), one where the points leave a line."""
    keep = [0]
    i = 0
    while i < len(xs) - 1:
        j = i + 1
        slope = (ys[j] - ys[i]) / (xs[j] - xs[i])
        while j + 1 < len(xs) and abs(ys[i] + slope * (xs[j + 1] - xs[i]) - ys[j + 1]) <= rtol * (1 + abs(ys[j + 1])):
            j += 1
        keep.append(j)
        i = j
    return _from_points([xs[k] for k in keep], [ys[k] for k in keep])


def fitted_knots(f: Callable[[float], float], lo: float, hi: float, tolerance: float) -> Knots:
    """Knots of a piecewise-linear interpolant of `f` on [lo, hi], within `tolerance` where
    checked (or as close as MAX_PIECES pieces get); `error` holds the largest error seen.

    Greedy from the left: each piece about as long as it can be with the chord within
    tolerance / 2 at 5 probe points, its length guessed from the last one's (a chord's
    error grows as the square of its length) and shrunk until it fits."""
    cache: dict[float, float] = {}

    def value(x: float) -> float:
        if x not in cache:
            cache[x] = float(f(x))
        return cache[x]

    def chord_error(a: float, b: float, points: np.ndarray) -> float:
        ya, yb = value(a), value(b)
        return max(abs(value(a + t * (b - a)) - (ya + t * (yb - ya))) for t in points)

    if hi <= lo:
        return Knots(np.array([lo]), value(lo), np.zeros(1))
    probe = np.linspace(0, 1, 7)[1:-1]
    target = tolerance / 2
    smallest = (hi - lo) * 1e-12
    xs = [lo]
    jumps: list[float] = []
    width = (hi - lo) / 64
    while xs[-1] < hi and len(xs) <= MAX_PIECES:
        a = xs[-1]
        w = min(width, hi - a)
        err = chord_error(a, a + w, probe)
        if err <= target and a + w < hi:  # try one longer piece
            longer = min(hi - a, w * min(4.0, 0.9 * np.sqrt(target / max(err, 1e-300))))
            if longer > w and chord_error(a, a + longer, probe) <= target:
                w = longer
        while chord_error(a, a + w, probe) > target and w > smallest:
            w = max(smallest, w * min(0.5, 0.9 * np.sqrt(target / chord_error(a, a + w, probe))))
        if w <= smallest and chord_error(a, a + w, probe) > target:  # a jump (a test like x > 0)
            c = _jump(value, a, a + w)
            ramp = [x for x in (c - JUMP_MARGIN, c, c + JUMP_MARGIN) if a < x < hi]
            xs += ramp
            jumps.append(c)
            continue
        xs.append(min(hi, a + w))
        width = w
    if xs[-1] < hi:
        xs.append(hi)
    knots = _from_points(xs, [value(x) for x in xs])
    check = (np.arange(CHECK_POINTS) + 0.5) / CHECK_POINTS
    knots.error = max((chord_error(a, b, check) for a, b in zip(xs, xs[1:])
                       if not any(a - JUMP_MARGIN * 1e-3 <= c <= b + JUMP_MARGIN * 1e-3 for c in jumps)), default=0.0)
    knots.jumps = jumps
    return knots


def _jump(value: Callable[[float], float], a: float, b: float) -> float:
    """Where f jumps inside [a, b] (halving towards the larger change), rounded to 9 decimals,
    so that a test at a round threshold (0, 0.05) jumps exactly there."""
    for _ in range(200):
        m = (a + b) / 2
        if m in (a, b):
            break
        if abs(value(m) - value(a)) >= abs(value(b) - value(m)):
            b = m
        else:
            a = m
    return float(round(b, 9)) + 0.0
