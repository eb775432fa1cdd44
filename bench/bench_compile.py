"""Compile time per program and compiled-model throughput.

    .venv/bin/python bench/bench_compile.py [--max-len 8] [--device cuda] [--no-reuse]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from test_compiler_programs import VOCABS  # noqa: E402

import rasp  # noqa: E402
from rasp.compiler import compile_program  # noqa: E402
from rasp.compiler.verify import random_inputs  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-len", type=int, default=8)
    parser.add_argument("--inputs", type=int, default=2000)
    parser.add_argument("--device", default=None)
    parser.add_argument("--no-reuse", dest="reuse", action="store_false", help="no residual subspace reuse")
    args = parser.parse_args()
    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    compile_program(rasp.from_source("x = 1;")["hist"], list("ab"), 4)  # warm torch up
    print(f"max_len {args.max_len}, {args.inputs} random inputs, device {device}")
    print(f"{'program':20s} {'compile s':>10s} {'layers':>6s} {'d_model':>7s} {'params':>10s} {'inputs/s':>10s}")
    for name, (vocab, _) in sorted(VOCABS.items()):
        prog = rasp.load(ROOT / "programs" / f"{name}.rasp")
        start = time.perf_counter()
        model = compile_program(prog, vocab, args.max_len, reuse=args.reuse)
        seconds = time.perf_counter() - start
        model.to(device)
        inputs = random_inputs(vocab, args.max_len, args.inputs, min_len=args.max_len)
        model.run_batch(inputs[:10])
        start = time.perf_counter()
        model.run_batch(inputs)
        if device == "cuda":
            torch.cuda.synchronize()
        rate = len(inputs) / (time.perf_counter() - start)
        s = model.summary()
        print(f"{name:20s} {seconds:10.3f} {s['layers']:6d} {s['d_model']:7d} {s['params']:10,d} {rate:10,.0f}")


if __name__ == "__main__":
    main()
