"""The ordered-corpus reader, the vocabulary and the on-disk token ids."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.errors import InvalidParameterError, ModelFormatError
from embeddings.training.corpus import OrderedCorpus, TokenIds
from embeddings.training.vocab import Vocabulary


def test_document_boundaries_in_lists_and_files(tmp_path):
    texts = ["a b", "b c", "", "  ", "c d", "...", "", "e"]
    # "..." is a sentence (three '.' tokens); blank strings are boundaries
    assert [d for d, _ in OrderedCorpus(texts).sentences()] == [0, 0, 1, 1, 2]
    # files: blank lines separate documents and every file starts a new one
    (tmp_path / "a.txt").write_text("a b\nb c\n\nc d\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text("d e\ne f\n", encoding="utf-8")
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "skip.txt").write_text("never read\n", encoding="utf-8")
    assert [d for d, _ in OrderedCorpus(tmp_path).sentences()] == [0, 0, 1, 2, 2]


def test_windows_stop_at_document_boundaries():
    corpus = OrderedCorpus(["a", "b", "c", "", "d"])
    got = [(p and p[0], c[0], n and n[0]) for p, c, n in corpus.windows()]
    assert got == [(None, "a", "b"), ("a", "b", "c"), ("b", "c", None), (None, "d", None)]
    assert list(OrderedCorpus([]).windows()) == []


def test_vocabulary_min_count_cap_and_order():
    sents = [["a", "a", "b", "c", "c", "c", "x"], ["b", "d"]]
    v = Vocabulary.build(sents, min_count=2, max_size=2)
    # counts c 3, a 2, b 2 (ties broken by the word), d 1, x 1
    assert v.words == ["c", "a"] and v.counts.tolist() == [3, 2]
    assert v.ids(["c", "a", "b", "<pad>"]).tolist() == [2, 3, 1, 0]
    assert len(v) == 4
    again = Vocabulary.from_arrays(v.to_arrays(), v.to_meta())
    assert again.words == v.words and again.counts.tolist() == [3, 2]
    with pytest.raises(InvalidParameterError, match="min_count"):
        Vocabulary.build(sents, min_count=0)
    with pytest.raises(ModelFormatError, match="expected 3"):
        Vocabulary.from_arrays(v.to_arrays(), {"size": 3, "specials": ["<pad>", "<unk>"]})


def test_token_ids_in_memory_and_on_disk_agree(tmp_path):
    corpus = OrderedCorpus(["a b c d e f g", "b", "", "c zz"])
    vocab = Vocabulary.build(corpus)
    mem = TokenIds.build(corpus, vocab, max_length=3)
    disk = TokenIds.build(corpus, vocab, max_length=3, folder=tmp_path / "ids")
    assert isinstance(disk.tokens, np.memmap)
    for ids in (mem, disk):
        assert ids.n_sentences == 3
        assert ids.docs.tolist() == [0, 0, 1]
        assert ids.offsets.tolist() == [0, 3, 4, 6]  # truncated to max_length
    np.testing.assert_array_equal(np.asarray(mem.tokens), np.asarray(disk.tokens))
    # a second build reuses the finished arrays; an unfinished folder is rebuilt
    assert TokenIds.open(tmp_path / "ids") is not None
    (tmp_path / "ids" / "complete").unlink()
    assert TokenIds.open(tmp_path / "ids") is None
