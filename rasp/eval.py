"""Scoring a program on a corpus: `rasp eval PROGRAM CORPUS.tsv`.

A corpus has one example a line, `input<TAB>expected`, tokens separated by single spaces;
blank lines and `#` comment lines are skipped. A comment line `# held-out ...` splits the
corpus: examples after it form the held-out part, scored separately.

Two ways to score:
- sequence (the default): the program's output with the filler `_` dropped must equal the
  expected tokens;
- `classify`: the expected column is one label, and the output at the last position must
  equal it.

- `numeric`: the expected column is a number, and the output at the last position must be
  within `tolerance` of it; the result adds the largest error and Pearson's r.

Other layouts: `columns=(INPUT, EXPECTED)` picks two of the TAB-separated fields (1-based;
VADER's rated data sets are `id<TAB>rating<TAB>text`, so `(3, 2)`), and with a `tokenizer`
the input field is raw text, split by that tokenizer instead of at single spaces.

The scorer is the interpreter, or (with `compiled`) the transformer compiled from the
program for exactly the corpus's words: its vocabulary is every token of the corpus
inputs, its max_len the longest input.

A corpus of minimal pairs (BLiMP's JSON lines: `sentence_good`, `sentence_bad`, `UID`) is read
here too (`read_pairs`); `rasp/pairs.py` scores it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import RaspError, RaspInputError, SourcePos
from .files import read_text

FILLER = "_"
HELD_OUT_MARK = "held-out"
CHUNK = 256  # examples scored per step (one progress-bar tick)
MAX_CORPUS_BYTES = 100_000_000  # corpora are data, larger than any source file
DEFAULT_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Example:
    line: int  # 1-based line number in the corpus file
    words: tuple[str, ...]
    expected: tuple[str, ...]
    held_out: bool = False
    text: str | None = None  # the raw input field, when a tokenizer split it


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
    # numeric scoring: the largest |output - expected| and Pearson's r over all examples
    max_abs_error: float | None = None
    pearson: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": self.total.n, "correct": self.total.correct, "accuracy": self.total.accuracy}
        if self.held_out is not None and self.held_in is not None:
            out["before_held_out"] = _score_json(self.held_in)
            out["held_out"] = _score_json(self.held_out)
        if self.max_abs_error is not None:
            out["max_abs_error"] = self.max_abs_error
            out["pearson"] = self.pearson
        out.update(self.model)
        return out


def _score_json(score: Score) -> dict[str, Any]:
    return {"n": score.n, "correct": score.correct, "accuracy": score.accuracy}


# -- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """How a corpus line reads: which TAB-separated fields (1-based) hold the input and the
    expected output, whether the input is raw text for a tokenizer, whether the expected
    output is one label (`classify`) or one number (`numeric`)."""

    columns: tuple[int, int] | None = None  # None: exactly two fields, input then expected
    tokenizer: str | None = None
    classify: bool = False
    numeric: bool = False


def read_corpus(path: str, classify: bool = False, layout: Layout | None = None) -> list[Example]:
    """The examples of a corpus file; a malformed line is a RaspInputError naming it."""
    return parse_corpus(read_text(path, what="corpus", max_bytes=MAX_CORPUS_BYTES), str(path), classify, layout)


def parse_corpus(text: str, name: str = "<corpus>", classify: bool = False, layout: Layout | None = None) -> list[Example]:
    layout = layout or Layout(classify=classify)
    split = None
    if layout.tokenizer is not None:
        from .text import get_tokenizer

        split = get_tokenizer(layout.tokenizer)
    examples: list[Example] = []
    held_out = False
    # Lines end at "\n" (CRLF too), never at the other breaks str.splitlines knows (\x85,
    # \u2028, ...), which real text holds inside a line.
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            held_out = held_out or stripped[1:].strip().lower().startswith(HELD_OUT_MARK)
            continue
        examples.append(_parse_line(line, number, name, layout, split, held_out))
    if not examples:
        raise RaspInputError(f"corpus {name} has no examples", hint="one example a line: input<TAB>expected")
    return examples


def _parse_line(line: str, number: int, name: str, layout: Layout, split: Any, held_out: bool) -> Example:
    def bad(message: str, column: int = 1) -> RaspInputError:
        return RaspInputError(
            message, pos=SourcePos(name, number, column, line),
            hint="one example a line: input<TAB>expected, tokens separated by single spaces"
            if layout.columns is None else f"the input in field {layout.columns[0]}, the expected output in field {layout.columns[1]}",
        )

    fields = line.split("\t")
    if layout.columns is None:
        if len(fields) != 2:
            found = "no TAB" if len(fields) == 1 else f"{len(fields) - 1} TABs"
            raise bad(f"malformed corpus line: expected one TAB between input and expected output, found {found}")
        where = (0, 1)
    else:
        if len(fields) < max(layout.columns):
            raise bad(f"malformed corpus line: {len(fields)} TAB-separated fields, the layout reads field {max(layout.columns)}")
        where = (layout.columns[0] - 1, layout.columns[1] - 1)
    starts = [sum(len(f) + 1 for f in fields[:i]) + 1 for i in where]
    columns = []
    for i, (field_index, column) in enumerate(zip(where, starts)):
        text = fields[field_index]
        what = "input" if i == 0 else "expected output"
        tokens = tuple(split(text)) if (i == 0 and split is not None) else tuple(text.split(" "))
        if not tokens or (split is None or i == 1) and any(t == "" for t in tokens):
            raise bad(f"malformed corpus line: the {what} is empty or has an empty token "
                      "(tokens are separated by single spaces)", column)
        columns.append(tokens)
    words, expected = columns
    if (layout.classify or layout.numeric) and len(expected) != 1:
        flag = "--numeric" if layout.numeric else "--classify"
        raise bad(f"with {flag} the expected column is one {'number' if layout.numeric else 'label'}, "
                  f"found {len(expected)} tokens", starts[1])
    if layout.numeric and _number(expected[0]) is None:
        raise bad("with --numeric the expected column is a number", starts[1])
    return Example(number, words, expected, held_out, fields[where[0]] if split is not None else None)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


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


def compile_for(program: Any, examples: Sequence[Example], sop: str | None = None,
                tokenizer: str | None = None) -> tuple[Any, dict[str, Any]]:
    """The program compiled for this corpus (recording the tokenizer that split it), and its
    compile time and size."""
    return compile_for_inputs(program, [ex.words for ex in examples], sop, tokenizer)


def compile_for_inputs(program: Any, inputs: Sequence[Sequence[str]], sop: str | None = None,
                       tokenizer: str | None = None) -> tuple[Any, dict[str, Any]]:
    """The program compiled for exactly these inputs' words and lengths (recording the
    tokenizer that split them), and its compile time and size."""
    import torch  # noqa: F401 - imported before the clock starts: its import is not compile time

    from .compiler import compile_program

    start = time.perf_counter()
    model = compile_program(program, inputs_vocab(inputs), max(len(words) for words in inputs), output=sop,
                            tokenizer=tokenizer)
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
    open_vocab = getattr(model, "unk", None) is not None  # unseen words map to its unknown token
    for ex in examples:
        for word in ex.words:
            if word not in known and not open_vocab:
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
    tolerance: float | None = None,
) -> EvalResult:
    """Score `run` (a batch of word lists -> a batch of output sequences) on the examples.
    With `tolerance`, scoring is numeric: the output at the last position must be within
    `tolerance` of the expected number."""
    failures: list[Failure] = []
    right: list[bool] = []
    pairs: list[tuple[float, float]] = []  # (got, expected), numeric scoring only
    for start in range(0, len(examples), CHUNK):
        chunk = examples[start : start + CHUNK]
        outputs = run([list(ex.words) for ex in chunk])
        for ex, out in zip(chunk, outputs):
            if tolerance is None:
                got = _answer(out, classify)
                ok = got == ex.expected
            else:
                value = _numeric_output(out, ex)
                pairs.append((value, float(ex.expected[0])))
                ok = abs(value - pairs[-1][1]) <= tolerance
                got = (repr(value),)
            right.append(ok)
            if not ok:
                failures.append(Failure(ex, got))
        if on_progress:
            on_progress(len(chunk))
    result = EvalResult(Score(len(examples), sum(right)), failures)
    if tolerance is not None:
        result.max_abs_error = max(abs(g - e) for g, e in pairs)
        result.pearson = pearson([g for g, _ in pairs], [e for _, e in pairs])
    if any(ex.held_out for ex in examples):
        inside = [ok for ex, ok in zip(examples, right) if not ex.held_out]
        outside = [ok for ex, ok in zip(examples, right) if ex.held_out]
        result.held_in = Score(len(inside), sum(inside))
        result.held_out = Score(len(outside), sum(outside))
    return result


def _numeric_output(output: Sequence[Any], ex: Example) -> float:
    value = output[-1] if len(output) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RaspInputError(
            f"with --numeric the output at the last position must be a finite number, got {value!r}",
            pos=SourcePos("<corpus>", ex.line, 1, " ".join(ex.words)),
        )
    return float(value)


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's correlation coefficient; None when either side is constant (or empty)."""
    n = len(xs)
    if n == 0:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def _answer(output: Sequence[Any], classify: bool) -> tuple[str, ...]:
    if classify:
        return (str(output[-1]),) if len(output) else ()
    return tuple(str(v) for v in output if str(v) != FILLER)
