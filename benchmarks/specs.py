"""Encoder specs of a benchmark run: ``"name:key=value"`` strings, saved folders, instances.

:func:`build_encoder` turns what ``run_suite(encoders=...)`` or ``transferkit bench
--encoders`` receives into an encoder, the label its results carry and the spec
recorded with them; :func:`encoder_info` is the encoder part of a result.

* A preset name, optionally with overrides: ``glove-6b-50d:pooling=sif``.
* The folder of a saved encoder (``encoder.save``, ``transferkit train``): used as
  pretrained, never re-fitted on task data, labelled ``saved:<folder name>``.
* An encoder instance: a fitted trainable one is cloned, so that the runner fits it on
  training texts only.

Example:
    >>> parse_encoder_spec("glove-6b-50d:pooling=sif:sif_a=0.001")
    ('glove-6b-50d', {'pooling': 'sif', 'sif_a': 0.001})
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from benchmarks.results import EncoderInfo
from embeddings.specs import parse_spec

__all__ = ["build_encoder", "encoder_info", "parse_encoder_spec", "saved_folder"]


def parse_encoder_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``"name:key=value:key=value"`` into a preset name and overrides
    (:func:`embeddings.specs.parse_spec`, the one parser of specs).

    Raises:
        InvalidParameterError: an empty name or an override without ``=``.

    Example:
        >>> parse_encoder_spec("tfidf:max_features=2000")
        ('tfidf', {'max_features': 2000})
    """
    return parse_spec(spec)


def saved_folder(spec: str) -> Path | None:
    """The folder of a saved encoder if ``spec`` names one, else ``None``.

    Example:
        >>> saved_folder("glove-6b-50d") is None
        True
    """
    folder = Path(spec.strip()).expanduser()
    return folder if (folder / "config.json").is_file() else None


def build_encoder(spec: Any) -> tuple[Any, str, str]:
    """(encoder, label, spec string) from a spec string or an encoder instance.

    A spec that is the folder of a saved encoder loads it as pretrained: it is used
    as it is (never re-fitted on task data), labelled ``saved:<folder name>``.

    Raises:
        UnknownEncoderError: an unknown preset name.
        InvalidParameterError: a malformed spec.

    Example:
        >>> encoder, label, spec = build_encoder("glove-6b-50d")
        >>> label, spec
        ('glove-6b-50d', 'glove-6b-50d')
    """
    if isinstance(spec, str):
        import embeddings

        folder = saved_folder(spec)
        if folder is not None:
            from embeddings.base import BaseEncoder

            encoder = BaseEncoder.load(folder)
            encoder.__dict__["_pretrained_from"] = str(folder)
            return encoder, f"saved:{folder.resolve().name}", spec.strip()
        parse_encoder_spec(spec)  # a malformed spec fails here, with its own message
        encoder = embeddings.load(spec.strip())  # never sets a caller-only parameter
        return encoder, spec.strip(), spec.strip()
    from sklearn.base import clone

    encoder = spec
    if getattr(spec, "requires_fit", False) and getattr(spec, "is_fitted", False):
        encoder = clone(spec)  # start unfitted: the runner fits on training texts only
        preset = spec.__dict__.get("_preset_name")
        if preset:
            encoder._preset_name = preset
    label = str(getattr(encoder, "name", type(encoder).__name__))
    return encoder, label, label


def encoder_info(encoder: Any, label: str, spec: str, fingerprint: str) -> EncoderInfo:
    """The encoder part of a result (the dimension of a trainable encoder is filled in
    after it is fitted).

    Example:
        >>> import embeddings
        >>> enc = embeddings.load("glove-6b-50d")
        >>> encoder_info(enc, "glove", "glove-6b-50d", "f" * 64)["dim"]
        50
    """
    params: dict[str, Any] = {}
    if hasattr(encoder, "_json_params"):
        params = encoder._json_params()
    trainable = encoder.__dict__.get("_pretrained_from") is None and bool(
        getattr(encoder, "trainable", False) or getattr(encoder, "requires_fit", False)
    )
    dim: int | None = None
    if not trainable:
        with contextlib.suppress(Exception):
            dim = int(encoder.dim)
    return {
        "label": label,
        "name": str(getattr(encoder, "name", type(encoder).__name__)),
        "spec": spec,
        "class_path": f"{type(encoder).__module__}:{type(encoder).__qualname__}",
        "fingerprint": fingerprint,
        "params": params,
        "dim": dim,
        "trainable": trainable,
    }
