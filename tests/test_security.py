"""Hostile and damaged saved folders: a file never decides what code runs.

Loading a folder never unpickles anything, resolves its class among registered
encoder classes only, and checks every field and array before use; every failure
is a ``ModelFormatError`` naming the field.  ``encode`` refuses unordered input.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
from collections import Counter, OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import embeddings
from embeddings.base import BaseEncoder, validate_texts
from embeddings.errors import InvalidInputError, InvalidParameterError, ModelFormatError
from embeddings.registry import register_encoder_class, resolve_encoder_class

REPO = Path(__file__).resolve().parents[1]
TEXTS = ["the cat sat on the mat", "a dog ran in the park", "the cat ran", "stocks fell"] * 3
WV = "embeddings.adapters.word_vectors:WordVectorEncoder"


@pytest.fixture(autouse=True)
def _store_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFERKIT_VECTOR_STORE", str(tmp_path / "stores"))


# --------------------------------------------------------------------- pickles


class _MakeDir:
    """Unpickling this creates a folder: the proof that a pickle ran."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return os.mkdir, (self.path,)


def _pickle_folder(root: Path, *, fitted: bool, trust: object = True) -> tuple[Path, Path]:
    """A saved-encoder folder whose source is a pickle that creates a marker folder."""
    folder = root / "hostile"
    folder.mkdir()
    marker = root / "PWNED"
    (folder / "vectors.kv").write_bytes(pickle.dumps(_MakeDir(marker)))
    params: dict[str, Any] = {
        "source": str(folder / "vectors.kv"),
        "format": "gensim",
        "pooling": "sif" if fitted else "mean",
    }
    if trust is not None:
        params["trust_pickle"] = trust
    config = {
        "format": "transferkit-encoder",
        "format_version": 1,
        "class": WV,
        "adapter_version": "3",
        "preset": None,
        "params": params,
        "fitted": fitted,
        "state": {"oov_weight": 1.0} if fitted else {},
        "fingerprint": "0" * 64,
    }
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    save_file({"token_weights": np.ones(3, np.float32)}, str(folder / "weights.safetensors"))
    return folder, marker


def test_the_pickle_payload_is_live(tmp_path: Path) -> None:
    """The payload of these tests does run when a caller explicitly trusts it."""
    from embeddings.formats import read_gensim

    folder, marker = _pickle_folder(tmp_path, fitted=False)
    with pytest.raises(ModelFormatError):  # it runs, then holds no KeyedVectors
        read_gensim(folder / "vectors.kv", trust_pickle=True)
    assert marker.is_dir()


@pytest.mark.parametrize("fitted", [False, True], ids=["unfitted", "fitted"])
@pytest.mark.parametrize("trust", [True, "yes", 1], ids=["true", "string", "one"])
def test_a_config_cannot_enable_trust_pickle(tmp_path: Path, fitted: bool, trust: object) -> None:
    folder, marker = _pickle_folder(tmp_path, fitted=fitted, trust=trust)
    with pytest.raises(ModelFormatError, match="trust_pickle.*decision of the caller"):
        embeddings.load(str(folder))
    with pytest.raises(ModelFormatError, match="trust_pickle"):
        BaseEncoder.load(folder)
    assert not marker.exists()


def test_a_pickle_source_without_trust_is_refused_at_encode(tmp_path: Path) -> None:
    folder, marker = _pickle_folder(tmp_path, fitted=False, trust=False)
    enc = embeddings.load(str(folder))  # an explicit false is the default: accepted
    assert enc.get_params()["trust_pickle"] is False
    with pytest.raises(InvalidParameterError, match="trust_pickle=True"):
        enc.encode(["a cat"])
    with pytest.raises(InvalidParameterError, match="only its file and folder parameters"):
        embeddings.load(str(folder), trust_pickle=True)
    assert not marker.exists()


def test_trust_pickle_is_never_saved(tmp_path: Path) -> None:
    from embeddings.adapters.word_vectors import WordVectorEncoder

    WordVectorEncoder(trust_pickle=True).save(tmp_path / "enc")
    config = json.loads((tmp_path / "enc" / "config.json").read_text(encoding="utf-8"))
    assert "trust_pickle" not in config["params"]
    assert embeddings.load(str(tmp_path / "enc")).get_params()["trust_pickle"] is False

    folder, marker = _pickle_folder(tmp_path, fitted=False)
    reads_pickle = WordVectorEncoder(str(folder / "vectors.kv"), format="gensim", trust_pickle=True)
    with pytest.raises(InvalidParameterError, match="cannot be saved.*never makes its loader"):
        reads_pickle.save(tmp_path / "pickled")
    assert not (tmp_path / "pickled").exists() and not marker.exists()


@register_encoder_class
class Wrapper(BaseEncoder):
    """An encoder with a nested encoder parameter (saved as ``{"__encoder__": ...}``)."""

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner

    def _output_dim(self) -> int:
        return 1

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return np.zeros((len(texts), 1))


def test_nested_encoders_are_checked_like_top_level_ones(tmp_path: Path) -> None:
    from embeddings.adapters.word_vectors import WordVectorEncoder

    Wrapper(inner=WordVectorEncoder(pooling="max")).save(tmp_path / "w")
    back = embeddings.load(str(tmp_path / "w"))
    assert isinstance(back.inner, WordVectorEncoder) and back.inner.pooling == "max"

    folder, marker = _pickle_folder(tmp_path, fitted=False)
    cfg_path = tmp_path / "w" / "config.json"
    config = json.loads(cfg_path.read_text(encoding="utf-8"))
    hostile = {"source": str(folder / "vectors.kv"), "format": "gensim", "trust_pickle": True}
    for inner, match in [
        ({"__encoder__": WV, "params": hostile}, r"params\.inner\.params: 'trust_pickle'"),
        ({"__encoder__": "this:X", "params": {}}, "not a transferkit encoder class"),
        ({"__encoder__": WV, "params": {"pooling": "median"}}, "pooling must be one of"),
        ({"__encoder__": WV, "params": {}, "x": 1}, "exactly the keys"),
        ({"__encoder__": WV, "params": []}, "must be a JSON object"),
    ]:
        config["params"]["inner"] = inner
        cfg_path.write_text(json.dumps(config), encoding="utf-8")
        with pytest.raises(ModelFormatError, match=match):
            embeddings.load(str(tmp_path / "w"))
    assert not marker.exists()


# ---------------------------------------------------------------- class names

_CLASS_PROBE = textwrap.dedent(
    """
    import json, sys, tempfile, pathlib
    import embeddings
    import embeddings.base  # what loading any folder imports (scikit-learn's base...)
    from embeddings.errors import ModelFormatError

    results = {}
    before = set(sys.modules)
    for name in sys.argv[1:]:
        folder = pathlib.Path(tempfile.mkdtemp())
        config = {"format": "transferkit-encoder", "format_version": 1,
                  "class": json.loads(name), "adapter_version": "1", "preset": None,
                  "params": {}, "fitted": False, "state": {}, "fingerprint": ""}
        (folder / "config.json").write_text(json.dumps(config))
        try:
            embeddings.load(str(folder))
            results[name] = "loaded"
        except ModelFormatError as err:
            results[name] = "ModelFormatError: " + str(err)
        except BaseException as err:
            results[name] = type(err).__name__ + ": " + str(err)
    new = sorted(set(sys.modules) - before)
    present = [m for m in ("this", "antigravity", "tests") if m in sys.modules]
    print(json.dumps({"results": results, "new_modules": new, "present": present}))
    """
)

_HOSTILE_CLASSES = [
    "this:X",
    "antigravity:X",
    "os:system",
    "subprocess:Popen",
    "builtins:eval",
    "embeddings.base:BaseEncoder",
    "embeddings.adapters.word_vectors:np",
    "tests.test_base:MeanFitEncoder",
    "embeddings.adapters.word_vectors",
    "",
    123,
    None,
    ["os", "system"],
]


def test_class_names_never_import_unregistered_modules() -> None:
    args = [json.dumps(c) for c in _HOSTILE_CLASSES]
    proc = subprocess.run(
        [sys.executable, "-c", _CLASS_PROBE, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, result in out["results"].items():
        assert result.startswith("ModelFormatError: "), (name, result)
        assert "not a transferkit encoder class registered" in result, (name, result)
    assert out["present"] == []  # `this` and `antigravity` would run on import
    # nothing was resolved, so no module at all was imported
    assert out["new_modules"] == []
    assert "Beautiful is better than ugly" not in proc.stdout  # `import this` prints the Zen


def test_registered_classes_resolve_lazily_and_user_classes_register() -> None:
    path = "embeddings.adapters.baselines:TfidfEncoder"
    assert path in embeddings.registry.encoder_class_paths()
    assert resolve_encoder_class(path).__name__ == "TfidfEncoder"
    with pytest.raises(InvalidParameterError, match="BaseEncoder subclass"):
        register_encoder_class(dict)  # type: ignore[arg-type]
    assert resolve_encoder_class(Wrapper()._class_path()) is Wrapper


def test_an_unregistered_user_class_names_the_fix(tmp_path: Path) -> None:
    class Local(BaseEncoder):
        def _output_dim(self) -> int:
            return 1

        def _encode_batch(self, texts: list[str]) -> np.ndarray:
            return np.zeros((len(texts), 1))

    Local().save(tmp_path / "local")
    with pytest.raises(ModelFormatError, match=r"register_encoder_class\(YourEncoder\)"):
        embeddings.load(str(tmp_path / "local"))
    register_encoder_class(Local)
    assert isinstance(embeddings.load(str(tmp_path / "local")), Local)


# ------------------------------------------------------------ damaged folders


def _fit_all() -> dict[str, BaseEncoder]:
    from embeddings.adapters.baselines import LsaEncoder
    from embeddings.adapters.doc2vec import Doc2VecEncoder
    from embeddings.adapters.word_vectors import TrainedWordVectorEncoder

    small = {"vector_size": 8, "min_count": 1, "epochs": 1}
    return {
        "tfidf": embeddings.load("tfidf").fit(TEXTS),
        "lsa": LsaEncoder(n_components=2).fit(TEXTS),
        "sif": embeddings.load("glove-6b-50d-sif", word_freq="train").fit(TEXTS),
        "word2vec": TrainedWordVectorEncoder(**small).fit(TEXTS),
        "fasttext": TrainedWordVectorEncoder("fasttext", bucket=64, **small).fit(TEXTS),
        "doc2vec": Doc2VecEncoder(**small).fit(TEXTS),
    }


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("saved")
    return {name: enc.save(root / name) for name, enc in _fit_all().items()}


Mutation = Callable[[dict[str, Any], dict[str, np.ndarray]], Any]


def _damaged(saved: dict[str, Path], tmp_path: Path, family: str, mutate: Mutation) -> Path:
    """A copy of a saved folder, changed by ``mutate(config, arrays)``.

    ``mutate`` edits both in place; it may return bytes to write as config.json
    instead, or ``"no weights"`` to delete the weights file.
    """
    folder = tmp_path / family
    shutil.copytree(saved[family], folder)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    arrays = dict(load_file(str(folder / "weights.safetensors")))
    raw = mutate(config, arrays)
    if isinstance(raw, bytes):
        (folder / "config.json").write_bytes(raw)
    else:
        (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    if raw == "no weights":
        (folder / "weights.safetensors").unlink()
    elif not isinstance(raw, bytes):
        save_file(arrays, str(folder / "weights.safetensors"))
    return folder


def _set(path: str, value: Any) -> Mutation:
    """Set ``config[a][b]...`` (dotted path) to ``value``."""

    def mutate(config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        *parents, last = path.split(".")
        node = config
        for key in parents:
            node = node[key]
        node[last] = value

    return mutate


def _drop(key: str) -> Mutation:
    def mutate(config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        if key.startswith("array:"):
            del arrays[key[6:]]
        elif key.startswith("state:"):
            del config["state"][key[6:]]
        else:
            del config[key]

    return mutate


def _array(name: str, fn: Callable[[np.ndarray], np.ndarray]) -> Mutation:
    def mutate(config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        arrays[name] = fn(arrays[name])

    return mutate


def _with_nan(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.flat[0] = np.nan
    return a


def _with_inf(a: np.ndarray) -> np.ndarray:
    a = a.copy()
    a.flat[-1] = np.inf
    return a


def _raw(data: bytes) -> Mutation:
    return lambda config, arrays: data


def _truncate_weights(config: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    return "no weights"


# (family, mutation, what the error message must say); ids give the kind of damage
DAMAGE: list[tuple[str, str, Mutation, str]] = [
    # config.json: encoding, syntax, schema
    ("tfidf", "config not UTF-8", _raw(b'{"format": "transferkit-encoder\xff"}'), "not UTF-8"),
    ("tfidf", "config UTF-16", _raw('{"a": 1}'.encode("utf-16")), "not UTF-8"),
    ("tfidf", "config invalid JSON", _raw(b"{not json"), "invalid JSON"),
    ("tfidf", "config a JSON list", _raw(b"[1, 2]"), "expected a JSON object"),
    ("tfidf", "config nested 100k deep", _raw(b"[" * 100_000), "nested too deeply"),
    ("tfidf", "format wrong", _set("format", "pickle"), "'format' must be"),
    ("tfidf", "format_version string", _set("format_version", "1"), "format_version '1'"),
    ("tfidf", "format_version bool", _set("format_version", True), "format_version True"),
    ("tfidf", "format_version 2", _set("format_version", 2), "format_version 2"),
    ("tfidf", "class missing", _drop("class"), "'class' is missing"),
    ("tfidf", "class not a string", _set("class", 7), "not a transferkit encoder class"),
    ("tfidf", "field missing", _drop("fitted"), r"missing field\(s\) \['fitted'\]"),
    ("tfidf", "field unknown", _set("pickle", "x"), r"unknown field\(s\) \['pickle'\]"),
    ("tfidf", "params a list", _set("params", [1]), "field 'params' must be an object"),
    ("tfidf", "params null", _set("params", None), "field 'params' must be an object"),
    ("tfidf", "state a list", _set("state", []), "field 'state' must be an object"),
    ("tfidf", "fitted a string", _set("fitted", "yes"), "field 'fitted' must be a boolean"),
    ("tfidf", "preset a number", _set("preset", 5), "field 'preset' must be a string or null"),
    ("tfidf", "adapter_version int", _set("adapter_version", 1), "must be a string, got an int"),
    ("tfidf", "adapter_version old", _set("adapter_version", "0"), "adapter version '0'"),
    ("tfidf", "fingerprint null", _set("fingerprint", None), "'fingerprint' must be a string"),
    # params: names and values
    ("tfidf", "param unknown", _set("params.foo", 1), r"unknown parameter\(s\) \['foo'\]"),
    ("tfidf", "param trust_pickle", _set("params.trust_pickle", True), "unknown parameter"),
    ("tfidf", "param wrong type", _set("params.max_features", "5000"), "max_features must"),
    ("tfidf", "param out of range", _set("params.max_features", -1), "max_features must"),
    ("tfidf", "param bad tuple", _set("params.ngram_range", [2, 1]), "ngram_range must"),
    ("tfidf", "param bool as str", _set("params.lowercase", "yes"), "lowercase must"),
    ("sif", "param unknown pooling", _set("params.pooling", "median"), "pooling must be"),
    ("sif", "param NaN", _set("params.sif_a", float("nan")), "sif_a must be"),
    ("sif", "param source not str", _set("params.source", 3), "source must be"),
    ("doc2vec", "param negative size", _set("params.vector_size", -8), "vector_size must"),
    ("doc2vec", "param NaN alpha", _set("params.min_alpha", float("nan")), "min_alpha must"),
    ("lsa", "param float count", _set("params.n_components", 2.5), "n_components must"),
    # weights.safetensors: file, values
    ("tfidf", "weights missing", _truncate_weights, "weights.safetensors: missing"),
    ("tfidf", "idf NaN", _array("idf", _with_nan), "'idf' holds 1 NaN or infinite"),
    ("tfidf", "idf inf", _array("idf", _with_inf), "'idf' holds 1 NaN or infinite"),
    ("word2vec", "vectors NaN", _array("vectors", _with_nan), "'vectors' holds 1 NaN"),
    ("doc2vec", "syn1neg inf", _array("syn1neg", _with_inf), "'syn1neg' holds 1 NaN"),
    # arrays: names, dtypes, shapes
    ("tfidf", "array missing", _drop("array:idf"), r"missing array\(s\) \['idf'\]"),
    ("tfidf", "array unexpected", lambda c, a: a.update(x=np.zeros(1)), r"unexpected array"),
    ("tfidf", "vocabulary shorter", _set("state.vocabulary", ["a"]), "'idf' has shape"),
    ("tfidf", "idf float32", _array("idf", lambda a: a.astype(np.float32)), "dtype float32"),
    ("tfidf", "idf longer", _array("idf", lambda a: np.append(a, 1.0)), "'idf' has shape"),
    ("tfidf", "idf 2-D", _array("idf", lambda a: a[None, :]), "'idf' has shape"),
    ("lsa", "components too wide", _array("components", lambda a: a[:, :-1]), "'components'"),
    ("lsa", "components too many", _array("components", lambda a: np.vstack([a] * 3)), "rows"),
    ("sif", "token_weights short", _array("token_weights", lambda a: a[:-1]), "token_weights"),
    ("sif", "components wrong dim", _array("components", lambda a: a[:, :7]), "'components'"),
    ("sif", "component_weights gone", _drop("array:component_weights"), "stored together"),
    ("word2vec", "vectors wrong shape", _array("vectors", lambda a: a[:, :4]), "'vectors'"),
    ("word2vec", "counts negative", _array("counts", lambda a: -a), "negative counts"),
    ("word2vec", "vocab not UTF-8", _array("vocab_utf8", lambda a: a | 255), "vocab_utf8'. is no"),
    ("word2vec", "vocab int64", _array("vocab_utf8", lambda a: a.astype(np.int64)), "uint8"),
    ("fasttext", "ngrams wrong dim", _array("ngrams", lambda a: a[:, :3]), "'ngrams'"),
    ("doc2vec", "syn1neg too few rows", _array("syn1neg", lambda a: a[:2]), "'syn1neg'"),
    ("doc2vec", "cum_table zero", _array("cum_table", lambda a: a * 0), "cum_table"),
    ("doc2vec", "cum_table unsorted", _array("cum_table", lambda a: a[::-1].copy()), "cum_table"),
    ("doc2vec", "sample_int int64", _array("sample_int", lambda a: a.astype(np.int64)), "dtype"),
    # state: metadata fields
    ("tfidf", "vocabulary missing", _drop("state:vocabulary"), "lacks field"),
    ("tfidf", "vocabulary a string", _set("state.vocabulary", "abc"), "must be a list"),
    ("tfidf", "vocabulary numbers", _set("state.vocabulary", [1, 2, 3]), "must hold strings"),
    ("tfidf", "vocabulary empty", _set("state.vocabulary", []), "is empty"),
    ("tfidf", "state field unknown", _set("state.extra", 1), "unknown state field"),
    ("sif", "oov_weight string", _set("state.oov_weight", "1"), "'oov_weight' must be a finite"),
    ("sif", "oov_weight NaN", _set("state.oov_weight", float("nan")), "'oov_weight'"),
    ("word2vec", "n_words mismatch", _set("state.n_words", 3), "'vectors' has shape"),
    ("word2vec", "n_words negative", _set("state.n_words", -1), "'n_words' must be an integer"),
    ("word2vec", "n_words a float", _set("state.n_words", 2.0), "'n_words' must be an integer"),
    ("fasttext", "min_n missing", _drop("state:min_n"), "need state fields min_n"),
    ("fasttext", "min_n > max_n", _set("state.min_n", 9), "min_n <= max_n"),
    ("doc2vec", "n_words zero", _set("state.n_words", 0), "n_words must be >= 1"),
    ("doc2vec", "sample a string", _set("state.sample", "0.001"), "'sample' must be a finite"),
]


def _duplicate_vocabulary(config: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    vocab = config["state"]["vocabulary"]
    vocab[1] = vocab[0]


DAMAGE.append(("tfidf", "vocabulary repeats", _duplicate_vocabulary, "repeats terms"))


def _garbage_weights(folder: Path) -> None:
    (folder / "weights.safetensors").write_bytes(b"\x00" * 5 + b"garbage")


def _truncated_weights(folder: Path) -> None:
    data = (folder / "weights.safetensors").read_bytes()
    (folder / "weights.safetensors").write_bytes(data[: len(data) // 2])


def _weights_a_folder(folder: Path) -> None:
    (folder / "weights.safetensors").unlink()
    (folder / "weights.safetensors").mkdir()


def _config_a_folder(folder: Path) -> None:
    (folder / "config.json").unlink()
    (folder / "config.json").mkdir()


FILE_DAMAGE = [
    ("weights garbage", _garbage_weights, "cannot read weights"),
    ("weights truncated", _truncated_weights, "cannot read weights"),
    ("weights a folder", _weights_a_folder, "must be a regular file, got a folder"),
    ("config a folder", _config_a_folder, "config.json must be a regular file, got a folder"),
]


@pytest.mark.parametrize(
    ("family", "mutate", "match"),
    [pytest.param(f, m, e, id=f"{f}: {kind}") for f, kind, m, e in DAMAGE],
)
def test_damaged_folders_fail_at_load_naming_the_field(
    saved: dict[str, Path], tmp_path: Path, family: str, mutate: Mutation, match: str
) -> None:
    folder = _damaged(saved, tmp_path, family, mutate)
    with pytest.raises(ModelFormatError, match=match):
        embeddings.load(str(folder))


@pytest.mark.parametrize(
    ("damage", "match"), [pytest.param(d, m, id=kind) for kind, d, m in FILE_DAMAGE]
)
def test_damaged_files_fail_at_load(
    saved: dict[str, Path], tmp_path: Path, damage: Callable[[Path], None], match: str
) -> None:
    folder = tmp_path / "tfidf"
    shutil.copytree(saved["tfidf"], folder)
    damage(folder)
    with pytest.raises(ModelFormatError, match=match):
        BaseEncoder.load(folder)


@pytest.mark.parametrize("family", ["tfidf", "lsa", "sif", "word2vec", "fasttext", "doc2vec"])
def test_undamaged_folders_load_and_encode_the_same(
    saved: dict[str, Path], tmp_path: Path, family: str
) -> None:
    folder = _damaged(saved, tmp_path, family, lambda config, arrays: None)  # a rewrite only
    first = embeddings.load(str(saved[family]))
    again = embeddings.load(str(folder))
    np.testing.assert_array_equal(first.encode(TEXTS[:3]), again.encode(TEXTS[:3]))
    assert again.fingerprint() == first.fingerprint()


def test_every_damage_kind_is_a_value_error_of_transferkit(
    saved: dict[str, Path], tmp_path: Path
) -> None:
    folder = _damaged(saved, tmp_path, "tfidf", _set("params.max_features", "x"))
    with pytest.raises(ValueError) as info:
        embeddings.load(str(folder))
    assert isinstance(info.value, embeddings.TransferkitError)
    assert str(folder / "config.json") in str(info.value)


# --------------------------------------------------------------- encode input


@pytest.mark.parametrize(
    ("texts", "match"),
    [
        ({"a": "x", "b": "y"}, "mapping"),
        (OrderedDict(a="x"), "mapping"),
        (Counter(["a", "b"]), "mapping"),
        ({"a", "b"}, "no order"),
        (frozenset(["a"]), "no order"),
    ],
    ids=["dict", "OrderedDict", "Counter", "set", "frozenset"],
)
def test_unordered_or_keyed_input_is_refused(texts: object, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        validate_texts(texts)
    with pytest.raises(InvalidInputError, match=match):
        embeddings.load("glove-6b-50d").encode(texts)  # type: ignore[arg-type]


def test_ordered_views_are_accepted() -> None:
    d = {"first text": 1, "second text": 2}
    assert validate_texts(d.keys()) == ["first text", "second text"]
    assert validate_texts({1: "a", 2: "b"}.values()) == ["a", "b"]
