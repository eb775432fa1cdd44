"""VADER on its own rated data: vaderSentiment 3.3.2, programs/vader.rasp in the interpreter,
and the compiled transformer, side by side with the paper's figures.

    .venv/bin/pip install vadersentiment==3.3.2      # the reference (a bench extra)
    .venv/bin/python bench/vader.py [--no-compiled] [--max-len N] [--limit N]     # make vader

For each data set (data/vader: tweets, movie and Amazon review snippets, each with a mean
human rating): agreement with VADER 3.3.2 (share of snippets within 1e-4 of its compound,
largest difference), Pearson r with the human means, and F1 (the human mean and the compound
each classed positive at 0.05 or above, negative at -0.05 or below, else neutral; F1 per class, averaged
weighted by the classes' sizes, as the paper's figures come out); then compile time, size and
sentences per second. The compiled column runs the issue's command
`rasp compile programs/vader.rasp --tokenizer vader --vocab-file programs/vader.vocab
--unk '<unk>' --max-len 160`; `--no-compiled` leaves it out.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rasp  # noqa: E402
from rasp.eval import Layout, pearson, read_corpus  # noqa: E402

DATA = ROOT / "data" / "vader"
SETS = {"tweets": "tweets_GroundTruth.txt", "movies": "movieReviewSnippets_GroundTruth.txt",
        "amazon": "amazonReviewSnippets_GroundTruth.txt"}
# Hutto & Gilbert (2014), Table 3 (VADER's row): Pearson r with the human means, and F1.
PAPER = {"tweets": (0.881, 0.96), "movies": (0.451, 0.61), "amazon": (0.565, 0.63)}
TOLERANCE = 1e-4
THRESHOLD = 0.05


def read_set(name: str, limit: int | None) -> tuple[list[str], list[list[str]], list[float]]:
    """Raw texts, their vader tokens and human means, through rasp's one corpus reader."""
    examples = read_corpus(str(DATA / SETS[name]), layout=Layout((3, 2), "vader", numeric=True))[:limit]
    return [ex.text for ex in examples], [list(ex.words) for ex in examples], [float(ex.expected[0]) for ex in examples]


def polarity(x: float) -> int:
    """VADER's own convention (its README): positive from 0.05 up, negative from -0.05 down."""
    return 1 if x >= THRESHOLD else (-1 if x <= -THRESHOLD else 0)


def weighted_f1(truth: list[float], scores: list[float]) -> float:
    t = [polarity(x) for x in truth]
    p = [polarity(x) for x in scores]
    total = 0.0
    for c in (-1, 0, 1):
        tp = sum(1 for a, b in zip(t, p) if a == c and b == c)
        support = sum(1 for a in t if a == c)
        predicted = sum(1 for b in p if b == c)
        f1 = 2 * tp / (support + predicted) if support + predicted else 0.0
        total += f1 * support
    return total / len(t)


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def compile_model(max_len: int, out: Path) -> tuple[object | None, float, str]:
    """The saved model of the issue's command, its wall time (verification included), or an error."""
    cmd = [str(ROOT / ".venv" / "bin" / "rasp"), "compile", str(ROOT / "programs" / "vader.rasp"),
           "--tokenizer", "vader", "--vocab-file", str(ROOT / "programs" / "vader.vocab"),
           "--unk", "<unk>", "--max-len", str(max_len), "-o", str(out), "--json", "--force"]
    start = time.perf_counter()
    done = subprocess.run(cmd, check=False, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0 or not out.exists():
        lines = (done.stderr or done.stdout).strip().splitlines()
        return None, seconds, lines[-1] if lines else f"exit status {done.returncode}"
    return rasp.load_model(str(out)), seconds, ""


def agreement(ours: list[float], reference: list[float]) -> str:
    within = sum(1 for a, b in zip(ours, reference) if abs(a - b) <= TOLERANCE)
    worst = max(abs(a - b) for a, b in zip(ours, reference))
    return f"{within / len(ours):.4f} ({within}/{len(ours)}), max {worst:.3g}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-compiled", action="store_true", help="leave out the compiled model")
    ap.add_argument("--max-len", type=int, default=160, help="max_len to compile for (default 160)")
    ap.add_argument("--limit", type=int, default=None, help="score only the first N snippets of each set")
    args = ap.parse_args()
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    program = rasp.load(str(ROOT / "programs" / "vader.rasp"))
    model, compile_s, error = None, 0.0, ""
    if not args.no_compiled:
        with tempfile.TemporaryDirectory() as tmp:
            model, compile_s, error = compile_model(args.max_len, Path(tmp) / "vader.safetensors")
    rows, speed = [], {"vader": [0, 0.0], "interpreter": [0, 0.0], "compiled": [0, 0.0]}
    for name in SETS:
        texts, tokens, human = read_set(name, args.limit)
        vader, s = timed(lambda xs: [analyzer.polarity_scores(t)["compound"] for t in xs], texts)
        speed["vader"][0] += len(texts)
        speed["vader"][1] += s
        interp, s = timed(lambda xs: [out[-1] for out in program.batch(xs, tokenizer="vader")], texts)
        speed["interpreter"][0] += len(texts)
        speed["interpreter"][1] += s
        row = {"set": name, "n": len(texts), "human": human, "vader": vader, "interpreter": interp}
        if model is not None:
            fits = [i for i, t in enumerate(tokens) if len(t) <= model.max_len]
            outs, s = timed(model.run_batch, [texts[i] for i in fits])
            speed["compiled"][0] += len(fits)
            speed["compiled"][1] += s
            row["compiled"] = [out[-1] for out in outs]
            row["fits"] = fits
        rows.append(row)
    print("| data set | snippets | scorer | within 1e-4 of VADER 3.3.2 | Pearson r (paper) | F1 (paper) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        r_paper, f1_paper = PAPER[row["set"]]
        for scorer in ("vader", "interpreter", "compiled"):
            if scorer not in row:
                continue
            scores = row[scorer]
            human = row["human"] if scorer != "compiled" else [row["human"][i] for i in row["fits"]]
            reference = row["vader"] if scorer != "compiled" else [row["vader"][i] for i in row["fits"]]
            agree = "-" if scorer == "vader" else agreement(scores, reference)
            print(f"| {row['set']} | {len(scores)} | {scorer} | {agree} | {pearson(scores, human):.3f} ({r_paper}) "
                  f"| {weighted_f1(human, scores):.3f} ({f1_paper}) |")
    print()
    print("| scorer | sentences per second | compile s | parameters |")
    print("| --- | --- | --- | --- |")
    for scorer, (n, s) in speed.items():
        if scorer == "compiled" and model is None:
            why = "not run" if args.no_compiled else f"failed: {error}"
            print(f"| compiled | {why} | {compile_s:.1f} | - |")
            continue
        extra = f"| {compile_s:.1f} | {model.summary()['params']:,} |" if scorer == "compiled" else "| - | - |"
        print(f"| {scorer} | {n / s:,.0f} {extra}")


if __name__ == "__main__":
    main()
