"""The word tokenizer shared by word-level adapters (word vectors, TF-IDF).

One compiled regular expression splits text into words, clitics (``n't``, ``'s``)
and single punctuation marks, close to the Stanford/PTB tokenisation that GloVe
and word2vec vocabularies were built with.

Example:
    >>> tokenize("Don't panic, it's fine!")
    ["do", "n't", 'panic', ',', 'it', "'s", 'fine', '!']
"""

from __future__ import annotations

import re

__all__ = ["TOKEN_PATTERN", "tokenize"]

#: numbers with separators (3.5, 1,000), words (with the clitic "n't" split off),
#: clitics such as 's 're 'll, and single punctuation marks
TOKEN_PATTERN = r"\d+(?:[.,]\d+)+|\w+(?=n't\b)|n't\b|'\w+|\w+|[^\w\s]"
_TOKEN_RE = re.compile(TOKEN_PATTERN)


def tokenize(text: str, *, lowercase: bool = True) -> list[str]:
    """Split ``text`` into tokens (lowercased unless ``lowercase=False``)."""
    return _TOKEN_RE.findall(text.lower() if lowercase else text)
