"""Training data: inputs sampled from a distribution, labelled by the interpreter.

Training and held-out inputs never overlap: every possible input belongs to one side
by a stable hash of its tokens (about one in five is held out), so however many
inputs are drawn, no held-out input is ever trained on. Labels come from the
interpreter (the causal reference program under `causal`), so a model is scored on
exactly what the RASP program computes.

Distributions (`--data`):
- `uniform`: tokens uniform. Lengths are uniform over 1..N (or `--min-len`..N) in every
  distribution.
- `skewed`: each sequence draws its own token frequencies (a Dirichlet), so tokens
  repeat and one is usually clearly the most frequent (uniform tokens make
  most-frequent and histogram tasks nearly constant).
- `brackets`: for vocabularies holding bracket pairs ( ) [ ] { } < >: a random walk
  that opens or closes the innermost bracket, with some wrong closers and other tokens,
  so balanced, open and failed prefixes all occur (uniform tokens fail almost at once, a
  degenerate Dyck task). With nothing open it often plays a stray closer and then opens
  again, so prefixes that failed and came back to depth 0 or above ("())(") are common:
  they are the ones a model must remember the failure for.
- `auto` (default): `brackets` when the vocabulary has a bracket pair, else half
  `uniform` and half `skewed`.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import RaspInputError
from ..eval import Example
from ..ir.evaluate import evaluate_batch, native
from ..ir.sops import SOp

DISTRIBUTIONS = ("auto", "uniform", "skewed", "brackets")
BRACKET_PAIRS = ("()", "[]", "{}", "<>")
STRAY_CLOSER = 0.6  # the bracket walk: how often it closes with nothing open (failing the prefix)
CLOSE = 0.65  # and how often it closes the innermost bracket when one is open
HELD_OUT_SHARE = 5  # one input in this many is held out
# Limits that keep the data, the embedding and the output layer in memory.
MAX_VOCAB = 4096
MAX_OUTPUTS = 4096
MAX_LEN = 512


@dataclass
class Batches:
    """Labelled inputs grouped by length: token ids (with BOS), target ids, and a mask of
    the positions that carry a label."""

    inputs: list[list[Any]]
    ids: dict[int, Any] = field(default_factory=dict)  # length -> (n, 1 + length) long
    targets: dict[int, Any] = field(default_factory=dict)  # length -> (n, length) long
    mask: dict[int, Any] = field(default_factory=dict)  # length -> (n, length) bool

    def __len__(self) -> int:
        return len(self.inputs)


def in_held_out(tokens: Sequence[Any]) -> bool:
    """Which side of the split an input is on: a stable hash (not Python's salted one)."""
    return zlib.crc32(repr([(type(t).__name__, t) for t in tokens]).encode()) % HELD_OUT_SHARE == 0


def check_sizes(vocab: Sequence[Any], max_len: int, outputs: Sequence[Any] = ()) -> None:
    if len(vocab) > MAX_VOCAB:
        raise RaspInputError(f"a vocabulary of {len(vocab):,} tokens is too big to train on (the limit is {MAX_VOCAB:,})")
    if not 1 <= max_len <= MAX_LEN:
        raise RaspInputError(f"--max-len must be between 1 and {MAX_LEN} for training, not {max_len}")
    if len(outputs) > MAX_OUTPUTS:
        raise RaspInputError(
            f"the program's output takes {len(outputs):,} values over this vocabulary; "
            f"the limit for a trained output layer is {MAX_OUTPUTS:,}",
            hint="use a smaller --vocab or --max-len",
        )


def bracket_pairs(vocab: Sequence[Any]) -> list[tuple[Any, Any]]:
    return [(a, b) for a, b in BRACKET_PAIRS if a in vocab and b in vocab]


def resolve_distribution(name: str, vocab: Sequence[Any]) -> str:
    if name not in DISTRIBUTIONS:
        raise RaspInputError(f"unknown data distribution {name!r}; choose one of {', '.join(DISTRIBUTIONS)}")
    if name == "brackets" and not bracket_pairs(vocab):
        raise RaspInputError("--data brackets needs a bracket pair such as ( and ) in --vocab")
    if name == "auto":
        return "brackets" if bracket_pairs(vocab) else "mixed"
    return name


def sample_inputs(rng: np.random.Generator, vocab: Sequence[Any], max_len: int, count: int, distribution: str,
                  min_len: int = 1) -> list[list[Any]]:
    """`count` inputs of lengths min_len..max_len (uniform) from a resolved distribution."""
    lengths = rng.integers(min_len, max_len + 1, size=count)
    out = []
    for i, n in enumerate(lengths):
        kind = distribution
        if kind == "mixed":
            kind = "uniform" if i % 2 == 0 else "skewed"
        if kind == "uniform":
            picks = rng.integers(0, len(vocab), size=n)
        elif kind == "skewed":
            picks = rng.choice(len(vocab), size=n, p=rng.dirichlet(np.full(len(vocab), 0.5)))
        else:
            out.append(_bracket_walk(rng, vocab, int(n)))
            continue
        out.append([vocab[j] for j in picks])
    return out


def _bracket_walk(rng: np.random.Generator, vocab: Sequence[Any], n: int) -> list[Any]:
    """A walk that opens, or closes the innermost open bracket, and ends closed where it can.
    With nothing open (after the first token), it plays a stray closer STRAY_CLOSER of the
    time, failing the prefix, and then opens again, so the depth comes back to 0 or above in
    a prefix that has failed: "())(" -> [P, T, F, F]. Only a second layer (did the depth
    ever go below 0 before?) tells such a prefix from an unfailed one with the same counts.
    With several pairs, a closer of the wrong pair replaces one close in fifteen."""
    pairs = bracket_pairs(vocab)
    closers = [b for _, b in pairs]
    others = [t for t in vocab if all(t not in p for p in pairs)]
    stack: list[Any] = []
    tokens: list[Any] = []
    stray = False  # the last bracket was a stray closer
    for i in range(n):
        r = rng.random()
        if r < 0.06 and others:
            tokens.append(others[rng.integers(len(others))])
            continue
        if not stack and r < (STRAY_CLOSER / 4 if i == 0 or stray else STRAY_CLOSER):
            tokens.append(closers[rng.integers(len(closers))])
            stray = True
            continue
        stray = False
        if stack and (r < CLOSE or len(stack) >= n - i):
            right = stack.pop()
            wrong = [c for c in closers if c != right]
            tokens.append(wrong[rng.integers(len(wrong))] if wrong and rng.random() < 1 / 15 else right)
        else:
            a, b = pairs[rng.integers(len(pairs))]
            stack.append(b)
            tokens.append(a)
    return tokens


def sample_split(rng: np.random.Generator, vocab: Sequence[Any], max_len: int, count: int,
                 distribution: str, held_out: bool, min_len: int = 1) -> list[list[Any]]:
    """`count` inputs from one side of the split (fewer if that side is nearly empty)."""
    found: list[list[Any]] = []
    for _ in range(50):
        batch = sample_inputs(rng, vocab, max_len, 2 * (count - len(found)) + 16, distribution, min_len)
        found += [x for x in batch if in_held_out(x) == held_out][: count - len(found)]
        if len(found) >= count:
            break
    return found


def label(reference: SOp, inputs: list[list[Any]]) -> list[list[Any]]:
    """The interpreter's output on every input (a RaspError if the program fails on one)."""
    return evaluate_batch(reference, inputs) if inputs else []


def make_batches(inputs: list[list[Any]], labels: list[list[Any]], encode: Callable[[list[Any]], Any],
                 outputs: Sequence[Any]) -> Batches:
    """Tensors for labelled inputs, with `encode` (a model's) making the ids. A label list as
    long as the input labels every position; a single label labels only the last position
    (a sequence-level label)."""
    import torch

    from ..compiler.encoding import token_key

    index = {token_key(v): i for i, v in enumerate(outputs)}
    by_length: dict[int, list[int]] = {}
    for i, x in enumerate(inputs):
        by_length.setdefault(len(x), []).append(i)
    data = Batches(inputs)
    for n, members in sorted(by_length.items()):
        targets = np.zeros((len(members), n), dtype=np.int64)
        mask = np.zeros((len(members), n), dtype=bool)
        for row, i in enumerate(members):
            ys = labels[i]
            cols = range(n) if len(ys) == n else [n - 1]
            for col, y in zip(cols, ys):
                j = index.get(token_key(_native(y)))
                if j is None:
                    raise RaspInputError(f"label {y!r} (for input {inputs[i]!r}) is not an output value of the program: {list(outputs)}")
                targets[row, col], mask[row, col] = j, True
        data.ids[n] = encode([inputs[i] for i in members])
        data.targets[n] = torch.from_numpy(targets).to(data.ids[n].device)
        data.mask[n] = torch.from_numpy(mask).to(data.ids[n].device)
    return data


def _native(v: Any) -> Any:
    v = native(v)
    return int(v) if isinstance(v, float) and v.is_integer() else v


# -- corpora ----------------------------------------------------------------------------------
# Corpora are read by `rasp.eval.read_corpus` (the `rasp eval` format, one reader for both).


def corpus_rows(examples: Sequence[Example], name: str) -> list[tuple[list[str], list[str], bool]]:
    """(input words, expected words, held out) per corpus example. The expected column
    labels every input word, or is one label for the whole input (the last position). A
    corpus with a `# held-out` section holds out exactly that section; without one, the
    stable hash of the words splits it."""
    marked = any(ex.held_out for ex in examples)
    rows = []
    for ex in examples:
        if len(ex.expected) not in (1, len(ex.words)):
            raise RaspInputError(
                f"{name}:{ex.line}: the expected output has {len(ex.expected)} tokens for an input of "
                f"{len(ex.words)}; to train on it, give one per input token or one for the whole input",
            )
        held = ex.held_out if marked else in_held_out(ex.words)
        rows.append((list(ex.words), list(ex.expected), held))
    return rows


def corpus_labels(expected: list[str], outputs: Sequence[Any]) -> list[Any]:
    """Corpus words as output values: the value whose text is the word."""
    by_text = {str(v): v for v in outputs}
    missing = [w for w in expected if w not in by_text]
    if missing:
        raise RaspInputError(f"expected output {missing[0]!r} is not a value the program can output: {list(outputs)}")
    return [by_text[w] for w in expected]
