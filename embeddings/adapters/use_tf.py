"""The Universal Sentence Encoder from a TF-Hub SavedModel directory, run by TensorFlow.

The embedded numpy port (:mod:`embeddings.adapters.use`, preset
``use-multilingual-v3``) is the default USE and needs no TensorFlow.  This adapter
runs the published TF-Hub modules themselves from a local SavedModel directory:

* USE (DAN) v4: ``universal-sentence-encoder/4``;
* USE Transformer large v5: ``universal-sentence-encoder-large/5``;
* USE multilingual (``universal-sentence-encoder-multilingual/3``, ``-large/3``): these
  use the SentencePiece ops of ``tensorflow-text``, which must be installed too.

Any SavedModel with the same interface works: a batch of strings in (a 1-D
``tf.string`` tensor), a ``(n, d)`` float tensor out.  The adapter calls the
``serving_default`` signature when the module has one, else the module's
``__call__``; ``signature`` picks another signature or forces ``"__call__"``.

Installing TensorFlow: ``pip install 'transferkit[use-tf]'`` installs
``tensorflow-cpu`` on Linux (``tensorflow`` elsewhere).  With TensorFlow 2.21 this adds
TensorFlow and its own dependencies (keras, h5py, grpcio, absl-py ...) and leaves the
pinned ``torch==2.13.0``, numpy and protobuf (7.x, shared with ``onnx``) as they are.
The multilingual modules also need ``pip install tensorflow-text``, which depends on
the ``tensorflow`` wheel of the same version.

Trust: a SavedModel is a TensorFlow program.  ``tf.saved_model.load`` runs no Python
from the folder, only TensorFlow graph functions; before loading, the adapter reads
``saved_model.pb`` and refuses a module whose callable functions contain an op that
writes files or calls back into Python (:data:`FORBIDDEN_OPS`, and ``PrintV2`` to a
file).  The module's own checkpoint-saving function, which every SavedModel carries
and the loader never calls, is not counted.  Load modules from sources you trust.

Determinism: TensorFlow runs with ``threads`` intra- and inter-op threads (process
wide, fixed by the first TensorFlow encoder of a process); the same texts in the same
batches give bit-identical vectors.  Vectors of one text encoded in different batches
agree to float32 rounding (matrix products and padding depend on the batch), within
``1e-5``, which is what the contract suite checks.

Example:
    >>> import embeddings
    >>> enc = embeddings.load("use-tf", path="universal-sentence-encoder_4")  # doctest: +SKIP
    >>> enc.encode(["hello world"]).shape  # doctest: +SKIP
    (1, 512)
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from embeddings._checks import check_int, check_optional_str
from embeddings._deps import require
from embeddings._params import store_params
from embeddings.base import BaseEncoder
from embeddings.errors import (
    EncodingError,
    InvalidParameterError,
    MissingDependencyError,
    ModelFormatError,
)

__all__ = ["FORBIDDEN_OPS", "TFHubUSEEncoder", "check_saved_model_ops"]

#: graph ops a module's callable functions may not contain: file writers (checkpoints,
#: summaries, dataset caches and snapshots, debug dumps) and Python callbacks
FORBIDDEN_OPS: frozenset[str] = frozenset(
    {
        "WriteFile",
        "Save",
        "SaveSlices",
        "SaveV2",
        "MergeV2Checkpoints",
        "CreateSummaryFileWriter",
        "CreateSummaryDbWriter",
        "WriteSummary",
        "WriteRawProtoSummary",
        "WriteScalarSummary",
        "WriteHistogramSummary",
        "WriteImageSummary",
        "WriteAudioSummary",
        "WriteGraphSummary",
        "ImportEvent",
        "FlushSummaryWriter",
        "CacheDataset",
        "CacheDatasetV2",
        "SnapshotDataset",
        "SnapshotDatasetV2",
        "SaveDataset",
        "SaveDatasetV2",
        "DatasetToTFRecord",
        "ExperimentalDatasetToTFRecord",
        "DebugIdentityV2",
        "DebugIdentityV3",
        "PyFunc",
        "PyFuncStateless",
        "EagerPyFunc",
    }
)

_TF_EXTRA = "use-tf"
_TF_PACKAGE = "tensorflow-cpu"
_MAX_PB_BYTES = 2 * 1024**3  # protobuf's own limit for one message
_WARNED_THREADS: set[int] = set()  # thread counts already warned about in this process


def _tensorflow() -> Any:
    """Import TensorFlow quietly, or raise :class:`MissingDependencyError`."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return require("tensorflow", extra=_TF_EXTRA, package=_TF_PACKAGE)


def _func_names(attr: Any) -> list[str]:
    """Names of the graph functions an op's attribute value refers to."""
    names = []
    if attr.HasField("func"):
        names.append(attr.func.name)
    if attr.HasField("list"):
        names.extend(f.name for f in attr.list.func)
    return [n for n in names if n]


def _node_ops(nodes: Any) -> tuple[list[tuple[str, Any]], set[str]]:
    """``[(op type, node)]`` and the functions the nodes call."""
    ops, calls = [], set()
    for node in nodes:
        ops.append((node.op, node))
        calls.add(node.op)  # a function can also be called as an op by its name
        for value in node.attr.values():
            calls.update(_func_names(value))
    return ops, calls


def _is_forbidden(op: str, node: Any) -> bool:
    if op in FORBIDDEN_OPS:
        return True
    if op == "PrintV2":  # tf.print(..., output_stream="file://...") appends to a file
        stream = node.attr["output_stream"].s.decode("utf-8", "replace")
        return stream.startswith("file://")
    return False


def check_saved_model_ops(path: str | os.PathLike[str]) -> None:
    """Refuse a SavedModel whose callable functions write files or call Python.

    Reads ``saved_model.pb`` (nothing is executed) and walks, from the functions the
    loader restores (the object graph's functions and the signatures) through every
    function they call, the op types of the graph; the checkpoint-saving function that
    every SavedModel carries, and that loading never calls, is left out.

    Raises:
        ModelFormatError: not a SavedModel, or an op of :data:`FORBIDDEN_OPS` (or
            ``PrintV2`` to a file); the message names the op and the function.
        MissingDependencyError: TensorFlow is not installed.

    Example:
        >>> check_saved_model_ops("universal-sentence-encoder_4")  # doctest: +SKIP
    """
    _tensorflow()
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    pb = Path(path) / "saved_model.pb"
    if not pb.is_file():
        raise ModelFormatError(f"{path}: no saved_model.pb; not a TensorFlow SavedModel folder")
    if pb.stat().st_size > _MAX_PB_BYTES:
        raise ModelFormatError(f"{pb}: {pb.stat().st_size} bytes, more than a SavedModel holds")
    model = saved_model_pb2.SavedModel()
    try:
        model.ParseFromString(pb.read_bytes())
    except DecodeError as err:
        raise ModelFormatError(f"{pb}: not a SavedModel protocol buffer ({err})") from None
    if not model.meta_graphs:
        raise ModelFormatError(f"{pb}: holds no meta graph")
    for meta in model.meta_graphs:
        library = {f.signature.name: f for f in meta.graph_def.library.function}
        by_name = {node.name: node for node in meta.graph_def.node}
        # the saver's nodes (and what they read) are only run by tf.train.Saver.save
        saver, todo = set(), []
        for tensor in (meta.saver_def.save_tensor_name, meta.saver_def.restore_op_name):
            if tensor:
                todo.append(tensor.split(":")[0].lstrip("^"))
        while todo:
            name = todo.pop()
            if name in saver or name not in by_name:
                continue
            saver.add(name)
            todo.extend(i.split(":")[0].lstrip("^") for i in by_name[name].input)
        main_ops, roots = _node_ops(n for n in meta.graph_def.node if n.name not in saver)
        roots.update(meta.object_graph_def.concrete_functions.keys())
        where = "the main graph"
        for op, node in main_ops:
            if _is_forbidden(op, node):
                raise ModelFormatError(
                    f"{path}: {where} contains a {op} op (node {node.name!r}); "
                    "transferkit refuses SavedModels that write files or call Python "
                    f"(refused ops: {', '.join(sorted(FORBIDDEN_OPS))}, PrintV2 to a file)"
                )
        seen: set[str] = set()
        todo = sorted(n for n in roots if n in library)
        while todo:
            fname = todo.pop()
            if fname in seen:
                continue
            seen.add(fname)
            ops, calls = _node_ops(library[fname].node_def)
            for op, node in ops:
                if _is_forbidden(op, node):
                    raise ModelFormatError(
                        f"{path}: function {fname!r} contains a {op} op (node {node.name!r}); "
                        "transferkit refuses SavedModels that write files or call Python "
                        f"(refused ops: {', '.join(sorted(FORBIDDEN_OPS))}, PrintV2 to a file)"
                    )
            todo.extend(c for c in calls if c in library and c not in seen)


def _folder_sha256(folder: Path) -> str:
    """sha256 over every regular file of a folder (relative path and content)."""
    digest = hashlib.sha256()
    files = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in names:
            full = Path(root) / name
            if full.is_file() and not full.is_symlink():
                files.append(full)
    for full in sorted(files, key=lambda p: p.relative_to(folder).as_posix()):
        rel = full.relative_to(folder).as_posix().encode("utf-8", "surrogateescape")
        digest.update(len(rel).to_bytes(8, "little") + rel)
        with open(full, "rb") as fh:
            file_digest = hashlib.file_digest(fh, "sha256").digest()
        digest.update(file_digest)
    return digest.hexdigest()


def _set_threads(tf: Any, threads: int) -> None:
    """Give TensorFlow ``threads`` threads, or warn when an earlier setting is fixed."""
    config = tf.config.threading
    want = int(threads)
    if (
        config.get_intra_op_parallelism_threads() == want
        and config.get_inter_op_parallelism_threads() == want
    ):
        return
    try:
        config.set_intra_op_parallelism_threads(want)
        config.set_inter_op_parallelism_threads(want)
    except RuntimeError:  # the runtime is initialised: thread pools are fixed
        if want in _WARNED_THREADS:
            return
        _WARNED_THREADS.add(want)
        warnings.warn(
            f"TensorFlow's thread pools were fixed before this encoder asked for {want} "
            f"thread(s) (intra-op {config.get_intra_op_parallelism_threads()}, inter-op "
            f"{config.get_inter_op_parallelism_threads()}; 0 means TensorFlow's default); "
            "TensorFlow sets them once per process",
            RuntimeWarning,
            stacklevel=4,
        )


class TFHubUSEEncoder(BaseEncoder):
    """A TF-Hub Universal Sentence Encoder SavedModel, run by TensorFlow.

    Input limit: the first 10,000 characters of a text; the rest is cut off before
    the text reaches the module.  The modules tokenize inside the graph, so the limit
    is counted in characters: about 1,500 to 2,000 English words, several times the
    sentences and short paragraphs USE was trained on.  It bounds the time and memory
    of one text (the Transformer module's attention grows with the square of the
    length).

    Args:
        path: the SavedModel directory (holding ``saved_model.pb`` and
            ``variables/``), e.g. an unpacked ``universal-sentence-encoder_4.tar.gz``.
        signature: the signature to call; ``None`` calls ``serving_default`` when the
            module has it, else the module's ``__call__``; ``"__call__"`` forces the
            callable.
        output_key: the output of a signature that returns several tensors (USE v4's
            and large v5's ``serving_default`` return one, ``"outputs"``); ``None``
            takes the only one.
        threads: TensorFlow intra- and inter-op threads (process wide, fixed by the
            first TensorFlow encoder of a process).

    Example:
        >>> import embeddings
        >>> enc = embeddings.load("use-tf", path="universal-sentence-encoder_4")  # doctest: +SKIP
        >>> X = enc.encode(["a cat", "a dog"])  # doctest: +SKIP
        >>> X.shape, X.dtype  # doctest: +SKIP
        ((2, 512), dtype('float32'))
    """

    family = "use"
    path_params = ("path",)
    adapter_version = "1"
    transient = ("_fn", "_model", "_dim", "_input_key", "_folder_id")
    max_input_length = 10_000
    max_input_unit = "characters"

    def __init__(
        self,
        *,
        path: str | None = None,
        signature: str | None = None,
        output_key: str | None = None,
        threads: int = 1,
    ) -> None:
        store_params(self, locals())

    def _validate(self) -> None:
        check_optional_str("path", self.path, "the SavedModel directory as a str")
        for key in ("signature", "output_key"):
            check_optional_str(key, getattr(self, key))
        check_int("threads", self.threads)

    # ------------------------------------------------------------------ loading
    def _load(self) -> None:
        if self.path is None:
            raise InvalidParameterError(
                "path is required: the directory of a TF-Hub USE SavedModel, e.g. "
                "embeddings.load('use-tf', path='universal-sentence-encoder_4')"
            )
        folder = Path(self.path).expanduser()
        if not folder.is_dir():
            raise ModelFormatError(f"{self.path}: not a directory; give a SavedModel folder")
        tf = _tensorflow()
        _set_threads(tf, self.threads)
        check_saved_model_ops(folder)
        if importlib.util.find_spec("tensorflow_text") is not None:
            importlib.import_module("tensorflow_text")  # registers SentencePiece ops
        try:
            model = tf.saved_model.load(str(folder))
        except Exception as err:  # TensorFlow raises many types for a bad folder
            text = str(err)
            if "Op type not registered" in text:
                raise MissingDependencyError(
                    f"{self.path}: the SavedModel uses ops TensorFlow does not know "
                    f"({text.splitlines()[0][:200]}); the multilingual USE modules need "
                    "tensorflow-text: pip install tensorflow-text"
                ) from err
            raise ModelFormatError(
                f"{self.path}: TensorFlow could not load the SavedModel "
                f"({type(err).__name__}: {text.splitlines()[0][:300] if text else ''})"
            ) from err
        self._model = model
        self._fn, self._input_key, spec_dim = self._pick_function(tf, model)
        self._dim = spec_dim if spec_dim is not None else self._probe_dim()
        self._folder_id = _folder_sha256(folder)

    def _pick_function(self, tf: Any, model: Any) -> tuple[Any, str | None, int | None]:
        """The function to call, its keyword (signatures) and the output width if static."""
        signatures = dict(getattr(model, "signatures", {}) or {})
        name = self.signature
        if name is None:
            name = "serving_default" if "serving_default" in signatures else "__call__"
        if name == "__call__":
            if not callable(model):
                raise ModelFormatError(
                    f"{self.path}: the SavedModel is not callable and has no serving_default "
                    f"signature; its signatures: {sorted(signatures) or 'none'}"
                )
            try:
                concrete = model.__call__.get_concrete_function(tf.TensorSpec([None], tf.string))
            except Exception as err:
                raise ModelFormatError(
                    f"{self.path}: the module's __call__ does not take a batch of strings "
                    f"({type(err).__name__}: {str(err)[:200]})"
                ) from err
            return model, None, self._spec_dim(concrete.structured_outputs)
        if name not in signatures:
            raise InvalidParameterError(
                f"{self.path}: no signature {name!r}; the SavedModel has "
                f"{sorted(signatures) or 'none'} (or use signature='__call__')"
            )
        fn = signatures[name]
        _, kwargs = fn.structured_input_signature
        strings = [k for k, spec in kwargs.items() if spec.dtype == tf.string]
        if len(kwargs) != 1 or len(strings) != 1 or kwargs[strings[0]].shape.rank != 1:
            found = {k: f"{spec.dtype.name}{list(spec.shape)}" for k, spec in kwargs.items()}
            raise ModelFormatError(
                f"{self.path}: signature {name!r} must take one 1-D string input (a batch of "
                f"texts), it takes {found}"
            )
        return fn, strings[0], self._spec_dim(self._select_output(fn.structured_outputs, name))

    def _select_output(self, outputs: Any, where: str) -> Any:
        if not isinstance(outputs, dict):
            return outputs
        if self.output_key is not None:
            if self.output_key not in outputs:
                raise InvalidParameterError(
                    f"{self.path}: {where} has no output {self.output_key!r}; "
                    f"outputs: {sorted(outputs)}"
                )
            return outputs[self.output_key]
        if len(outputs) != 1:
            raise InvalidParameterError(
                f"{self.path}: {where} returns several outputs {sorted(outputs)}; "
                "choose one with output_key"
            )
        return next(iter(outputs.values()))

    def _spec_dim(self, spec: Any) -> int | None:
        """The width of a ``(n, d)`` float output spec; ``None`` when ``d`` is not static."""
        if isinstance(spec, dict):
            spec = self._select_output(spec, "the module")
        shape = getattr(spec, "shape", None)
        dtype = getattr(spec, "dtype", None)
        if shape is None or dtype is None:
            raise ModelFormatError(
                f"{self.path}: the module returns {type(spec).__name__}, not one tensor"
            )
        if not dtype.is_floating:
            raise ModelFormatError(f"{self.path}: the module returns {dtype.name}, not floats")
        if shape.rank is not None and shape.rank != 2:
            raise ModelFormatError(
                f"{self.path}: the module returns shape {list(shape)}; a sentence encoder "
                "returns (n, d), one row per text"
            )
        dim = shape[1] if shape.rank == 2 else None
        if dim is not None and dim < 1:
            raise ModelFormatError(f"{self.path}: the module returns {dim}-wide vectors")
        return None if dim is None else int(dim)

    def _probe_dim(self) -> int:
        out = self._run(["a"])
        if out.ndim != 2 or out.shape[0] != 1 or out.shape[1] < 1:
            raise ModelFormatError(
                f"{self.path}: one text gave shape {out.shape}; a sentence encoder returns (n, d)"
            )
        return int(out.shape[1])

    # ------------------------------------------------------------------ encoding
    def _run(self, texts: list[str]) -> np.ndarray:
        import tensorflow as tf

        batch = tf.constant(texts, dtype=tf.string)
        if self._input_key is None:
            result = self._fn(batch)
        else:
            result = self._fn(**{self._input_key: batch})
        result = self._select_output(result, "the module")
        out = result.numpy() if hasattr(result, "numpy") else np.asarray(result)
        if not np.issubdtype(out.dtype, np.floating):
            raise EncodingError(f"{self.path}: the module returned {out.dtype}, not floats")
        return out

    def _output_dim(self) -> int:
        return int(self._dim)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        limit = int(self.max_input_length)
        out = self._run([t[:limit] for t in texts])
        if out.shape != (len(texts), self._dim):
            raise EncodingError(
                f"{self.path}: the module returned shape {out.shape} for {len(texts)} texts; "
                f"expected {(len(texts), self._dim)}"
            )
        return np.ascontiguousarray(out, dtype=np.float32)

    def _resource_id(self) -> str:
        self._ensure_loaded()
        import tensorflow as tf

        return f"savedmodel-sha256:{self._folder_id};tensorflow=={tf.__version__}"
