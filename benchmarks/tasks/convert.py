"""Pure converters from the raw public files to the normalised TSV layout.

Every converter takes the raw files of one data folder as ``{file name: bytes}``
and returns ``{normalised file name: rows}``, where a row is a tuple of strings
(``(label, text)`` or ``(label, text_a, text_b)``).  Converters do no I/O, so they
are tested on small raw samples; :func:`to_tsv_bytes` serialises their output
exactly as the files in the data README (UTF-8, ``\\n`` line ends, one header
line, TAB-separated, no quoting).

Text normalisation (:func:`clean_text`) follows the data README: C1 control
characters (cp1252 bytes that were read as latin-1) become their cp1252
character, or a space where cp1252 has none; TAB, CR and LF inside a field become
a space; runs of spaces are collapsed; leading and trailing whitespace is stripped.
Rows whose text is empty after cleaning are dropped.

Example:
    >>> rows = convert_polarity({"a.pos": b"good  film\\n", "a.neg": b"bad\\n\\n"},
    ...                         pos="a.pos", neg="a.neg")
    >>> rows
    [('1', 'good film'), ('0', 'bad')]
    >>> to_tsv_bytes(rows)
    b'label\\ttext\\n1\\tgood film\\n0\\tbad\\n'
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from benchmarks.tasks._errors import DataFormatError

__all__ = [
    "CONVERTERS",
    "Converter",
    "Row",
    "clean_text",
    "convert_agnews",
    "convert_folder",
    "convert_mrpc",
    "convert_polarity",
    "convert_r8",
    "convert_sick",
    "convert_sst",
    "convert_sts_release",
    "convert_stsb",
    "convert_trec",
    "to_tsv_bytes",
]

Row = tuple[str, ...]
"""One output row: ``(label, text)`` or ``(label, text_a, text_b)``."""

Converter = Callable[[Mapping[str, bytes]], dict[str, list[Row]]]
"""Raw files of one folder (name -> bytes) to normalised files (name -> rows)."""


def _c1_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x80, 0xA0):
        try:
            table[code] = bytes([code]).decode("cp1252")
        except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D are unassigned
            table[code] = " "
    table[ord("\t")] = " "
    table[ord("\r")] = " "
    table[ord("\n")] = " "
    return table


_TRANSLATE = _c1_table()
_SPACES = re.compile(" {2,}")


def clean_text(text: str) -> str:
    """Normalise one text field as the data README describes.

    Args:
        text: A raw field, already decoded.

    Returns:
        The field with C1 controls mapped to cp1252, TAB/CR/LF turned into spaces,
        runs of spaces collapsed and the ends stripped.

    Example:
        >>> clean_text("  a\\tb \\x97  c\\r\\n")
        'a b — c'
    """
    return _SPACES.sub(" ", text.translate(_TRANSLATE)).strip()


def _lines(data: bytes, encoding: str = "utf-8") -> list[str]:
    """Split raw bytes on ``\\n`` only (never on U+0085/U+2028), dropping a BOM."""
    text = data.decode(encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _get(raw: Mapping[str, bytes], name: str) -> bytes:
    try:
        return raw[name]
    except KeyError:
        raise DataFormatError(
            f"raw file {name!r} is missing; got {sorted(raw)}; "
            "download the data folder again with `transferkit data download TASK`"
        ) from None


def to_tsv_bytes(rows: Iterable[Row], header: Sequence[str] | None = None) -> bytes:
    """Serialise rows to the normalised TSV format.

    Args:
        rows: Rows of equal width (2 or 3 fields); no field may hold TAB or LF.
        header: Column names; by default ``label, text`` or ``label, text_a, text_b``
            from the width of the first row.

    Returns:
        UTF-8 bytes with a header line and ``\\n`` line ends.

    Example:
        >>> to_tsv_bytes([("1", "a", "b")])
        b'label\\ttext_a\\ttext_b\\n1\\ta\\tb\\n'
    """
    rows = list(rows)
    if header is None:
        width = len(rows[0]) if rows else 2
        header = ("label", "text") if width == 2 else ("label", "text_a", "text_b")
    out = ["\t".join(header)]
    out.extend("\t".join(row) for row in rows)
    return ("\n".join(out) + "\n").encode("utf-8")


# ---------------------------------------------------------------- single sentence


def _labelled_lines(
    lines: Sequence[str],
    sep: str,
    *,
    where: str,
    layout: str,
    label_last: bool = False,
    digits: bool = False,
    start: int = 1,
) -> list[Row]:
    """``(label, cleaned text)`` per line, the label split off at the first ``sep``
    (at the last one with ``label_last``).

    Args:
        lines: the lines.
        sep: the separator between label and text.
        where: the corpus, for messages.
        layout: the expected layout of a line, for messages.
        label_last: the label follows the text.
        digits: the label must be digits (then the separator may be missing).
        start: the number of the first line.

    Raises:
        DataFormatError: a malformed line, named by its number and the expected layout.
    """
    rows: list[Row] = []
    for number, line in enumerate(lines, start):
        if label_last:
            body, found, label = line.rpartition(sep)
        else:
            label, found, body = line.partition(sep)
        if not (label.isdigit() if digits else found):
            raise DataFormatError(f"{where} line {number}: expected '{layout}'")
        text = clean_text(body)
        if text:
            rows.append((label.strip(), text))
    return rows


def convert_polarity(
    raw: Mapping[str, bytes], *, pos: str, neg: str, pos_label: str = "1", neg_label: str = "0"
) -> list[Row]:
    """One sentence per line in two files; the ``pos`` file comes first (SentEval order).

    Used for MR (rt-polarity), CR (custrev), SUBJ (plot/quote) and MPQA.

    Example:
        >>> convert_polarity({"p": b"yes\\n", "n": b"no\\n"}, pos="p", neg="n")
        [('1', 'yes'), ('0', 'no')]
    """
    rows: list[Row] = []
    for name, label in ((pos, pos_label), (neg, neg_label)):
        for line in _lines(_get(raw, name)):
            text = clean_text(line)
            if text:
                rows.append((label, text))
    return rows


def convert_trec(data: bytes) -> tuple[list[Row], list[Row]]:
    """TREC question classification, latin-1 lines ``COARSE:fine question``.

    Returns:
        ``(coarse_rows, fine_rows)`` with the same questions in the same order.

    Example:
        >>> convert_trec(b"NUM:date When was it ?\\n")
        ([('NUM', 'When was it ?')], [('NUM:date', 'When was it ?')])
    """
    coarse: list[Row] = []
    fine: list[Row] = []
    for number, line in enumerate(_lines(data, "latin-1"), 1):
        label, _, question = line.partition(" ")
        if ":" not in label:
            raise DataFormatError(f"TREC line {number}: expected 'COARSE:fine text', got {line!r}")
        text = clean_text(question)
        if text:
            coarse.append((label.split(":", 1)[0], text))
            fine.append((label, text))
    return coarse, fine


def convert_sst(data: bytes) -> list[Row]:
    """harvardnlp ``stsa.*`` files: ``LABEL text`` (label = first token).

    Example:
        >>> convert_sst(b"1 a fine film\\n0 dull\\n")
        [('1', 'a fine film'), ('0', 'dull')]
    """
    return _labelled_lines(_lines(data), " ", where="SST", layout="LABEL text", digits=True)


def convert_sst_phrases(data: bytes) -> list[Row]:
    """SentEval/SIF ``sentiment-train``: ``text<TAB>label`` per line.

    Example:
        >>> convert_sst_phrases(b"a fine film \\t1\\n")
        [('1', 'a fine film')]
    """
    return _labelled_lines(
        _lines(data), "\t", where="SST phrase", layout="text<TAB>label", label_last=True
    )


def convert_agnews(data: bytes, classes: bytes) -> list[Row]:
    """AG News csv (``"class","title","description"``, quoted) to ``(class name, text)``.

    The text is the title and description joined by a space; the corpus' backslash
    line escapes become spaces.

    Example:
        >>> convert_agnews(b'"2","Win","Team\\\\wins."\\n', b"World\\nSports\\n")
        [('Sports', 'Win Team wins.')]
    """
    names = [line.strip() for line in _lines(classes) if line.strip()]
    rows: list[Row] = []
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    for number, record in enumerate(reader, 1):
        if not record:
            continue
        if len(record) < 3 or not record[0].isdigit():
            raise DataFormatError(f"AG News row {number}: expected 3 quoted fields, got {record}")
        joined = " ".join(record[1:]).replace("\\", " ")
        text = clean_text(joined)
        if text:
            rows.append((names[int(record[0]) - 1], text))
    return rows


def convert_r8(data: bytes) -> list[Row]:
    """Cachopo R8 ``label<TAB>text`` with a ``Class<TAB>Example`` header line.

    Example:
        >>> convert_r8(b"Class\\tExample\\nearn\\tprofit up\\n")
        [('earn', 'profit up')]
    """
    lines = _lines(data)
    if lines and lines[0].split("\t") == ["Class", "Example"]:
        lines = lines[1:]
    return _labelled_lines(lines, "\t", where="R8", layout="label<TAB>text", start=2)


# ---------------------------------------------------------------- sentence pairs


def _pair(label: str, a: str, b: str) -> Row | None:
    text_a, text_b = clean_text(a), clean_text(b)
    if not text_a or not text_b:
        return None
    return (label, text_a, text_b)


def convert_mrpc(data: bytes) -> list[Row]:
    """MSR paraphrase TSV (``Quality, #1 ID, #2 ID, #1 String, #2 String``; BOM, CRLF).

    Example:
        >>> head = b"Quality\\t#1 ID\\t#2 ID\\t#1 String\\t#2 String\\r\\n"
        >>> convert_mrpc(head + b"1\\t7\\t8\\tA.\\tB.\\r\\n")
        [('1', 'A.', 'B.')]
    """
    rows: list[Row] = []
    lines = _lines(data)
    for number, line in enumerate(lines[1:], 2):
        fields = line.rstrip("\r").split("\t")
        if len(fields) != 5:
            raise DataFormatError(f"MRPC line {number}: expected 5 TAB fields, got {len(fields)}")
        row = _pair(fields[0].strip(), fields[3], fields[4])
        if row:
            rows.append(row)
    return rows


def convert_sick(data: bytes, *, column: str) -> list[Row]:
    """SICK (``pair_ID, sentence_A, sentence_B, relatedness_score, entailment_judgment``).

    Args:
        data: One SICK file.
        column: ``"relatedness_score"`` (SICK-R) or ``"entailment_judgment"`` (SICK-E).

    Example:
        >>> head = b"pair_ID\\tsentence_A\\tsentence_B\\trelatedness_score\\tentailment_judgment\\n"
        >>> convert_sick(head + b"1\\tA\\tB\\t4.5\\tNEUTRAL\\n", column="relatedness_score")
        [('4.5', 'A', 'B')]
    """
    lines = _lines(data)
    header = lines[0].rstrip("\r").split("\t")
    try:
        ia, ib, il = header.index("sentence_A"), header.index("sentence_B"), header.index(column)
    except ValueError:
        raise DataFormatError(
            f"SICK header {header} lacks sentence_A/sentence_B/{column}"
        ) from None
    rows: list[Row] = []
    for line in lines[1:]:
        fields = line.rstrip("\r").split("\t")
        row = _pair(fields[il].strip(), fields[ia], fields[ib])
        if row:
            rows.append(row)
    return rows


def convert_stsb(data: bytes) -> list[Row]:
    """STS Benchmark csv: TAB fields ``genre, file, year, id, score, s1, s2[, sources]``.

    Example:
        >>> convert_stsb(b"main-captions\\tMSRvid\\t2012test\\t0001\\t5.000\\tA.\\tB.\\n")
        [('5.000', 'A.', 'B.')]
    """
    rows: list[Row] = []
    for number, line in enumerate(_lines(data), 1):
        fields = line.split("\t")
        if len(fields) < 7:
            raise DataFormatError(f"STS-B line {number}: expected >= 7 TAB fields")
        row = _pair(fields[4].strip(), fields[5], fields[6])
        if row:
            rows.append(row)
    return rows


def convert_sts_release(inputs: bytes, gold: bytes) -> list[Row]:
    """SemEval STS ``STS.input.*`` (``s1<TAB>s2[<TAB>...]``) plus ``STS.gs.*`` (one score per line).

    Pairs without a gold score (empty gold line) are dropped, as in SentEval.

    Example:
        >>> convert_sts_release(b"A.\\tB.\\nC.\\tD.\\n", b"4.2\\n\\n")
        [('4.2', 'A.', 'B.')]
    """
    pairs = _lines(inputs)
    scores = _lines(gold)
    if len(pairs) != len(scores):
        raise DataFormatError(
            f"STS input has {len(pairs)} lines but gold has {len(scores)}; the two must align"
        )
    rows: list[Row] = []
    for pair, score in zip(pairs, scores, strict=True):
        score = score.strip()
        if not score:
            continue
        fields = pair.split("\t")
        row = _pair(score, fields[0], fields[1])
        if row:
            rows.append(row)
    return rows


# ---------------------------------------------------------------- whole folders


def _sst_folder(prefix: str) -> Converter:
    def convert(raw: Mapping[str, bytes]) -> dict[str, list[Row]]:
        out = {
            f"{split}.tsv": convert_sst(_get(raw, f"{prefix}.{split}"))
            for split in ("train", "dev", "test")
        }
        if prefix == "stsa.binary":
            out["train_phrases.tsv"] = convert_sst_phrases(_get(raw, "sentiment-train"))
        return out

    return convert


def _trec_folder(raw: Mapping[str, bytes]) -> dict[str, list[Row]]:
    out: dict[str, list[Row]] = {}
    for split, name in (("train", "TREC.train"), ("test", "TREC.test")):
        out[f"{split}.tsv"], out[f"{split}_fine.tsv"] = convert_trec(_get(raw, name))
    return out


def _sick_folder(column: str) -> Converter:
    def convert(raw: Mapping[str, bytes]) -> dict[str, list[Row]]:
        return {
            "train.tsv": convert_sick(_get(raw, "SICK_train.txt"), column=column),
            "dev.tsv": convert_sick(_get(raw, "SICK_trial.txt"), column=column),
            "test.tsv": convert_sick(_get(raw, "SICK_test_annotated.txt"), column=column),
        }

    return convert


def _sts_folder(prefix: str, subsets: Sequence[str]) -> Converter:
    def convert(raw: Mapping[str, bytes]) -> dict[str, list[Row]]:
        return {
            f"test_{subset}.tsv": convert_sts_release(
                _get(raw, f"{prefix}.input.{subset}.txt"), _get(raw, f"{prefix}.gs.{subset}.txt")
            )
            for subset in subsets
        }

    return convert


STS_SUBSETS: dict[str, tuple[str, ...]] = {
    "STS12": ("MSRpar", "MSRvid", "SMTeuroparl", "surprise.OnWN", "surprise.SMTnews"),
    "STS13": ("FNWN", "headlines", "OnWN"),
    "STS14": ("deft-forum", "deft-news", "headlines", "images", "OnWN", "tweet-news"),
    "STS15": ("answers-forums", "answers-students", "belief", "headlines", "images"),
    "STS16": ("answer-answer", "headlines", "plagiarism", "postediting", "question-question"),
}
"""SemEval subsets per STS year, in SentEval's order."""

CONVERTERS: dict[str, Converter] = {
    "MR": lambda raw: {
        "all.tsv": convert_polarity(raw, pos="rt-polarity.pos", neg="rt-polarity.neg")
    },
    "CR": lambda raw: {"all.tsv": convert_polarity(raw, pos="custrev.pos", neg="custrev.neg")},
    "SUBJ": lambda raw: {
        "all.tsv": convert_polarity(raw, pos="plot.tok.gt9.5000", neg="quote.tok.gt9.5000")
    },
    "MPQA": lambda raw: {"all.tsv": convert_polarity(raw, pos="mpqa.pos", neg="mpqa.neg")},
    "TREC": _trec_folder,
    "SST2": _sst_folder("stsa.binary"),
    "SST5": _sst_folder("stsa.fine"),
    "MRPC": lambda raw: {
        "train.tsv": convert_mrpc(_get(raw, "msr-para-train.tsv"))
        + convert_mrpc(_get(raw, "msr-para-val.tsv")),
        "test.tsv": convert_mrpc(_get(raw, "msr-para-test.tsv")),
    },
    "SICK-R": _sick_folder("relatedness_score"),
    "SICK-E": _sick_folder("entailment_judgment"),
    "STS-B": lambda raw: {
        f"{split}.tsv": convert_stsb(_get(raw, f"sts-{split}.csv"))
        for split in ("train", "dev", "test")
    },
    **{
        year: _sts_folder("STS2016" if year == "STS16" else "STS", subsets)
        for year, subsets in STS_SUBSETS.items()
    },
    "AGNews": lambda raw: {
        "test.tsv": convert_agnews(_get(raw, "test.csv"), _get(raw, "classes.txt"))
    },
    "R8": lambda raw: {
        "train.tsv": convert_r8(_get(raw, "r8-train-all-terms.txt")),
        "test.tsv": convert_r8(_get(raw, "r8-test-all-terms.txt")),
    },
}
"""Converter per data folder (the folder name under the data directory)."""


def convert_folder(folder: str, raw: Mapping[str, bytes]) -> dict[str, bytes]:
    """Convert the raw files of one data folder to the bytes of its normalised files.

    Args:
        folder: A data folder name, e.g. ``"TREC"`` or ``"STS12"``.
        raw: Its raw files, ``{file name: bytes}``.

    Returns:
        ``{normalised file name: TSV bytes}``.

    Example:
        >>> out = convert_folder("CR", {"custrev.pos": b"ok\\n", "custrev.neg": b"\\n"})
        >>> out["all.tsv"]
        b'label\\ttext\\n1\\tok\\n'
    """
    try:
        converter = CONVERTERS[folder]
    except KeyError:
        raise DataFormatError(
            f"no converter for data folder {folder!r}; known: {sorted(CONVERTERS)}"
        ) from None
    header_pairs = folder in {"MRPC", "SICK-R", "SICK-E", "STS-B", *STS_SUBSETS}
    header = ("label", "text_a", "text_b") if header_pairs else ("label", "text")
    return {name: to_tsv_bytes(rows, header) for name, rows in converter(raw).items()}
