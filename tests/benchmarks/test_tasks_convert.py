"""Converters: small raw samples in the exact published formats, plus (with data) the
real raw files, whose converted output must hash to the data README's sha256."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from benchmarks.tasks import DataFormatError
from benchmarks.tasks._pins import FILES, RAW_FILES
from benchmarks.tasks.convert import (
    CONVERTERS,
    clean_text,
    convert_agnews,
    convert_folder,
    convert_mrpc,
    convert_polarity,
    convert_r8,
    convert_sick,
    convert_sst,
    convert_sst_phrases,
    convert_sts_release,
    convert_stsb,
    convert_trec,
    to_tsv_bytes,
)

DATA = os.environ.get("TRANSFERKIT_DATA")
needs_data = pytest.mark.skipif(not DATA, reason="TRANSFERKIT_DATA is not set")


# ---------------------------------------------------------------- clean_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  plain   text  ", "plain text"),
        ("tab\there", "tab here"),
        ("cr\rlf\ncrlf\r\nend", "cr lf crlf end"),
        ("dash \x97 here", "dash \u2014 here"),  # cp1252 0x97 read as latin-1
        ("quote \x93x\x94", "quote \u201cx\u201d"),
        ("undefined\x81byte", "undefined byte"),  # 0x81 has no cp1252 character
        ("\t\r\n", ""),
        ("non\u00a0breaking", "non\u00a0breaking"),  # only ASCII space runs collapse
        ("caf\u00e9 Cased", "caf\u00e9 Cased"),  # casing and accents kept
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_lines_split_on_lf_only() -> None:
    # U+0085 (NEL, a C1 control -> cp1252 ellipsis) and U+2028 must not split a line
    raw = {"p": "one\u0085two\u2028three\n".encode(), "n": b"four\r\n"}
    rows = convert_polarity(raw, pos="p", neg="n")
    assert rows == [("1", "one\u2026two\u2028three"), ("0", "four")]


def test_to_tsv_bytes_headers() -> None:
    assert to_tsv_bytes([("0", "a")]) == b"label\ttext\n0\ta\n"
    assert to_tsv_bytes([("0", "a", "b")]) == b"label\ttext_a\ttext_b\n0\ta\tb\n"
    assert to_tsv_bytes([], ("label", "text_a", "text_b")) == b"label\ttext_a\ttext_b\n"


# ---------------------------------------------------------------- single sentence


def test_polarity_order_and_empty_lines() -> None:
    # rt-polarity / custrev / mpqa / subj: one sentence per line, trailing space kept raw
    raw = {
        "custrev.pos": b"im a more happier person !  .\n\nit plays everything .\n",
        "custrev.neg": b"\nbad   remote .\n",
    }
    rows = convert_polarity(raw, pos="custrev.pos", neg="custrev.neg")
    assert rows == [
        ("1", "im a more happier person ! ."),
        ("1", "it plays everything ."),
        ("0", "bad remote ."),
    ]


def test_polarity_missing_raw_file() -> None:
    with pytest.raises(DataFormatError, match="mpqa.neg"):
        convert_polarity({"mpqa.pos": b"x\n"}, pos="mpqa.pos", neg="mpqa.neg")


def test_trec_latin1_coarse_and_fine() -> None:
    raw = b"DESC:manner How did serfdom develop ?\nHUM:ind Who is Jos\xe9  Mart\xed ?\n"
    coarse, fine = convert_trec(raw)
    assert coarse == [
        ("DESC", "How did serfdom develop ?"),
        ("HUM", "Who is Jos\u00e9 Mart\u00ed ?"),
    ]
    assert [r[0] for r in fine] == ["DESC:manner", "HUM:ind"]
    assert [r[1] for r in fine] == [r[1] for r in coarse]


def test_trec_bad_label() -> None:
    with pytest.raises(DataFormatError, match="line 1"):
        convert_trec(b"NOLABEL what ?\n")


def test_sst_sentence_files() -> None:
    raw = b"1 a stirring , funny film\n0 apparently reassembled .\n"
    assert convert_sst(raw) == [("1", "a stirring , funny film"), ("0", "apparently reassembled .")]
    with pytest.raises(DataFormatError):
        convert_sst(b"pos text without numeric label\n")


def test_sst_phrases_file() -> None:
    # SIF/SentEval sentiment-train: "phrase <TAB>label", phrase has a trailing space
    raw = b"hide new secretions from the parental units \t0\nloves its characters \t1\n"
    assert convert_sst_phrases(raw) == [
        ("0", "hide new secretions from the parental units"),
        ("1", "loves its characters"),
    ]
    with pytest.raises(DataFormatError):
        convert_sst_phrases(b"no tab here\n")


def test_agnews_quoted_csv() -> None:
    classes = b"World\nSports\nBusiness\nSci/Tech\n"
    raw = (
        b'"3","Fears for T N pension","Unions at Turner   Newall say ""no""."\n'
        b'"4","Race, On (SPACE.com)","A second\\team of  #36;10 rocketeers"\n'
    )
    assert convert_agnews(raw, classes) == [
        ("Business", 'Fears for T N pension Unions at Turner Newall say "no".'),
        ("Sci/Tech", "Race, On (SPACE.com) A second team of #36;10 rocketeers"),
    ]
    with pytest.raises(DataFormatError):
        convert_agnews(b'"x","bad"\n', classes)


def test_r8_header_dropped() -> None:
    raw = b"Class\tExample\nearn\tchampion products approves split\nacq\tterminal  sale\n"
    assert convert_r8(raw) == [
        ("earn", "champion products approves split"),
        ("acq", "terminal sale"),
    ]


# ---------------------------------------------------------------- pairs


MRPC_HEAD = "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\r\n".encode()


def test_mrpc_bom_crlf_and_quotes() -> None:
    raw = MRPC_HEAD + (
        b'1\t702876\t702977\tAmrozi accused his brother, "the witness".\tReferring to him.\r\n'
        b"0\t2108705\t2108831\tYucaipa owned Dominick's.\tYucaipa bought it.\r\n"
    )
    assert convert_mrpc(raw) == [
        ("1", 'Amrozi accused his brother, "the witness".', "Referring to him."),
        ("0", "Yucaipa owned Dominick's.", "Yucaipa bought it."),
    ]
    with pytest.raises(DataFormatError, match="5 TAB fields"):
        convert_mrpc(MRPC_HEAD + b"1\t2\tonly three\r\n")


SICK_HEAD = b"pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n"


@pytest.mark.parametrize(
    ("column", "label"), [("relatedness_score", "4.5"), ("entailment_judgment", "NEUTRAL")]
)
def test_sick_columns(column: str, label: str) -> None:
    raw = (
        SICK_HEAD + b"1\tA group of kids is playing\tA group of boys  is playing\t4.5\tNEUTRAL\r\n"
    )
    assert convert_sick(raw, column=column) == [
        (label, "A group of kids is playing", "A group of boys is playing")
    ]


def test_sick_missing_column() -> None:
    with pytest.raises(DataFormatError):
        convert_sick(b"pair_ID\ta\tb\n1\tx\ty\n", column="relatedness_score")


def test_stsb_columns_and_trailing_sources() -> None:
    raw = (
        b"main-captions\tMSRvid\t2012test\t0001\t5.000\tA plane is taking off.\t"
        b"An air plane is taking off.\n"
        b"main-news\theadlines\t2013\t0002\t0.600\tA.\tB.\tsrc1\tsrc2\n"
    )
    assert convert_stsb(raw) == [
        ("5.000", "A plane is taking off.", "An air plane is taking off."),
        ("0.600", "A.", "B."),
    ]
    with pytest.raises(DataFormatError):
        convert_stsb(b"too\tfew\tfields\n")


def test_sts_release_gold_alignment() -> None:
    inputs = b"The cat sat.\tA cat sat.\nNo gold here.\tNone.\nOne\tTwo\tsrc1\tsrc2\n"
    gold = b"4.400\n\n5\n"
    assert convert_sts_release(inputs, gold) == [
        ("4.400", "The cat sat.", "A cat sat."),
        ("5", "One", "Two"),
    ]
    with pytest.raises(DataFormatError, match="align"):
        convert_sts_release(inputs, b"1\n")


# ---------------------------------------------------------------- whole folders


def test_mrpc_folder_puts_val_back_into_train() -> None:
    train = MRPC_HEAD + b"1\t1\t2\tA.\tB.\r\n"
    val = b"Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\r\n0\t3\t4\tC.\tD.\r\n"
    test = MRPC_HEAD + b"1\t5\t6\tE.\tF.\r\n"
    out = convert_folder(
        "MRPC", {"msr-para-train.tsv": train, "msr-para-val.tsv": val, "msr-para-test.tsv": test}
    )
    assert out["train.tsv"] == b"label\ttext_a\ttext_b\n1\tA.\tB.\n0\tC.\tD.\n"
    assert out["test.tsv"] == b"label\ttext_a\ttext_b\n1\tE.\tF.\n"


def test_trec_folder_files() -> None:
    out = convert_folder(
        "TREC", {"TREC.train": b"NUM:date When ?\n", "TREC.test": b"LOC:city Where ?\n"}
    )
    assert sorted(out) == ["test.tsv", "test_fine.tsv", "train.tsv", "train_fine.tsv"]
    assert out["test_fine.tsv"] == b"label\ttext\nLOC:city\tWhere ?\n"


def test_sst2_folder_files() -> None:
    raw = {f"stsa.binary.{s}": b"1 good\n" for s in ("train", "dev", "test")}
    raw["sentiment-train"] = b"good \t1\n"
    assert sorted(convert_folder("SST2", raw)) == [
        "dev.tsv",
        "test.tsv",
        "train.tsv",
        "train_phrases.tsv",
    ]


def test_sts16_folder_uses_sts2016_prefix() -> None:
    subsets = ("answer-answer", "headlines", "plagiarism", "postediting", "question-question")
    raw = {}
    for s in subsets:
        raw[f"STS2016.input.{s}.txt"] = b"a\tb\tsrc\tsrc\n"
        raw[f"STS2016.gs.{s}.txt"] = b"3\n"
    out = convert_folder("STS16", raw)
    assert sorted(out) == sorted(f"test_{s}.tsv" for s in subsets)
    assert out["test_headlines.tsv"] == b"label\ttext_a\ttext_b\n3\ta\tb\n"


def test_unknown_folder() -> None:
    with pytest.raises(DataFormatError, match="no converter"):
        convert_folder("SNLI", {})


def test_every_pinned_folder_has_a_converter_and_raw_files() -> None:
    folders = {path.split("/")[0] for path in FILES}
    assert folders == set(CONVERTERS) == set(RAW_FILES)


# ---------------------------------------------------------------- real raw files


@pytest.mark.data
@needs_data
@pytest.mark.parametrize("folder", sorted(CONVERTERS))
def test_real_raw_files_reproduce_readme_sha256(folder: str) -> None:
    raw_dir = Path(DATA) / folder / "raw"
    if not raw_dir.is_dir():
        pytest.skip(f"{raw_dir} not present")
    raw = {p.name: p.read_bytes() for p in raw_dir.iterdir() if p.is_file()}
    # the raw copies are the bytes the download pins
    for item in RAW_FILES[folder]:
        assert hashlib.sha256(raw[item.name]).hexdigest() == item.sha256, item.name
    out = convert_folder(folder, raw)
    expected = {p.split("/", 1)[1] for p in FILES if p.startswith(folder + "/")}
    assert set(out) == expected
    for name, data in out.items():
        pinned = FILES[f"{folder}/{name}"]
        assert hashlib.sha256(data).hexdigest() == pinned.sha256, name
        assert len(data) == pinned.nbytes
        assert data.count(b"\n") - 1 == pinned.rows
