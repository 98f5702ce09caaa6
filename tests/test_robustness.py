"""Hostile input text: every family encodes anything a ``str`` can hold, never crashing.

Each encoder family gets property-based runs (Hypothesis) over texts made of lone
surrogates, control characters and NUL, combining marks, right-to-left text and
direction overrides, emoji sequences, odd whitespace, non-characters, ordinary words,
empty and whitespace-only strings, and a few 100,000-character texts.  Every run
checks the contract: shape ``(n, dim)``, float32, finite values.

The default suite encodes about 50 generated texts per family; the ``slow`` runs
encode at least 1,000 per encoder and print their counts and timings.  Texts are
encoded in lists (one Hypothesis example is one ``encode`` call), which is how the
slow families reach 1,000 texts in few calls.

The policy for surrogates (``BaseEncoder``): each code point U+D800-U+DFFF becomes
U+FFFD, so a text with lone surrogates encodes exactly like the same text with
U+FFFD in their place.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import embeddings
from embeddings.base import BaseEncoder, replace_surrogates, validate_texts
from tests.conftest import FIT_SENTENCES

LONG = 100_000  # characters of a "very long" text

SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff", "\udcff", "\ud83d", "\ude00", "\ud83d\ude00"]
CONTROL = [chr(c) for c in range(32)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xA0)]
COMBINING = [
    "e\u0301",
    "\u0301",
    "Z" + "".join(chr(0x300 + i) for i in range(40)),
    "\u20dd",
    "\u0e49\u0e49",
]
RTL = [
    "مرحبا بالعالم",
    "שלום עולם",
    "\u202eevil\u202c",
    "\u200f",
    "\u2067abc\u2069",
    "abc مرحبا 123",
]
EMOJI = ["👍🏽", "👨\u200d👩\u200d👧\u200d👦", "🇫🇷", "🙂🙂", "\ufe0f", "🏳️\u200d🌈"]
SPACES = ["", " ", "\t\n", "\r\n", "\u2028\u2029", "\u3000", "\xa0", "\x0b\x0c", "\u200b", "\ufeff"]
OTHER = ["\uffff", "\ufffe", "\U0010ffff", "\ue000", "\ufffd", "日本語", "İ", "ß", "ﬁ", "ǅ", "𝐀"]
WORDS = ["the", "cat", "film", "good", "n't", "'s", ",", ".", "123", "3.5", "Stocks", "FELL"]
PIECES = SURROGATES + CONTROL + COMBINING + RTL + EMOJI + SPACES + OTHER + WORDS

#: one fixed text per kind of hostile input (the per-family regression set)
HOSTILE = [
    "",
    " ",
    "\t\n\r",
    "a\ud800b",
    "\udcff\udcfe",
    "the \ud83d\ude00 cat",
    "\ud800",
    "the\x00cat sat",
    "\x00",
    "".join(CONTROL),
    "Z" + "\u0301" * 500,
    "مرحبا بالعالم \u202eevil\u202c שלום",
    "👨\u200d👩\u200d👧\u200d👦 🇫🇷 👍🏽",
    "\u2028\u3000\ufeff\u200b",
    "\uffff\U0010ffff\ue000",
    "the cat sat on the mat",
]

#: ``FIT_SENTENCES`` four times, the last two ending in U+FFFD and a lone surrogate
FIT_TEXTS = [*FIT_SENTENCES[:6], FIT_SENTENCES[6] + " \ufffd", FIT_SENTENCES[7] + " \ud800"] * 4

#: family -> presets (with parameters that keep trained ones tiny)
FAMILIES: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "word_vectors": [("glove-6b-50d", {}), ("glove-6b-50d-sif", {})],
    "doc2vec": [("doc2vec-dbow", {"vector_size": 16, "min_count": 1, "epochs": 2})],
    "use": [("use-multilingual-v3", {})],
    "transformer": [("minilm-l6", {})],
    "baselines": [("tfidf", {}), ("lsa", {"n_components": 8}), ("random-glove", {})],
    "quick_thought": [
        (
            "quick-thought-corpus",
            {"hidden_size": 8, "embedding_dim": 8, "epochs": 1, "min_count": 1},
        )
    ],
}
ALL = [(family, name, params) for family, presets in FAMILIES.items() for name, params in presets]
IDS = [name for _, name, _ in ALL]
#: families that encode generated texts in large lists (slow per text)
BATCHED = {"use", "transformer"}

_ENCODERS: dict[str, BaseEncoder] = {}


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> Any:
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def get(name: str, params: dict[str, Any]) -> BaseEncoder:
    """The encoder of a preset, fitted (on texts with surrogates and U+FFFD) when needed."""
    if name not in _ENCODERS:
        enc = embeddings.load(name, **params)
        if enc.requires_fit or enc.trainable:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                enc.fit(FIT_TEXTS)
        _ENCODERS[name] = enc
    return _ENCODERS[name]


def encode(enc: BaseEncoder, texts: list[str]) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-OOV notices
        return enc.encode(texts)


def check(enc: BaseEncoder, texts: list[str]) -> np.ndarray:
    """Encode and check the contract: shape, dtype, contiguity, finite values."""
    X = encode(enc, texts)
    assert X.shape == (len(texts), enc.dim)
    assert X.dtype == np.float32 and X.flags["C_CONTIGUOUS"]
    assert np.isfinite(X).all()
    return X


# ----------------------------------------------------------------- strategies
def _long(piece: str) -> str:
    piece = piece or "x"
    return (piece * (LONG // len(piece) + 1))[:LONG]


_any_char = st.characters()
_surrogate = st.characters(categories=["Cs"])
_piece = st.one_of(
    st.sampled_from(PIECES),
    st.text(_any_char, max_size=12),
    st.text(st.one_of(_surrogate, _any_char), min_size=1, max_size=6),
)
_separator = st.sampled_from(["", " ", "  ", "\t", "\n", "\x00", "\u3000"])


@st.composite
def hostile_text(draw: Callable[..., Any]) -> str:
    """One text: pieces of hostile and ordinary text joined by odd separators."""
    parts = draw(st.lists(_piece, max_size=10))
    out = []
    for part in parts:
        out.append(part)
        out.append(draw(_separator))
    return "".join(out)


def hostile_batch(*, min_size: int, max_size: int) -> st.SearchStrategy[tuple[list[str], str, int]]:
    """A list of texts, plus a piece and a position for a long text (see ``run_property``)."""
    return st.tuples(
        st.lists(hostile_text(), min_size=min_size, max_size=max_size),
        hostile_text(),
        st.integers(0, max_size),
    )


#: what a property run counts: kind of text -> whether a text is of that kind
KINDS: dict[str, Callable[[str], bool]] = {
    "texts": lambda t: True,
    "long": lambda t: len(t) >= LONG,
    "surrogates": lambda t: any("\ud800" <= c <= "\udfff" for c in t),
    "control": lambda t: any(c < " " for c in t),
    "empty": lambda t: not t.strip(),
}


@dataclass
class Tally:
    """What a property run encoded: examples (lists), texts of each of ``KINDS``, time."""

    examples: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, texts: list[str]) -> None:
        self.examples += 1
        self.counts.update(kind for t in texts for kind, test in KINDS.items() if test(t))


def run_property(
    enc: BaseEncoder, *, examples: int, min_size: int, max_size: int, long_every: int
) -> Tally:
    """Encode ``examples`` generated lists with ``enc``; return what was encoded.

    Every ``long_every``-th list (0: none) also holds a 100,000-character text made
    of the generated piece, so their number is fixed whatever Hypothesis draws.
    """
    tally = Tally()

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(hostile_batch(min_size=min_size, max_size=max_size))
    def prop(case: tuple[list[str], str, int]) -> None:
        texts, piece, pos = case
        if long_every and tally.examples % long_every == long_every - 1:
            texts = [*texts[:pos], _long(piece), *texts[pos:]]
        check(enc, texts)
        tally.add(texts)

    start = time.perf_counter()
    prop()
    tally.seconds = time.perf_counter() - start
    return tally


def _report(name: str, tally: Tally) -> None:
    n = tally.counts
    print(
        f"\n{name}: {tally.examples} examples, {n['texts']} texts ({n['long']} of "
        f"{LONG} chars, {n['surrogates']} with surrogates, {n['control']} with control "
        f"characters, {n['empty']} empty or blank), 0 crashes, 0 NaN, {tally.seconds:.1f} s"
    )


# ----------------------------------------------------------------- the policy
def test_texts_without_surrogates_reach_the_encoder_unchanged() -> None:
    texts = ["plain", "naïve café", "日本語", "👍🏽", "\x00\ufffd", ""]
    assert replace_surrogates(texts) is texts  # not even copied
    assert validate_texts(texts) == texts


def test_each_surrogate_becomes_one_replacement_character() -> None:
    got = validate_texts(["a\ud800b", "\ud83d\ude00", "\udcff\udcfe x", "ok"])
    assert got == ["a\ufffdb", "\ufffd\ufffd", "\ufffd\ufffd x", "ok"]
    assert [len(t) for t in got] == [3, 2, 4, 2]


@pytest.mark.parametrize(("family", "name", "params"), ALL, ids=IDS)
def test_lone_surrogates_encode_as_the_replacement_character(
    family: str, name: str, params: dict[str, Any]
) -> None:
    """Regression: USE, minilm-l6 and Doc2Vec raised on lone surrogates."""
    enc = get(name, params)
    raw = ["the \ud800 cat sat", "\udcff", "a film \ud83d\ude00 good", "\ude00\ud83d"]
    fixed = ["the \ufffd cat sat", "\ufffd", "a film \ufffd\ufffd good", "\ufffd\ufffd"]
    np.testing.assert_array_equal(check(enc, raw), check(enc, fixed))


@pytest.mark.parametrize(("family", "name", "params"), ALL, ids=IDS)
def test_every_kind_of_hostile_text_encodes(family: str, name: str, params: dict[str, Any]) -> None:
    enc = get(name, params)
    X = check(enc, HOSTILE)
    singles = np.vstack([check(enc, [t]) for t in HOSTILE])
    np.testing.assert_allclose(X, singles, atol=1e-5)  # order kept, batch-independent


#: 100k-character texts: ordinary words with a surrogate and NUL; emoji, Arabic and
#: combining marks; one unbroken "word"
LONG_TEXTS = [_long("the cat \ud800 sat \x00 "), _long("👍🏽مرحبا\u0301 "), "x" * LONG]


@pytest.mark.parametrize(
    ("family", "name", "params"),
    [pytest.param(*case, marks=[pytest.mark.slow] if case[0] in BATCHED else []) for case in ALL],
    ids=IDS,
)
def test_very_long_texts_encode(family: str, name: str, params: dict[str, Any]) -> None:
    """100,000-character texts (USE reads every token: seconds per text; slow step)."""
    enc = get(name, params)
    X = check(enc, [*LONG_TEXTS, "a short one"])
    np.testing.assert_allclose(X[:1], check(enc, LONG_TEXTS[:1]), atol=1e-5)


def test_fit_on_hostile_texts() -> None:
    """Fitted families learn from texts with surrogates, NUL and control characters."""
    train = [*FIT_TEXTS, *HOSTILE]
    for name, params in [
        ("tfidf", {}),
        ("glove-6b-50d-sif", {}),
        ("doc2vec-dm", {"vector_size": 8, "min_count": 1, "epochs": 1}),
    ]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            enc = embeddings.load(name, **params).fit(train)
        check(enc, HOSTILE)


# ----------------------------------------------------------- property runs
def _sizes(family: str, *, slow: bool) -> dict[str, int]:
    if family in BATCHED:  # few calls, many texts each
        if slow:
            return {"examples": 24, "min_size": 50, "max_size": 50, "long_every": 8}
        return {"examples": 2, "min_size": 25, "max_size": 25, "long_every": 0}
    if slow:
        return {"examples": 1000, "min_size": 1, "max_size": 4, "long_every": 200}
    return {"examples": 12, "min_size": 4, "max_size": 6, "long_every": 0}


@pytest.mark.parametrize(("family", "name", "params"), ALL, ids=IDS)
def test_generated_hostile_texts(family: str, name: str, params: dict[str, Any]) -> None:
    tally = run_property(get(name, params), **_sizes(family, slow=False))
    n = tally.counts
    assert n["texts"] >= 40 and n["surrogates"] > 0 and n["empty"] > 0
    _report(name, tally)


@pytest.mark.slow
@pytest.mark.parametrize(("family", "name", "params"), ALL, ids=IDS)
def test_generated_hostile_texts_at_scale(family: str, name: str, params: dict[str, Any]) -> None:
    sizes = _sizes(family, slow=True)
    tally = run_property(get(name, params), **sizes)
    assert tally.examples >= sizes["examples"]
    n = tally.counts
    assert n["texts"] >= 1000
    assert n["long"] >= 2 and n["surrogates"] >= 50 and n["control"] >= 50 and n["empty"] >= 5
    _report(name, tally)
