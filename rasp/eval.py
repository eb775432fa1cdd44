"""Scoring a program on a corpus: `rasp eval PROGRAM CORPUS.tsv`.

A corpus has one example a line, `input<TAB>expected`, tokens separated by single spaces;
blank lines and `#` comment lines are skipped. A comment line `# held-out ...` splits the
corpus: examples after it form the held-out part, scored separately.

Two ways to score:
- sequence (the default): the program's output with the filler `_` dropped must equal the
  expected tokens;
- `classify`: the expected column is one label, and the output at the last position must
  equal it.

The scorer is the interpreter, or (with `compiled`) the transformer compiled from the
program for exactly the corpus's words: its vocabulary is every token of the corpus
inputs, its max_len the longest input.

A corpus of minimal pairs (BLiMP's JSON lines: `sentence_good`, `sentence_bad`, `UID`) is read
here too (`read_pairs`); `rasp/pairs.py` scores it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import RaspError, RaspInputError, SourcePos
from .files import read_text

FILLER = "_"
HELD_OUT_MARK = "held-out"
CHUNK = 256  # examples scored per step (one progress-bar tick)


@dataclass(frozen=True)
class Example:
    line: int  # 1-based line number in the corpus file
    words: tuple[str, ...]
    expected: tuple[str, ...]
    held_out: bool = False


@dataclass(frozen=True)
class Failure:
    example: Example
    got: tuple[str, ...]


@dataclass(frozen=True)
class Score:
    n: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0


@dataclass
class EvalResult:
    total: Score
    failures: list[Failure]
    held_in: Score | None = None  # the part before `# held-out`, when the corpus has one
    held_out: Score | None = None
    model: dict[str, Any] = field(default_factory=dict)  # compile seconds and size, with `compiled`

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": self.total.n, "correct": self.total.correct, "accuracy": self.total.accuracy}
        if self.held_out is not None and self.held_in is not None:
            out["before_held_out"] = _score_json(self.held_in)
            out["held_out"] = _score_json(self.held_out)
        out.update(self.model)
        return out


def _score_json(score: Score) -> dict[str, Any]:
    return {"n": score.n, "correct": score.correct, "accuracy": score.accuracy}


# -- reading -----------------------------------------------------------------------------------


def read_corpus(path: str, classify: bool = False) -> list[Example]:
    """The examples of a corpus file; a malformed line is a RaspInputError naming it."""
    return parse_corpus(read_text(path, what="corpus"), str(path), classify)


def parse_corpus(text: str, name: str = "<corpus>", classify: bool = False) -> list[Example]:
    examples: list[Example] = []
    held_out = False
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            held_out = held_out or stripped[1:].strip().lower().startswith(HELD_OUT_MARK)
            continue
        examples.append(_parse_line(line, number, name, classify, held_out))
    if not examples:
        raise RaspInputError(f"corpus {name} has no examples", hint="one example a line: input<TAB>expected")
    return examples


def _parse_line(line: str, number: int, name: str, classify: bool, held_out: bool) -> Example:
    def bad(message: str, column: int = 1) -> RaspInputError:
        return RaspInputError(
            message, pos=SourcePos(name, number, column, line),
            hint="one example a line: input<TAB>expected, tokens separated by single spaces",
        )

    fields = line.rstrip("\r\n").split("\t")
    if len(fields) != 2:
        found = "no TAB" if len(fields) == 1 else f"{len(fields) - 1} TABs"
        raise bad(f"malformed corpus line: expected one TAB between input and expected output, found {found}")
    columns = []
    for i, text in enumerate(fields):
        tokens = text.split(" ")
        if any(t == "" for t in tokens):
            column = 1 if i == 0 else len(fields[0]) + 2
            what = "input" if i == 0 else "expected output"
            raise bad(f"malformed corpus line: the {what} is empty or has an empty token "
                      "(tokens are separated by single spaces)", column)
        columns.append(tuple(tokens))
    words, expected = columns
    if classify and len(expected) != 1:
        raise bad(f"with --classify the expected column is one label, found {len(expected)} tokens",
                  len(fields[0]) + 2)
    return Example(number, words, expected, held_out)


@dataclass(frozen=True)
class Pair:
    """A minimal pair: the same sentence, grammatical and not, as tokens."""
    line: int  # 1-based line number in the file
    good: tuple[str, ...]
    bad: tuple[str, ...]
    uid: str  # the paradigm, e.g. "determiner_noun_agreement_1"


PAIR_FIELDS = ("sentence_good", "sentence_bad")


def read_pairs(path: str, split: Callable[[str], list[str]]) -> list[Pair]:
    """The minimal pairs of a JSON-lines file (BLiMP's format), each sentence split into tokens
    by `split` (a tokenizer); a malformed line is a RaspInputError naming it."""
    return parse_pairs(read_text(path, what="pairs file"), str(path), split)


def parse_pairs(text: str, name: str, split: Callable[[str], list[str]]) -> list[Pair]:
    pairs: list[Pair] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        pos = SourcePos(name, number, 1, line[:200])
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise RaspInputError(f"malformed pairs line: not JSON ({e.msg})", pos=pos,
                                 hint='one JSON object a line: {"sentence_good": ..., "sentence_bad": ...}') from None
        if not isinstance(row, dict) or not all(isinstance(row.get(k), str) for k in PAIR_FIELDS):
            raise RaspInputError("malformed pairs line: needs the strings sentence_good and sentence_bad", pos=pos)
        good, bad = (tuple(split(row[k])) for k in PAIR_FIELDS)
        if not good or not bad:
            raise RaspInputError("malformed pairs line: a sentence has no tokens", pos=pos)
        pairs.append(Pair(number, good, bad, str(row.get("UID", ""))))
    if not pairs:
        raise RaspInputError(f"pairs file {name} has no pairs",
                             hint='one JSON object a line: {"sentence_good": ..., "sentence_bad": ..., "UID": ...}')
    return pairs


# -- scoring -----------------------------------------------------------------------------------


def corpus_vocab(examples: Sequence[Example]) -> list[str]:
    """Every input token, in order of first appearance. The filler `_` and any constant the
    program compares against are not inputs: outputs are decoded from the model's output
    space, so the vocabulary needs only what can be fed in."""
    return inputs_vocab([ex.words for ex in examples])


def inputs_vocab(inputs: Sequence[Sequence[str]]) -> list[str]:
    return list(dict.fromkeys(w for words in inputs for w in words))


def compile_for(program: Any, examples: Sequence[Example], sop: str | None = None) -> tuple[Any, dict[str, Any]]:
    """The program compiled for this corpus, and its compile time and size."""
    return compile_for_inputs(program, [ex.words for ex in examples], sop)


def compile_for_inputs(program: Any, inputs: Sequence[Sequence[str]], sop: str | None = None) -> tuple[Any, dict[str, Any]]:
    """The program compiled for exactly these inputs' words and lengths, and its compile time
    and size."""
    import torch  # noqa: F401 - imported before the clock starts: its import is not compile time

    from .compiler import compile_program

    start = time.perf_counter()
    model = compile_program(program, inputs_vocab(inputs), max(len(words) for words in inputs), output=sop)
    seconds = time.perf_counter() - start
    summary = model.summary()
    return model, {
        "compile_seconds": round(seconds, 3), "layers": summary["layers"], "heads": sum(summary["heads"]),
        "d_model": summary["d_model"], "params": summary["params"], "vocab": len(model.vocab),
        "max_len": model.max_len,
    }


def check_vocab(model: Any, examples: Sequence[Example], name: str = "<corpus>") -> None:
    """Every input word must be in the model's vocabulary and fit its max_len."""
    known = set(model.vocab)
    for ex in examples:
        for word in ex.words:
            if word not in known:
                raise RaspInputError(
                    f"the word {word!r} is not in the compiled model's vocabulary ({len(known)} words)",
                    pos=SourcePos(name, ex.line, 1, " ".join(ex.words)),
                    hint="compile the model for this corpus (rasp eval PROGRAM.rasp CORPUS --compiled)",
                )
        if len(ex.words) > model.max_len:
            raise RaspInputError(
                f"this input has {len(ex.words)} words; the model was compiled for at most {model.max_len}",
                pos=SourcePos(name, ex.line, 1, " ".join(ex.words)),
            )


def lexicon_warning(program: Any, examples: Sequence[Example]) -> Any:
    """One warning counting the corpus's words outside the program's declared lexicon."""
    from collections import Counter

    if program.lexicon is None:
        return None
    unknown = Counter(w for ex in examples for w in ex.words if w not in program.lexicon.words)
    return program.lexicon.warning(unknown, inputs=len(examples))


def interpreter_runner(program: Any, sop: str | None = None) -> Callable[[list[list[str]]], list[list[Any]]]:
    """Run a `rasp.Program` on a batch of inputs, naming the first input it fails on."""
    def run(batch: list[list[str]]) -> list[list[Any]]:
        try:
            return program.batch(batch, sop)
        except RaspError:
            for words in batch:  # find the input that fails, to name it
                try:
                    program(words, sop)
                except RaspError as err:
                    err.message = f"{err.message} (on the input {' '.join(words)!r})"
                    raise
            raise

    return run


def score(
    run: Callable[[list[list[str]]], list[list[Any]]],
    examples: Sequence[Example],
    classify: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> EvalResult:
    """Score `run` (a batch of word lists -> a batch of output sequences) on the examples."""
    failures: list[Failure] = []
    right: list[bool] = []
    for start in range(0, len(examples), CHUNK):
        chunk = examples[start : start + CHUNK]
        outputs = run([list(ex.words) for ex in chunk])
        for ex, out in zip(chunk, outputs):
            got = _answer(out, classify)
            right.append(got == ex.expected)
            if got != ex.expected:
                failures.append(Failure(ex, got))
        if on_progress:
            on_progress(len(chunk))
    result = EvalResult(Score(len(examples), sum(right)), failures)
    if any(ex.held_out for ex in examples):
        inside = [ok for ex, ok in zip(examples, right) if not ex.held_out]
        outside = [ok for ex, ok in zip(examples, right) if ex.held_out]
        result.held_in = Score(len(inside), sum(inside))
        result.held_out = Score(len(outside), sum(outside))
    return result


def _answer(output: Sequence[Any], classify: bool) -> tuple[str, ...]:
    if classify:
        return (str(output[-1]),) if len(output) else ()
    return tuple(str(v) for v in output if str(v) != FILLER)
