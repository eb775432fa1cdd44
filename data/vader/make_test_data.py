"""Precompute VADER 3.3.2's scores for the tests, so that the tests need no vadersentiment.

    .venv/bin/pip install vadersentiment==3.3.2
    .venv/bin/python data/vader/make_test_data.py

Writes tests/data/vader_sample.tsv (200 snippets of the three rated data sets, chosen by a
hash of their set and id, not by how VADER or the program scores them) and
tests/data/vader_rules.tsv (sentences written for this project, a few per rule of
vaderSentiment.py). Each line: `name<TAB>compound<TAB>pos<TAB>neu<TAB>neg<TAB>text`, the
scores as `SentimentIntensityAnalyzer().polarity_scores(text)` gives them (rounded to 4 and
3 places).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETS = {"tweets": "tweets_GroundTruth.txt", "movies": "movieReviewSnippets_GroundTruth.txt",
        "amazon": "amazonReviewSnippets_GroundTruth.txt"}
SAMPLE = 200

# One or more sentences per rule; the name says which rule it exercises.
RULES = [
    ("lexicon", "The soup was delicious"),
    ("lexicon-negative", "The service was cold and rude"),
    ("no-sentiment", "We drove to the station on Monday"),
    ("booster", "The soup was extremely delicious"),
    ("booster-negative", "The soup was extremely dull"),
    ("dampener", "The soup was slightly delicious"),
    ("booster-2-back", "The soup was really quite a delight"),
    ("booster-3-back", "The soup was incredibly much more a delight"),
    ("caps-mixed", "The soup was DELICIOUS"),
    ("caps-all", "THE SOUP WAS DELICIOUS"),
    ("caps-booster", "The soup was VERY delicious"),
    ("caps-negative", "The soup was AWFUL"),
    ("negation-1", "The soup was not delicious"),
    ("negation-nt", "The soup wasn't delicious"),
    ("negation-nt-unknown", "The soup shouldn't've been delicious"),
    ("negation-2", "The soup was not really delicious"),
    ("negation-3", "The soup was never a very delicious dish"),
    ("never-so", "I have never been so happy"),
    ("never-this", "The garden was never this lovely"),
    ("never-so-3-back", "I have never felt so truly happy"),
    ("never-this-3-back", "The garden was never this green and lovely"),
    ("no-or-3-back", "We had no fun or joy"),
    ("so-3-back", "Honestly the people there are so kind"),
    ("without-doubt", "Without doubt a triumph"),
    ("without-any-doubt", "Without any doubt a triumph"),
    ("least", "This is the least funny film"),
    ("at-least", "At least it is funny"),
    ("very-least", "At the very least it is funny"),
    ("least-first", "least funny film ever"),
    ("kind-of", "The film was kind of good"),
    ("sort-of", "The film was sort of good"),
    ("no-before", "There is no hope"),
    ("no-no", "No good deed goes unpunished"),
    ("no-or", "There is no joy or hope here"),
    ("no-nor", "There was no money nor joy"),
    ("no-alone", "No, I will not go"),
    ("idiom-the-shit", "Honestly this band is the shit"),
    ("idiom-the-bomb", "Her new album is the bomb"),
    ("idiom-kiss-of-death", "For a shop that rent rise is the kiss of death"),
    ("idiom-yeah-right", "Oh sure you will win, yeah right"),
    ("idiom-bad-ass", "My aunt is a total bad ass"),
    ("idiom-to-die-for", "These cakes here are to die for"),
    ("idiom-beating-heart", "The film has a real beating heart"),
    ("booster-phrase", "The old film is just enough fun"),
    ("but", "The start was dull but the ending was great"),
    ("but-twice", "Good food but slow service but a lovely view"),
    ("but-caps", "Nice place BUT awful staff"),
    ("exclamation", "Great news!!!"),
    ("exclamation-many", "Great news!!!!!!!!"),
    ("exclamation-inside", "Great!news!here"),
    ("question-one", "Is it good?"),
    ("question-two", "Is it good??"),
    ("question-many", "Is it good?????"),
    ("question-and-exclamation", "Is it good?!?!"),
    ("emoji", "I got the job \U0001F600"),
    ("emoji-glued", "Loved it\U0001F60Dtoday"),
    ("emoticon", "Loved it :)"),
    ("emoticon-negative", "Missed the bus :("),
    ("heart", "See you soon <3"),
    ("punctuation-edges", "'Wonderful,' she said... \"truly wonderful!\""),
    ("unknown-caps", "WOW what a lovely day"),
    ("mixed-everything", "The hotel was NOT great, but the staff were SO incredibly friendly!!! :)"),
    ("empty-ish", "..."),
]


def main() -> None:
    import sys

    sys.path.insert(0, str(ROOT))
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from rasp.eval import Layout, read_corpus

    analyzer = SentimentIntensityAnalyzer()

    def line(name: str, text: str) -> str:
        s = analyzer.polarity_scores(text)
        return f"{name}\t{s['compound']}\t{s['pos']}\t{s['neu']}\t{s['neg']}\t{text}\n"

    snippets = []
    for set_name, file in SETS.items():
        for ex in read_corpus(str(ROOT / "data" / "vader" / file), layout=Layout((3, 2), "vader", numeric=True)):
            ident = f"{set_name}:{ex.line}"
            snippets.append((hashlib.sha256(ident.encode()).hexdigest(), ident, ex.text))
    chosen = sorted(snippets)[:SAMPLE]
    out = ROOT / "tests" / "data"
    out.mkdir(exist_ok=True)
    header = "# name\tcompound\tpos\tneu\tneg\ttext (VADER 3.3.2; data/vader/make_test_data.py)\n"
    (out / "vader_sample.tsv").write_text(header + "".join(line(i, t) for _, i, t in sorted(chosen, key=lambda c: c[1])), encoding="utf-8")
    (out / "vader_rules.tsv").write_text(header + "".join(line(n, t) for n, t in RULES), encoding="utf-8")
    print(f"{len(chosen)} snippets, {len(RULES)} rule sentences")


if __name__ == "__main__":
    main()
