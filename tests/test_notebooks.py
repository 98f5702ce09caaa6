"""The walkthroughs in ``notebooks/`` run top to bottom and show what they promise.

Each test executes a notebook with nbclient (kernel ``python3``, which jupyter_client
starts with this interpreter) in a temporary working directory; a cell that raises
fails the test.  The stored notebooks must be executed (they ship with outputs).

The default run executes the notebooks without benchmark data (the embedding
notebook on its built-in sentences, about 20 s; the transfer notebook on its
built-in sentences at ``TRANSFERKIT_NOTEBOOK_SCALE=small``, about a minute; the
training and benchmark notebooks only print that they skip).  The runs on real data
(600 MR sentences; a small SST2 slice of the learning curve; three encoders trained
on a few thousand corpus sentences and compared on MR and STS14 slices; the quick
suite on GloVe and TF-IDF) are marked ``slow``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import embeddings

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EMBED = "01_embed_and_sklearn.ipynb"
TRANSFER = "02_when_transfer_helps.ipynb"
TRAIN = "03_train_your_own.ipynb"
BENCH = "04_benchmark_and_report.ipynb"
ADVISE = "05_i_have_200_labels.ipynb"
QUICK_LABELS = (
    "SST2 (quick)",
    "TREC (quick)",
    "SICK-E (quick)",
    "STS12 (quick)",
    "TRECClustering",
)
# appended to the executed copy only: proves the kernel runs in this environment
PREFIX_PROBE = "import sys\nprint('KERNEL_PREFIX=' + sys.prefix)"


def _text(nb: nbformat.NotebookNode) -> str:
    """All printed text and plain-text results of the code cells, in order."""
    parts: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out["text"])
            elif "data" in out:
                parts.append(out["data"].get("text/plain", ""))
    return "\n".join(parts)


def _execute(name: str, workdir: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PREFIX_PROBE))
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=600,
        record_timing=False,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()  # raises CellExecutionError when a cell fails
    errors = [
        out
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors
    assert f"KERNEL_PREFIX={sys.prefix}\n" in _text(nb)
    return nb


def _set_data(monkeypatch: pytest.MonkeyPatch, use_data: bool) -> bool:
    """Point the kernel at the benchmark data (when found) or hide it; True if set.

    The kernel inherits this process's environment when it starts.
    """
    from tests.conftest import data_dir

    found = data_dir() if use_data else None
    if found is None:
        monkeypatch.delenv("TRANSFERKIT_DATA", raising=False)
        return False
    monkeypatch.setenv("TRANSFERKIT_DATA", str(found))
    return True


Runner = Callable[..., tuple[nbformat.NotebookNode, str]]


@pytest.fixture
def run_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runner:
    """Execute a notebook in ``tmp_path``, with the benchmark data (which must be found)
    or without it, at ``TRANSFERKIT_NOTEBOOK_SCALE=scale`` when a scale is given; return
    the executed notebook and its text (``_text``)."""

    def run(
        name: str, *, use_data: bool, scale: str | None = None
    ) -> tuple[nbformat.NotebookNode, str]:
        assert _set_data(monkeypatch, use_data) is use_data
        if scale is not None:
            monkeypatch.setenv("TRANSFERKIT_NOTEBOOK_SCALE", scale)
        nb = _execute(name, tmp_path)
        return nb, _text(nb)

    return run


@pytest.mark.parametrize("name", [EMBED, TRANSFER, TRAIN, BENCH, ADVISE])
def test_stored_notebook_is_executed_and_clean(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and [c.execution_count for c in code] == list(range(1, len(code) + 1))
    for cell in code:
        for out in cell.outputs:
            assert out.output_type != "error", cell.source
            assert not (out.output_type == "stream" and out.name == "stderr"), out.text
    assert any(c.cell_type == "markdown" for c in nb.cells)


def _check_embed(text: str, with_data: bool) -> None:
    shape = re.search(r"^\((\d+), 50\) float32$", text, flags=re.M)
    assert shape is not None
    assert int(shape.group(1)) == (600 if with_data else 40)
    assert ("MR: stratified slice" if with_data else "built-in fallback sentences") in text
    available = {i["name"] for i in embeddings.list_encoders() if i["available"]}
    downstream = text[text.index("downstream accuracy") :]
    for name in {"glove-6b-50d", "minilm-l6", "use-multilingual-v3"} & available:
        assert name in text  # the similarity table has a column per embedded encoder
        assert re.search(rf"^{re.escape(name)}\s+\d+\s+[01]\.\d+", downstream, flags=re.M), name
    assert re.search(r"^tfidf\s+≤5000\s+[01]\.\d+", downstream, flags=re.M)
    cv = re.search(r"cross-validated accuracy: ([0-9.]+) ± ([0-9.]+)", text)
    assert cv is not None
    best = re.search(r"best: \{'embed__encoder__pooling': '(\w+)'\} accuracy ([0-9.]+)", text)
    assert best is not None and best.group(1) in {"mean", "max", "pmean", "tfidf", "sif"}
    if with_data:  # 600 MR sentences: clearly better than chance
        assert 0.6 < float(cv.group(1)) < 0.9
        assert 0.6 < float(best.group(2)) < 0.9


def test_embed_and_sklearn_notebook_with_fallback_sentences(run_notebook: Runner) -> None:
    _, text = run_notebook(EMBED, use_data=False)
    _check_embed(text, with_data=False)


@pytest.mark.data
@pytest.mark.slow
def test_embed_and_sklearn_notebook_on_mr(run_notebook: Runner) -> None:
    _, text = run_notebook(EMBED, use_data=True)
    _check_embed(text, with_data=True)


def _images(nb: nbformat.NotebookNode) -> int:
    return sum(
        "image/png" in out.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )


def _check_transfer(nb: nbformat.NotebookNode, text: str, sizes: list[int]) -> None:
    assert "scale small" in text
    available = {i["name"] for i in embeddings.list_encoders() if i["available"]}
    header = next(line for line in text.splitlines() if line.lstrip().startswith("size "))
    methods = ["tfidf", "frozen", "finetune", "scratch"]
    if "use-multilingual-v3" in available:
        methods.append("frozen use-multilingual-v3")
    assert all(m in header for m in methods), header
    for size in sizes:  # one row per labelled-set size, accuracies in points, [0, 100]
        row = re.search(rf"^\s*{size}\s+([0-9.]+) ±", text, flags=re.M)
        assert row is not None and 0.0 <= float(row.group(1)) <= 100.0, size
    assert "minus TF-IDF" in text and "pretraining adds" in text
    assert re.search(r"unfreeze\s+0\s+2\s+all", text)  # the unfreeze table
    assert text.count("2-D accuracy") == 1 + len({"minilm-l6", "use-multilingual-v3"} & available)
    assert _images(nb) == 2  # the learning curve and the projection


def test_transfer_notebook_with_fallback_sentences(run_notebook: Runner) -> None:
    nb, text = run_notebook(TRANSFER, use_data=False, scale="small")
    assert "built-in sentences: 24 train, 8 dev" in text
    _check_transfer(nb, text, [8, 16, 24])


@pytest.mark.data
@pytest.mark.slow
def test_transfer_notebook_on_an_sst2_slice(run_notebook: Runner) -> None:
    nb, text = run_notebook(TRANSFER, use_data=True, scale="small")
    assert "SST2: 6920 train, 64 dev" in text and ", 128 test" in text
    _check_transfer(nb, text, [16, 64])


TRAINED = ("word2vec", "doc2vec", "quick-thought", "quick-thought-glove")


#: notebook run without data -> (texts it prints, {text: how many times}, texts it must not)
WITHOUT_DATA: dict[str, tuple[list[str], dict[str, int], list[str]]] = {
    TRAIN: (
        ["No corpus: TRANSFERKIT_DATA is not set"],
        {"skipped: no corpus": 7},  # every cell that needs the corpus
        ["corpus slice", " computed, "],
    ),
    BENCH: (
        # the suite listing ("SST2 (quick)") needs no data
        ["No benchmark data: TRANSFERKIT_DATA is not set", "SST2 (quick)"],
        {"skipped: no benchmark data": 5},
        ["done ", "| task |"],
    ),
    ADVISE: (["No benchmark data, so this notebook stops here"], {}, ["Recommended:"]),
}


@pytest.mark.parametrize("name", list(WITHOUT_DATA))
def test_notebook_without_data_skips_or_stops_with_a_message(
    run_notebook: Runner, name: str
) -> None:
    _, text = run_notebook(name, use_data=False)
    shown, counts, absent = WITHOUT_DATA[name]
    for line in shown:
        assert line in text
    for line, times in counts.items():
        assert text.count(line) == times, line
    for line in absent:
        assert line not in text


@pytest.mark.data
@pytest.mark.slow
def test_train_notebook_trains_on_a_corpus_slice_and_compares(run_notebook: Runner) -> None:
    nb, text = run_notebook(TRAIN, use_data=True, scale="small")
    assert "scale small" in text
    # at most 100 lines of each of the 40 corpus files
    sliced = re.search(
        r"^corpus slice: (\d+) sentences, (\d+) whitespace tokens in 40 files$", text, re.M
    )
    assert sliced is not None and 1000 < int(sliced.group(1)) <= 4000
    assert re.search(r"^word2vec: \d+ words, \d+ tokens x 2 epochs in \d+ s; dim 32$", text, re.M)
    assert re.search(r"^doc2vec: \d+ words, \d+ training lines x 3 epochs", text, re.M)
    assert "the same sentence inferred twice gives the same vector: True" in text
    for name, from_glove in (("quick-thought", False), ("quick-thought-glove", True)):
        qt = re.search(
            rf"^{name}: (\d+) steps .*stopped by (\w+);.*\((\d+) rows from GloVe\); dim 64$",
            text,
            re.M,
        )
        assert qt is not None, name
        assert int(qt.group(1)) > 0 and qt.group(2) in {"completed", "time_budget"}
        assert (int(qt.group(3)) > 0) == from_glove  # only the second run starts from GloVe
    available = {i["name"] for i in embeddings.list_encoders() if i["available"]}
    defaults = [n for n in ("glove-6b-50d", "minilm-l6", "use-multilingual-v3") if n in available]
    encoders = [*defaults, *(f"saved:{name}" for name in TRAINED)]
    assert f"{2 * len(encoders)} computed, 0 skipped, 0 failed" in text
    assert "| task | metric | " + " | ".join(encoders) + " |" in text
    for label, metric, low in (
        ("MR (slice)", "accuracy", 0.0),
        ("STS14 (slice)", "spearman", -100.0),
    ):
        row = re.search(rf"^\| {re.escape(label)} \| {metric} \| (.+) \|$", text, re.M)
        assert row is not None, label
        values = [float(v) for v in row.group(1).split(" | ")]
        assert len(values) == len(encoders) and all(low < v <= 100 for v in values), row.group(0)
    assert len(re.findall(r"best trained here (word2vec|doc2vec|quick-thought\S*) ", text)) == 2
    assert _images(nb) == 2  # the Quick-Thought loss curves and the bar plot


@pytest.mark.data
@pytest.mark.slow
def test_benchmark_notebook_runs_quick_suite_and_reports(run_notebook: Runner) -> None:
    nb, text = run_notebook(BENCH, use_data=True)
    assert "10 computed, 0 skipped, 0 failed" in text
    assert "| task | metric | glove-6b-50d | tfidf |" in text
    for label in QUICK_LABELS:
        row = re.search(rf"^\| {re.escape(label)} \| \w+ \| ([0-9.]+) \| ([0-9.]+) \|$", text, re.M)
        assert row is not None, label
        assert all(0 < float(v) <= 100 for v in row.groups())
    assert "task,metric,glove-6b-50d,tfidf" in text  # the CSV that write_report wrote
    assert _images(nb) == 1  # the bar plot, inline


@pytest.mark.data
@pytest.mark.slow
def test_advise_notebook_on_a_trec_slice(run_notebook: Runner) -> None:
    nb, text = run_notebook(ADVISE, use_data=True, scale="small")
    assert "scale small: 130 labels, budget 90s" in text
    assert re.search(r"^rank\s+candidate\s+score@\d+", text, re.M)
    for name in ("tfidf", "frozen:glove-6b-50d", "frozen:minilm-l6"):
        row = re.search(rf"^\d\s+{re.escape(name)}\s+([0-9.]+)\s", text, re.M)
        assert row is not None and 0 <= float(row.group(1)) <= 100, name
    assert "Recommended: " in text and "model = " in text
    test = re.search(r"TREC test \(500 questions\) ([0-9.]+)$", text, re.M)
    assert test is not None and 0 < float(test.group(1)) <= 100
    assert _images(nb) == 1  # the learning curves
    assert "removed the advice folder" in text
