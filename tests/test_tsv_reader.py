"""One TSV/CSV reader for ``bench --task-file`` and ``encode``: the same quoting rule."""

from __future__ import annotations

import pytest

from benchmarks.tasks.own_rows import read_table
from embeddings._text_sources import TextSource, read_delimited
from embeddings.errors import InvalidInputError

ROWS = ['1\t"a quote that never closes', "0\tstocks fell", '1\ta "fine" film']


def _tsv(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("label\ttext\n" + "\n".join(ROWS) + "\n", encoding="utf-8")
    return path


def test_an_unbalanced_quote_in_a_tsv_names_its_line_in_both_paths(tmp_path):
    path = _tsv(tmp_path)  # pyarrow alone would join the three rows into one text
    reads = {
        "bench --task-file": lambda: read_table(path, None),
        "encode (count)": lambda: TextSource(path).count(),
        "encode (chunks)": lambda: list(TextSource(path).chunks(10)),
    }
    for read in reads.values():
        with pytest.raises(InvalidInputError, match=r"t\.tsv:2: a quoted value opens here and "):
            read()


def test_quoted_tsv_values_as_pandas_writes_them_read_alike(tmp_path):
    import pandas as pd

    texts = ['NA with "quotes", commas', '"leading', "plain", "tab-free 'single'"]
    path = tmp_path / "t.tsv"
    pd.DataFrame({"label": ["1", "0", "1", "0"], "text": texts}).to_csv(path, sep="\t", index=False)
    assert read_table(path, None)["text"].tolist() == texts
    assert [t for chunk, _ in TextSource(path).chunks(10) for t in chunk] == texts


def test_csv_quotes_follow_rfc_4180_and_an_unclosed_one_names_its_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('label,text\n1,"a cat, a dog"\n0,"said ""hi"""\n', encoding="utf-8")
    assert read_table(path, None)["text"].tolist() == ["a cat, a dog", 'said "hi"']
    path.write_text('label,text\n1,fine\n0,"never closed\n1,more\n', encoding="utf-8")
    for read in (lambda: read_table(path, None), lambda: TextSource(path).count()):
        with pytest.raises(InvalidInputError, match=r"t\.csv:3: a quoted value opens here"):
            read()


def test_every_column_is_a_string_and_empty_fields_stay_empty(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("label\ttext\n007\t\n1\tNA\n", encoding="utf-8")
    frame = read_delimited(path)
    assert frame.to_dict("list") == {"label": ["007", "1"], "text": ["", "NA"]}
    path.write_text("label\ttext\n1\ta\textra\n", encoding="utf-8")
    with pytest.raises(
        InvalidInputError, match=r"cannot read as \.tsv: .*Row #2: Expected 2 columns, got 3"
    ):
        read_delimited(path)
