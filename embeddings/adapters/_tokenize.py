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

__all__ = ["TOKEN_PATTERN", "nltk_word_tokenize", "tokenize"]

#: numbers with separators (3.5, 1,000), words (with the clitic "n't" split off),
#: clitics such as 's 're 'll, and single punctuation marks
TOKEN_PATTERN = r"\d+(?:[.,]\d+)+|\w+(?=n't\b)|n't\b|'\w+|\w+|[^\w\s]"
_TOKEN_RE = re.compile(TOKEN_PATTERN)


def tokenize(text: str, *, lowercase: bool = True) -> list[str]:
    """Split ``text`` into tokens (lowercased unless ``lowercase=False``)."""
    return _TOKEN_RE.findall(text.lower() if lowercase else text)


def nltk_word_tokenize(text: str) -> list[str]:
    """NLTK's ``word_tokenize`` (punkt sentences, then Treebank words), as published
    encoders (InferSent, Skip-Thought) prepare text.

    Raises:
        MissingDependencyError: NLTK or its ``punkt_tab`` data is not installed.

    Example:
        >>> nltk_word_tokenize("Don't panic.")  # doctest: +SKIP
        ['Do', "n't", 'panic', '.']
    """
    from embeddings.errors import MissingDependencyError

    try:
        from nltk.tokenize import word_tokenize
    except ImportError as err:
        raise MissingDependencyError(
            f"tokenizer='nltk' needs NLTK ({err}): pip install nltk, then python -m "
            "nltk.downloader punkt_tab; or use tokenizer='split' (pre-tokenized text) or "
            "'words' (transferkit's tokenizer)"
        ) from err
    try:
        return list(word_tokenize(text))
    except LookupError as err:
        raise MissingDependencyError(
            "tokenizer='nltk' needs NLTK's punkt sentence model: python -m nltk.downloader "
            "punkt_tab; or use tokenizer='split' or 'words'"
        ) from err
