"""The word tokenizer shared by word-level adapters (word vectors, TF-IDF).

One compiled regular expression splits text into words, clitics (``n't``, ``'s``)
and single punctuation marks, close to the Stanford/PTB tokenisation that GloVe
and word2vec vocabularies were built with.

A sequence encoder reads at most its input limit of tokens
(:meth:`embeddings.base.BaseEncoder.input_limit`); the helpers here take that
limit as ``max_tokens`` and cut a text to its first ``max_tokens * CHARS_PER_TOKEN``
characters *before* tokenizing it, so that tokenizing costs the same for a
megabyte-long text as for one at the limit.  A text within both bounds gives the
same tokens as without a limit.

Example:
    >>> tokenize("Don't panic, it's fine!")
    ['do', "n't", 'panic', ',', 'it', "'s", 'fine', '!']
    >>> tokenize("one two three four", max_tokens=2)
    ['one', 'two']
"""

from __future__ import annotations

import itertools
import re

__all__ = [
    "CHARS_PER_TOKEN",
    "TOKEN_PATTERN",
    "head_chars",
    "nltk_word_tokenize",
    "split_words",
    "tokenize",
]

#: characters read per token of a limit: a text is cut to ``max_tokens *
#: CHARS_PER_TOKEN`` characters before it is tokenized.  Running text averages under
#: 6 characters per token, so the cut only shortens a text that is far over its token
#: limit anyway, or one made mostly of whitespace or of very long "words" (URLs, base64
#: blobs), which then yields fewer tokens than the limit.
CHARS_PER_TOKEN = 64

#: numbers with separators (3.5, 1,000), words (with the clitic "n't" split off),
#: clitics such as 's 're 'll, and single punctuation marks
TOKEN_PATTERN = r"\d+(?:[.,]\d+)+|\w+(?=n't\b)|n't\b|'\w+|\w+|[^\w\s]"
_TOKEN_RE = re.compile(TOKEN_PATTERN)


def head_chars(text: str, max_tokens: int | None, *, per_token: int = CHARS_PER_TOKEN) -> str:
    """The part of ``text`` read for its first ``max_tokens`` tokens: its first
    ``max_tokens * per_token`` characters (all of it when ``max_tokens`` is ``None``).

    Example:
        >>> len(head_chars("x" * 1000, 2)), len(head_chars("x" * 1000, 2, per_token=16))
        (128, 32)
    """
    if max_tokens is None:
        return text
    return text[: int(max_tokens) * int(per_token)]


def tokenize(text: str, *, lowercase: bool = True, max_tokens: int | None = None) -> list[str]:
    """Split ``text`` into tokens (lowercased unless ``lowercase=False``).

    Args:
        text: the text.
        lowercase: lowercase before splitting.
        max_tokens: keep the first this many tokens, read from the first
            ``max_tokens * CHARS_PER_TOKEN`` characters (:func:`head_chars`); the
            regular expression stops at the last token kept.  ``None``: all tokens.
    """
    if max_tokens is None:
        return _TOKEN_RE.findall(text.lower() if lowercase else text)
    head = head_chars(text, max_tokens)
    found = _TOKEN_RE.finditer(head.lower() if lowercase else head)
    return [m.group() for m in itertools.islice(found, int(max_tokens))]


def split_words(text: str, *, max_tokens: int | None = None) -> list[str]:
    """``text.split()`` (whitespace, for pre-tokenized text), with :func:`tokenize`'s limit.

    Example:
        >>> split_words("a  b c", max_tokens=2)
        ['a', 'b']
    """
    if max_tokens is None:
        return text.split()
    return head_chars(text, max_tokens).split()[: int(max_tokens)]


def nltk_word_tokenize(text: str, *, max_tokens: int | None = None) -> list[str]:
    """NLTK's ``word_tokenize`` (punkt sentences, then Treebank words), as published
    encoders (InferSent, Skip-Thought) prepare text.

    ``max_tokens`` keeps the first this many tokens, and NLTK reads only the first
    ``max_tokens * CHARS_PER_TOKEN`` characters (:func:`head_chars`).

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
        tokens = list(word_tokenize(head_chars(text, max_tokens)))
    except LookupError as err:
        raise MissingDependencyError(
            "tokenizer='nltk' needs NLTK's punkt sentence model: python -m nltk.downloader "
            "punkt_tab; or use tokenizer='split' or 'words'"
        ) from err
    return tokens if max_tokens is None else tokens[: int(max_tokens)]
