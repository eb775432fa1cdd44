"""`aggregate` on arrays, with the reference interpreter's types.

At each query position: the one selected value, as it is; the mean of several (numbers
only: a float); the default where nothing is selected (0 when none is given, of whatever
type it is written in). As in the reference, one input's result must be one sequence: a
default of another type than the values is fine where it fills every position (all
queries select nothing, e.g. `tokens[-4]` on two tokens gives `[0, 0]`) or none, and
numbers of several types (a boolean among integers included) keep their own types; a
string next to a number is an error. Several copies of one non-numeric value give that
value (an extension: the reference refuses to average them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import RaspTypeError, RaspValueError
from .kinds import NUMBER_KINDS, RowsDiffer, kind_of, mixed_numbers, one_sequence
from .sops import Aggregate

_DTYPES = {"bool": bool, "int": np.int64, "float": np.float64, "str": str}


def aggregate(expr: Aggregate, sel: np.ndarray, vals: np.ndarray) -> np.ndarray:
    width = sel.sum(axis=-1)
    empty, several = width == 0, width > 1
    fill = 0 if expr.default is None else expr.default
    lone = np.take_along_axis(vals, sel.argmax(axis=-1), axis=1)
    if vals.dtype.kind in "Ub":
        _check_copies_of_one_value(expr, sel, vals, lone)
        if not empty.any():
            return lone
        if (vals.dtype.kind == "U") == (kind_of(fill) == "str") and (vals.dtype == bool) == (kind_of(fill) == "bool"):
            return np.where(empty, np.array(fill, dtype=str if vals.dtype.kind == "U" else bool), lone)
        return _assemble(expr, lone, None, empty, several, fill)
    has_bools = vals.dtype == object and any(isinstance(v, bool) for v in vals.ravel().tolist())
    if kind_of(fill) in ("int", "float") and not has_bools:
        return _numbers(expr, sel, vals, width, fill)
    return _assemble(expr, lone, _means(expr, sel, vals, width), empty, several, fill)


def _check_copies_of_one_value(expr: Aggregate, sel: np.ndarray, vals: np.ndarray, first: np.ndarray) -> None:
    agree = (vals[:, None, :] == first[:, :, None]) | ~sel
    conflict = ~agree.all(axis=-1)
    if conflict.any():
        b, q = map(int, np.argwhere(conflict)[0])
        seen = sorted(set(vals[b][sel[b, q]].tolist()), key=str)[:3]
        raise RaspValueError(
            f"aggregate '{expr.name}' would average several different non-numeric values "
            f"({', '.join(map(repr, seen))}) at position {q}; only numbers can be averaged",
            pos=expr.pos,
            hint="make the selector pick one position, or aggregate a numeric s-op",
        )


def _means(expr: Aggregate, sel: np.ndarray, vals: np.ndarray, width: np.ndarray) -> np.ndarray:
    mean = np.einsum("bqk,bk->bq", sel.astype(np.float64), vals.astype(np.float64)) / np.maximum(width, 1)
    if not np.isfinite(mean).all():
        raise RaspValueError(f"aggregate '{expr.name}' averages to a number too large to represent", pos=expr.pos)
    return mean


def _assemble(expr: Aggregate, lone: np.ndarray, means: np.ndarray | None, empty: np.ndarray,
              several: np.ndarray, fill: Any) -> np.ndarray:
    """Each position's value as a Python value (default, mean or lone value), then one array."""
    lone_rows = lone.tolist()
    mean_rows = means.tolist() if means is not None else None
    rows = [
        [fill if empty[b, q] else (mean_rows[b][q] if several[b, q] and mean_rows else lone_rows[b][q])
         for q in range(lone.shape[1])]
        for b in range(lone.shape[0])
    ]
    kinds = set()
    for row in rows:
        row_kinds = {kind_of(v) for v in row}
        if not one_sequence(row_kinds):
            raise RaspTypeError(
                f"aggregate '{expr.name}' gives its default {fill!r} where nothing is selected and values of "
                f"another type elsewhere ({', '.join(sorted(row_kinds))}); one s-op holds one type of value",
                pos=expr.pos,
                hint="give a default of the values' type",
            )
        kinds |= row_kinds
    if len(kinds) == 1:
        return np.array(rows, dtype=_DTYPES[kinds.pop()])
    if kinds <= NUMBER_KINDS:
        return mixed_numbers(rows)
    raise RowsDiffer


def _numbers(expr: Aggregate, sel: np.ndarray, vals: np.ndarray, width: np.ndarray, fill: Any) -> np.ndarray:
    """Numbers with a numeric default, vectorised: a lone selected value keeps its own type,
    a mean of several is a float, an empty selection gives the default as written. So each
    position's type depends only on its own input, and batches agree with single runs."""
    mean = _means(expr, sel, vals, width)
    lone = np.take_along_axis(vals, sel.argmax(axis=-1), axis=1)
    empty, several = width == 0, width > 1
    if vals.dtype.kind in "iu":
        lone_int = np.ones(lone.shape, dtype=bool)
    elif vals.dtype.kind == "f":
        lone_int = np.zeros(lone.shape, dtype=bool)
    else:
        lone_int = np.vectorize(lambda v: not isinstance(v, float), otypes=[bool])(lone)
    fill_int = kind_of(fill) == "int"
    is_int = np.where(empty, fill_int, ~several & lone_int)
    if is_int.all():
        return np.where(empty, int(fill), lone).astype(np.int64)
    floats = np.where(several, mean, np.where(empty, float(fill), lone.astype(np.float64)))
    if not is_int.any():
        return floats
    out = floats.astype(object)
    whole = np.where(empty, int(fill), lone)[is_int]
    out[is_int] = [int(v) for v in whole.tolist()]
    return out
