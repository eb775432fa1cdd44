"""The `vader` tokenizer: what VADER 3.3.2 does to a text before any rule looks at it.

Token format (programs/vader.rasp reads it; a compiled model's vocabulary lists it):

    words...  <!N>  <?N>

- Emoji: each character that is a key of VADER's emoji lexicon (rasp/text/vader_emoji.tsv,
  from the vadersentiment wheel) becomes its description, with a space before it unless
  the text so far ends in a space, and none after it (as 3.3.2 does: "x😀y" becomes
  "x grinning facey"); the result is stripped of whitespace at both ends.
- Words: that text split on whitespace (str.split); each word loses the characters of
  string.punctuation at both ends, unless that leaves 2 characters or fewer, when it stays
  whole (so ":)" and "<3" survive, and "hi!" becomes "hi").
- Each word becomes one token: the word lower-cased (str.lower); a "\\" is put in front when
  the lower-cased word starts with "^" or "\\" (so a literal "^_^" is "\\^_^"); then a "^" is
  put in front when the word is all capitals (str.isupper: it has cased letters and none
  is lower case): "GOOD" is "^good", "Good" and "good" are "good", "^A" is "^\\^a".
- Then two count tokens: "<!N>" and "<?N>", N the number of "!" and of "?" in the whole
  text after emoji replacement (inside words too): "wow!!" gives ["wow", "<!2>", "<?0>"].
  An empty text gives just the two count tokens.

Nothing is judged here: capitals are only marked (VADER's emphasis needs the text to mix
cases, which the program checks), counts are not capped (the program applies "at most
4 '!'" and the "?" rule), and no word is looked up. A compiled model's unknown words map to
the vocabulary's shapes: "^<unk>" (an all-caps word), "<unk>n't", "^<unk>n't", else "<unk>";
an unknown count token becomes "<unk>", which the program reads as "more than the
vocabulary lists" (5 or more "!", 4 or more "?"). The program reads "n't" anywhere in a
word (3.3.2's `"n't" in word`); a suffix shape misses an unknown word with "n't" inside it
(2 of the 18,513 rated snippets: "don't...well", "...wouldn'tbelieve").
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

from ..files import read_text
from .tokenizers import register_tokenizer

CAPS = "^"  # in front of an all-caps word
ESCAPE = "\\"  # in front of a word that starts with CAPS or ESCAPE itself
EMOJI_FILE = Path(__file__).with_name("vader_emoji.tsv")
# Count tokens a vocabulary needs: "!" matters up to 4 and "?" up to 3; more reads as "many".
COUNT_TOKENS = [f"<!{n}>" for n in range(5)] + [f"<?{n}>" for n in range(4)]


@lru_cache(maxsize=1)
def emoji_descriptions() -> dict[str, str]:
    """VADER's make_emoji_dict: each line stripped, split on TABs, the first two fields."""
    table = {}
    for line in read_text(EMOJI_FILE, "VADER emoji lexicon", max_bytes=2_000_000).rstrip("\n").split("\n"):
        emoji, description = line.strip().split("\t")[0:2]
        table[emoji] = description
    return table


def replace_emoji(text: str) -> str:
    """3.3.2's polarity_scores, first loop: only single characters can match a key."""
    emojis = emoji_descriptions()
    out: list[str] = []
    prev_space = True
    for ch in text:
        if ch in emojis:
            if not prev_space:
                out.append(" ")
            out.append(emojis[ch])
            prev_space = False
        else:
            out.append(ch)
            prev_space = ch == " "
    return "".join(out).strip()


def split_words(text: str) -> list[str]:
    """SentiText._words_and_emoticons: whitespace split, punctuation stripped off word edges
    unless 2 characters or fewer would be left."""
    words = []
    for w in text.split():
        stripped = w.strip(string.punctuation)
        words.append(w if len(stripped) <= 2 else stripped)
    return words


def escape(word: str) -> str:
    """A lower-cased word as a token's text: marked when it could be read as a caps mark."""
    return ESCAPE + word if word.startswith((CAPS, ESCAPE)) else word


def word_token(word: str) -> str:
    return (CAPS if word.isupper() else "") + escape(word.lower())


@register_tokenizer(
    "vader",
    "VADER 3.3.2's front end: emoji replaced by their descriptions, whitespace split, "
    "punctuation stripped off word edges (unless 2 characters or fewer remain), each word "
    "lower-cased with '^' in front when it is all caps, then '<!N>' and '<?N>' counting '!' and '?'",
)
def tokenize_vader(text: str) -> list[str]:
    text = replace_emoji(text)
    tokens = [word_token(w) for w in split_words(text)]
    return tokens + [f"<!{text.count('!')}>", f"<?{text.count('?')}>"]
