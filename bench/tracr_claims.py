"""Checks what the README says about Tracr, one yes/no line with evidence per claim.

    tracr-venv/bin/python bench/tracr_claims.py

Runs under a Python that has Tracr (`pip install tracr-pypi jax jaxlib`), never rasp's.
The programs mirror the cases in rasp's tests/test_compiler.py; inputs are checked
exhaustively where that is small, else at random (seed 1).
"""

from __future__ import annotations

import itertools
import random
from collections import Counter

from bench_tracr import BOS, run_model, same
from tracr.compiler import compiling, lib
from tracr.rasp import rasp


def compile_(program, vocab, max_len, causal=False):
    return compiling.compile_rasp_to_model(
        program, vocab=set(vocab), max_seq_len=max_len, compiler_bos=BOS, causal=causal)


def every(vocab, max_len):
    return ["".join(p) for n in range(1, max_len + 1) for p in itertools.product(vocab, repeat=n)]


def wrong(model, inputs, ref):
    out = run_model(model, inputs)
    return [(s, out[s], ref(s)) for s in inputs if not same(out[s], ref(s))]


def show(case) -> str:
    """The first output position where `got` and `want` differ."""
    s, got, want = case
    i = next((i for i, (g, w) in enumerate(zip(got, want)) if not same([g], [w])), 0)
    fmt = lambda x: f"{x:.4g}" if isinstance(x, float) else str(x)  # noqa: E731
    text = s if len(s) <= 16 else s[:16] + "..."
    return f"on {text!r} (length {len(s)}) position {i} is {fmt(got[i])}, want {fmt(want[i])}"


def claim(text: str, holds: bool, evidence: str) -> None:
    print(f"{'yes' if holds else 'no '}  {text}: {evidence}", flush=True)


def hist_one_layer() -> None:
    model = compile_(lib.make_hist(), "abc", 8)
    bad = wrong(model, every("abc", 5), lambda s: [Counter(s)[t] for t in s])
    layers = model.model_config.num_layers
    claim("Tracr compiles hist in 1 layer", layers == 1 and not bad,
          f"make_hist at max_len 8: {layers} layer(s) (attention + MLP), "
          f"{len(bad)} wrong of 363 inputs up to length 5")


def causal_mask() -> None:
    hist = lib.make_hist()
    causal = compile_(hist, "abc", 8, causal=True)
    plain = compile_(hist, "abc", 8)
    inputs = every("abc", 5)
    prefix_hist = lambda s: [s[: i + 1].count(t) for i, t in enumerate(s)]  # noqa: E731
    bad = wrong(causal, inputs, prefix_hist)
    example = run_model(causal, ["abab"])["abab"], run_model(plain, ["abab"])["abab"]
    claim("Tracr masks attention causally when asked", causal.model_config.causal and not bad,
          f"make_hist with causal=True counts within the prefix on all 363 inputs up to length 5 "
          f"({len(bad)} wrong): 'abab' -> {example[0]}, without causal {example[1]}")


def categorical_default() -> None:
    previous = rasp.Select(rasp.indices + 1, rasp.indices, rasp.Comparison.EQ)
    program = rasp.Aggregate(previous, rasp.tokens, default="_")
    try:
        compile_(program, "abc", 5)
    except NotImplementedError as e:
        claim("Tracr refuses a categorical aggregate with a default", True,
              f"NotImplementedError: {e}")
        return
    claim("Tracr refuses a categorical aggregate with a default", False, "it compiled")


def equal_values() -> None:
    same_token = rasp.Select(rasp.tokens, rasp.tokens, rasp.Comparison.EQ)
    model = compile_(rasp.Aggregate(same_token, rasp.tokens), "abc", 5)
    bad = wrong(model, every("abc", 5), list)
    claim("Tracr gets categorical aggregates of several equal values right", not bad,
          f"aggregate(select(tokens, tokens, ==), tokens), max_len 5: {len(bad)} wrong of 363"
          + (f"; {show(bad[0])}" if bad else ""))


def negative_map() -> None:
    step = {"a": 1, "b": -1, "c": 0}
    model = compile_(rasp.numerical(rasp.Map(lambda t: step[t], rasp.tokens)), "abc", 5)
    bad = wrong(model, every("abc", 3), lambda s: [step[t] for t in s])
    claim("Tracr clips negative numerical maps to 0", bool(bad) and all(
        g == 0 for _, got, want in bad for g, w in zip(got, want) if w < 0),
        f"numerical(map({{a: 1, b: -1, c: 0}}, tokens)): {len(bad)} wrong of 39; "
        + (show(bad[0]) if bad else "none"))


def means() -> None:
    frac = lib.make_frac_prevs(rasp.tokens == "a")  # mean over positions <= i: k/(i+1)
    fracs = lambda s: [s[: i + 1].count("a") / (i + 1) for i in range(len(s))]  # noqa: E731
    model = compile_(frac, "ab", 7)
    bad = wrong(model, every("ab", 6), fracs)
    rng = random.Random(1)
    long_inputs = ["".join(rng.choice("ab") for _ in range(64)) for _ in range(50)]
    long_bad = wrong(compile_(frac, "ab", 64), long_inputs, fracs)
    errors = [abs(g - w) for _, got, want in long_bad for g, w in zip(got, want)]
    claim("Tracr gets k/n numerical means wrong", bool(bad or long_bad),
          f"make_frac_prevs(tokens == 'a') within 1e-3: {len(bad)} wrong of 126 inputs up to "
          f"length 6 (max_len 7); {len(long_bad)} wrong of 50 of length 64 (max_len 64), "
          f"largest error {max(errors, default=0):.2g}"
          + (f"; {show((bad or long_bad)[0])}" if bad or long_bad else ""))


def long_sequences() -> None:
    rng = random.Random(1)
    found = {}
    for name, program, ref in (
        ("length", lib.make_length(), lambda s: [len(s)] * len(s)),
        ("reverse", lib.make_reverse(rasp.tokens), lambda s: list(reversed(s))),
    ):
        for max_len in (8, 16, 32, 64):
            model = compile_(program, "abcdefgh", max_len)
            lengths = sorted({*range(1, min(max_len, 20) + 1), *range(20, max_len + 1, 4)})
            inputs = ["".join(rng.choice("abcdefgh") for _ in range(n))
                      for n in lengths for _ in range(3)]
            bad = wrong(model, inputs, ref)
            found[name, max_len] = (min(len(b[0]) for b in bad) if bad else None, len(bad), len(inputs))
    correct_small = all(found[k, 8][0] is None for k in ("length", "reverse"))
    wrong_16 = all(found[k, m][0] is not None for k in ("length", "reverse") for m in (16, 32, 64))
    claim("Tracr's length and reverse are wrong from max_len 16 on", correct_small and wrong_16,
          "; ".join(f"{k} max_len {m}: {b} wrong of {t}" + (f", shortest wrong input {f}" if f else "")
                    for (k, m), (f, b, t) in found.items()))


def main() -> None:
    import importlib.metadata as md

    print("tracr-pypi " + md.version("tracr-pypi") + ", jax " + md.version("jax")
          + ", dm-haiku " + md.version("dm-haiku"))
    for check in (hist_one_layer, causal_mask, categorical_default, equal_values, negative_map,
                  means, long_sequences):
        check()


if __name__ == "__main__":
    main()
