"""The RASP compiler: programs to exact PyTorch transformer weights.

Pipeline, one module per stage: value sets (`valueset`) -> blocks over named
residual spaces (`blocks`) -> layer allocation (`allocate`) -> residual layout
(`layout`) -> weights (`assemble`) -> torch module (`model`). `verify` checks a
compiled model against the interpreter. torch is imported only when compiling.
"""

from .compiled import CompiledModel, compile_program, load_model

__all__ = ["CompiledModel", "compile_program", "load_model"]
