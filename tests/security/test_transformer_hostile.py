"""Hostile transformer folders (sentence-transformers / Hugging Face layouts) and ONNX settings.

Each test copies a tiny valid folder (random 2-layer BERT, CLS+mean pooling, one Dense
layer, Normalize) into ``tmp_path``, damages one thing and checks that loading ends in
a transferkit error naming the file and field, within bounded time and memory, without
reading outside the folder or running code from it.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

import embeddings
from embeddings.adapters.transformer import TransformerEncoder
from embeddings.errors import InvalidParameterError, ModelFormatError
from tests.security.limits import assert_bounded, run_limited
from tests.security.probes import edit_json, write_json
from tests.security.probes.transformer import add_tokens, build_base, set_token_ids

TEXTS = ["the cat sat on the mat", "stocks fell sharply"]
IMPORTS = (
    "import embeddings, torch, transformers\n"
    "from embeddings.adapters.transformer import TransformerEncoder"
)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A valid sentence-transformers folder: tiny BERT, CLS&mean, Dense(64->8, tanh), Normalize."""
    root = tmp_path_factory.mktemp("hostile-st") / "st"
    build_base(root)
    return root


@pytest.fixture()
def folder(base, tmp_path) -> Path:
    """A fresh copy of the valid folder, to damage."""
    target = tmp_path / "model"
    shutil.copytree(base, target)
    return target


def _refused(folder: Path, match: str, **params: object) -> ModelFormatError:
    with pytest.raises(ModelFormatError, match=match) as info:
        TransformerEncoder(model=str(folder), **params).encode(TEXTS)
    return info.value


# ----------------------------------------------------------- paths out of the folder
@pytest.mark.parametrize("how", ["dotdot", "absolute", "symlink-file", "symlink-folder"])
def test_module_paths_leaving_the_folder_are_refused(folder, tmp_path, how) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    write_json(outside / "config.json", {"pooling_mode": "max"})
    modules = json.loads((folder / "modules.json").read_text())
    if how == "dotdot":
        modules[1]["path"] = "../outside"
    elif how == "absolute":
        modules[1]["path"] = str(outside)
    elif how == "symlink-file":
        (folder / "1_Pooling" / "config.json").unlink()
        (folder / "1_Pooling" / "config.json").symlink_to(outside / "config.json")
    else:
        shutil.rmtree(folder / "1_Pooling")
        (folder / "1_Pooling").symlink_to(outside, target_is_directory=True)
    write_json(folder / "modules.json", modules)
    _refused(folder, "outside the model folder")


def test_a_link_out_of_the_transformer_folder_is_refused(folder, tmp_path) -> None:
    (tmp_path / "secret.txt").write_text("[PAD]\n[UNK]\n")
    (folder / "vocab.txt").unlink()
    (folder / "vocab.txt").symlink_to(tmp_path / "secret.txt")
    _refused(folder, "outside the model folder")


def test_a_shard_index_naming_a_file_outside_is_refused(folder) -> None:
    write_json(
        folder / "model.safetensors.index.json",
        {"weight_map": {"embeddings.word_embeddings.weight": "../../elsewhere.safetensors"}},
    )
    _refused(folder, "weight_map.*outside the model folder")


def test_a_symbolic_link_loop_is_refused(folder) -> None:
    modules = json.loads((folder / "modules.json").read_text())
    modules[1]["path"] = "loop"
    (folder / "loop").symlink_to(folder / "loop")
    write_json(folder / "modules.json", modules)
    _refused(folder, "loop.*cannot be resolved")


def test_a_hub_snapshot_may_link_into_its_blobs(base, tmp_path) -> None:
    """The Hugging Face cache layout (files linked to ../../blobs) still loads, and its
    vectors are unit length (the Normalize module applies)."""
    repo = tmp_path / "models--x--tiny"
    snapshot = repo / "snapshots" / "abc123"
    shutil.copytree(base, snapshot)
    (repo / "blobs").mkdir()
    weights = snapshot / "model.safetensors"
    shutil.move(weights, repo / "blobs" / "0123")
    weights.symlink_to(Path("../../blobs/0123"))
    vectors = TransformerEncoder(model=str(snapshot)).encode(TEXTS)
    assert vectors.shape == (2, 8)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


# ------------------------------------------------------------------ broken configs
@pytest.mark.parametrize(
    ("modules", "match"),
    [
        ([], "JSON list"),
        (["Transformer"], "module 0 must be a JSON object"),
        ([{"idx": 0, "path": ""}], "module 0: field 'type'"),
        ([{"idx": 0, "type": "x.Transformer"}], "module 0: field 'path'"),
        ([{"idx": 0, "type": "x.Transformer", "path": 3}], "module 0: field 'path'"),
        ([{"idx": "0", "type": "x.Transformer", "path": ""}], "module 0: field 'idx'"),
        ([{"idx": 0, "type": "x.Transformer", "path": ""}] * 65, "JSON list of 1 to 64"),
        ([{"idx": 0, "type": "x.Transformer", "path": "nowhere"}], "names no folder"),
        ([{"idx": 0, "type": "x.Pooling", "path": "1_Pooling"}], "in this order"),
    ],
)
def test_broken_modules_json_is_a_model_format_error(folder, modules, match) -> None:
    write_json(folder / "modules.json", modules)
    err = _refused(folder, match)
    assert "modules.json" in str(err)


def test_modules_out_of_order_are_refused(folder) -> None:
    """Normalize before Dense would be applied after it: refused rather than reordered."""
    modules = json.loads((folder / "modules.json").read_text())
    modules[2], modules[3] = modules[3], modules[2]
    write_json(folder / "modules.json", modules)
    _refused(folder, "in this order")


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"in_features": None}, "'in_features' is missing"),
        ({"out_features": "8"}, "'out_features' must be an int"),
        ({"in_features": 10**9}, "'in_features' must be an int in"),
        ({"out_features": 0}, "'out_features' must be an int in"),
        ({"bias": "yes"}, "'bias' must be true or false"),
        ({"activation_function": "os.system"}, "'activation_function'.*not supported"),
        ({"activation_function": ["x"]}, "'activation_function'.*not supported"),
        ({"in_features": 32}, "'in_features' is 32, but the module before it gives vectors of 64"),
        ({"out_features": 9}, "linear.weight' has shape"),
    ],
)
def test_broken_dense_config_is_a_model_format_error(folder, fields, match) -> None:
    edit_json(folder / "2_Dense" / "config.json", **fields)
    err = _refused(folder, match)
    assert "2_Dense" in str(err)


def test_a_dense_config_that_is_not_an_object_is_refused(folder) -> None:
    write_json(folder / "2_Dense" / "config.json", [64, 8])
    _refused(folder, "2_Dense/config.json: expected a JSON object")


def test_dense_weights_with_wrong_tensors_or_nan_are_refused(folder) -> None:
    import torch
    from safetensors.torch import save_file

    path = str(folder / "2_Dense" / "model.safetensors")
    save_file({"linear.weight": torch.zeros(8, 64), "other": torch.zeros(1)}, path)
    _refused(folder, "must hold exactly")
    save_file(
        {"linear.weight": torch.full((8, 64), float("nan")), "linear.bias": torch.zeros(8)}, path
    )
    _refused(folder, "NaN or infinite")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ({"pooling_mode": 3}, "'pooling_mode' must be a mode name"),
        ({"pooling_mode": []}, "'pooling_mode' must be a mode name"),
        ({"pooling_mode_cls_token": "yes"}, "'pooling_mode_cls_token' must be true or false"),
        (["cls"], "expected a JSON object"),
    ],
)
def test_broken_pooling_config_is_a_model_format_error(folder, content, match) -> None:
    write_json(folder / "1_Pooling" / "config.json", content)
    err = _refused(folder, match)
    assert "1_Pooling" in str(err)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ({"max_seq_length": "16"}, "'max_seq_length' must be an int"),
        ({"max_seq_length": 0}, "'max_seq_length' must be an int"),
        ({"do_lower_case": "no"}, "'do_lower_case' must be true or false"),
        ([16], "expected a JSON object"),
    ],
)
def test_broken_sentence_bert_config_is_a_model_format_error(folder, content, match) -> None:
    write_json(folder / "sentence_bert_config.json", content)
    err = _refused(folder, match)
    assert "sentence_bert_config.json" in str(err)


def test_unreadable_json_files_are_refused(folder) -> None:
    (folder / "modules.json").write_bytes(b"\xff\xfe[")
    _refused(folder, "modules.json: not UTF-8")
    (folder / "modules.json").write_bytes(b"[" * 100_000 + b"]" * 100_000)
    _refused(folder, "modules.json: JSON nested too deeply")
    (folder / "modules.json").write_bytes(b" " * (9 << 20))
    _refused(folder, "modules.json: .* bytes; a configuration file may have at most")


# ------------------------------------------------------------ sequence length limit
def test_max_seq_length_beyond_the_positions_is_refused_at_load(folder) -> None:
    enc = TransformerEncoder(model=str(folder), max_seq_length=100)
    with pytest.raises(InvalidParameterError, match="max_seq_length=100.*at most 64 tokens"):
        enc.encode(["good " * 200])
    assert TransformerEncoder(model=str(folder), max_seq_length=64).encode(["good " * 200]).shape


def test_a_saved_max_seq_length_beyond_the_positions_is_a_format_error(folder) -> None:
    edit_json(folder / "sentence_bert_config.json", max_seq_length=1000)
    err = _refused(folder, "'max_seq_length' is 1000.*at most 64 tokens")
    assert "sentence_bert_config.json" in str(err)


def test_position_offset_models_allow_two_tokens_less() -> None:
    from embeddings.adapters.transformer import _check_hf_config

    cfg = {"model_type": "xlm-roberta", "max_position_embeddings": 514, "pad_token_id": 1}
    assert _check_hf_config(cfg, Path("config.json")) == 512
    assert (
        _check_hf_config({"model_type": "bert", "max_position_embeddings": 512}, Path("c")) == 512
    )


def test_without_any_limit_inputs_are_cut_at_512(folder) -> None:
    """A tokenizer that declares no length limit and a model without position embeddings
    limit: texts are cut at 512 tokens, not left unbounded."""
    write_json(folder / "sentence_bert_config.json", {})
    edit_json(folder / "tokenizer_config.json", model_max_length=10**30)
    enc = TransformerEncoder(model=str(folder))
    enc.encode(["a"])
    assert enc._max_len == 64  # the position embeddings
    from embeddings.adapters import transformer

    layout = transformer._read_layout(folder)._replace(positions=None)
    assert enc._sequence_limit(layout) == 512


# --------------------------------------------------------------- weights files
class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("where", ["", "2_Dense"])
def test_a_pickle_payload_is_refused_and_never_run(folder, tmp_path, where) -> None:
    marker = tmp_path / "ran"
    sub = folder / where
    (sub / "model.safetensors").unlink()
    (sub / "pytorch_model.bin").write_bytes(pickle.dumps({"weight": _Payload(marker)}))
    err = _refused(folder, "pytorch_model.bin: holds pickled objects other than tensors")
    assert "Weights only load failed" not in str(err)
    assert not marker.exists()


@pytest.mark.parametrize("where", ["", "2_Dense"])
def test_a_checkpoint_with_compressed_entries_is_refused(folder, where) -> None:
    """A deflated zip entry could expand to gigabytes from a small file; torch.save never
    compresses, so any compressed entry is refused before loading."""
    import io
    import zipfile

    import torch
    from safetensors.torch import load_file

    sub = folder / where
    state = load_file(str(sub / "model.safetensors"))
    state["padding"] = torch.zeros(1 << 20)  # 4 MiB of zeros, a few KiB compressed
    (sub / "model.safetensors").unlink()
    plain = io.BytesIO()
    torch.save(state, plain)
    with (
        zipfile.ZipFile(plain) as src,
        zipfile.ZipFile(sub / "pytorch_model.bin", "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    assert (sub / "pytorch_model.bin").stat().st_size < 1 << 20
    _refused(folder, "pytorch_model.bin: .* compressed")


@pytest.mark.parametrize("where", ["", "2_Dense"])
@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_a_corrupt_safetensors_file_is_refused(folder, where, damage) -> None:
    path = folder / where / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"\xff" * 8 + b"{}")
    _refused(folder, "model.safetensors: truncated or corrupt")


def test_weights_missing_from_the_files_are_refused(folder) -> None:
    """A config.json declaring more layers than the weights hold would get random layers."""
    edit_json(folder / "config.json", num_hidden_layers=4)
    _refused(folder, "lack .* tensor\\(s\\).*would be random")


def test_a_config_declaring_a_huge_model_is_refused_within_bounds(folder) -> None:
    edit_json(folder / "config.json", num_hidden_layers=20000)
    body = f"TransformerEncoder(model={str(folder)!r}).encode(['a'])"
    result = run_limited(body, imports=IMPORTS, seconds=20)
    assert_bounded(result, seconds=20, allowed=("ModelFormatError",))
    assert "'num_hidden_layers' must be an int in [1, 256]" in result.message
    edit_json(folder / "config.json", num_hidden_layers=2, intermediate_size=1 << 20)
    result = run_limited(body, imports=IMPORTS, seconds=20)
    assert_bounded(result, seconds=20, allowed=("ModelFormatError",))
    assert "MiB of float32 weights" in result.message


# --------------------------------------------------------------- tokenizer checks
def test_a_tokenizer_larger_than_the_embeddings_is_refused(folder) -> None:
    add_tokens(folder, [f"word{i}" for i in range(5)])
    _refused(folder, "token ids up to 23, but config.json field 'vocab_size' embeds only 19")


def test_a_tokenizer_id_beyond_the_embeddings_is_refused(folder) -> None:
    set_token_ids(folder, {"cat": 10**6})
    _refused(folder, "token ids up to 1000000")


def test_a_tokenizer_without_padding_is_refused_at_load(folder) -> None:
    edit_json(folder / "tokenizer_config.json", pad_token=None)
    _refused(folder, "no padding token")


# ------------------------------------------------------------------- threads
def test_threads_have_a_maximum() -> None:
    with pytest.raises(InvalidParameterError, match=r"threads must be None or an int in \[1, 64\]"):
        TransformerEncoder(threads=4096).encode(["a"])


def test_a_saved_config_with_too_many_threads_is_refused_at_load(tmp_path) -> None:
    TransformerEncoder(model="minilm-l6", threads=2).save(tmp_path / "enc")
    config = json.loads((tmp_path / "enc" / "config.json").read_text())
    config["params"]["threads"] = 4096
    write_json(tmp_path / "enc" / "config.json", config)
    with pytest.raises(ModelFormatError, match=r"threads must be None or an int in \[1, 64\]"):
        embeddings.load(tmp_path / "enc")


def test_threads_beyond_the_cpus_are_clamped_with_the_same_vectors(folder) -> None:
    from embeddings.adapters.onnx_backend import default_threads, effective_threads

    assert effective_threads(64) == default_threads()
    many = TransformerEncoder(model=str(folder), threads=64).encode(TEXTS)
    cores = TransformerEncoder(model=str(folder), threads=default_threads()).encode(TEXTS)
    np.testing.assert_array_equal(many, cores)


def test_onnx_threads_are_clamped_to_the_cpus(folder, tmp_path, monkeypatch) -> None:
    pytest.importorskip("onnxruntime")
    from embeddings.adapters.onnx_backend import default_threads

    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    many = TransformerEncoder(model=str(folder), backend="onnx", threads=64)
    vectors = many.encode(TEXTS)
    options = many._runner.session.get_session_options()
    assert options.intra_op_num_threads == default_threads()
    cores = TransformerEncoder(model=str(folder), backend="onnx", threads=default_threads())
    np.testing.assert_array_equal(vectors, cores.encode(TEXTS))


def test_an_edited_dense_config_is_not_served_a_stale_onnx_graph(
    folder, tmp_path, monkeypatch
) -> None:
    pytest.importorskip("onnxruntime")
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    tanh = TransformerEncoder(model=str(folder), backend="onnx", threads=1).encode(TEXTS)
    edit_json(
        folder / "2_Dense" / "config.json",
        activation_function="torch.nn.modules.linear.Identity",
    )
    identity = TransformerEncoder(model=str(folder), backend="onnx", threads=1).encode(TEXTS)
    torch_identity = TransformerEncoder(model=str(folder)).encode(TEXTS)
    assert np.abs(identity - torch_identity).max() < 1e-5
    assert np.abs(identity - tanh).max() > 1e-3


# -------------------------------------------------------------------- devices
@pytest.mark.parametrize("device", ["gpu", "CUDA", "cuda:x", "meta", ""])
def test_an_unknown_device_lists_the_machine_devices(device) -> None:
    with pytest.raises(InvalidParameterError, match=r"this machine has \['cpu'") as info:
        TransformerEncoder(device=device).encode(["a"])
    assert repr(device) in str(info.value)


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:7", "mps"])
def test_a_device_this_machine_lacks_is_refused_at_load(folder, device) -> None:
    from embeddings.adapters.transformer import _machine_devices

    if device in (_machine_devices() or []):
        pytest.skip(f"this machine has {device}")
    with pytest.raises(InvalidParameterError, match="this machine has") as info:
        TransformerEncoder(model=str(folder), device=device).encode(["a"])
    assert repr(device) in str(info.value)


def test_a_saved_config_with_an_unknown_device_is_refused_at_load(tmp_path) -> None:
    TransformerEncoder(model="minilm-l6").save(tmp_path / "enc")
    config = json.loads((tmp_path / "enc" / "config.json").read_text())
    config["params"]["device"] = "gpu"
    write_json(tmp_path / "enc" / "config.json", config)
    with pytest.raises(ModelFormatError, match="device must be a torch device"):
        embeddings.load(tmp_path / "enc")


# ---------------------------------------------------------------- special files
def test_fifos_in_the_folder_are_refused_without_blocking(folder) -> None:
    names = [
        "modules.json",
        "config.json",
        "tokenizer_config.json",
        "sentence_bert_config.json",
        "1_Pooling/config.json",
        "2_Dense/config.json",
        "2_Dense/model.safetensors",
        "special_tokens_map.json",
    ]
    body = f"""
    import os, shutil
    base = {str(folder)!r}
    for i, name in enumerate({names!r}):
        copy = base + f"-{{i}}"
        shutil.copytree(base, copy)
        if os.path.lexists(os.path.join(copy, name)):
            os.unlink(os.path.join(copy, name))
        os.mkfifo(os.path.join(copy, name))
        try:
            TransformerEncoder(model=copy).encode(["a"])
        except embeddings.ModelFormatError as err:
            assert "FIFO" in str(err), (name, str(err))
        else:
            raise AssertionError(name + " was read")
    raise embeddings.ModelFormatError("all refused")
    """
    result = run_limited(body, imports=IMPORTS, seconds=20)
    assert_bounded(result, seconds=20, allowed=("ModelFormatError",))
    assert result.message == "all refused"
