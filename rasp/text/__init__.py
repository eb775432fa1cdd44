"""Text front ends: tokenizers (and, later, lexicon and corpus readers) for the language programs.

A tokenizer only splits and normalises text, as a real model's tokenizer does; every judgement
happens inside the program (and so inside the compiled transformer).
"""

from .tokenizers import TOKENIZERS, Tokenizer, get_tokenizer, register_tokenizer, tokenize

__all__ = ["TOKENIZERS", "Tokenizer", "get_tokenizer", "register_tokenizer", "tokenize"]
