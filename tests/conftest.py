"""Shared fixtures: a stdlib-loaded interpreter per test and helpers to run RASP source."""

from __future__ import annotations

from pathlib import Path

import pytest

import rasp

REPO = Path(__file__).resolve().parent.parent
PROGRAMS = REPO / "programs"


def run(source: str, raw, output: str | None = None):
    """Evaluate `source`'s output (or `output`) on one input."""
    return rasp.evaluate(source, raw, output)


def value(source: str, name: str):
    """The value `source` binds to `name` (atoms, lists, dicts, functions)."""
    return rasp.from_source(source)[name]


@pytest.fixture(scope="session")
def stdlib_program():
    """One program with only the stdlib loaded; its s-ops are read-only, so sharing is safe."""
    return rasp.from_source("")


@pytest.fixture
def programs_dir() -> Path:
    return PROGRAMS
