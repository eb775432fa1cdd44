"""The README's quick figures are what the code produces now (bench/readme_figures.py):
a change that moves one fails here until the README says the new figure."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench" / "readme_figures.py"


def _figures_module():
    spec = importlib.util.spec_from_file_location("readme_figures", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


figures = _figures_module()
QUICK = [f for f in figures.FIGURES if not f.slow]


@pytest.mark.parametrize("figure", QUICK, ids=[f.name for f in QUICK])
def test_readme_figure_is_current(figure):
    if figure.name.startswith("reverse compiled"):
        pytest.importorskip("torch")
    text = figures.README.read_text(encoding="utf-8")
    assert figure.find(text).group(1) == figure.compute()


def test_every_figure_pattern_still_finds_its_text():
    # the slow figures too: a README edit that loses one is caught without compiling it
    text = figures.README.read_text(encoding="utf-8")
    for figure in figures.FIGURES:
        assert figure.find(text).group(1)


def test_a_stale_figure_is_reported(tmp_path):
    stale = figures.Figure("x", r"answer (\d+)", lambda: "42")
    [(_, written, computed)] = figures.check([stale], "the answer 41 is stale")
    assert (written, computed) == ("41", "42")
