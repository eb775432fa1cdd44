"""Tracr at scale: compile time, peak memory, size and correctness against max_len.

Runs under a Python that has Tracr (the `tracr-pypi` package with JAX), never rasp's:

    python3 -m venv tracr-venv
    tracr-venv/bin/pip install tracr-pypi jax jaxlib
    tracr-venv/bin/python bench/bench_tracr.py [--programs reverse,sort] \
        [--lengths 8,16,32,64] [--timeout 300] [--samples 200] [--full 50]

It imports neither rasp nor torch. Each case runs in a fresh process (so its peak memory is
its own), stopped after --timeout seconds; a program's longer lengths are skipped after one
fails. One JSON line per case, then a markdown table.

The programs are Tracr's own, from `tracr.compiler.lib` (the fairest comparison), over the
vocabularies of bench_scale.py:

- reverse: `make_reverse(tokens)`, vocab `abcdefgh`. Same task as rasp's `reverse`.
- sort: `make_sort(tokens, key, max_seq_len=N, min_key=1)` with `key` the token's place in
  the vocabulary (`make_sort` needs numbers: it sorts by `key + i/N`, which breaks ties by
  position). Tokens in ascending order, ties in input order: the same task as rasp's `sort`.
- sort_by_most_freq: `make_sort_freq(N)`, vocab `abcdefgh`. Every token, most frequent first,
  ties in input order (it sorts by `-hist + i/N`); rasp's program shows each distinct
  token once instead, so the outputs differ but the work (a histogram, then a sort) is the same.
- dyck2: `make_shuffle_dyck2()`, vocab `(){}a`. Shuffle-Dyck-2 of the whole input (each kind
  of bracket balanced on its own, never closed before opened), 1 or 0 at every position;
  rasp's `dyck2` checks proper nesting per prefix, which Tracr's library does not offer.

Correctness is checked against plain-Python references of what each library function
computes, on `--samples` random inputs of random length 1..N and `--full` of length N
(seed 1). An input is correct when every output position is. Compiled with
`compile_rasp_to_model(program, vocab, max_seq_len=N, compiler_bos="BOS")`; the model runs as Tracr assembles it (JAX,
float32), inputs of one length in one batch.

Columns: layers is Tracr's `model_config.num_layers`, each an attention sublayer followed by
an MLP sublayer (as rasp counts them); heads the heads per layer (Tracr gives every layer the
largest); d_model the residual width; mlp the MLP hidden width (every layer gets the largest);
params every array in the model's parameters (embeddings included).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections import Counter

VOCABS = {
    "reverse": "abcdefgh",
    "sort": "abcdefgh",
    "sort_by_most_freq": "abcdefgh",
    "dyck2": "(){}a",
}
LIBRARY = {
    "reverse": "make_reverse(tokens)",
    "sort": "make_sort(tokens, vocab index, max_seq_len=N, min_key=1)",
    "sort_by_most_freq": "make_sort_freq(N)",
    "dyck2": "make_shuffle_dyck2()",
}
BOS = "BOS"


def build(name: str, max_len: int):
    """The Tracr program for one benchmark case."""
    from tracr.compiler import lib
    from tracr.rasp import rasp

    if name == "reverse":
        return lib.make_reverse(rasp.tokens)
    if name == "sort":
        place = {t: i for i, t in enumerate(VOCABS["sort"])}
        key = rasp.Map(lambda t: place[t], rasp.tokens).named("key")
        return lib.make_sort(rasp.tokens, key, max_seq_len=max_len, min_key=1)
    if name == "sort_by_most_freq":
        return lib.make_sort_freq(max_len)
    if name == "dyck2":
        return lib.make_shuffle_dyck2()
    raise SystemExit(f"unknown program {name!r}; known: {', '.join(VOCABS)}")


def shuffle_dyck(s: str, pairs=("()", "{}")) -> bool:
    for opener, closer in pairs:
        depth = 0
        for t in s:
            depth += (t == opener) - (t == closer)
            if depth < 0:
                return False
        if depth:
            return False
    return True


def reference(name: str, s: str) -> list:
    """What the Tracr library function computes on s (BOS left out)."""
    if name == "reverse":
        return list(reversed(s))
    if name == "sort":
        return sorted(s)  # stable: equal tokens keep their order, which is invisible anyway
    if name == "sort_by_most_freq":
        freq = Counter(s)
        return [s[i] for i in sorted(range(len(s)), key=lambda i: (-freq[s[i]], i))]
    if name == "dyck2":
        return [shuffle_dyck(s)] * len(s)
    raise KeyError(name)


def sample_inputs(vocab: str, max_len: int, samples: int, full: int, seed: int = 1) -> list[str]:
    """`samples` inputs whose lengths are drawn from every length up to 8 and 16 others
    in 9..max_len (at most 25 distinct lengths: each new length costs JAX a compilation of
    a few seconds), then `full` inputs of length max_len."""
    rng = random.Random(seed)
    lengths = set(range(1, min(max_len, 8) + 1)) | {max_len}
    lengths |= set(rng.sample(range(9, max_len + 1), min(16, max(0, max_len - 8))))
    pick = sorted(lengths)
    sizes = [rng.choice(pick) for _ in range(samples)] + [max_len] * full
    return ["".join(rng.choice(vocab) for _ in range(n)) for n in sizes]


def run_model(model, inputs: list[str]) -> dict[str, list]:
    """Outputs (BOS left out) for every input: Tracr's own forward pass, jitted, on the
    inputs of one length at a time, in batches of at most ~50M residual numbers."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    forward = jax.jit(model.forward)
    outputs: dict[str, list] = {}
    by_len: dict[int, list[str]] = {}
    for s in dict.fromkeys(inputs):
        by_len.setdefault(len(s), []).append(s)
    width = len(model.residual_labels) + model.model_config.mlp_hidden_size
    for n, group in sorted(by_len.items()):
        batch = max(1, 50_000_000 // ((n + 1) * width))
        for i in range(0, len(group), batch):
            chunk = group[i:i + batch]
            padded = chunk + chunk[:1] * (min(batch, len(group)) - len(chunk))  # one shape
            ids = jnp.array([model.input_encoder.encode([BOS, *s]) for s in padded])
            out = np.asarray(forward(model.params, ids).unembedded_output)
            for s, row in zip(chunk, out):
                decoded = row.tolist()
                if model.output_encoder:
                    decoded = model.output_encoder.decode(decoded)
                outputs[s] = decoded[1:]
    return outputs


def same(got: list, want: list) -> bool:
    if len(got) != len(want):
        return False
    for g, w in zip(got, want):
        if isinstance(w, str) or isinstance(g, str):
            if g != w:
                return False
        elif abs(float(g) - float(w)) > 1e-3:
            return False
    return True


def one_case(name: str, max_len: int, samples: int, full: int) -> dict:
    import jax
    import numpy as np
    from tracr.compiler import compiling

    program = build(name, max_len)
    start = time.perf_counter()
    model = compiling.compile_rasp_to_model(
        program, vocab=set(VOCABS[name]), max_seq_len=max_len, compiler_bos=BOS)
    compiled = time.perf_counter() - start
    inputs = sample_inputs(VOCABS[name], max_len, samples, full)
    start = time.perf_counter()
    outputs = run_model(model, inputs)
    run_s = time.perf_counter() - start
    wrong = [s for s in inputs if not same(outputs[s], reference(name, s))]
    longest = {s for s in inputs if len(s) == max_len}
    first = min(wrong, key=len) if wrong else None
    cfg = model.model_config
    params = sum(int(np.size(a)) for a in jax.tree_util.tree_leaves(model.params))
    return {
        "program": name, "max_len": max_len, "library": LIBRARY[name],
        "compile_s": round(compiled, 2),
        "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
        "layers": cfg.num_layers, "heads": cfg.num_heads, "d_model": len(model.residual_labels),
        "mlp": cfg.mlp_hidden_size, "params": params,
        "checked": len(inputs), "correct": round(1 - len(wrong) / len(inputs), 3),
        "correct_at_max_len": round(1 - len(longest & set(wrong)) / len(longest), 3),
        "first_wrong_len": len(first) if first else None,
        "example": None if first is None else {
            "input": first, "got": [str(x) for x in outputs[first]][:16],
            "want": [str(x) for x in reference(name, first)][:16]},
        "run_s": round(run_s, 2),
    }


HEADER = ["program", "max_len", "compile_s", "peak_gb", "layers", "heads", "d_model", "mlp",
          "params", "checked", "correct", "correct_at_max_len", "first_wrong_len"]


def cell(row: dict, h: str) -> str:
    v = row.get(h)
    if v is None:
        return "-"
    return f"{v:,}" if isinstance(v, int) and h != "max_len" else str(v)


def run_json(cmd: list[str], timeout: int) -> dict:
    """A command in a fresh process (so peak memory is its own): the JSON object on the last
    line of its output, or {"failure": why}. bench_scale.py runs rasp's cases with it too."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"failure": f"over {timeout} s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode == 0 and lines:
        return json.loads(lines[-1])
    return {"failure": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1][:100]}


def run_case(python: str, name: str, n: int, timeout: int, samples: int, full: int) -> dict:
    """One case in a fresh process: its JSON row, or a row with `failure` set."""
    cmd = [python, os.path.abspath(__file__), "--one", name, str(n),
           "--samples", str(samples), "--full", str(full)]
    row = run_json(cmd, timeout)
    return {"program": name, "max_len": n, **row} if "failure" in row else row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--programs", default=",".join(VOCABS))
    ap.add_argument("--lengths", default="8,16,32,64,128,256")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--samples", type=int, default=200, help="random inputs of length 1..N")
    ap.add_argument("--full", type=int, default=50, help="random inputs of length N")
    ap.add_argument("--one", nargs=2, metavar=("PROGRAM", "MAX_LEN"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")  # no accelerator probing; the children inherit it
    if args.one:
        print(json.dumps(one_case(args.one[0], int(args.one[1]), args.samples, args.full)))
        return
    rows = []
    for name in args.programs.split(","):
        for n in [int(x) for x in args.lengths.split(",")]:
            row = run_case(sys.executable, name, n, args.timeout, args.samples, args.full)
            print(json.dumps(row), flush=True)
            rows.append(row)
            if "failure" in row:
                break  # longer lengths would fail too
    print()
    print("| " + " | ".join(HEADER) + " |")
    print("|" + "---|" * len(HEADER))
    for row in rows:
        if "failure" in row:
            print(f"| {row['program']} | {row['max_len']} | {row['failure']} |")
        else:
            print("| " + " | ".join(cell(row, h) for h in HEADER) + " |")


if __name__ == "__main__":
    main()
