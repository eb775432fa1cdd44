"""Open vocabularies: a compiled model that runs on any text.

A model compiled with an unknown token (`--unk '<unk>'`) maps every input token outside its
vocabulary to a vocabulary token before looking up ids:

* vocabulary entries that hold the unknown token inside literal text are *shapes*: `^<unk>`
  (a prefix), `<unk>s`, `<unk>n't` (suffixes), `^<unk>s` (both). A shape `P<unk>S` matches
  a token that starts with P, ends with S and has at least one character left between them;
* an unknown token becomes the matching shape with the most literal characters
  (len(P) + len(S)); a tie goes to the longer prefix, then to the shape listed first;
* with no matching shape, it becomes the unknown token itself.

Shapes are ordinary tokens: the program sees `<unk>s` and treats it as it would any word
(its lexicon defaults apply), so a case marker or an ending survives on a word the model
has never seen. Known tokens are never changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import RaspInputError
from ..files import read_text

MAX_VOCAB_FILE_BYTES = 64_000_000


@dataclass(frozen=True)
class Shape:
    token: str  # the vocabulary entry, e.g. "<unk>n't"
    prefix: str
    suffix: str

    def matches(self, word: str) -> bool:
        return (len(word) > len(self.prefix) + len(self.suffix)
                and word.startswith(self.prefix) and word.endswith(self.suffix))


class OpenVocab:
    """The mapping of input tokens onto a vocabulary with an unknown token (see module doc)."""

    def __init__(self, vocab: Sequence[Any], unk: str):
        if unk == "":
            raise RaspInputError("the unknown token cannot be empty")
        self.unk = unk
        self.known = {t for t in vocab if isinstance(t, str)}
        shapes = [Shape(t, *t.split(unk, 1)) for t in vocab if isinstance(t, str) and unk in t and t != unk]
        # most literal characters first, then the longer prefix; `sorted` keeps file order on ties
        self.shapes = sorted(shapes, key=lambda s: (-(len(s.prefix) + len(s.suffix)), -len(s.prefix)))
        self.memo: dict[str, str] = {}

    def map(self, token: Any) -> Any:
        if not isinstance(token, str) or token in self.known:
            return token
        if token not in self.memo:
            self.memo[token] = next((s.token for s in self.shapes if s.matches(token)), self.unk)
        return self.memo[token]

    def shape_tokens(self) -> list[str]:
        """The shapes, most specific first (the order they are tried in)."""
        return [s.token for s in self.shapes]

    def map_all(self, tokens: Sequence[Any]) -> list[Any]:
        return [self.map(t) for t in tokens]


def with_unk(vocab: list[Any], unk: str | None) -> list[Any]:
    """The vocabulary with the unknown token added (last) when it is missing."""
    if unk is None or unk in vocab:
        return vocab
    return [*vocab, unk]


def read_vocab_file(path: str) -> list[str]:
    """`--vocab-file`: one token a line, UTF-8. A line is its token exactly, except that the
    line break (\\n or \\r\\n) is not part of it; blank lines are skipped; tokens may hold
    commas, quotes and any other character but a line break (whitespace inside a token is
    kept, though tokenizers that split on whitespace never produce it). Repeats count once."""
    text = read_text(path, "vocabulary file", max_bytes=MAX_VOCAB_FILE_BYTES)
    tokens = [line.removesuffix("\r") for line in text.split("\n")]
    tokens = list(dict.fromkeys(t for t in tokens if t.strip() != ""))
    if not tokens:
        raise RaspInputError(f"the vocabulary file {path} holds no tokens")
    return tokens
