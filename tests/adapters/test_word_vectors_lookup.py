"""The batch lookup of word-vector encoders: Arrow chunking, the pure Python
fallback, chunk-level pooling and the BaseEncoder batching hooks it relies on."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings.adapters.word_vectors import WordVectorEncoder
from embeddings.base import BaseEncoder
from embeddings.errors import InvalidInputError
from embeddings.tokenize import tokenize


def test_arrow_whitespace_is_python_whitespace_for_every_code_point():
    """The Arrow split must give ``str.split()`` chunks, or the two paths disagree."""
    cps = [c for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    texts = [f"a{chr(c)}b" for c in cps]
    got = pc.utf8_split_whitespace(pa.array(texts, type=pa.large_string())).to_pylist()
    # Arrow keeps empty pieces (leading/trailing/runs); they tokenize to nothing
    diff = [hex(c) for c, t, g in zip(cps, texts, got) if [x for x in g if x] != t.split()]
    assert diff == []


def _rows_per_text(ids, rows, n):
    return [ids[rows == j].tolist() for j in range(n)]


TEXTS = [
    "The cat sat on the mat.",
    "a \x00\x00 b",  # a chunk made of NULs: the old joined-batch path crashed on it
    "\x00",
    "",
    "   ",
    "U.S. e-mail: don't (stop) 3.5 1,000!",
    "ΣΟΦΟΣ\u3000straße\u00a0İstanbul\x1cfin",
    "the the the",
]


@pytest.mark.parametrize("lowercase", [True, False])
def test_arrow_and_python_paths_give_the_reference_tokens(lowercase):
    enc = WordVectorEncoder(lowercase=lowercase)
    enc.encode(["warm up"])
    lookup = enc._lookup
    index = lookup.index
    n = len(TEXTS)
    arrow = _rows_per_text(*lookup.tokens(lookup.chunk_batch(TEXTS)), n)
    lowered = [t.lower() for t in TEXTS] if lowercase else TEXTS
    python = _rows_per_text(*lookup.tokens(lookup._chunk_batch_python(lowered)), n)
    ref = []
    for text in TEXTS:
        row = []
        for tok in tokenize(text, lowercase=lowercase):
            i = index.get(tok)
            if i is None and not lowercase:
                i = index.get(tok.lower())
            if i is not None:
                row.append(i)
        ref.append(row)
    assert arrow == ref
    assert python == ref


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from(list("ab THE,.'!\t\u00a0\x00-n'tsΣ3İ")), max_size=25),
        min_size=1,
        max_size=12,
    )
)
def test_random_texts_same_tokens_on_both_paths(texts):
    enc = _shared_encoder()
    lookup = enc._lookup
    n = len(texts)
    arrow = _rows_per_text(*lookup.tokens(lookup.chunk_batch(texts)), n)
    lowered = [t.lower() for t in texts]
    python = _rows_per_text(*lookup.tokens(lookup._chunk_batch_python(lowered)), n)
    assert arrow == python


_ENC: list[WordVectorEncoder] = []


def _shared_encoder() -> WordVectorEncoder:
    if not _ENC:
        enc = WordVectorEncoder()
        enc.encode(["warm up"])
        _ENC.append(enc)
    return _ENC[0]


def test_lone_surrogates_take_the_python_path_with_the_same_vectors():
    enc = WordVectorEncoder()
    bad = "the \ud800 cat"  # not UTF-8 encodable: Arrow refuses it
    with pytest.raises(UnicodeEncodeError):
        pa.array([bad])
    got = enc.encode([bad, "the cat"])
    np.testing.assert_array_equal(got[0], got[1])


@pytest.mark.parametrize("pooling", ["mean", "tfidf", "sif", "usif"])
def test_chunk_level_pooling_equals_token_level_weighted_mean(pooling):
    """The two sparse products (chunks, then texts) equal a per-token weighted mean
    computed directly with numpy in float64, to float32 rounding."""
    train = ["The cat sat on the mat.", "A dog's bark, a cat's hiss!", "stocks fell (sharply)"]
    texts = [*train, "the, the. the! cat's", "zzqqxx", ""]
    enc = WordVectorEncoder(pooling=pooling)
    if enc.requires_fit:
        enc.fit(train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = enc.encode(texts)
    table = np.asarray(enc.get_vectors(), dtype=np.float64)
    weights = enc.__dict__.get("_weights")
    comps = enc.__dict__.get("_components")
    lam = enc.__dict__.get("_component_weights")
    for row, text in zip(got, texts):
        ids = np.asarray(enc.token_ids(text), dtype=np.int64)
        if ids.size == 0:
            np.testing.assert_array_equal(row, 0.0)
            continue
        w = np.ones(ids.size) if weights is None else weights[ids].astype(np.float64)
        vecs = table[ids]
        if pooling == "usif":
            vecs = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
        ref = (w[:, None] * vecs).sum(0) / (w.sum() if pooling == "tfidf" else ids.size)
        if comps is not None:
            c = comps.astype(np.float64)
            ref = ref - ((c @ ref) * lam.astype(np.float64)) @ c
        np.testing.assert_allclose(row, ref, rtol=1e-5, atol=2e-6)


class _Recorder(BaseEncoder):
    family = "test"
    sort_by_length = False
    min_batch_size = 5

    def __init__(self) -> None:
        pass

    def _output_dim(self) -> int:
        return 1

    def _encode_batch(self, texts):
        self.__dict__.setdefault("batches", []).append(list(texts))
        return np.asarray([[float(len(t))] for t in texts], dtype=np.float32)


def test_base_encoder_keeps_input_order_and_min_batch_size():
    enc = _Recorder()
    texts = [str(i) * (i % 4 + 1) for i in range(12)]
    out = enc.encode(texts, batch_size=2)
    assert enc.batches == [texts[0:5], texts[5:10], texts[10:12]]
    np.testing.assert_array_equal(out[:, 0], [len(t) for t in texts])
    enc.batches = []
    enc.encode(texts, batch_size=8)  # a larger batch_size wins
    assert [len(b) for b in enc.batches] == [8, 4]


def test_validate_texts_fast_path_keeps_str_subclasses_and_names_bad_items():
    class Tagged(str):
        pass

    enc = _Recorder()
    assert enc.encode([Tagged("ab"), np.str_("c")]).shape == (2, 1)
    with pytest.raises(InvalidInputError, match=r"texts\[2\] must be str, got NoneType"):
        enc.encode(["a", "b", None])


def test_clones_share_the_vocabulary_index_but_not_the_chunk_cache(tmp_path):
    from sklearn.base import clone

    from embeddings.formats import VectorTable, write_store

    enc = WordVectorEncoder()
    enc.encode(["warm up"])
    twin = clone(enc)
    twin.encode(["warm up"])
    assert twin._lookup.index is enc._lookup.index  # built once per process
    assert twin._lookup.chunks is not enc._lookup.chunks  # each has its own cache
    # two different files never share: the key is the store's content hash
    for name, vec in (("a", [1.0, 0.0]), ("b", [0.0, 1.0])):
        write_store(tmp_path / name, VectorTable(["cat", name], np.array([vec, vec], np.float32)))
    a = WordVectorEncoder(source=str(tmp_path / "a"))
    b = WordVectorEncoder(source=str(tmp_path / "b"))
    assert a.token_ids("a cat") == [1, 0] and b.token_ids("b cat") == [1, 0]
    assert a._lookup.index is not b._lookup.index
