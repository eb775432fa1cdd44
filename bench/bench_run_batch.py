"""`CompiledModel.run_batch` on inputs of mixed lengths against inputs of one length.

    python bench/bench_run_batch.py [--inputs 5000] [--program programs/sort.rasp]

Prints one JSON line: seconds for N inputs of the longest length, for N inputs of random
lengths 1..max_len as `run_batch` runs them (neighbouring lengths padded into shared
batches with a key mask), and for the same mixed inputs run one exact length per batch
(the way `run_batch` worked before padding), with the number of forward passes of each."""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import rasp  # noqa: E402
from rasp.compiler.encoding import groups_by_length, padded_batches  # noqa: E402


def run_by_exact_length(model, inputs: list[str]) -> list:
    """The pre-padding `run_batch`: one forward pass per length."""
    import torch

    out = []
    with torch.no_grad():
        for idx in groups_by_length(inputs, 4096):
            raw = model.module(model.encode([inputs[i] for i in idx]))[:, 1:]
            out.append(model.output.decode(raw.double().cpu().numpy().reshape(-1, model.output.width)))
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--inputs", type=int, default=5000)
    p.add_argument("--program", default="programs/sort.rasp")
    p.add_argument("--max-len", type=int, default=16)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    vocab = "abcdefgh"
    model = rasp.compile(rasp.load(args.program), vocab=vocab, max_len=args.max_len)
    rng = random.Random(0)
    same = ["".join(rng.choice(vocab) for _ in range(args.max_len)) for _ in range(args.inputs)]
    mixed = ["".join(rng.choice(vocab) for _ in range(rng.randint(1, args.max_len))) for _ in range(args.inputs)]

    def best(run, inputs: list[str]) -> float:
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            run(inputs)
            times.append(time.perf_counter() - start)
        return min(times)

    one = best(model.run_batch, same)
    padded = best(model.run_batch, mixed)
    exact = best(lambda xs: run_by_exact_length(model, xs), mixed)
    print(json.dumps({
        "program": args.program, "inputs": args.inputs, "max_len": args.max_len,
        "one_length_s": round(one, 3), "mixed_padded_s": round(padded, 3), "mixed_exact_lengths_s": round(exact, 3),
        "padded_passes": sum(1 for _ in padded_batches(mixed, 4096)),
        "exact_length_passes": sum(1 for _ in groups_by_length(mixed, 4096)),
    }))


if __name__ == "__main__":
    main()
