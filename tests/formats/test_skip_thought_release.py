"""The published Skip-Thought release layout: loading, encoding parity, and safe unpickling.

The tests build a small release in the published layout: ``uni_skip.npz`` /
``bi_skip.npz`` with the GRU parameters named ``encoder_W``, ``encoder_U``,
``encoder_b``, ``encoder_Wx``, ``encoder_Ux``, ``encoder_bx`` (and ``encoder_r_*`` for
the backward GRU of bi-skip) beside ``Wemb`` and decoder arrays, the options dicts
pickled as ``uni_skip.npz.pkl`` / ``bi_skip.npz.pkl``, the expanded word tables
``utable.npy`` / ``btable.npy`` and ``dictionary.txt``.  The expected vectors come
from ``_published_encode`` below: a step-by-step numpy transcription of the
release's GRU equations (reset and update gates from ``W``/``U``/``b``, candidate
state from ``Wx``/``Ux``/``bx`` with the reset gate applied to ``h Ux``, ``h' = u h +
(1 - u) h~``), the backward GRU reading the reversed sentence, unknown words read as
the ``UNK`` row, each encoder's final state L2-normalised, uni then bi.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest

import embeddings
from embeddings.errors import InvalidParameterError, ModelFormatError
from embeddings.formats.skip_thought import read_options, read_release, read_table

pytest.importorskip("torch")

WORDS = ["<eos>", "UNK", "the", "a", "cat", "dog", "sat", "on", "mat", ".", "ran", "away"]
DIM_WORD = 5
UNI = 6
BI = 4


def _gru(rng: np.random.Generator, prefix: str, dim_word: int, dim: int) -> dict[str, np.ndarray]:
    s = 0.4
    return {
        f"{prefix}_W": rng.normal(0, s, (dim_word, 2 * dim)).astype(np.float32),
        f"{prefix}_b": rng.normal(0, s, (2 * dim,)).astype(np.float32),
        f"{prefix}_U": rng.normal(0, s, (dim, 2 * dim)).astype(np.float32),
        f"{prefix}_Wx": rng.normal(0, s, (dim_word, dim)).astype(np.float32),
        f"{prefix}_bx": rng.normal(0, s, (dim,)).astype(np.float32),
        f"{prefix}_Ux": rng.normal(0, s, (dim, dim)).astype(np.float32),
    }


def save_table(path: Path, table: np.ndarray, *, object_rows: bool = False) -> None:
    """Save a word table as ``.npy``: a float array, or an object array holding one
    row vector per word (``object_rows``, as some published tables are)."""
    if object_rows:
        rows = np.empty(len(table), dtype=object)
        for i in range(len(table)):
            rows[i] = table[i].copy()
        np.save(path, rows, allow_pickle=True)
    else:
        np.save(path, table)


def build_release(folder, *, object_tables: bool = False, seed: int = 0):
    """Write a release with random weights in the published layout; return its arrays."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dictionary.txt").write_bytes("\n".join(WORDS).encode("utf-8") + b"\n")
    arrays = {}
    for name, dim, table_name in (("uni", UNI, "utable.npy"), ("bi", BI, "btable.npy")):
        params = {"Wemb": rng.normal(0, 0.1, (20, DIM_WORD)).astype(np.float32)}
        params.update(_gru(rng, "encoder", DIM_WORD, dim))
        if name == "bi":
            params.update(_gru(rng, "encoder_r", DIM_WORD, dim))
        params.update(_gru(rng, "decoder_f", DIM_WORD, 3))  # present in the release, unused
        params["ff_logit_W"] = rng.normal(0, 0.1, (3, 20)).astype(np.float32)
        np.savez(folder / f"{name}_skip.npz", **params)
        options = {"dim": dim, "dim_word": DIM_WORD, "encoder": "gru", "decoder": "gru",
                   "n_words": 20, "maxlen_w": 30, "optimizer": "adam", "grad_clip": 5.0,
                   "saveto": f"/home/user/{name}_skip.npz", "reload_": False}  # fmt: skip
        with open(folder / f"{name}_skip.npz.pkl", "wb") as fh:
            pickle.dump(options, fh, protocol=2)
        table = rng.normal(0, 0.5, (len(WORDS), DIM_WORD)).astype(np.float32)
        save_table(folder / table_name, table, object_rows=object_tables)
        arrays[name] = (params, table)
    return arrays


def _published_gru(x: np.ndarray, p: dict[str, np.ndarray], prefix: str) -> np.ndarray:
    dim = p[f"{prefix}_Ux"].shape[1]
    W, b, U = (p[f"{prefix}_{k}"].astype(np.float64) for k in ("W", "b", "U"))
    Wx, bx, Ux = (p[f"{prefix}_{k}"].astype(np.float64) for k in ("Wx", "bx", "Ux"))
    h = np.zeros(dim)
    for t in range(x.shape[0]):
        preact = h @ U + x[t] @ W + b
        r = 1 / (1 + np.exp(-preact[:dim]))
        u = 1 / (1 + np.exp(-preact[dim:]))
        hx = np.tanh((h @ Ux) * r + x[t] @ Wx + bx)
        h = u * h + (1 - u) * hx
    return h


def _published_encode(arrays, sentence: str, mode: str = "combine") -> np.ndarray:
    index = {w: i for i, w in enumerate(WORDS)}
    rows = [index.get(w, index["UNK"]) for w in sentence.split()]
    out = []
    if mode in ("uni", "combine"):
        params, table = arrays["uni"]
        v = _published_gru(table[rows].astype(np.float64), params, "encoder")
        out.append(v / np.linalg.norm(v))
    if mode in ("bi", "combine"):
        params, table = arrays["bi"]
        x = table[rows].astype(np.float64)
        v = np.concatenate(
            [_published_gru(x, params, "encoder"), _published_gru(x[::-1], params, "encoder_r")]
        )
        out.append(v / np.linalg.norm(v))
    return np.concatenate(out)


SENTENCES = ["the cat sat on the mat .", "a dog ran away", "the zebra sat", "cat"]


@pytest.mark.parametrize("object_tables", [False, True])
@pytest.mark.parametrize(("mode", "dim"), [("uni", UNI), ("bi", 2 * BI), ("combine", UNI + 2 * BI)])
def test_release_encodes_as_published(tmp_path, mode, dim, object_tables):
    arrays = build_release(tmp_path / "rel", object_tables=object_tables)
    enc = embeddings.load("skip-thought", path=str(tmp_path / "rel"), mode=mode, tokenizer="split")
    got = enc.encode(SENTENCES)
    assert got.shape == (len(SENTENCES), dim) and got.dtype == np.float32
    want = np.stack([_published_encode(arrays, s, mode) for s in SENTENCES])
    np.testing.assert_allclose(got, want, atol=2e-6)
    # one sentence at a time gives the same vectors as the batch (no padding effect)
    alone = np.vstack([enc.encode([s]) for s in SENTENCES])
    np.testing.assert_array_equal(alone, got)


def test_release_empty_text_and_eos(tmp_path):
    arrays = build_release(tmp_path / "rel")
    enc = embeddings.load("skip-thought", path=str(tmp_path / "rel"), mode="uni", tokenizer="split")
    empty = enc.encode([""])
    np.testing.assert_allclose(empty[0], _published_encode(arrays, "UNK", "uni"), atol=2e-6)
    eos = embeddings.load(
        "skip-thought", path=str(tmp_path / "rel"), mode="uni", tokenizer="split", use_eos=True
    )
    np.testing.assert_allclose(
        eos.encode(["the cat"])[0], _published_encode(arrays, "the cat <eos>", "uni"), atol=2e-6
    )
    # an empty text with <eos>: the published code encodes <eos> alone
    np.testing.assert_allclose(
        eos.encode([""])[0], _published_encode(arrays, "<eos>", "uni"), atol=2e-6
    )


def test_a_repeated_dictionary_word_uses_its_last_row(tmp_path):
    """The published reader builds ``OrderedDict(zip(words, table))``: a repeated word
    keeps the row of its last line."""
    build_release(tmp_path / "rel")
    words = [*WORDS, "cat"]  # "cat" again, on the last line: row len(WORDS)
    (tmp_path / "rel" / "dictionary.txt").write_bytes("\n".join(words).encode("utf-8") + b"\n")
    for name in ("utable.npy", "btable.npy"):
        table = np.load(tmp_path / "rel" / name)
        np.save(tmp_path / "rel" / name, np.concatenate([table, table[-1:] * 0 + 0.5]))
    with pytest.warns(RuntimeWarning, match="last line"):
        release = read_release(tmp_path / "rel", mode="uni")
    assert release.index["cat"] == len(WORDS)


def test_release_save_refers_to_files(tmp_path):
    build_release(tmp_path / "rel")
    enc = embeddings.load("skip-thought", path=str(tmp_path / "rel"), mode="bi", tokenizer="split")
    enc.save(tmp_path / "saved")
    again = embeddings.load(str(tmp_path / "saved"), allow_paths=[tmp_path / "rel"])
    np.testing.assert_array_equal(again.encode(SENTENCES), enc.encode(SENTENCES))
    assert again.fingerprint() == enc.fingerprint()


def test_options_given_by_the_user_skip_the_pickles(tmp_path):
    arrays = build_release(tmp_path / "rel")
    (tmp_path / "rel" / "uni_skip.npz.pkl").unlink()
    with pytest.raises(OSError):
        read_release(tmp_path / "rel", mode="uni")
    rel = read_release(tmp_path / "rel", mode="uni", options={"uni": {"dim": UNI, "dim_word": 5}})
    assert rel.parts["uni"].hidden_size == UNI
    enc = embeddings.load(
        "skip-thought", path=str(tmp_path / "rel"), mode="uni", tokenizer="split",
        options={"uni": {"dim": UNI, "dim_word": DIM_WORD}},
    )  # fmt: skip
    np.testing.assert_allclose(
        enc.encode(["a cat"])[0], _published_encode(arrays, "a cat", "uni"), atol=2e-6
    )


def test_missing_or_misshaped_arrays_are_named(tmp_path):
    build_release(tmp_path / "rel")
    path = tmp_path / "rel" / "bi_skip.npz"
    params = dict(np.load(path))
    del params["encoder_r_Ux"]
    np.savez(path, **params)
    with pytest.raises(ModelFormatError, match="encoder_r_Ux"):
        read_release(tmp_path / "rel", mode="bi")
    params["encoder_r_Ux"] = np.zeros((BI, BI + 1), dtype=np.float32)
    np.savez(path, **params)
    with pytest.raises(ModelFormatError, match=r"encoder_r_Ux.*\(4, 5\)"):
        read_release(tmp_path / "rel", mode="bi")
    np.save(tmp_path / "rel" / "utable.npy", np.zeros((3, DIM_WORD), dtype=np.float32))
    with pytest.raises(ModelFormatError, match="utable.npy has shape"):
        read_release(tmp_path / "rel", mode="uni")
    (tmp_path / "rel" / "dictionary.txt").write_text("the\ncat\n")
    with pytest.raises(ModelFormatError, match="UNK"):
        read_release(tmp_path / "rel", mode="uni")
    with pytest.raises(InvalidParameterError, match="mode"):
        read_release(tmp_path / "rel", mode="tri")


class _Payload:
    """Unpickling this under the standard unpickler would create ``target``."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_malicious_options_pickle_is_refused_and_never_runs(tmp_path):
    build_release(tmp_path / "rel")
    target = tmp_path / "pwned.txt"
    evil = {"dim": UNI, "dim_word": DIM_WORD, "hook": _Payload(str(target))}
    for protocol in (0, 2, 4):
        (tmp_path / "rel" / "uni_skip.npz.pkl").write_bytes(pickle.dumps(evil, protocol=protocol))
        with pytest.raises(ModelFormatError, match=r"(builtins|io)\.open"):
            read_options(tmp_path / "rel" / "uni_skip.npz.pkl")
        enc = embeddings.load("skip-thought", path=str(tmp_path / "rel"), mode="uni")
        with pytest.raises(ModelFormatError, match="only plain"):
            enc.encode(["a cat"])
        assert not target.exists()
    # the standard unpickler would have created it: the payload is real
    pickle.loads(pickle.dumps(evil)).get("hook").close()
    assert target.exists()


def test_options_must_be_plain_data(tmp_path):
    p = tmp_path / "o.pkl"
    p.write_bytes(pickle.dumps({"dim": 3, "s": {1, 2}}, protocol=4))
    with pytest.raises(ModelFormatError, match="set"):
        read_options(p)
    p.write_bytes(pickle.dumps([1, 2], protocol=2))
    with pytest.raises(ModelFormatError, match="expected a dict"):
        read_options(p)
    p.write_bytes(b"garbage")
    with pytest.raises(ModelFormatError, match="not a readable pickle"):
        read_options(p)
    # a Python 2 pickle (protocol 0, str keys as bytes) reads as plain strings
    p.write_bytes(b"(dp0\nS'dim'\np1\nI2400\nsS'dim_word'\np2\nI620\ns.")
    assert read_options(p) == {"dim": 2400, "dim_word": 620}


def test_malicious_object_table_is_refused(tmp_path):
    target = tmp_path / "pwned.txt"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|O", "fortran_order": False, "shape": (2,)}
    )
    payload = pickle.dumps(_Payload(str(target)), protocol=2)
    path = tmp_path / "utable.npy"
    path.write_bytes(header.getvalue() + payload)  # the header starts with the magic
    with pytest.raises(ModelFormatError, match=r"(builtins|io)\.open"):
        read_table(path)
    assert not target.exists()


@pytest.mark.parametrize("name", ["dictionary.txt", "utable.npy", "uni_skip.npz"])
def test_a_release_file_linking_out_of_its_folder_is_refused(tmp_path, name):
    build_release(tmp_path / "rel")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (tmp_path / "rel" / name).rename(outside / name)
    (tmp_path / "rel" / name).symlink_to(outside / name)
    with pytest.raises(ModelFormatError, match="outside|leads"):
        read_release(tmp_path / "rel", mode="uni")
