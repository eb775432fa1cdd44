"""Write and run docs/tutorial.ipynb (saved with its outputs, so GitHub shows them).

    .venv/bin/python docs/build_tutorial.py

The cells are here, in order; tests/test_notebook.py runs the saved notebook again."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent

CELLS: list[tuple[str, str]] = [
    ("markdown", """# rasp in a notebook: write, run, compile, trace, train, compare

RASP ("Thinking Like Transformers", Weiss et al. 2021) is a language whose programs are
transformers. This notebook writes a program, runs it with the interpreter, compiles it to
exact transformer weights (a `torch.nn.Module`), looks inside the model layer by layer,
trains a transformer of the same shape from random weights, and compares its attention
heads with the compiled ones."""),
    ("markdown", """## Write and run

`rasp.from_source` runs RASP source (after the standard library) and returns a `Program`;
`rasp.load(path)` does the same for a `.rasp` file. Calling a program on an input runs its
output s-op, the last one it assigns, with the interpreter."""),
    ("code", """import rasp

prog = rasp.from_source('''
flip = select(indices, length - indices - 1, ==);
reversed_tokens = aggregate(flip, tokens);
''')
prog("hello")"""),
    ("markdown", """S-ops and selectors display as their value on an example input (`hello` unless
`rasp.view.display.set_example` says otherwise); a selector as a matrix, queries down the
side and keys along the top."""),
    ("code", """prog["flip"]"""),
    ("code", """prog.layers()   # layers and heads, counted as in the RASP paper"""),
    ("markdown", """Programs in files work the same way; `sort` is one of the examples in `programs/`."""),
    ("code", """sort = rasp.load("../programs/sort.rasp")
sort("banana"), sort.batch(["cab", "bca"])"""),
    ("markdown", """## Compile

`rasp.compile` returns a `CompiledModel`: a `torch.nn.Module` (parameters, `eval()`,
`state_dict()`, `to(device)`) whose weights compute the program exactly, with the residual
layout that decodes its activations back into the program's s-ops."""),
    ("code", """import torch

model = rasp.compile(prog, vocab="abc", max_len=6)
print(isinstance(model, torch.nn.Module), sum(p.numel() for p in model.parameters()), "parameters")
model"""),
    ("code", """model.run("cab"), prog("cab")"""),
    ("markdown", """## Trace

`model.trace(input)` runs the model and decodes the residual stream after every sublayer
into named s-ops, checking each value against the interpreter. In Jupyter it shows the
`rasp view` page inline; `print` gives the short summary."""),
    ("code", """t = model.trace("cab")
print(repr(t))
t"""),
    ("code", """import rasp.view.show

rasp.view.show.model_figure(model, "cab")   # heads and the final residual stream, no %matplotlib needed"""),
    ("markdown", """## Train and compare

A transformer of the compiled model's shape, trained from random weights on the
program's input-output pairs (a short run here), and each compiled head matched to the
trained head whose attention is most similar."""),
    ("code", """from rasp.train.loop import TrainOptions, fit, prepare

setup = prepare(prog.sop(), list("abc"), 6, False, TrainOptions(steps=300, d_model=32, seed=0))
result = fit(setup, progress=False)
print(f"held-out accuracy {result.initial_accuracy:.2f} before training, {result.accuracy:.2f} after")"""),
    ("code", """import numpy as np

from rasp.train import data
from rasp.train.compare import match_heads, summarize

inputs = data.sample_inputs(np.random.default_rng(0), list("abc"), 6, 100, "uniform")
summary = summarize(match_heads(model, result.model, inputs))
[(h["compiled"], round(h["similarity"], 2)) for h in summary["heads"]]"""),
]


def build() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for kind, text in CELLS:
        cell = nbformat.v4.new_code_cell(text) if kind == "code" else nbformat.v4.new_markdown_cell(text)
        nb.cells.append(cell)
    return nb


def execute(nb: nbformat.NotebookNode, timeout: int = 600) -> nbformat.NotebookNode:
    """Run every cell in docs/ (the notebook's relative paths start there)."""
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    return nb


def main() -> None:
    nb = execute(build())
    nbformat.write(nb, HERE / "tutorial.ipynb")
    print(f"wrote {HERE / 'tutorial.ipynb'}")


if __name__ == "__main__":
    main()
