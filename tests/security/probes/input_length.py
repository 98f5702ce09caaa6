"""Texts of 1 to 10 MB through every encoder family that reads running text (USE,
InferSent, Skip-Thought trained and released, Quick-Thought, ELMo trained and from files,
Doc2Vec): each text kind must encode to one finite vector within the CPU limit, a batch of
100 x 1 MB texts to identical rows; the methods that tokenize (``tokens``,
``encode_tokens``, ``vocabulary_coverage``, ``predict_pairs``) are bounded too, and a
saved ``max_length`` beyond 10,000 (or of the wrong type) is refused at load."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.security.probes import Ctx, Variant, check

ENCODERS: dict[str, Any] = {}
FAMILIES = ["use", "infersent", "skip-thought", "quick-thought", "elmo", "elmo-file-split",
            "release-split", "release-words", "doc2vec"]  # fmt: skip
TEXTS: dict[str, Callable[[], str]] = {
    "1 MB of words": lambda: "the cat sat on the mat. " * 42_000,
    "10 MB of words": lambda: "the cat sat on the mat. " * 420_000,
    "10 MB one word": lambda: "x" * 10_000_000,
    "10 MB of spaces": lambda: " " * 10_000_000,
    "10 MB of punctuation": lambda: "! " * 5_000_000,
    "10 MB of U+FDFA (NFKC x18)": lambda: "\ufdfa" * 10_000_000,
    "10 MB of dotted I (lower x2)": lambda: "\u0130 " * 5_000_000,
    "10 MB of lone surrogates": lambda: "\ud800 a " * 3_000_000,
    "10 MB of CJK without spaces": lambda: "\u6771\u4eac" * 5_000_000,
    "10 MB of digits": lambda: "12 3.5 " * 1_500_000,
}


def setup(shared: Path) -> None:
    """Fit or load one tiny encoder of every family (before the caps)."""
    import torch

    import embeddings
    from embeddings.adapters.doc2vec import Doc2VecEncoder
    from embeddings.adapters.elmo import ElmoEncoder
    from embeddings.adapters.quick_thought import QuickThoughtEncoder
    from embeddings.adapters.skip_thought import SkipThoughtEncoder
    from tests.formats.test_elmo_hdf5 import write_tiny_elmo
    from tests.formats.test_skip_thought_release import BI, DIM_WORD, UNI, build_release
    from tests.security.test_max_input_length import DOCS, ELMO_TINY, _infersent, _store

    torch.manual_seed(0)
    store = _store(shared / "store") if not (shared / "store").exists() else str(shared / "store")
    if not (shared / "rel").exists():
        build_release(shared / "rel")
    opt, wts = shared / "elmo" / "options.json", shared / "elmo" / "weights.hdf5"
    if not wts.exists():
        opt, wts = write_tiny_elmo(shared / "elmo", seed=5)
    opts = {"uni": {"dim": UNI, "dim_word": DIM_WORD}, "bi": {"dim": BI, "dim_word": DIM_WORD}}
    rel = str(shared / "rel")
    ENCODERS.update({
        "use": embeddings.load("use-multilingual-v3"),
        "use-denoise": embeddings.load("use-multilingual-v3", denoise_numbers=True),
        "infersent": _infersent(store),
        "skip-thought": SkipThoughtEncoder(hidden_size=8, embedding_dim=6, epochs=1,
                                           min_count=1).fit(DOCS),
        "quick-thought": QuickThoughtEncoder(hidden_size=4, embedding_dim=6, epochs=1,
                                             min_count=1).fit(DOCS),
        "elmo": ElmoEncoder(**ELMO_TINY).fit(DOCS),  # type: ignore[arg-type]
        "elmo-file-split": embeddings.load("elmo", options_file=str(opt), weight_file=str(wts),
                                           tokenizer="split"),
        "release-split": embeddings.load("skip-thought", path=rel, options=opts,
                                         tokenizer="split"),
        "release-words": embeddings.load("skip-thought", path=rel, options=opts,
                                         tokenizer="words"),
        "doc2vec": Doc2VecEncoder(vector_size=8, min_count=1, epochs=2).fit(DOCS),
    })  # fmt: skip
    for enc in ENCODERS.values():
        enc.encode(["warm 1"])


def _text(family: str, kind: str) -> Variant:
    def run(ctx: Ctx) -> None:
        enc = ENCODERS[family]
        out = enc.encode([TEXTS[kind]()])
        check(out.shape == (1, enc.dim) and np.isfinite(out).all(), f"got {out.shape}")

    return Variant(kind, run, expect="ok")


def _batch(family: str) -> Variant:
    def run(ctx: Ctx) -> None:
        out = ENCODERS[family].encode([TEXTS["1 MB of words"]()] * 100)
        check(np.isfinite(out).all() and (out == out[0]).all(), "rows differ or not finite")

    return Variant("100 x 1 MB batch", run, expect="ok", seconds=30)


def _denoise(ctx: Ctx) -> None:
    out = ENCODERS["use-denoise"].encode([TEXTS["10 MB of digits"]()])
    check(np.isfinite(out).all())


def _use_tf(ctx: Ctx) -> None:
    from embeddings.adapters.use_tf import TFHubUSEEncoder

    enc = TFHubUSEEncoder(path="unused")
    enc._dim = 3
    seen: list[int] = []

    def fake_run(texts: list[str]) -> np.ndarray:
        seen.extend(len(t) for t in texts)
        return np.ones((len(texts), 3), np.float32)

    enc._run = fake_run  # type: ignore[method-assign]
    for kind in ("10 MB one word", "10 MB of spaces", "10 MB of U+FDFA (NFKC x18)"):
        enc._encode_batch([TEXTS[kind]()])
    check(seen == [10_000] * 3, f"passed {seen} characters to the module")


def _method(name: str) -> Variant:
    def run(ctx: Ctx) -> None:
        big = "the cat sat on the mat . " * 420_000
        if name == "elmo.encode_tokens":
            out = ENCODERS["elmo"].encode_tokens([big])
            check(np.isfinite(out[0]).all() and len(out[0]) <= 10_000, f"{len(out[0])} rows")
        elif name == "elmo.tokens":
            check(len(ENCODERS["elmo"].tokens(big)) <= 10_000, "more tokens than the limit")
        elif name == "skip-thought.vocabulary_coverage":
            ENCODERS["skip-thought"].vocabulary_coverage([big])
        else:
            check(len(ENCODERS["infersent"].predict_pairs([big], [big])) == 1, "not one pair")

    return Variant(name, run, expect="ok")


def _max_length(family: str, value: Any) -> Variant:
    def run(ctx: Ctx) -> None:
        import embeddings

        folder = ENCODERS[family].save(ctx.tmp / "m")
        cfg = json.loads((folder / "config.json").read_text())
        cfg["params"]["max_length"] = value
        (folder / "config.json").write_text(json.dumps(cfg))
        embeddings.load(folder).encode(["the cat " * 1_000_000])

    return Variant(f"{family} max_length={value!r}", run)


PROBES = [
    *((f"{family}: 1-10 MB texts and a 100 x 1 MB batch",
       [*(_text(family, k) for k in TEXTS), _batch(family)]) for family in FAMILIES),
    ("use(denoise_numbers) and use-tf: 10 MB texts", [
        Variant("denoise, 10 MB of digits", _denoise, expect="ok"),
        Variant("use-tf gets at most 10,000 characters (3 kinds)", _use_tf, expect="ok")]),
    ("tokenizing methods on a 10 MB text", [
        _method(n) for n in ("elmo.encode_tokens", "elmo.tokens",
                             "skip-thought.vocabulary_coverage", "infersent.predict_pairs")]),
    ("saved max_length out of range or of the wrong type", [
        _max_length(f, v) for f in ("skip-thought", "quick-thought", "elmo")
        for v in (10**9, 10_001, -1, 0, True, "512", 3.0)]),
]  # fmt: skip
