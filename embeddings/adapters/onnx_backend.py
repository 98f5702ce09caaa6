"""ONNX Runtime backend of the transformer adapter: export once, run with onnxruntime.

:func:`export_graph` turns a loaded transformer (the Hugging Face model, the pooling
of the folder, its ``Dense`` projections and its normalisation) into one ONNX graph
with ``torch.onnx.export``; the batch and sequence axes are dynamic.
:func:`quantize_graph` adds dynamic int8 quantization of the weights
(``onnxruntime.quantization.quantize_dynamic``, per output channel by default).
:func:`cached_graph` keeps both in the model cache (:func:`model_cache_dir`), in a
folder named by a fingerprint of everything that shapes the graph, written
atomically, so the export runs once per model and setting.

Layout::

    <model cache>/onnx/<fingerprint>/
      meta.json                 what the graph was made from, its inputs and dimension
      model.onnx                float32 graph
      model.int8.onnx           int8 weights, per-channel scales
      model.int8-tensor.onnx    int8 weights, one scale per tensor

:class:`OnnxRunner` runs a float32 graph on padded batches, as the torch backend
runs its model (a text's vector then varies with its batch only by float32 rounding),
and an int8 graph one text at a time: dynamic quantization computes the scale of each
activation tensor from its own values, so inside a batch a text's vector would depend
on its neighbours (by up to 0.05 for MiniLM); alone, it depends on nothing else.  One
text is too small a computation to share among threads, so a one-text-at-a-time runner
with ``threads=k`` runs ``k`` texts at once, each on one thread (ONNX Runtime sessions
take concurrent ``run`` calls); each vector is the same for any ``k``.

Example:
    >>> from embeddings.adapters.transformer import TransformerEncoder
    >>> enc = TransformerEncoder(model="minilm-l6", backend="onnx", quantize="int8")
    >>> enc.encode(["a sentence"]).shape  # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embeddings._atomic import atomic_write_bytes, atomic_write_text
from embeddings._checks import is_int
from embeddings._deps import process_threads, require
from embeddings.errors import InvalidParameterError, ModelFormatError

__all__ = [
    "OnnxRunner",
    "MAX_THREADS",
    "cached_graph",
    "default_threads",
    "effective_threads",
    "export_graph",
    "quantize_graph",
    "graph_file_name",
    "ONNX_FORMAT_VERSION",
    "OPSET",
]

#: bumped when the export changes the graph (invalidates cached exports)
ONNX_FORMAT_VERSION = 1
OPSET = 17
META_NAME = "meta.json"
#: the most threads an encoder may ask for (``threads``); a thread pool larger than
#: the machine only adds start-up and contention
MAX_THREADS = 64
Quantize = Literal["int8"] | None


def graph_file_name(quantize: Quantize, per_channel: bool) -> str:
    """The file of a graph variant inside a cache entry.

    Example:
        >>> graph_file_name(None, True), graph_file_name("int8", False)
        ('model.onnx', 'model.int8-tensor.onnx')
    """
    if quantize is None:
        return "model.onnx"
    return "model.int8.onnx" if per_channel else "model.int8-tensor.onnx"


def _require_onnx() -> tuple[Any, Any]:
    onnx = require("onnx", extra="onnx")
    ort = require("onnxruntime", extra="onnx")
    return onnx, ort


def export_graph(
    model: Any,
    dense: Sequence[Any],
    modes: Sequence[str],
    normalize: bool,
    example: dict[str, Any],
) -> bytes:
    """Export model + pooling + ``Dense`` + normalisation as one ONNX graph (bytes).

    Args:
        model: the Hugging Face ``torch.nn.Module`` (eager attention, so that the
            attention mask is part of the graph for any input).
        dense: the ``Dense`` projections (``torch.nn.Sequential`` of linear and activation).
        modes: pooling modes (:data:`embeddings.pooling.POOLING_MODES`).
        normalize: L2-normalise the output inside the graph.
        example: a tokenized batch (torch tensors) whose keys are the graph's inputs;
            a batch with padding, so that no branch of the model skips the mask.

    Returns:
        The serialised ONNX model: inputs ``example``'s keys (``int64 [batch,
        sequence]``), output ``sentence_embedding`` (``float32 [batch, dim]``).
    """
    torch = require("torch", extra="all")
    _require_onnx()
    from embeddings.pooling import pool

    names = list(example)

    class _Sentence(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.dense = torch.nn.ModuleList(list(dense))

        def forward(self, *tensors: Any) -> Any:
            batch = dict(zip(names, tensors, strict=True))
            out = self.model(**batch)
            sent = pool(out.last_hidden_state, batch["attention_mask"], list(modes))
            for layer in self.dense:
                sent = layer(sent)
            if normalize:
                sent = torch.nn.functional.normalize(sent, p=2, dim=1)
            return sent

    wrapper = _Sentence().eval()
    wrapper.requires_grad_(False)
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    axes["sentence_embedding"] = {0: "batch"}
    buf = io.BytesIO()
    import warnings

    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer notices about Python-level shape checks
        torch.onnx.export(
            wrapper,
            tuple(example[n] for n in names),
            buf,
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    return buf.getvalue()


def quantize_graph(fp32: Path, per_channel: bool = True) -> bytes:
    """Dynamic int8 quantization of a float32 graph's weights (bytes of the new graph).

    ``onnxruntime.quantization.quantize_dynamic`` with signed int8 weights: MatMul and
    Gemm weights get int8 values and scales (one per output channel with
    ``per_channel=True``, else one per tensor); activations are quantized at run time
    from their own range.
    """
    _require_onnx()
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs a pre-processing suggestion
    try:
        with tempfile.TemporaryDirectory(prefix="transferkit-quantize-") as tmp:
            out = Path(tmp) / "model.int8.onnx"
            quantize_dynamic(
                str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=per_channel
            )
            return out.read_bytes()
    finally:
        root.setLevel(level)


def _check_meta(meta: Any, where: Path) -> dict[str, Any]:
    fields = {"format_version": int, "key": dict, "inputs": list, "dim": int}
    if not isinstance(meta, dict) or set(meta) != set(fields):
        raise ModelFormatError(f"{where}: expected the fields {sorted(fields)}")
    for name, kind in fields.items():
        if not isinstance(meta[name], kind) or isinstance(meta[name], bool):
            raise ModelFormatError(f"{where}: field {name!r} must be a {kind.__name__}")
    if meta["dim"] < 1 or not all(isinstance(n, str) for n in meta["inputs"]):
        raise ModelFormatError(f"{where}: 'dim' must be >= 1 and 'inputs' a list of names")
    return meta


def cached_graph(
    cache: Path,
    key: dict[str, Any],
    quantize: Quantize,
    per_channel: bool,
    export: Any,
) -> tuple[Path, dict[str, Any]]:
    """The path of a graph variant in the model cache, exported first when missing.

    Args:
        cache: the model cache folder.
        key: everything that shapes the float32 graph (weights identity, pooling,
            normalisation, exporter versions); its sha256 names the cache entry.
        quantize: ``None`` or ``"int8"``.
        per_channel: int8 scales per output channel (else per tensor).
        export: a callable returning ``(onnx bytes, input names, dim)``, called only
            when the float32 graph is not cached yet.

    Returns:
        (graph path, the entry's ``meta.json`` contents).
    """
    blob = json.dumps({"v": ONNX_FORMAT_VERSION, **key}, sort_keys=True, ensure_ascii=False)
    entry = cache / "onnx" / hashlib.sha256(blob.encode()).hexdigest()[:32]
    meta_path = entry / META_NAME
    fp32 = entry / graph_file_name(None, True)
    if not (meta_path.is_file() and fp32.is_file()):
        data, inputs, dim = export()
        atomic_write_bytes(fp32, data)
        meta = {"format_version": ONNX_FORMAT_VERSION, "key": key, "inputs": inputs, "dim": dim}
        atomic_write_text(meta_path, json.dumps(meta, indent=2, sort_keys=True) + "\n")
    try:
        meta = _check_meta(json.loads(meta_path.read_text(encoding="utf-8")), meta_path)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelFormatError(
            f"{meta_path}: not readable JSON ({err}); delete {entry} to export again"
        ) from err
    path = entry / graph_file_name(quantize, per_channel)
    if quantize is not None and not path.is_file():
        atomic_write_bytes(path, quantize_graph(fp32, per_channel=per_channel))
    return path, meta


def default_threads() -> int:
    """The CPU threads this process runs on (:func:`embeddings._deps.process_threads`).

    Example:
        >>> default_threads() >= 1
        True
    """
    return process_threads()


def effective_threads(threads: int | None) -> int:
    """The intra-op threads to run with: ``threads`` (1 to :data:`MAX_THREADS`) clamped to
    the CPUs this process may use, or all of those CPUs for ``None``.  The clamp
    changes no vector: it only leaves out threads that would share a CPU.

    Example:
        >>> effective_threads(1), effective_threads(64) == default_threads()
        (1, True)
    """
    if threads is None:
        return default_threads()
    if not is_int(threads) or not 1 <= threads <= MAX_THREADS:
        raise InvalidParameterError(
            f"threads must be None or an int in [1, {MAX_THREADS}], got {threads!r}"
        )
    return min(int(threads), default_threads())


class OnnxRunner:
    """An onnxruntime session over a sentence graph (padded batches, or one text at a time).

    Args:
        path: the ``.onnx`` file.
        inputs: the graph's input names (tokenizer keys).
        threads: 1 to :data:`MAX_THREADS`: threads of :meth:`run_batch` (onnxruntime
            intra-op threads, at most the CPUs this process may use,
            :func:`effective_threads`; inter-op: 1, sequential execution).
        one_text: the runner is for :meth:`run` (one text at a time): its session gets
            one intra-op thread and :meth:`run` runs ``threads`` texts at once.

    Example:
        >>> runner = OnnxRunner(path, ["input_ids", "attention_mask"], threads=1)  # doctest: +SKIP
        >>> runner.run([{"input_ids": [101, 102], "attention_mask": [1, 1]}])  # doctest: +SKIP
    """

    def __init__(
        self, path: Path, inputs: Sequence[str], threads: int, *, one_text: bool = False
    ) -> None:
        intra = effective_threads(threads)  # checks 1 <= threads <= MAX_THREADS
        _, ort = _require_onnx()
        self.workers = int(threads) if one_text else 1
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1 if one_text else intra
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own exception types
            raise ModelFormatError(
                f"{path}: onnxruntime cannot load the graph ({err}); delete its folder to "
                "export again"
            ) from err
        self.path = Path(path)
        self.inputs = list(inputs)
        graph_inputs = [i.name for i in self.session.get_inputs()]
        if sorted(graph_inputs) != sorted(self.inputs):
            raise ModelFormatError(
                f"{path}: graph inputs {graph_inputs} differ from {self.inputs}; delete its "
                "folder to export again"
            )

    def run_batch(self, batch: dict[str, Any]) -> np.ndarray:
        """Vectors of one padded batch (input name -> ``(batch, sequence)`` token ids)."""
        feed = {n: np.asarray(batch[n], dtype=np.int64) for n in self.inputs}
        return np.asarray(self.session.run(None, feed)[0], dtype=np.float32)

    def _run_one(self, item: dict[str, Sequence[int]]) -> np.ndarray:
        feed = {n: np.asarray([item[n]], dtype=np.int64) for n in self.inputs}
        return np.asarray(self.session.run(None, feed)[0][0])

    def run(self, encoded: Sequence[dict[str, Sequence[int]]]) -> np.ndarray:
        """Vectors of tokenized texts, one session run per text (each a mapping of input
        name -> token ids), ``workers`` runs at a time, in input order."""
        if self.workers > 1 and len(encoded) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(self.workers, len(encoded))) as pool:
                rows = list(pool.map(self._run_one, encoded))
        else:
            rows = [self._run_one(item) for item in encoded]
        return np.asarray(rows, dtype=np.float32)
