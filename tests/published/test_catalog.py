"""The shipped catalogue, catalogue validation, and the ``transferkit models`` CLI forms."""

from __future__ import annotations

import inspect
import json

import pytest

from benchmarks.cli import main
from embeddings.errors import ModelFormatError, UnknownEncoderError
from embeddings.published import catalog_rows, get_model, load_catalog
from embeddings.registry import get_preset, list_encoders, resolve_encoder_class
from tests.published.conftest import glove_catalog, glove_zip, write_catalog

REQUIRED = [
    "glove-wiki-gigaword-50",
    "glove-wiki-gigaword-100",
    "glove-wiki-gigaword-200",
    "glove-wiki-gigaword-300",
    "glove-common-crawl-42b-300",
    "glove-common-crawl-840b-300",
    "glove-twitter-200",
    "fasttext-wiki-news-300",
    "fasttext-wiki-news-subwords-300",
    "fasttext-crawl-300",
    "fasttext-crawl-subwords-300",
    "fasttext-cc-en-300",
    "infersent-v1",
    "infersent-v2",
    "skip-thought-release",
    "elmo-small-allennlp",
    "elmo-medium-allennlp",
    "elmo-original-allennlp",
    "elmo-original-5.5b-allennlp",
    "use-v4-tfhub",
    "use-large-v5-tfhub",
    "use-multilingual-v3-tfhub",
    "all-MiniLM-L6-v2",
    "all-mpnet-base-v2",
]


def test_shipped_catalogue_covers_the_published_models(monkeypatch):
    monkeypatch.delenv("TRANSFERKIT_CATALOG", raising=False)
    cat = load_catalog()
    assert set(REQUIRED) <= set(cat.models)
    assert "word2vec-google-news-300" in cat.omissions
    with pytest.raises(UnknownEncoderError, match="Google Drive"):
        get_model("word2vec-google-news-300", cat)
    presets = {p["name"] for p in list_encoders()}
    assert not set(cat.models) & presets  # a published name never hides a preset
    for model in cat.models.values():
        klass = resolve_encoder_class(get_preset(model.preset).target)
        assert set(model.params) <= set(inspect.signature(klass).parameters), model.name
    for art in cat.artifacts.values():
        assert art.licence and art.source
        for f in art.files:
            assert all(u.startswith("https://") or u.startswith("http://") for u in f.urls)
    st = cat.artifacts["all-MiniLM-L6-v2"].files[0].urls[0]
    assert "/resolve/main/" not in st  # pinned to a commit
    assert {f.name for f in cat.artifacts["skip-thoughts"].files} == {
        "dictionary.txt",
        "utable.npy",
        "btable.npy",
        "uni_skip.npz",
        "uni_skip.npz.pkl",
        "bi_skip.npz",
        "bi_skip.npz.pkl",
    }


def _file(**kw):
    return {"name": "a.bin", "urls": ["http://127.0.0.1/a.bin"], "size": None, "sha256": None, **kw}


@pytest.mark.parametrize(
    ("artifact_file", "params", "match"),
    [
        (_file(name="../a.bin"), {"p": "{a/a.bin}"}, "plain names"),
        (_file(name="/etc/passwd"), {"p": "{a}"}, "plain names"),
        (_file(urls=["file:///etc/passwd"]), {"p": "{a}"}, "not an http"),
        (_file(sha256="XYZ"), {"p": "{a}"}, "sha256"),
        (_file(size=-5), {"p": "{a}"}, "size"),
        (_file(size=True), {"p": "{a}"}, "size"),
        (_file(archive="rar", members=["x"]), {"p": "{a}"}, "archive"),
        (_file(archive="zip", members=["../x"]), {"p": "{a}"}, "plain names"),
        (_file(archive="zip", members="*"), {"p": "{a}"}, "members"),
        (_file(evil=1), {"p": "{a}"}, "unknown fields"),
        (_file(), {"p": "{other/a.bin}"}, "not one of the model's artifacts"),
        (_file(), {"p": "{a/b.bin}"}, "has no file"),
        (_file(), {"p": "{a/../../x}"}, "plain names"),
    ],
)
def test_catalogue_validation(tmp_path, monkeypatch, artifact_file, params, match):
    arts = {"a": {"source": "s", "licence": "l", "files": [artifact_file]}}
    models = {
        "m": {
            "family": "f",
            "description": "d",
            "artifacts": ["a"],
            "preset": "elmo",
            "params": params,
        }
    }
    path = write_catalog(tmp_path, monkeypatch, arts, models)
    with pytest.raises(ModelFormatError, match=match) as err:
        load_catalog()
    assert str(path) in str(err.value)


def test_catalogue_file_bounds(tmp_path, monkeypatch):
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (5 * 1024 * 1024))
    with pytest.raises(ModelFormatError, match="at most"):
        load_catalog(big)
    bad = tmp_path / "bad.json"
    bad.write_text("[" * 100000)
    with pytest.raises(ModelFormatError, match="nested too deeply"):
        load_catalog(bad)
    with pytest.raises(ModelFormatError, match="regular file|directory|folder"):
        load_catalog(tmp_path)


def test_cli_catalog_and_pull(server, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TRANSFERKIT_CATALOG", raising=False)
    assert main(["models", "--catalog", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows == catalog_rows()
    infersent = next(r for r in rows if r["name"] == "infersent-v1")
    assert infersent["licence"] == "CC-BY-NC-4.0, PDDL-1.0"
    assert infersent["verified"] == "lock file"
    assert main(["models", "--catalog"]) == 0
    assert "glove-common-crawl-840b-300" in capsys.readouterr().out
    server.files["/g.zip"] = glove_zip()
    glove_catalog(tmp_path, monkeypatch, server.url + "/g.zip")
    assert main(["models", "pull", "glove-tiny", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "glove-tiny: glove.tiny -> " in out and "models.lock.json" in out
    assert main(["models", "pull", "glove-tny"]) == 2
    assert "did you mean 'glove-tiny'" in capsys.readouterr().err
    assert main(["models", "pull"]) == 2
    assert main(["models", "glove-tiny"]) == 2
    assert "transferkit models pull glove-tiny" in capsys.readouterr().err
