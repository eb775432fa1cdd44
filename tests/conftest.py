"""Shared fixtures for the language, stdlib and program tests."""

from __future__ import annotations

from pathlib import Path

import pytest

import rasp

REPO = Path(__file__).resolve().parent.parent
PROGRAMS = REPO / "programs"


@pytest.fixture(scope="session")
def stdlib_program():
    """One program with only the stdlib loaded; its s-ops are read-only, so sharing is safe."""
    return rasp.from_source("")


@pytest.fixture
def programs_dir() -> Path:
    return PROGRAMS
