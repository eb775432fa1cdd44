"""Regenerate VADER 3.3.2's data files of this repository from the `vadersentiment` wheel.

    .venv/bin/pip install vadersentiment==3.3.2
    .venv/bin/python data/vader/make_lexicon.py

Writes, from the installed package's own files (MIT, C.J. Hutto; licence in data/vader/LICENSE,
copied beside each output):

- programs/vader/lexicon.tsv: `word<TAB>mean valence`, the first two columns of
  vader_lexicon.txt, in its order (VADER keeps the last of a repeated word, and so does
  `read_tsv`), for programs/vader.rasp to read with `read_tsv`;
- rasp/text/vader_emoji.tsv: `emoji<TAB>description`, emoji_utf8_lexicon.txt as it is, for the
  `vader` tokenizer's emoji replacement;
- programs/vader.vocab: the vocabulary to compile programs/vader.rasp with (see
  `vocabulary` below), one token a line.

Nothing here is tuned on the rated data sets: the words come from the lexicon and from the
rule word lists of vaderSentiment.py, read from the module itself.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rasp.text.vader import CAPS, COUNT_TOKENS, escape  # noqa: E402


def package_files() -> tuple[Path, object]:
    import vaderSentiment
    import vaderSentiment.vaderSentiment as module

    version = getattr(module, "__version__", None)
    from importlib.metadata import version as dist_version

    found = dist_version("vaderSentiment")
    if found != "3.3.2":
        raise SystemExit(f"need vadersentiment 3.3.2, found {found} ({version})")
    return Path(vaderSentiment.__file__).parent, module


def lexicon_rows(folder: Path) -> list[tuple[str, str]]:
    """(word, mean) as VADER's make_lex_dict reads them: each line stripped, split on TABs."""
    rows = []
    for line in (folder / "vader_lexicon.txt").read_text(encoding="utf-8").rstrip("\n").split("\n"):
        if not line:
            continue
        word, measure = line.strip().split("\t")[0:2]
        float(measure)  # VADER calls float() on it: fail here, not in the program
        rows.append((word, measure))
    return rows


def rule_words(module) -> set[str]:
    """Every word a rule of vaderSentiment.py compares against, lower case as the rules see them."""
    words = set(module.NEGATE) | {w for phrase in module.BOOSTER_DICT for w in phrase.split()}
    words |= {w for phrase in module.SPECIAL_CASES for w in phrase.split()}
    # Written inline in the rules: "no", "kind of", "never so/this", "without doubt",
    # "at/very least", "or/nor", "but".
    words |= {"no", "kind", "of", "never", "so", "this", "without", "doubt", "least", "at", "very",
              "or", "nor", "but"}
    return words


def vocabulary(lexicon: list[tuple[str, str]], module) -> list[str]:
    """Every word a rule or the lexicon can match (only lower-case entries can: VADER looks up
    `word.lower()`), each plain and all-caps; the count tokens; the shapes of unknown words
    (an all-caps word, a word holding "n't": the two things a rule sees in a word it does not
    know)."""
    words = {w for w, _ in lexicon if w == w.lower() and " " not in w} | rule_words(module)
    tokens = []
    for w in sorted(words):
        tokens.append(escape(w))
        if w.upper() != w:  # a word with letters has an all-caps form
            tokens.append(CAPS + escape(w))
    tokens += COUNT_TOKENS
    tokens += ["<unk>", CAPS + "<unk>", "<unk>n't", CAPS + "<unk>n't"]
    return list(dict.fromkeys(tokens))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.parse_args()
    folder, module = package_files()
    licence = ROOT / "data" / "vader" / "LICENSE"
    lexicon = lexicon_rows(folder)
    out = ROOT / "programs" / "vader"
    out.mkdir(exist_ok=True)
    (out / "lexicon.tsv").write_text("".join(f"{w}\t{m}\n" for w, m in lexicon), encoding="utf-8")
    shutil.copyfile(licence, out / "LICENSE")
    emoji = (folder / "emoji_utf8_lexicon.txt").read_text(encoding="utf-8")
    (ROOT / "rasp" / "text" / "vader_emoji.tsv").write_text(emoji, encoding="utf-8")
    shutil.copyfile(licence, ROOT / "rasp" / "text" / "LICENSE-vader")
    vocab = vocabulary(lexicon, module)
    (ROOT / "programs" / "vader.vocab").write_text("".join(t + "\n" for t in vocab), encoding="utf-8")
    print(f"lexicon {len(lexicon)} rows, vocabulary {len(vocab)} tokens")


if __name__ == "__main__":
    main()
