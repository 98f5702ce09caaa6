"""How often ``tokenizer="nltk"`` (NLTK's Treebank words over a punkt-free sentence
split, :func:`embeddings.tokenize.nltk_word_tokenize`) gives the same tokens as NLTK's
``word_tokenize`` with its punkt model, on 1,000 SentEval sentences.

The sentences are drawn with a fixed seed, 100 from each of ten SentEval tasks in
``$TRANSFERKIT_DATA`` (the first text column of the file named below).  punkt's data is
read from ``--punkt-data`` (a folder holding ``tokenizers/punkt_tab/english/``, as
``python -m nltk.downloader -d FOLDER punkt_tab`` writes it); transferkit itself never
needs it.

Prints the number of sentences whose token lists agree exactly, the token agreement
(matching tokens of a sequence alignment over all tokens of both sides), and every
sentence that differs.

Example:
    $ python -m benchmarks.perf.nltk_agreement --punkt-data ~/nltk_data
"""

from __future__ import annotations

import argparse
import csv
import difflib
import json
import os
import random
import sys
from pathlib import Path

from embeddings.tokenize import nltk_word_tokenize

#: (task, file under the data folder): ten SentEval tasks, raw and pre-tokenized text
SOURCES = (
    ("MR", "MR/all.tsv"),
    ("CR", "CR/all.tsv"),
    ("SUBJ", "SUBJ/all.tsv"),
    ("MPQA", "MPQA/all.tsv"),
    ("SST2", "SST2/dev.tsv"),
    ("TREC", "TREC/test.tsv"),
    ("MRPC", "MRPC/test.tsv"),
    ("SICK-E", "SICK-E/dev.tsv"),
    ("STS-B", "STS-B/dev.tsv"),
    ("STS14", "STS14/test_headlines.tsv"),
)


def sample_sentences(data: Path, per_task: int = 100, seed: int = 1111) -> list[tuple[str, str]]:
    """``(task, sentence)`` pairs: ``per_task`` distinct texts of each source, seeded."""
    rng = random.Random(seed)
    picked: list[tuple[str, str]] = []
    for task, rel in SOURCES:
        with open(data / rel, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
        column = "text" if "text" in rows[0] else "text_a"
        texts = sorted({row[column] for row in rows if row[column].strip()})
        picked += [(task, t) for t in rng.sample(texts, per_task)]
    return picked


def compare(pairs: list[tuple[str, str]]) -> dict[str, object]:
    """Agreement of :func:`nltk_word_tokenize` with NLTK's ``word_tokenize`` + punkt."""
    from nltk.tokenize import word_tokenize

    same = matched = total = 0
    mismatches = []
    for task, text in pairs:
        ours, theirs = nltk_word_tokenize(text), word_tokenize(text)
        blocks = difflib.SequenceMatcher(a=ours, b=theirs, autojunk=False).get_matching_blocks()
        matched += 2 * sum(b.size for b in blocks)
        total += len(ours) + len(theirs)
        if ours == theirs:
            same += 1
            continue
        only_ours = [t for t in ours if t not in theirs]
        only_theirs = [t for t in theirs if t not in ours]
        mismatches.append(
            {"task": task, "text": text, "transferkit": only_ours, "punkt": only_theirs}
        )
    return {
        "sentences": len(pairs),
        "sentences_equal": same,
        "token_agreement": matched / total if total else 1.0,
        "tokens": total,
        "mismatches": mismatches,
    }


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--punkt-data", required=True, help="folder with tokenizers/punkt_tab")
    parser.add_argument("--data", default=os.environ.get("TRANSFERKIT_DATA", "../shared/data"))
    parser.add_argument("--json", help="also write the full result here")
    args = parser.parse_args(argv)
    import nltk

    nltk.data.path[:] = [str(Path(args.punkt_data).resolve())]
    result = compare(sample_sentences(Path(args.data)))
    print(
        f"sentences agreeing exactly: {result['sentences_equal']} / {result['sentences']}\n"
        f"token agreement: {100 * float(result['token_agreement']):.2f}% "
        f"of {result['tokens']} tokens"
    )
    for m in result["mismatches"]:  # type: ignore[attr-defined]
        print(
            f"- [{m['task']}] {m['text']!r}\n    transferkit only: {m['transferkit']}"
            f"  punkt only: {m['punkt']}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
