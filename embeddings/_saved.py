"""Saved encoder folders: reading, checking and rebuilding them, in one place.

A saved folder is ``config.json`` + ``weights.safetensors``, written by
:meth:`embeddings.base.BaseEncoder.save`.  Reading one follows the trust rules of
the project: a file never decides what code runs, and never makes us read or
write outside its folder.

* Both files must be regular files inside the folder: a symlink, a FIFO or a device
  file is refused before it is opened, and ``config.json`` is read up to
  :data:`MAX_CONFIG_BYTES`.
* The class is resolved among registered encoder classes only; every parameter is
  checked against the constructor and the class's own validation; caller-only
  switches (``trust_pickle``) are refused.
* Parameters that name files or folders (each class lists them in ``path_params``)
  must point inside the folder, unless the caller passes them again
  (``embeddings.load(folder, source=PATH)``).
* Saved encoders that hold other saved encoders nest at most
  :data:`MAX_NESTING` deep.
* :func:`restore_state` puts a saved state into an encoder; it is the only place
  that does, for top-level folders and for encoders nested in another's state.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings import _classes
from embeddings._jsonfile import read_json_file
from embeddings._state import check_names
from embeddings.errors import InvalidParameterError, ModelFormatError

#: an encoder (``embeddings.base.BaseEncoder``), named loosely here: this module sits
#: below ``base``, which imports it
Encoder = Any

__all__ = [
    "CONFIG_NAME",
    "MAX_CONFIG_BYTES",
    "MAX_NESTING",
    "SAVE_FORMAT",
    "SAVE_FORMAT_VERSION",
    "WEIGHTS_NAME",
    "build_encoder",
    "check_named_paths",
    "from_json_param",
    "load_folder",
    "nesting",
    "restore_state",
]

SAVE_FORMAT = "transferkit-encoder"
SAVE_FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "weights.safetensors"
#: the largest ``config.json`` read (the parameters and JSON state of one encoder)
MAX_CONFIG_BYTES = 64 * 1024 * 1024
#: how deep saved encoders may hold other encoders (a concat of concats, a saved
#: folder naming another saved folder, a fine-tuned encoder's base): deep enough for
#: any real model, shallow enough that encoding one text stays well under a second
MAX_NESTING = 8

_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("transferkit_nesting", default=0)


@contextlib.contextmanager
def nesting(where: object) -> Iterator[None]:
    """Count one level of encoders built inside another; refuse past :data:`MAX_NESTING`.

    Example:
        >>> with nesting("outer"):
        ...     pass
    """
    depth = _DEPTH.get() + 1
    if depth > MAX_NESTING:
        raise ModelFormatError(
            f"{where}: encoders are nested more than {MAX_NESTING} deep (a saved folder or "
            f"concat that holds encoders that hold encoders...); at most {MAX_NESTING} levels "
            "are allowed"
        )
    token = _DEPTH.set(depth)
    try:
        yield
    finally:
        _DEPTH.reset(token)


# ------------------------------------------------------------------- files
def regular_file(path: Path, *, what: str) -> os.stat_result | None:
    """``lstat`` of ``path`` when it is a regular file; ``None`` when it does not exist.

    Raises:
        ModelFormatError: a symlink, a folder, a FIFO, a device or socket file.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise ModelFormatError(f"{path}: cannot read {what}: {err.strerror}") from None
    if stat.S_ISLNK(st.st_mode):
        raise ModelFormatError(
            f"{path}: {what} is a symbolic link; a saved folder holds its own files, so links "
            "are not followed (copy the file into the folder)"
        )
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO, device or socket"
        raise ModelFormatError(f"{path}: {what} must be a regular file, got {kind}")
    return st


#: config.json fields written by ``save`` and the JSON types each must have
_CONFIG_FIELDS: dict[str, tuple[type, ...]] = {
    "format": (str,),
    "format_version": (int,),
    "class": (str,),
    "adapter_version": (str,),
    "preset": (str, type(None)),
    "params": (dict,),
    "fitted": (bool,),
    "state": (dict,),
    "fingerprint": (str,),
}

_JSON_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
    dict: "an object",
    list: "an array",
}


def read_config(folder: Path) -> dict[str, Any]:
    """The parsed ``config.json`` of a saved folder (UTF-8 JSON object)."""
    cfg_path = folder / CONFIG_NAME
    st = regular_file(cfg_path, what=CONFIG_NAME)
    if st is None:
        raise ModelFormatError(f"{folder} is not a saved encoder: {CONFIG_NAME} is missing")
    config = read_json_file(cfg_path, what=CONFIG_NAME, limit=MAX_CONFIG_BYTES, follow_links=False)
    if not isinstance(config, dict):
        raise ModelFormatError(
            f"{cfg_path}: expected a JSON object, got a JSON {type(config).__name__}"
        )
    return config


def check_config(config: dict[str, Any], cfg_path: Path) -> type[Encoder]:
    """Check the fields of ``config.json`` and return the registered encoder class."""
    if config.get("format") != SAVE_FORMAT:
        raise ModelFormatError(
            f"{cfg_path}: 'format' must be {SAVE_FORMAT!r}, got {config.get('format')!r:.60}"
        )
    version = config.get("format_version")
    if isinstance(version, bool) or version != SAVE_FORMAT_VERSION:
        raise ModelFormatError(
            f"{cfg_path}: format_version {version!r:.60} is not supported (this transferkit "
            f"reads version {SAVE_FORMAT_VERSION})"
        )
    if "class" not in config:
        raise ModelFormatError(f"{cfg_path}: field 'class' is missing")
    try:
        klass = _classes.resolve(config["class"])
    except ModelFormatError as err:
        raise ModelFormatError(f"{cfg_path}: {err}") from None
    check_names(config, _CONFIG_FIELDS, where=str(cfg_path), what="field")
    for key, types in _CONFIG_FIELDS.items():
        value = config[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            allowed = " or ".join(_JSON_NAMES[t] for t in types)
            raise ModelFormatError(
                f"{cfg_path}: field {key!r} must be {allowed}, got "
                f"{_JSON_NAMES.get(type(value), type(value).__name__)} ({value!r:.60})"
            )
    saved_version = config["adapter_version"]
    if saved_version != klass.adapter_version and saved_version not in klass.loads_versions:
        raise ModelFormatError(
            f"{cfg_path}: saved with adapter version {saved_version!r}, this transferkit has "
            f"{klass.adapter_version!r}; re-create and re-fit the encoder"
        )
    return klass


def read_weights(path: Path) -> dict[str, np.ndarray]:
    """The arrays of ``weights.safetensors``, each checked to be finite."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    if regular_file(path, what=WEIGHTS_NAME) is None:
        raise ModelFormatError(
            f"{path}: missing; config.json says the encoder is fitted, so its state must be "
            "stored there"
        )
    try:
        arrays = load_file(str(path))
    except (SafetensorError, OSError, ValueError, TypeError) as err:
        raise ModelFormatError(f"{path}: cannot read weights: {err}") from err
    for name, arr in arrays.items():
        if arr.dtype.kind == "f":
            finite = np.isfinite(arr)
            if not finite.all():
                n_bad = int(finite.size - np.count_nonzero(finite))
                raise ModelFormatError(
                    f"{path}: array {name!r} holds {n_bad} NaN or infinite value(s); "
                    "saved weights must be finite"
                )
    return arrays


# ------------------------------------------------------------ construction
def _constructor_params(klass: type) -> tuple[dict[str, inspect.Parameter], list[str]]:
    """The keyword parameters of ``klass``'s constructor, and those without a default."""
    params = {
        name: p
        for name, p in inspect.signature(klass).parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    required = [name for name, p in params.items() if p.default is p.empty]
    return params, required


def build_encoder(klass: type[Encoder], params: Any, *, where: str) -> Encoder:
    """Construct ``klass`` from saved parameters, each checked (names, caller-only, values)."""
    if not isinstance(params, dict):
        raise ModelFormatError(f"{where} must be a JSON object, got {type(params).__name__}")
    signature, required = _constructor_params(klass)
    params = {
        (klass.renamed_params.get(k, k) if klass.renamed_params.get(k, k) not in params else k): v
        for k, v in params.items()
    }  # a config written under an older parameter name
    unknown = sorted(k for k in params if k not in signature)
    if unknown:
        raise ModelFormatError(
            f"{where}: unknown parameter(s) {unknown} for {klass.__name__}; "
            f"allowed: {sorted(signature)}"
        )
    missing = [k for k in required if k not in params]
    if missing:
        raise ModelFormatError(f"{where}: {klass.__name__} needs parameter(s) {missing}")
    kwargs = {}
    for key, value in params.items():
        if key in klass.caller_only_params:
            default = signature[key].default
            if not (type(value) is type(default) and value == default):
                raise ModelFormatError(
                    f"{where}: {key!r} is set to {value!r:.40} in the file; {key} is a decision "
                    f"of the caller and is never read from a saved folder. Remove it from "
                    f"{CONFIG_NAME}, and if you trust what it allows, set it in Python after "
                    f"loading: encoder.set_params({key}=...)"
                )
            continue  # the default, which the constructor gives anyway
        kwargs[key] = from_json_param(value, where=f"{where}.{key}")
    try:
        encoder = klass(**kwargs)
    except TypeError as err:
        raise ModelFormatError(f"{where}: cannot construct {klass.__name__}: {err}") from err
    try:
        encoder._validate()
    except (TypeError, ValueError) as err:
        raise ModelFormatError(f"{where}: {err}") from err
    except RecursionError:
        raise ModelFormatError(f"{where}: encoders nested too deeply") from None
    return encoder


def from_json_param(value: Any, *, where: str) -> Any:
    """A parameter read from JSON; ``{"__encoder__": ..., "params": ...}`` becomes an encoder."""
    if isinstance(value, list):
        return [from_json_param(v, where=f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict) and "__encoder__" in value:
        if set(value) != {"__encoder__", "params"}:
            raise ModelFormatError(
                f"{where}: a nested encoder must have exactly the keys '__encoder__' and "
                f"'params', got {sorted(value)}"
            )
        try:
            klass = _classes.resolve(value["__encoder__"])
        except ModelFormatError as err:
            raise ModelFormatError(f"{where}: {err}") from None
        with nesting(where):
            return build_encoder(klass, value["params"], where=f"{where}.params")
    if isinstance(value, dict):
        return {k: from_json_param(v, where=f"{where}.{k}") for k, v in value.items()}
    return value


# ------------------------------------------------------------------- paths
def looks_like_path(value: object) -> bool:
    """Whether a string parameter names a file or folder rather than a name such as a
    preset (``glove-6b-50d``): it has a path separator, starts with ``.`` or ``~``, or
    exists relative to the working directory.

    Example:
        >>> looks_like_path("glove-6b-50d"), looks_like_path("/etc/passwd")
        (False, True)
    """
    if isinstance(value, os.PathLike):
        return True
    if not isinstance(value, str) or not value:
        return False
    if "/" in value or os.sep in value or (os.altsep and os.altsep in value):
        return True
    return value.startswith((".", "~")) or os.path.lexists(value)


def check_named_paths(
    encoder: Encoder,
    folder: Path,
    *,
    given: Mapping[str, Any] | None = None,
    allow_paths: Sequence[str | os.PathLike[str]] = (),
    where: str,
) -> None:
    """Refuse files or folders named by ``encoder``'s parameters outside ``folder``.

    ``given`` holds the parameters that the caller passed, and ``allow_paths`` the
    folders the caller trusts; both are the caller's decision and are not checked.

    Raises:
        ModelFormatError: a path outside ``folder``; the message says how the caller
            can pass it.
    """
    roots = [folder.resolve(), *(Path(os.path.expanduser(p)).resolve() for p in allow_paths)]
    for param, path in encoder._named_paths():
        top = param.split(".", 1)[0].split("[", 1)[0]
        if given and top in given:
            continue
        target = Path(os.path.expanduser(os.fspath(path)))
        try:
            resolved = (target if target.is_absolute() else Path.cwd() / target).resolve()
        except (OSError, RuntimeError):
            resolved = None
        if resolved is None or not any(resolved.is_relative_to(r) for r in roots):
            shown = os.fspath(folder)
            raise ModelFormatError(
                f"{where}: parameter {param!r} names {os.fspath(path)!r:.200}, outside the "
                f"saved folder {shown!r:.200}; a saved folder may only name files inside it. "
                f"If you trust that path, say so when loading: "
                f"embeddings.load({shown!r:.200}, {top}=...) to give the value yourself, or "
                f"embeddings.load({shown!r:.200}, allow_paths=[FOLDER]) to allow a folder"
            )


# ------------------------------------------------------------------ loading
def restore_state(
    encoder: Encoder, arrays: dict[str, np.ndarray], meta: dict[str, Any], *, where: object
) -> None:
    """Put a saved state into ``encoder`` and mark it fitted for its current parameters.

    The state is checked first (``_check_state``); errors name ``where``.
    """
    encoder._ensure_loaded()
    try:
        encoder._check_state(arrays, meta)
        encoder._set_state(arrays, meta)
    except ModelFormatError as err:
        raise ModelFormatError(f"{where}: {err}") from err
    except (KeyError, TypeError, ValueError, IndexError, UnicodeDecodeError) as err:
        raise ModelFormatError(
            f"{where}: the saved state does not fit {type(encoder).__name__} "
            f"({type(err).__name__}: {err})"
        ) from err
    encoder._fitted_for = encoder._fit_key()
    encoder._state_digest = None


def load_folder(
    cls: type[Encoder],
    path: str | os.PathLike[str],
    paths: Mapping[str, Any] | None = None,
    allow_paths: Sequence[str | os.PathLike[str]] = (),
) -> Encoder:
    """Rebuild the encoder of a saved folder (see :meth:`BaseEncoder.load`)."""
    from embeddings._atomic import recover_folder

    folder = Path(path)
    recover_folder(folder)
    cfg_path = folder / CONFIG_NAME
    with nesting(folder):
        config = read_config(folder)
        klass = check_config(config, cfg_path)
        if not issubclass(klass, cls):
            raise ModelFormatError(f"{cfg_path}: holds a {klass.__name__}, not a {cls.__name__}")
        params = dict(config["params"])
        given = dict(paths or {})
        if given:
            not_paths = sorted(k for k in given if k not in klass.path_params)
            if not_paths:
                raise InvalidParameterError(
                    f"loading the saved folder {os.fspath(folder)!r}: only its file and folder "
                    f"parameters {list(klass.path_params)} can be given (to confirm a path "
                    f"outside the folder), got {not_paths}; set other parameters after "
                    "loading with encoder.set_params(...)"
                )
        try:
            encoder = build_encoder(klass, params, where=f"{cfg_path}: params")
        except RecursionError:
            raise ModelFormatError(f"{cfg_path}: params are nested too deeply") from None
        if given:
            encoder.set_params(**given)
            encoder._validate()
        allowed = _check_allow_paths(allow_paths)
        check_named_paths(
            encoder, folder, given=given, allow_paths=allowed, where=f"{cfg_path}: params"
        )
        if encoder.nests_encoders:  # build the held encoders now, under the nesting limit
            encoder._ensure_loaded()
        if config["preset"]:
            encoder._preset_name = config["preset"]
        encoder._config_roots = (str(folder), *allowed)
        if config["fitted"]:
            arrays = read_weights(folder / WEIGHTS_NAME)
            restore_state(encoder, arrays, dict(config["state"]), where=folder)
    return encoder


def _check_allow_paths(allow_paths: object) -> tuple[str, ...]:
    """The folders a caller allows (``allow_paths=``), as strings."""
    if isinstance(allow_paths, (str, os.PathLike)):
        allow_paths = [allow_paths]
    if not isinstance(allow_paths, (list, tuple)) or not all(
        isinstance(p, (str, os.PathLike)) and os.fspath(p) for p in allow_paths
    ):
        raise InvalidParameterError(
            f"allow_paths must be a list of folder paths, got {allow_paths!r:.80}"
        )
    return tuple(os.fspath(p) for p in allow_paths)
