"""rasp: the RASP language (Weiss et al. 2021): interpreter, REPL and a compiler to torch weights.

    import rasp
    prog = rasp.load("programs/sort.rasp")
    prog("hello")                      # interpret
    model = rasp.compile(prog, vocab="abcdehlo", max_len=8)   # exact transformer weights
"""

from .errors import RaspError, optional_packages
from .ir.evaluate import evaluate_batch
from .language.program import Program, from_source, load
from .language.program import evaluate_source as evaluate
from .view import display as _display  # noqa: F401 - registers the notebook display of s-ops

__all__ = ["RaspError", "Program", "load", "from_source", "evaluate", "evaluate_batch", "compile", "load_model"]
__version__ = "0.1.0"


def compile(program, vocab, max_len, **options):  # noqa: A001 - mirrors the CLI verb
    """Compile a Program (or an s-op) into an exact torch transformer; see rasp.compiler."""
    with optional_packages():  # torch is an optional extra: say how to get it
        from .compiler import compile_program

        return compile_program(program, vocab=vocab, max_len=max_len, **options)


def load_model(path):
    """Load a model file written by `rasp compile` or `rasp train` (one .safetensors file)."""
    with optional_packages():
        from .models import load_any

        return load_any(path)
