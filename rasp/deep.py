"""Recursion as deep as a program is long. The compiler walks s-op trees recursively, so a
chain of a few thousand s-ops (`x = aggregate(..., x);` 3,000 times, `x = x + 1;` 6,000
times) would hit Python's recursion limit. `call_deep` runs such work in a thread with a
large stack and a recursion limit sized to the program: bounded by the program's size,
which the interpreter's own limits bound in turn."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import RaspRecursionError

T = TypeVar("T")

STACK_BYTES = 1 << 30  # reserved, not used: only the pages a deep walk touches are allocated
FRAMES_PER_NODE = 16  # Python frames one s-op may add to a walk (tree, space, aggregate, ...)
_lock = threading.Lock()  # the recursion limit is the process's: one deep call at a time


def call_deep(fn: Callable[[], T], nodes: int, what: str) -> T:
    """fn(), with room for a walk `nodes` s-ops deep; past even that, a RaspRecursionError
    saying the program is too deep to `what`."""
    depth = 1_000 + FRAMES_PER_NODE * nodes
    if depth <= sys.getrecursionlimit():
        return _guard(fn, what)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = _guard(fn, what)
        except BaseException as e:  # noqa: BLE001 - handed to the calling thread as it is
            outcome["error"] = e

    with _lock:
        old_limit, old_stack = sys.getrecursionlimit(), threading.stack_size()
        try:
            threading.stack_size(STACK_BYTES)
            worker = threading.Thread(target=run, name="rasp-deep", daemon=True)
            sys.setrecursionlimit(depth)  # before the worker starts walking
            worker.start()
        except (RuntimeError, MemoryError, ValueError):  # no room for such a stack (a memory limit)
            sys.setrecursionlimit(old_limit)
            return _guard(fn, what)  # as deep as the usual stack goes, then a clean error
        finally:
            threading.stack_size(old_stack)
        try:
            worker.join()
        finally:
            sys.setrecursionlimit(old_limit)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _guard(fn: Callable[[], T], what: str) -> T:
    try:
        return fn()
    except RecursionError:
        raise RaspRecursionError(
            f"the program is nested too deeply to {what}",
            hint="a chain of many thousand s-ops: build it in fewer, wider steps",
        ) from None
