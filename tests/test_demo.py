"""``make demo`` (benchmarks.demo): the quick suite table, resume, and the no-data path."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import demo
from embeddings.errors import UnknownEncoderError


def test_no_data_prints_one_line_and_the_cosine_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import benchmarks.tasks.download as download_mod

    monkeypatch.setenv("TRANSFERKIT_DATA", str(tmp_path / "empty"))
    calls: list[str] = []

    def offline(name: str, **kwargs: object) -> None:
        calls.append(name)
        raise OSError("network is unreachable")

    monkeypatch.setattr(download_mod, "download", offline)
    code = demo.main(["--encoders", "glove-6b-50d,tfidf", "--results-dir", str(tmp_path / "r")])
    out, err = capsys.readouterr()
    assert code == 0
    assert err.count("\n") == 1 and err.startswith("No benchmark data: ")
    assert "download failed too: OSError" in err
    assert len(calls) == 1  # one download attempt, then it gives up
    lines = out.strip().splitlines()
    assert lines[0] == "Cosine similarity of sentence pairs:"
    assert lines[1] == "| sentence A | sentence B | glove-6b-50d |"  # tfidf needs fitting
    assert len(lines) == 3 + len(demo.PAIRS)
    assert not (tmp_path / "r").exists()


def test_unknown_encoder_fails_fast() -> None:
    with pytest.raises(UnknownEncoderError, match="did you mean"):
        demo.main(["--encoders", "glove-6b-5od"])


def test_defaults_are_the_embedded_encoders_and_repo_local_folders() -> None:
    assert {"glove-6b-50d", "use-multilingual-v3", "minilm-l6", "tfidf"} <= set(
        demo.DEFAULT_ENCODERS
    )
    repo = Path(demo.__file__).resolve().parents[1]
    assert demo.RESULTS_DIR == repo / "results" / "demo"
    assert demo.CACHE_DIR == repo / ".transferkit_cache"


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_quick_suite_table_then_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import data_dir

    monkeypatch.setenv("TRANSFERKIT_DATA", str(data_dir()))  # the folder the marker found
    argv = [
        "--encoders",
        "glove-6b-50d",
        "--results-dir",
        str(tmp_path / "r"),
        "--cache-dir",
        str(tmp_path / "c"),
        "--no-progress",
    ]
    assert demo.main(argv) == 0
    out = capsys.readouterr().out
    for label in (
        "SST2 (quick)",
        "TREC (quick)",
        "SICK-E (quick)",
        "STS12 (quick)",
        "TRECClustering",
    ):
        assert f"| {label} |" in out
    assert "| **average (5 tasks)** |" in out
    assert "5 results computed, 0 reused" in out
    assert len(list((tmp_path / "r").glob("*.json"))) == 5
    assert demo.main(argv) == 0
    assert "0 results computed, 5 reused" in capsys.readouterr().out
