"""ELMo options.json + weights.hdf5: the published layout, its checks, and the biLM equations.

The reference values of the biLM come from :func:`reference_layers`, a separate
step-by-step numpy transcription of the published inference equations (character
ids, char CNN, highway, projection, LSTM with cell clipping, projection and
projection clipping, residual connection, per sentence from a zero state), which
shares no code with :mod:`embeddings.nn.bilm`; the torch module must agree with it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
torch = pytest.importorskip("torch")

from embeddings.errors import DataNotFoundError, ModelFormatError  # noqa: E402
from embeddings.formats.elmo import (  # noqa: E402
    ElmoOptions,
    read_elmo,
    read_options,
    write_elmo,
)

TINY_OPTIONS = {
    "lstm": {"dim": 6, "projection_dim": 4, "n_layers": 2, "cell_clip": 3, "proj_clip": 3,
             "use_skip_connections": True},
    "char_cnn": {"activation": "relu", "embedding": {"dim": 3}, "filters": [[1, 4], [2, 3], [3, 5]],
                 "n_highway": 2, "n_characters": 262, "max_characters_per_token": 50},
}  # fmt: skip


def tiny_datasets(options: dict, seed: int = 0, scale: float = 0.5) -> dict[str, np.ndarray]:
    """Random float32 arrays under the published dataset names and shapes, listed by hand."""
    rng = np.random.default_rng(seed)
    cnn, lstm = options["char_cnn"], options["lstm"]
    d, p, c = cnn["embedding"]["dim"], lstm["projection_dim"], lstm["dim"]
    nf = sum(n for _, n in cnn["filters"])
    shapes = {"char_embed": (261, d), "CNN_proj/W_proj": (nf, p), "CNN_proj/b_proj": (p,)}
    for i, (w, n) in enumerate(cnn["filters"]):
        shapes[f"CNN/W_cnn_{i}"] = (1, w, d, n)
        shapes[f"CNN/b_cnn_{i}"] = (n,)
    for k in range(cnn["n_highway"]):
        for part in ("carry", "transform"):
            shapes[f"CNN_high_{k}/W_{part}"] = (nf, nf)
            shapes[f"CNN_high_{k}/b_{part}"] = (nf,)
    for direction in (0, 1):
        for layer in range(lstm["n_layers"]):
            cell = f"RNN_{direction}/RNN/MultiRNNCell/Cell{layer}/LSTMCell"
            shapes[f"{cell}/W_0"] = (2 * p, 4 * c)
            shapes[f"{cell}/B"] = (4 * c,)
            shapes[f"{cell}/W_P_0"] = (c, p)
    return {k: (rng.standard_normal(s) * scale).astype(np.float32) for k, s in shapes.items()}


def write_tiny_elmo(
    folder: Path, seed: int = 0, options: dict | None = None, scale: float = 0.5,
    drop: str | None = None, reshape: str | None = None,
) -> tuple[Path, Path]:  # fmt: skip
    """options.json + weights.hdf5 written with h5py directly (nested groups, as published)."""
    options = options or TINY_OPTIONS
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "options.json").write_text(json.dumps(options), encoding="utf-8")
    arrays = tiny_datasets(options, seed, scale)
    with h5py.File(folder / "weights.hdf5", "w") as fh:
        for name, arr in arrays.items():
            if name == drop:
                continue
            if name == reshape:
                arr = arr[..., :-1]
            *groups, leaf = name.split("/")
            g = fh
            for part in groups:
                g = g.require_group(part)
            g.create_dataset(leaf, data=arr)
    return folder / "options.json", folder / "weights.hdf5"


# ------------------------------------------------------------- numpy reference
def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _ref_chars(word: str) -> list[int]:
    if word == "<S>":
        body = [258, 256, 259]
    elif word == "</S>":
        body = [258, 257, 259]
    else:
        body = [258, *word.encode("utf-8")[:48], 259]
    return [c + 1 for c in body + [260] * (50 - len(body))]


def reference_layers(options: dict, w: dict[str, np.ndarray], words: list[str]) -> np.ndarray:
    """The three layers of one sentence, ``(n_layers + 1, len(words), 2 * projection_dim)``."""
    cnn, lstm = options["char_cnn"], options["lstm"]
    table = np.vstack([np.zeros((1, w["char_embed"].shape[1])), w["char_embed"]]).astype(np.float64)
    seq = ["<S>", *words, "</S>"]
    tok = []
    for word in seq:
        emb = table[_ref_chars(word)]  # (50, d)
        feats = []
        for i, (width, num) in enumerate(cnn["filters"]):
            kernel = w[f"CNN/W_cnn_{i}"][0].astype(np.float64)  # (width, d, num)
            best = np.full(num, -np.inf)
            for start in range(50 - width + 1):
                val = np.einsum("wd,wdn->n", emb[start : start + width], kernel)
                best = np.maximum(best, val + w[f"CNN/b_cnn_{i}"])
            feats.append(np.maximum(best, 0.0))
        x = np.concatenate(feats)
        for k in range(cnn["n_highway"]):
            g = _sigmoid(x @ w[f"CNN_high_{k}/W_carry"] + w[f"CNN_high_{k}/b_carry"])
            t = np.maximum(x @ w[f"CNN_high_{k}/W_transform"] + w[f"CNN_high_{k}/b_transform"], 0)
            x = g * t + (1 - g) * x
        tok.append(x @ w["CNN_proj/W_proj"] + w["CNN_proj/b_proj"])
    tok = np.asarray(tok)
    c = lstm["dim"]
    out = [np.concatenate([tok, tok], axis=1)]
    inputs = {0: tok, 1: tok[::-1]}
    for layer in range(lstm["n_layers"]):
        outputs = {}
        for direction in (0, 1):
            cell_name = f"RNN_{direction}/RNN/MultiRNNCell/Cell{layer}/LSTMCell"
            W, B, WP = (w[f"{cell_name}/{n}"].astype(np.float64) for n in ("W_0", "B", "W_P_0"))
            h = np.zeros(lstm["projection_dim"])
            m = np.zeros(c)
            seq_out = []
            for x_t in inputs[direction]:
                z = np.concatenate([x_t, h]) @ W + B
                i, j, f, o = z[:c], z[c : 2 * c], z[2 * c : 3 * c], z[3 * c :]
                m = _sigmoid(f + 1.0) * m + _sigmoid(i) * np.tanh(j)
                m = np.clip(m, -lstm["cell_clip"], lstm["cell_clip"])
                h = np.clip((_sigmoid(o) * np.tanh(m)) @ WP, -lstm["proj_clip"], lstm["proj_clip"])
                seq_out.append(h)
            res = np.asarray(seq_out)
            if layer > 0:
                res = res + inputs[direction]
            outputs[direction] = res
        inputs = outputs
        out.append(np.concatenate([outputs[0], outputs[1][::-1]], axis=1))
    return np.asarray(out)


def _module(options_path: Path, weights_path: Path) -> tuple[object, dict]:
    from embeddings.nn.bilm import BiLM

    options, arrays = read_elmo(options_path, weights_path)
    net = BiLM(options).to(torch.float64)
    with torch.no_grad():
        for k, v in arrays.items():
            net.weights[k].copy_(torch.from_numpy(v))
    return net, arrays


def _run(net: object, sentences: list[list[str]]) -> list[np.ndarray]:
    from embeddings.nn.bilm import char_ids

    rows = {"<S>": 0, "</S>": 1}
    seqs = [[0, *(rows.setdefault(t, len(rows)) for t in s), 1] for s in sentences]
    width = max(len(s) for s in seqs)
    index = torch.tensor([s + [0] * (width - len(s)) for s in seqs])
    lengths = torch.tensor([len(s) for s in seqs])
    chars = torch.from_numpy(char_ids(list(rows)))
    with torch.no_grad():
        layers = torch.stack(net(chars, index, lengths), dim=1).numpy()  # (B, L, T, D)
    return [layers[b, :, : len(s)] for b, s in enumerate(seqs)]


# -------------------------------------------------------------------- tests
def test_layout_is_read_and_matches_the_reference_equations(tmp_path: Path) -> None:
    opt, wts = write_tiny_elmo(tmp_path / "m", seed=1)
    net, arrays = _module(opt, wts)
    assert len(arrays) == 1 + 2 * 3 + 4 * 2 + 2 + 3 * 4
    words = ["The", "naïve", "cat", "sat", "."]
    got = _run(net, [words])[0]
    ref = reference_layers(TINY_OPTIONS, arrays, words)
    assert got.shape == ref.shape == (3, len(words) + 2, 8)
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
    # clipping is exercised: some projected outputs sit at the clip value
    opt2, wts2 = write_tiny_elmo(tmp_path / "big", seed=2, scale=3.0)
    net2, arrays2 = _module(opt2, wts2)
    got2 = _run(net2, [words])[0]
    ref2 = reference_layers(TINY_OPTIONS, arrays2, words)
    np.testing.assert_allclose(got2, ref2, rtol=1e-10, atol=1e-12)
    assert np.isclose(np.abs(got2[1]), 3.0).any()


def test_padding_does_not_change_a_sentence(tmp_path: Path) -> None:
    net, _ = _module(*write_tiny_elmo(tmp_path / "m"))
    short = ["a", "cat"]
    alone = _run(net, [short])[0]
    batched = _run(net, [["a", "much", "longer", "sentence", "here", "."], short])[1]
    # equal up to float64 summation order (the encoders round to float32: bit-identical)
    np.testing.assert_allclose(alone, batched, rtol=0, atol=1e-13)


def test_backward_direction_reads_the_reversed_sentence(tmp_path: Path) -> None:
    net, _ = _module(*write_tiny_elmo(tmp_path / "m"))
    a = _run(net, [["x", "y", "z"]])[0]
    b = _run(net, [["x", "y", "w"]])[0]
    # the forward half of the first word does not see the last word; the backward half does
    np.testing.assert_array_equal(a[1:, 1, :4], b[1:, 1, :4])
    assert not np.allclose(a[1:, 1, 4:], b[1:, 1, 4:])


def test_missing_dataset_is_named(tmp_path: Path) -> None:
    name = "RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/W_P_0"
    opt, wts = write_tiny_elmo(tmp_path / "m", drop=name)
    with pytest.raises(ModelFormatError, match="Cell1/LSTMCell/W_P_0.*missing"):
        read_elmo(opt, wts)


def test_misshaped_dataset_is_named(tmp_path: Path) -> None:
    opt, wts = write_tiny_elmo(tmp_path / "m", reshape="CNN/W_cnn_2")
    with pytest.raises(ModelFormatError, match=r"'CNN/W_cnn_2' has shape \(1, 3, 3, 4\)"):
        read_elmo(opt, wts)


def test_non_finite_and_non_hdf5_are_refused(tmp_path: Path) -> None:
    opt, wts = write_tiny_elmo(tmp_path / "m")
    with h5py.File(wts, "r+") as fh:
        fh["CNN_proj/b_proj"][0] = np.nan
    with pytest.raises(ModelFormatError, match="CNN_proj/b_proj.*NaN"):
        read_elmo(opt, wts)
    junk = tmp_path / "junk.hdf5"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(ModelFormatError, match="not a readable hdf5"):
        read_elmo(opt, junk)
    with pytest.raises(DataNotFoundError):
        read_elmo(opt, tmp_path / "absent.hdf5")


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda o: o["lstm"].pop("projection_dim"), "lstm.projection_dim"),
        (lambda o: o["char_cnn"].__setitem__("filters", [[1, 4], [0, 2]]), r"filters\[1\]"),
        (lambda o: o["char_cnn"].__setitem__("activation", "gelu"), "activation"),
        (lambda o: o["lstm"].__setitem__("cell_clip", "3"), "lstm.cell_clip"),
        (lambda o: o.pop("char_cnn"), "char_cnn"),
    ],
)
def test_options_fields_are_checked(tmp_path: Path, edit: object, field: str) -> None:
    options = json.loads(json.dumps(TINY_OPTIONS))
    edit(options)  # type: ignore[operator]
    path = tmp_path / "options.json"
    path.write_text(json.dumps(options), encoding="utf-8")
    with pytest.raises(ModelFormatError, match=field):
        read_options(path)


def test_write_elmo_round_trips_exactly(tmp_path: Path) -> None:
    opt, wts = write_tiny_elmo(tmp_path / "m", seed=3)
    options, arrays = read_elmo(opt, wts)
    assert options == ElmoOptions.from_json(TINY_OPTIONS)
    opt2, wts2 = write_elmo(tmp_path / "out", options, arrays)
    options2, arrays2 = read_elmo(opt2, wts2)
    assert options2 == options and sorted(arrays2) == sorted(arrays)
    for k in arrays:
        assert arrays2[k].tobytes() == arrays[k].tobytes()
    with pytest.raises(ModelFormatError, match="'char_embed' is missing"):
        write_elmo(
            tmp_path / "bad", options, {k: v for k, v in arrays.items() if k != "char_embed"}
        )


def test_char_ids_follow_the_published_mapping() -> None:
    from embeddings.nn.bilm import char_ids

    ids = char_ids(["ab", "<S>", "</S>", "x" * 60])
    assert ids.shape == (4, 50)
    assert ids[0, :5].tolist() == [259, 98, 99, 260, 261]
    assert ids[1, :4].tolist() == [259, 257, 260, 261]
    assert ids[2, :4].tolist() == [259, 258, 260, 261]
    assert ids[3, 0] == 259 and ids[3, 48] == ord("x") + 1 and ids[3, 49] == 260
    assert all(row.tolist() == _ref_chars(w) for row, w in zip(ids, ["ab", "<S>", "</S>", "x" * 60],
                                                             strict=True))  # fmt: skip
