"""Scoring a classifier on minimal pairs: `rasp eval PROGRAM FILE.jsonl ... --pairs`.

A pair (read by `rasp.eval.read_pairs`, BLiMP's format) is right when the program labels its
good sentence `good` and its bad sentence `bad`, the label being the output at the last
position. Each sentence is scored as one `--classify` example (`rasp.eval.score`), so the
interpreter, a compiled model and a saved model all score pairs the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .eval import Example, Pair, score

GOOD, BAD = "good", "bad"


@dataclass(frozen=True)
class PairFailure:
    pair: Pair
    got_good: str  # the label given to the good sentence ("" for an empty output)
    got_bad: str


@dataclass
class PairScore:
    name: str  # the file
    n: int = 0
    correct: int = 0
    good_correct: int = 0  # good sentences labelled good
    bad_correct: int = 0  # bad sentences labelled bad
    failures: list[PairFailure] = field(default_factory=list)

    def add(self, other: PairScore) -> None:
        self.n += other.n
        self.correct += other.correct
        self.good_correct += other.good_correct
        self.bad_correct += other.bad_correct

    def to_json(self) -> dict[str, Any]:
        def share(k: int) -> float:
            return k / self.n if self.n else 0.0

        return {"n": self.n, "correct": self.correct, "accuracy": share(self.correct),
                "good_accuracy": share(self.good_correct), "bad_accuracy": share(self.bad_correct)}


@dataclass
class PairsResult:
    total: PairScore
    files: list[PairScore]
    model: dict[str, Any] = field(default_factory=dict)  # compile seconds and size, when compiled

    def to_json(self) -> dict[str, Any]:
        out = self.total.to_json()
        out["files"] = [dict(file=f.name, **f.to_json()) for f in self.files]
        out.update(self.model)
        return out


def pair_examples(pairs: Sequence[Pair]) -> list[Example]:
    """Each pair as two `--classify` examples: the good sentence, then the bad one."""
    return [ex for p in pairs for ex in (Example(p.line, p.good, (GOOD,)), Example(p.line, p.bad, (BAD,)))]


def score_pairs(
    run: Callable[[list[list[str]]], list[list[Any]]],
    files: Sequence[tuple[str, Sequence[Pair]]],
    on_progress: Callable[[int], None] | None = None,
) -> PairsResult:
    """Score `run` (a batch of token lists -> a batch of output sequences) on each file's pairs."""
    total = PairScore("all")
    scores: list[PairScore] = []
    for name, pairs in files:
        examples = pair_examples(pairs)
        result = score(run, examples, classify=True, on_progress=on_progress)
        wrong = {id(f.example): (f.got[0] if f.got else "") for f in result.failures}
        file_score = PairScore(name, n=len(pairs))
        for i, pair in enumerate(pairs):
            good, bad = examples[2 * i], examples[2 * i + 1]
            good_ok, bad_ok = id(good) not in wrong, id(bad) not in wrong
            file_score.good_correct += good_ok
            file_score.bad_correct += bad_ok
            file_score.correct += good_ok and bad_ok
            if not (good_ok and bad_ok):
                file_score.failures.append(PairFailure(pair, wrong.get(id(good), GOOD), wrong.get(id(bad), BAD)))
        scores.append(file_score)
        total.add(file_score)
    return PairsResult(total, scores)


def all_inputs(files: Sequence[tuple[str, Sequence[Pair]]]) -> list[tuple[str, ...]]:
    """Every sentence of every file: what a model compiled for these files must take."""
    return [words for _, pairs in files for p in pairs for words in (p.good, p.bad)]


def report_lines(result: PairsResult, show: int) -> list[str]:
    """A table per file (pairs, pair accuracy, good and bad accuracies) and its first `show`
    failures, then the total."""
    lines: list[str] = []
    for f in result.files:
        j = f.to_json()
        lines.append(f"{f.name}: {f.n} pairs, pair accuracy {j['accuracy']:.3f} ({f.correct}/{f.n}), "
                     f"good {j['good_accuracy']:.3f}, bad {j['bad_accuracy']:.3f}")
        # Worst first: pairs where both sentences got the wrong label.
        worst = sorted(f.failures, key=lambda x: (x.got_good == GOOD) + (x.got_bad == BAD))
        for failure in worst[: max(show, 0)]:
            p = failure.pair
            lines.append(f"  line {p.line}: good {' '.join(p.good)!r} -> {failure.got_good}; "
                         f"bad {' '.join(p.bad)!r} -> {failure.got_bad}")
        if len(f.failures) > max(show, 0):
            lines.append(f"  ... and {len(f.failures) - max(show, 0)} more failures")
    if len(result.files) > 1:
        j = result.total.to_json()
        lines.append(f"all: {result.total.n} pairs, pair accuracy {j['accuracy']:.3f} "
                     f"({result.total.correct}/{result.total.n}), good {j['good_accuracy']:.3f}, "
                     f"bad {j['bad_accuracy']:.3f}")
    return lines
