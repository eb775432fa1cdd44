"""SIIT on Table 1 tasks (issue 21 item 4): strict interchange intervention training from
random weights of the compiled shape, each s-op of a compiled head or MLP aligned with the
same head or MLP units. Prints, per task, held-out accuracy and each aligned s-op's IIA
(held-out same-length pairs, every position patched) before and after.

    python bench/siit.py [--steps N] [--tasks reverse,hist,...] [--json]

Vocabulary: 4 letters, lengths up to 5, d_model 64, batch 64 (small, for 2 CPU cores).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TASKS = {"reverse": list("abcd"), "hist": list("abcd"), "sort": list("abcd"), "most_frequent": list("abcd"),
         "dyck1": ["(", ")", "a", "b"]}


def main() -> int:
    import rasp
    from rasp.train.loop import TrainOptions, prepare
    from rasp.train.siit import siit_fit

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--max-len", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    for name in args.tasks.split(","):
        sop = rasp.load(ROOT / "programs" / f"{name}.rasp").sop()
        options = TrainOptions(steps=args.steps, batch=64, d_model=64, held_out=300, train_size=2000, seed=args.seed)
        setup = prepare(sop, TASKS[name], args.max_len, False, options)
        r = siit_fit(setup, sop, False)
        row = {"task": name, **r.summary()}
        rows.append(row)
        iia = ", ".join(f"{k} {r.iia_before[k]:.2f} -> {v:.2f}" for k, v in r.iia_after.items())
        print(f"{name}: accuracy {r.accuracy_before:.3f} -> {r.accuracy_after:.3f}; IIA {iia}; "
              f"{r.seconds:.0f}s", flush=True)
    if args.json:
        print(json.dumps({"steps": args.steps, "rows": rows}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
