"""rasp: the RASP language (Weiss et al. 2021): interpreter, REPL and a compiler to torch weights.

    import rasp
    prog = rasp.load("programs/sort.rasp")
    prog("hello")                      # interpret
    model = rasp.compile(prog, vocab="abcdehlo", max_len=8)   # exact transformer weights
"""

from typing import Any

from .errors import RaspError, optional_packages

__all__ = ["RaspError", "Program", "load", "from_source", "evaluate", "evaluate_batch", "compile", "load_model"]
__version__ = "0.1.0"

# The language and its numpy/networkx machinery load on first use (`rasp --version` and
# the CLI's argument parsing stay fast); loading them registers the notebook display.
_LAZY = {
    "Program": ("language.program", "Program"),
    "load": ("language.program", "load"),
    "from_source": ("language.program", "from_source"),
    "evaluate": ("language.program", "evaluate_source"),
    "evaluate_batch": ("ir.evaluate", "evaluate_batch"),
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'rasp' has no attribute {name!r}")
    import importlib

    from .view import display  # noqa: F401 - registers the notebook display of s-ops

    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(f".{module}", __name__), attr)
    globals()[name] = value
    return value


def compile(program, vocab, max_len, **options):  # noqa: A001 - mirrors the CLI verb
    """Compile a Program (or an s-op) into an exact torch transformer; see rasp.compiler.

    Options: causal (bool), no_pos (bool, with causal), output (an s-op name), reuse (bool),
    device (e.g. "cuda"), dtype ("float64", "float32", ...), max_params (int, or None for no
    limit), tokenizer (a registered tokenizer's name, e.g. "vader": `model.run(text)` splits
    text with it, and the saved model records it), unk (an unknown token: an open vocabulary),
    tolerance (for fitted continuous maps). Arguments of the wrong type are a RaspArgumentError,
    not a traceback."""
    _check_compile_args(program, vocab, max_len, options)
    with optional_packages():  # torch is an optional extra: say how to get it
        from .compiler import compile_program

        return compile_program(program, vocab=vocab, max_len=max_len, **options)


_COMPILE_OPTIONS = {
    "causal": (bool,), "no_pos": (bool,), "reuse": (bool,), "output": (str, type(None)),
    "device": (str, type(None)), "dtype": (str,), "max_params": (int, type(None)),
    "tokenizer": (str, type(None)), "unk": (str, type(None)), "tolerance": (float,),
}


def _check_compile_args(program, vocab, max_len, options) -> None:
    from .errors import RaspArgumentError
    from .ir.sops import SOp
    from .language.program import Program

    def wrong(what: str, value) -> RaspArgumentError:
        return RaspArgumentError(f"rasp.compile: {what}, got {type(value).__name__} {_short(value)}")

    if not isinstance(program, (Program, SOp)):
        raise wrong("program must be a rasp.Program (from rasp.load) or an s-op", program)
    if isinstance(vocab, (bytes, dict)) or not isinstance(vocab, (str, list, tuple, set, frozenset)):
        raise wrong("vocab must be a string ('abc' or 'a,b,c') or a list of tokens", vocab)
    bad = next((t for t in vocab if isinstance(t, bool) or not isinstance(t, (str, int, float))), None)
    if bad is not None:
        raise wrong("vocab tokens must be strings or numbers", bad)
    if isinstance(max_len, bool) or not isinstance(max_len, int):
        raise wrong("max_len must be a whole number", max_len)
    for name, value in options.items():
        if name not in _COMPILE_OPTIONS:
            raise RaspArgumentError(f"rasp.compile: unknown option {name!r}; options: {', '.join(_COMPILE_OPTIONS)}")
        if not isinstance(value, _COMPILE_OPTIONS[name]):
            raise wrong(f"{name} must be {' or '.join(t.__name__ for t in _COMPILE_OPTIONS[name])}", value)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def load_model(path):
    """Load a model file written by `rasp compile` or `rasp train` (one .safetensors file)."""
    with optional_packages():
        from .models import load_any

        return load_any(path)
