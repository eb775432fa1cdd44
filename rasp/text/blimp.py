"""The `blimp` tokenizer: English sentences as BLiMP writes them, split into word tokens.

What it does, exactly:
1. lower-cases the text;
2. splits it on runs of whitespace;
3. splits punctuation off the end and the start of each piece, one token per mark
   ("it." -> "it", "."; '"no!"' -> '"', "no", "!", '"'): the marks . , ; : ! ? " ( ) [ ];
4. keeps everything else inside a piece as it is: a contraction stays one token ("haven't",
   "can't", "won't"), and so do hyphenated words ("well-known") and possessives ("girl's").

It judges nothing: number, agreement and all the rest are the program's business.
"""

from __future__ import annotations

from .tokenizers import register_tokenizer

PUNCTUATION = set('.,;:!?"()[]')


@register_tokenizer(
    "blimp",
    "lower-case, split on whitespace, split the marks . , ; : ! ? \" ( ) [ ] off the ends of each "
    "piece as tokens of their own; contractions (\"haven't\") and hyphenated words stay one token",
)
def split_blimp(text: str) -> list[str]:
    tokens: list[str] = []
    for piece in text.lower().split():
        before: list[str] = []
        after: list[str] = []
        while piece and piece[0] in PUNCTUATION:
            before.append(piece[0])
            piece = piece[1:]
        while piece and piece[-1] in PUNCTUATION:
            after.append(piece[-1])
            piece = piece[:-1]
        tokens += before + ([piece] if piece else []) + after[::-1]
    return tokens
