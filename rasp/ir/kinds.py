"""The kinds of values an s-op holds, and arrays that keep each value's own type.

The reference interpreter types a sequence as a whole: one type (str, bool, int or float),
or numbers of several types side by side, each keeping its own (`[2.5, 1]`, and a boolean
next to an integer stays a boolean: `[True, 0]`). A mix of strings with anything else is
an error there. numpy arrays hold one dtype, so a sequence of several number types is an
object array of Python values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

NUMBER_KINDS = frozenset({"bool", "int", "float"})


def kind_of(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "bool"
    if isinstance(v, (int, np.integer)):
        return "int"
    if isinstance(v, (float, np.floating)):
        return "float"
    if isinstance(v, (str, np.str_)):
        return "str"
    return type(v).__name__


def one_sequence(kinds: set[str]) -> bool:
    """Can values of these kinds share one sequence (the reference's type check)?"""
    return len(kinds) <= 1 or kinds <= NUMBER_KINDS


def native(v: Any) -> Any:
    """A numpy scalar as the Python value it holds; anything else as it is."""
    return v.item() if isinstance(v, np.generic) else v


def mixed_numbers(rows: Sequence[Sequence[Any]]) -> np.ndarray:
    """An object array of Python numbers: an s-op whose positions differ in number type.

    The reference interpreter keeps each value's own type (a lone selected int stays an
    int next to a mean, which is a float), so a single dtype cannot hold such an s-op.
    """
    out = np.empty((len(rows), len(rows[0]) if rows else 0), dtype=object)
    for i, row in enumerate(rows):
        out[i, :] = row
    return out


class RowsDiffer(Exception):
    """Inputs of one batch give an s-op different types (strings for one, numbers for
    another): the batch is evaluated one input at a time instead."""
