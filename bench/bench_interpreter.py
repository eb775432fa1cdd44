"""Interpreter throughput: inputs per second for `sort` (and friends) on length-16 inputs.

    .venv/bin/python bench/bench_interpreter.py [--batch 10000] [--repeats 3] [--length 16]

Each row evaluates one program on a batch of random inputs with `Program.batch`
(all inputs of one length are computed together by the numpy evaluator); the
last rows call the program once per input, for comparison.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

import rasp

VOCAB = "abcdefgh()"


def random_inputs(n: int, length: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(VOCAB) for _ in range(length)) for _ in range(n)]


def time_it(fn, repeats: int) -> float:
    """Median wall time of `repeats` runs, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--length", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--single", type=int, default=200, help="inputs for the one-at-a-time rows")
    args = ap.parse_args(argv)

    prog = rasp.from_source("")
    inputs = random_inputs(args.batch, args.length)
    assert prog.batch(inputs[:3], "sort_tokens") == [sorted(s) for s in inputs[:3]]

    rows = []
    for name in ["sort_tokens", "reverse", "hist", "dyck1", "sort_by_most_freq"]:
        prog.batch(inputs[:10], name)  # warm up
        seconds = time_it(lambda name=name: prog.batch(inputs, name), args.repeats)
        rows.append((name, "batch", args.batch, seconds))
    single = inputs[: args.single]
    for name in ["sort_tokens"]:
        seconds = time_it(lambda name=name: [prog(s, name) for s in single], args.repeats)
        rows.append((name, "one at a time", len(single), seconds))

    print(f"RASP interpreter throughput, input length {args.length}, median of {args.repeats} runs")
    print(f"{'program':<20} {'mode':<14} {'inputs':>8} {'seconds':>9} {'inputs/s':>11}")
    print("-" * 66)
    for name, mode, n, seconds in rows:
        print(f"{name:<20} {mode:<14} {n:>8} {seconds:>9.3f} {n / seconds:>11,.0f}")


if __name__ == "__main__":
    main()
