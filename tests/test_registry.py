"""Registry: presets as data, did-you-mean, overrides, cheap import."""

from __future__ import annotations

import subprocess
import sys

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
