"""benchmarks/perf/nltk_agreement.py runs end to end on the benchmark data, with a punkt
model written here (empty parameters: punkt then splits at every sentence-final period)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytest.importorskip("nltk")

from benchmarks.perf import nltk_agreement

pytestmark = pytest.mark.data


def _empty_punkt(root: Path) -> Path:
    lang = root / "tokenizers" / "punkt_tab" / "english"
    lang.mkdir(parents=True)
    for name in ("collocations.tab", "sent_starters.txt", "abbrev_types.txt", "ortho_context.tab"):
        (lang / name).write_text("", encoding="utf-8")
    return root


def _forget_punkt() -> None:
    from nltk import tokenize

    cached = getattr(tokenize, "_get_punkt_tokenizer", None)
    if hasattr(cached, "cache_clear"):
        cached.cache_clear()


def test_agreement_script_counts_every_sentence(tmp_path, monkeypatch, capsys, request):
    data = os.environ.get("TRANSFERKIT_DATA")
    if not data or not (Path(data) / "MR" / "all.tsv").is_file():
        pytest.skip("benchmark data not available")
    import nltk

    monkeypatch.setattr(nltk.data, "path", list(nltk.data.path))  # restored afterwards
    _forget_punkt()
    request.addfinalizer(_forget_punkt)  # no later test sees this punkt model
    out = tmp_path / "agreement.json"
    args = ["--punkt-data", str(_empty_punkt(tmp_path / "nltk")), "--data", data]
    assert nltk_agreement.main([*args, "--json", str(out)]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["sentences"] == 1000
    assert {m["task"] for m in result["mismatches"]} <= {t for t, _ in nltk_agreement.SOURCES}
    assert len(result["mismatches"]) == 1000 - result["sentences_equal"]
    assert 0.0 < result["token_agreement"] <= 1.0
    printed = capsys.readouterr().out
    assert f"sentences agreeing exactly: {result['sentences_equal']} / 1000" in printed
    # the same seed draws the same sentences
    again = nltk_agreement.sample_sentences(Path(data))
    assert again == nltk_agreement.sample_sentences(Path(data)) and len(set(again)) == 1000
