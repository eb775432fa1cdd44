"""The work budget all applications of one `map`'s function share while one evaluation
(or one compile's value-set inference) runs it over its distinct arguments.

The interpreter counts the work of a RASP function (loop iterations, calls); run inside
a statement, the statement's budget pays. Run by the evaluator on an input, nothing would
bound the total if each application had a budget of its own: a heavy lambda over 2,000
distinct values would do 2,000 budgets of work. So the evaluator opens one `MapWork` per
map and the interpreter charges every application to it (`rasp.language.interpreter`
sets the size: MAX_STEPS plus MAP_STEPS_PER_VALUE per distinct argument).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass
class MapWork:
    name: str  # the map's s-op, for the error
    calls: int  # distinct arguments it is applied to, at most
    used: int = 0  # steps spent so far, carried from one application to the next


_current: ContextVar[MapWork | None] = ContextVar("rasp_map_work", default=None)


@contextmanager
def map_work(name: str, calls: int) -> Iterator[MapWork]:
    """One budget for the applications made inside (nested maps each open their own)."""
    token = _current.set(MapWork(name, calls))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def current_map_work() -> MapWork | None:
    return _current.get()
