"""Fine-tuning on a tiny random BERT: gradient stopping, determinism, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.errors import InvalidInputError, InvalidParameterError, ModelFormatError
from evaluators.transfer import (
    FineTunedClassifier,
    curve_summary,
    fine_tune,
    stratified_subsample,
)
from tests.adapters.test_transformer import _tiny_bert

pytest.importorskip("torch")
pytest.importorskip("transformers")

# With transformers 5, ``_tiny_bert``'s tokenizer keeps only the special tokens, so
# every word is [UNK]: the classes differ by length (position embeddings) instead.
POS = ["good", "good film", "a good", "fine", "good fun"]
NEG = [
    "the bad cat sat on the mat",
    "a bad dog sat on a bad mat",
    "bad film bad movie bad cat",
    "the stocks fell sharply on bad news today",
    "a bad bad film of a bad movie",
]
TEXTS = (POS + NEG) * 3
LABELS = np.array(([1] * 5 + [0] * 5) * 3)
FAST = {"max_epochs": 3, "patience": 3, "batch_size": 8, "lr": 1e-3, "head_lr": 1e-2}


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("tinybert")
    _tiny_bert(root)
    return str(root)


@pytest.fixture
def encoder(tiny_folder):
    from embeddings.adapters.transformer import TransformerEncoder

    return TransformerEncoder(model=tiny_folder, max_seq_length=16)


def _state(module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def _weights(clf: FineTunedClassifier) -> dict[str, np.ndarray]:
    return {k: v.numpy() for k, v in clf._tensors().items()}


def _pretrained(encoder) -> dict[str, np.ndarray]:
    return {f"encoder.0.{k}": v for k, v in _state(encoder.torch_model).items()}


def _changed(before: dict[str, np.ndarray], after: dict[str, np.ndarray], prefix: str) -> dict:
    return {k: not np.array_equal(before[k], after[k]) for k in before if k.startswith(prefix)}


def test_trainable_layers_hook(encoder) -> None:
    groups = encoder.trainable_layers()
    assert len(groups["layers"]) == 2
    assert groups["modules"][0] is encoder.torch_model
    assert [type(m).__name__ for m in groups["top"]] == ["BertPooler"]


def test_unfreeze_0_keeps_every_encoder_weight_bit_identical(encoder) -> None:
    before = _pretrained(encoder)
    clf = fine_tune(encoder, TEXTS, LABELS, unfreeze=0, random_state=0, **FAST)
    after = _weights(clf)
    assert not any(_changed(before, after, "encoder.0.").values())
    assert clf.n_trainable_params_ == 32 * 2 + 2
    assert clf.history_[0]["epoch"] == 0 and len(clf.history_) >= 2
    # the caller's encoder is untouched too
    assert all(np.array_equal(v, before[k]) for k, v in _pretrained(encoder).items())


def test_unfreeze_1_trains_only_the_top_layer(encoder) -> None:
    before = _pretrained(encoder)
    clf = fine_tune(encoder, TEXTS, LABELS, unfreeze=1, random_state=0, **FAST)
    after = _weights(clf)
    assert clf.best_epoch_ > 0, "training must have kept a trained epoch for this check"
    frozen = [
        *_changed(before, after, "encoder.0.embeddings.").values(),
        *_changed(before, after, "encoder.0.encoder.layer.0.").values(),
    ]
    assert frozen and not any(frozen)
    top = _changed(before, after, "encoder.0.encoder.layer.1.")
    matrices = [k for k in top if before[k].ndim == 2]
    assert matrices and all(top[k] for k in matrices)


def test_unfreeze_all_trains_the_embeddings(encoder) -> None:
    before = _pretrained(encoder)
    clf = fine_tune(encoder, TEXTS, LABELS, unfreeze="all", random_state=0, **FAST)
    after = _weights(clf)
    assert _changed(before, after, "encoder.0.embeddings.word_embeddings")[
        "encoder.0.embeddings.word_embeddings.weight"
    ]
    assert clf.unfreeze == "all"


def test_same_seed_is_bit_identical_other_seed_differs(encoder) -> None:
    import torch

    torch.manual_seed(123)
    global_before = torch.rand(1)
    torch.manual_seed(123)
    a = fine_tune(encoder, TEXTS, LABELS, unfreeze=1, random_state=3, **FAST)
    assert torch.equal(torch.rand(1), global_before), "the caller's RNG must be untouched"
    b = fine_tune(encoder, TEXTS, LABELS, unfreeze=1, random_state=3, **FAST)
    c = fine_tune(encoder, TEXTS, LABELS, unfreeze=1, random_state=4, **FAST)
    wa, wb, wc = _weights(a), _weights(b), _weights(c)
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert [h["val_loss"] for h in a.history_] == [h["val_loss"] for h in b.history_]
    assert not np.array_equal(wa["head.weight"], wc["head.weight"])


def test_predict_encode_and_dev_set(encoder) -> None:
    clf = fine_tune(
        encoder, TEXTS, LABELS, unfreeze=2, dev_texts=POS + NEG,
        dev_labels=[1] * 5 + [0] * 5, random_state=0, **{**FAST, "max_epochs": 6},
    )  # fmt: skip
    assert clf.params_["validation"] == "dev" and clf.params_["n_val"] == 10
    proba = clf.predict_proba(POS + NEG)
    assert proba.shape == (10, 2) and proba.dtype == np.float32
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(clf.predict(POS + NEG).tolist()) <= {0, 1}
    assert clf.score(POS + NEG, [1] * 5 + [0] * 5) > 0.5
    vecs = clf.encode(["good film", "bad film"])
    assert vecs.shape == (2, clf.dim) == (2, 32)
    assert not np.allclose(vecs, encoder.encode(["good film", "bad film"]))


def test_string_labels_save_and_load_roundtrip(encoder, tmp_path) -> None:
    labels = np.where(LABELS == 1, "pos", "neg")
    clf = fine_tune(encoder, TEXTS, labels, unfreeze=1, random_state=0, **FAST)
    path = clf.save(tmp_path / "ft")
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "weights.safetensors"]
    back = FineTunedClassifier.load(path)
    assert back.classes_.tolist() == ["neg", "pos"]
    np.testing.assert_array_equal(back.predict_proba(POS), clf.predict_proba(POS))
    np.testing.assert_array_equal(back.encode(NEG), clf.encode(NEG))
    assert back.fingerprint() == clf.fingerprint() != encoder.fingerprint()
    assert back.history_ == clf.history_ and back.unfreeze == 1
    clf.save(path)  # overwriting a saved model is fine
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    with pytest.raises(InvalidParameterError, match="refusing to overwrite"):
        clf.save(tmp_path / "other")
    with pytest.raises(ModelFormatError, match="no config.json"):
        FineTunedClassifier.load(tmp_path / "other")


def test_random_init_reinitialises_the_architecture(encoder) -> None:
    before = _pretrained(encoder)
    kw = {**FAST, "lr": 1e-12, "max_epochs": 1}
    # (seed 0 would rebuild the very weights _tiny_bert saved: it seeds BertModel with 0)
    a = fine_tune(encoder, TEXTS, LABELS, unfreeze="all", init="random", random_state=5, **kw)
    b = fine_tune(encoder, TEXTS, LABELS, unfreeze="all", init="random", random_state=5, **kw)
    wa, wb = _weights(a), _weights(b)
    key = "encoder.0.encoder.layer.0.attention.self.query.weight"
    assert np.abs(wa[key] - before[key]).max() > 1e-3  # not the pretrained weights
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)  # seeded
    assert a.init == "random"


def test_bad_arguments(encoder) -> None:
    from embeddings.adapters.baselines import TfidfEncoder

    with pytest.raises(InvalidParameterError, match="out of range"):
        fine_tune(encoder, TEXTS, LABELS, unfreeze=3)
    with pytest.raises(InvalidParameterError, match="unfreeze must be"):
        fine_tune(encoder, TEXTS, LABELS, unfreeze="top")
    with pytest.raises(InvalidParameterError, match="cannot be fine-tuned"):
        fine_tune(TfidfEncoder(), TEXTS, LABELS)
    with pytest.raises(InvalidInputError, match="two classes"):
        fine_tune(encoder, TEXTS, [1] * len(TEXTS))
    with pytest.raises(InvalidInputError, match="one label per text"):
        fine_tune(encoder, TEXTS, LABELS[:-1])
    with pytest.raises(InvalidInputError, match="not seen in training"):
        fine_tune(encoder, TEXTS, LABELS, dev_texts=["x"], dev_labels=[7])
    with pytest.raises(InvalidParameterError, match="both dev_texts and dev_labels"):
        fine_tune(encoder, TEXTS, LABELS, dev_texts=["x"])
    with pytest.raises(InvalidParameterError, match="unfreeze='all'"):
        fine_tune(encoder, TEXTS, LABELS, init="random", unfreeze=1)
    with pytest.raises(InvalidParameterError, match="lr"):
        fine_tune(encoder, TEXTS, LABELS, lr=0)
    with pytest.raises(InvalidParameterError, match="head must be"):
        fine_tune(encoder, TEXTS, LABELS, head="svm")


def test_stratified_subsample_and_curve_summary() -> None:
    y = np.array([0] * 90 + [1] * 8 + [2] * 2)
    idx = stratified_subsample(y, 10, random_state=0)
    assert idx.size == 10 and np.all(np.diff(idx) > 0)
    assert set(y[idx].tolist()) == {0, 1, 2}  # every class kept, even the rare one
    assert np.array_equal(idx, stratified_subsample(y, 10, random_state=0))
    assert not np.array_equal(idx, stratified_subsample(y, 10, random_state=1))
    assert stratified_subsample(y, None).size == 100
    assert stratified_subsample(y, 500).size == 100
    rows = [{"method": "m", "size": 5, "accuracy": a} for a in (0.2, 0.4)]
    (point,) = curve_summary(rows)
    assert point["mean"] == pytest.approx(0.3) and point["min"] == 0.2 and point["n_seeds"] == 2


def test_import_is_light_and_doctests_pass() -> None:
    import doctest
    import subprocess
    import sys

    import evaluators.transfer as mod

    code = "import sys, evaluators.transfer; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
