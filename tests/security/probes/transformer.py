"""Transformer folders (sentence-transformers / Hugging Face layouts) and their settings:
module paths leaving the folder, broken ``modules.json`` / Dense / Pooling / sentence-bert
configs, pickled and damaged weights, declared model sizes, tokenizers, remote code,
FIFOs, links, threads, devices, stale ONNX graphs and zip bombs.

Each variant copies a tiny valid folder (random 2-layer BERT, CLS+mean pooling, a Dense
layer, Normalize) and damages one thing.  ``expect``: "error" (a transferkit error),
"ok" (finite vectors of the right shape) or "base" (exactly the undamaged folder's
vectors).
"""

from __future__ import annotations

import io
import json
import pickle
import shutil
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tests.security.probes import Ctx, Variant, check, edit_json, mkfifo, write_json
from tests.security.probes._zips import Payload, write_zero_member

ST = "sentence_transformers.models."
TEXTS = ["the cat sat on the mat", "stocks fell sharply", "good film " * 200]
_BASE: dict[str, np.ndarray] = {}

Setup = Callable[[Path, Ctx], Any]


def build_base(root: Path) -> None:
    """A valid sentence-transformers folder at ``root``: the tiny BERT, CLS&mean pooling,
    Dense(64->8, tanh), Normalize."""
    import torch
    from safetensors.torch import save_file

    from tests.adapters.test_transformer import _tiny_bert

    _tiny_bert(root)
    write_json(root / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": ST + "Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": ST + "Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": ST + "Dense"},
        {"idx": 3, "name": "3", "path": "3_Normalize", "type": ST + "Normalize"},
    ])  # fmt: skip
    (root / "1_Pooling").mkdir()
    write_json(root / "1_Pooling" / "config.json", {"pooling_mode": ["cls", "mean"]})
    (root / "2_Dense").mkdir()
    write_json(root / "2_Dense" / "config.json", {
        "in_features": 64, "out_features": 8, "bias": True,
        "activation_function": "torch.nn.modules.activation.Tanh"})  # fmt: skip
    torch.manual_seed(2)
    save_file({"linear.weight": torch.randn(8, 64), "linear.bias": torch.randn(8)},
              str(root / "2_Dense" / "model.safetensors"))  # fmt: skip
    (root / "3_Normalize").mkdir()
    write_json(root / "sentence_bert_config.json", {"max_seq_length": 16, "do_lower_case": False})


def _bomb(path: Path, state: dict[str, Any]) -> None:
    """A torch zip checkpoint whose marker tensor's storage inflates to 1.2 GB of zeros."""
    import torch

    buf = io.BytesIO()
    torch.save({**state, "big": torch.zeros(13)}, buf)
    src = zipfile.ZipFile(buf)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            if "/data/" in info.filename and info.file_size == 52:
                write_zero_member(zf, info.filename, b"", 1_200_000_000)
            else:
                zf.writestr(info.filename, src.read(info.filename))


def setup(shared: Path) -> None:
    """Build the valid folder and the zip bombs once; encode the reference vectors."""
    import torch
    import transformers  # noqa: F401

    from embeddings.adapters.transformer import TransformerEncoder

    base = shared / "st"
    if not (shared / ".built").exists():
        shutil.rmtree(base, ignore_errors=True)
        build_base(base)
        from safetensors.torch import load_file

        _bomb(shared / "dense-bomb.bin", {"linear.weight": torch.zeros(8, 64),
                                          "linear.bias": torch.zeros(8)})  # fmt: skip
        _bomb(shared / "hf-bomb.bin", load_file(str(base / "model.safetensors")))
        (shared / ".built").write_text("")
    _BASE["vectors"] = TransformerEncoder(model=str(base)).encode(TEXTS)


def modules(f: Path) -> list[dict[str, Any]]:
    return json.loads((f / "modules.json").read_text())


def T(label: str, setup: Setup, expect: str = "error", seconds: float = 5) -> Variant:
    """Copy the valid folder, damage it with ``setup(folder, ctx)`` (which may return
    encoder parameters), then load and encode."""

    def run(ctx: Ctx) -> None:
        from embeddings.adapters.transformer import TransformerEncoder

        folder = ctx.copy("st", "model")
        ret = setup(folder, ctx)
        params = dict(ret) if isinstance(ret, dict) else {}
        texts = params.pop("__texts__", TEXTS)
        ctx.arm()
        if "__saved__" in params:
            TransformerEncoder(model="minilm-l6").save(ctx.tmp / "enc")
            cfg = json.loads((ctx.tmp / "enc/config.json").read_text())
            cfg["params"].update(params.pop("__saved__"))
            (ctx.tmp / "enc/config.json").write_text(json.dumps(cfg))
            import embeddings

            v = embeddings.load(ctx.tmp / "enc").encode(texts)
        else:
            v = TransformerEncoder(model=str(folder), **params).encode(texts)
        check(np.isfinite(v).all() and v.ndim == 2 and v.shape[0] == len(texts),
              f"malformed vectors {v.shape}")  # fmt: skip
        if expect == "base":
            base = _BASE["vectors"]
            check(v.shape == base.shape and np.abs(v - base).max() < 1e-6,
                  "vectors differ from the valid folder's")  # fmt: skip

    return Variant(label, run, expect="error" if expect == "error" else "ok", seconds=seconds)


def _set_modules(edit: Callable[[list[dict[str, Any]]], object]) -> Setup:
    def setup(f: Path, ctx: Ctx) -> None:
        m = modules(f)
        edit(m)
        write_json(f / "modules.json", m)

    return setup


def _path(i: int, value: Callable[[Ctx], str] | str) -> Setup:
    def setup(f: Path, ctx: Ctx) -> None:
        _outside_files(ctx, f)
        m = modules(f)
        m[i]["path"] = value(ctx) if callable(value) else value
        write_json(f / "modules.json", m)

    return setup


def _outside_files(ctx: Ctx, f: Path) -> None:
    write_json(ctx.outside / "config.json", {"pooling_mode": "max"})
    shutil.copytree(f / "2_Dense", ctx.outside / "d2", dirs_exist_ok=True)


def _link(rel: str, target: Callable[[Ctx], Path], is_dir: bool = False) -> Setup:
    def setup(f: Path, ctx: Ctx) -> None:
        _outside_files(ctx, f)
        p = f / rel
        shutil.rmtree(p) if is_dir else p.unlink()
        p.symlink_to(target(ctx), target_is_directory=is_dir)

    return setup


PATHS = [
    T("../outside as a module path", _path(1, "../../outside")),
    T("absolute module path", _path(1, lambda ctx: str(ctx.outside))),
    T("pooling config links outside", _link("1_Pooling/config.json",
                                            lambda ctx: ctx.outside / "config.json")),
    T("pooling folder links outside", _link("1_Pooling", lambda ctx: ctx.outside, True)),
    T("dense path outside", _path(2, "../../outside/d2")),
    T("transformer path ../../..", _path(0, "../../..")),
    T("1_Pooling/../../outside", _path(1, "1_Pooling/../../../outside")),
    T("dense weights link outside", _link("2_Dense/model.safetensors",
                                          lambda ctx: ctx.outside / "d2/model.safetensors")),
]  # fmt: skip

BROKEN_MODULES: dict[str, object] = {
    "a dict": {"idx": 0}, "empty": [], "a string entry": ["Transformer"],
    "no type": [{"idx": 0, "path": ""}], "no path": [{"idx": 0, "type": ST + "Transformer"}],
    "int path": [{"idx": 0, "type": ST + "Transformer", "path": 3}],
    "string idx": [{"idx": "0", "type": ST + "Transformer", "path": ""}],
    "null type": [{"type": None, "path": ""}],
    "1000 transformers": [{"type": ST + "Transformer", "path": ""}] * 1000,
    "missing folder": [{"type": ST + "Transformer", "path": "nope"}],
    "no transformer": [{"type": ST + "Pooling", "path": "1_Pooling"}],
    "type os.system": [{"type": "os.system", "path": ""}],
    "pooling folder missing": [{"type": ST + "Transformer", "path": ""},
                               {"type": ST + "Pooling", "path": "nope"}],
    "a number": 7,
}  # fmt: skip


def _write(rel: str, value: object) -> Setup:
    return lambda f, ctx: write_json(f / rel, value)


def _edit(rel: str, **fields: object) -> Setup:
    return lambda f, ctx: edit_json(f / rel, **fields)


DENSE: dict[str, dict[str, object]] = {
    "in_features missing": {"in_features": None}, "out_features a string": {"out_features": "8"},
    "in_features 10**9": {"in_features": 10**9},
    "65536 x 65536": {"in_features": 65536, "out_features": 65536},
    "out_features 0": {"out_features": 0}, "in_features -1": {"in_features": -1},
    "out_features 8.0": {"out_features": 8.0}, "bias 'yes'": {"bias": "yes"},
    "activation os.system": {"activation_function": "os.system"},
    "activation a list": {"activation_function": ["x"]},
    "in_features mismatch": {"in_features": 32}, "out_features mismatch": {"out_features": 9},
}  # fmt: skip


def _unlink(rel: str) -> Setup:
    return lambda f, ctx: (f / rel).unlink()


def _params(params: dict[str, Any]) -> Setup:
    return lambda f, ctx: params


def _pickle_weights(where: str, how: str) -> Setup:
    def setup(f: Path, ctx: Ctx) -> None:
        import torch

        d = f / where
        (d / "model.safetensors").unlink()
        payload = {"w": Payload(str(ctx.marker("pickle-ran")))}
        if how == "pickle":
            (d / "pytorch_model.bin").write_bytes(pickle.dumps(payload))
        elif how == "torch zip":
            torch.save(payload, d / "pytorch_model.bin")
        elif how == "garbage":
            (d / "pytorch_model.bin").write_bytes(b"PK\x03\x04garbage")
        elif how == "list":
            torch.save([torch.zeros(2)], d / "pytorch_model.bin")

    return setup


def _safetensors(where: str, how: str) -> Setup:
    def setup(f: Path, ctx: Ctx) -> None:
        p = f / where / "model.safetensors"
        if how == "truncated":
            b = p.read_bytes()
            p.write_bytes(b[: len(b) // 2])
        elif how == "garbage":
            p.write_bytes(b"\xff" * 8 + b"{}")
        elif how == "header 10**12":
            p.write_bytes(struct.pack("<Q", 10**12) + b"{")
        elif how == "empty":
            p.write_bytes(b"")
        else:  # the header claims a 40 GB tensor, the file holds 8 bytes
            h = json.dumps(
                {
                    "linear.weight": {
                        "dtype": "F32",
                        "shape": [100000, 100000],
                        "data_offsets": [0, 40000000000],
                    }
                }
            ).encode()
            p.write_bytes(struct.pack("<Q", len(h)) + h + b"\0" * 8)

    return setup


def _fifo(rel: str) -> Setup:
    return lambda f, ctx: mkfifo(f / rel)


def _swap(i: int, j: int) -> Setup:
    def edit(m: list[dict[str, Any]]) -> None:
        m[i], m[j] = m[j], m[i]

    return _set_modules(edit)


def add_tokens(folder: Path, extra: list[str]) -> None:
    """Append ``extra`` to the folder's ``vocab.txt`` and to the vocabulary of its
    ``tokenizer.json`` (ids after the last word's)."""
    vocab = (folder / "vocab.txt").read_text().split()
    (folder / "vocab.txt").write_text("\n".join(vocab + extra) + "\n")
    set_token_ids(folder, {w: len(vocab) + i for i, w in enumerate(extra)})


def set_token_ids(folder: Path, ids: dict[str, int]) -> None:
    """Set the ids of words in the vocabulary of the folder's ``tokenizer.json``."""
    tok = json.loads((folder / "tokenizer.json").read_text())
    tok["model"]["vocab"].update(ids)
    write_json(folder / "tokenizer.json", tok)


def _bigger_vocab(f: Path, ctx: Ctx) -> dict[str, Any]:
    add_tokens(f, [f"w{i}" for i in range(5)])
    return {"__texts__": ["w1 w2 w3"]}


def _huge_id(f: Path, ctx: Ctx) -> dict[str, Any]:
    set_token_ids(f, {"cat": 10**6})
    return {"__texts__": ["the cat"]}


def _no_sbert_and(**tok: object) -> Setup:
    def setup(f: Path, ctx: Ctx) -> None:
        write_json(f / "sentence_bert_config.json", {})
        edit_json(f / "tokenizer_config.json", **tok)

    return setup


def _dense_weights(tensors: Callable[[], dict[str, Any]]) -> Setup:
    def setup(f: Path, ctx: Ctx) -> None:
        from safetensors.torch import save_file

        save_file(tensors(), str(f / "2_Dense" / "model.safetensors"))

    return setup


def _t(*shape: int, fill: float = 0.0, dtype: str = "float32") -> Any:
    import torch

    return torch.full(shape, fill, dtype=getattr(torch, dtype))


def _raw(rel: str, data: Callable[[Path], bytes]) -> Setup:
    return lambda f, ctx: (f / rel).write_bytes(data(f))


def _vocab_link(f: Path, ctx: Ctx) -> None:
    secret = ctx.outside / "vocab-secret.txt"
    secret.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nsecret\n")
    (f / "vocab.txt").unlink()
    (f / "vocab.txt").symlink_to(secret)
    (f / "tokenizer.json").unlink()


def _loop(f: Path, ctx: Ctx) -> None:
    m = modules(f)
    m[1]["path"] = "loop"
    (f / "loop").symlink_to(f / "loop")
    write_json(f / "modules.json", m)


def _tokenizer_file_key(f: Path, ctx: Ctx) -> None:
    edit_json(f / "tokenizer_config.json", tokenizer_file=str(ctx.secret_file),
              vocab_file=str(ctx.secret_file))  # fmt: skip


def _evil(kind: str) -> Setup:
    def setup(f: Path, ctx: Ctx) -> None:
        code = f"open({str(ctx.marker('remote-ran'))!r}, 'w').close()\nclass Evil: pass\n"
        (f / "evil.py").write_text(code)
        auto = {"AutoModel": "evil.Evil", "AutoConfig": "evil.Evil"}
        if kind == "config auto_map":
            edit_json(f / "config.json", auto_map=auto)
        elif kind == "tokenizer auto_map":
            edit_json(f / "tokenizer_config.json", auto_map={"AutoTokenizer": ["evil.Evil", None]})
        elif kind == "custom model_type":
            edit_json(f / "config.json", model_type="evil", auto_map=auto)
        else:
            edit_json(f / "tokenizer_config.json", tokenizer_class="os.system")

    return setup


def _stale(what: str) -> Variant:
    def run(ctx: Ctx) -> None:
        from embeddings.adapters.transformer import TransformerEncoder

        folder = ctx.copy("st", "model")
        TransformerEncoder(model=str(folder), backend="onnx", threads=1).encode(TEXTS)
        if what == "activation":
            edit_json(
                folder / "2_Dense/config.json",
                activation_function="torch.nn.modules.linear.Identity",
            )
        else:
            edit_json(folder / "config.json", hidden_act="relu")
        b = TransformerEncoder(model=str(folder), backend="onnx", threads=1).encode(TEXTS)
        ref = TransformerEncoder(model=str(folder)).encode(TEXTS)
        check(np.abs(b - ref).max() < 1e-5, "the ONNX graph of the unedited folder was reused")

    return Variant(f"edited {what}", run, expect="ok", seconds=30)


def _bomb_file(name: str, where: str) -> Setup:
    def setup(f: Path, ctx: Ctx) -> None:
        (f / where / "model.safetensors").unlink()
        shutil.copy(ctx.shared / name, f / where / "pytorch_model.bin")

    return setup


def _empty_zip(f: Path, ctx: Ctx) -> None:
    (f / "2_Dense/model.safetensors").unlink()
    (f / "2_Dense/pytorch_model.bin").write_bytes(b"PK\x05\x06" + b"\0" * 18)


def _stored_dense(f: Path, ctx: Ctx) -> None:
    import torch

    (f / "2_Dense/model.safetensors").unlink()
    torch.manual_seed(0)
    torch.save({"linear.weight": torch.randn(8, 64), "linear.bias": torch.randn(8)},
               f / "2_Dense/pytorch_model.bin")  # fmt: skip


SIZES: dict[str, dict[str, object]] = {
    "4 layers": {"num_hidden_layers": 4}, "200 layers": {"num_hidden_layers": 200},
    "20000 layers": {"num_hidden_layers": 20000}, "ffn 2**20": {"intermediate_size": 1 << 20},
    "vocab 50M": {"vocab_size": 50_000_000}, "hidden 'abc'": {"hidden_size": "abc"},
    "vocab -5": {"vocab_size": -5}, "positions 10**9": {"max_position_embeddings": 10**9},
    "0 heads": {"num_attention_heads": 0}, "model_type unknown": {"model_type": "nope"},
    "layers True": {"num_hidden_layers": True},
}  # fmt: skip
PC, SB = "1_Pooling/config.json", "sentence_bert_config.json"
DEVICES = ["cuda", "cuda:0", "cuda:7", "gpu", "mps", "CUDA", "", "meta", "cpu:0",
           "cuda:99999999999", "x" * 10000]  # fmt: skip

PROBES = [
    ("module paths / links leaving the folder", PATHS),
    ("broken modules.json", [T(k, _write("modules.json", v)) for k, v in BROKEN_MODULES.items()]),
    ("broken Dense config / weights", [
        *(T(k, _edit("2_Dense/config.json", **v)) for k, v in DENSE.items()),
        T("config a list", _write("2_Dense/config.json", [64, 8])),
        T("config missing", _unlink("2_Dense/config.json")),
        T("no weights", _unlink("2_Dense/model.safetensors")),
    ]),
    ("max_seq_length from caller / folder / tokenizer", [
        T("caller 100", _params({"max_seq_length": 100})),
        T("caller 10**9", _params({"max_seq_length": 10**9})),
        T("sentence_bert_config 1000", _edit(SB, max_seq_length=1000)),
        T("tokenizer claims 1e30 (cut at 64, valid)", _no_sbert_and(model_max_length=10**30), "ok"),
        T("caller 64 (valid)", _params({"max_seq_length": 64}), "ok"),
    ]),
    ("pickled weights (payload, torch zip, garbage, not a dict)", [
        T(f"{w or 'hf'} {h}", _pickle_weights(w, h)) for w, h in
        (("", "pickle"), ("2_Dense", "pickle"), ("", "torch zip"), ("2_Dense", "torch zip"),
         ("2_Dense", "garbage"), ("2_Dense", "list"))
    ]),
    ("damaged safetensors", [
        T(f"{w or 'hf'} {h}", _safetensors(w, h)) for w in ("", "2_Dense")
        for h in ("truncated", "garbage", "header 10**12", "empty", "shape lie 40 GB")
    ]),
    ("threads", [
        T("torch 4096", _params({"threads": 4096})),
        T("onnx 4096", _params({"threads": 4096, "backend": "onnx"})),
        T("onnx int8 4096", _params({"threads": 4096, "backend": "onnx", "quantize": "int8"})),
        T("onnx 64 (clamped, valid)", _params({"threads": 64, "backend": "onnx"}), "ok", 30),
        T("torch 64 (clamped, valid)", _params({"threads": 64}), "ok"),
        T("0", _params({"threads": 0})), T("True", _params({"threads": True})),
        T("2.0", _params({"threads": 2.0})),
        T("saved 4096", _params({"__saved__": {"threads": 4096}})),
    ]),
    ("devices", [
        *(T(repr(d)[:20], _params({"device": d})) for d in DEVICES),
        T("onnx cuda", _params({"device": "cuda", "backend": "onnx"})),
        T("device 0 (int)", _params({"device": 0})),
        T("saved 'gpu'", _params({"__saved__": {"device": "gpu"}})),
    ]),
    ("FIFOs in the folder", [
        *(T(n, _fifo(n)) for n in ("modules.json", "config.json", "tokenizer_config.json",
                                   "tokenizer.json", "vocab.txt", SB, PC, "2_Dense/config.json",
                                   "2_Dense/model.safetensors", "model.safetensors",
                                   "special_tokens_map.json")),
        T("config.json links to /dev/zero", _link("config.json", lambda ctx: Path("/dev/zero"))),
    ]),
    ("modules out of order", [
        T("normalize before dense", _swap(2, 3)), T("dense before pooling", _swap(1, 2)),
        T("two transformers", _set_modules(lambda m: m.insert(1, m[0]))),
        T("two normalize", _set_modules(lambda m: m.append(m[3]))),
        T("idx disagrees with order (valid)", _set_modules(lambda m: m[0].update(idx=9)), "base"),
    ]),
    ("declared model sizes in config.json", [
        *(T(k, _edit("config.json", **v)) for k, v in SIZES.items()),
        T("config missing", _unlink("config.json")), T("config a list", _write("config.json", [1])),
    ]),
    ("tokenizer files", [
        T("vocabulary larger than the embeddings", _bigger_vocab),
        T("no pad token", _edit("tokenizer_config.json", pad_token=None)),
        T("tokenizer.json garbage", _raw("tokenizer.json", lambda f: b"{not json")),
        T("token id 10**6", _huge_id),
        T("model_max_length 'x' (valid)", _no_sbert_and(model_max_length="x"), "ok"),
    ]),
    ("Dense weights: extra, missing, wrong shape, NaN, int, fp16", [
        T("extra tensor", _dense_weights(lambda: {"linear.weight": _t(8, 64),
                                                  "linear.bias": _t(8), "x": _t(1)})),
        T("no bias", _dense_weights(lambda: {"linear.weight": _t(8, 64)})),
        T("wrong shape", _dense_weights(lambda: {"linear.weight": _t(8, 63),
                                                 "linear.bias": _t(8)})),
        T("NaN", _dense_weights(lambda: {"linear.weight": _t(8, 64, fill=float("nan")),
                                         "linear.bias": _t(8)})),
        T("inf bias", _dense_weights(lambda: {"linear.weight": _t(8, 64),
                                              "linear.bias": _t(8, fill=float("inf"))})),
        T("int weights", _dense_weights(lambda: {"linear.weight": _t(8, 64, dtype="int32"),
                                                 "linear.bias": _t(8)})),
        T("fp16 (valid)", _dense_weights(lambda: {
            "linear.weight": _t(8, 64, fill=0.01, dtype="float16"),
            "linear.bias": _t(8, dtype="float16")}), "ok"),
    ]),
    ("Pooling / sentence-bert config values", [
        T(n, _write(p, v)) for n, p, v in (
            ("pooling 3", PC, {"pooling_mode": 3}), ("pooling []", PC, {"pooling_mode": []}),
            ("pooling a dict", PC, {"pooling_mode": {"a": 1}}),
            ("cls_token 'yes'", PC, {"pooling_mode_cls_token": "yes"}),
            ("pooling config a list", PC, ["cls"]), ("pooling none", PC, {}),
            ("pooling weightedmean", PC, {"pooling_mode": "weightedmean"}),
            ("max_seq_length '16'", SB, {"max_seq_length": "16"}),
            ("max_seq_length 0", SB, {"max_seq_length": 0}),
            ("do_lower_case 'no'", SB, {"do_lower_case": "no"}), ("sbert a list", SB, [16]),
            ("max_seq_length 16.5", SB, {"max_seq_length": 16.5}))
    ]),
    ("unreadable JSON files", [
        T("modules.json not UTF-8", _raw("modules.json", lambda f: b"\xff\xfe[")),
        T("modules.json 100k deep", _raw("modules.json", lambda f: b"[" * 100_000
                                         + b"]" * 100_000)),
        T("pooling config 9 MB", _raw(PC, lambda f: b" " * (9 << 20) + b"{}")),
        T("sbert config 50k deep", _raw(SB, lambda f: b'{"a":' * 50_000 + b"1" + b"}" * 50_000)),
        T("config NaN", _raw("config.json", lambda f: (f / "config.json").read_bytes().replace(
            b'"layer_norm_eps": 1e-12', b'"layer_norm_eps": NaN'))),
    ]),
    ("links, loops and shard indexes", [
        T("vocab.txt links outside", _vocab_link), T("module path loop", _loop),
        T("safetensors index ../../x", _write("model.safetensors.index.json",
                                              {"weight_map": {"a": "../../x.safetensors"}})),
        T("bin index /etc/passwd", _write("pytorch_model.bin.index.json",
                                          {"weight_map": {"a": "/etc/passwd"}})),
        T("index weight_map a list", _write("model.safetensors.index.json", {"weight_map": [1]})),
        T("tokenizer_file naming an outside file (ignored)", _tokenizer_file_key, "base"),
    ]),
    ("remote code in the folder", [
        T("config auto_map (ignored)", _evil("config auto_map"), "base"),
        T("tokenizer auto_map (ignored)", _evil("tokenizer auto_map"), "base"),
        T("custom model_type with auto_map", _evil("custom model_type")),
        T("tokenizer_class os.system (ignored)", _evil("tokenizer_class"), "base"),
    ]),
    ("stale ONNX graph after an edit", [_stale("activation"), _stale("hidden_act")]),
    ("zip bombs and zip checkpoints", [
        T("Dense checkpoint inflating to 1.2 GB", _bomb_file("dense-bomb.bin", "2_Dense")),
        T("model checkpoint inflating to 1.2 GB", _bomb_file("hf-bomb.bin", "")),
        T("Dense checkpoint of an empty zip", _empty_zip),
        T("Dense torch zip, stored (valid)", _stored_dense, "ok"),
    ]),
]  # fmt: skip
