"""Out-of-core encoding: streamed sources, npy/parquet outputs, resume after kill -9."""

from __future__ import annotations

import csv
import doctest
import fcntl
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import embeddings
from benchmarks.cli import main
from embeddings import streaming
from embeddings.errors import EncodingError, InvalidInputError, InvalidParameterError
from embeddings.streaming import TextSource, encode_corpus, read_vectors

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.filterwarnings("ignore:.*no in-vocabulary token:RuntimeWarning")
WORDS = (
    "the cat sat on mat stocks fell sharply a film was dull great acting plot bank river "
    "music played loud children ran home quickly"
).split()


def corpus(n: int, *, empty: bool = True) -> list[str]:
    """``n`` distinct sentences (row number first), some non-ASCII, some empty."""
    out = []
    for i in range(n):
        if empty and i % 17 == 5:
            out.append("")
            continue
        words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(i % 6 + 1)]
        tail = " naïve café" if i % 11 == 0 else ""
        out.append(f"row{i} " + " ".join(words) + tail)
    return out


@pytest.fixture(scope="module")
def glove():
    enc = embeddings.load("glove-6b-50d")
    _ = enc.dim
    return enc


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # zero vectors for empty texts
        return fn(*args, **kwargs)


def write_source(folder: Path, kind: str, texts: list[str]) -> Path:
    """``texts`` as a file of the given kind (column ``text``)."""
    path = folder / f"src.{kind}"
    if kind == "txt":
        path.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    elif kind == "csv":
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["id", "text"])
            writer.writerows([i, t] for i, t in enumerate(texts))
    elif kind == "tsv":
        path.write_text(
            "id\ttext\n" + "".join(f"{i}\t{t}\n" for i, t in enumerate(texts)), encoding="utf-8"
        )
    elif kind == "jsonl":
        path.write_text(
            "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(texts)),
            encoding="utf-8",
        )
    else:
        pq.write_table(pa.table({"text": texts}), path, row_group_size=13)
    return path


class Recording:
    """Wraps an encoder; records the size and first row of every ``encode`` call."""

    def __init__(self, encoder, fail_after: int | None = None) -> None:
        self.encoder = encoder
        self.calls: list[tuple[int, str]] = []
        self.fail_after = fail_after

    @property
    def dim(self) -> int:
        return self.encoder.dim

    @property
    def name(self) -> str:
        return self.encoder.name

    def fingerprint(self) -> str:
        return self.encoder.fingerprint()

    def encode(self, texts, batch_size=64, show_progress=False):
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise KeyboardInterrupt  # an interruption in the middle of a run
        self.calls.append((len(texts), texts[0]))
        return _quiet(self.encoder.encode, texts, batch_size=batch_size)


# ------------------------------------------------------------------ sources
@pytest.mark.parametrize("kind", ["txt", "csv", "tsv", "jsonl", "parquet"])
@pytest.mark.parametrize("fmt", ["npy", "parquet"])
def test_every_source_and_output_is_bit_identical_to_encode(tmp_path, glove, kind, fmt) -> None:
    texts = corpus(61)
    src = write_source(tmp_path, kind, texts)
    out = tmp_path / f"out.{fmt}"
    rec = Recording(glove)
    result = encode_corpus(rec, src, out, chunk_size=8, show_progress=False)
    expected = _quiet(glove.encode, texts)
    got = read_vectors(out)
    assert got.dtype == np.float32 and got.shape == (61, 50)
    assert got.tobytes() == expected.tobytes()
    assert (result.rows, result.chunks, result.chunks_encoded) == (61, 8, 8)
    assert max(n for n, _ in rec.calls) == 8  # memory bounded by the chunk size
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([src.name, out.name])
    if fmt == "parquet":
        table = pq.read_table(out)
        assert table.column("id").to_pylist() == list(range(61))
        assert table.schema.field("vector").type == pa.list_(pa.float32(), 50)
        assert pq.ParquetFile(out).metadata.num_row_groups == 8
        meta = json.loads(table.schema.metadata[b"transferkit"])
        assert meta["fingerprint"] == glove.fingerprint()


def test_fitted_sif_encoder_streams_bit_identically(tmp_path) -> None:
    texts = corpus(40)
    sif = _quiet(embeddings.load("glove-6b-50d-sif").fit, texts[:20])
    src = write_source(tmp_path, "txt", texts)
    encode_corpus(sif, src, tmp_path / "v.npy", chunk_size=7, show_progress=False)
    assert np.array_equal(np.load(tmp_path / "v.npy"), sif.encode(texts))


def test_txt_line_endings_and_counts(tmp_path) -> None:
    p = tmp_path / "t.txt"
    p.write_bytes(b"a b\r\n\r\nc\nlast")
    src = TextSource(p)
    assert src.count() == 4
    assert [t for c, _ in src.chunks(3) for t in c] == ["a b", "", "c", "last"]
    offsets = [off for _, off in src.chunks(3)]
    assert offsets == [len(b"a b\r\n\r\nc\n"), len(b"a b\r\n\r\nc\nlast")]
    assert [t for c, _ in src.chunks(3, start_row=3, start_offset=offsets[0]) for t in c] == [
        "last"
    ]
    (tmp_path / "e.txt").write_bytes(b"")
    assert TextSource(tmp_path / "e.txt").count() == 0


def test_csv_and_tsv_quoting_jsonl_blank_lines(tmp_path) -> None:
    c = tmp_path / "t.csv"
    c.write_text('n,text\n1,"a, b\nsecond line"\n2,\n3,"say ""hi"""\n', encoding="utf-8")
    assert TextSource(c).count() == 3
    t = tmp_path / "t.tsv"
    t.write_text('text\tn\n"quoted" start\t1\n"a ""b"""\t2\nx "y"\t3\n', encoding="utf-8")
    # as pandas reads them; a quoted TSV value (leading quote) ends on its line
    expected = {c: ["a, b\nsecond line", "", 'say "hi"'], t: ["quoted start", 'a "b"', 'x "y"']}
    for path, texts in expected.items():
        assert [x for ch, _ in TextSource(path).chunks(2) for x in ch] == texts
    j = tmp_path / "t.jsonl"
    j.write_text('{"body": "x"}\n\n  \n{"body": "y"}\n', encoding="utf-8")
    assert TextSource(j, "body").count() == 2
    assert [x for ch, _ in TextSource(j, "body").chunks(1, start_row=1) for x in ch] == ["y"]


def test_parquet_skips_row_groups_on_resume(tmp_path) -> None:
    texts = [f"t{i}" for i in range(50)]
    p = write_source(tmp_path, "parquet", texts)
    src = TextSource(p)
    assert src.count() == 50
    for start in (0, 12, 13, 27, 49, 50):
        assert [t for c, _ in src.chunks(6, start_row=start) for t in c] == texts[start:]


@pytest.mark.parametrize(
    ("name", "content", "column", "message"),
    [
        ("t.xml", "x", None, "unsupported input extension '.xml'"),
        ("t.csv", "id,body\n1,x\n", None, "no column 'text'; columns are ['id', 'body']"),
        ("t.txt", "a\n", "text", "column applies to .csv/.tsv/.jsonl/.parquet"),
        ("t.csv", "", None, "empty file"),
    ],
)
def test_source_errors_at_open(tmp_path, name, content, column, message) -> None:
    p = tmp_path / name
    p.write_text(content, encoding="utf-8")
    with pytest.raises(
        (InvalidInputError, InvalidParameterError),
        match=message.replace("[", r"\[").replace("(", r"\("),
    ):
        TextSource(p, column)


def test_source_errors_while_reading_name_the_line(tmp_path) -> None:
    p = tmp_path / "t.txt"
    p.write_bytes(b"ok\nbad \xff byte\n")
    with pytest.raises(InvalidInputError, match=r"t.txt:2: not valid UTF-8"):
        list(TextSource(p).chunks(10))
    j = tmp_path / "t.jsonl"
    j.write_text('{"text": "a"}\n{"text": 3}\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"t.jsonl:2: 'text' must be a string, got int"):
        list(TextSource(j).chunks(10))
    j.write_text('{"text": "a"}\n{oops\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"t.jsonl:2: invalid JSON"):
        list(TextSource(j).chunks(10))
    j.write_text('{"body": "a"}\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r"t.jsonl:1: no key 'text'; keys are \['body'\]"):
        list(TextSource(j).chunks(10))
    q = tmp_path / "n.parquet"
    pq.write_table(pa.table({"text": ["a", None, "c"]}), q)
    with pytest.raises(InvalidInputError, match="row 1 of column 'text' is null"):
        list(TextSource(q).chunks(10))
    pq.write_table(pa.table({"text": [1, 2]}), q)
    with pytest.raises(InvalidInputError, match="holds int64, not strings"):
        TextSource(q)
    with pytest.raises(InvalidInputError, match="no such file"):
        TextSource(tmp_path / "missing.txt")


def test_argument_errors(tmp_path, glove) -> None:
    src = write_source(tmp_path, "txt", ["a"])
    for kwargs, message in [
        ({"chunk_size": 0}, "chunk_size must be an int >= 1, got 0"),
        ({"chunk_size": True}, "chunk_size must be an int >= 1, got True"),
        ({"batch_size": 0}, "batch_size must be an int >= 1"),
        ({"format": "csv"}, "format must be 'npy' or 'parquet', got 'csv'"),
        ({"resume": "yes"}, "resume must be True or False"),
    ]:
        with pytest.raises(InvalidParameterError, match=message):
            encode_corpus(glove, src, tmp_path / "v.npy", show_progress=False, **kwargs)
    with pytest.raises(InvalidParameterError, match="cannot tell the output format from 'v.csv'"):
        encode_corpus(glove, src, tmp_path / "v.csv", show_progress=False)
    with pytest.raises(InvalidParameterError, match="is the input file"):
        encode_corpus(glove, src, src, format="npy", show_progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src.txt"]  # nothing left behind


def test_nan_from_the_encoder_names_the_rows(tmp_path, glove) -> None:
    class Bad(Recording):
        def encode(self, texts, batch_size=64, show_progress=False):
            raise EncodingError("produced NaN/inf for 1 text(s), first at index 0")

    src = write_source(tmp_path, "txt", corpus(10))
    with pytest.raises(EncodingError, match=r"src.txt: texts 0..3"):
        encode_corpus(Bad(glove), src, tmp_path / "v.npy", chunk_size=4, show_progress=False)


def test_empty_source_gives_an_empty_array(tmp_path, glove) -> None:
    src = tmp_path / "e.txt"
    src.write_text("")
    encode_corpus(glove, src, tmp_path / "e.npy", show_progress=False)
    encode_corpus(glove, src, tmp_path / "e.parquet", show_progress=False)
    assert np.load(tmp_path / "e.npy").shape == (0, 50)
    assert pq.read_table(tmp_path / "e.parquet").num_rows == 0


# ------------------------------------------------------------------- resume
def _interrupted(
    folder: Path, encoder: Any, n: int, name: str, *, fail_after: int, chunk_size: int
) -> tuple[list[str], Path, Path]:
    """Encode ``corpus(n)`` from a text file to ``folder/name``, interrupted (by
    KeyboardInterrupt) in chunk ``fail_after + 1``; return the texts, source and output."""
    texts = corpus(n)
    src = write_source(folder, "txt", texts)
    out = folder / name
    with pytest.raises(KeyboardInterrupt):
        encode_corpus(
            Recording(encoder, fail_after=fail_after),
            src,
            out,
            chunk_size=chunk_size,
            show_progress=False,
        )
    return texts, src, out


@pytest.mark.parametrize("fmt", ["npy", "parquet"])
def test_interrupted_run_resumes_without_recomputing(tmp_path, glove, fmt) -> None:
    texts, src, out = _interrupted(tmp_path, glove, 50, f"v.{fmt}", fail_after=3, chunk_size=6)
    assert not out.exists()
    progress = json.loads(out.with_name(out.name + ".progress.json").read_text())
    assert progress["done"]["chunks"] == 3 and progress["done"]["rows"] == 18
    rec = Recording(glove)
    result = encode_corpus(rec, src, out, show_progress=False)  # chunk size from the record
    assert (result.chunks_resumed, result.chunks_encoded, result.chunks) == (3, 6, 9)
    assert [first for _, first in rec.calls] == texts[18::6]  # nothing committed redone
    assert read_vectors(out).tobytes() == _quiet(glove.encode, texts).tobytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([src.name, out.name])


def test_resume_with_another_encoder_input_or_chunk_size_is_refused(tmp_path, glove) -> None:
    texts, src, out = _interrupted(tmp_path, glove, 30, "v.npy", fail_after=2, chunk_size=5)
    other = embeddings.load("glove-6b-50d", pooling="max")
    with pytest.raises(InvalidParameterError, match=r"used encoder 'glove-6b-50d' .*mix vectors"):
        encode_corpus(other, src, out, show_progress=False)
    with pytest.raises(InvalidParameterError, match="chunk_size=5, this call chunk_size=7"):
        encode_corpus(glove, src, out, chunk_size=7, show_progress=False)
    with pytest.raises(InvalidParameterError, match="recorded one"):
        encode_corpus(glove, src, out, chunk_size=7, show_progress=False)
    time.sleep(0.01)
    with src.open("a", encoding="utf-8") as fh:
        fh.write("one more line\n")
    with pytest.raises(InvalidParameterError, match=r"the input changed .*size \d+ -> \d+"):
        encode_corpus(glove, src, out, show_progress=False)
    with pytest.raises(InvalidParameterError, match="--no-resume"):
        encode_corpus(glove, src, out, show_progress=False)
    result = encode_corpus(glove, src, out, resume=False, show_progress=False)
    assert (result.chunks_resumed, result.rows) == (0, 31)
    assert np.array_equal(np.load(out), _quiet(glove.encode, [*texts, "one more line"]))


def test_damaged_partial_starts_over_with_a_warning(tmp_path, glove) -> None:
    texts, src, out = _interrupted(tmp_path, glove, 20, "v.npy", fail_after=2, chunk_size=5)
    (tmp_path / "v.npy.partial").write_bytes(b"garbage")
    with pytest.warns(RuntimeWarning, match="does not match its progress file"):
        result = encode_corpus(glove, src, out, show_progress=False)
    assert result.chunks_resumed == 0
    assert np.array_equal(np.load(out), _quiet(glove.encode, texts))


def test_a_second_writer_is_refused(tmp_path, glove) -> None:
    src = write_source(tmp_path, "txt", ["a", "b"])
    with open(tmp_path / "v.npy.lock", "ab") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with pytest.raises(InvalidParameterError, match="another process is encoding"):
            encode_corpus(glove, src, tmp_path / "v.npy", show_progress=False)


VICTIM = textwrap.dedent(
    """
    import sys, time, warnings
    warnings.simplefilter("ignore")
    import embeddings
    from embeddings.streaming import encode_corpus

    src, out, log, chunk, delay = sys.argv[1:6]

    class Logged:
        def __init__(self, enc):
            self.enc = enc
            self.dim = enc.dim
            self.name = enc.name

        def fingerprint(self):
            return self.enc.fingerprint()

        def encode(self, texts, batch_size=64, show_progress=False):
            vectors = self.enc.encode(texts, batch_size=batch_size)
            with open(log, "a") as fh:
                fh.write(texts[0].split()[0] + "\\n")
            time.sleep(float(delay))
            return vectors

    encode_corpus(Logged(embeddings.load("glove-6b-50d")), src, out,
                  chunk_size=int(chunk), show_progress=False)
    """
)


def _kill_trial(tmp_path: Path, glove, fmt: str, rng: random.Random, trial: int) -> dict:
    """Start an encoding process, SIGKILL it at a random moment, resume, compare."""
    texts = corpus(400, empty=False)  # the first word of a text names its row
    chunk = 10
    folder = tmp_path / f"trial{trial}"
    folder.mkdir()
    src = write_source(folder, "txt", texts)
    out = folder / f"v.{fmt}"
    log = folder / "encoded.log"
    script = folder / "victim.py"
    script.write_text(VICTIM)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(src), str(out), str(log), str(chunk), "0.02"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while not (log.exists() and log.read_text()) and proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the encoding process did not start encoding within 120 s")
        time.sleep(0.005)
    assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
    time.sleep(rng.uniform(0.0, 1.0))  # 40 chunks of >= 20 ms each: mostly mid-run
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.stderr:
        proc.stderr.close()
    progress_file = out.with_name(out.name + ".progress.json")
    committed = json.loads(progress_file.read_text())["done"]["chunks"]
    started = {int(line[3:]) // chunk for line in log.read_text().split()}
    rec = Recording(glove)
    result = encode_corpus(rec, src, out, show_progress=False)
    redone = {int(first.split()[0][3:]) // chunk for _, first in rec.calls}
    assert redone == set(range(committed, 40))
    assert read_vectors(out).tobytes() == _quiet(glove.encode, texts).tobytes()
    return {
        "format": fmt,
        "committed": committed,
        "started_before_kill": len(started),
        "committed_recomputed": len(redone & set(range(committed))),
        "in_flight_redone": len(redone & started),
        "resumed": result.chunks_resumed,
    }


def test_kill9_once_then_resume(tmp_path, glove) -> None:
    row = _kill_trial(tmp_path, glove, "npy", random.Random(7), 0)
    assert row["committed_recomputed"] == 0 and row["in_flight_redone"] <= 1


@pytest.mark.slow
def test_kill9_at_random_moments(tmp_path, glove) -> None:
    """SIGKILLs at random moments until 8 landed mid-run (npy and parquet alternately).

    Every trial, also one whose kill came after the last chunk (while the output was
    being finished), must resume to the bit-identical output without recomputing a
    committed chunk.
    """
    rng = random.Random(20240611)
    rows: list[dict] = []
    while sum(0 < r["committed"] < 40 for r in rows) < 8 and len(rows) < 16:
        fmt = ["npy", "parquet"][len(rows) % 2]
        rows.append(_kill_trial(tmp_path, glove, fmt, rng, len(rows)))
    print("\nkill -9 trials (40 chunks of 10 texts each):")
    for i, row in enumerate(rows):
        print(f"  trial {i}: {row}")
    assert all(r["committed_recomputed"] == 0 for r in rows)
    assert all(r["in_flight_redone"] <= 1 for r in rows)
    assert sum(0 < r["committed"] < 40 for r in rows) >= 8  # killed mid-run


# ---------------------------------------------------------------------- CLI
def test_cli_chunk_size_parquet_and_resume(tmp_path, capsys) -> None:
    texts = corpus(25)
    src = write_source(tmp_path, "jsonl", texts)
    out = tmp_path / "v.parquet"
    args = ["encode", "--model", "glove-6b-50d", "--input", str(src), "--output", str(out)]
    assert _quiet(main, [*args, "--chunk-size", "10", "--no-progress"]) == 0
    assert "wrote" in capsys.readouterr().err
    expected = _quiet(embeddings.load("glove-6b-50d").encode, texts)
    assert np.array_equal(read_vectors(out), expected)
    assert pq.ParquetFile(out).metadata.num_row_groups == 3
    with pytest.raises(KeyboardInterrupt):  # leave a run to resume
        encode_corpus(
            Recording(embeddings.load("glove-6b-50d"), fail_after=1),
            src,
            out,
            chunk_size=10,
            show_progress=False,
        )
    assert _quiet(main, [*args, "--no-progress"]) == 0
    assert "resumed after 1 of 3 chunks" in capsys.readouterr().err
    assert _quiet(main, [*args, "--no-resume", "--chunk-size", "25"]) == 0
    err = capsys.readouterr().err  # not a terminal: one line per step, no bar frames
    assert "encode glove-6b-50d: 25 texts in " in err and "\r" not in err
    assert pq.ParquetFile(out).metadata.num_row_groups == 1
    assert main([*args[:-1], str(tmp_path / "v.txt")]) == 2
    assert "--output must end in .npy or .parquet" in capsys.readouterr().err


def test_lazy_export_and_doctests() -> None:
    assert embeddings.encode_corpus is encode_corpus
    from benchmarks.commands import encode as encode_command
    from embeddings import _text_sources, _vector_sinks

    for module in (streaming, _text_sources, _vector_sinks, encode_command):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0 and result.attempted > 0
