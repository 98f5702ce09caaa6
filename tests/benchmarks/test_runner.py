"""The benchmark runner on tiny synthetic data (normalised TSV layout, fake encoders)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import benchmarks.runner as runner_mod
from benchmarks.runner import (
    RESULT_FORMAT,
    SCHEMA_VERSION,
    parse_encoder_spec,
    result_path,
    run_suite,
)
from benchmarks.suites import Suite, SuiteTask
from benchmarks.tasks import clear_checksum_cache, get_task
from embeddings import register_encoder_class
from embeddings.base import BaseEncoder
from embeddings.errors import InvalidParameterError

VOCAB = [f"w{i}" for i in range(12)]
TREC_LABELS = ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")


# ---------------------------------------------------------------- fake encoders


class BowEncoder(BaseEncoder):
    """Frozen bag of the fixed words ``w0..w11`` (plus a length feature)."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def _output_dim(self) -> int:
        return len(VOCAB) + 1

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(VOCAB) + 1), dtype=np.float32)
        for i, text in enumerate(texts):
            for tok in text.split():
                if tok in VOCAB:
                    out[i, VOCAB.index(tok)] += self.scale
            out[i, -1] = len(text) / 100.0
        return out


@register_encoder_class  # a saved folder of it is benchmarked below
class LearnedVocabEncoder(BaseEncoder):
    """Trainable: bag of words over the vocabulary seen in ``fit`` (like TF-IDF).

    ``fit_log`` records every list of texts it was fitted on (test instrumentation).
    """

    requires_fit = True
    trainable = True

    def __init__(self, size: int = 16) -> None:
        self.size = size

    def _fit(self, texts: list[str]) -> None:
        self.__dict__.setdefault("fit_log", []).append(list(texts))
        counts: dict[str, int] = {}
        for text in texts:
            for tok in text.split():
                counts[tok] = counts.get(tok, 0) + 1
        self.vocab_ = sorted(counts, key=lambda t: (-counts[t], t))[: self.size]

    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {}, {"vocab": list(self.vocab_)}

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self.vocab_ = list(meta["vocab"])

    def _output_dim(self) -> int:
        return self.size

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.size), dtype=np.float32)
        index = {t: j for j, t in enumerate(self.vocab_)}
        for i, text in enumerate(texts):
            for tok in text.split():
                if tok in index:
                    out[i, index[tok]] += 1.0
        return out


class FitIgnoringEncoder(BowEncoder):
    """Trainable in name only: fitting changes nothing (isolates the per-fold path)."""

    requires_fit = True
    trainable = True

    def _fit(self, texts: list[str]) -> None:
        self.__dict__.setdefault("fit_log", []).append(list(texts))


class BrokenEncoder(BowEncoder):
    """Fails when encoding."""

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        raise RuntimeError("model exploded")


# ---------------------------------------------------------------- tiny data


def labelled_sentence(rng: np.random.Generator, label: int, uid: str, size: int = 3) -> str:
    """Two copies of the label's word and ``size`` random words, shuffled, then ``u{uid}``."""
    words = [VOCAB[label % len(VOCAB)]] * 2 + list(rng.choice(VOCAB, size=size))
    rng.shuffle(words)
    return " ".join(words) + f" u{uid}"


def write_tsv(root: Path, rel: str, header: str, rows: list[str]) -> None:
    """``root/rel``: the header line, then one line per row."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")


def make_data(root: Path) -> Path:
    """Small files for MR, TREC, SICK-E, SICK-R, STS12 and an unlabeled corpus."""
    rng = np.random.default_rng(0)
    mr = [f"{k % 2}\t{labelled_sentence(rng, k % 2, f'mr{k}')}" for k in range(80)]
    write_tsv(root, "MR/all.tsv", "label\ttext", mr)
    for split, n in (("train", 120), ("test", 36)):
        rows = [
            f"{TREC_LABELS[k % 6]}\t{labelled_sentence(rng, k % 6, f'{split}{k}')}"
            for k in range(n)
        ]
        write_tsv(root, f"TREC/{split}.tsv", "label\ttext", rows)
    sick = ("CONTRADICTION", "ENTAILMENT", "NEUTRAL")
    for split, n in (("train", 60), ("dev", 21), ("test", 30)):
        rows = []
        for k in range(n):
            a = labelled_sentence(rng, k % 3, f"a{split}{k}")
            b = labelled_sentence(rng, k % 3, f"b{split}{k}")
            rows.append(f"{sick[k % 3]}\t{a}\t{b}")
        write_tsv(root, f"SICK-E/{split}.tsv", "label\ttext_a\ttext_b", rows)
        scores = [
            f"{1 + (k % 5) * 0.9 + 0.05:.2f}\t{r.split(chr(9), 1)[1]}" for k, r in enumerate(rows)
        ]
        write_tsv(root, f"SICK-R/{split}.tsv", "label\ttext_a\ttext_b", scores)
    for subset in get_task("STS12").metadata.subsets:
        rows = []
        for k in range(12):
            a = labelled_sentence(rng, k % 4, f"s{subset}{k}")
            b = a if k % 2 else labelled_sentence(rng, (k + 1) % 4, f"t{subset}{k}")
            rows.append(f"{float(k % 6):.1f}\t{a}\t{b}")
        write_tsv(root, f"STS12/test_{subset}.tsv", "label\ttext_a\ttext_b", rows)
    corpus = [labelled_sentence(rng, k % 12, f"brown{k}") for k in range(50)]
    write_tsv(root, "unlabeled/brown/a.txt", "", corpus)
    return root


@pytest.fixture()
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_data(tmp_path / "data")
    monkeypatch.setenv("TRANSFERKIT_DATA", str(root))
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    clear_checksum_cache()
    return root


def small_suite(*entries: SuiteTask) -> Suite:
    return Suite("tiny", "test suite", entries)


def run_quietly(suite: Any, encoders: list[Any], out: Path, **kw: Any) -> dict[str, Any]:
    """``run_suite`` without a progress bar or log lines; the summary as a dict."""
    kw.setdefault("show_progress", False)
    kw.setdefault("log", None)
    return dict(run_suite(suite, encoders, out, **kw))


def run(encoders: list[Any], suite: Suite, out: Path, **kw: Any) -> dict[str, Any]:
    """``run_quietly`` without checksum verification."""
    kw.setdefault("verify", False)
    return run_quietly(suite, encoders, out, **kw)


def read(path: str) -> dict[str, Any]:
    """A result file's JSON."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


# ---------------------------------------------------------------- spec parsing


def test_parse_encoder_spec_reads_json_values_and_rejects_malformed() -> None:
    assert parse_encoder_spec("glove-6b-50d") == ("glove-6b-50d", {})
    assert parse_encoder_spec("x:a=1:b=true:c=sif:d=null") == (
        "x",
        {"a": 1, "b": True, "c": "sif", "d": None},
    )
    with pytest.raises(InvalidParameterError, match="key=value"):
        parse_encoder_spec("glove:pooling")
    with pytest.raises(InvalidParameterError, match="no encoder name"):
        parse_encoder_spec(":a=1")


# ---------------------------------------------------------------- results and resume


def test_one_json_per_pair_with_required_fields(data: Path, tmp_path: Path) -> None:
    suite = small_suite(SuiteTask("TREC", n_folds=3), SuiteTask("SICK-E"), SuiteTask("STS12"))
    out = tmp_path / "out"
    summary = run([BowEncoder()], suite, out)
    assert summary["failed"] == [] and len(summary["computed"]) == 3
    files = sorted(out.glob("*.json"))
    assert [p.name.split("__")[0] for p in files] == ["SICK-E", "STS12", "TREC"]
    assert not list(out.glob(".*"))  # no temporary files left behind
    rec = read(summary["computed"][0])
    assert rec["format"] == RESULT_FORMAT and rec["schema_version"] == SCHEMA_VERSION
    assert rec["toolkit_version"] == runner_mod.toolkit_version()
    assert rec["task"]["name"] == "TREC" and rec["task"]["version"] == "2"  # SentEval order
    assert rec["encoder"]["fingerprint"] == BowEncoder().fingerprint()
    assert rec["encoder"]["params"] == {"scale": 1.0} and rec["encoder"]["dim"] == 13
    assert rec["n_samples"] == {"train": 120, "test": 36}
    proto = rec["protocol"]
    assert proto["evaluator"] == "evaluate_classification_train_test"
    assert proto["c_grid"] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    assert proto["n_folds"] == 3 and proto["seed"] == 1111 and proto["fit"] == "none"
    assert rec["main_score"] == rec["scores"]["accuracy"] > 0.5
    assert set(rec["timings"]) == {"fit_s", "encode_s", "evaluate_s", "total_s"}
    sick = read(summary["computed"][1])
    assert sick["protocol"]["pair_features"] == "senteval"
    assert sick["protocol"]["c_grid"] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
    sts = read(summary["computed"][2])
    assert sts["task"]["main_score"] == "spearman" and set(sts["scores"]["subsets"]) == set(
        get_task("STS12").metadata.subsets
    )


def test_rerun_skips_done_pairs_force_and_new_version_recompute(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = small_suite(SuiteTask("SICK-E"), SuiteTask("STS12"))
    out = tmp_path / "out"
    first = run([BowEncoder()], suite, out)
    mtimes = {p: os.stat(p).st_mtime_ns for p in first["computed"]}
    again = run([BowEncoder()], suite, out)
    assert again["computed"] == [] and sorted(again["skipped"]) == sorted(first["computed"])
    assert {p: os.stat(p).st_mtime_ns for p in first["computed"]} == mtimes
    assert len(run([BowEncoder()], suite, out, force=True)["computed"]) == 2
    monkeypatch.setattr(runner_mod, "toolkit_version", lambda: "999.0")
    redo = run([BowEncoder()], suite, out)
    assert len(redo["computed"]) == 2 and read(redo["computed"][0])["toolkit_version"] == "999.0"


def test_a_changed_parameter_or_entry_config_is_a_new_result(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run([BowEncoder()], small_suite(SuiteTask("STS12")), out)
    second = run([BowEncoder(scale=2.0)], small_suite(SuiteTask("STS12")), out)
    third = run(
        [BowEncoder()],
        small_suite(SuiteTask("STS12", label="STS12 small", max_samples={"test": 30})),
        out,
    )
    assert len(second["computed"]) == 1 and len(third["computed"]) == 1
    assert len(list(out.glob("*.json"))) == 3
    assert read(third["computed"][0])["n_samples"] == {"test": 30}


def test_result_path_separates_config_and_fingerprint() -> None:
    a = result_path("r", SuiteTask("MR"), "1", "enc", "a" * 64)
    assert a == result_path("r", SuiteTask("MR", label="MR"), "1", "enc", "a" * 64)
    assert a != result_path("r", SuiteTask("MR", n_folds=5), "1", "enc", "a" * 64)
    assert a != result_path("r", SuiteTask("MR"), "2", "enc", "a" * 64)
    assert a != result_path("r", SuiteTask("MR"), "1", "enc", "b" * 64)


# ---------------------------------------------------------------- failures


def test_failing_encoder_and_task_are_reported_and_the_rest_goes_on(
    data: Path, tmp_path: Path
) -> None:
    suite = small_suite(SuiteTask("SICK-E"), SuiteTask("STS13"), SuiteTask("STS12"))
    lines: list[str] = []
    summary = run(
        ["no-such-encoder", BrokenEncoder(), BowEncoder()],
        suite,
        tmp_path / "out",
        log=lines.append,
    )
    failed = {(f["encoder"], f["task"]): f for f in summary["failed"]}
    # unknown preset: all its tasks fail, reported once per task
    assert failed[("no-such-encoder", "SICK-E")]["error_type"] == "UnknownEncoderError"
    # broken encoder: each task fails with the encoder's error
    assert "model exploded" in failed[("BrokenEncoder", "STS12")]["error"]
    # missing data (STS13 has no files here) fails for the working encoder only
    assert failed[("BowEncoder", "STS13")]["error_type"] == "DataNotFoundError"
    assert len(summary["failed"]) == 3 + 3 + 1
    assert len(summary["computed"]) == 2  # BowEncoder on SICK-E and STS12
    assert any(line.startswith("FAILED STS13 x BowEncoder") for line in lines)


def test_failed_pairs_are_not_written_so_a_rerun_retries_them(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run([BrokenEncoder()], small_suite(SuiteTask("STS12")), out)
    assert list(out.glob("*.json")) == []


def test_unknown_suite_and_empty_encoders_raise(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="did you mean 'quick'"):
        run_suite("quik", ["glove-6b-50d"], tmp_path)
    with pytest.raises(InvalidParameterError, match="non-empty"):
        run_suite("quick", [], tmp_path)


# ---------------------------------------------------------------- fitting on train only


def _all_texts(task: str, split: str) -> set[str]:
    d = get_task(task).load(split, verify=False)
    if hasattr(d, "texts_a"):
        return set(d.texts_a) | set(d.texts_b)
    return set(d.texts)


def test_trainable_encoder_fits_on_train_split_only(data: Path, tmp_path: Path) -> None:
    enc = LearnedVocabEncoder()
    summary = run(
        [enc], small_suite(SuiteTask("SICK-E"), SuiteTask("TREC", n_folds=3)), tmp_path / "o"
    )
    assert summary["failed"] == []
    sick_fit, trec_fit = enc.fit_log
    assert set(sick_fit) == _all_texts("SICK-E", "train")
    assert set(trec_fit) == _all_texts("TREC", "train")
    assert not set(sick_fit) & (_all_texts("SICK-E", "test") | _all_texts("SICK-E", "dev"))
    rec = read(summary["computed"][0])
    assert rec["protocol"]["fit"] == "train" and rec["protocol"]["fit_texts"] == 120
    assert rec["encoder"]["fingerprint"] == LearnedVocabEncoder().fingerprint()  # unfitted one


def test_cv_task_fits_once_per_fold_never_on_the_fold_being_scored(
    data: Path, tmp_path: Path
) -> None:
    from sklearn.model_selection import StratifiedKFold

    enc = LearnedVocabEncoder()
    summary = run([enc], small_suite(SuiteTask("MR", n_folds=4)), tmp_path / "o")
    assert summary["failed"] == []
    mr = get_task("MR").load("all", verify=False).in_senteval_order()
    folds = StratifiedKFold(4, shuffle=True, random_state=1111).split(np.zeros(len(mr)), mr.labels)
    assert len(enc.fit_log) == 4
    for fitted, (train_idx, test_idx) in zip(enc.fit_log, folds):
        assert fitted == [mr.texts[i] for i in train_idx]
        assert not set(fitted) & {mr.texts[i] for i in test_idx}
    assert read(summary["computed"][0])["protocol"]["fit"] == "per_fold"


def test_tasks_without_train_split_fit_on_the_unlabeled_corpus(data: Path, tmp_path: Path) -> None:
    enc = LearnedVocabEncoder()
    summary = run([enc], small_suite(SuiteTask("STS12")), tmp_path / "o")
    corpus = (data / "unlabeled" / "brown" / "a.txt").read_text(encoding="utf-8").split("\n")
    assert enc.fit_log == [[line for line in corpus if line]]
    proto = read(summary["computed"][0])["protocol"]
    assert proto["fit"] == "unlabeled" and proto["fit_source"].startswith("unlabeled/brown[:50]")


def test_fitted_encoders_use_the_cache_keyed_by_fitted_state(data: Path, tmp_path: Path) -> None:
    from embeddings.cache import cache_info

    cache = tmp_path / "vectors"
    run([LearnedVocabEncoder()], small_suite(SuiteTask("SICK-E"), SuiteTask("STS12")),
        tmp_path / "o", cache_dir=cache)  # fmt: skip
    entries = cache_info(cache)
    assert len(entries) == 2  # two fitted states (SICK-E train, unlabeled corpus)
    assert len({e["fingerprint"] for e in entries}) == 2


# ---------------------------------------------------------------- SentEval protocol


def _senteval_fit_best_c(X: np.ndarray, y: np.ndarray, regs: list[float], folds: Any) -> Any:
    """SentEval's C selection (usepytorch=False), ported line by line: for each C the mean
    accuracy over ``folds`` of ``X``, rounded to 2 decimals in points; the first best C
    wins and is refitted on all of ``X``."""
    from sklearn.linear_model import LogisticRegression

    scores = []
    for reg in regs:
        scan = []
        for tr, te in folds.split(X, y):
            clf = LogisticRegression(C=reg, random_state=1111).fit(X[tr], y[tr])
            scan.append(clf.score(X[te], y[te]))
        scores.append(round(100 * np.mean(scan), 2))
    optreg = regs[int(np.argmax(scores))]
    return LogisticRegression(C=optreg, random_state=1111).fit(X, y)


def _senteval_inner_kfold(X: np.ndarray, y: np.ndarray, k: int) -> list[float]:
    """SentEval's InnerKFoldClassifier.run (usepytorch=False), ported line by line."""
    from sklearn.model_selection import StratifiedKFold

    regs = [2**t for t in range(-2, 4, 1)]
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=1111)
    innerskf = StratifiedKFold(n_splits=k, shuffle=True, random_state=1111)
    test_results = []
    for train_idx, test_idx in skf.split(X, y):
        X_train, X_test, y_train, y_test = X[train_idx], X[test_idx], y[train_idx], y[test_idx]
        clf = _senteval_fit_best_c(X_train, y_train, regs, innerskf)
        test_results.append(clf.score(X_test, y_test))
    return test_results


def _senteval_kfold(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray,
                    k: int) -> float:  # fmt: skip
    """SentEval's KFoldClassifier.run (usepytorch=False), ported line by line."""
    from sklearn.model_selection import StratifiedKFold

    regs = [2**t for t in range(-1, 6, 1)]
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=1111)
    clf = _senteval_fit_best_c(Xtr, ytr, regs, skf)
    return float(clf.score(Xte, yte))


def _check_cv_against_senteval(encoder: BaseEncoder, n_folds: int | None, tmp_path: Path) -> None:
    from threadpoolctl import threadpool_limits

    summary = run([encoder], small_suite(SuiteTask("MR", n_folds=n_folds)), tmp_path / "o")
    rec = read(summary["computed"][0])
    mr = get_task("MR").load("all", verify=False).in_senteval_order()
    X = BowEncoder().encode(mr.texts)
    k = n_folds or 10
    with threadpool_limits(1, user_api="blas"):  # the runner's setting, and faster
        expected = _senteval_inner_kfold(X, mr.labels, k)
    assert rec["protocol"]["n_folds"] == k
    assert rec["protocol"]["c_grid"] == [0.25, 0.5, 1.0, 2.0, 4.0, 8.0]
    # the record holds points: SentEval's fractions x100
    assert rec["scores"]["fold_accuracies"] == pytest.approx([100 * a for a in expected], abs=1e-10)
    assert rec["main_score"] == pytest.approx(100 * float(np.mean(expected)), abs=1e-10)
    assert rec["score_scale"] == 100 and rec["suite"] == "tiny"


@pytest.mark.parametrize("encoder_cls", [BowEncoder, FitIgnoringEncoder])
def test_cv_numbers_equal_a_port_of_senteval_inner_kfold(
    encoder_cls: type, data: Path, tmp_path: Path
) -> None:
    """Same outer folds, same inner folds, same C grid, same rounding rule.

    Both runner paths (one-shot nested CV for frozen encoders, per-fold fitting for
    trainable ones) must give SentEval's fold accuracies exactly (5 folds here for
    speed; the slow test below runs the default 10).
    """
    _check_cv_against_senteval(encoder_cls(), 5, tmp_path)


def test_cv_numbers_equal_senteval_with_the_default_ten_folds(data: Path, tmp_path: Path) -> None:
    _check_cv_against_senteval(FitIgnoringEncoder(), None, tmp_path)


def test_train_test_numbers_equal_a_port_of_senteval_kfold(data: Path, tmp_path: Path) -> None:
    summary = run([BowEncoder()], small_suite(SuiteTask("TREC", n_folds=5)), tmp_path / "o")
    trec = get_task("TREC")
    train = trec.load("train", verify=False).in_senteval_order()
    test = trec.load("test", verify=False)
    enc = BowEncoder()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        expected = _senteval_kfold(enc.encode(train.texts), train.labels,
                                   enc.encode(test.texts), test.labels, 5)  # fmt: skip
    assert read(summary["computed"][0])["main_score"] == pytest.approx(100 * expected, abs=1e-10)


def test_relatedness_task_records_min_score(data: Path, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    entry = SuiteTask("SICK-R", min_score=1)
    summary = run([BowEncoder()], small_suite(entry), tmp_path / "o")
    assert summary["failed"] == []
    rec = read(summary["computed"][0])
    assert rec["protocol"]["min_score"] == 1 and rec["task"]["main_score"] == "pearson"
    assert rec["scores"]["n_train"] == 60 and -100.0 <= rec["main_score"] <= 100.0


# ---------------------------------------------------------------- CLI


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_bench_cli_runs_reports_and_exits_1_on_failures(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import benchmarks.suites as suites_mod
    from benchmarks.cli import main as cli_main

    monkeypatch.setattr(suites_mod, "_SUITES", dict(suites_mod._SUITES))
    suites_mod.register_suite(small_suite(SuiteTask("SICK-E"), SuiteTask("STS12")))
    out = tmp_path / "res"
    argv = ["bench", "--suite", "tiny", "--out", str(out), "--no-verify", "--no-progress"]
    assert cli_main([*argv, "--encoders", "glove-6b-50d", "--report"]) == 0
    text = capsys.readouterr().out
    assert "tiny: 2 computed, 0 already done, 0 failed" in text
    assert "| SICK-E | accuracy |" in text and (out / "report.md").is_file()
    bad = "glove-6b-50d:pooling=nope"  # a known name whose build fails in each task
    assert cli_main([*argv, "--encoders", f"glove-6b-50d,{bad}"]) == 1
    captured = capsys.readouterr()
    assert "0 computed, 2 already done, 2 failed" in captured.out
    assert f"FAILED SICK-E x {bad}: InvalidParameterError" in captured.err
    # an unknown name fails once, before any task runs
    assert cli_main([*argv, "--encoders", "glove-6b-50d,nope-encoder"]) == 2
    assert "unknown encoder 'nope-encoder'" in capsys.readouterr().err
    assert cli_main(["bench", "--list"]) == 0
    assert "quick: " in capsys.readouterr().out


# ---------------------------------------------------------------- sparse features


class DenseOnlyTfidf(BaseEncoder):
    """TfidfEncoder without ``encode_sparse``: the dense path, for comparison."""

    family = "test"
    requires_fit = True
    trainable = True

    def __init__(self) -> None:
        pass

    def _fit(self, texts: list[str]) -> None:
        from embeddings.adapters.baselines import TfidfEncoder

        self._inner = TfidfEncoder().fit(texts)

    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return self._inner._get_state()  # the fitted state keys the embedding cache

    def _output_dim(self) -> int:
        return self._inner.dim

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return self._inner.encode(texts)


def test_tfidf_trains_on_sparse_features_with_the_dense_scores(data: Path, tmp_path: Path) -> None:
    from embeddings.adapters.baselines import TfidfEncoder

    suite = small_suite(
        SuiteTask("MR", n_folds=3), SuiteTask("TREC", n_folds=3), SuiteTask("SICK-E"),
        SuiteTask("SICK-R"),
    )  # fmt: skip
    sparse = run([TfidfEncoder()], suite, tmp_path / "sparse")
    dense = run([DenseOnlyTfidf()], suite, tmp_path / "dense")
    assert sparse["failed"] == [] and dense["failed"] == []
    for s_path, d_path in zip(sorted(sparse["computed"]), sorted(dense["computed"])):
        s_rec, d_rec = read(s_path), read(d_path)
        assert s_rec["task"]["name"] == d_rec["task"]["name"]
        relatedness = s_rec["task"]["name"] == "SICK-R"
        assert s_rec["protocol"]["features"] == ("dense" if relatedness else "sparse")
        assert d_rec["protocol"]["features"] == "dense"
        # same values, same folds and C grid: lbfgs on CSR vs dense agrees to rounding
        assert s_rec["main_score"] == pytest.approx(d_rec["main_score"], abs=1e-9)


def test_a_saved_encoder_folder_is_pretrained_and_never_refitted(
    data: Path, tmp_path: Path
) -> None:
    """Transfer: vectors trained elsewhere (task A) are used as they are on task B."""
    pretrained = LearnedVocabEncoder().fit(["alpha beta gamma", "beta gamma", "gamma"])
    folder = tmp_path / "models" / "vocab"
    pretrained.save(folder)
    suite = small_suite(SuiteTask("TREC", n_folds=3), SuiteTask("MR", n_folds=3))
    summary = run([str(folder)], suite, tmp_path / "o")
    assert summary["failed"] == []
    for path in summary["computed"]:
        rec = read(path)
        assert rec["encoder"]["label"] == "saved:vocab"
        assert rec["encoder"]["fingerprint"] == pretrained.fingerprint()
        assert rec["encoder"]["trainable"] is False and rec["encoder"]["dim"] == pretrained.dim
        proto = rec["protocol"]
        assert proto["fit"] == "pretrained" and proto["fit_source"] == str(folder)
        assert proto["fit_texts"] == 0
    # the same folder as a preset-like spec with a typo is an error, not a silent preset
    bad = run([str(tmp_path / "models" / "missing")], suite, tmp_path / "o2")
    assert len(bad["failed"]) == 2
