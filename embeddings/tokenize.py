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
from typing import Any

__all__ = [
    "ABBREVIATIONS",
    "CHARS_PER_TOKEN",
    "TOKEN_PATTERN",
    "head_chars",
    "nltk_word_tokenize",
    "split_sentences",
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


#: words that end with a period without ending a sentence (lowercased, without the
#: period): titles, common Latin and business abbreviations, months, weekdays and US
#: states' short forms that are not also common words (``sat``, ``no``, ``mass`` are
#: left out).  A single letter (an initial) and a word with an inner period (``U.S.``,
#: ``e.g.``) never end a sentence either.
ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof rev hon gen col lt sgt capt maj cmdr adm gov sen rep st jr sr
    messrs mme mlle vs etc al approx dept vol vols eds inc ltd co corp bros assn ave blvd
    rd mt ft jan feb apr jun jul aug sep sept oct nov dec tue tues thu thur thurs fri
    ala ariz calif colo conn fla kan ky md mich minn mont neb nev okla penn tenn tex vt
    wis wyo cf""".split()
)

#: a sentence-final ``.``, ``!`` or ``?`` run, the closing quotes and brackets after
#: it, then whitespace: the candidate boundaries of :func:`split_sentences`
_BOUNDARY_RE = re.compile(r"""[.!?]+['"\u2019\u201d)\]}]*(?=\s+\S)""")
_WORD_BEFORE_RE = re.compile(r"(\S+)$")


def _ends_sentence(text: str, start: int, mark: str) -> bool:
    """Whether the punctuation run ``mark`` found at ``text[start:]`` ends a sentence:
    ``!`` and ``?`` always do; a single ``.`` does unless it closes an abbreviation, an
    initial or a word with an inner period."""
    if not mark.startswith(".") or mark.startswith(".."):
        return True
    found = _WORD_BEFORE_RE.search(text, 0, start)
    if found is None:  # a period after whitespace: a token of its own
        return True
    word = found.group(1).lstrip("\"'(\u2018\u201c[{").lower()
    if not word:
        return True
    if word in ABBREVIATIONS or "." in word:
        return False
    return not (len(word) == 1 and word.isalpha())


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences without a trained model: a boundary follows a
    ``.``, ``!`` or ``?`` (and any closing quotes or brackets) before whitespace, except
    a period that closes a known abbreviation (:data:`ABBREVIATIONS`), an initial
    (``J.``) or a word with an inner period (``U.S.``).

    This stands in for NLTK's punkt model, which learned its abbreviations from a
    corpus: the two can disagree on an abbreviation missing from the list above (punkt
    keeps ``word.`` whole where this split separates the period) and on a period
    after an initial or abbreviation that really ends a sentence.

    Example:
        >>> split_sentences("Mr. Smith arrived. He sat down! Then J. R. left.")
        ['Mr. Smith arrived.', 'He sat down!', 'Then J. R. left.']
    """
    sentences: list[str] = []
    begin = 0
    for match in _BOUNDARY_RE.finditer(text):
        if _ends_sentence(text, match.start(), match.group()):
            piece = text[begin : match.end()].strip()
            if piece:
                sentences.append(piece)
            begin = match.end()
    rest = text[begin:].strip()
    if rest:
        sentences.append(rest)
    return sentences


_NLTK_WORDS: Any = None


def _nltk_words() -> Any:
    """NLTK's Treebank word tokenizer (the one ``word_tokenize`` applies per sentence)."""
    global _NLTK_WORDS
    if _NLTK_WORDS is None:
        try:
            from nltk.tokenize import NLTKWordTokenizer
        except ImportError as err:
            from embeddings.errors import MissingDependencyError

            raise MissingDependencyError(
                f"tokenizer='nltk' needs NLTK, which is not installed ({err}). Install it "
                "with: pip install 'transferkit[published]'  (or: pip install nltk); or use "
                "tokenizer='split' (pre-tokenized text) or 'words' (transferkit's tokenizer)"
            ) from err
        _NLTK_WORDS = NLTKWordTokenizer()
    return _NLTK_WORDS


def nltk_word_tokenize(text: str, *, max_tokens: int | None = None) -> list[str]:
    """NLTK's word tokenizer as published encoders (InferSent, Skip-Thought) prepare
    text, without NLTK's downloadable punkt data.

    NLTK's ``word_tokenize`` splits a text into sentences with the punkt model, then
    each sentence into words with its Treebank tokenizer.  Here the same Treebank
    tokenizer runs over :func:`split_sentences`, so nothing has to be downloaded and
    the result does not depend on the data a machine happens to have.  The sentence
    split matters only for a period that ends a sentence inside a text (the Treebank
    tokenizer separates the final period of each sentence it is given): see
    :func:`split_sentences` for where it can differ from punkt.

    ``max_tokens`` keeps the first this many tokens, and only the first
    ``max_tokens * CHARS_PER_TOKEN`` characters are read (:func:`head_chars`).

    Raises:
        MissingDependencyError: NLTK is not installed (``pip install 'transferkit[published]'``).

    Example:
        >>> nltk_word_tokenize("Don't panic. Mr. Smith's here.")  # doctest: +SKIP
        ['Do', "n't", 'panic', '.', 'Mr.', 'Smith', "'s", 'here', '.']
    """
    words = _nltk_words()
    tokens: list[str] = []
    for sentence in split_sentences(head_chars(text, max_tokens)):
        tokens.extend(words.tokenize(sentence))
        if max_tokens is not None and len(tokens) >= int(max_tokens):
            break
    return tokens if max_tokens is None else tokens[: int(max_tokens)]
