"""Caller-only parameters (``trust_pickle``) are set by the caller's Python arguments only.

Each test builds a payload pickle whose unpickling creates a marker folder, then
tries one route by which text (a spec string, a saved folder's ``config.json``, a
command line) could switch ``trust_pickle`` on and make transferkit read it.  The
marker must never appear, and the route must fail with a transferkit error.  The
payload lies *inside* the saved folder, so that it is the caller-only rule, not the
path rule, that stops it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save_file

import embeddings
from benchmarks.specs import build_encoder
from embeddings.errors import InvalidParameterError, ModelFormatError, TransferkitError
from tests.security.builders import MakeDir as _MakeDir  # noqa: F401
from tests.security.builders import write_config as _config
from tests.security.builders import write_payload as _payload

REPO = Path(__file__).resolve().parents[2]
CONCAT = "embeddings.adapters.concat:ConcatEncoder"
WV = "embeddings.adapters.word_vectors:WordVectorEncoder"
RANDOM = "embeddings.adapters.baselines:RandomProjectionEncoder"


@pytest.fixture(autouse=True)
def _store_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFERKIT_VECTOR_STORE", str(tmp_path / "stores"))


def _attempt(fn: Any) -> BaseException | None:
    try:
        fn()
    except TransferkitError as err:
        return err
    return None


def _concat_folder(tmp_path: Path, part: str, *, fitted: bool = False) -> tuple[Path, Path]:
    folder = tmp_path / "hostile"
    marker = tmp_path / "PWNED"
    payload = _payload(folder, "PAYLOAD.kv", marker)
    spec = part.format(payload=payload)
    extra: dict[str, Any] = {}
    if fitted:
        extra = {"fitted": True, "state": {"own": [], "parts": {"0": {}}}}
        save_file({"unused": np.zeros(1, np.float32)}, str(folder / "weights.safetensors"))
    _config(folder, CONCAT, {"encoders": [spec]}, **extra)
    return folder, marker


@pytest.mark.parametrize(
    "part",
    [
        "word-vectors:source={payload}:trust_pickle=true",
        "word-vectors:source={payload}:format=gensim:trust_pickle=true",
        "glove-6b-50d+word-vectors:source={payload}:trust_pickle=true",
        "word-vectors:trust_pickle=true:source={payload}",
        "word-vectors:source={payload}:trust_pickle=1",
    ],
    ids=["spec", "format-gensim", "plus-joined", "reordered", "truthy-int"],
)
def test_concat_part_specs_in_a_folder_never_set_trust_pickle(tmp_path: Path, part: str) -> None:
    folder, marker = _concat_folder(tmp_path, part)
    err = _attempt(lambda: embeddings.load(folder).encode(["hi"]))
    assert isinstance(err, (InvalidParameterError, ModelFormatError)), err
    assert "trust_pickle" in str(err)
    assert not marker.exists()


def test_a_txt_payload_with_format_gensim_is_never_unpickled(tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    marker = tmp_path / "PWNED"
    payload = _payload(folder, "vectors.txt", marker)
    _config(folder, CONCAT, {"encoders": [f"word-vectors:source={payload}:format=gensim"]})
    err = _attempt(lambda: embeddings.load(folder).encode(["hi"]))
    assert err is not None and "trust_pickle" in str(err)
    assert not marker.exists()


def test_load_alone_of_a_fitted_concat_folder_runs_nothing(tmp_path: Path) -> None:
    folder, marker = _concat_folder(
        tmp_path, "word-vectors:source={payload}:trust_pickle=true", fitted=True
    )
    err = _attempt(lambda: embeddings.load(folder))
    assert err is not None and "trust_pickle" in str(err)
    assert not marker.exists()


def test_random_glove_base_naming_a_hostile_folder(tmp_path: Path) -> None:
    inner, marker = _concat_folder(tmp_path, "word-vectors:source={payload}:trust_pickle=true")
    outer = _config(inner / "outer", RANDOM, {"base": str(inner), "n_components": 8})
    # the base folder lies outside the outer folder: refused by the path rule ...
    err = _attempt(lambda: embeddings.load(outer).encode(["hi"]))
    assert isinstance(err, ModelFormatError) and "outside the saved folder" in str(err)
    # ... and when the caller confirms the path, the caller-only rule still holds
    err = _attempt(lambda: embeddings.load(outer, base=str(inner)).encode(["hi"]))
    assert err is not None and "trust_pickle" in str(err)
    # a base folder inside the outer folder: the same
    nested = _config(tmp_path / "outer2", RANDOM, {"base": "placeholder", "n_components": 8})
    inner2, marker2 = _concat_folder(nested, "word-vectors:source={payload}:trust_pickle=true")
    _config(nested, RANDOM, {"base": str(inner2), "n_components": 8})
    err = _attempt(lambda: embeddings.load(nested).encode(["hi"]))
    assert err is not None and "trust_pickle" in str(err)
    assert not marker.exists() and not marker2.exists()


def test_nested_json_encoder_in_a_config_cannot_set_trust_pickle(tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    marker = tmp_path / "PWNED"
    payload = _payload(folder, "PAYLOAD.kv", marker)
    part = {"__encoder__": WV, "params": {"source": str(payload), "trust_pickle": True}}
    _config(folder, CONCAT, {"encoders": [part]})
    err = _attempt(lambda: embeddings.load(folder).encode(["hi"]))
    assert isinstance(err, ModelFormatError) and "trust_pickle" in str(err)
    assert not marker.exists()


def test_spec_strings_from_python_never_set_trust_pickle(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    payload = _payload(tmp_path / "files", "PAYLOAD.kv", marker)
    spec = f"word-vectors:source={payload}:trust_pickle=true"
    for attempt in (
        lambda: embeddings.load(spec).encode(["hi"]),
        lambda: embeddings.load("concat", encoders=[spec]).encode(["hi"]),
        lambda: embeddings.load("concat", encoders="glove-6b-50d+" + spec).encode(["hi"]),
        lambda: build_encoder(spec)[0].encode(["hi"]),
        lambda: build_encoder("concat:encoders=glove-6b-50d+" + spec)[0].encode(["hi"]),
    ):
        err = _attempt(attempt)
        assert isinstance(err, InvalidParameterError) and "trust_pickle" in str(err), err
    assert not marker.exists()


def test_the_caller_can_still_trust_a_pickle_in_python(tmp_path: Path) -> None:
    """The caller's own argument is the one route that sets it (and the payload runs)."""
    marker = tmp_path / "RAN"
    payload = _payload(tmp_path / "files", "PAYLOAD.kv", marker)
    enc = embeddings.load("word-vectors", source=str(payload), format="gensim", trust_pickle=True)
    with pytest.raises(Exception):  # noqa: B017 - the payload is no KeyedVectors
        enc.encode(["hi"])
    assert marker.exists()


def test_the_cli_encode_of_a_hostile_folder(tmp_path: Path) -> None:
    folder, marker = _concat_folder(tmp_path, "word-vectors:source={payload}:trust_pickle=true")
    texts = tmp_path / "t.txt"
    texts.write_text("hi\n", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO), "TRANSFERKIT_VECTOR_STORE": str(tmp_path)}
    for model in (str(folder), f"word-vectors:source={folder}/PAYLOAD.kv:trust_pickle=true"):
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.cli", "encode", "--model", model, "--input",
             str(texts), "--output", str(tmp_path / "o.npy")],
            capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
        )  # fmt: skip
        assert proc.returncode != 0
        assert "Traceback" not in proc.stderr, proc.stderr
        assert "trust_pickle" in proc.stderr
    assert not marker.exists()
