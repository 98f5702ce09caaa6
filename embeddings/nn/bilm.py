"""The ELMo biLM (Peters et al., NAACL 2018) in PyTorch, parameterised as the published files.

"Deep contextualized word representations": a character CNN builds a
context-independent representation of every token, and two stacked LSTMs with
projections read the sentence forwards and backwards.  The layers of a token are

* layer 0: the token representation, repeated for both directions
  (``[x, x]``, ``2 * projection_dim``);
* layer ``l >= 1``: ``[h_forward_l, h_backward_l]``.

The computation, for one sentence framed by the begin- and end-of-sentence
tokens ``<S> w_1 .. w_n </S>``:

1. **characters**: every token becomes ``max_characters_per_token`` ids:
   begin-of-word, its UTF-8 bytes (at most ``max - 2``), end-of-word, then padding;
   ``<S>`` and ``</S>`` are begin-of-word, the character 256 or 257, end-of-word.
   Every id is shifted by one (:func:`char_ids`), so 0 is free for padding tokens.
2. **char CNN**: the ids are embedded (row 0 all zeros, then ``char_embed``), each
   filter ``W_cnn_i`` (TensorFlow layout ``(1, width, char_dim, count)``) is
   correlated over the characters with its bias, max-pooled over positions, then
   passed through the activation; the results are concatenated.
3. **highway** (in order ``k = 0, 1, ...``): ``g = sigmoid(x W_carry + b_carry)``,
   ``x = g * relu(x W_transform + b_transform) + (1 - g) * x``.
4. **projection**: ``x = x W_proj + b_proj`` (the token representation).
5. **LSTM with projection**, per direction and layer, from a zero state, with
   ``[i, j, f, o] = [input, h] W_0 + B``:
   ``c = sigmoid(f + 1) * c + sigmoid(i) * tanh(j)``, ``c = clip(c, cell_clip)``,
   ``h = clip((sigmoid(o) * tanh(c)) W_P_0, proj_clip)``; layers after the first add
   their input to ``h`` (``use_skip_connections``), and the next layer reads the
   result.  The backward direction reads ``</S> w_n .. w_1 <S>``.

This is the inference computation of the published TensorFlow biLM (``bilm-tf``)
and of AllenNLP's ``_ElmoBiLm``, with one deliberate difference: those carry the
LSTM states from one batch into the next, so a sentence's vectors depend on what
was encoded before it; here every sentence starts from the zero state (the
published computation with its state reset before each batch).

Parameters are stored under their hdf5 dataset names, with TensorFlow's shapes and
gate order, so reading and writing ``weights.hdf5`` copies arrays unchanged and a
save/load round trip is bit-identical.

Example:
    >>> char_ids(["a"], 6).tolist()
    [[259, 98, 260, 261, 261, 261]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from embeddings.formats.elmo import ElmoOptions, lstm_prefix, weight_layout

__all__ = [
    "BOS_TOKEN",
    "EOS_TOKEN",
    "BiLM",
    "ScalarMix",
    "boundary_char_ids",
    "char_ids",
]

BOS_TOKEN = "<S>"
EOS_TOKEN = "</S>"
_BOS_CHAR, _EOS_CHAR, _BOW_CHAR, _EOW_CHAR, _PAD_CHAR = 256, 257, 258, 259, 260


def _one_token(word_bytes: bytes, max_chars: int) -> list[int]:
    ids = [_PAD_CHAR] * max_chars
    ids[0] = _BOW_CHAR
    body = word_bytes[: max_chars - 2]
    ids[1 : 1 + len(body)] = list(body)
    ids[1 + len(body)] = _EOW_CHAR
    return [c + 1 for c in ids]


def boundary_char_ids(max_chars: int = 50) -> np.ndarray:
    """The character ids of ``<S>`` and ``</S>`` (two rows, shifted by one).

    Example:
        >>> boundary_char_ids(5).tolist()
        [[259, 257, 260, 261, 261], [259, 258, 260, 261, 261]]
    """
    rows = []
    for special in (_BOS_CHAR, _EOS_CHAR):
        ids = [_PAD_CHAR] * max_chars
        ids[0], ids[1], ids[2] = _BOW_CHAR, special, _EOW_CHAR
        rows.append([c + 1 for c in ids])
    return np.asarray(rows, dtype=np.int64)


def char_ids(tokens: Sequence[str], max_chars: int = 50) -> np.ndarray:
    """``(len(tokens), max_chars)`` int64 character ids of words (shifted by one).

    A word's UTF-8 bytes are cut to ``max_chars - 2``; characters that UTF-8 cannot
    encode are dropped.  The strings ``"<S>"`` and ``"</S>"`` get the sentence
    boundary ids, as in the published character mapper.

    Example:
        >>> char_ids(["é"], 5).tolist()
        [[259, 196, 170, 260, 261]]
    """
    bos, eos = boundary_char_ids(max_chars)
    out = np.empty((len(tokens), max_chars), dtype=np.int64)
    for i, tok in enumerate(tokens):
        if tok == BOS_TOKEN:
            out[i] = bos
        elif tok == EOS_TOKEN:
            out[i] = eos
        else:
            out[i] = _one_token(tok.encode("utf-8", "ignore"), max_chars)
    return out


def _reverse_index(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """``idx[b, t]``: the position read at step ``t`` of the reversed sentence ``b``."""
    t = torch.arange(steps).unsqueeze(0)
    n = lengths.to(torch.long).unsqueeze(1)
    return torch.where(t < n, n - 1 - t, t)


class BiLM(nn.Module):
    """The biLM of an :class:`ElmoOptions`; ``weights[name]`` are the hdf5 datasets.

    ``forward(chars, index, lengths)`` takes the character ids of the distinct
    tokens of a batch ``(U, max_chars)``, the row of every position of every
    sentence ``(B, T)`` (``<S>``/``</S>`` included) and the sentence lengths
    ``(B,)`` (with both boundary tokens), and returns the
    ``n_layers + 1`` layers, each ``(B, T, 2 * projection_dim)``.  Positions at or
    after a sentence's length hold unspecified values.
    """

    def __init__(self, options: ElmoOptions) -> None:
        super().__init__()
        self.options = options
        self.weights = torch.nn.ParameterDict(
            {
                k: torch.nn.Parameter(torch.zeros(shape))
                for k, shape in weight_layout(options).items()
            }
        )

    def w(self, name: str) -> Any:
        return self.weights[name]

    # ------------------------------------------------------------ tokens
    def token_embedding(self, chars: Any) -> Any:
        """``(N, max_chars)`` character ids -> ``(N, projection_dim)``."""
        o = self.options
        table = self.w("char_embed")
        table = torch.cat([table.new_zeros(1, table.shape[1]), table], dim=0)
        emb = torch.nn.functional.embedding(chars, table).transpose(1, 2)  # (N, d, C)
        act = torch.relu if o.activation == "relu" else torch.tanh
        parts = []
        for i in range(len(o.filters)):
            kernel = self.w(f"CNN/W_cnn_{i}")[0].permute(2, 1, 0)  # (count, d, width)
            conv = torch.nn.functional.conv1d(emb, kernel, self.w(f"CNN/b_cnn_{i}"))
            parts.append(act(conv.max(dim=2).values))
        x = torch.cat(parts, dim=1)
        for k in range(o.n_highway):
            gate = torch.sigmoid(
                x @ self.w(f"CNN_high_{k}/W_carry") + self.w(f"CNN_high_{k}/b_carry")
            )
            transform = torch.relu(
                x @ self.w(f"CNN_high_{k}/W_transform") + self.w(f"CNN_high_{k}/b_transform")
            )
            x = gate * transform + (1.0 - gate) * x
        return x @ self.w("CNN_proj/W_proj") + self.w("CNN_proj/b_proj")

    # -------------------------------------------------------------- LSTMs
    def _layer(self, layer: int, xs: Any) -> Any:
        """Both directions of one layer: ``xs`` ``(2, B, T, P)`` -> ``(2, B, T, P)``."""
        o = self.options
        p, c = o.projection_dim, o.cell_dim
        w0 = torch.stack([self.w(f"{lstm_prefix(d, layer)}/W_0") for d in (0, 1)])
        bias = torch.stack([self.w(f"{lstm_prefix(d, layer)}/B") for d in (0, 1)])
        wp = torch.stack([self.w(f"{lstm_prefix(d, layer)}/W_P_0") for d in (0, 1)])
        w_in, w_h = w0[:, :p], w0[:, p:]
        n_dir, batch, steps, _ = xs.shape
        pre = torch.matmul(xs.reshape(n_dir, batch * steps, p), w_in)
        pre = (pre + bias.unsqueeze(1)).reshape(n_dir, batch, steps, 4 * c)
        h = xs.new_zeros(n_dir, batch, p)
        cell = xs.new_zeros(n_dir, batch, c)
        outs = []
        for t in range(steps):
            gates = pre[:, :, t] + torch.bmm(h, w_h)
            i, j, f, og = gates.split(c, dim=2)
            cell = torch.sigmoid(f + 1.0) * cell + torch.sigmoid(i) * torch.tanh(j)
            if o.cell_clip is not None:
                cell = cell.clamp(-o.cell_clip, o.cell_clip)
            h = torch.bmm(torch.sigmoid(og) * torch.tanh(cell), wp)
            if o.proj_clip is not None:
                h = h.clamp(-o.proj_clip, o.proj_clip)
            outs.append(h)
        out = torch.stack(outs, dim=2)
        if layer > 0 and o.use_skip_connections:
            out = out + xs
        return out

    def forward(self, chars: Any, index: Any, lengths: Any) -> list[Any]:
        tokens = self.token_embedding(chars)[index]  # (B, T, P)
        batch, steps, p = tokens.shape
        rev = _reverse_index(lengths, steps).to(tokens.device)
        gather = rev.unsqueeze(-1).expand(batch, steps, p)
        xs = torch.stack([tokens, tokens.gather(1, gather)])
        layers = [torch.cat([tokens, tokens], dim=-1)]
        for layer in range(self.options.n_layers):
            xs = self._layer(layer, xs)
            backward = xs[1].gather(1, gather)
            layers.append(torch.cat([xs[0], backward], dim=-1))
        return layers

    def directions(self, chars: Any, index: Any, lengths: Any) -> tuple[Any, Any]:
        """Top-layer outputs of each direction, each in its reading order.

        Returns ``(forward (B, T, P), backward (B, T, P))`` where the backward
        tensor's step ``t`` is the reversed sentence's step (training uses it).
        """
        tokens = self.token_embedding(chars)[index]
        batch, steps, p = tokens.shape
        rev = _reverse_index(lengths, steps).to(tokens.device)
        gather = rev.unsqueeze(-1).expand(batch, steps, p)
        xs = torch.stack([tokens, tokens.gather(1, gather)])
        for layer in range(self.options.n_layers):
            xs = self._layer(layer, xs)
        return xs[0], xs[1]


class ScalarMix(nn.Module):
    """``gamma * sum_k softmax(w)_k * layer_k`` over the biLM layers (learned weights)."""

    def __init__(self, n_layers: int) -> None:
        super().__init__()
        self.scalars = torch.nn.Parameter(torch.zeros(n_layers))
        self.gamma = torch.nn.Parameter(torch.ones(1))

    def forward(self, layers: Sequence[Any]) -> Any:
        weights = torch.softmax(self.scalars, dim=0)
        return self.gamma * sum(w * x for w, x in zip(weights, layers, strict=True))
