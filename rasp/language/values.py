"""Runtime values of the interpreter besides s-ops and atoms: functions, builtins, scopes.

In a module of their own so that `operators` can name them without importing the interpreter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import SourcePos
from . import ast


@dataclass(eq=False)
class Function:
    """A RASP function (from `def` or `lambda`), closing over its defining environment."""

    name: str
    params: list[str]
    body: list[ast.Node] | ast.Node
    env: Environment
    pos: SourcePos | None = None

    def __str__(self) -> str:
        return f"function {self.name}({', '.join(self.params)})"


@dataclass(eq=False)
class Builtin:
    name: str
    fn: Callable[..., Any]
    min_args: int
    max_args: int
    signature: str
    doc: str = ""

    def __str__(self) -> str:
        return f"builtin {self.signature}"


@dataclass
class Environment:
    variables: dict[str, Any] = field(default_factory=dict)
    parent: Environment | None = None
    # the function call this environment belongs to (rasp.ir.sops.Scope); None at top level
    scope: Any = None

    def lookup(self, name: str) -> Any:
        env: Environment | None = self
        while env is not None:
            if name in env.variables:
                return env.variables[name]
            env = env.parent
        raise KeyError(name)

    def has(self, name: str) -> bool:
        try:
            self.lookup(name)
        except KeyError:
            return False
        return True

    def all_names(self) -> list[str]:
        names: dict[str, None] = {}
        env: Environment | None = self
        while env is not None:
            names.update(dict.fromkeys(env.variables))
            env = env.parent
        return list(names)

    def child(self) -> Environment:
        return Environment(parent=self, scope=self.scope)
