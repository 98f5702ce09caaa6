"""Registry: presets as data, did-you-mean, overrides, cheap import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import embeddings
from embeddings.errors import InvalidParameterError, UnknownEncoderError


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
    code = (
        "import sys, embeddings; embeddings.list_encoders(); "
        "embeddings.get_preset('minilm-l6');"
        "heavy = [m for m in ('torch', 'tensorflow', 'sklearn', 'transformers', 'gensim') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


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
