"""Skip-Thought trained here: modes, the objective, vocabulary expansion, persistence, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")

import embeddings
from benchmarks.cli import main
from embeddings.adapters.skip_thought import (
    SkipThoughtEncoder,
    SkipThoughtReleaseEncoder,
    _Objective,
)
from embeddings.errors import InvalidInputError, InvalidParameterError

DOCS = [
    "the cat sat on the mat", "it purred at the dog", "the dog ran away", "",
    "stocks fell sharply today", "banks sold their shares", "markets sank again", "",
    "a bird sang in the tree", "the tree swayed in the wind", "the wind grew cold",
]  # fmt: skip
TINY = {"hidden_size": 8, "embedding_dim": 6, "decoder_size": 6, "epochs": 2, "min_count": 1}


@pytest.mark.parametrize(("mode", "dim"), [("uni", 8), ("bi", 8), ("combine", 16)])
def test_modes_dims_and_normalisation(mode, dim):
    enc = SkipThoughtEncoder(mode=mode, **TINY).fit(DOCS)
    vecs = enc.encode(["the cat ran", "", "unseen words only"])
    assert vecs.shape == (3, dim) and vecs.dtype == np.float32
    # each encoder's vector is unit length, as the published encoder makes it
    parts = 2 if mode == "combine" else 1
    for block in np.split(vecs, parts, axis=1):
        np.testing.assert_allclose(np.linalg.norm(block, axis=1), 1.0, atol=1e-6)
    raw = SkipThoughtEncoder(mode=mode, normalize=False, **TINY).fit(DOCS)
    assert not np.allclose(np.linalg.norm(raw.encode(["the cat ran"]), axis=1), np.sqrt(parts))
    losses = enc.training_info_["loss_per_epoch"]
    assert len(losses) == 2 and all(np.isfinite(losses))


def test_combine_is_uni_beside_bi_and_select_takes_them_out():
    enc = SkipThoughtEncoder(mode="combine", **TINY).fit(DOCS)
    texts = ["the cat sat", "markets fell", "a bird"]
    uni, bi = enc.select("uni"), enc.select("bi")
    assert (uni.mode, uni.dim, bi.mode, bi.dim) == ("uni", 8, "bi", 8)
    np.testing.assert_array_equal(
        np.hstack([uni.encode(texts), bi.encode(texts)]), enc.encode(texts)
    )
    with pytest.raises(InvalidParameterError, match="no 'bi' part"):
        uni.select("bi")


def test_training_lowers_the_loss_and_is_deterministic():
    docs = DOCS * 6
    fast = {**TINY, "epochs": 8, "batch_size": 8, "learning_rate": 1e-2}
    a = SkipThoughtEncoder(**fast, random_state=3).fit(docs)
    b = SkipThoughtEncoder(**fast, random_state=3).fit(docs)
    losses = a.training_info_["loss_per_epoch"]
    assert losses[-1] < losses[0] * 0.9
    np.testing.assert_array_equal(a.encode(DOCS), b.encode(DOCS))
    c = SkipThoughtEncoder(**fast, random_state=4).fit(docs)
    assert not np.array_equal(a.encode(DOCS), c.encode(DOCS))


def test_batch_softmax_equals_full_softmax_when_the_batch_holds_every_word():
    """With every vocabulary word among the batch's targets, the two losses are one."""
    import torch

    enc = SkipThoughtEncoder(**TINY, softmax="full").fit(["a b", "b a", "a b"])
    data = enc._training_data(["a b", "b a", "a b"], None)
    batch = np.arange(3)
    full = _Objective(data, 3, "full").loss(enc.module, batch)[0]
    sub = _Objective(data, 3, "batch").loss(enc.module, batch)[0]
    # the targets hold class 0 (end of sentence), 'a' and 'b': all but <unk> (row 1)
    with torch.no_grad():
        enc.module.parts["uni"].output.bias[1] = -1e9  # <unk> gets no mass in the full softmax
        full = _Objective(data, 3, "full").loss(enc.module, batch)[0]
        sub = _Objective(data, 3, "batch").loss(enc.module, batch)[0]
    assert float(full) == pytest.approx(float(sub), rel=1e-6)


def test_vocabulary_expansion_maps_unseen_words():
    # embedding rows start at GloVe and barely move (learning rate 1e-9), and 200 words
    # overdetermine the 50 x 50 map: least squares recovers the identity
    from embeddings.formats.embedded import load_embedded

    common = [w for w in load_embedded("glove-6b-50d")[0][:400] if w.isalpha()][:200]
    docs = [" ".join(common[i : i + 8]) for i in range(0, 200, 8)]
    enc = SkipThoughtEncoder(
        hidden_size=8, embedding_dim=50, decoder_size=6, epochs=1, min_count=1,
        learning_rate=1e-9, init_vectors="glove-6b-50d", expand_vocab="glove-6b-50d",
    ).fit(DOCS + docs)  # fmt: skip
    (coef, icpt) = enc._expansion()["uni"]
    np.testing.assert_allclose(coef, np.eye(50), atol=1e-3)
    np.testing.assert_allclose(icpt, 0, atol=1e-3)
    cov = enc.vocabulary_coverage(["the zebra crossed the river", "qqzxv"])
    assert cov["tokens"] == 6 and cov["expanded"] == 5 - cov["in_vocabulary"]
    assert cov["with_expansion_share"] == pytest.approx(5 / 6)
    assert "zebra" not in enc.get_vocabulary() and "giraffe" not in enc.get_vocabulary()
    with_exp = enc.encode(["the zebra", "the giraffe"])
    assert not np.allclose(with_exp[0], with_exp[1])  # two unseen words, two vectors
    # expansion only changes encoding: switching it off keeps the trained encoder
    enc.set_params(expand_vocab=None)
    assert enc.is_fitted
    without = enc.encode(["the zebra", "the giraffe"])
    np.testing.assert_array_equal(without[0], without[1])  # both are <unk>
    assert enc.vocabulary_coverage(["the zebra"])["expanded"] == 0


def test_save_load_round_trip_is_bit_identical(tmp_path):
    enc = SkipThoughtEncoder(mode="combine", **TINY, expand_vocab="glove-6b-50d").fit(DOCS)
    with pytest.raises(InvalidParameterError):
        enc.select("tri")
    enc.save(tmp_path / "st")
    again = embeddings.load(str(tmp_path / "st"))
    texts = ["the zebra sat", "stocks rose", ""]
    np.testing.assert_array_equal(again.encode(texts), enc.encode(texts))
    assert again.fingerprint() == enc.fingerprint()
    assert again.get_vocabulary() == enc.get_vocabulary()


def test_bad_input_is_refused_clearly():
    with pytest.raises(InvalidParameterError, match="mode must be.*pass mode='uni'"):
        SkipThoughtEncoder(mode="tri").fit(DOCS)
    with pytest.raises(InvalidParameterError, match="mode must be.*pass mode='uni'"):
        SkipThoughtReleaseEncoder(path="unused", mode="tri").encode(["a cat"])
    with pytest.raises(InvalidParameterError, match="even int"):
        SkipThoughtEncoder(mode="bi", hidden_size=7).fit(DOCS)
    with pytest.raises(InvalidParameterError, match="softmax must be"):
        SkipThoughtEncoder(softmax="sampled").fit(DOCS)
    with pytest.raises(InvalidParameterError, match="expand_vocab"):
        SkipThoughtEncoder(expand_vocab="/no/such/vectors.txt").fit(DOCS)
    with pytest.raises(InvalidInputError, match="no two consecutive sentences"):
        SkipThoughtEncoder(**TINY).fit(["one doc", "", "another", "", "third"])


def test_train_cli_trains_resumes_and_names_the_mode(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(DOCS * 3) + "\n", encoding="utf-8")
    out = tmp_path / "bi"
    argv = ["train", "skip-thought", "--corpus", str(corpus), "--out", str(out), "--mode", "bi",
            "--hidden-size", "8", "--embedding-dim", "6", "--decoder-size", "6", "--min-count",
            "1", "--epochs", "2", "--expand-vocab", "none", "--init-vectors", "none",
            "--no-progress", "--json", str(tmp_path / "s.json")]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["finished"] and summary["epochs_done"] == 2
    enc = embeddings.load(str(out))
    assert enc.name == "skip-thought-bi" and enc.dim == 8
    vecs = enc.encode(["the cat sat"])
    assert main(["train", "skip-thought", "--out", str(out), "--resume", "--no-progress"]) == 0
    np.testing.assert_array_equal(embeddings.load(str(out)).encode(["the cat sat"]), vecs)
    capsys.readouterr()


def test_expansion_coverage_table_reads_every_text_column(tmp_path):
    from benchmarks.expansion import coverage_table

    (tmp_path / "MR").mkdir()
    (tmp_path / "MR" / "all.tsv").write_text("label\ttext\n1\tthe cat sat\n0\tthe zebra\n")
    (tmp_path / "SICK-E").mkdir()
    (tmp_path / "SICK-E" / "train.tsv").write_text(
        "label\ttext_a\ttext_b\nneutral\tthe dog ran\tqqzxv giraffe\n"
    )
    enc = SkipThoughtEncoder(**TINY, expand_vocab="glove-6b-50d").fit(DOCS)
    rows = {r["task"]: r for r in coverage_table(enc, tmp_path)}
    assert set(rows) == {"MR", "SICK-E"}
    assert (rows["MR"]["tokens"], rows["MR"]["in_vocabulary"], rows["MR"]["expanded"]) == (5, 4, 1)
    sick = rows["SICK-E"]
    assert (sick["tokens"], sick["in_vocabulary"], sick["expanded"]) == (5, 3, 1)
