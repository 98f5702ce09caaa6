"""Learning curves: the summary, the runner and the curve/finetune commands (tiny random BERT)."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from benchmarks.cli import main
from benchmarks.commands.curve import (
    format_table,
    load_splits,
    parse_methods,
    parse_sizes,
    parse_unfreeze,
    plot_curve,
    run_curve,
)
from benchmarks.curves import curve_summary, run_in_points
from embeddings.errors import InvalidParameterError
from tests.adapters.test_transformer import _tiny_bert

pytest.importorskip("torch")

SHORT = ["good", "good film", "a good", "fine", "good fun", "nice", "a fine film", "fun"]
LONG = [
    "the bad cat sat on the mat",
    "a bad dog sat on a bad mat",
    "bad film bad movie bad cat",
    "the stocks fell sharply on bad news today",
    "a bad bad film of a bad movie",
    "the dog sat on the mat and the cat fell",
    "stocks fell on the bad news of the bad film",
    "a movie of a cat and a dog on a mat",
]


def _split(reps: int) -> tuple[list[str], np.ndarray]:
    return (SHORT + LONG) * reps, np.array(([1] * 8 + [0] * 8) * reps)


@pytest.fixture(scope="module")
def saved_encoder(tmp_path_factory) -> str:
    """A transferkit-saved TransformerEncoder over the tiny BERT (loadable by name)."""
    from embeddings.adapters.transformer import TransformerEncoder

    root = tmp_path_factory.mktemp("curve")
    _tiny_bert(root / "hf")
    TransformerEncoder(model=str(root / "hf"), max_seq_length=16).save(root / "enc")
    # the saved folder carries its model folder (a folder may only name files inside it)
    shutil.copytree(root / "hf", root / "enc" / "hf")
    config = json.loads((root / "enc" / "config.json").read_text(encoding="utf-8"))
    config["params"]["model"] = str(root / "enc" / "hf")
    (root / "enc" / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return str(root / "enc")


def test_curve_summary() -> None:
    rows = [{"method": "m", "size": 5, "accuracy": a} for a in (0.2, 0.4)]
    rows.append({"method": "a", "size": 9, "accuracy": 0.5, "dev_accuracy": 0.1})
    first, point = curve_summary(rows)
    assert (first["method"], first["size"], first["n_seeds"]) == ("a", 9, 1)
    assert point["mean"] == pytest.approx(0.3) and point["min"] == 0.2 and point["n_seeds"] == 2
    assert point["max"] == 0.4 and point["std"] == pytest.approx(0.1)
    assert curve_summary([]) == []


def test_parsers() -> None:
    assert parse_sizes("300, 50,all,50") == [50, 300, None]
    assert parse_methods("tfidf,frozen") == ["tfidf", "frozen"]
    assert parse_unfreeze("all") == "all" and parse_unfreeze("3") == 3
    for bad in ("0", "x", ""):
        with pytest.raises(InvalidParameterError, match="sizes"):
            parse_sizes(bad)
    with pytest.raises(InvalidParameterError, match="unknown"):
        parse_methods("tfidf,bert")
    with pytest.raises(InvalidParameterError, match="unfreeze"):
        parse_unfreeze("-1")


def test_run_curve_all_methods_and_outputs(saved_encoder, tmp_path) -> None:
    train, dev, test = _split(4), _split(1), _split(1)
    seen: list[int] = []
    records = run_curve(
        train, dev, test, encoder=saved_encoder, sizes=[16, None], seeds=2,
        methods=["tfidf", "frozen", "finetune", "scratch"], unfreeze=1,
        finetune_seeds=1, finetune_max_size=16, max_seq_length=16,
        ft_options={"epochs": 2, "batch_size": 8, "head_learning_rate": 1e-2},
        cache_dir=str(tmp_path / "cache"), on_record=lambda r: seen.append(len(r)),
    )  # fmt: skip
    keys = sorted((r["method"], r["size"], r["seed"]) for r in records)
    assert keys == sorted(
        [("tfidf", n, s) for n in (16, 64) for s in (0, 1)]
        + [("frozen", n, s) for n in (16, 64) for s in (0, 1)]
        + [("finetune", 16, 0), ("scratch", 16, 0)]
    )
    assert seen == list(range(1, len(records) + 1))
    assert all(0.0 <= r["accuracy"] <= 100.0 and r["score_scale"] == 100 for r in records)
    assert {"best_epoch", "train_seconds"} <= set(
        next(r for r in records if r["method"] == "scratch")
    )
    assert os.listdir(tmp_path / "cache")  # frozen vectors went through the cache
    # resuming with everything done runs nothing
    again = run_curve(
        train, dev, test, encoder=saved_encoder, sizes=[16, None], seeds=2,
        methods=["tfidf", "frozen"], done=records, max_seq_length=16,
        cache_dir=str(tmp_path / "cache"), on_record=lambda r: pytest.fail("ran again"),
    )  # fmt: skip
    assert again == records
    summary = curve_summary(records)
    png = plot_curve(summary, tmp_path / "out" / "curve.png", title="t", labels={})
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = format_table(summary)
    assert table.splitlines()[0].split() == ["size", "tfidf", "frozen", "finetune", "scratch"]
    assert "(2)" in table and table.count("-") >= 2  # torch methods skipped at 64


def _same_or_not(n: int, seed: int) -> tuple[list[tuple[str, str]], np.ndarray]:
    """``n`` pairs of two-word texts, label 1 when both sides are the same text."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(12)]
    rows, labels = [], []
    for i in range(n):
        a = " ".join(rng.choice(words, 2, replace=False))
        b = a if i % 2 else " ".join(rng.choice(words, 2, replace=False))
        rows.append((a, b))
        labels.append(int(a == b))
    return rows, np.array(labels)


def test_run_curve_on_pairs_reads_both_texts(monkeypatch, tmp_path) -> None:
    import benchmarks.curves
    from embeddings.base import BaseEncoder

    class WordCounts(BaseEncoder):
        def _output_dim(self) -> int:
            return 12

        def _encode_batch(self, texts: list[str]) -> np.ndarray:
            return np.array([[t.split().count(f"w{i}") for i in range(12)] for t in texts])

    monkeypatch.setattr(benchmarks.curves, "load_encoder", lambda name, length: WordCounts())
    # whether the two texts are the same is in neither text alone: a curve that read
    # only the first text would score about 50
    train, dev, test = _same_or_not(80, 0), _same_or_not(40, 1), _same_or_not(60, 2)
    records = run_curve(
        train, dev, test, encoder="word-counts", sizes=[60], seeds=1,
        methods=["tfidf", "frozen"], cache_dir=str(tmp_path / "cache"),
    )  # fmt: skip
    acc = {r["method"]: r["accuracy"] for r in records}
    assert acc["tfidf"] >= 90 and acc["frozen"] >= 90, acc


def test_curve_and_finetune_cli_errors(capsys) -> None:
    assert main(["curve", "--task", "SST2", "--sizes", "1", "--out", "x"]) == 2
    assert "--sizes" in capsys.readouterr().err
    assert main(["curve", "--task", "STS-B", "--methods", "tfidf", "--out", "x"]) in (2,)
    assert main(["finetune", "--task", "SST2", "--init", "random", "--unfreeze", "1"]) == 2
    assert "--unfreeze all" in capsys.readouterr().err


@pytest.mark.data
def test_load_splits_carves_a_dev_set_for_trec() -> None:
    if not os.environ.get("TRANSFERKIT_DATA"):
        pytest.skip("TRANSFERKIT_DATA is not set")
    train, dev, test, info = load_splits("TREC", dev_size=300, test_max=200)
    assert (len(dev[0]), len(test[0])) == (300, 200)
    assert len(train[0]) + len(dev[0]) == 5452
    assert "carved" in info["dev"] and "capped" in info["test"]
    assert set(np.unique(dev[1]).tolist()) == set(np.unique(train[1]).tolist())


@pytest.mark.data
def test_curve_cli_tfidf_on_trec(tmp_path, capsys) -> None:
    if not os.environ.get("TRANSFERKIT_DATA"):
        pytest.skip("TRANSFERKIT_DATA is not set")
    out = tmp_path / "c"
    args = ["curve", "--task", "TREC", "--sizes", "60", "--seeds", "2", "--methods", "tfidf"]
    assert main([*args, "--test-max", "100", "--out", str(out)]) == 0
    data = json.loads((out / "curve.json").read_text())
    assert [(p["method"], p["size"], p["n_seeds"]) for p in data["summary"]] == [("tfidf", 60, 2)]
    assert (out / "curve.png").is_file() and "wrote" in capsys.readouterr().out


def test_curves_docstring_examples_run() -> None:
    import doctest

    import benchmarks.curves as mod

    result = doctest.testmod(mod)
    assert result.failed == 0 and result.attempted > 0


def test_frozen_encodes_only_the_training_texts_the_runs_use(monkeypatch, tmp_path) -> None:
    import benchmarks.curves
    from embeddings.base import BaseEncoder
    from embeddings.training.finetune import stratified_subsample

    seen: list[str] = []

    class Recording(BaseEncoder):
        def _output_dim(self) -> int:
            return 4

        def _encode_batch(self, texts: list[str]) -> np.ndarray:
            seen.extend(texts)
            return np.array([[t.count("good"), t.count("bad"), 0.0, 0.0] for t in texts]) * 5

    monkeypatch.setattr(benchmarks.curves, "load_encoder", lambda name, length: Recording())
    labels = np.array([i % 2 for i in range(300)])
    train = ([f"{'good' if y else 'bad'} text number {i}" for i, y in enumerate(labels)], labels)
    dev = ([f"dev {'good' if i % 2 else 'bad'} {i}" for i in range(20)], np.arange(20) % 2)
    test = ([f"test {'good' if i % 2 else 'bad'} {i}" for i in range(30)], np.arange(30) % 2)
    records = run_curve(
        train, dev, test, encoder="recording", sizes=[10, 40], seeds=2, methods=["frozen"],
        cache_dir=str(tmp_path / "cache"),
    )  # fmt: skip
    used = set().union(
        *(stratified_subsample(labels, n, s).tolist() for n in (10, 40) for s in (0, 1))
    )
    assert sorted(seen) == sorted([train[0][i] for i in used] + dev[0] + test[0])
    assert len(seen) < 150  # not the 300 training texts
    assert [(r["size"], r["seed"]) for r in records] == [(10, 0), (10, 1), (40, 0), (40, 1)]
    assert all(r["accuracy"] == 100.0 for r in records)  # the "good"/"bad" counts separate them


def test_run_curve_shows_one_line_per_step(saved_encoder, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("TRANSFERKIT_PROGRESS", raising=False)
    train, dev, test = _split(2), _split(1), _split(1)
    run_curve(
        train, dev, test, encoder=saved_encoder, sizes=[16], seeds=1,
        methods=["frozen", "finetune"], unfreeze=1, max_seq_length=16,
        ft_options={"epochs": 1, "batch_size": 8}, cache_dir=str(tmp_path / "c"),
        show_progress=True,
    )  # fmt: skip
    err = capsys.readouterr().err
    assert "\r" not in err
    steps = [line.split(":")[0] for line in err.splitlines()]
    assert steps.count("train") == 1 and "validate" in steps  # every validation pass shows
    assert sum(s.startswith("encode") for s in steps) >= 3  # frozen train/dev/test + test score


def test_load_encoder_takes_the_spec_form_and_saved_folders(tmp_path) -> None:
    import embeddings
    from benchmarks.curves import load_encoder

    enc = load_encoder("glove-6b-50d:pooling=sif:sif_a=0.001", None)
    assert enc.get_params()["pooling"] == "sif" and enc.get_params()["sif_a"] == 0.001
    assert load_encoder("minilm-l6", 32).get_params()["max_seq_length"] == 32
    folder = embeddings.load("glove-6b-50d", pooling="max").save(tmp_path / "saved")
    assert load_encoder(str(folder), None).get_params()["pooling"] == "max"
    with pytest.raises(InvalidParameterError, match="is not key=value"):
        load_encoder("glove-6b-50d:pooling", None)


def test_training_options_take_new_names_and_old_spellings_warn() -> None:
    import argparse

    from benchmarks.commands._options import add_training_options
    from embeddings.errors import TransferkitDeprecationWarning

    p = argparse.ArgumentParser()
    add_training_options(p, epochs=3, random_state_help="seed")
    new = p.parse_args(
        ["--epochs", "5", "--learning-rate", "0.1", "--head-learning-rate", "0.2",
         "--random-state", "7"]
    )  # fmt: skip
    assert (new.epochs, new.learning_rate, new.head_learning_rate, new.random_state) == (
        5, 0.1, 0.2, 7,
    )  # fmt: skip
    with pytest.warns(TransferkitDeprecationWarning, match="--lr is renamed --learning-rate"):
        old = p.parse_args(["--max-epochs", "5", "--lr", "0.1", "--head-lr", "0.2", "--seed", "7"])
    assert vars(old) == vars(new)
    assert p.parse_args([]).epochs == 3


def test_old_curve_runs_are_read_in_points() -> None:
    # a curve.json run written before accuracies were points (no score_scale, 0-1)
    old = {"method": "tfidf", "size": 50, "seed": 0, "accuracy": 0.8125, "dev_accuracy": 0.5}
    new = run_in_points(old)
    assert (new["accuracy"], new["dev_accuracy"], new["score_scale"]) == (81.25, 50.0, 100)
    assert run_in_points(new) == new  # a run in points is left alone
    assert old["accuracy"] == 0.8125  # the input is not changed


def test_resumed_old_runs_are_converted_and_not_rerun() -> None:
    old = [{"method": "tfidf", "size": 4, "seed": 0, "accuracy": 0.75, "dev_accuracy": None}]
    split = (["good one", "bad one"] * 4, np.array([1, 0] * 4))
    records = run_curve(
        split, split, split, encoder="unused", sizes=[4], seeds=1, methods=["tfidf"],
        done=old, on_record=lambda r: pytest.fail("ran again"),
    )  # fmt: skip
    assert records == [{**old[0], "accuracy": 75.0, "score_scale": 100}]


def test_curve_figure_is_readable(tmp_path) -> None:
    from matplotlib.collections import PolyCollection

    from benchmarks.plots import MAX_HEIGHT_PX, MAX_WIDTH_PX, close, curve_figure

    summary = curve_summary(
        [{"method": m, "size": n, "accuracy": 50.0 + n / 10 + s}
         for m in ("tfidf", "frozen") for n in (50, 60, 300, 1000) for s in (0, 2)]
    )  # fmt: skip
    fig = curve_figure(summary, title="t", labels={"tfidf": "TF-IDF"}, methods=["tfidf", "frozen"])
    ax = fig.axes[0]
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["50", "60", "300", "1000"]  # plain numbers, not 6x10^1
    assert all(t.get_text() == "" for t in ax.get_xticklabels(minor=True))
    assert ax.get_ylabel() == "test accuracy (%)" and ax.get_title() == "t"
    assert "examples" in ax.get_xlabel()
    # the legend sits right of the axes, clear of the lines
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["TF-IDF", "frozen"]
    # one shaded min-max band per method
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 2
    close(fig)
    png = plot_curve(summary, tmp_path / "curve.png", title="t", labels={})
    import matplotlib.image

    h, w = matplotlib.image.imread(png).shape[:2]
    assert w <= MAX_WIDTH_PX and h <= MAX_HEIGHT_PX
