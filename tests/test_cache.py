"""Tests of the on-disk embedding cache (embeddings/cache.py) and `transferkit cache`."""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import embeddings
from benchmarks import cli
from embeddings.base import BaseEncoder
from embeddings.cache import (
    CachedEncoder,
    CacheWarning,
    cache_info,
    clear_cache,
    compact,
    default_cache_dir,
    text_key,
)
from embeddings.errors import InvalidInputError, InvalidParameterError, NotFittedError


# ------------------------------------------------------------------ helpers
def hash_vector(text: str, dim: int, scale: float) -> np.ndarray:
    """A deterministic pseudo-random vector per text (independent of batching)."""
    seed = int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:8])
    return (np.random.default_rng(seed).standard_normal(dim) * scale).astype(np.float32)


class CountingEncoder(BaseEncoder):
    """Hash-based vectors; records every text it is asked to encode."""

    def __init__(self, n_dims: int = 8, scale: float = 1.0) -> None:
        self.n_dims = n_dims
        self.scale = scale

    def _output_dim(self) -> int:
        return self.n_dims

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        self.__dict__.setdefault("seen", []).extend(texts)
        return np.stack([hash_vector(t, self.n_dims, self.scale) for t in texts])

    @property
    def calls(self) -> list[str]:
        return self.__dict__.get("seen", [])


class CenteringEncoder(BaseEncoder):
    """Trainable: subtracts the mean text length seen in fit (fitted state)."""

    requires_fit = True
    trainable = True

    def __init__(self, n_dims: int = 4) -> None:
        self.n_dims = n_dims

    def _output_dim(self) -> int:
        return self.n_dims

    def _fit(self, texts: list[str]) -> None:
        self.mean_ = float(np.mean([len(t) for t in texts]))

    def _get_state(self):
        return {"mean": np.array([self.mean_])}, {}

    def _set_state(self, arrays, meta) -> None:
        self.mean_ = float(arrays["mean"][0])

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        self.__dict__["n_encoded"] = self.__dict__.get("n_encoded", 0) + len(texts)
        return np.array([[len(t) - self.mean_] * self.n_dims for t in texts])


TEXTS = [f"sentence number {i} about {'cats' if i % 2 else 'dogs'}" for i in range(50)]


def shards(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.safetensors") if not p.name.startswith("."))


# --------------------------------------------------------------- behaviour
def test_real_encoder_bit_identical_and_read_back(tmp_path):
    glove = embeddings.load("glove-6b-50d")
    texts = ["the cat sat on the mat", "stocks fell sharply", "", "naïve café ☕", "\ud800 x"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # glove's OOV warning
        plain = glove.encode(texts)
        first = CachedEncoder(glove, cache_dir=tmp_path).encode(texts)
        fresh = CachedEncoder(embeddings.load("glove-6b-50d"), cache_dir=tmp_path)
        second = fresh.encode(texts[::-1])
    assert first.dtype == np.float32 and first.flags.c_contiguous
    assert first.tobytes() == plain.tobytes()
    assert second.tobytes() == plain[::-1].tobytes()
    assert fresh.dim == 50 and fresh.name == "glove-6b-50d"
    assert fresh.fingerprint() == glove.fingerprint()
    [info] = cache_info(tmp_path)
    assert (info["name"], info["n_vectors"], info["dim"], info["shards"]) == (
        "glove-6b-50d",
        len(texts),
        50,
        1,
    )
    meta = json.loads((tmp_path / glove.fingerprint() / "meta.json").read_text())
    assert meta["class"].endswith(":WordVectorEncoder") and meta["params"]["pooling"] == "mean"
    assert meta["dim"] == 50 and meta["transferkit_version"] == embeddings.__version__


def test_only_missing_distinct_texts_are_computed(tmp_path):
    enc = CountingEncoder()
    cached = CachedEncoder(enc, cache_dir=tmp_path)
    cached.encode(TEXTS[:30])
    assert sorted(enc.calls) == sorted(TEXTS[:30])
    enc.seen = []
    batch = TEXTS[20:50] + TEXTS[45:50] + ["new", "new"]
    assert cached.count_missing(batch) == 21  # TEXTS[30:50] and "new", counted once
    out = cached.encode(batch)
    assert cached.count_missing(batch) == 0
    assert sorted(enc.calls) == sorted([*TEXTS[30:50], "new"])
    np.testing.assert_array_equal(out, np.stack([hash_vector(t, 8, 1.0) for t in batch]))
    enc.seen = []
    out_again = CachedEncoder(enc, cache_dir=tmp_path).encode(batch)  # fresh index, from disk
    assert enc.calls == []
    assert out_again.tobytes() == out.tobytes()


def test_duplicates_and_empty_input(tmp_path):
    enc = CountingEncoder(n_dims=5)
    cached = CachedEncoder(enc, cache_dir=tmp_path)
    out = cached.encode(["a", "b", "a", "a", "b"])
    assert sorted(enc.calls) == ["a", "b"]
    np.testing.assert_array_equal(out[0], out[2])
    np.testing.assert_array_equal(out[1], out[4])
    assert not np.array_equal(out[0], out[1])
    empty = cached.encode([])
    assert empty.shape == (0, 5) and empty.dtype == np.float32
    fresh = CachedEncoder(CountingEncoder(n_dims=5), cache_dir=tmp_path / "unused")
    assert fresh.encode(()).shape == (0, 5)
    assert not (tmp_path / "unused").exists()  # nothing computed, nothing written


def test_validation_matches_base_encoder(tmp_path):
    cached = CachedEncoder(CountingEncoder(), cache_dir=tmp_path)
    with pytest.raises(InvalidInputError, match=r"texts\[1\]"):
        cached.encode(["ok", None])
    for bad in (0, 1.5, True):
        with pytest.raises(InvalidParameterError, match="batch_size"):
            cached.encode(["x"], batch_size=bad)
    with pytest.raises(InvalidParameterError, match="fingerprint"):
        CachedEncoder(object(), cache_dir=tmp_path).encode(["x"])
    with pytest.raises(InvalidParameterError, match="cache_dir"):
        CachedEncoder(CountingEncoder(), cache_dir=3).encode(["x"])
    assert list(tmp_path.iterdir()) == []
    one = cached.encode("one text")  # one string gives one vector, as in the base class
    assert one.shape == (cached.dim,)
    np.testing.assert_array_equal(one, cached.encode(["one text"])[0])


def test_constructor_stores_only_and_default_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "tk"))
    assert default_cache_dir() == tmp_path / "tk" / "embeddings"
    cached = CachedEncoder(CountingEncoder())
    assert not (tmp_path / "tk").exists()
    cached.encode(["x"])
    assert (tmp_path / "tk" / "embeddings" / cached.fingerprint()).is_dir()
    monkeypatch.delenv("TRANSFERKIT_CACHE")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "transferkit" / "embeddings"


def test_set_params_changes_entries(tmp_path):
    enc = CountingEncoder(scale=1.0)
    cached = CachedEncoder(enc, cache_dir=tmp_path)
    a = cached.encode(TEXTS[:5])
    fp1 = cached.fingerprint()
    enc.set_params(scale=3.0)
    enc.seen = []
    b = cached.encode(TEXTS[:5])
    assert cached.fingerprint() != fp1
    assert sorted(enc.calls) == sorted(TEXTS[:5])  # nothing reused across fingerprints
    np.testing.assert_allclose(b, a * 3.0, rtol=1e-6)
    assert sorted(r["fingerprint"] for r in cache_info(tmp_path)) == sorted(
        [fp1, cached.fingerprint()]
    )


def test_fit_changes_entries_of_trainable_encoder(tmp_path):
    enc = CenteringEncoder()
    cached = CachedEncoder(enc, cache_dir=tmp_path)
    with pytest.raises(NotFittedError):
        cached.encode(["abc"])
    cached.fit(["aa", "aaaa"])  # mean length 3
    np.testing.assert_array_equal(cached.encode(["abcde"])[0], [2.0] * 4)
    fp1 = cached.fingerprint()
    enc.fit(["a"])  # mean length 1: same params, new fitted state
    assert cached.fingerprint() != fp1
    np.testing.assert_array_equal(cached.encode(["abcde"])[0], [4.0] * 4)
    enc.fit(["aa", "aaaa"])  # back to the first state: the first entry is reused
    n_before = enc.n_encoded
    assert cached.fingerprint() == fp1
    np.testing.assert_array_equal(
        CachedEncoder(enc, cache_dir=tmp_path).encode(["abcde"])[0], [2.0] * 4
    )
    assert enc.n_encoded == n_before


def test_pickle_drops_the_in_memory_index(tmp_path):
    cached = CachedEncoder(CountingEncoder(), cache_dir=tmp_path)
    out = cached.encode(TEXTS[:3])
    assert "_stores" in cached.__dict__
    clone = pickle.loads(pickle.dumps(cached))
    assert "_stores" not in clone.__dict__
    n_calls = len(clone.encoder.calls)
    np.testing.assert_array_equal(clone.encode(TEXTS[:3]), out)
    assert len(clone.encoder.calls) == n_calls  # read back from disk, not recomputed


# -------------------------------------------------------------- robustness
def _corrupt_flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # inside the vectors
    path.write_bytes(bytes(data))


def _corrupt_truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _corrupt_garbage(path: Path) -> None:
    path.write_bytes(b"\x00\x01not a shard at all")


def _corrupt_key(path: Path) -> None:
    data = bytearray(path.read_bytes())
    header_len = int.from_bytes(data[:8], "little")
    data[8 + header_len + 5] ^= 0x01  # inside the first key
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "damage", [_corrupt_flip, _corrupt_truncate, _corrupt_garbage, _corrupt_key]
)
def test_damaged_shard_is_detected_and_recomputed(tmp_path, damage):
    enc = CountingEncoder()
    expected = CachedEncoder(enc, cache_dir=tmp_path).encode(TEXTS[:10])
    CachedEncoder(enc, cache_dir=tmp_path).encode(TEXTS[10:20])  # a second, healthy shard
    folder = tmp_path / enc.fingerprint()
    first_shard, healthy = shards(folder)
    damage(first_shard)

    enc.seen = []
    with pytest.warns(CacheWarning, match="damaged shard") as record:
        out = CachedEncoder(enc, cache_dir=tmp_path).encode(TEXTS[:20])
    assert len([w for w in record if issubclass(w.category, CacheWarning)]) == 1
    assert out[:10].tobytes() == expected.tobytes()
    assert sorted(enc.calls) == sorted(TEXTS[:10])  # only the damaged shard's texts
    assert not first_shard.exists() and healthy.exists()

    enc.seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        again = CachedEncoder(enc, cache_dir=tmp_path).encode(TEXTS[:20])
    assert enc.calls == [] and again.tobytes() == out.tobytes()


def test_leftover_temp_file_is_ignored(tmp_path):
    enc = CountingEncoder()
    CachedEncoder(enc, cache_dir=tmp_path).encode(["a"])
    folder = tmp_path / enc.fingerprint()
    (folder / ".tmp-00001-1-abc.safetensors").write_bytes(b"half a shard")
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        CachedEncoder(enc, cache_dir=tmp_path).encode(["a", "b"])
    assert cache_info(tmp_path)[0]["n_vectors"] == 2


def test_unwritable_cache_warns_but_encodes(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    enc = CountingEncoder()
    with pytest.warns(CacheWarning, match="could not write"):
        out = CachedEncoder(enc, cache_dir=blocker).encode(["a", "b"])
    np.testing.assert_array_equal(out[1], hash_vector("b", 8, 1.0))


def _worker(cache_dir: str, texts: list[str], chunk: int, barrier) -> None:
    enc = CachedEncoder(CountingEncoder(n_dims=16), cache_dir=cache_dir)
    barrier.wait()
    for start in range(0, len(texts), chunk):
        enc.encode(texts[start : start + chunk])


def test_concurrent_processes_do_not_corrupt(tmp_path):
    texts = [f"text {i} {'x' * (i % 13)}" for i in range(400)]
    ctx = mp.get_context("spawn")
    n_proc = 3
    barrier = ctx.Barrier(n_proc)
    procs = [
        # overlapping slices in different orders, many small calls -> interleaved shards
        ctx.Process(
            target=_worker, args=(str(tmp_path), texts[k * 100 : k * 100 + 200], 7, barrier)
        )
        for k in range(n_proc)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0] * n_proc

    enc = CountingEncoder(n_dims=16)
    folder = tmp_path / enc.fingerprint()
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-")]
    writers = {p.name.split("-")[1] for p in shards(folder)}  # <time>-<pid>-<random>
    assert len(writers) == n_proc  # each process wrote (its first 100 texts are its own)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        out = CachedEncoder(enc, cache_dir=tmp_path).encode(texts)
    assert len(enc.calls) == 0  # texts 0..399 were all written by some process
    np.testing.assert_array_equal(out, np.stack([hash_vector(t, 16, 1.0) for t in texts]))
    assert cache_info(tmp_path)[0]["n_vectors"] == 400

    stats = compact(tmp_path)
    assert stats[0]["shards_after"] == 1 and stats[0]["n_vectors"] == 400
    assert stats[0]["bytes_freed"] > 0
    again = CachedEncoder(enc, cache_dir=tmp_path).encode(texts)
    assert len(enc.calls) == 0 and again.tobytes() == out.tobytes()


def test_text_key_is_sha256_of_utf8():
    assert text_key("héllo") == hashlib.sha256("héllo".encode()).digest()
    assert text_key("\ud800") != text_key("\ud801")


# ------------------------------------------------------------- management
def _fill(tmp_path: Path) -> tuple[CachedEncoder, CachedEncoder]:
    a = CachedEncoder(embeddings.load("glove-6b-50d"), cache_dir=tmp_path)
    a.encode(["a cat", "a dog"])
    b = CachedEncoder(CountingEncoder(n_dims=3), cache_dir=tmp_path)
    b.encode(["x", "y", "z"])
    return a, b


def test_info_and_clear(tmp_path):
    a, b = _fill(tmp_path)
    (tmp_path / "keep-me.txt").write_text("not cache")
    (tmp_path / "notes").mkdir()
    info = {r["name"]: r for r in cache_info(tmp_path)}
    assert set(info) == {"glove-6b-50d", "CountingEncoder"}
    assert info["CountingEncoder"]["n_vectors"] == 3 and info["CountingEncoder"]["dim"] == 3
    size_b = info["CountingEncoder"]["bytes"]
    assert size_b > 3 * (32 + 3 * 4)

    assert clear_cache(tmp_path, name="nope") == 0
    assert clear_cache(tmp_path, name="CountingEncoder") == size_b
    assert [r["name"] for r in cache_info(tmp_path)] == ["glove-6b-50d"]
    with pytest.raises(InvalidParameterError, match="hex"):
        clear_cache(tmp_path, fingerprint="../etc")
    assert clear_cache(tmp_path, fingerprint=a.fingerprint()[:10]) > 0
    assert cache_info(tmp_path) == []
    assert (tmp_path / "keep-me.txt").exists() and (tmp_path / "notes").is_dir()

    # the in-process index still answers; a fresh instance recomputes
    b.encoder.seen = []
    fresh = CachedEncoder(b.encoder, cache_dir=tmp_path)
    fresh.encode(["x"])
    assert b.encoder.calls == ["x"]
    assert clear_cache(tmp_path) > 0 and cache_info(tmp_path) == []


def test_cli_info_and_clear(tmp_path, capsys, monkeypatch):
    assert "benchmarks.commands.cache" in cli.COMMANDS
    monkeypatch.setattr(cli, "COMMANDS", ("benchmarks.commands.cache",))  # only this command
    a, b = _fill(tmp_path)
    assert cli.main(["cache", "info", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "glove-6b-50d" in out and "CountingEncoder" in out and a.fingerprint()[:12] in out
    assert "2 encoder(s), 5 vectors" in out

    assert cli.main(["cache", "info", "--dir", str(tmp_path), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["fingerprint"] for r in rows} == {a.fingerprint(), b.fingerprint()}

    assert cli.main(["cache", "clear", "--dir", str(tmp_path), "--encoder", "glove-6b-50d"]) == 0
    assert "cleared" in capsys.readouterr().out
    assert [r["name"] for r in cache_info(tmp_path)] == ["CountingEncoder"]

    assert cli.main(["cache", "compact", "--dir", str(tmp_path)]) == 0
    assert "CountingEncoder" in capsys.readouterr().out

    assert cli.main(["cache", "clear", "--dir", str(tmp_path), "--fingerprint", "zz"]) == 2
    assert "hex" in capsys.readouterr().err
    assert cli.main(["cache", "clear", "--dir", str(tmp_path)]) == 0
    assert cache_info(tmp_path) == []
    assert cli.main(["cache", "info", "--dir", str(tmp_path)]) == 0
    assert "(empty)" in capsys.readouterr().out


def test_import_does_not_pull_torch():
    code = "import sys, embeddings.cache, benchmarks.commands.cache; print('torch' in sys.modules)"
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert res.stdout.strip() == "False"


# ------------------------------------------------------------ sparse shards
class SparseEncoder(BaseEncoder):
    """Bag-of-words-like vectors: a few non-zero columns per text, one of them -0.0."""

    def __init__(self, n_dims: int = 2000) -> None:
        self.n_dims = n_dims

    def _output_dim(self) -> int:
        return self.n_dims

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.n_dims), dtype=np.float32)
        for i, t in enumerate(texts):
            v = hash_vector(t, 4, 1.0)
            cols = (np.abs(v * 1000).astype(np.int64)) % self.n_dims
            out[i, cols] = v
            out[i, 0] = -0.0
        return out


def _shard_headers(folder: Path) -> list[dict]:
    from embeddings._cache_store import read_header as _read_header

    return [_read_header(p)[0]["__metadata__"] for p in sorted(folder.glob("*.safetensors"))]


def test_sparse_vectors_are_stored_as_csr_and_read_back_bit_identical(tmp_path):
    texts = [f"text number {i}" for i in range(300)]
    enc = CachedEncoder(SparseEncoder(), cache_dir=tmp_path)
    first = enc.encode(texts)
    (meta,) = _shard_headers(enc.cache_path)
    assert meta["format_version"] == "2" and meta["layout"] == "csr"
    shard_bytes = sum(p.stat().st_size for p in enc.cache_path.glob("*.safetensors"))
    assert shard_bytes < first.nbytes / 50  # 300 x 2000 float32 would be 2.4 MB
    again = CachedEncoder(SparseEncoder(), cache_dir=tmp_path).encode(texts[::-1])[::-1]
    assert again.tobytes() == first.tobytes()  # bit for bit, -0.0 included
    assert np.signbit(again[:, 0]).all()
    assert cache_info(tmp_path)[0]["dim"] == 2000


def test_dense_vectors_keep_the_dense_layout(tmp_path):
    enc = CachedEncoder(CountingEncoder(), cache_dir=tmp_path)
    enc.encode(["a", "b", "c"])
    (meta,) = _shard_headers(enc.cache_path)
    assert meta["format_version"] == "1" and "layout" not in meta


def test_tfidf_cache_is_small(tmp_path):
    train = [f"the film number {i} was {'good' if i % 2 else 'bad'} and long" for i in range(400)]
    tfidf = embeddings.load("tfidf").fit(train)
    cached = CachedEncoder(tfidf, cache_dir=tmp_path)
    X = cached.encode(train)
    size = sum(p.stat().st_size for p in cached.cache_path.glob("*.safetensors"))
    assert size < X.nbytes / 10
    fresh = CachedEncoder(tfidf, cache_dir=tmp_path)
    np.testing.assert_array_equal(fresh.encode(train), X)


def test_compact_merges_sparse_shards(tmp_path):
    enc = SparseEncoder()
    CachedEncoder(enc, cache_dir=tmp_path).encode(["a", "b"])
    CachedEncoder(enc, cache_dir=tmp_path).encode(["c", "b"])
    (stats,) = compact(tmp_path)
    assert stats["shards_before"] == 2 and stats["shards_after"] == 1 and stats["n_vectors"] == 3
    folder = tmp_path / enc.fingerprint()
    assert [m["layout"] for m in _shard_headers(folder)] == ["csr"]
    out = CachedEncoder(enc, cache_dir=tmp_path).encode(["c", "a", "b"])
    assert out.tobytes() == enc.encode(["c", "a", "b"]).tobytes()


def test_damaged_sparse_shard_is_detected(tmp_path):
    from safetensors.numpy import load_file, save_file

    from embeddings._cache_store import read_header as _read_header

    enc = SparseEncoder()
    expected = CachedEncoder(enc, cache_dir=tmp_path).encode(["a", "b"])
    (shard,) = (tmp_path / enc.fingerprint()).glob("*.safetensors")
    meta = _read_header(shard)[0]["__metadata__"]
    arrays = load_file(str(shard))
    arrays["indices"] = arrays["indices"] + np.int32(5000)  # columns outside [0, dim)
    save_file(arrays, str(shard), metadata=meta)
    with pytest.warns(CacheWarning, match="column indices"):
        out = CachedEncoder(enc, cache_dir=tmp_path).encode(["a", "b"])
    assert out.tobytes() == expected.tobytes()


# --------------------------------------------------------------- normalize
def test_normalize_is_applied_after_the_cache(tmp_path):
    inner = CountingEncoder(scale=3.0)
    raw = CachedEncoder(inner, cache_dir=tmp_path).encode(["a", "b", "a"])
    unit = CachedEncoder(inner, cache_dir=tmp_path).encode(["a", "b", "a"], normalize=True)
    assert inner.calls == ["a", "b"]  # the second call was served from the cache
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(unit, raw / np.linalg.norm(raw, axis=1, keepdims=True), rtol=1e-6)
    assert unit.dtype == np.float32 and unit.flags.c_contiguous
    again = CachedEncoder(inner, cache_dir=tmp_path).encode(["a"])
    assert again.tobytes() == raw[:1].tobytes()  # the cache holds the raw vectors
    with pytest.raises(InvalidParameterError, match="normalize"):
        CachedEncoder(inner, cache_dir=tmp_path).encode(["a"], normalize="yes")
