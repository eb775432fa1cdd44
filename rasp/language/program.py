"""`Program`: a loaded .rasp file as a Python object (the notebook-facing API)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import RaspNameError, RaspTypeError
from ..files import read_text
from ..ir.evaluate import Input, evaluate, evaluate_batch
from ..ir.sops import RASPExpr, SOp
from .interpreter import Interpreter, Result
from .operators import type_name


class Program:
    """The names a RASP source defined, and its output s-op (the last one it assigned)."""

    def __init__(self, interpreter: Interpreter, results: list[Result], source_name: str | None = None):
        self.interpreter = interpreter
        self.source_name = source_name
        self.defined = list(dict.fromkeys(r.name for r in results))
        sops = [r for r in results if isinstance(r.value, SOp)]
        self._default_output = sops[-1].name if sops else None

    @property
    def warnings(self) -> list:
        """RaspWarnings from parsing the program (e.g. an unbracketed chain of ternaries)."""
        return list(self.interpreter.warnings)

    @property
    def env(self):
        return self.interpreter.globals

    def __getitem__(self, name: str) -> Any:
        try:
            return self.env.lookup(name)
        except KeyError:
            raise RaspNameError(f"'{name}' is not defined by {self.source_name or 'this program'}") from None

    def __contains__(self, name: str) -> bool:
        return self.env.has(name)

    @property
    def output_name(self) -> str:
        if self._default_output is None:
            raise RaspNameError(f"{self.source_name or 'this program'} assigns no s-op to use as output")
        return self._default_output

    def sop(self, name: str | None = None) -> SOp:
        """The s-op called `name`, or the program's output."""
        value = self[name or self.output_name]
        if not isinstance(value, RASPExpr):
            raise RaspTypeError(f"'{name or self.output_name}' is not an s-op (it is of type {type_name(value)})")
        return value

    @property
    def output(self) -> SOp:
        return self.sop()

    def __call__(self, raw: Input, output: str | None = None) -> list[Any]:
        return evaluate(self.sop(output), raw)

    def batch(self, inputs: Iterable[Input], output: str | None = None) -> list[list[Any]]:
        return evaluate_batch(self.sop(output), inputs)

    @property
    def lexicon(self):
        """The words the program declared with `declare_lexicon` (a Lexicon), or None."""
        return self.interpreter.lexicon

    def unknown_words(self, raw: Input) -> list[Any]:
        """The input's tokens outside the declared lexicon (none when nothing is declared)."""
        from ..ir.evaluate import tokenize

        return self.lexicon.unknown(tokenize(raw)) if self.lexicon else []

    def input_warnings(self, raw: Input) -> list:
        """A RaspWarning naming the input's words outside the declared lexicon, if any."""
        from collections import Counter

        warning = self.lexicon.warning(Counter(self.unknown_words(raw))) if self.lexicon else None
        return [warning] if warning else []

    def layers(self, output: str | None = None):
        from ..ir.analysis import analyse

        return analyse(self.sop(output))

    def _repr_svg_(self) -> str | None:
        """Jupyter display: the output's computation graph on the notebook example (Graphviz)."""
        if self._default_output is None:
            return None
        from ..view.display import get_example
        from ..view.draw import render

        try:
            return render(self.output, get_example(), "svg").decode("utf-8")
        except Exception:  # noqa: BLE001 - no Graphviz: Jupyter falls back to the repr
            return None

    def __repr__(self) -> str:
        out = self._default_output or "-"
        return f"<rasp.Program {self.source_name or ''} output={out} names={len(self.defined)}>"


def load(path: str | Path, stdlib: bool = True) -> Program:
    """Run a .rasp file (after the stdlib) and return its names and output."""
    source = read_text(path, "program")  # first, so an unreadable file fails before the stdlib loads
    interp = Interpreter(load_stdlib=stdlib)
    results = interp.run_file(path, source=source)
    return Program(interp, results, str(path))


def from_source(source: str, stdlib: bool = True, filename: str | None = None) -> Program:
    interp = Interpreter(load_stdlib=stdlib)
    return Program(interp, interp.run_source(source, filename), filename)


def evaluate_source(source: str, raw: Input, output: str | None = None) -> list[Any]:
    """Run RASP source and evaluate its output (or `output`) on one input."""
    return from_source(source)(raw, output)
