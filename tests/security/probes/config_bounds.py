"""Size bounds of saved configs and shared word tables: random-glove ``n_components`` and
matrix size, TF-IDF / LSA sizes and n-gram ranges, gensim trainer sizes, ``pmean`` powers,
``n_jobs``, SIF components and saved fastText subword lengths read from a ``config.json``;
writes into the shared read-only glove table; concatenations of many glove parts; one
10 MB text through the word-vector and baseline encoders; base cycles of random-glove."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.security.probes import Ctx, Variant, check

TF = "embeddings.adapters.baselines:TfidfEncoder"
LSA = "embeddings.adapters.baselines:LsaEncoder"
RP = "embeddings.adapters.baselines:RandomProjectionEncoder"
WV = "embeddings.adapters.word_vectors:WordVectorEncoder"
TW = "embeddings.adapters.word_vectors:TrainedWordVectorEncoder"
TRAIN = ["a cat sat", "a dog ran", "the cat ran", "on the mat", "a king"]
WIDE = "concat:encoders=" + "+".join(["glove-6b-50d"] * 30)


def setup(shared: Path) -> None:
    """Import the encoders and load the glove table before the caps."""
    import gensim.models  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import sklearn.feature_extraction.text  # noqa: F401

    import embeddings
    import embeddings.adapters.baselines
    import embeddings.adapters.concat
    import embeddings.adapters.word_vectors

    embeddings.load("glove-6b-50d").encode(["warm up"])


def cfg(folder: Path, klass: str, params: dict[str, Any], fitted: bool = False,
        state: dict[str, Any] | None = None) -> Path:  # fmt: skip
    """A saved-encoder folder of ``klass`` with ``params`` (``tests/security/builders.py``)."""
    from tests.security.builders import write_config

    return write_config(folder, klass, params, fitted=fitted, state=state or {})


def load_cfg(label: str, klass: str, params: dict[str, Any], *, fit: bool = False,
             expect: str = "error", seconds: float = 5) -> Variant:  # fmt: skip
    """Load a folder of ``klass`` with ``params`` (fit it), then encode."""

    def run(ctx: Ctx) -> None:
        import embeddings

        enc = embeddings.load(cfg(ctx.tmp / "c", klass, json.loads(json.dumps(params))))
        if fit:
            enc.fit(TRAIN)
        enc.encode(["a cat sat on the mat"])

    return Variant(label, run, expect=expect, seconds=seconds)  # type: ignore[arg-type]


def ok(label: str, run: Callable[[Ctx], object], seconds: float = 5) -> Variant:
    return Variant(label, run, expect="ok", seconds=seconds)


def _concat(n: int) -> Variant:
    def run(ctx: Ctx) -> None:
        import embeddings

        e = embeddings.load("concat", encoders=["glove-6b-50d"] * n)
        check(e.encode(["the cat"]).shape == (1, 50 * n), "wrong width")
        check(all(p.get_table() is e.parts_[0].get_table() for p in e.parts_), "tables copied")

    return ok(f"N={n}", run, 10)


def _write(label: str, attempt: Callable[[], object]) -> Variant:
    def run(ctx: Ctx) -> None:
        try:
            attempt()
        except ValueError as err:
            check("read-only" in str(err), f"another error: {err}")
            return
        check(False, "the shared table was written")

    return ok(label, run)


def _glove_vectors() -> Any:
    import embeddings

    return embeddings.load("glove-6b-50d").get_vectors()


def _trained(**kw: Any) -> Any:
    from embeddings.adapters.word_vectors import TrainedWordVectorEncoder

    return TrainedWordVectorEncoder(**kw).fit(["a b", "b a"])


def _scale_in_place() -> None:
    import embeddings

    e = embeddings.load("glove-6b-50d")
    e.encode(["a"])
    inner = getattr(e, "_vector_array", None)  # the encoder's own array, by either name
    array = inner() if inner is not None else e._require_table().vectors
    array[1] *= 2


def _set0(a: Any) -> None:
    a[0] = 1


def _pooling(pooling: str) -> Variant:
    def run(ctx: Ctx) -> None:
        from embeddings.adapters.word_vectors import WordVectorEncoder

        e = WordVectorEncoder(pooling=pooling).fit(TRAIN)  # type: ignore[arg-type]
        before = e.get_vectors()[:100].copy()
        e.encode(["the king sat zzqq"] * 3)
        check(np.array_equal(before, e.get_vectors()[:100]), "the table changed")

    return ok(pooling, run, 10)


def _ten_mb(label: str, make: Callable[[], Any], fit: bool = False) -> Variant:
    def run(ctx: Ctx) -> None:
        text = "the cat sat on the mat " * 450_000
        enc = make()
        if fit:
            enc.fit([text, "a b"])
        else:
            check(enc.encode([text]).shape[0] == 1, "not one vector")

    return ok(label, run)


def _load(name: str, **kw: Any) -> Callable[[], Any]:
    def make() -> Any:
        import embeddings

        return embeddings.load(name, **kw)

    return make


def _fitted(name: str, **kw: Any) -> Callable[[], Any]:
    return lambda: _load(name, **kw)().fit(TRAIN)


def _subwords(edit: Callable[[dict[str, Any]], object], label: str) -> Variant:
    def run(ctx: Ctx) -> None:
        import embeddings
        from embeddings.adapters.word_vectors import TrainedWordVectorEncoder as T

        d = ctx.tmp / "ft"
        T("fasttext", vector_size=4, min_count=1, epochs=1, bucket=20).fit(
            ["a cat", "a dog"]).save(d)  # fmt: skip
        c = json.loads((d / "config.json").read_text())
        edit(c["state"])
        (d / "config.json").write_text(json.dumps(c))
        embeddings.load(d).encode(["zzqq unknownword"])

    return Variant(label, run)


def _cycle(kind: str) -> Variant:
    def run(ctx: Ctx) -> None:
        import embeddings

        if kind == "base names its own folder":
            f = cfg(ctx.tmp / "self", RP, {"base": str(ctx.tmp / "self"), "n_components": 8})
            embeddings.load(f).encode(["a"])
        elif kind == "two folders name each other":
            a, b = ctx.tmp / "A", ctx.tmp / "A" / "B"
            cfg(a, RP, {"base": str(b), "n_components": 8})
            cfg(b, RP, {"base": str(a), "n_components": 8})
            embeddings.load(a, base=str(b)).encode(["a"])
        elif kind == "base spec holds random-glove":
            embeddings.load(
                "random-glove", base="concat:encoders=glove-6b-50d+random-glove"
            ).encode(["a"])
        else:
            f = cfg(ctx.tmp / "fp", RP, {"base": str(ctx.tmp / "fp"), "n_components": 8})
            embeddings.load(f).fingerprint()

    return Variant(kind, run)


def _tfidf_vocab(ctx: Ctx) -> None:
    from safetensors.numpy import save_file

    import embeddings

    f = cfg(ctx.tmp / "tfv", TF, {"max_features": 2}, fitted=True,
            state={"vocabulary": ["a", "b", "c"]})  # fmt: skip
    save_file({"idf": np.ones(3)}, str(f / "weights.safetensors"))
    embeddings.load(f)


def _unknown_algorithm(ctx: Ctx) -> None:
    from embeddings.training.trainers import train_word_vectors

    train_word_vectors([["a", "b"]] * 5, algorithm="glove", min_count=1)  # type: ignore[arg-type]


def _pmean_many(ctx: Ctx) -> None:
    import embeddings

    f = cfg(ctx.tmp / "pm", WV, {"pooling": "pmean", "powers": [1] * 100_000})
    embeddings.load(f).encode(["a cat"])


def _ft(**kw: Any) -> dict[str, Any]:
    return {"algorithm": "fasttext", "min_count": 1, **kw}


def _k(v: Any) -> str:
    return repr(v)[:30]


PROBES = [
    ("random-glove n_components (config)", [
        load_cfg(_k(k), RP, {"n_components": k})
        for k in (10**8, 10**6, 100_001, 2**63, -1, 1.5, "1024", None)]),
    ("random-glove matrix bound (dim x k)", [
        load_cfg("30 glove parts, k=100000", RP, {"base": WIDE, "n_components": 100_000},
                 seconds=10),
        load_cfg("30 glove parts, k=45000", RP, {"base": WIDE, "n_components": 45_000},
                 seconds=10),
        load_cfg("30 glove parts, k=44000 (valid)", RP, {"base": WIDE, "n_components": 44_000},
                 expect="ok", seconds=10),
        load_cfg("pmean glove, k=100000 (valid)", RP,
                 {"base": "glove-6b-50d-pmean", "n_components": 100_000}, expect="ok",
                 seconds=10)]),
    ("tfidf ngram_range (config)", [
        load_cfg(_k(ng), TF, {"ngram_range": ng}, fit=True) for ng in
        ([1, 1_000_000], [1, 1e6], [1, 11], [0, 1], [2, 1], [1, True], "1,2", [1, 2, 3],
         [1, 10**30])]),
    ("tfidf max_features (config)", [
        load_cfg(_k(v), TF, {"max_features": v}, fit=True) for v in (10**12, 0, 2.5)]),
    ("lsa n_components / max_features (config)", [
        load_cfg(_k(p), LSA, p, fit=True) for p in
        ({"n_components": 10**7}, {"n_components": 10_001}, {"max_features": 10**12},
         {"n_components": True})]),
    ("fasttext/word2vec trainer sizes (config)", [
        load_cfg(_k(p), TW, _ft(**p), fit=True) for p in
        ({"max_n": 10**6}, {"min_n": 40, "max_n": 40}, {"bucket": 10**12},
         {"bucket": 10**7, "vector_size": 1000}, {"vector_size": 10**7}, {"window": 10**9},
         {"epochs": 10**9}, {"min_count": 2**40}, {"negative": 10**6}, {"workers": 10**5})]),
    ("concat of N glove parts shares one table (N=50, 64)", [_concat(50), _concat(64)]),
    ("write into a shared/read-only table", [
        _write("get_vectors()[0] = 1", lambda: _set0(_glove_vectors())),
        _write("get_table().vectors[:] = 0", lambda: _set0(_load("glove-6b-50d")()
                                                          .get_table().vectors)),
        _write("np.add(v, 1, out=v)", lambda: np.add(v := _glove_vectors(), 1, out=v)),
        _write("the encoder's own array [1] *= 2", _scale_in_place),
        _write("fastText subword table", lambda: _set0(_trained(
            algorithm="fasttext", vector_size=4, min_count=1, epochs=1, bucket=20)
            .get_table().subwords.vectors)),
        _write("trained counts", lambda: _set0(_trained(vector_size=4, min_count=1, epochs=1)
                                               .get_table().counts))]),
    ("pooling over the read-only table", [_pooling(p) for p in
                                          ("mean", "tfidf", "sif", "usif", "max", "pmean")]),
    ("one 10 MB text (encode, fit)", [
        _ten_mb("glove mean", _load("glove-6b-50d")),
        _ten_mb("glove pmean", _load("glove-6b-50d-pmean")),
        _ten_mb("glove usif", _fitted("glove-6b-50d-usif")),
        _ten_mb("tfidf", _fitted("tfidf")),
        _ten_mb("tfidf ngram (1, 10)", _fitted("tfidf", ngram_range=(1, 10))),
        _ten_mb("lsa", _fitted("lsa", n_components=2)),
        _ten_mb("random-glove", _load("random-glove")),
        _ten_mb("random-glove k=100000", _load("random-glove", n_components=100000)),
        _ten_mb("fit usif", _load("glove-6b-50d-usif"), fit=True),
        _ten_mb("fit tfidf", _load("tfidf"), fit=True),
        _ten_mb("fit tfidf ngram (1, 10)", _load("tfidf", ngram_range=(1, 10)), fit=True)]),
    ("lsa random_state past numpy's seed range", [
        load_cfg(_k(v), LSA, {"random_state": v}, fit=True) for v in (2**40, 2**32)]),
    ("trainer random_state / sample NaN (config)", [
        load_cfg(_k(p), TW, {"min_count": 1, **p}, fit=True) for p in
        ({"random_state": -1}, {"random_state": 2**40}, {"sample": float("nan")},
         {"sample": float("inf")}, {"sample": 5.0})]),
    ("pmean powers (config)", [
        *(load_cfg(_k(p), WV, {"pooling": "pmean", "powers": p}) for p in
          ([10**400], [1e308], [1] * 17, [0], ["max", "mean"], [2**63])),
        Variant("100,000 powers", _pmean_many)]),
    ("n_jobs fork count (config)", [load_cfg(_k(v), WV, {"n_jobs": v})
                                    for v in (10**6, 257, -2)]),
    ("sif n_components (config)", [
        load_cfg(_k(k), WV, {"pooling": "sif", "n_components": k}, fit=True)
        for k in (10**9, 10_001)]),
    ("saved subword min_n / max_n (state)", [
        _subwords(lambda s: s.__setitem__("max_n", 10**12), "max_n 10**12"),
        _subwords(lambda s: s.__setitem__("min_n", 0), "min_n 0"),
        _subwords(lambda s: s.__setitem__("max_n", 2**31), "max_n 2**31"),
        _subwords(lambda s: s.update(min_n=5, max_n=4), "min_n 5 > max_n 4")]),
    ("random-glove base cycles / nesting", [
        _cycle(k) for k in ("base names its own folder", "two folders name each other",
                            "base spec holds random-glove", "fingerprint of a self-base")]),
    ("saved tfidf vocabulary > max_features", [Variant("3 words, max_features 2",
                                                       _tfidf_vocab)]),
    ("trainer unknown algorithm", [Variant("algorithm='glove'", _unknown_algorithm)]),
]  # fmt: skip
