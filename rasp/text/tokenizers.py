"""The one registry of tokenizers: `--tokenizer NAME` on the command line, `tokenizer=` in Python.

Each tokenizer is a named function from raw text to a list of string tokens, with a one-line
description that `--help` and the README repeat. Tokenizers of the language programs live in
modules of their own beside this one and register themselves here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import RaspInputError


@dataclass(frozen=True)
class Tokenizer:
    name: str
    description: str  # exactly what it does, in one or two sentences
    split: Callable[[str], list[str]]

    def __call__(self, text: str) -> list[str]:
        return self.split(text)


TOKENIZERS: dict[str, Tokenizer] = {}


def register_tokenizer(name: str, description: str) -> Callable[[Callable[[str], list[str]]], Callable[[str], list[str]]]:
    """Decorator: register `split` under `name`."""

    def wrap(split: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
        if name in TOKENIZERS:
            raise ValueError(f"tokenizer {name!r} is registered twice")
        TOKENIZERS[name] = Tokenizer(name, description, split)
        return split

    return wrap


@register_tokenizer("chars", "one token per character, nothing dropped or changed")
def _chars(text: str) -> list[str]:
    return list(text)


@register_tokenizer("words", "split on runs of whitespace; tokens keep their case and punctuation")
def _words(text: str) -> list[str]:
    return text.split()


def get_tokenizer(name: str) -> Tokenizer:
    """The registered tokenizer `name`, or a RaspInputError listing the known ones."""
    _load_builtin_modules()
    try:
        return TOKENIZERS[name]
    except KeyError:
        known = ", ".join(sorted(TOKENIZERS))
        raise RaspInputError(f"unknown tokenizer {name!r}; known tokenizers: {known}") from None


def tokenize(text: str, name: str) -> list[str]:
    return get_tokenizer(name)(text)


def _load_builtin_modules() -> None:
    """Import the modules that register the language programs' tokenizers (vader, blimp, ...).
    Listed here so that one name is all a caller needs; each import registers itself once."""
    import importlib

    for module in _BUILTIN_MODULES:
        importlib.import_module(module, __package__)


_BUILTIN_MODULES: list[str] = [".vader", ".blimp"]  # the language programs' tokenizers
