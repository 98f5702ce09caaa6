"""The sentence-transformers / Hugging Face model folder, read and checked before use.

A folder in the sentence-transformers layout has a ``modules.json`` that lists a
``Transformer`` module (the Hugging Face model files, usually at the folder root), a
``Pooling`` module (``1_Pooling/config.json``), optional ``Dense`` modules and an
optional ``Normalize`` module; ``sentence_bert_config.json`` gives ``max_seq_length``
and ``do_lower_case``.  A plain Hugging Face model folder (``config.json`` + weights +
tokenizer, no ``modules.json``) is read as a lone ``Transformer`` module.

:func:`_read_layout` checks the folder before any weights: every path that
``modules.json`` (or a shard index) names, and every link, must stay inside the model
folder (a Hugging Face hub snapshot may also link into its ``blobs``); only regular
files are read; the module list, the Pooling, Dense and ``sentence_bert_config.json``
fields and the sizes in ``config.json`` are checked against their schema and bounds.
:func:`_load_model` and :func:`_load_dense` then load the weights: the declared model
must fit its weight files, and no tensor it declares may be missing (none is made at
random).  Weights load as safetensors or as weights-only PyTorch checkpoints (never
unpickled otherwise).  No code named by the folder runs (``trust_remote_code=False``).

Example:
    >>> import json, os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> with open(os.path.join(d, "config.json"), "w") as fh:
    ...     _ = fh.write(json.dumps({"max_position_embeddings": 128}))
    >>> layout = _read_layout(Path(d))
    >>> layout.modes, layout.positions
    (['mean'], 128)
"""

from __future__ import annotations

import json
import os
import pickle
import re
import stat
import zipfile
from pathlib import Path
from typing import Any, NamedTuple

from embeddings._checks import is_int
from embeddings._deps import require
from embeddings.errors import ModelFormatError, TransferkitError
from embeddings.formats._files import check_regular_file, open_regular_file

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
        names = [given] if isinstance(given, str) else given
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ModelFormatError(
                f"{where}: field 'pooling_mode' must be a mode name or a non-empty list of names"
            )
        bad = [n for n in names if n not in _ST_MODE_NAMES]
        if bad:
            raise ModelFormatError(
                f"{where}: pooling mode(s) {bad!r:.100} not supported; supported: "
                f"{sorted(_ST_MODE_NAMES)}"
            )
        return [_ST_MODE_NAMES[n] for n in names]
    for key in (*_ST_POOLING_KEYS, *_UNSUPPORTED_POOLING_KEYS):
        if not isinstance(cfg.get(key, False), bool):
            raise ModelFormatError(f"{where}: field {key!r} must be true or false")
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


#: bounds of what a model folder may declare, checked before anything is allocated
_MAX_JSON_BYTES = 8 << 20
_MAX_MODULES = 64
_MAX_FEATURES = 1 << 16
#: config.json fields (when present) and their largest allowed value; layer counts are
#: kept low because even an empty layer costs time to build
_CONFIG_LIMITS = {
    **dict.fromkeys(
        ("num_hidden_layers", "num_layers", "n_layer", "n_layers", "encoder_layers"), 256
    ),
    **dict.fromkeys(("num_attention_heads", "n_head", "n_heads", "num_heads"), 4096),
    **dict.fromkeys(("hidden_size", "d_model", "n_embd", "dim"), 1 << 17),
    **dict.fromkeys(("intermediate_size", "d_ff", "n_inner", "hidden_dim"), 1 << 20),
    "vocab_size": 1 << 24,
    "max_position_embeddings": 1 << 20,
    "type_vocab_size": 1 << 16,
}
#: model types whose position ids start after the padding index (``pad_token_id + 1``)
_OFFSET_POSITIONS = frozenset(
    "roberta xlm-roberta xlm-roberta-xl camembert mpnet longformer data2vec-text ibert "
    "roberta-prelayernorm xmod markuplm luke esm".split()
)
#: weights may declare at most this many float32 bytes beyond twice their files' size
#: (float16 files double when loaded); more would be tensors created at random
_WEIGHT_SLACK = 64 << 20


def _roots(folder: Path) -> tuple[Path, ...]:
    """Where the files of ``folder`` may live: inside it, and for a Hugging Face hub
    snapshot (``models--*/snapshots/<rev>``) also in the hub's ``blobs`` folder."""
    root = folder.resolve()
    if root.parent.name == "snapshots" and root.parent.parent.name.startswith("models--"):
        return root, root.parent.parent / "blobs"
    return (root,)


def _inside(path: Path, roots: tuple[Path, ...], what: str) -> Path:
    """``path`` resolved, refused unless it stays inside the model folder."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as err:  # a symbolic link loop
        raise ModelFormatError(f"{what}: cannot be resolved ({type(err).__name__})") from err
    if not any(resolved.is_relative_to(r) for r in roots):
        raise ModelFormatError(
            f"{what} leads outside the model folder {roots[0]} (by '..', an absolute path or "
            "a symbolic link); only files inside the folder are read"
        )
    return resolved


def _regular_size(path: Path, what: str) -> int:
    """The size of ``path``, refused unless it is a regular file (checked before opening)."""
    return check_regular_file(path, what=what).stat().st_size


def _scan(folder: Path, roots: tuple[Path, ...]) -> None:
    """Refuse entries of ``folder`` that the model loaders could open but must not: links
    out of the model folder, FIFOs, devices and sockets."""
    try:
        entries = list(os.scandir(folder))
    except OSError as err:
        raise ModelFormatError(f"{folder}: cannot list the folder ({err.strerror})") from err
    for entry in entries:
        path = Path(entry.path)
        if entry.is_symlink():
            _inside(path, roots, f"{path} (a symbolic link)")
        try:
            mode = os.stat(path).st_mode
        except OSError:
            continue  # a dangling link inside the folder names nothing to read
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise ModelFormatError(
                f"{path}: not a regular file or folder; FIFOs, devices and sockets are "
                "never read from a model folder"
            )


def _read_json(path: Path, roots: tuple[Path, ...], what: str = "configuration file") -> Any:
    """The JSON value of a small configuration file (inside ``roots``, a regular file)."""
    _inside(path, roots, str(path))
    size = _regular_size(path, what)
    if size > _MAX_JSON_BYTES:
        raise ModelFormatError(
            f"{path}: {size} bytes; a configuration file may have at most {_MAX_JSON_BYTES}"
        )
    with open_regular_file(path, what=what) as fh:  # not blocking on a swapped-in FIFO
        raw = fh.read(_MAX_JSON_BYTES + 1)
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ModelFormatError(f"{path}: not UTF-8 text (byte {err.start})") from err
    except json.JSONDecodeError as err:
        raise ModelFormatError(f"{path}: invalid JSON at line {err.lineno}: {err.msg}") from err
    except RecursionError:
        raise ModelFormatError(f"{path}: JSON nested too deeply") from None


def _object(data: Any, path: Path) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ModelFormatError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def _int_field(cfg: dict[str, Any], key: str, where: Path, lo: int, hi: int) -> int | None:
    """``cfg[key]`` as an int in ``[lo, hi]``; ``None`` when absent or null."""
    value = cfg.get(key)
    if value is None:
        return None
    if not is_int(value) or not lo <= value <= hi:
        shown = repr(value) if is_int(value) else f"a {type(value).__name__}"
        raise ModelFormatError(
            f"{where}: field {key!r} must be an int in [{lo}, {hi}], got {shown}"
        )
    return int(value)


def _check_hf_config(cfg: dict[str, Any], path: Path) -> int | None:
    """Check the sizes of a Hugging Face config.json; return the longest input in tokens
    its position embeddings allow (``None`` when it declares no limit)."""
    for key, hi in _CONFIG_LIMITS.items():
        _int_field(cfg, key, path, 0 if key == "type_vocab_size" else 1, hi)
    positions = _int_field(cfg, "max_position_embeddings", path, 1, 1 << 20)
    if positions is None:
        return None
    offset = 0
    if cfg.get("model_type") in _OFFSET_POSITIONS:
        offset = (_int_field(cfg, "pad_token_id", path, 0, positions) or 0) + 1
    if positions - offset < 1:
        raise ModelFormatError(
            f"{path}: field 'max_position_embeddings' ({positions}) leaves no position "
            f"after the padding offset {offset}"
        )
    return positions - offset


def _check_dense_config(cfg: Any, path: Path) -> dict[str, Any]:
    """The checked fields of a Dense module's config.json."""
    cfg = _object(cfg, path)
    found = {
        "in": _int_field(cfg, "in_features", path, 1, _MAX_FEATURES),
        "out": _int_field(cfg, "out_features", path, 1, _MAX_FEATURES),
    }
    for key, value in found.items():
        if value is None:
            raise ModelFormatError(f"{path}: field '{key}_features' is missing")
    bias = cfg.get("bias", True)
    if not isinstance(bias, bool):
        raise ModelFormatError(f"{path}: field 'bias' must be true or false")
    act = cfg.get("activation_function", "")
    if not isinstance(act, str) or act not in _ACTIVATIONS:
        shown = f"{act!r:.80}" if isinstance(act, str) else f"a {type(act).__name__}"
        raise ModelFormatError(
            f"{path}: field 'activation_function' is {shown}, not supported; supported: "
            f"{sorted(_ACTIVATIONS)}"
        )
    return {**found, "bias": bias, "activation": _ACTIVATIONS[act]}


class _Layout(NamedTuple):
    """What a model folder declares, each part checked."""

    tdir: Path
    modes: list[str]
    dense: list[tuple[Path, dict[str, Any]]]
    normalize: bool
    sbert: dict[str, Any]
    config: dict[str, Any]
    positions: int | None


_ORDER = re.compile(r"TP?D*N?\Z")
#: fields of a modules.json entry (``idx`` is optional)
_ENTRY_FIELDS = (("type", str, "a string"), ("path", str, "a string"), ("idx", int, "an int"))


def _read_layout(folder: Path) -> _Layout:
    """Parse and check modules.json and the files it names (all inside ``folder``)."""
    roots = _roots(folder)
    _scan(folder, roots)
    modules_file = folder / "modules.json"
    tdir, modes, dense, normalize = folder, ["mean"], [], False
    if os.path.lexists(modules_file):
        modules = _read_json(modules_file, roots, "module list")
        if not isinstance(modules, list) or not 1 <= len(modules) <= _MAX_MODULES:
            raise ModelFormatError(
                f"{modules_file}: expected a JSON list of 1 to {_MAX_MODULES} modules"
            )
        kinds = ""
        for i, entry in enumerate(modules):
            where = f"{modules_file}: module {i}"
            if not isinstance(entry, dict):
                raise ModelFormatError(f"{where} must be a JSON object")
            for key, kind, noun in _ENTRY_FIELDS:
                if (key != "idx" or key in entry) and (
                    not isinstance(entry.get(key), kind) or isinstance(entry.get(key), bool)
                ):
                    raise ModelFormatError(f"{where}: field {key!r} must be {noun}")
            cls_name = entry["type"].rsplit(".", 1)[-1]
            if cls_name not in ("Transformer", "Pooling", "Dense", "Normalize"):
                raise ModelFormatError(
                    f"{where}: module type {entry['type']!r:.100} is not supported (supported: "
                    "Transformer, Pooling, Dense, Normalize)"
                )
            kinds += cls_name[0]
            sub = _inside(folder / entry["path"], roots, f"{where}: field 'path'")
            if cls_name in ("Transformer", "Dense") and not sub.is_dir():
                raise ModelFormatError(f"{where}: field 'path' names no folder")
            if cls_name in ("Transformer", "Dense") and sub != roots[0]:
                _scan(sub, roots)
            if cls_name == "Transformer":
                tdir = sub
            elif cls_name == "Pooling":
                path = sub / "config.json"
                modes = _pooling_modes(_object(_read_json(path, roots), path), path)
            elif cls_name == "Dense":
                path = sub / "config.json"
                dense.append((sub, _check_dense_config(_read_json(path, roots), path)))
            else:
                normalize = True
        if not _ORDER.match(kinds):
            raise ModelFormatError(
                f"{modules_file}: modules must be one Transformer, then at most one Pooling, "
                "any Dense and at most one Normalize, in this order"
            )
    sbert_path = tdir / "sentence_bert_config.json"
    sbert: dict[str, Any] = {}
    if os.path.lexists(sbert_path):
        sbert = _object(_read_json(sbert_path, roots), sbert_path)
        _int_field(sbert, "max_seq_length", sbert_path, 1, 1 << 20)
        if not isinstance(sbert.get("do_lower_case", False), bool):
            raise ModelFormatError(f"{sbert_path}: field 'do_lower_case' must be true or false")
    config_path = tdir / "config.json"
    config = _object(_read_json(config_path, roots, "model configuration"), config_path)
    positions = _check_hf_config(config, config_path)
    for name in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        index_path = tdir / name
        if os.path.lexists(index_path):
            index = _object(_read_json(index_path, roots), index_path)
            shards = index.get("weight_map")
            if not isinstance(shards, dict) or not all(isinstance(v, str) for v in shards.values()):
                raise ModelFormatError(f"{index_path}: field 'weight_map' must map names to files")
            for shard in set(shards.values()):
                _inside(tdir / shard, roots, f"{index_path}: a file of field 'weight_map'")
    return _Layout(tdir, modes, dense, normalize, sbert, config, positions)


def _short(err: BaseException) -> str:
    return f"{type(err).__name__}: {str(err).splitlines()[0][:200] if str(err) else ''}"


def _pickle_refused(where: Path, err: pickle.UnpicklingError) -> ModelFormatError:
    """The error for a checkpoint the weights-only unpickler refused (never retried unsafely)."""
    if "weights only" not in str(err).lower():
        return ModelFormatError(f"{where}: not a readable checkpoint (corrupt pickle data)")
    return ModelFormatError(
        f"{where}: holds pickled objects other than tensors; loading them could run code, so "
        "only weights-only checkpoints load. Convert the weights to model.safetensors"
    )


def _check_checkpoint(path: Path) -> None:
    """Refuse a ``.bin`` checkpoint whose zip entries are compressed: ``torch.save`` stores
    tensors uncompressed, and a compressed entry could expand to any size when loaded."""
    _regular_size(path, "weights file")
    try:
        if not zipfile.is_zipfile(path):
            return  # the legacy format, read by the weights-only unpickler
        with zipfile.ZipFile(path) as archive:
            packed = [i for i in archive.infolist() if i.compress_type != zipfile.ZIP_STORED]
    except (OSError, zipfile.BadZipFile, ValueError, EOFError) as err:
        raise ModelFormatError(f"{path}: not a readable checkpoint ({_short(err)})") from err
    if packed:
        raise ModelFormatError(
            f"{path}: {len(packed)} entr(y/ies) are compressed; PyTorch checkpoints store "
            "tensors uncompressed, so this is refused (it could expand without bound)"
        )


def _dense_state(sub: Path) -> dict[str, Any]:
    """The tensors of a Dense module (model.safetensors, else weights-only pytorch_model.bin)."""
    torch = require("torch", extra="all")
    st_path, bin_path = sub / "model.safetensors", sub / "pytorch_model.bin"
    if os.path.lexists(st_path):
        _regular_size(st_path, "weights file")
        from safetensors.torch import load_file

        try:
            return load_file(str(st_path))
        except Exception as err:  # safetensors raises its own SafetensorError
            raise ModelFormatError(f"{st_path}: truncated or corrupt ({_short(err)})") from err
    if not os.path.lexists(bin_path):
        raise ModelFormatError(f"{sub}: Dense module has no model.safetensors (or .bin)")
    _check_checkpoint(bin_path)
    try:
        state = torch.load(bin_path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise _pickle_refused(bin_path, err) from err
    except Exception as err:
        raise ModelFormatError(f"{bin_path}: not a readable checkpoint ({_short(err)})") from err
    if not isinstance(state, dict):
        raise ModelFormatError(f"{bin_path}: expected a mapping of tensor names to tensors")
    return state


def _load_dense(sub: Path, spec: dict[str, Any], width: int, device: str) -> Any:
    """A Dense module as ``Sequential(Linear, activation)``, its tensors checked first.

    ``width`` is the size of the vectors it receives (``in_features`` must match).
    """
    torch = require("torch", extra="all")
    where = sub / "config.json"
    if spec["in"] != width:
        raise ModelFormatError(
            f"{where}: field 'in_features' is {spec['in']}, but the module before it gives "
            f"vectors of {width} values"
        )
    state = {str(k).removeprefix("linear."): v for k, v in _dense_state(sub).items()}
    shapes = {"weight": (spec["out"], spec["in"])}
    if spec["bias"]:
        shapes["bias"] = (spec["out"],)
    if set(state) != set(shapes):
        raise ModelFormatError(
            f"{sub}: the weights must hold exactly {sorted('linear.' + k for k in shapes)}; "
            f"they hold {len(state)} tensor(s) {sorted(state)!r:.120}"
        )
    for name, shape in shapes.items():
        tensor = state[name]
        if not (isinstance(tensor, torch.Tensor) and tensor.is_floating_point()):
            raise ModelFormatError(f"{sub}: tensor 'linear.{name}' must be a float tensor")
        if tuple(tensor.shape) != shape:
            raise ModelFormatError(
                f"{sub}: tensor 'linear.{name}' has shape {tuple(tensor.shape)}, expected {shape} "
                f"(from {where})"
            )
        if not bool(torch.isfinite(tensor).all()):
            raise ModelFormatError(f"{sub}: tensor 'linear.{name}' holds NaN or infinite values")
    layer = torch.nn.Linear(spec["in"], spec["out"], bias=spec["bias"], device="meta")
    layer.load_state_dict({k: v.float() for k, v in state.items()}, assign=True)
    activation = {
        "tanh": torch.nn.Tanh(),
        "identity": torch.nn.Identity(),
        "relu": torch.nn.ReLU(),
        "gelu": torch.nn.GELU(),
    }[spec["activation"]]
    return torch.nn.Sequential(layer, activation).to(device).eval()


def _load_model(tdir: Path, **kwargs: Any) -> Any:
    """The Hugging Face model of ``tdir``: its declared size is checked against its weight
    files first, and every tensor it declares must be in them (none is made at random)."""
    torch = require("torch", extra="all")
    transformers = require("transformers", extra="all")
    try:
        config = transformers.AutoConfig.from_pretrained(str(tdir), trust_remote_code=False)
        with torch.device("meta"):  # shapes only, nothing allocated
            skeleton = transformers.AutoModel.from_config(config, trust_remote_code=False)
    except TransferkitError:
        raise
    except Exception as err:  # transformers raises many types for a bad config
        raise ModelFormatError(
            f"{tdir}/config.json: cannot build the model ({_short(err)})"
        ) from err
    declared = 4 * sum(p.numel() for p in skeleton.parameters())
    files = sorted(p for p in tdir.iterdir() if p.name.endswith((".safetensors", ".bin")))
    held = sum(_regular_size(p, "weights file") for p in files)
    for path in files:
        if path.suffix == ".bin":
            _check_checkpoint(path)
    if declared > 2 * held + _WEIGHT_SLACK:
        raise ModelFormatError(
            f"{tdir}/config.json declares {declared >> 20} MiB of float32 weights, but the "
            f"weight files hold {held >> 20} MiB; the missing tensors would be made at random"
        )
    try:
        model, info = transformers.AutoModel.from_pretrained(
            str(tdir), trust_remote_code=False, output_loading_info=True, **kwargs
        )
    except TransferkitError:
        raise
    except pickle.UnpicklingError as err:
        raise _pickle_refused(tdir / "pytorch_model.bin", err) from err
    except Exception as err:
        if "SafetensorError" in type(err).__name__:
            where = f"{tdir / 'model.safetensors'}: truncated or corrupt"
        else:
            where = f"{tdir}: cannot load the model"
        raise ModelFormatError(f"{where} ({_short(err)})") from err
    missing = sorted(k for k in info.get("missing_keys", ()) if not k.startswith("pooler."))
    if missing:
        raise ModelFormatError(
            f"{tdir}: the weight files lack {len(missing)} tensor(s) of the model that "
            f"config.json declares (first: {missing[0]!r:.80}); they would be random"
        )
    return model
