"""The RASP compiler: programs to exact PyTorch transformer weights.

Pipeline, one module per stage: value sets (`valueset`) -> blocks over named
residual spaces (`blocks`) -> layer allocation (`allocate`) -> residual layout
(`layout`) -> weights (`assemble`) -> torch module (`model`). `verify` checks a
compiled model against the interpreter. torch is imported only when compiling: the
names below load `compiled` (which needs torch) on first use, so importing a stage
such as `rasp.compiler.estimate` stays light.
"""

from typing import Any

__all__ = ["CompiledModel", "compile_program", "load_model"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import compiled

        return getattr(compiled, name)
    raise AttributeError(f"module 'rasp.compiler' has no attribute {name!r}")
