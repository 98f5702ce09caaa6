"""The saved state of a fine-tuned encoder: its checks and the rebuild from it.

The state holds every weight of the fine-tuned encoder (``encoder.{i}.*``) and of
the head (``head.*``), the fitted state of a base that has one (``base.*``), and in
its metadata the base encoder, the classes and the training history.

Example:
    >>> import numpy as np
    >>> classes_from_json(classes_to_json(np.array(["neg", "pos"])), "<U3").tolist()
    ['neg', 'pos']
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from embeddings.base import BaseEncoder, check_meta, check_state_arrays
from embeddings.errors import ModelFormatError
from embeddings.training.finetune_data import _LABEL_KINDS, check_encoder
from embeddings.training.finetune_model import classifier

__all__ = [
    "build_finetuned",
    "check_finetuned_state",
    "classes_from_json",
    "classes_to_json",
    "finetuned_state",
]

_OWNER = "saved fine-tuned encoder"


def classes_to_json(classes: NDArray[Any]) -> list[Any]:
    """The label values as a JSON list (byte strings as latin-1 text)."""
    if classes.dtype.kind == "S":
        return [c.decode("latin-1") for c in classes.tolist()]
    return classes.tolist()


def classes_from_json(values: Any, dtype: Any) -> NDArray[Any]:
    """The label array back from :func:`classes_to_json` and its dtype string.

    Raises:
        ModelFormatError: a dtype that is not a label kind, or values that do not fit it.
    """
    try:
        dt = np.dtype(str(dtype))
    except TypeError as err:
        raise ModelFormatError(f"classes_dtype {dtype!r:.40} is not a numpy dtype") from err
    if dt.kind not in _LABEL_KINDS or not isinstance(values, list):
        raise ModelFormatError(
            f"classes must be a list of int/bool/str labels with a dtype of kind "
            f"{list(_LABEL_KINDS)}, got {dtype!r:.40}"
        )
    if dt.kind == "S":
        values = [str(v).encode("latin-1") for v in values]
    try:
        return np.asarray(values, dtype=dt)
    except (TypeError, ValueError, OverflowError) as err:
        raise ModelFormatError(f"classes {values!r:.60} do not fit dtype {dt}") from err


def finetuned_state(
    enc: Any, model: Any, classes: NDArray[Any], history: list[Any], training: dict[str, Any]
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(arrays, metadata)`` of a fine-tuned encoder: the weights of ``model`` (the
    encoder modules and the head), the base encoder, its fitted state, the classes,
    the history and the training summary."""
    weights = {k: v.detach().to("cpu").numpy().copy() for k, v in model.state_dict().items()}
    meta: dict[str, Any] = {
        "base": {"__encoder__": enc._class_path(), "params": enc._json_params()},
        "classes": classes_to_json(classes),
        "classes_dtype": classes.dtype.str,
        "history": history,
        "history_scale": 100,  # val_accuracy in points
        "training": training,
    }
    if enc.__dict__.get("_preset_name"):
        meta["base_preset"] = str(enc._preset_name)
    if (enc.requires_fit or enc.trainable) and enc.is_fitted:  # e.g. a vocabulary
        base_arrays, base_meta = enc._get_state()
        weights.update({f"base.{k}": np.asarray(v) for k, v in base_arrays.items()})
        meta["base_state"] = dict(base_meta)
    return weights, meta


def check_finetuned_state(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Validate the arrays and metadata of a saved fine-tuned encoder.

    Raises:
        ModelFormatError: naming the malformed field or array.
    """
    check_meta(
        meta,
        {"base": "dict", "base_preset": "str", "base_state": "dict", "classes": "list",
         "classes_dtype": "str", "history": "list", "history_scale": "int",
         "training": "dict"},
        optional=("base_preset", "base_state", "history_scale"), owner=_OWNER,
    )  # fmt: skip
    check_meta(
        meta["training"],
        {"n_train": "int", "n_val": "int", "validation": "str", "stop_reason": "str",
         "finished": "bool", "steps": "int", "train_seconds": "number",
         "n_trainable_params": "int", "best_epoch": "int", "input": "str",
         "pair_targets": "list"},
        optional=("best_epoch", "input", "pair_targets"), owner=f"{_OWNER} (training)",
    )  # fmt: skip
    if meta["training"].get("input", "texts") not in ("texts", "pairs"):
        raise ModelFormatError(
            f"{_OWNER}: training 'input' must be 'texts' or 'pairs', got "
            f"{meta['training']['input']!r:.40}"
        )
    if not all(isinstance(h, dict) for h in meta["history"]):
        raise ModelFormatError(f"{_OWNER}: 'history' must be a list of epoch records")
    classes = classes_from_json(meta["classes"], meta["classes_dtype"])
    if classes.size < 2 or np.unique(classes).size != classes.size:
        raise ModelFormatError(
            f"{_OWNER}: 'classes' must hold at least two distinct labels, got "
            f"{meta['classes']!r:.80}"
        )
    targets = meta["training"].get("pair_targets")

    def is_target(t: Any) -> bool:
        return isinstance(t, (int, float)) and not isinstance(t, bool) and 0 <= t <= 1

    if targets is not None and (len(targets) != classes.size or not all(map(is_target, targets))):
        raise ModelFormatError(
            f"{_OWNER}: training 'pair_targets' must be one number in [0, 1] per class "
            f"({classes.size}), got {targets!r:.80}"
        )
    head = {k: v for k, v in arrays.items() if k.startswith("head.")}
    check_state_arrays(
        head,
        {"head.weight": ("float32", (classes.size, None)),
         "head.bias": ("float32", (classes.size,))},
        owner=_OWNER,
    )  # fmt: skip
    has_base = "base_state" in meta
    stray = sorted(
        k for k in arrays
        if not (k.startswith(("encoder.", "head.")) or (has_base and k.startswith("base.")))
    )  # fmt: skip
    if stray:
        raise ModelFormatError(
            f"{_OWNER}: unexpected array(s) {stray[:5]}; allowed: 'encoder.*', 'head.*'"
            + (", 'base.*'" if has_base else "")
        )


def _base_encoder(weights: Mapping[str, np.ndarray], meta: Mapping[str, Any], roots: Any) -> Any:
    """The base encoder named in ``meta``, with its fitted state restored."""
    from embeddings._saved import check_named_paths, from_json_param, restore_state

    enc = from_json_param(dict(meta["base"]), where="state.base")
    if not isinstance(enc, BaseEncoder):
        raise ModelFormatError(f"state.base must name an encoder, got {meta['base']!r:.80}")
    if roots:  # read from a saved folder: its files stay inside it
        check_named_paths(
            enc, Path(roots[0]), allow_paths=roots[1:], where=f"{roots[0]}: state.base"
        )
    if meta.get("base_preset"):
        enc._preset_name = meta["base_preset"]
    if "base_state" in meta:
        base_arrays = {k[5:]: v for k, v in weights.items() if k.startswith("base.")}
        restore_state(enc, base_arrays, dict(meta["base_state"]), where="state.base")
    check_encoder(enc)
    return enc


def build_finetuned(
    weights: Mapping[str, np.ndarray], meta: Mapping[str, Any], roots: Any = None
) -> tuple[Any, Any]:
    """``(fine-tuned encoder, head)`` rebuilt from a validated state.

    Args:
        weights: the state's arrays.
        meta: the state's metadata.
        roots: ``(folder, *allowed paths)`` of a saved folder the state was read from.

    Raises:
        ModelFormatError: weights that do not fit the base encoder.
    """
    import torch

    enc = _base_encoder(weights, meta, roots)
    modules = list(enc.trainable_layers()["modules"])
    weight = weights["head.weight"]
    with torch.random.fork_rng(devices=[]):
        head = torch.nn.Linear(int(weight.shape[1]), int(weight.shape[0]))
    model = classifier(modules, head, [])
    state = {
        k: torch.from_numpy(np.array(v))
        for k, v in weights.items()
        if k.startswith(("encoder.", "head."))
    }
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        raise ModelFormatError(
            f"saved fine-tuned weights do not fit {type(enc).__name__}: {err}"
        ) from err
    model.eval()
    after = getattr(enc, "after_training", None)
    if callable(after):
        after()
    wanted = int(enc.dim) * (4 if meta["training"].get("input") == "pairs" else 1)
    if wanted != int(weight.shape[1]):
        raise ModelFormatError(
            f"saved head takes {weight.shape[1]} features, the encoder gives {enc.dim}"
            f" ({wanted} for {meta['training'].get('input', 'texts')})"
        )
    return enc, head
