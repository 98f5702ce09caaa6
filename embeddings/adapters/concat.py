"""Concatenated sentence vectors of several encoders.

:class:`ConcatEncoder` runs every part on the same texts and joins their vectors
side by side, each block scaled to unit length first (``normalize=True``, the
default; a zero row stays zero) and optionally multiplied by a weight.  Parts are
preset names, ``"name:key=value"`` specs, folders of saved encoders, or encoder
objects.  Parts that learn from texts (TF-IDF, SIF, trained networks) are fitted on
the texts given to ``fit``; a saved folder and an encoder object that is already
fitted are used as they are.

The fingerprint is made of the parts' fingerprints, the normalisation and the
weights, so two concatenations of equal parts share their cached vectors.
``save`` stores the fitted state of every part in the concatenation's own
``weights.safetensors`` (arrays under ``parts.<i>.``) and the parts' parameters in
its ``config.json``, so a saved concatenation loads under the same trust rules as
any other saved encoder.

In a benchmark spec the parts are joined with ``+`` (``,`` separates encoders and
``:`` parameters there)::

    transferkit bench --encoders concat:encoders=minilm-l6+use-multilingual-v3

Example:
    >>> import embeddings
    >>> enc = embeddings.load("concat", encoders=["glove-6b-50d", "glove-6b-50d-max"])
    >>> enc.encode(["a cat sat on the mat"]).shape
    (1, 100)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings._checks import check_bool
from embeddings._params import store_params
from embeddings._saved import MAX_NESTING, looks_like_path, restore_state
from embeddings.base import BaseEncoder, check_meta
from embeddings.errors import InvalidParameterError, ModelFormatError
from embeddings.specs import check_spec_overrides, parse_spec

__all__ = ["ConcatEncoder", "parse_parts"]

PartSpec = str | BaseEncoder


def parse_parts(encoders: str | Sequence[PartSpec]) -> list[PartSpec]:
    """The list of parts of an ``encoders`` parameter (a ``+``-joined string or a list).

    Example:
        >>> parse_parts("minilm-l6+use-multilingual-v3")
        ['minilm-l6', 'use-multilingual-v3']
    """
    if isinstance(encoders, str):
        return [p.strip() for p in encoders.split("+")]
    return list(encoders)


def _build_part(spec: PartSpec) -> BaseEncoder:
    """An encoder from a part spec: an object, a saved folder, or ``name[:key=value...]``.

    A spec string never sets a caller-only parameter (``trust_pickle``): a part that
    needs one is built in Python and passed as an object.
    """
    from embeddings.registry import get_preset, load, resolve_encoder_class

    if isinstance(spec, BaseEncoder):
        return spec
    folder = Path(spec).expanduser()
    if looks_like_path(spec) and (folder / "config.json").is_file():
        encoder = BaseEncoder.load(folder)
        encoder.__dict__["_pretrained_from"] = str(folder)
        return encoder
    name, overrides = parse_spec(str(spec))
    preset = get_preset(name)  # an unknown name fails here
    check_spec_overrides(
        str(spec), overrides, resolve_encoder_class(preset.target).caller_only_params
    )
    return load(name, **overrides)


def _depth(encoders: object) -> int:
    """How deep concat objects nest inside ``encoders`` (1: no concat part)."""
    if isinstance(encoders, str) or not isinstance(encoders, (list, tuple)):
        return 1
    inner = [_depth(p.encoders) for p in encoders if isinstance(p, ConcatEncoder)]
    return 1 + max(inner, default=0)


def _learns(part: BaseEncoder) -> bool:
    """Whether ``part`` learns from texts (and was not given as a pretrained folder)."""
    return bool(part.requires_fit or part.trainable) and (
        part.__dict__.get("_pretrained_from") is None
    )


def _has_state(part: BaseEncoder) -> bool:
    return bool(part.requires_fit or part.trainable or part._stores_state()) and part.is_fitted


class ConcatEncoder(BaseEncoder):
    """Side-by-side concatenation of the vectors of several encoders.

    Args:
        encoders: the parts: preset names, ``"name:key=value"`` specs, saved-encoder
            folders or encoder objects; a string joins several with ``+``.
        normalize: scale each part's vectors to unit length before joining.
        weights: one positive factor per part (after normalisation), or ``None``
            for all 1; a string joins them with ``+``.
        cache_dir: read and write the parts' vectors through the embedding cache in
            this folder (:class:`~embeddings.cache.CachedEncoder`), so vectors a part
            computed before are reused; it does not change the vectors.

    Example:
        >>> enc = ConcatEncoder(["glove-6b-50d", "tfidf"], weights=[1.0, 0.5])
        >>> enc.fit(["a cat", "a dog sat"]).encode(["a cat"]).shape
        (1, 54)
    """

    family = "concat"
    adapter_version = "1"
    transient = ("_cached",)
    path_params = ("encoders", "cache_dir")
    nests_encoders = True
    #: the most parts one concatenation may have
    max_parts = 64

    def __init__(
        self,
        encoders: str | Sequence[PartSpec] = (),
        *,
        normalize: bool = True,
        weights: str | Sequence[float] | None = None,
        cache_dir: str | None = None,
    ) -> None:
        store_params(self, locals())

    # ----------------------------------------------------------- parameters
    def _weights(self) -> list[float]:
        n = len(parse_parts(self.encoders))
        if self.weights is None:
            return [1.0] * n
        if isinstance(self.weights, str):
            try:
                return [float(w) for w in self.weights.split("+")]
            except ValueError:
                raise InvalidParameterError(
                    f"weights must be numbers joined by '+', got {self.weights!r}"
                ) from None
        return [float(w) for w in self.weights]

    def _validate(self) -> None:
        enc = self.encoders
        if not isinstance(enc, (str, list, tuple)) or isinstance(enc, bytes):
            raise InvalidParameterError(
                "encoders must be a list of preset names, specs, saved folders or encoder "
                f"objects (or a '+'-joined string), got {type(enc).__name__}"
            )
        parts = parse_parts(enc)
        if not parts or (isinstance(enc, str) and not enc.strip()):
            raise InvalidParameterError("encoders must name at least one encoder, got none")
        if len(parts) > self.max_parts:
            raise InvalidParameterError(
                f"encoders names {len(parts)} parts; a concatenation has at most {self.max_parts}"
            )
        try:
            depth = _depth(enc)
        except RecursionError:
            depth = MAX_NESTING + 1
        if depth > MAX_NESTING:
            raise InvalidParameterError(
                f"concatenations are nested {depth} deep; at most {MAX_NESTING} levels are allowed"
            )
        for i, part in enumerate(parts):
            if isinstance(part, BaseEncoder):
                continue
            if not isinstance(part, (str, os.PathLike)) or not str(part).strip():
                raise InvalidParameterError(
                    f"encoders[{i}] must be a preset name, a spec, a saved folder or an "
                    f"encoder object, got {part!r:.60}"
                )
        check_bool("normalize", self.normalize)
        w = self.weights
        if w is not None:
            if not isinstance(w, (str, list, tuple)):
                raise InvalidParameterError(
                    f"weights must be None, a list of numbers or a '+'-joined string, got {w!r}"
                )
            if not isinstance(w, str) and not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in w
            ):
                raise InvalidParameterError(f"weights must be numbers, got {w!r}")
            values = self._weights()
            if len(values) != len(parts):
                raise InvalidParameterError(
                    f"weights has {len(values)} value(s) for {len(parts)} encoder(s)"
                )
            if not all(math.isfinite(x) and x > 0 for x in values):
                raise InvalidParameterError(f"weights must be finite and > 0, got {values}")
        if self.cache_dir is not None and (
            not isinstance(self.cache_dir, (str, os.PathLike)) or not str(self.cache_dir)
        ):
            raise InvalidParameterError(
                f"cache_dir must be None or a folder path, got {self.cache_dir!r}"
            )

    # --------------------------------------------------------------- parts
    def _load(self) -> None:
        key = self._params_key()
        if self.__dict__.get("_parts_for") != key:
            parts = [_build_part(spec) for spec in parse_parts(self.encoders)]
            if any(_depth([p]) + 1 > MAX_NESTING for p in parts):
                raise InvalidParameterError(
                    f"concatenations are nested more than {MAX_NESTING} deep"
                )
            self.parts_ = parts
            #: the parts that this encoder fits (unfitted learners when built)
            self.own_ = [i for i, p in enumerate(parts) if _learns(p) and not p.is_fitted]
            self._parts_for = key
            self._state_digest = None
        self._cached = None
        if self.cache_dir is not None:
            from embeddings.cache import CachedEncoder

            self._cached = [CachedEncoder(p, cache_dir=self.cache_dir) for p in self.parts_]

    @property
    def requires_fit(self) -> bool:  # type: ignore[override]
        """Whether a part must be fitted on training texts."""
        self._ensure_loaded()
        return bool(self.own_)

    @property
    def trainable(self) -> bool:  # type: ignore[override]
        """Same as :attr:`requires_fit`."""
        return self.requires_fit

    @property
    def parts(self) -> list[BaseEncoder]:
        """The part encoders, in order.

        Example:
            >>> ConcatEncoder(["glove-6b-50d", "glove-6b-50d-max"]).parts[1].name
            'glove-6b-50d-max'
        """
        self._ensure_loaded()
        return list(self.parts_)

    def _fit(self, texts: list[str]) -> None:
        for i in self.own_:
            self.parts_[i].fit(texts)

    def _output_dim(self) -> int:
        return sum(int(p.dim) for p in self.parts_)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        blocks = []
        encoders: Sequence[Any] = self._cached or self.parts_
        for part, weight in zip(encoders, self._weights(), strict=True):
            block: np.ndarray = np.asarray(
                part.encode(texts, batch_size=max(1, len(texts))), np.float32
            )
            if self.normalize:
                norms = np.linalg.norm(block, axis=1, keepdims=True)
                block = block / np.where(norms > 0, norms, 1.0).astype(np.float32)
            if weight != 1.0:
                block = block * np.float32(weight)
            blocks.append(block)
        return np.concatenate(blocks, axis=1).astype(np.float32, copy=False)

    # -------------------------------------------------------------- identity
    def fingerprint(self) -> str:
        """sha256 of the class, its version, the normalisation, weights and parts.

        Each part contributes its own fingerprint (parameters, weights identity,
        fitted state), so the way a part was given (name or object) and
        ``cache_dir`` do not change it.
        """
        self._ensure_loaded()
        payload = {
            "class": self._class_path(),
            "adapter_version": self.adapter_version,
            "normalize": bool(self.normalize),
            "weights": self._weights(),
            "parts": [p.fingerprint() for p in self.parts_],
        }
        blob = json.dumps(payload, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()

    # ----------------------------------------------------------------- state
    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays: dict[str, np.ndarray] = {}
        metas: dict[str, Any] = {}
        for i, part in enumerate(self.parts_):
            if not _has_state(part):
                continue
            part_arrays, part_meta = part._get_state()
            arrays.update({f"parts.{i}.{k}": v for k, v in part_arrays.items()})
            metas[str(i)] = part_meta
        return arrays, {"own": list(self.own_), "parts": metas}

    def _stores_state(self) -> bool:
        return any(_has_state(p) for p in self.parts_)

    def _split_state(
        self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]
    ) -> dict[int, tuple[dict[str, np.ndarray], dict[str, Any]]]:
        check_meta(meta, {"own": "list", "parts": "dict"}, owner="saved concat state")
        n = len(self.parts_)
        own = meta["own"]
        if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n for i in own):
            raise ModelFormatError(f"saved concat state: 'own' must list part indices < {n}")
        states: dict[int, tuple[dict[str, np.ndarray], dict[str, Any]]] = {}
        for key, part_meta in meta["parts"].items():
            if not key.isdigit() or int(key) >= n or not isinstance(part_meta, dict):
                raise ModelFormatError(
                    f"saved concat state: 'parts' key {key!r} is not a part index < {n} with "
                    "an object"
                )
            states[int(key)] = ({}, dict(part_meta))
        for name, arr in arrays.items():
            head, _, rest = name.partition(".")
            index, _, sub = rest.partition(".")
            if head != "parts" or not index.isdigit() or int(index) not in states or not sub:
                raise ModelFormatError(
                    f"saved concat state: array {name!r} belongs to no saved part"
                )
            states[int(index)][0][sub] = arr
        return states

    def _check_state(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        self._split_state(arrays, meta)  # each part's state is checked as it is restored

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        for i, (part_arrays, part_meta) in self._split_state(arrays, meta).items():
            part = self.parts_[i]
            restore_state(part, part_arrays, part_meta, where=f"part {i} ({part.name})")
        self.own_ = list(meta["own"])

    # ----------------------------------------------------------------- paths
    def _named_paths(self) -> list[tuple[str, str | os.PathLike[str]]]:
        """The cache folder, the saved-folder parts, and the files the parts name."""
        out: list[tuple[str, str | os.PathLike[str]]] = []
        if self.cache_dir is not None:
            out.append(("cache_dir", self.cache_dir))
        for i, spec in enumerate(parse_parts(self.encoders)):
            if isinstance(spec, BaseEncoder):
                part = spec
            elif looks_like_path(spec) and not _is_preset_spec(str(spec)):
                out.append((f"encoders[{i}]", spec))  # the folder checks its own files
                continue
            else:
                part = _build_part(spec)
            out.extend((f"encoders[{i}].{name}", path) for name, path in part._named_paths())
        return out


def _is_preset_spec(spec: str) -> bool:
    """Whether ``spec`` starts with a preset name (``word-vectors:source=...``)."""
    from embeddings.registry import _PRESETS

    return spec.split(":", 1)[0].strip() in _PRESETS
