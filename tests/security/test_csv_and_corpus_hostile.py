"""Hostile CSV, result and corpus inputs: unclosed quotes, oversized result and reference
files, links in place of a lock or partial file, and FIFOs inside a checkpoint."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import embeddings
from embeddings.errors import InvalidInputError, InvalidParameterError
from embeddings.streaming import TextSource, encode_corpus
from tests.security.limits import assert_bounded, run_limited


# ----------------------------------------------------------------------- CSV
def test_csv_unclosed_quote_names_the_line(tmp_path: Path) -> None:
    cases = {
        'id,text\n1,"hello\n2,zzrest\n': 2,  # the last column: would swallow silently
        'text,id\n"hello,1\nzzrest,2\n': 2,  # another column
        'id,text\r\n1,ok\r\n2,"a\r\nb"\r\n3,"zzopen\r\n4,zzrest\r\n': 5,  # after a closed one
        'id,text\n1,"a ""quoted"" word\n': 2,  # doubled quotes do not close it
        '\ufeff"text"\n"x': 2,  # after a BOM
    }
    path = tmp_path / "t.csv"
    for content, line in cases.items():
        path.write_text(content, encoding="utf-8")
        for how in ("count", "chunks"):
            with pytest.raises(InvalidInputError) as info:
                src = TextSource(path)
                src.count() if how == "count" else list(src.chunks(5))
            assert str(info.value).startswith(f"{path}:{line}: a quoted value opens here")
            assert "zz" not in str(info.value)
    # closed quotes (with line breaks inside) and quotes inside unquoted values still read
    path.write_text('id,text\n1,"a\nb, c"\n2,5" screen\n3,"x ""y"""\n4,ab"c\n', encoding="utf-8")
    src = TextSource(path)
    assert src.count() == 4
    assert [t for c, _ in src.chunks(3) for t in c] == ["a\nb, c", '5" screen', 'x "y"', 'ab"c']


def test_csv_header_and_row_errors_never_quote_the_file(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('id,"text\nsecret-1,secret-2\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match=r":1: a quoted value opens here"):
        TextSource(path)
    path.write_text("id,text\n1,a,secret-value,b\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="Expected 2 columns, got 4$") as info:
        TextSource(path).count()
    assert "secret" not in str(info.value)
    path.write_bytes(b"x" * (2 << 20) + b",text\n1,2\n")
    with pytest.raises(InvalidInputError, match="header line is longer than 1 MiB"):
        TextSource(path)
    path.write_text("\x1b[2J" + ",".join(f"c{i}" for i in range(99)) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="the header has 99 columns") as info:
        TextSource(path)
    assert "\x1b" not in str(info.value)


def test_csv_probes_are_bounded(tmp_path: Path) -> None:
    big = tmp_path / "big.csv"
    with open(big, "wb") as fh:  # 16 MiB: one quote opens at line 2 and never closes
        fh.write(b'id,text\n1,"' + b'a,b ""c"" d\n' * (16 << 20 >> 4))
    header = tmp_path / "header.csv"
    with open(header, "wb") as fh:  # a 4 GiB header line in one unclosed quote (sparse)
        fh.write(b'"h')
        fh.truncate(4 << 30)
    result = run_limited(
        f"""
        from embeddings.streaming import TextSource
        for path in ({str(header)!r}, {str(big)!r}):
            try:
                TextSource(path).count()
            except InvalidInputError as err:
                assert ":2: a quoted value" in str(err) or "longer than 1 MiB" in str(err)
        raise InvalidInputError("both refused")
        """,
        imports="from embeddings.errors import InvalidInputError\nimport pyarrow.csv",
        seconds=10,
        memory_mb=512,
    )
    assert_bounded(result, seconds=10, allowed=("InvalidInputError",))
    assert result.message == "both refused"


def test_result_and_reference_files_are_bounded(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    with open(results / "huge.json", "wb") as fh:  # 8 GiB, sparse: refused by its size
        fh.truncate(8 << 30)
    (results / "deep.json").write_text("[" * 1_000_000)
    result = run_limited(
        f"""
        import warnings
        from benchmarks.report import load_results, load_reference
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            assert load_results({str(results)!r}) == []
        assert len(seen) == 2, [str(w.message) for w in seen]
        load_reference({str(results / "huge.json")!r})
        """,
        imports="import benchmarks.report",
        seconds=5,
        memory_mb=256,
    )
    assert_bounded(result, allowed=("ModelFormatError",))
    assert "too big" in result.message


def test_encode_corpus_checks_an_unclosed_quote_before_encoding(tmp_path: Path) -> None:
    class Counting:
        dim = 2
        calls = 0

        def encode(self, texts, **kwargs):
            Counting.calls += 1
            return np.zeros((len(texts), 2), np.float32)

    src = tmp_path / "t.csv"
    src.write_text("text\n" + "ok\n" * 50 + '"open\n' + "rest\n" * 5, encoding="utf-8")
    with pytest.raises(InvalidInputError, match=":52: a quoted value"):
        encode_corpus(Counting(), src, tmp_path / "v.npy", chunk_size=10, show_progress=False)
    assert Counting.calls == 0 and not (tmp_path / "v.npy").exists()


def test_encode_corpus_never_writes_through_a_linked_lock_or_partial(tmp_path: Path) -> None:
    from embeddings._vector_sinks import _side_paths
    from embeddings.streaming import encode_corpus

    glove = embeddings.load("glove-6b-50d")
    src = tmp_path / "t.txt"
    src.write_text("a cat\nstocks fell\n", encoding="utf-8")
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"KEEP")
    out = tmp_path / "v.npy"
    lock = _side_paths(out)[3]
    lock.symlink_to(outside)
    with pytest.raises(InvalidParameterError, match="never followed"):
        encode_corpus(glove, src, out, show_progress=False)
    assert outside.read_bytes() == b"KEEP"
    lock.unlink(missing_ok=True)  # the failed call removes the link itself, never its target
    # a partial output left as a link (by an "interrupted run") is refused on resume
    from embeddings._vector_sinks import _NpyPartial

    partial = _side_paths(out)[1]
    partial.symlink_to(outside)
    with pytest.raises(InvalidParameterError, match="not a regular file"):
        _NpyPartial(partial, 2, 50, create=False)
    assert outside.read_bytes() == b"KEEP"


def test_a_fifo_inside_a_checkpoint_is_skipped_not_waited_on(tmp_path: Path) -> None:
    from tests.security.limits import assert_bounded, run_limited

    root = tmp_path / "checkpoints"
    folder = root / "ckpt-000000001"
    folder.mkdir(parents=True)
    os.mkfifo(folder / "state.json")
    (folder / "tensors.safetensors").write_bytes(b"")
    (folder / "optim.pt").write_bytes(b"")
    result = run_limited(
        f"print(read_latest({str(root)!r}))",
        imports="from embeddings.training.checkpoint import read_latest",
    )
    assert_bounded(result, allowed=("None",))
    assert "None" in result.output
