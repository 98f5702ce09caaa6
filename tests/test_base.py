"""BaseEncoder template behaviour, checked with small in-test encoders."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone

import embeddings
from embeddings.base import BaseEncoder, validate_texts
from embeddings.errors import (
    EncodingError,
    InvalidInputError,
    InvalidParameterError,
    ModelFormatError,
    NotFittedError,
)


class CountingEncoder(BaseEncoder):
    """Encodes a text as [len, scale]; counts loads and batch sizes."""

    def __init__(self, scale: float = 1.0, nan_on: str | None = None) -> None:
        self.scale = scale
        self.nan_on = nan_on

    def _load(self) -> None:
        self.__dict__["loads"] = self.__dict__.get("loads", 0) + 1

    def _output_dim(self) -> int:
        return 2

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        self.__dict__.setdefault("batches", []).append(list(texts))
        rows = [[len(t), np.nan if t == self.nan_on else self.scale] for t in texts]
        return np.asarray(rows, dtype=np.float64)


@embeddings.register_encoder_class  # its saved folders are loaded below
class MeanFitEncoder(BaseEncoder):
    """Trainable: subtracts the mean training length."""

    requires_fit = True
    trainable = True

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def _fit(self, texts: list[str]) -> None:
        self.mean_ = float(np.mean([len(t) for t in texts]))

    def _output_dim(self) -> int:
        return 1

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return np.array([[len(t) - self.mean_ + self.offset] for t in texts])

    def _get_state(self):
        return {"mean": np.array([self.mean_])}, {}

    def _set_state(self, arrays, meta) -> None:
        self.mean_ = float(arrays["mean"][0])


def test_length_sorted_batches_and_order_restored() -> None:
    enc = CountingEncoder()
    texts = ["aaa", "a", "aaaaa", "aa", "aaaa"]
    X = enc.encode(texts, batch_size=2)
    assert X[:, 0].tolist() == [3, 1, 5, 2, 4]  # input order
    assert enc.batches == [["aaaaa", "aaaa"], ["aaa", "aa"], ["a"]]  # longest first
    assert X.dtype == np.float32 and X.flags["C_CONTIGUOUS"]


def test_lazy_load_once_and_reload_after_set_params() -> None:
    enc = CountingEncoder()
    assert "loads" not in enc.__dict__  # constructor does no I/O
    enc.encode(["a"])
    enc.encode(["b"])
    assert enc.loads == 1
    enc.set_params(scale=2.0)
    assert enc.encode(["a"])[0, 1] == 2.0
    assert enc.loads == 2


def test_nan_output_raises_naming_the_text() -> None:
    with pytest.raises(EncodingError, match="index 1"):
        CountingEncoder(nan_on="bad").encode(["ok", "bad"])


def test_wrong_batch_shape_raises() -> None:
    class Broken(CountingEncoder):
        def _encode_batch(self, texts):
            return np.zeros((len(texts) + 1, 2))

    with pytest.raises(EncodingError, match="expected"):
        Broken().encode(["a"])


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "8"])
def test_bad_batch_size(bad: object) -> None:
    with pytest.raises(InvalidParameterError, match="batch_size"):
        CountingEncoder().encode(["a"], batch_size=bad)  # type: ignore[arg-type]


def test_validate_texts_accepts_sequences_and_rejects_others() -> None:
    assert validate_texts(np.array(["a", "b"])) == ["a", "b"]
    assert validate_texts(x for x in ["a"]) == ["a"]
    with pytest.raises(InvalidInputError, match="single str"):
        validate_texts("abc")
    with pytest.raises(InvalidInputError, match=r"texts\[2\] must be str, got float"):
        validate_texts(["a", "b", float("nan")])
    with pytest.raises(InvalidInputError, match="not|sequence"):
        validate_texts(42)


def test_not_fitted_and_params_changed_after_fit() -> None:
    enc = MeanFitEncoder()
    with pytest.raises(NotFittedError, match="fit"):
        enc.encode(["a"])
    enc.fit(["aa", "aaaa"])
    assert enc.encode(["aaa"])[0, 0] == 0.0
    enc.set_params(offset=1.0)
    with pytest.raises(NotFittedError, match="parameters changed"):
        enc.encode(["a"])


def test_fingerprint_covers_params_and_fitted_state() -> None:
    a = MeanFitEncoder().fit(["aa"])
    b = MeanFitEncoder().fit(["aaaa"])
    c = MeanFitEncoder().fit(["aa"])
    assert a.fingerprint() != b.fingerprint()
    assert a.fingerprint() == c.fingerprint()
    assert CountingEncoder(scale=1.0).fingerprint() != CountingEncoder(scale=2.0).fingerprint()
    assert len(a.fingerprint()) == 64


def test_save_load_roundtrip_and_errors(tmp_path) -> None:
    enc = MeanFitEncoder(offset=0.5).fit(["a", "abc"])
    enc.save(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["params"] == {"offset": 0.5} and cfg["fitted"] is True
    back = BaseEncoder.load(tmp_path / "m")
    np.testing.assert_array_equal(back.encode(["abcd"]), enc.encode(["abcd"]))
    # saving again over it replaces it atomically
    MeanFitEncoder(offset=2.0).fit(["a"]).save(tmp_path / "m")
    assert BaseEncoder.load(tmp_path / "m").offset == 2.0
    # refuse to overwrite a folder that is not a saved encoder
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("x")
    with pytest.raises(InvalidParameterError, match="refusing"):
        enc.save(tmp_path / "other")
    assert (tmp_path / "other" / "keep.txt").read_text() == "x"
    with pytest.raises(NotFittedError):
        MeanFitEncoder().save(tmp_path / "unfitted")


def test_load_rejects_bad_configs(tmp_path) -> None:
    with pytest.raises(ModelFormatError, match="config.json is missing"):
        BaseEncoder.load(tmp_path)
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ModelFormatError, match="invalid JSON"):
        BaseEncoder.load(tmp_path)
    (tmp_path / "config.json").write_text(
        json.dumps({"format": "transferkit-encoder", "format_version": 1, "class": "os:system"})
    )
    with pytest.raises(ModelFormatError, match="not a class|not a transferkit encoder|cannot"):
        BaseEncoder.load(tmp_path)
    (tmp_path / "config.json").write_text(
        json.dumps({"format": "transferkit-encoder", "format_version": 99})
    )
    with pytest.raises(ModelFormatError, match="format_version 99"):
        BaseEncoder.load(tmp_path)


def test_clone_keeps_params_drops_state() -> None:
    enc = MeanFitEncoder(offset=3.0).fit(["abc"])
    twin = clone(enc)
    assert twin.offset == 3.0 and not twin.is_fitted


def test_encoder_protocol_is_satisfied() -> None:
    assert isinstance(embeddings.load("glove-6b-50d"), embeddings.Encoder)


def test_adapter_version_mismatch_refused_unless_the_class_still_reads_it(
    tmp_path, monkeypatch
) -> None:
    MeanFitEncoder(offset=1.0).fit(["ab", "abcd"]).save(tmp_path / "m")
    cfg_path = tmp_path / "m" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["adapter_version"] = "0"
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(ModelFormatError, match="saved with adapter version '0'"):
        BaseEncoder.load(tmp_path / "m")
    monkeypatch.setattr(MeanFitEncoder, "loads_versions", ("0",))
    back = BaseEncoder.load(tmp_path / "m")
    assert back.encode(["abc"]).tolist() == [[1.0]]  # 3 - mean(2, 4) + 1
    assert back.fingerprint() == MeanFitEncoder(offset=1.0).fit(["ab", "abcd"]).fingerprint()
