"""Builders of damaged zip archives, ``.npy`` headers and torch checkpoints for the probes."""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np


def npy_header(shape: tuple[int, ...], descr: str = "<f4", fortran: bool = False) -> bytes:
    """A valid version-1.0 ``.npy`` header."""
    b = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        b, {"descr": descr, "fortran_order": fortran, "shape": shape}
    )
    return b.getvalue()


def raw_npy_header(text: bytes) -> bytes:
    """A version-1.0 ``.npy`` header holding arbitrary ``text``."""
    pad = (-(10 + len(text) + 1)) % 64
    text = text + b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text


def replace_member(npz: Path, member: str, data: bytes,
                   compress: int = zipfile.ZIP_STORED) -> None:  # fmt: skip
    """Rewrite ``npz`` with ``member`` replaced by ``data``."""
    with zipfile.ZipFile(npz) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist()}
    members[member] = data
    with zipfile.ZipFile(npz, "w", compress) as zf:
        for k, v in members.items():
            zf.writestr(k, v)


def zip_bytes(members: list[tuple[str, bytes]], compression: int = zipfile.ZIP_STORED) -> bytes:
    """An archive of ``(name, data)`` members (duplicates kept)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def _each_header(data: bytes, offsets: tuple[int, int]) -> tuple[bytearray, list[int]]:
    out = bytearray(data)
    found = []
    for sig, off in zip((b"PK\x03\x04", b"PK\x01\x02"), offsets):
        i = out.find(sig)
        while i >= 0:
            found.append(i + off)
            i = out.find(sig, i + 4)
    return out, found


def set_utf8_flag_bad_name(data: bytes, old: bytes, new: bytes) -> bytes:
    """Replace a member name (same length) and set the UTF-8 flag in both headers."""
    out, at = _each_header(data.replace(old, new), (6, 8))
    for i in at:
        struct.pack_into("<H", out, i, struct.unpack_from("<H", out, i)[0] | 0x800)
    return bytes(out)


def set_method(data: bytes, method: int) -> bytes:
    """Set the compression method of every member."""
    out, at = _each_header(data, (8, 10))
    for i in at:
        struct.pack_into("<H", out, i, method)
    return bytes(out)


def set_flag(data: bytes, bit: int) -> bytes:
    """Set a general-purpose flag bit (1: encrypted) of every member."""
    out, at = _each_header(data, (6, 8))
    for i in at:
        struct.pack_into("<H", out, i, struct.unpack_from("<H", out, i)[0] | bit)
    return bytes(out)


def corrupt_crc(data: bytes) -> bytes:
    """Overwrite the CRC-32 of every member."""
    out, at = _each_header(data, (14, 16))
    for i in at:
        struct.pack_into("<I", out, i, 0xDEADBEEF)
    return bytes(out)


def damage_first_member_data(data: bytes, at: int = 8, n: int = 8) -> bytes:
    """Flip bytes inside the first member's (compressed) data."""
    out = bytearray(data)
    name_len, extra_len = struct.unpack_from("<HH", out, 26)
    start = 30 + name_len + extra_len + at
    for k in range(start, start + n):
        out[k] ^= 0x5A
    return bytes(out)


def write_zero_member(zf: zipfile.ZipFile, name: str, header: bytes, size: int) -> None:
    """Stream ``header`` then ``size`` zero bytes into a (deflated) member."""
    chunk = b"\0" * (1 << 20)
    with zf.open(name, "w", force_zip64=True) as out:
        out.write(header)
        left = size
        while left > 0:
            out.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)


class Payload:
    """Unpickling it opens (creates) ``target``."""

    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (self.target, "w"))


class _Storage:
    pass


class _Tensor:
    def __init__(self, n: int) -> None:
        self.n = n

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        import torch

        return (torch._utils._rebuild_tensor_v2,
                (_Storage(), 0, (self.n,), (1,), False, collections.OrderedDict()))  # fmt: skip


def legacy_checkpoint(numel: int, shown: int = 8, data_numel: int = 8) -> bytes:
    """A legacy (non-zip) torch checkpoint whose storage declares ``numel`` elements."""
    import torch

    out = io.BytesIO()
    for obj in (0x1950A86A20F9469CFC6C, 1001,
                {"protocol_version": 1001, "little_endian": True,
                 "type_sizes": {"short": 2, "int": 4, "long": 4}}):  # fmt: skip
        pickle.dump(obj, out, protocol=2)
    p = pickle.Pickler(out, protocol=2)
    pid = ("storage", torch.FloatStorage, "0", "cpu", numel, None)
    p.persistent_id = lambda obj: pid if isinstance(obj, _Storage) else None  # type: ignore[method-assign]
    p.dump({"enc_lstm.weight_ih_l0": _Tensor(shown)})
    pickle.dump(["0"], out, protocol=2)
    out.write(struct.pack("<q", data_numel) + b"\0" * 4 * 8)
    return out.getvalue()
