"""RASP's operators on values: atoms compute at once, s-ops and selectors build IR nodes.

`lift` is the one place where an element-wise operation over a mix of s-ops
and atoms becomes a Map or SequenceMap node.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

from ..errors import RaspTypeError, RaspValueError, SourcePos
from ..ir.sops import (
    Comparison,
    Constant,
    Indices,
    Map,
    Select,
    Selector,
    SelectorAnd,
    SelectorNot,
    SelectorOr,
    SequenceMap,
    SOp,
)
from .values import Builtin, Function

ATOM_TYPES = (int, float, str, bool)

# Caps that keep a careless loop (`s = s + s;`) from eating all memory.
MAX_STRING_LENGTH = 1_000_000
MAX_LIST_LENGTH = 1_000_000
MAX_INT_BITS = 4096


def is_atom(v: Any) -> bool:
    return isinstance(v, ATOM_TYPES)


def type_name(v: Any) -> str:
    if isinstance(v, SOp):
        return "s-op"
    if isinstance(v, Selector):
        return "selector"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "dict"
    if isinstance(v, Builtin):
        return "builtin"
    if isinstance(v, Function) or callable(v):
        return "function"
    return type(v).__name__


def to_sop(v: Any, pos: SourcePos | None = None) -> SOp:
    if isinstance(v, SOp):
        return v
    if is_atom(v):
        return Constant(value=v).at(pos)
    raise RaspTypeError(f"expected an s-op or an atom, got a {type_name(v)}", pos=pos)


def lift(fn: Callable[..., Any], args: list[Any], description: str, pos: SourcePos | None) -> SOp:
    """An s-op applying `fn` position-wise; atom arguments are baked into the function."""
    sop_slots = [i for i, a in enumerate(args) if isinstance(a, SOp)]
    for a in args:
        if not isinstance(a, SOp) and not is_atom(a):
            raise RaspTypeError(
                f"'{description}' works on s-ops and atoms, not on a {type_name(a)}", pos=pos
            )
    sops = [args[i] for i in sop_slots]
    if len(sops) == len(args):
        bound = fn
    else:
        template = list(args)

        def bound(*values: Any) -> Any:
            full = list(template)
            for slot, v in zip(sop_slots, values):
                full[slot] = v
            return fn(*full)

    if len(sops) == 1:
        return Map(fn=bound, inner=sops[0], description=description).at(pos)
    return SequenceMap(fn=bound, inputs=tuple(sops), description=description).at(pos)


# --- scalar semantics (Python's, with RASP's error messages) ----------------------


def _power(a: Any, b: Any) -> Any:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(b, int) and abs(b) > 4096 or isinstance(a, (int, float)) and abs(a) > 1e6 and abs(b) > 64:
            raise OverflowError("result too large")
        if isinstance(a, int) and isinstance(b, int) and b > 0 and a.bit_length() * b > MAX_INT_BITS:
            raise RaspValueError(f"number too large: the power has over {MAX_INT_BITS} bits")
        result = a**b
        if isinstance(result, complex):
            raise ValueError("negative number to a fractional power")
        return result
    raise TypeError(f"unsupported operand types for ^: {type_name(a)} and {type_name(b)}")


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, str) and isinstance(b, str) and len(a) + len(b) > MAX_STRING_LENGTH:
        raise RaspValueError(f"string too long: joining gives {len(a) + len(b):,} characters; the limit is {MAX_STRING_LENGTH:,}")
    if isinstance(a, list) and isinstance(b, list) and len(a) + len(b) > MAX_LIST_LENGTH:
        raise RaspValueError(f"list too long: joining gives {len(a) + len(b):,} items; the limit is {MAX_LIST_LENGTH:,}")
    return a + b


def _multiply(a: Any, b: Any) -> Any:
    if isinstance(a, str) or isinstance(b, str):
        # A string times a whole number repeats it, as in the reference ("a" * 2 == "aa").
        text, times = (a, b) if isinstance(a, str) else (b, a)
        if not isinstance(times, int) or isinstance(times, (str, bool)):
            raise TypeError(f"cannot multiply {type_name(a)} by {type_name(b)}")
        if len(text) * max(times, 0) > MAX_STRING_LENGTH:
            raise RaspValueError(f"string too long: repeating gives {len(text) * times:,} characters; the limit is {MAX_STRING_LENGTH:,}")
        return text * times
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise RaspValueError(f"number too large: the product has over {MAX_INT_BITS} bits")
    return a * b


def _modulo(a: Any, b: Any) -> Any:
    if isinstance(a, str) or isinstance(b, str):  # not Python's string formatting
        raise TypeError(f"cannot take a {type_name(a)} modulo a {type_name(b)}")
    return a % b


def _divide(a: Any, b: Any) -> Any:
    return a / b


def _check_finite(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def checked(a: Any, b: Any) -> Any:
        result = fn(a, b)
        if isinstance(result, float) and not math.isfinite(result):
            raise OverflowError("result is not a finite number")
        return result

    return checked


BINARY = {
    "+": _check_finite(_add),
    "-": _check_finite(operator.sub),
    "*": _check_finite(_multiply),
    "/": _check_finite(_divide),
    "%": _modulo,
    "^": _check_finite(_power),
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _sop_and(a: Any, b: Any) -> bool:
    return bool(a) and bool(b)


def _sop_or(a: Any, b: Any) -> bool:
    return bool(a) or bool(b)


def binary(op: str, left: Any, right: Any, pos: SourcePos | None) -> Any:
    if isinstance(left, Selector) or isinstance(right, Selector):
        if op in ("and", "or") and isinstance(left, Selector) and isinstance(right, Selector):
            cls = SelectorAnd if op == "and" else SelectorOr
            return cls(left=left, right=right).at(pos)
        if op in ("and", "or"):
            raise RaspTypeError(f"cannot combine a selector with a {type_name(right if isinstance(left, Selector) else left)} using '{op}'", pos=pos)
        raise RaspTypeError(f"cannot apply '{op}' to selectors (only and, or, not)", pos=pos)
    if isinstance(left, SOp) or isinstance(right, SOp):
        if op == "and":
            return lift(_sop_and, [left, right], "and", pos)
        if op == "or":
            return lift(_sop_or, [left, right], "or", pos)
        return lift(BINARY[op], [left, right], op, pos)
    if op == "and":
        return left and right
    if op == "or":
        return left or right
    if not (is_atom(left) and is_atom(right)) and op not in ("==", "!=", "+"):
        raise RaspTypeError(f"cannot apply '{op}' to a {type_name(left)} and a {type_name(right)}", pos=pos)
    try:
        return BINARY[op](left, right)
    except ZeroDivisionError:
        raise RaspValueError("division by zero", pos=pos) from None
    except (TypeError, ValueError, OverflowError) as e:
        raise RaspTypeError(f"cannot apply '{op}' to {left!r} and {right!r}: {e}", pos=pos) from None


def _negate(a: Any) -> Any:
    if isinstance(a, str):
        raise TypeError("cannot negate a string")
    return -a


def _plus(a: Any) -> Any:
    if isinstance(a, str):
        raise TypeError("unary + on a string")
    return +a


def _not(a: Any) -> bool:
    return not bool(a)


UNARY = {"-": _negate, "+": _plus, "not": _not}


def unary(op: str, operand: Any, pos: SourcePos | None) -> Any:
    if isinstance(operand, Selector):
        if op == "not":
            return SelectorNot(inner=operand).at(pos)
        raise RaspTypeError(f"cannot apply '{op}' to a selector", pos=pos)
    if isinstance(operand, SOp):
        return lift(UNARY[op], [operand], "not" if op == "not" else f"unary {op}", pos)
    if not is_atom(operand):
        raise RaspTypeError(f"cannot apply '{op}' to a {type_name(operand)}", pos=pos)
    try:
        return UNARY[op](operand)
    except TypeError as e:
        raise RaspTypeError(str(e), pos=pos) from None


def indicator(value: Any, pos: SourcePos | None) -> Any:
    if isinstance(value, SOp):
        return lift(_indicator, [value], "indicator", pos)
    if is_atom(value):
        return _indicator(value)
    raise RaspTypeError(f"indicator expects an s-op, got a {type_name(value)}", pos=pos)


def _indicator(a: Any) -> int:
    return 1 if a else 0


def _round(a: Any) -> int:
    if isinstance(a, str):
        raise TypeError("cannot round a string")
    return round(a)


def round_value(value: Any, pos: SourcePos | None) -> Any:
    if isinstance(value, SOp):
        return lift(_round, [value], "round", pos)
    if isinstance(value, (int, float)):
        return round(value)
    raise RaspTypeError(f"round expects a number or an s-op, got a {type_name(value)}", pos=pos)


def select(keys: Any, queries: Any, op: str, pos: SourcePos | None) -> Select:
    for v, what in ((keys, "keys"), (queries, "queries")):
        if not isinstance(v, SOp) and not is_atom(v):
            raise RaspTypeError(f"select {what} must be an s-op or an atom, got a {type_name(v)}", pos=pos)
    return Select(keys=to_sop(keys, pos), queries=to_sop(queries, pos), predicate=Comparison(op)).at(pos)


def full_selector(pos: SourcePos | None = None) -> Select:
    """Every query attends to every key."""
    idx = Indices()
    return Select(keys=idx, queries=idx, predicate=Comparison.TRUE).at(pos)


def table_lookup(table: list | dict | str, key: Any, pos: SourcePos | None) -> Any:
    """`list[sop]`, `dict[sop]`, `"string"[sop]`: an element-wise lookup."""

    def lookup(k: Any) -> Any:
        if isinstance(table, dict):
            if k not in table:
                raise KeyError(f"{k!r} is not a key of the dict")
            return table[k]
        if not isinstance(k, int) or not -len(table) <= k < len(table):
            raise IndexError(f"index {k!r} out of range for a {type_name(table)} of length {len(table)}")
        return table[k]

    for v in (table.values() if isinstance(table, dict) else table):
        if not is_atom(v):
            raise RaspTypeError("looking up an s-op in a list or dict needs atom values", pos=pos)
    return lift(lookup, [key], "lookup", pos)


def contains(item: Any, container: Any, pos: SourcePos | None) -> Any:
    if isinstance(item, SOp):
        if isinstance(container, (list, dict)):
            members = list(container)
            if not all(is_atom(m) for m in members):
                raise RaspTypeError("'s-op in X' needs X to be a list of atoms", pos=pos)
            frozen = set(members) if all(isinstance(m, (int, str, bool, float)) for m in members) else members
            return lift(lambda v: v in frozen, [item], "in", pos)
        raise RaspTypeError(f"'s-op in X' needs X to be a list or dict, got a {type_name(container)}", pos=pos)
    if is_atom(item):
        if isinstance(container, (list, dict)):
            return item in container
        if isinstance(container, SOp):
            from ..ir.sops import Aggregate

            hits = indicator(binary("==", container, item, pos), pos)
            found = Aggregate(selector=full_selector(pos), sop=hits, default=0).at(pos)
            return binary(">", found, 0, pos)
        if isinstance(container, str):
            if not isinstance(item, str):
                raise RaspTypeError("'X in string' needs X to be a string", pos=pos)
            return item in container
        raise RaspTypeError(f"'atom in X' needs X to be a list, dict or s-op, got a {type_name(container)}", pos=pos)
    raise RaspTypeError(f"cannot test whether a {type_name(item)} is in something", pos=pos)
