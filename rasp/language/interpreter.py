"""Executes RASP statements: builds s-op graphs, binds names, runs functions and loads files.

S-ops are lazy: executing `x = aggregate(...)` builds IR (`rasp.ir.sops`); values
come from `rasp.evaluate` when an input is given.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import (
    RaspArgumentError,
    RaspBudgetError,
    RaspError,
    RaspLoadError,
    RaspNameError,
    RaspRecursionError,
    RaspTypeError,
    RaspValueError,
    RaspWarning,
    SourcePos,
)
from ..files import read_text
from ..ir.evaluate import evaluate
from ..ir.sops import (
    Aggregate,
    Indices,
    Length,
    RASPExpr,
    Scope,
    Selector,
    SelectorWidth,
    SOp,
    Tokens,
    Verbatim,
    render_operation,
)
from ..ir.work import MapWork, current_map_work
from . import ast
from .lexicon import Lexicon
from .operators import (
    binary,
    contains,
    indicator,
    is_atom,
    lift,
    round_value,
    select,
    table_lookup,
    to_sop,
    type_name,
    unary,
)
from .parser import parse, parse_loaded
from .sandbox import find_inside, has_suffix, not_inside, program_roots, shown_name
from .values import Builtin, Environment, Function

MAX_CALL_DEPTH = 100
MAX_MAP_SOPS = 64  # s-ops one `map` may combine (a bound on the arguments, not on the work)
# Work one top-level statement may do: loop iterations, comprehension items and function
# calls together. It stops a runaway program in seconds instead of when memory runs out.
MAX_STEPS = 1_000_000
CALL_STEPS = 10  # a function call costs about ten loop iterations
LOAD_STEPS = 1_000  # a load costs this plus a tenth of its file's size in characters
# All applications of one map in one evaluation share MAX_STEPS plus this per distinct
# argument: a cheap function never notices, a heavy one over many values stops.
MAP_STEPS_PER_VALUE = 100
STDLIB_DIR_NAME = "stdlib"
SOURCE_SUFFIXES = (".rasp",)  # what `load` reads
DRAW_SKIPPED = "draw(...) wrote no file"


# An unnamed function result is labelled `f(args)` when that is this short, else `f`.
_CALL_LABEL = 60


def _call_label(name: str, args: list[Any]) -> str:
    if all(isinstance(a, RASPExpr) or is_atom(a) or isinstance(a, (list, dict)) for a in args):
        label = render_operation(name, tuple(args))
        if len(label) <= _CALL_LABEL:
            return label
    return name


def stdlib_dir() -> Path:
    """The folder of `.rasp` library files: installed package data, or the repo's stdlib/."""
    try:
        import rasp.stdlib as pkg

        return Path(pkg.__file__).parent
    except ImportError:  # pragma: no cover - running from an unusual layout
        return Path(__file__).resolve().parents[2] / STDLIB_DIR_NAME


class _ReturnSignal(Exception):
    def __init__(self, value: Any):
        self.value = value


@dataclass
class Result:
    """What one statement produced, for the REPL to show."""

    name: str
    value: Any
    pos: SourcePos | None = None


# Names users may not rebind (`tokens` stays reassignable, as in the reference).
RESERVED = {"indices", "length", "tokens_asis", "tokens_str", "tokens_int", "tokens_float", "tokens_bool", "True", "False"}


class Interpreter:
    """Runs RASP. `draw_files`: whether `draw(...)` in a program writes its picture (the
    REPL: yes; a program run from the command line or loaded in Python: only when asked,
    so running a shared program writes no file)."""

    def __init__(self, load_stdlib: bool = True, draw_files: bool = True):
        self.draw_files = draw_files
        self.builtins = Environment(_builtin_values(self))
        self.globals = self.builtins.child()
        self._depth = 0
        self._scopes: list[Scope] = []  # the function calls being run, innermost last
        self._steps: int | None = None  # work done by the current top-level statement (or map)
        self._map_work: MapWork | None = None  # the map whose applications are running, if any
        self._loading: list[Path] = []
        self._loaded_stdlib = False
        self.warnings: list[RaspWarning] = []  # from every source run, for the caller to show
        self.lexicon: Lexicon | None = None  # the words the program declares it knows (declare_lexicon)
        if load_stdlib:
            self.load_stdlib()

    # --- files and sources ------------------------------------------------------------

    def load_stdlib(self) -> None:
        # rasplib first: the other library files build on it.
        for path in sorted(stdlib_dir().glob("*.rasp"), key=lambda p: (p.stem != "rasplib", p.name)):
            self.run_file(path)
        self._loaded_stdlib = True

    def run_file(self, path: str | Path, env: Environment | None = None, source: str | None = None,
                 loaded: bool = False) -> list[Result]:
        """Run a .rasp file (`source`: its text, when the caller has read it already).
        `loaded`: a file a program named (see `parse_loaded`), not one the user gave."""
        path = Path(path)
        source = read_text(path, "program") if source is None else source
        resolved = path.resolve()
        if resolved in self._loading:
            chain = " -> ".join(p.name for p in self._loading + [resolved])
            raise RaspLoadError(f"circular load: {chain}")
        self._loading.append(resolved)
        try:
            return self.run_module(guarded(lambda: (parse_loaded if loaded else parse)(source, str(path))), env)
        finally:
            self._loading.pop()

    def run_source(self, source: str, filename: str | None = None, env: Environment | None = None) -> list[Result]:
        return self.run_module(guarded(lambda: parse(source, filename)), env)

    def run_module(self, module: ast.Module, env: Environment | None = None) -> list[Result]:
        self.warnings.extend(module.warnings)
        return self.run_statements(module.statements, env or self.globals)

    def run_statements(self, statements: list[ast.Node], env: Environment) -> list[Result]:
        results: list[Result] = []
        for stmt in statements:
            outermost = self._steps is None
            if outermost:
                self._steps = 0
            try:
                results.extend(guarded(functools.partial(self.execute, stmt, env)))
            finally:
                if outermost:
                    self._steps = None
        return results

    def _step(self, pos: SourcePos | None, cost: int = 1) -> None:
        """Count work: a loop iteration or comprehension item is 1, a call CALL_STEPS."""
        if self._steps is None:
            return
        self._steps += cost
        limit = MAX_STEPS if self._map_work is None else map_budget(self._map_work.calls)
        if self._steps > limit:
            if self._map_work is not None:
                raise RaspBudgetError(
                    f"the function mapped in '{self._map_work.name}' does too much work on its "
                    f"{self._map_work.calls:,} distinct arguments (over {limit:,} steps in all)",
                    pos=pos,
                    hint="a mapped function should be cheap: it runs once per distinct value; "
                    "the budget is rasp.language.interpreter.MAX_STEPS plus MAP_STEPS_PER_VALUE per value",
                )
            raise RaspBudgetError(
                f"this statement does too much work (over {MAX_STEPS:,} loop iterations, "
                f"or {MAX_STEPS // CALL_STEPS:,} function calls)",
                pos=pos,
                hint="RASP programs build s-ops; large loops belong in the input, not in the program",
            )

    # --- statements ----------------------------------------------------------------------

    def execute(self, stmt: ast.Node, env: Environment) -> list[Result]:
        if isinstance(stmt, ast.Assign):
            return self._assign(stmt, env)
        if isinstance(stmt, ast.ExprStmt):
            value = self.eval(stmt.expr, env)
            name = stmt.expr.id if isinstance(stmt.expr, ast.Name) else "out"
            env.variables["out"] = value
            return [Result(name, value, stmt.pos)]
        if isinstance(stmt, ast.FuncDef):
            self._bind(env, stmt.name, Function(stmt.name, stmt.params, stmt.body, env, stmt.pos), stmt.pos)
            return [Result(stmt.name, env.variables[stmt.name], stmt.pos)]
        if isinstance(stmt, ast.ForLoop):
            iterable = self.eval(stmt.iterable, env)
            if not isinstance(iterable, (list, dict)):
                raise RaspTypeError(f"for loops iterate over a list or dict, got a {type_name(iterable)}", pos=stmt.iterable.pos)
            for item in list(iterable):
                self._step(stmt.pos)
                self._bind_iteration(env, stmt.names, item, stmt.pos)
                for inner in stmt.body:
                    self.execute(inner, env)
            return []
        if isinstance(stmt, ast.Load):
            return self._load(stmt, env)
        if isinstance(stmt, ast.Return):
            raise _ReturnSignal(self._eval_many(stmt.values, env))
        raise RaspError(f"unsupported statement {type(stmt).__name__}", pos=stmt.pos)

    def _assign(self, stmt: ast.Assign, env: Environment) -> list[Result]:
        value = self._eval_many(stmt.values, env)
        if len(stmt.names) == 1:
            pairs = [(stmt.names[0], value)]
        else:
            if not isinstance(value, list) or len(value) != len(stmt.names):
                got = len(value) if isinstance(value, list) else 1
                raise RaspValueError(f"expected {len(stmt.names)} values to unpack, got {got}", pos=stmt.pos)
            pairs = list(zip(stmt.names, value))
        for name, v in pairs:
            self._bind(env, name, v, stmt.pos)
        return [Result(name, v, stmt.pos) for name, v in pairs]

    def _bind(self, env: Environment, name: str, value: Any, pos: SourcePos | None) -> None:
        if name in RESERVED:
            raise RaspNameError(f"'{name}' is a reserved name and cannot be assigned", pos=pos)
        # The latest name of an s-op is its label (as in the reference), but aliasing a
        # primitive such as `x = tokens;` must not rename the primitive itself.
        if isinstance(value, RASPExpr) and not isinstance(value, (Tokens, Indices, Length)):
            value.label = name
            value.owner = env.scope
        env.variables[name] = value

    def _bind_iteration(self, env: Environment, names: list[str], item: Any, pos: SourcePos | None) -> None:
        if len(names) == 1:
            self._bind(env, names[0], item, pos)
            return
        if not isinstance(item, (list, str)) or len(item) != len(names):
            raise RaspValueError(f"cannot unpack {item!r} into {len(names)} names", pos=pos)
        for n, v in zip(names, item):
            self._bind(env, n, v, pos)

    def _load(self, stmt: ast.Load, env: Environment) -> list[Result]:
        path = self._resolve_load(stmt.path, stmt.pos)
        try:
            source = read_text(path, "program")
            # Reading and running a file is work too: a loop of loads must not run for hours.
            self._step(stmt.pos, LOAD_STEPS + len(source) // 10)
            self.run_file(path, env, source=source, loaded=True)
        except RaspLoadError as e:
            e.with_pos(stmt.pos)
            raise
        return []

    def _resolve_load(self, name: str, pos: SourcePos) -> Path:
        """The file `load "name";` means: a .rasp file inside the folders a program may read
        (see `sandbox`); anything else is refused without saying whether it exists."""
        roots = self._load_roots(pos)
        found = find_inside(name, roots, SOURCE_SUFFIXES)
        if found is not None:
            return found
        if Path(name).suffix and not has_suffix(name, SOURCE_SUFFIXES):
            raise RaspLoadError(f"cannot load {shown_name(name)!r}: load reads only RASP sources (.rasp files)",
                                pos=pos)
        raise not_inside("load", name, ".rasp", "load", roots, pos,
                         hint="load reads .rasp files next to the loading file (and below), in the working folder "
                         "(and below) and in the stdlib; absolute paths and '..' must stay inside them")

    def _load_roots(self, pos: SourcePos | None) -> list[Path]:
        """The folders a program whose statement is at `pos` may read files from."""
        return program_roots(pos, stdlib_dir())

    # --- expressions ---------------------------------------------------------------------

    def _eval_many(self, exprs: list[ast.Node], env: Environment) -> Any:
        values = [self.eval(e, env) for e in exprs]
        return values[0] if len(values) == 1 else values

    def eval(self, node: ast.Node, env: Environment) -> Any:
        method = getattr(self, "_eval_" + type(node).__name__)
        try:
            return method(node, env)
        except RaspError as e:
            e.with_pos(node.pos)
            raise

    def _eval_Literal(self, node: ast.Literal, env: Environment) -> Any:
        return node.value

    def _eval_Name(self, node: ast.Name, env: Environment) -> Any:
        try:
            return env.lookup(node.id)
        except KeyError:
            import difflib

            close = difflib.get_close_matches(node.id, env.all_names(), n=1)
            hint = f"did you mean '{close[0]}'?" if close else None
            raise RaspNameError(f"name '{node.id}' is not defined", pos=node.pos, hint=hint) from None

    def _eval_ListLit(self, node: ast.ListLit, env: Environment) -> Any:
        return [self.eval(i, env) for i in node.items]

    def _eval_DictLit(self, node: ast.DictLit, env: Environment) -> Any:
        result = {}
        for k, v in node.pairs:
            key = self.eval(k, env)
            if not is_atom(key):
                raise RaspTypeError(f"dict keys must be atoms, got a {type_name(key)}", pos=k.pos)
            result[key] = self.eval(v, env)
        return result

    def _iterate(self, names: list[str], iterable_node: ast.Node, env: Environment,
                 condition: ast.Node | None = None) -> Iterator[Environment]:
        """One environment per item of a comprehension, the items its `if` rejects left out."""
        iterable = self.eval(iterable_node, env)
        if not isinstance(iterable, (list, dict)):
            raise RaspTypeError(f"comprehensions iterate over a list or dict, got a {type_name(iterable)}", pos=iterable_node.pos)
        for item in list(iterable):
            self._step(iterable_node.pos)
            inner = env.child()
            self._bind_iteration(inner, names, item, iterable_node.pos)
            if condition is not None and not self._keep(condition, inner):
                continue
            yield inner

    def _keep(self, condition: ast.Node, env: Environment) -> bool:
        value = self.eval(condition, env)
        if not is_atom(value):
            raise RaspTypeError(f"a comprehension's 'if' needs an atom, got a {type_name(value)}", pos=condition.pos)
        return bool(value)

    def _eval_ListComp(self, node: ast.ListComp, env: Environment) -> Any:
        return [self.eval(node.value, inner) for inner in self._iterate(node.names, node.iterable, env, node.condition)]

    def _eval_DictComp(self, node: ast.DictComp, env: Environment) -> Any:
        result = {}
        for inner in self._iterate(node.names, node.iterable, env, node.condition):
            key = self.eval(node.key, inner)
            if not is_atom(key):
                raise RaspTypeError(f"dict keys must be atoms, got a {type_name(key)}", pos=node.key.pos)
            result[key] = self.eval(node.value, inner)
        return result

    def _eval_BinOp(self, node: ast.BinOp, env: Environment) -> Any:
        return binary(node.op, self.eval(node.left, env), self.eval(node.right, env), node.pos)

    def _eval_UnaryOp(self, node: ast.UnaryOp, env: Environment) -> Any:
        return unary(node.op, self.eval(node.operand, env), node.pos)

    def _eval_Ternary(self, node: ast.Ternary, env: Environment) -> Any:
        cond = self.eval(node.cond, env)
        if isinstance(cond, Selector):
            raise RaspTypeError("a selector cannot be a condition", pos=node.cond.pos)
        if isinstance(cond, SOp):
            then, otherwise = self.eval(node.then, env), self.eval(node.otherwise, env)
            return lift(lambda c, a, b: a if c else b, [cond, then, otherwise], "if-else", node.pos)
        # An atom condition only evaluates the branch taken, so recursion can stop.
        return self.eval(node.then if cond else node.otherwise, env)

    def _eval_Contains(self, node: ast.Contains, env: Environment) -> Any:
        return contains(self.eval(node.item, env), self.eval(node.container, env), node.pos)

    def _eval_SelectExpr(self, node: ast.SelectExpr, env: Environment) -> Any:
        return select(self.eval(node.keys, env), self.eval(node.queries, env), node.op, node.pos)

    def _eval_Lambda(self, node: ast.Lambda, env: Environment) -> Any:
        return Function("lambda", node.params, node.body, env, node.pos)

    def _eval_Index(self, node: ast.Index, env: Environment) -> Any:
        target = self.eval(node.target, env)
        index = self.eval(node.index, env)
        pos = node.pos
        if isinstance(target, SOp):
            # a boolean is an integer here, as in the reference (Python's): True loads position 1
            if not isinstance(index, int):
                raise RaspTypeError(f"an s-op is indexed by an integer, got a {type_name(index)}", pos=pos)
            where: Any = index
            if index < 0:
                where = binary("+", Length(), index, pos)
            loaded = Aggregate(selector=select(Indices(), where, "==", pos), sop=target).at(pos)
            loaded.label = f"{target.name}[{index}]"
            return loaded
        if isinstance(target, (list, dict, str)) and isinstance(index, SOp):
            return table_lookup(target, index, pos)
        if isinstance(target, (list, str)):
            if not isinstance(index, int):
                raise RaspTypeError(f"a {type_name(target)} is indexed by an integer, got a {type_name(index)}", pos=pos)
            if not -len(target) <= index < len(target):
                raise RaspValueError(f"index {index} out of range for a {type_name(target)} of length {len(target)}", pos=pos)
            return target[index]
        if isinstance(target, dict):
            if not is_atom(index):
                raise RaspTypeError(f"dict keys are atoms, got a {type_name(index)}", pos=pos)
            if index not in target:
                raise RaspValueError(f"key {index!r} is not in the dict", pos=pos)
            return target[index]
        raise RaspTypeError(f"cannot index into a {type_name(target)}", pos=pos)

    def _eval_Call(self, node: ast.Call, env: Environment) -> Any:
        func = self.eval(node.func, env)
        args = [self.eval(a, env) for a in node.args]
        return self.call(func, args, node.pos)

    # --- calls -------------------------------------------------------------------------------

    def call(self, func: Any, args: list[Any], pos: SourcePos | None) -> Any:
        if isinstance(func, Builtin):
            if not func.min_args <= len(args) <= func.max_args:
                raise RaspArgumentError(f"{func.signature} takes {_count(func.min_args, func.max_args)}, got {len(args)}", pos=pos)
            return func.fn(*args, pos=pos)
        if isinstance(func, Function):
            return self._call_function(func, args, pos)
        if isinstance(func, RASPExpr):
            # Applying an s-op to an input evaluates it, as in the reference REPL.
            if len(args) != 1:
                raise RaspArgumentError(f"applying '{func.name}' to an input takes 1 argument, got {len(args)}", pos=pos)
            return evaluate(func, args[0])
        raise RaspTypeError(f"a {type_name(func)} is not callable", pos=pos)

    def _call_function(self, func: Function, args: list[Any], pos: SourcePos | None) -> Any:
        if len(args) != len(func.params):
            raise RaspArgumentError(
                f"{func.name}({', '.join(func.params)}) takes {_count(len(func.params), len(func.params))}, got {len(args)}",
                pos=pos,
            )
        self._step(pos, CALL_STEPS)
        if self._depth >= MAX_CALL_DEPTH:
            raise RaspRecursionError(
                f"too many nested calls (over {MAX_CALL_DEPTH}) in '{func.name}': does its recursion ever stop?",
                pos=pos,
                hint="RASP functions build s-ops; recursion must end through a condition on atoms",
            )
        env = func.env.child()
        env.scope = Scope()
        caller = self._scopes[-1] if self._scopes else None
        for p, a in zip(func.params, args):
            if p in RESERVED:  # as in the reference, a parameter cannot rebind indices, length, ...
                raise RaspNameError(f"'{func.name}' has a parameter named '{p}', a reserved name", pos=func.pos)
            env.variables[p] = a
        self._depth += 1
        self._scopes.append(env.scope)
        try:
            if isinstance(func.body, ast.Node):
                result = self.eval(func.body, env)
            else:
                try:
                    for stmt in func.body:
                        self.execute(stmt, env)
                except _ReturnSignal as r:
                    result = r.value
                else:
                    raise RaspValueError(f"function '{func.name}' ended without a return statement", pos=func.pos)
        finally:
            self._depth -= 1
            self._scopes.pop()
        env.scope.result = result
        if isinstance(result, RASPExpr) and result.label is None and func.name != "lambda":
            # An unnamed result is labelled by its call, in the caller's scope (a lambda's
            # keeps its own expression: "lambda(x)" would say less).
            result.label = _call_label(func.name, args)
            result.owner = caller
        return result

    def call_elementwise(self, func: Any, pos: SourcePos | None) -> Callable[..., Any]:
        """A RASP function as a Python function on atoms (for `map`)."""

        def apply(*values: Any) -> Any:
            if self._steps is not None:  # run inside a statement: the statement's budget pays
                out = self.call(func, list(values), pos)
            else:
                # Run on an input: every application of this map in this evaluation shares
                # one budget (`rasp.ir.work`); called on its own, an application has one.
                work = current_map_work()
                self._steps, self._map_work = (work.used if work else 0), work
                try:
                    out = self.call(func, list(values), pos)
                finally:
                    if work is not None:
                        work.used = self._steps
                    self._steps, self._map_work = None, None
            if not is_atom(out):
                raise RaspTypeError(f"a function used in map must return an atom, got a {type_name(out)}", pos=pos)
            return out

        return apply


def map_budget(calls: int) -> int:
    """The steps all applications of a map over `calls` distinct arguments may take."""
    return MAX_STEPS + MAP_STEPS_PER_VALUE * calls


def _count(lo: int, hi: int) -> str:
    n = f"{lo}" if lo == hi else f"{lo} to {hi}"
    return f"{n} argument{'s' if hi != 1 else ''}"


def guarded(thunk: Callable[[], Any]) -> Any:
    """Run interpreter work, turning Python's own limits into RaspErrors."""
    try:
        return thunk()
    except RecursionError:
        raise RaspRecursionError("program is nested too deeply to evaluate") from None
    except _ReturnSignal:
        raise RaspError("'return' outside a function") from None


# --- builtins ---------------------------------------------------------------------------------


def _builtin_values(interp: Interpreter) -> dict[str, Any]:
    def aggregate(sel: Any, sop: Any, default: Any = None, *, pos: SourcePos | None) -> Any:
        if not isinstance(sel, Selector):
            raise RaspTypeError(f"aggregate expects a selector first, got a {type_name(sel)}", pos=pos)
        if default is not None and not is_atom(default):
            raise RaspTypeError(f"aggregate's default must be an atom, got a {type_name(default)}", pos=pos)
        return Aggregate(selector=sel, sop=to_sop(sop, pos), default=default).at(pos)

    def selector_width(sel: Any, *, pos: SourcePos | None) -> Any:
        if not isinstance(sel, Selector):
            raise RaspTypeError(f"selector_width expects a selector, got a {type_name(sel)}", pos=pos)
        return SelectorWidth(selector=sel).at(pos)

    def range_(*args: Any, pos: SourcePos | None) -> Any:
        if not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            raise RaspTypeError("range expects integers", pos=pos)
        r = range(*args)
        if len(r) > 100_000:
            raise RaspValueError("range is too long (over 100000 items)", pos=pos)
        return list(r)

    def zip_(*lists: Any, pos: SourcePos | None) -> Any:
        if not all(isinstance(x, list) for x in lists):
            raise RaspTypeError("zip expects lists", pos=pos)
        if len({len(x) for x in lists}) > 1:
            raise RaspValueError("zip expects lists of equal length", pos=pos)
        return [list(t) for t in zip(*lists)]

    def len_(x: Any, *, pos: SourcePos | None) -> Any:
        if not isinstance(x, (list, dict, str)):
            raise RaspTypeError(f"len expects a list, dict or string, got a {type_name(x)}", pos=pos)
        return len(x)

    def map_(func: Any, *sops: Any, pos: SourcePos | None) -> Any:
        if not isinstance(func, (Function, Builtin)):
            raise RaspTypeError(f"map expects a function first, got a {type_name(func)}", pos=pos)
        if not any(isinstance(s, SOp) for s in sops):
            return interp.call(func, list(sops), pos)
        shown_func = Verbatim(f"lambda {', '.join(func.params)}: ..." if func.name == "lambda" else func.name)
        return lift(interp.call_elementwise(func, pos), list(sops), "map", pos, shown=[shown_func, *sops])

    def draw(expr: Any, example: Any, *, pos: SourcePos | None) -> Any:
        # The reference's `draw(expr, "input")`: here it writes NAME.svg (or NAME-2.svg, ...
        # so no earlier file is replaced) with rasp's own drawing.
        if not isinstance(expr, RASPExpr):
            raise RaspTypeError(f"draw expects an s-op or selector first, got a {type_name(expr)}", pos=pos)
        if not interp.draw_files:
            if not any(w.message.startswith(DRAW_SKIPPED) for w in interp.warnings):
                interp.warnings.append(RaspWarning(
                    f"{DRAW_SKIPPED}: drawings are written only when asked (rasp run --draw, or in the REPL)",
                    pos=pos))
            return "not drawn"
        from ..view.draw import draw_to_new_file

        return f"wrote {draw_to_new_file(expr, example)}"

    def read_tsv(name: Any, *, pos: SourcePos | None) -> Any:
        # A data file (a lexicon) as a dict; its own sandbox rule, in rasp/language/tables.py.
        from .tables import read_table, resolve_table

        if not isinstance(name, str):
            raise RaspTypeError(f"read_tsv expects a file name (a string), got a {type_name(name)}", pos=pos)
        path = resolve_table(name, interp._load_roots(pos), pos)
        table = read_table(path, pos)
        interp._step(pos, LOAD_STEPS + len(table) // 10)
        return table

    def declare_lexicon(*values: Any, pos: SourcePos | None) -> Any:
        interp.lexicon = interp.lexicon or Lexicon()
        return interp.lexicon.declare(values, pos)

    def builtin(name: str, fn: Callable[..., Any], lo: int, hi: int, sig: str, doc: str) -> Builtin:
        return Builtin(name, fn, lo, hi, sig, doc)

    values: dict[str, Any] = {
        "tokens_str": Tokens(kind="str"),
        "tokens_int": Tokens(kind="int"),
        "tokens_float": Tokens(kind="float"),
        "tokens_bool": Tokens(kind="bool"),
        "tokens_asis": Tokens(kind="asis"),
        "indices": Indices(),
        "length": Length(),
        "True": True,
        "False": False,
    }
    values["tokens"] = values["tokens_str"]
    builtins = [
        builtin("aggregate", aggregate, 2, 3, "aggregate(selector, sop[, default])",
                "mean of the selected values at each position; default where nothing is selected"),
        builtin("selector_width", selector_width, 1, 1, "selector_width(selector)",
                "number of positions each position selects"),
        builtin("range", range_, 1, 3, "range([start,] stop[, step])", "a list of integers"),
        builtin("zip", zip_, 1, 16, "zip(list, ...)", "lists of corresponding items"),
        builtin("len", len_, 1, 1, "len(list)", "length of a list, dict or string"),
        builtin("round", lambda x, *, pos: round_value(x, pos), 1, 1, "round(x)", "round to the nearest integer"),
        builtin("indicator", lambda x, *, pos: indicator(x, pos), 1, 1, "indicator(sop)", "1 where true, else 0"),
        builtin("map", map_, 2, 1 + MAX_MAP_SOPS, "map(function, sop, ...)", "apply a function to each position"),
        builtin("read_tsv", read_tsv, 1, 1, "read_tsv(\"file.tsv\")",
                "a dict of a TSV file's first column to its second (numbers read as numbers)"),
        builtin("draw", draw, 2, 2, "draw(sop, input)",
                "draw the computation graph on an input to NAME.svg (Graphviz)"),
        builtin("declare_lexicon", declare_lexicon, 1, 16, "declare_lexicon(words, ...)",
                "the words the program knows (lists, dicts' keys): inputs with others get a warning"),
    ]
    values.update({b.name: b for b in builtins})
    return values


sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
