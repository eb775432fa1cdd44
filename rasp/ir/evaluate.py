"""Vectorised evaluation of RASP graphs with numpy, over positions and over a batch.

Every s-op value is a (batch, length) array; every selector a (batch, query, key)
boolean array. Element-wise maps run once per *distinct* input combination
(np.unique), so arbitrary Python functions stay cheap on large batches.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import RaspInputError, RaspTypeError, RaspValueError
from .aggregate import aggregate
from .graph import build_graph, topological_exprs
from .kinds import NUMBER_KINDS, RowsDiffer, mixed_numbers, native
from .kinds import kind_of as _kind_of
from .sops import (
    Aggregate,
    Comparison,
    Constant,
    Indices,
    Length,
    Map,
    RASPExpr,
    Select,
    SelectorAnd,
    SelectorNot,
    SelectorOr,
    SelectorWidth,
    SequenceMap,
    SOp,
    Tokens,
)
from .work import map_work

MAX_INPUT_LENGTH = 2048
# Bound on batch * length * length booleans held at once, so big batches stay in memory.
_CHUNK_CELLS = 4_000_000

Input = str | Sequence[Any]


def tokenize(raw: Input) -> list[Any]:
    """A string is one token per character; a list is one token per item."""
    if isinstance(raw, str):
        tokens = list(raw)
    elif isinstance(raw, np.ndarray):
        tokens = raw.tolist()
    elif isinstance(raw, (list, tuple)):
        tokens = list(raw)
    else:
        raise RaspInputError(f"input must be a string or a list of tokens, got {type(raw).__name__}")
    if not tokens:
        raise RaspInputError("input is empty: RASP programs need at least one token")
    if len(tokens) > MAX_INPUT_LENGTH:
        raise RaspInputError(
            f"input has {len(tokens)} tokens; the limit is {MAX_INPUT_LENGTH}",
            hint="evaluate long inputs in pieces, or raise rasp.ir.evaluate.MAX_INPUT_LENGTH",
        )
    if not set(map(type, tokens)) <= {str, bool}:  # numbers need range checks; words don't
        for t in tokens:
            _check_token(t)
    check_no_nul(tokens, "token")
    return tokens


def check_no_nul(values: Iterable[Any], what: str, error: type = RaspInputError, pos: Any = None) -> None:
    """Refuse a string holding NUL (U+0000): numpy's string arrays, which every s-op of
    strings lives in, drop trailing NULs, so "a\0" would silently become "a". Every way a
    string enters a computation (tokens, vocabularies, constants, map results) checks here."""
    for v in values:
        if isinstance(v, str) and "\0" in v:
            raise error(f"the {what} {v!r} holds a NUL character (U+0000), which rasp cannot keep in a string "
                        "value; remove it", pos=pos)


def _check_token(t: Any) -> None:
    if not isinstance(t, (str, int, float, bool, np.generic)):
        shown = repr(t) if len(repr(t)) <= 40 else repr(t)[:40] + "..."
        raise RaspInputError(f"tokens must be strings, numbers or booleans, got {shown}")
    if isinstance(t, (int, np.integer)) and not isinstance(t, (bool, np.bool_)) and not -(2**63) <= int(t) < 2**63:
        raise RaspInputError(f"the token {int(t):.3e} is too large: integer tokens must fit in 64 bits")
    if isinstance(t, (float, np.floating)) and not math.isfinite(t):
        raise RaspInputError(f"the token {t} is not a finite number")


_PLAIN_TYPES = {str, int, float, bool}
_KIND_OF_TYPE = {str: "str", int: "int", float: "float", bool: "bool"}
# Plans (topological orders) of recently evaluated programs, by output node id: built once, reused.
_PLANS: dict[int, tuple[RASPExpr, list[RASPExpr]]] = {}
_MAX_PLANS = 512


def plan(expr: RASPExpr) -> list[RASPExpr]:
    """The nodes computing `expr`, inputs first; cached, since IR nodes never change."""
    cached = _PLANS.get(expr.id)
    if cached is None or cached[0] is not expr:
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.pop(next(iter(_PLANS)))
        cached = _PLANS[expr.id] = (expr, topological_exprs(build_graph(expr)))
    return cached[1]


def evaluate(expr: RASPExpr, raw: Input) -> list[Any]:
    """Value of an s-op (a list) or selector (a query x key matrix) on one input."""
    return evaluate_batch(expr, [raw])[0]


def evaluate_batch(expr: RASPExpr, raws: Iterable[Input]) -> list[list[Any]]:
    """Evaluate on many inputs; inputs of equal length are computed together."""
    token_lists = [tokenize(r) for r in raws]
    results: list[Any] = [None] * len(token_lists)
    order = plan(expr)
    for idx in length_chunks(token_lists):
        try:
            values = evaluate_arrays(order, [token_lists[i] for i in idx])
        except RowsDiffer:  # one s-op of strings for some inputs, numbers for others
            for i in idx:
                results[i] = evaluate_arrays(order, [token_lists[i]])[expr.id][0].tolist()
            continue
        out = values[expr.id].tolist()
        for i, row in zip(idx, out):
            results[i] = row
    return results


def length_chunks(token_lists: Sequence[Sequence[Any]]) -> Iterator[list[int]]:
    """Indices of inputs of one length, in chunks small enough (about _CHUNK_CELLS selector
    cells) for one vectorised pass each."""
    by_length: dict[int, list[int]] = {}
    for i, toks in enumerate(token_lists):
        by_length.setdefault(len(toks), []).append(i)
    for n, members in by_length.items():
        chunk = max(1, _CHUNK_CELLS // (n * n))
        for start in range(0, len(members), chunk):
            yield members[start : start + chunk]


def evaluate_trace(expr: RASPExpr, raw: Input) -> dict[RASPExpr, list[Any]]:
    """The value of every node in the program on one input (for display and drawing)."""
    order = plan(expr)
    values = evaluate_arrays(order, [tokenize(raw)])
    return {e: values[e.id][0].tolist() for e in order}


def token_array(token_lists: Sequence[Sequence[Any]]) -> np.ndarray:
    """Equal-length token lists as one (batch, length) array. Tokens keep their own types:
    a mix of numbers and booleans is an object array, so `[3, 1.5]` stays 3 and 1.5 and
    `true` stays a boolean (see `_convert_tokens`)."""
    flat = [t for toks in token_lists for t in toks]
    types = set(map(type, flat))  # the kinds of a few types, not of every token
    kinds = {_KIND_OF_TYPE[t] for t in types} if types <= _PLAIN_TYPES else {_kind_of(t) for t in flat}
    if kinds == {"bool"}:
        dtype: Any = bool
    elif kinds == {"int"}:
        dtype = np.int64
    elif kinds == {"float"}:
        dtype = np.float64
    elif kinds <= {"int", "float", "bool"}:
        # Numbers of several types side by side keep their own types (the reference's
        # tokens_asis): 3 stays 3 next to 1.5, and a boolean stays a boolean.
        return mixed_numbers([[native(t) for t in toks] for toks in token_lists])
    elif kinds == {"str"}:
        dtype = str
    else:
        raise RaspInputError("input mixes strings and numbers; use one token type per input")
    return np.array(token_lists, dtype=dtype)


def evaluate_arrays(order: Sequence[RASPExpr], token_lists: Sequence[Sequence[Any]],
                    patch: dict[int, Callable[[np.ndarray], np.ndarray]] | None = None) -> dict[int, np.ndarray]:
    """Run `order` (a topological order) on a batch of equal-length inputs. `patch` maps a
    node id to a function that replaces the node's value before later nodes read it (an
    intervention, see `rasp.ir.intervene`)."""
    raw = token_array(token_lists)
    batch, n = raw.shape
    values: dict[int, np.ndarray] = {}
    for expr in order:
        values[expr.id] = _evaluate_node(expr, values, raw, batch, n)
        if patch and expr.id in patch:
            values[expr.id] = patch[expr.id](values[expr.id])
    return values


def values_array(values: Sequence[Any], expr: RASPExpr, shape: tuple[int, ...]) -> np.ndarray:
    """Python values (row after row of `shape`) as the array an s-op holds, by the
    interpreter's dtype rules: ints stay int64, a mix of number types keeps each value's
    type. Rows of different types (strings in one, numbers in another) raise RowsDiffer."""
    values = list(values)
    width = shape[-1] if shape else 1
    row_kinds = [frozenset(_kind_of(v) for v in values[i : i + width]) for i in range(0, len(values), width)]
    if len({k <= NUMBER_KINDS for k in row_kinds}) > 1 or len({k for k in row_kinds if not k <= NUMBER_KINDS}) > 1:
        raise RowsDiffer
    dtype = _dtype_for(values, expr)
    flat = mixed_numbers([values])[0] if dtype is object else np.array(values, dtype=dtype)
    return flat.reshape(shape)


def _evaluate_node(expr: RASPExpr, values: dict[int, np.ndarray], raw: np.ndarray, batch: int, n: int) -> np.ndarray:
    if isinstance(expr, Tokens):
        return _convert_tokens(raw, expr)
    if isinstance(expr, Indices):
        return np.broadcast_to(np.arange(n, dtype=np.int64), (batch, n)).copy()
    if isinstance(expr, Length):
        return np.full((batch, n), n, dtype=np.int64)
    if isinstance(expr, Constant):
        if isinstance(expr.value, float) and not math.isfinite(expr.value):
            raise RaspValueError(f"the constant {expr.value} is not a finite number", pos=expr.pos)
        check_no_nul([expr.value], "constant", RaspValueError, expr.pos)
        return np.full((batch, n), expr.value, dtype=_dtype_for([expr.value], expr))
    if isinstance(expr, Map):
        return apply_elementwise(expr, expr.fn, [values[expr.inner.id]])
    if isinstance(expr, SequenceMap):
        return apply_elementwise(expr, expr.fn, [values[s.id] for s in expr.inputs])
    if isinstance(expr, Select):
        return _select(expr, values[expr.keys.id], values[expr.queries.id])
    if isinstance(expr, SelectorAnd):
        return values[expr.left.id] & values[expr.right.id]
    if isinstance(expr, SelectorOr):
        return values[expr.left.id] | values[expr.right.id]
    if isinstance(expr, SelectorNot):
        return ~values[expr.inner.id]
    if isinstance(expr, SelectorWidth):
        return values[expr.selector.id].sum(axis=-1, dtype=np.int64)
    if isinstance(expr, Aggregate):
        return aggregate(expr, values[expr.selector.id], values[expr.sop.id])
    raise TypeError(f"unknown RASP node {type(expr).__name__}")


def representable(v: Any) -> bool:
    """Whether an s-op can hold `v`: the evaluator refuses integers of 2**62 or more, numbers
    that are not finite and strings with NUL (see `_dtype_for`, `_call`, `check_no_nul`)."""
    if isinstance(v, bool):
        return True
    if isinstance(v, int):
        return abs(v) < 2**62
    if isinstance(v, float):
        return math.isfinite(v)
    return not (isinstance(v, str) and "\0" in v)


def _dtype_for(results: Sequence[Any], expr: RASPExpr) -> Any:
    kinds = {_kind_of(v) for v in results}
    if "int" in kinds and any(abs(int(v)) >= 2**62 for v in results if _kind_of(v) == "int"):
        raise RaspValueError(f"'{expr.name}' produces a number too large to represent", pos=expr.pos)
    if kinds <= {"bool"}:
        return bool
    if kinds == {"int"}:
        return np.int64
    if kinds <= {"float"}:
        return np.float64
    if kinds <= NUMBER_KINDS:
        return object  # each value keeps its own number type, a boolean too (see mixed_numbers)
    if kinds == {"str"}:
        check_no_nul(results, f"value of '{expr.name}'", RaspValueError, expr.pos)
        return str
    shown = ", ".join(sorted(kinds))
    raise RaspTypeError(
        f"'{expr.name}' produces values of mixed or unsupported types ({shown}); "
        "an s-op holds one type of value",
        pos=expr.pos,
    )


def _convert_tokens(raw: np.ndarray, expr: Tokens) -> np.ndarray:
    kind = expr.kind
    try:
        if kind == "asis":
            return raw.copy()
        if kind == "str":
            if raw.dtype == bool:
                return np.where(raw, "True", "False")
            if raw.dtype.kind in "fO":
                # str() of each token as given, as the reference does: 2 -> "2", 1.5 -> "1.5"
                return np.array([[str(native(v)) for v in row] for row in raw.tolist()], dtype=str).reshape(raw.shape)
            return raw.astype(str)
        if kind == "int":
            # Python's int() of each token, as the reference: 2.9 -> 2, "7" -> 7, "2.5" an error
            if raw.dtype.kind == "f":
                whole = np.trunc(raw)
                if (np.abs(whole) >= 2.0**63).any():  # casting would wrap around silently
                    raise OverflowError
                return whole.astype(np.int64)
            if raw.dtype.kind == "O":
                return np.array([[int(v) for v in row] for row in raw.tolist()], dtype=np.int64).reshape(raw.shape)
            return raw.astype(np.int64)
        if kind == "float":
            numbers = raw.astype(np.float64)
            finite = np.isfinite(numbers)
            if not finite.all():  # "1e999" and "nan" as text
                raise ValueError(native(raw[~finite][0]))
            return numbers
        if kind == "bool":
            # Python's bool() of each token, as the reference: every non-empty string is True
            if raw.dtype.kind == "U":
                return np.char.str_len(raw) > 0
            return raw.astype(bool)
    except OverflowError:
        bad = next((v for v in raw.ravel().tolist() if not _fits_int64(v)), "a larger number")
        raise RaspInputError(
            f"tokens_int needs integers that fit in 64 bits, but the input has {bad!r}", pos=expr.pos
        ) from None
    except ValueError as e:
        bad = str(e).split(":")[-1].strip()
        if bad.startswith("np.str_(") and bad.endswith(")"):  # numpy 2 reprs: np.str_('a') -> 'a'
            bad = bad[len("np.str_(") : -1]
        raise RaspInputError(
            f"tokens_{kind} needs {kind} tokens, but the input has {bad}",
            pos=expr.pos,
        ) from None
    raise RaspInputError(f"unknown token type '{kind}'", pos=expr.pos)


def _fits_int64(v: Any) -> bool:
    try:
        return -(2.0**63) <= float(v) < 2.0**63
    except (TypeError, ValueError):
        return True  # not a number: some other check reports it


def apply_elementwise(expr: SOp, fn: Any, arrays: list[np.ndarray]) -> np.ndarray:
    """Apply a Python function position-wise, calling it once per distinct argument tuple."""
    shape = arrays[0].shape
    uniques, codes = [], None
    for a in arrays:
        u, inv = _factorize(a.ravel())
        uniques.append(u)
        codes = inv if codes is None else codes * len(u) + inv
    if not arrays:
        return np.full(shape, fn())
    combos, inverse = np.unique(codes, return_inverse=True)
    radices = [len(u) for u in uniques]
    results = []
    with map_work(expr.name, len(combos)):
        for code in combos.tolist():
            args = []
            for u, r in zip(reversed(uniques), reversed(radices)):
                args.append(native(u[code % r]))
                code //= r
            args.reverse()
            results.append(_call(expr, fn, args))
    dtype = _dtype_for(results, expr)
    table = mixed_numbers([results])[0] if dtype is object else np.array(results, dtype=dtype)
    return table[inverse.ravel()].reshape(shape)


def _factorize(flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values and each item's code. In an object array 1 and 1.0 stay apart."""
    if flat.dtype != object:
        u, inv = np.unique(flat, return_inverse=True)
        return u, inv.ravel().astype(np.int64)
    # keyed by type too: 1, 1.0 and True are equal in Python but different values here
    codes: dict[tuple[type, Any], int] = {}
    inv = np.array([codes.setdefault((type(v), v), len(codes)) for v in flat.tolist()], dtype=np.int64)
    u = np.empty(len(codes), dtype=object)
    u[:] = [v for _, v in codes]
    return u, inv


def _call(expr: SOp, fn: Any, args: list[Any]) -> Any:
    from ..errors import RaspError

    try:
        result = fn(*args)
    except RaspError as e:
        e.with_pos(expr.pos)
        raise
    except ZeroDivisionError:
        raise RaspValueError(
            f"division by zero in '{expr.name}' (on value {', '.join(map(repr, args))})", pos=expr.pos
        ) from None
    except (TypeError, ValueError, OverflowError, IndexError, KeyError) as e:
        raise RaspTypeError(
            f"cannot compute '{expr.name}' on value {', '.join(map(repr, args))}: {e}", pos=expr.pos
        ) from None
    if isinstance(result, float) and not math.isfinite(result):
        raise RaspValueError(
            f"'{expr.name}' gives {result} on value {', '.join(map(repr, args))}: not a finite number", pos=expr.pos
        )
    return result


def _select(expr: Select, keys: np.ndarray, queries: np.ndarray) -> np.ndarray:
    k = keys[:, None, :]
    q = queries[:, :, None]
    pred = expr.predicate
    if pred is Comparison.TRUE:
        return np.ones((keys.shape[0], queries.shape[1], keys.shape[1]), dtype=bool)
    if pred is Comparison.FALSE:
        return np.zeros((keys.shape[0], queries.shape[1], keys.shape[1]), dtype=bool)
    if (keys.dtype.kind == "U") != (queries.dtype.kind == "U"):
        if pred in (Comparison.EQ, Comparison.NEQ):
            fill = pred is Comparison.NEQ
            return np.full((keys.shape[0], queries.shape[1], keys.shape[1]), fill)
        raise RaspTypeError(
            f"select cannot compare strings with numbers using {pred.value} "
            f"(keys '{expr.keys.name}', queries '{expr.queries.name}')",
            pos=expr.pos,
        )
    return np.asarray(pred.numpy_fn(k, q), dtype=bool)
