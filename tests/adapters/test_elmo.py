"""ELMo encoders: published-layout files, sentence and token vectors, training and round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("h5py")
torch = pytest.importorskip("torch")

import embeddings  # noqa: E402
from embeddings.adapters.elmo import ElmoEncoder, ElmoFileEncoder, parse_filters  # noqa: E402
from embeddings.errors import (  # noqa: E402
    InvalidInputError,
    InvalidParameterError,
    ModelFormatError,
)
from tests.formats.test_elmo_hdf5 import reference_layers, tiny_datasets, write_tiny_elmo  # noqa: E402

CORPUS = [
    "The cat sat on the mat .", "It purred loudly .", "The dog barked at the cat .", "",
    "Stocks fell sharply today .", "Banks sold their shares .", "Markets rallied later .", "",
    "A man plays the guitar .", "A woman sings a song .", "They perform on stage .",
]  # fmt: skip
TINY = {"cell_dim": 8, "projection_dim": 4, "char_dim": 4, "filters": "1x4,2x4", "epochs": 2,
        "batch_size": 4, "holdout_every": None}  # fmt: skip


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    opt, wts = write_tiny_elmo(tmp_path_factory.mktemp("elmo") / "m", seed=5)
    return str(opt), str(wts)


@pytest.fixture(scope="module")
def trained() -> ElmoEncoder:
    return ElmoEncoder(**TINY).fit(CORPUS)


def test_file_encoder_vectors_are_the_pooled_mix_of_the_reference_layers(
    files: tuple[str, str],
) -> None:
    import json

    enc = embeddings.load("elmo", options_file=files[0], weight_file=files[1])
    assert isinstance(enc, ElmoFileEncoder) and enc.dim == 8
    words = ["The", "cat", "sat"]
    options = json.loads(Path(files[0]).read_text())
    arrays = tiny_datasets(options, seed=5)
    ref = reference_layers(options, arrays, words)[:, 1:-1]  # (3 layers, tokens, dim)
    expected = {
        ("average", "mean"): ref.mean(axis=0).mean(axis=0),
        ("top", "mean"): ref[-1].mean(axis=0),
        ("average", "max"): ref.mean(axis=0).max(axis=0),
        ("top", "max"): ref[-1].max(axis=0),
    }
    for (layers, pooling), want in expected.items():
        enc.set_params(layers=layers, pooling=pooling)
        got = enc.encode(["The cat sat"])[0]
        np.testing.assert_allclose(got, want.astype(np.float32), rtol=1e-5, atol=1e-6)
    enc.set_params(layers="learned", pooling="mean")  # untrained learned mix = average
    np.testing.assert_allclose(
        enc.encode(["The cat sat"])[0], expected[("average", "mean")], rtol=1e-5, atol=1e-6
    )


def test_encode_tokens_is_a_separate_verb(files: tuple[str, str]) -> None:
    enc = ElmoFileEncoder(options_file=files[0], weight_file=files[1])
    toks = enc.encode_tokens(["The cat sat .", "", "naïve"])
    assert [t.shape for t in toks] == [(4, 3, 8), (0, 3, 8), (1, 3, 8)]
    assert all(t.dtype == np.float32 for t in toks)
    sentence = enc.encode(["The cat sat ."])[0]
    np.testing.assert_allclose(toks[0].mean(axis=1).mean(axis=0), sentence, rtol=1e-5, atol=1e-6)
    assert enc.tokens("Don't panic!") == ["Do", "n't", "panic", "!"]
    enc.set_params(tokenizer="split")
    assert enc.tokens("Don't panic!") == ["Don't", "panic!"]
    with pytest.raises(InvalidInputError):
        enc.encode_tokens("a bare string")


def test_vectors_do_not_depend_on_the_batch(files: tuple[str, str]) -> None:
    enc = ElmoFileEncoder(options_file=files[0], weight_file=files[1])
    texts = ["a", "The cat sat on the mat .", "", "word " * 30, "x y"]
    together = enc.encode(texts, batch_size=5)
    alone = np.vstack([enc.encode([t]) for t in texts])
    assert together.tobytes() == alone.tobytes()
    assert np.isfinite(together).all()
    # a text without tokens: pooled over its boundary tokens, the same for every such text
    assert enc.encode([""]).tobytes() == enc.encode(["   "]).tobytes()


def test_file_encoder_refuses_bad_files_and_parameters(tmp_path: Path) -> None:
    opt, wts = write_tiny_elmo(tmp_path / "m", drop="CNN_high_1/b_carry")
    enc = ElmoFileEncoder(options_file=str(opt), weight_file=str(wts))
    with pytest.raises(ModelFormatError, match="CNN_high_1/b_carry"):
        enc.encode(["a"])
    with pytest.raises(InvalidParameterError, match="options_file and weight_file"):
        ElmoFileEncoder().encode(["a"])
    opt, wts = write_tiny_elmo(tmp_path / "ok")
    with pytest.raises(InvalidParameterError, match="layers"):
        ElmoFileEncoder(options_file=str(opt), weight_file=str(wts), layers="all").encode(["a"])
    with pytest.raises(InvalidParameterError, match="filters"):
        parse_filters("1x3,2by4")


def test_fingerprint_covers_the_weight_file(tmp_path: Path) -> None:
    opt_a, wts_a = write_tiny_elmo(tmp_path / "a", seed=1)
    opt_b, wts_b = write_tiny_elmo(tmp_path / "b", seed=2)
    a = ElmoFileEncoder(options_file=str(opt_a), weight_file=str(wts_a))
    b = ElmoFileEncoder(options_file=str(opt_b), weight_file=str(wts_b))
    assert a.fingerprint() != b.fingerprint()


def test_training_learns_and_measures_heldout_perplexity() -> None:
    enc = ElmoEncoder(**{**TINY, "epochs": 4, "holdout_every": 3}).fit(CORPUS)
    info = enc.training_info_
    assert info["heldout_sentences"] == 3 and info["train_sentences"] == 6  # document 2 held out
    assert info["loss_per_epoch"][-1] < info["loss_per_epoch"][0]
    held = info["heldout"]
    assert held["predictions"] == 7 + 7 + 6 and held["sentences"] == 3  # tokens + 1 each
    # perplexity is bounded by the softmax size only for a uniform model; here just finite > 1
    assert 1.0 < held["forward"] < 1e4 and 1.0 < held["backward"] < 1e4


def test_trained_round_trip_through_options_and_hdf5_is_bit_identical(
    trained: ElmoEncoder, tmp_path: Path
) -> None:
    texts = ["The cat sat .", "", "Markets rallied", "unseen wordz here"]
    X = trained.encode(texts)
    folder = trained.save(tmp_path / "elmo")
    assert {"config.json", "weights.safetensors", "options.json", "weights.hdf5"} <= {
        p.name for p in folder.iterdir()
    }
    again = embeddings.load(folder)
    assert again.encode(texts).tobytes() == X.tobytes()
    published = embeddings.load(
        "elmo", options_file=str(folder / "options.json"), weight_file=str(folder / "weights.hdf5")
    )
    assert published.encode(texts).tobytes() == X.tobytes()
    for t_ours, t_file in zip(trained.encode_tokens(texts), published.encode_tokens(texts),
                              strict=True):  # fmt: skip
        assert t_ours.tobytes() == t_file.tobytes()


def test_training_is_deterministic_and_layers_are_encode_time(trained: ElmoEncoder) -> None:
    other = ElmoEncoder(**TINY).fit(CORPUS)
    assert other.encode(["A cat"]).tobytes() == trained.encode(["A cat"]).tobytes()
    assert other.fingerprint() == trained.fingerprint()
    other.set_params(layers="top", pooling="max")  # no refit needed
    top = other.encode(["A cat"])
    assert top.shape == (1, 8) and not np.array_equal(top, trained.encode(["A cat"]))
    different = ElmoEncoder(**{**TINY, "random_state": 1}).fit(CORPUS)
    assert not np.array_equal(different.encode(["A cat"]), trained.encode(["A cat"]))


def test_training_resumes_from_a_checkpoint(tmp_path: Path) -> None:
    params = {**TINY, "epochs": 3}
    full = ElmoEncoder(**params).fit(CORPUS, workdir=tmp_path / "full")
    part = ElmoEncoder(**params).fit(
        CORPUS, workdir=tmp_path / "part", max_minutes=1e-9, checkpoint_every=1
    )
    assert not part.training_result_.finished and part.training_result_.steps < 9
    resumed = ElmoEncoder(**params).fit(CORPUS, workdir=tmp_path / "part", resume=True)
    assert resumed.training_result_.steps == full.training_result_.steps
    assert resumed.encode(["A cat"]).tobytes() == full.encode(["A cat"]).tobytes()


def test_bad_training_parameters_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="cell_dim"):
        ElmoEncoder(cell_dim=0).fit(CORPUS)
    with pytest.raises(InvalidParameterError, match="holdout_every"):
        ElmoEncoder(holdout_every=1).fit(CORPUS)
    with pytest.raises(InvalidInputError, match="no token"):
        ElmoEncoder(**TINY).fit(["   "])


def test_transferkit_train_elmo_writes_the_published_layout(tmp_path: Path) -> None:
    from benchmarks.cli import main

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(CORPUS) + "\n", encoding="utf-8")
    out = tmp_path / "elmo"
    argv = ["train", "elmo", "--corpus", str(corpus), "--out", str(out), "--cell-dim", "8",
            "--projection-dim", "4", "--char-dim", "4", "--filters", "1x4,2x4", "--batch-size",
            "4", "--holdout-every", "3", "--max-minutes", "5", "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    assert (out / "options.json").is_file() and (out / "weights.hdf5").is_file()
    saved = embeddings.load(out)
    assert saved.dim == 8
    published = embeddings.load(
        "elmo", options_file=str(out / "options.json"), weight_file=str(out / "weights.hdf5")
    )
    assert published.encode(["A cat"]).tobytes() == saved.encode(["A cat"]).tobytes()


def test_fine_tuning_learns_the_scalar_mix(files: tuple[str, str]) -> None:
    from embeddings.training.finetune import fine_tune

    enc = ElmoFileEncoder(options_file=files[0], weight_file=files[1], layers="learned")
    texts = ["good film", "bad film", "great movie", "awful movie"] * 4
    tuned = fine_tune(enc, texts, [1, 0, 1, 0] * 4, unfreeze=1, epochs=2)
    mix = tuned._encoder.module.mix
    assert not torch.equal(mix.scalars.detach(), torch.zeros(3))  # the mix moved
    assert torch.equal(enc.module.mix.scalars.detach(), torch.zeros(3))  # the original did not
    assert tuned.encode(["good movie"]).shape[0] == 1
