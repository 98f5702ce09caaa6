"""``TorchEncoder``: the base of every network transferkit trains.

It adds to :class:`~embeddings.base.BaseEncoder`:

* **device**: ``device="cpu"`` (the default), ``"cuda"`` or ``"auto"`` (a GPU when
  present); **threads**: torch intra-op threads while training and encoding;
* **state**: the network's ``state_dict`` is stored as float32 numpy arrays under
  ``net.*`` next to the family's own arrays (vocabulary), so ``save`` writes
  safetensors + JSON and pickling an encoder carries its weights (the module
  itself is rebuilt lazily);
* **batch-independent inference**: ``encode`` runs a float64 copy of the network
  and rounds to float32, so a text's vector does not depend on ``batch_size`` or
  on its batch neighbours (float64 summation-order differences are far below
  float32 resolution);
* **training**: :meth:`TorchEncoder.fit` builds the family's data, network and
  objective and runs the shared :class:`~embeddings.training.trainer.Trainer`, with
  optional checkpoints, resume and a time budget;
* **fine-tuning hooks**: ``tokenize(texts)``, ``forward(batch)`` (autograd, the
  float32 network) and ``trainable_layers()`` (blocks bottom to top), the protocol
  of :func:`embeddings.training.finetune.fine_tune`.

A family writes ``_arch``, ``_build_module``, ``_init_module``, ``_prepare``,
``_forward``, ``_layer_groups``, ``_training_data`` and ``_objective`` (and
``_fit_source`` when it does not learn from texts or a corpus path).

Example:
    >>> from embeddings.nn.encoder import resolve_device
    >>> resolve_device("cpu")
    'cpu'
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from embeddings._checks import check_int
from embeddings.base import BaseEncoder, validate_texts
from embeddings.errors import (
    InvalidInputError,
    InvalidParameterError,
    ModelFormatError,
    NotFittedError,
)

__all__ = ["TorchEncoder", "resolve_device"]

NET_PREFIX = "net."


def resolve_device(device: str, *, check_available: bool = True) -> str:
    """``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` -> a torch device string.

    Args:
        device: the requested device.
        check_available: refuse a GPU that torch does not see (``False`` only
            checks the spelling, e.g. when a saved folder is validated).

    Raises:
        InvalidParameterError: an unknown value, or a GPU asked for where none is.

    Example:
        >>> resolve_device("auto") in ("cpu", "cuda")
        True
    """
    if not isinstance(device, str):
        raise InvalidParameterError(f"device must be a str, got {type(device).__name__}")
    if device == "cpu":
        return "cpu"
    if not check_available:
        if device in ("auto", "cuda") or (device.startswith("cuda:") and device[5:].isdigit()):
            return device
        raise InvalidParameterError(
            f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {device!r}"
        )
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" or device.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise InvalidParameterError(
                f"device={device!r} but torch sees no GPU; use device='cpu' or 'auto'"
            )
        return device
    raise InvalidParameterError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {device!r}")


class TorchEncoder(BaseEncoder):
    """Base class of the torch networks transferkit trains (see the module docstring).

    Subclasses define ``__init__`` storing their keyword parameters, which must
    include ``random_state``, ``threads`` and ``device``.

    Example:
        >>> import embeddings
        >>> enc = embeddings.load("quick-thought-corpus", hidden_size=4, embedding_dim=4,
        ...                       epochs=1, min_count=1)
        >>> enc.fit(["a b", "b c", "c a"]).dim
        8
    """

    family = "torch"
    requires_fit = True
    trainable = True
    transient: ClassVar[tuple[str, ...]] = ("_module", "_infer")
    _module: Any
    _infer: Any
    _weights: dict[str, np.ndarray]
    _meta: dict[str, Any]

    random_state: int
    threads: int
    device: str

    # ------------------------------------------------------------- family hooks
    def _arch(self) -> dict[str, Any]:
        """The parameters that fix the network's shapes (checked against a saved state)."""
        raise NotImplementedError

    def _build_module(self) -> Any:
        """A float32 ``nn.Module`` of the architecture (weights are overwritten)."""
        raise NotImplementedError

    def _init_module(self, module: Any, generator: Any) -> dict[str, Any]:
        """Seeded initialisation from ``generator``; returns JSON statistics."""
        return {}

    def _prepare(self, texts: list[str]) -> dict[str, Any]:
        """Texts -> a batch of CPU tensors (token ids, lengths, ...)."""
        raise NotImplementedError

    def _forward(self, module: Any, batch: dict[str, Any]) -> Any:
        """A batch -> ``(n, dim)`` sentence tensor."""
        raise NotImplementedError

    def _layer_groups(self, module: Any) -> dict[str, list[Any]]:
        """``{"layers": [...bottom to top], "top": [...]}`` sub-modules of ``module``."""
        raise NotImplementedError

    def _training_data(self, source: Any, workdir: Path | None) -> Any:
        """Read the training source and set the family's extra state (e.g. vocabulary)."""
        raise NotImplementedError

    def _objective(self, data: Any) -> Any:
        """The :class:`~embeddings.training.trainer.Objective` over ``data``."""
        raise NotImplementedError

    def _train_config(self) -> Any:
        """The :class:`~embeddings.training.trainer.TrainConfig` from the parameters.

        The default trains with Adam from the parameters ``epochs``, ``learning_rate``,
        ``max_grad_norm``, ``random_state`` and ``threads`` (Quick-Thought, Skip-Thought,
        ELMo); a family that trains otherwise overrides it.
        """
        from embeddings.training.trainer import TrainConfig

        return TrainConfig(
            epochs=int(self.epochs),
            lr=float(self.learning_rate),
            optimizer="adam",
            max_grad_norm=float(self.max_grad_norm),
            random_state=int(self.random_state),
            threads=int(self.threads),
        )

    def _fit_source(self, texts: Any, y: Any) -> Any:
        """What ``fit`` was given -> the source for :meth:`_training_data`.

        The default takes a corpus path (a ``Path``) or a non-empty list of texts; a
        family that learns from something else (labelled pairs) overrides it.
        """
        if isinstance(texts, (str, os.PathLike)):
            return Path(texts)
        source = validate_texts(texts)
        if not source:
            raise InvalidInputError(f"{self.name}.fit needs at least one text, got 0")
        return source

    def _run_key(self, source: Any) -> dict[str, Any]:
        """What a resumed fit must share with the run whose checkpoints it continues:
        the parameters (less ``threads``, ``device`` and those of encoding only) and the
        training source (a corpus path by its files' names, sizes and times)."""
        from embeddings.training.checkpoint import data_digest

        skip = {"threads", "device", *self.encode_time_params}
        params = {k: v for k, v in self._json_params().items() if k not in skip}
        return {"encoder": self._class_path(), "params": params, "data": data_digest(source)}

    def _extra_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays and JSON besides the network (vocabulary...)."""
        return {}, {}

    def _restore_extra(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Inverse of :meth:`_extra_state`."""

    def _check_machine(self) -> None:
        if self.device not in ("cpu", "auto"):
            resolve_device(self.device, check_available=True)

    def _validate(self) -> None:
        """Check the parameters (called before loading and training)."""
        check_int("threads", self.threads)
        check_int("random_state", self.random_state, minimum=0)
        resolve_device(self.device, check_available=False)

    # --------------------------------------------------------------- loading
    def _load(self) -> None:
        self._module = None
        self._infer = None
        meta = self.__dict__.get("_meta")
        if self.__dict__.get("_weights") is not None and meta and meta.get("arch") == self._arch():
            self._build()

    def _build(self) -> None:
        """The float32 network on the device, from ``_weights``."""
        import torch

        module = self._new_module()
        state = {
            k[len(NET_PREFIX) :]: torch.from_numpy(np.array(v, dtype=np.float32))
            for k, v in self._weights.items()
            if k.startswith(NET_PREFIX)
        }
        expected = module.state_dict()
        missing = sorted(set(expected) - set(state))
        extra = sorted(set(state) - set(expected))
        if missing or extra:
            raise ModelFormatError(
                f"{type(self).__name__} weights do not fit the architecture {self._arch()}: "
                f"missing {missing[:5]}, unexpected {extra[:5]}"
            )
        for k, v in expected.items():
            if tuple(state[k].shape) != tuple(v.shape):
                raise ModelFormatError(
                    f"{type(self).__name__} weight 'net.{k}' has shape {tuple(state[k].shape)}, "
                    f"expected {tuple(v.shape)} for {self._arch()}"
                )
        module.load_state_dict(state, strict=True)
        module.to(resolve_device(self.device))
        module.eval()
        self._module = module
        self._infer = None

    def _new_module(self) -> Any:
        import torch

        with torch.random.fork_rng(devices=[]):  # default inits must not touch the global RNG
            return self._build_module().to(torch.float32)

    # ---------------------------------------------------------------- state
    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return dict(self._weights), dict(self._meta)

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        if meta.get("arch") != self._arch():
            raise ModelFormatError(
                f"saved {type(self).__name__} architecture {meta.get('arch')!r} does not match "
                f"the parameters {self._arch()!r}"
            )
        for k, v in arrays.items():
            if k.startswith(NET_PREFIX) and not np.isfinite(np.asarray(v)).all():
                raise ModelFormatError(f"saved weight {k!r} contains NaN or infinite values")
        self._meta = dict(meta)
        self._restore_extra(arrays, self._meta)
        self._weights = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
        self._build()

    def _sync_from_module(self) -> None:
        """Copy the (trained) network's weights into the stored state."""
        extra, extra_meta = self._extra_state()
        weights = {
            NET_PREFIX + k: v.detach()
            .to("cpu", dtype=v.dtype)
            .numpy()
            .astype(np.float32, copy=True)
            for k, v in self._module.state_dict().items()
        }
        weights.update(extra)
        self._weights = weights
        self._meta = {**self.__dict__.get("_meta", {}), **extra_meta, "arch": self._arch()}
        self._infer = None
        self._state_digest = None

    def after_training(self) -> None:
        """Hook for :func:`~embeddings.training.finetune.fine_tune`: store the new weights."""
        self._sync_from_module()

    # -------------------------------------------------------------- fitting
    def fit(  # type: ignore[override]
        self,
        texts: Sequence[str] | str | os.PathLike[str],
        y: Any = None,
        *,
        workdir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        max_minutes: float | None = None,
        show_progress: bool = False,
        checkpoint_every: int | None = None,
        log_every: int | None = None,
    ) -> TorchEncoder:
        """Train on texts (or a corpus path) with the shared trainer.

        Args:
            texts: training texts, or the path of a corpus file / folder.
            y: ignored (scikit-learn compatibility).
            workdir: folder for checkpoints, ``log.jsonl`` and ``loss.png``; needed
                for ``resume``.
            resume: continue from the newest checkpoint in ``workdir``.
            max_minutes: stop after this many minutes (after a checkpoint); the
                encoder is usable and ``fit(..., resume=True)`` continues.
            show_progress: a tqdm bar with the loss and sentences/s.
            checkpoint_every: optimizer steps between checkpoints (default 200).
            log_every: optimizer steps between ``log.jsonl`` records (default 20).

        Returns:
            self; ``training_result_`` tells what the trainer did.
        """
        import torch

        source = self._fit_source(texts, y)
        self._ensure_loaded()
        wd = None if workdir is None else Path(workdir)
        data = self._training_data(source, wd)
        config = self._train_config()
        config.show_progress = bool(show_progress)
        if max_minutes is not None:
            config.max_minutes = max_minutes
        if checkpoint_every is not None:
            config.checkpoint_every = checkpoint_every
        if log_every is not None:
            config.log_every = log_every
        config.check()
        from embeddings._deps import torch_threads
        from embeddings.training.trainer import Trainer

        generator = torch.Generator().manual_seed(int(self.random_state))
        module = self._new_module()
        with torch_threads(int(self.threads)):
            stats = self._init_module(module, generator)
        module.to(resolve_device(self.device))
        self._module = module
        objective = self._objective(data)
        run_key = None if wd is None else self._run_key(source)  # only checkpoints need it
        result = Trainer(module, objective, config, wd, run_key=run_key).fit(resume=resume)
        self._meta = {
            **self.__dict__.get("_meta", {}),
            "init": stats,
            "training": {
                "steps": result.steps,
                "epochs_done": result.epochs_done,
                "finished": result.finished,
                "stop_reason": result.stop_reason,
                "best_epoch": result.best_epoch,
            },
        }
        self._sync_from_module()
        module.eval()
        self.training_result_ = result
        self._fitted_for = self._fit_key()
        return self

    def _fit(self, texts: list[str]) -> None:  # BaseEncoder hook; fit() above is the entry
        self.fit(texts)

    # -------------------------------------------------------------- encoding
    @property
    def module(self) -> Any:
        """The float32 network (trained in place by the trainer and by fine-tuning)."""
        self._ensure_loaded()
        if self.__dict__.get("_module") is None:
            raise NotFittedError(f"{self.name} must be fitted first: call .fit(texts)")
        return self._module

    def tokenize(self, texts: list[str]) -> dict[str, Any]:
        """Texts -> a batch of tensors on the encoder's device (fine-tuning hook)."""
        self._ensure_loaded()
        device = resolve_device(self.device)
        return {k: v.to(device) if k != "lengths" else v for k, v in self._prepare(texts).items()}

    def forward(self, batch: dict[str, Any]) -> Any:
        """Sentence tensors with autograd through the float32 network (fine-tuning hook)."""
        return self._forward(self.module, batch)

    def trainable_layers(self) -> dict[str, list[Any]]:
        """``{"modules": [net], "layers": [...bottom to top], "top": [...]}``.

        Example:
            >>> enc.trainable_layers()["layers"]   # doctest: +SKIP
            [WordEmbeddingTable(...), ...]
        """
        module = self.module
        groups = self._layer_groups(module)
        return {"modules": [module], "layers": list(groups["layers"]), "top": list(groups["top"])}

    def _inference_module(self) -> Any:
        import torch

        if self.__dict__.get("_infer") is None:
            infer = copy.deepcopy(self.module).to(torch.float64)
            infer.eval()
            for p in infer.parameters():
                p.requires_grad_(False)
            self._infer = infer
        return self._infer

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        import torch

        from embeddings._deps import torch_threads

        if self.__dict__.get("_module") is None:
            raise NotFittedError(f"{self.name} must be fitted before encoding")
        with torch_threads(int(self.threads)), torch.no_grad():
            out = self._forward(self._inference_module(), self.tokenize(texts))
        return out.to("cpu").numpy().astype(np.float32)
