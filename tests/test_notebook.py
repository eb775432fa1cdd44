"""Issue 18, item 6: the notebook-first API. `rasp.compile` gives a real torch.nn.Module;
models, traces and layer reports have short reprs and HTML displays; figures show without
%matplotlib; docs/tutorial.ipynb is saved with its outputs and runs from top to bottom."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import torch
from nbclient import NotebookClient

import rasp
from rasp.view.show import model_figure

DOCS = Path(__file__).resolve().parent.parent / "docs"
TUTORIAL = DOCS / "tutorial.ipynb"
PROGRAMS = Path(__file__).resolve().parent.parent / "programs"


def test_compile_returns_a_torch_module():
    model = rasp.compile(rasp.load(PROGRAMS / "reverse.rasp"), vocab="abc", max_len=5)
    assert isinstance(model, torch.nn.Module)
    assert sum(p.numel() for p in model.parameters()) == model.summary()["params"]
    assert model.eval() is model and not model.training
    assert set(model.state_dict()) == {f"module.{k}" for k in model.module.state_dict()}
    ids = model.encode(["cab"])
    assert torch.equal(model(ids), model.module(ids))
    assert model.run("cab") == ["b", "a", "c"]


def test_reprs_are_short_and_notebooks_get_html():
    model = rasp.compile(rasp.load(PROGRAMS / "sort.rasp"), vocab="abcde", max_len=6)
    t = model.trace("cab")
    report = rasp.load(PROGRAMS / "sort.rasp").layers()
    for obj in (model, t, report):
        assert len(repr(obj)) < 300, repr(obj)
    assert "sorted_tokens" in repr(model) and "0 mismatches" in repr(t) and "2 layers" in repr(report)
    assert "<table>" in model._repr_html_() and "target_index" in model._repr_html_()
    page = t._repr_html_()
    assert page.startswith("<iframe srcdoc=") and "rasp viewer" in page
    assert "<table>" in report._repr_html_()


def test_figures_display_without_a_pyplot_backend():
    model = rasp.compile(rasp.load(PROGRAMS / "reverse.rasp"), vocab="abc", max_len=4)
    png = model_figure(model, "ab")._repr_png_()
    assert png.startswith(b"\x89PNG")


def test_tutorial_is_saved_with_its_outputs():
    nb = nbformat.read(TUTORIAL, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 8
    assert all(c.outputs for c in code), "every code cell keeps its output, so GitHub shows it"
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]


def test_tutorial_runs_from_top_to_bottom():
    nb = copy.deepcopy(nbformat.read(TUTORIAL, as_version=4))
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(DOCS)}}).execute()
    outputs = {c.source.splitlines()[-1]: c.outputs for c in nb.cells if c.cell_type == "code"}
    texts = "\n".join(
        o.get("text", "") + o.get("data", {}).get("text/plain", "") for outs in outputs.values() for o in outs
    )
    assert "['o', 'l', 'l', 'e', 'h']" in texts  # the interpreter
    assert "(['b', 'a', 'c'], ['b', 'a', 'c'])" in texts  # compiled model == interpreter
    assert "0 mismatches with the interpreter" in texts
    assert any("image/png" in o.get("data", {}) for outs in outputs.values() for o in outs)
    assert "held-out accuracy" in texts
