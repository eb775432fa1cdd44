"""A program's declared lexicon, and warnings for input words outside it.

A language program (translate, grammaticality, sentiment) knows a fixed set of words and
does something quiet with any other: translate passes it through untranslated, the
grammaticality program gives it category "X", sentiment scores it neutral. A program that
says which words it knows,

    declare_lexicon(LEXICON);            # a dict's keys, a list, or several of them

gets a warning, not silence, when an input holds a word outside them:

    prog.rasp:130:1: warning: the input has 1 word outside the lexicon this program declares: 'eats.'

`rasp run` and `rasp eval` print it (eval: once, with counts over the corpus);
`Program.unknown_words(raw)` and `Program.input_warnings(raw)` give it to Python.
Declarations add up; a program without one never warns.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import RaspTypeError, RaspWarning, SourcePos
from .operators import is_atom, type_name

SHOWN = 8  # unknown words named in one warning


@dataclass
class Lexicon:
    words: set[Any] = field(default_factory=set)
    pos: SourcePos | None = None  # the first declaration

    def declare(self, values: Iterable[Any], pos: SourcePos | None) -> list[Any]:
        """Add the words of lists, dicts (their keys) and single atoms; return them."""
        added: list[Any] = []
        for value in values:
            items = list(value) if isinstance(value, (list, dict)) else [value]
            for w in items:
                if not is_atom(w):
                    raise RaspTypeError(f"declare_lexicon takes words (atoms), lists or dicts of them, "
                                        f"got a {type_name(w)}", pos=pos)
                added.append(w)
        self.words.update(added)
        self.pos = self.pos or pos
        return added

    def unknown(self, tokens: Iterable[Any]) -> list[Any]:
        """The tokens outside the lexicon, each once, in the order they first appear."""
        return list(dict.fromkeys(t for t in tokens if t not in self.words))

    def warning(self, unknown: Counter, inputs: int | None = None) -> RaspWarning | None:
        """One warning naming the unknown words (with counts over a corpus of `inputs`)."""
        if not unknown:
            return None
        words = [w for w, _ in unknown.most_common(SHOWN)]
        if inputs is None:
            shown = ", ".join(repr(w) for w in words)
            n = len(unknown)
            message = f"the input has {n} word{'s' if n != 1 else ''} outside the lexicon this program declares: {shown}"
        else:
            shown = ", ".join(f"{w!r} ({unknown[w]})" for w in words)
            message = (f"{len(unknown)} distinct words of the {inputs} inputs are outside the lexicon this "
                       f"program declares: {shown}")
        if len(unknown) > SHOWN:
            message += f", and {len(unknown) - SHOWN} more"
        return RaspWarning(message, pos=self.pos, hint="the program has no entry for these words: it treats them as it treats any unknown word")
