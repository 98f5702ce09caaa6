"""Fine-tuning on the shared trainer: a tiny random BERT and a Quick-Thought net we trained.

Gradient stopping (top-k unfreezing), determinism, the standard saved format
(``embeddings.load``), workdir logs and checkpoints, and argument checks.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

import embeddings
from embeddings.base import BaseEncoder
from embeddings.errors import (
    InvalidInputError,
    InvalidParameterError,
    ModelFormatError,
    NotFittedError,
)
from embeddings.registry import BUILTIN_ENCODER_CLASSES
from embeddings.training.finetune import (
    FineTunedClassifier,
    FineTunedEncoder,
    fine_tune,
    stratified_subsample,
)
from tests.adapters.test_transformer import _tiny_bert

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

CLASS_PATH = "embeddings.training.finetune:FineTunedEncoder"

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
FAST = {
    "epochs": 3,
    "patience": 3,
    "batch_size": 8,
    "learning_rate": 1e-3,
    "head_learning_rate": 1e-2,
}


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


def _weights(clf: FineTunedEncoder) -> dict[str, np.ndarray]:
    arrays, _ = clf._get_state()
    return {k: v for k, v in arrays.items() if k.startswith(("encoder.", "head."))}


def _pretrained(encoder) -> dict[str, np.ndarray]:
    return {f"encoder.0.{k}": v for k, v in _state(encoder.torch_model).items()}


def _changed(before: dict[str, np.ndarray], after: dict[str, np.ndarray], prefix: str) -> dict:
    return {k: not np.array_equal(before[k], after[k]) for k in before if k.startswith(prefix)}


# ------------------------------------------------------------- tiny BERT
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
    assert clf.history_[0]["train_loss"] is None
    assert isinstance(clf, BaseEncoder) and FineTunedClassifier is FineTunedEncoder
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
    torch.manual_seed(123)
    global_before = torch.rand(1)
    torch.manual_seed(123)
    a = fine_tune(encoder, TEXTS, LABELS, unfreeze=1, random_state=3, **FAST)
    assert torch.equal(torch.rand(1), global_before), "the caller's RNG must be untouched"
    b = fine_tune(encoder, TEXTS, LABELS, unfreeze=1, random_state=3, **FAST)
    c = fine_tune(encoder, TEXTS, LABELS, unfreeze=1, random_state=4, **FAST)
    wa, wb, wc = _weights(a), _weights(b), _weights(c)
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert np.array_equal(wa["head.weight"], wb["head.weight"])
    assert np.array_equal(wa["head.bias"], wb["head.bias"])
    assert [h["val_loss"] for h in a.history_] == [h["val_loss"] for h in b.history_]
    assert not np.array_equal(wa["head.weight"], wc["head.weight"])


def test_predict_encode_and_dev_set(encoder) -> None:
    clf = fine_tune(
        encoder, TEXTS, LABELS, unfreeze=2, dev_texts=POS + NEG,
        dev_labels=[1] * 5 + [0] * 5, random_state=0, **{**FAST, "epochs": 6},
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
    best = clf.history_[clf.best_epoch_]
    assert best["val_accuracy"] == max(h["val_accuracy"] for h in clf.history_[1:])


def test_string_labels_save_and_load_roundtrip(encoder, tmp_path) -> None:
    labels = np.where(LABELS == 1, "pos", "neg")
    clf = fine_tune(encoder, TEXTS, labels, unfreeze=1, random_state=0, **FAST)
    path = clf.save(tmp_path / "ft")
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "weights.safetensors"]
    # the base model folder lies outside the saved folder: the caller allows it
    with pytest.raises(ModelFormatError, match="outside the saved folder"):
        embeddings.load(str(path))
    back = embeddings.load(str(path), allow_paths=[encoder.model])
    assert type(back) is FineTunedEncoder
    assert back.classes_.tolist() == ["neg", "pos"]
    np.testing.assert_array_equal(back.predict_proba(POS), clf.predict_proba(POS))
    np.testing.assert_array_equal(back.predict(NEG), clf.predict(NEG))
    np.testing.assert_array_equal(back.encode(NEG), clf.encode(NEG))
    assert back.score(POS + NEG, ["pos"] * 5 + ["neg"] * 5) == clf.score(
        POS + NEG, ["pos"] * 5 + ["neg"] * 5
    )
    assert back.fingerprint() == clf.fingerprint() != encoder.fingerprint()
    assert back.history_ == clf.history_ and back.unfreeze == 1
    # a folder saved when the history held fractions (no history_scale) reads in points
    import json

    config = json.loads((path / "config.json").read_text())
    meta = config["state"]
    assert meta.pop("history_scale") == 100
    meta["history"] = [dict(h, val_accuracy=h["val_accuracy"] / 100) for h in meta["history"]]
    (path / "config.json").write_text(json.dumps(config))
    older = embeddings.load(str(path), allow_paths=[encoder.model])
    assert [h["val_accuracy"] for h in older.history_] == pytest.approx(
        [h["val_accuracy"] for h in clf.history_]
    )
    assert back.best_epoch_ == clf.best_epoch_ and back.params_ == clf.params_
    clf.save(path)  # overwriting a saved model is fine
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "x.txt").write_text("x")
    with pytest.raises(InvalidParameterError, match="refusing to overwrite"):
        clf.save(tmp_path / "other")
    with pytest.raises(ModelFormatError, match="config.json is missing"):
        FineTunedClassifier.load(tmp_path / "other")


def test_pickle_and_clone(encoder) -> None:
    clf = fine_tune(encoder, TEXTS, LABELS, unfreeze=1, random_state=0, **FAST)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(POS), clf.predict_proba(POS))
    np.testing.assert_array_equal(again.encode(NEG), clf.encode(NEG))
    fresh = clone(clf)
    assert fresh.get_params(deep=False)["unfreeze"] == 1
    with pytest.raises(NotFittedError, match="fit"):
        fresh.encode(["good"])


def test_random_init_reinitialises_the_architecture(encoder) -> None:
    before = _pretrained(encoder)
    kw = {**FAST, "learning_rate": 1e-12, "epochs": 1}
    # (seed 0 would rebuild the very weights _tiny_bert saved: it seeds BertModel with 0)
    a = fine_tune(encoder, TEXTS, LABELS, unfreeze="all", init="random", random_state=5, **kw)
    b = fine_tune(encoder, TEXTS, LABELS, unfreeze="all", init="random", random_state=5, **kw)
    wa, wb = _weights(a), _weights(b)
    key = "encoder.0.encoder.layer.0.attention.self.query.weight"
    assert np.abs(wa[key] - before[key]).max() > 1e-3  # not the pretrained weights
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)  # seeded
    assert a.init == "random"


def test_workdir_writes_log_and_checkpoints(encoder, tmp_path) -> None:
    wd = tmp_path / "run"
    clf = fine_tune(encoder, TEXTS, LABELS, unfreeze=1, random_state=0, workdir=wd, **FAST)
    assert (wd / "log.jsonl").is_file()
    records = [line for line in (wd / "log.jsonl").read_text().splitlines() if line]
    assert len(records) >= len(clf.history_) - 1  # one record per trained epoch at least
    assert any((wd / "checkpoints").iterdir())
    assert clf.training_result_.finished
    with pytest.raises(InvalidParameterError, match="workdir"):
        fine_tune(encoder, TEXTS, LABELS, resume=True, **FAST)


def test_bad_arguments(encoder) -> None:
    from embeddings.adapters.baselines import TfidfEncoder

    with pytest.raises(InvalidParameterError, match="out of range"):
        fine_tune(encoder, TEXTS, LABELS, unfreeze=3)
    with pytest.raises(InvalidParameterError, match="unfreeze must be"):
        fine_tune(encoder, TEXTS, LABELS, unfreeze="top")
    with pytest.raises(InvalidParameterError, match="cannot be fine-tuned"):
        fine_tune(TfidfEncoder(), TEXTS, LABELS)
    with pytest.raises(InvalidParameterError, match="cannot be fine-tuned"):
        fine_tune(object(), TEXTS, LABELS)  # type: ignore[arg-type]
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
    with pytest.raises(InvalidParameterError, match="learning_rate"):
        fine_tune(encoder, TEXTS, LABELS, learning_rate=0)
    with pytest.raises(InvalidParameterError, match="head must be"):
        fine_tune(encoder, TEXTS, LABELS, head="svm")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="max_grad_norm"):
        fine_tune(encoder, TEXTS, LABELS, max_grad_norm=0)
    with pytest.raises(InvalidParameterError, match="threads"):
        fine_tune(encoder, TEXTS, LABELS, threads=0)
    with pytest.raises(InvalidInputError, match="needs labels"):
        FineTunedEncoder(encoder).fit(TEXTS)


def test_stratified_subsample() -> None:
    y = np.array([0] * 90 + [1] * 8 + [2] * 2)
    idx = stratified_subsample(y, 10, random_state=0)
    assert idx.size == 10 and np.all(np.diff(idx) > 0)
    assert set(y[idx].tolist()) == {0, 1, 2}  # every class kept, even the rare one
    assert np.array_equal(idx, stratified_subsample(y, 10, random_state=0))
    assert not np.array_equal(idx, stratified_subsample(y, 10, random_state=1))
    assert stratified_subsample(y, None).size == 100
    assert stratified_subsample(y, 500).size == 100


# ------------------------------------------------------- a net we trained
WORDS = {
    1: ["great", "fine", "lovely", "superb", "warm", "bright"],
    0: ["dull", "awful", "grim", "bleak", "cold", "weak"],
}


def _qt_texts(seed: int) -> tuple[list[str], list[str], list[int]]:
    """Documents (blank-separated) for pre-training, and labelled sentences."""
    rng = np.random.default_rng(seed)
    corpus: list[str] = []
    sentences, labels = [], []
    for doc in range(16):
        label = doc % 2
        if corpus:
            corpus.append("")
        for _ in range(6):
            words = [*rng.choice(WORDS[label], 3), *rng.choice(["a", "the", "film"], 2)]
            text = " ".join(rng.permutation(words).tolist())
            corpus.append(text)
            sentences.append(text)
            labels.append(label)
    return corpus, sentences, labels


@pytest.fixture(scope="module")
def quick_thought():
    from embeddings.adapters.quick_thought import QuickThoughtEncoder

    corpus, _, _ = _qt_texts(0)
    enc = QuickThoughtEncoder(
        hidden_size=8, embedding_dim=6, epochs=2, batch_size=12, min_count=1, random_state=0
    )
    return enc.fit(corpus)


def _qt_net(enc) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in enc.module.state_dict().items()}


QT_FAST = {
    "epochs": 3,
    "patience": 3,
    "batch_size": 8,
    "learning_rate": 1e-2,
    "head_learning_rate": 1e-2,
}


def test_quick_thought_unfreeze_top_1_trains_the_grus_not_the_table(quick_thought) -> None:
    _, texts, labels = _qt_texts(1)
    before = _qt_net(quick_thought)
    groups = quick_thought.trainable_layers()
    assert len(groups["layers"]) == 2 and groups["layers"][0] is quick_thought.module.embedding
    clf = fine_tune(quick_thought, texts, labels, unfreeze=1, random_state=0, **QT_FAST)
    assert clf.best_epoch_ > 0
    after = {k[len("encoder.0.") :]: v for k, v in _weights(clf).items() if "encoder.0." in k}
    assert set(after) == set(before)
    table = [k for k in before if k.startswith("embedding.")]
    grus = [k for k in before if k.startswith(("f.", "g."))]
    assert table and all(np.array_equal(before[k], after[k]) for k in table)
    assert grus and all(not np.array_equal(before[k], after[k]) for k in grus)
    # encode uses the fine-tuned GRUs (after_training), the caller's encoder is unchanged
    assert not np.array_equal(clf.encode(texts[:4]), quick_thought.encode(texts[:4]))
    assert all(np.array_equal(v, before[k]) for k, v in _qt_net(quick_thought).items())


def test_quick_thought_unfreeze_0_keeps_every_weight(quick_thought) -> None:
    _, texts, labels = _qt_texts(1)
    before = _qt_net(quick_thought)
    clf = fine_tune(quick_thought, texts, labels, unfreeze=0, random_state=0, **QT_FAST)
    after = {k[len("encoder.0.") :]: v for k, v in _weights(clf).items() if "encoder.0." in k}
    assert all(np.array_equal(before[k], after[k]) for k in before)
    np.testing.assert_array_equal(clf.encode(texts[:4]), quick_thought.encode(texts[:4]))
    assert clf.n_trainable_params_ == quick_thought.dim * 2 + 2


def test_quick_thought_save_load_is_bit_identical(quick_thought, tmp_path) -> None:
    _, texts, labels = _qt_texts(1)
    clf = fine_tune(quick_thought, texts, labels, unfreeze="all", random_state=2, **QT_FAST)
    clf.save(tmp_path / "qt-ft")
    back = embeddings.load(str(tmp_path / "qt-ft"))
    np.testing.assert_array_equal(back.predict_proba(texts), clf.predict_proba(texts))
    np.testing.assert_array_equal(back.encode(texts), clf.encode(texts))
    assert back.fingerprint() == clf.fingerprint()
    assert back.name == clf.name == "QuickThoughtEncoder-finetuned"


def test_a_fresh_process_loads_the_saved_folder(encoder, tmp_path) -> None:
    assert CLASS_PATH in BUILTIN_ENCODER_CLASSES
    clf = fine_tune(encoder, TEXTS, LABELS, unfreeze=1, random_state=0, **FAST)
    clf.save(tmp_path / "ft")
    np.save(tmp_path / "want.npy", clf.predict_proba(POS))
    code = (
        "import sys, numpy as np, embeddings\n"
        f"clf = embeddings.load({str(tmp_path / 'ft')!r}, allow_paths=[{encoder.model!r}])\n"
        f"want = np.load({str(tmp_path / 'want.npy')!r})\n"
        f"assert np.array_equal(clf.predict_proba({POS!r}), want)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def test_package_exports_lazily_and_doctests_pass() -> None:
    import doctest

    import embeddings.training.finetune as mod

    code = (
        "import sys, embeddings, embeddings.training; "
        "assert 'torch' not in sys.modules; "
        "f = embeddings.training.fine_tune; "
        "print(f.__module__, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["embeddings.training.finetune", "False"]
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_fine_tune_defaults_match_the_encoder_parameters() -> None:
    import inspect

    function = inspect.signature(fine_tune).parameters
    encoder = inspect.signature(FineTunedEncoder).parameters
    shared = [name for name in encoder if name != "base"]
    assert set(shared) <= set(function)
    assert {n: function[n].default for n in shared} == {n: encoder[n].default for n in shared}


def test_old_parameter_names_still_work_and_warn(tmp_path) -> None:
    import json

    from embeddings import errors

    errors._WARNED.clear()
    with pytest.warns(errors.TransferkitDeprecationWarning, match="lr= is renamed"):
        old = FineTunedEncoder("minilm-l6", lr=1e-3, max_epochs=2, head_lr=1e-2)
    new = FineTunedEncoder("minilm-l6", learning_rate=1e-3, epochs=2, head_learning_rate=1e-2)
    assert old.get_params() == new.get_params()
    with pytest.raises(InvalidParameterError, match="pass learning_rate= only"):
        FineTunedEncoder("minilm-l6", lr=1e-3, learning_rate=1e-3)
    # a config written under the old names loads under the new ones
    params = {"base": "minilm-l6", "lr": 0.5, "max_epochs": 4, "head_lr": 0.25}
    config = {
        "format": "transferkit-encoder", "format_version": 1,
        "class": CLASS_PATH, "adapter_version": FineTunedEncoder.adapter_version,
        "preset": None, "params": params, "fitted": False, "state": {}, "fingerprint": "",
    }  # fmt: skip
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "config.json").write_text(json.dumps(config))
    loaded = embeddings.load(tmp_path / "old")
    assert (loaded.learning_rate, loaded.epochs, loaded.head_learning_rate) == (0.5, 4, 0.25)
