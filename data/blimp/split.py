"""Split each BLiMP paradigm here into a development half and a test half (fixed seed).

    python data/blimp/split.py OUT_DIR     # writes OUT_DIR/dev/NAME.jsonl and OUT_DIR/test/NAME.jsonl

The development half of a paradigm is the pairs at the 500 line numbers that
random.Random(SEED).sample(range(1000), 500) picks (sorted); the test half is the rest.
programs/agreement.rasp was developed looking only at the development halves.
"""

import random
import sys
from pathlib import Path

SEED = 19
HERE = Path(__file__).resolve().parent


def main(out: Path) -> None:
    for path in sorted(HERE.glob("*.jsonl")):
        if path.name == "models_summary.jsonl":
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        dev = set(random.Random(SEED).sample(range(len(lines)), len(lines) // 2))
        for part, keep in (("dev", True), ("test", False)):
            (out / part).mkdir(parents=True, exist_ok=True)
            chosen = [line for i, line in enumerate(lines) if (i in dev) == keep]
            (out / part / path.name).write_text("\n".join(chosen) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
