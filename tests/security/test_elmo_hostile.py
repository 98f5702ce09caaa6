"""Hostile ELMo ``options.json`` / ``weights.hdf5``: outside data, unbounded sizes, odd files.

Every hostile file is built with h5py in ``tmp_path``; each must end in a
:class:`~embeddings.errors.ModelFormatError` that names the file and the field or
dataset, before any outside file is read or any large array is allocated.
"""

from __future__ import annotations

import itertools
import json
import os
import zlib
from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

from embeddings.errors import DataNotFoundError, ModelFormatError  # noqa: E402
from embeddings.formats.elmo import (  # noqa: E402
    MAX_PARAMETERS,
    ElmoOptions,
    read_elmo,
    read_options,
    weight_layout,
)
from tests.formats.test_elmo_hdf5 import TINY_OPTIONS, tiny_datasets, write_tiny_elmo  # noqa: E402
from tests.security.limits import assert_bounded, run_limited  # noqa: E402

#: a value no valid tiny model holds: seeing it in a loaded array means an outside read
MARKER = 7777.0
PUBLISHED_5_5B = {
    "lstm": {"dim": 4096, "projection_dim": 512, "n_layers": 2, "cell_clip": 3, "proj_clip": 3,
             "use_skip_connections": True},
    "char_cnn": {"activation": "relu", "embedding": {"dim": 16}, "n_highway": 2,
                 "filters": [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256], [6, 512], [7, 1024]],
                 "n_characters": 262, "max_characters_per_token": 50},
}  # fmt: skip
#: inside every per-field maximum, yet the datasets hold about 1.2 GB of float32
BIG_OPTIONS = {
    **TINY_OPTIONS,
    "lstm": {**TINY_OPTIONS["lstm"], "dim": 8192, "projection_dim": 1024},
}


def _replace(weights: Path, name: str, make: object) -> None:
    """Delete dataset ``name`` and let ``make(group, leaf)`` put something in its place."""
    with h5py.File(weights, "r+") as fh:
        *groups, leaf = name.split("/")
        group = fh["/".join(groups)] if groups else fh
        del group[leaf]
        make(group, leaf)  # type: ignore[operator]


def _secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.bin"
    path.write_bytes(np.full(261 * 3, MARKER, np.float32).tobytes())
    return path


def _assert_no_marker(opt: Path, wts: Path) -> ModelFormatError:
    """The read fails; had it returned, no array would hold the outside file's values."""
    try:
        _, arrays = read_elmo(opt, wts)
    except ModelFormatError as err:
        assert str(MARKER) not in str(err)
        return err
    assert not any((a == MARKER).any() for a in arrays.values()), "an outside file was read"
    raise AssertionError("the hostile weight file was accepted")


# ------------------------------------------------------------ outside data
@pytest.mark.parametrize("relative", [False, True])
def test_external_raw_storage_is_refused(tmp_path: Path, relative: bool) -> None:
    secret = _secret(tmp_path)
    opt, wts = write_tiny_elmo(tmp_path / "m")
    target = os.path.relpath(secret, wts.parent) if relative else str(secret)
    _replace(wts, "char_embed", lambda g, leaf: g.create_dataset(
        leaf, shape=(261, 3), dtype="f4", external=[(target, 0, 261 * 3 * 4)]))  # fmt: skip
    err = _assert_no_marker(opt, wts)
    assert "'char_embed'" in str(err) and "external" in str(err) and str(wts) in str(err)


@pytest.mark.parametrize("where", ["char_embed", "CNN"])
def test_external_link_is_refused(tmp_path: Path, where: str) -> None:
    other = tmp_path / "other.hdf5"
    with h5py.File(other, "w") as fh:
        fh.create_dataset("char_embed", data=np.full((261, 3), MARKER, np.float32))
        for i, (w, n) in enumerate(TINY_OPTIONS["char_cnn"]["filters"]):
            fh.create_dataset(f"CNN/W_cnn_{i}", data=np.full((1, w, 3, n), MARKER, np.float32))
            fh.create_dataset(f"CNN/b_cnn_{i}", data=np.full((n,), MARKER, np.float32))
    opt, wts = write_tiny_elmo(tmp_path / "m")
    _replace(wts, where, lambda g, leaf: g.__setitem__(leaf, h5py.ExternalLink(str(other), where)))
    err = _assert_no_marker(opt, wts)
    assert f"'{where}' is a link to another file" in str(err)


@pytest.mark.parametrize("source", ["other", "missing"])
def test_virtual_dataset_is_refused(tmp_path: Path, source: str) -> None:
    src = tmp_path / f"{source}.hdf5"
    if source == "other":
        with h5py.File(src, "w") as fh:
            fh.create_dataset("char_embed", data=np.full((261, 3), MARKER, np.float32))

    def make(group: object, leaf: str) -> None:
        layout = h5py.VirtualLayout(shape=(261, 3), dtype="f4")
        layout[:] = h5py.VirtualSource(str(src), "char_embed", shape=(261, 3))
        group.create_virtual_dataset(leaf, layout, fillvalue=0)  # type: ignore[attr-defined]

    opt, wts = write_tiny_elmo(tmp_path / "m")
    _replace(wts, "char_embed", make)
    # a missing source would otherwise give all-zero weights that encode silently
    err = _assert_no_marker(opt, wts)
    assert "'char_embed' is a virtual dataset" in str(err)


# -------------------------------------------------------------- hdf5 links
@pytest.mark.parametrize("kind", ["loop", "group-loop", "dangling"])
def test_soft_links_are_refused(tmp_path: Path, kind: str) -> None:
    opt, wts = write_tiny_elmo(tmp_path / "m")
    if kind == "loop":

        def make(g: object, leaf: str) -> None:
            g[leaf] = h5py.SoftLink("/CNN_proj/other")  # type: ignore[index]
            g["other"] = h5py.SoftLink(f"/CNN_proj/{leaf}")  # type: ignore[index]

        _replace(wts, "CNN_proj/W_proj", make)
        name = "CNN_proj/W_proj"
    elif kind == "group-loop":
        _replace(wts, "CNN", lambda g, leaf: g.__setitem__(leaf, h5py.SoftLink("/CNN")))
        name = "CNN"
    else:
        _replace(wts, "char_embed", lambda g, leaf: g.__setitem__(leaf, h5py.SoftLink("/no")))
        name = "char_embed"
    with pytest.raises(ModelFormatError, match=f"'{name}' is a soft link"):
        read_elmo(opt, wts)


# ----------------------------------------------------- unwritten / bombs
@pytest.mark.parametrize("kind", ["chunked", "partial", "contiguous"])
def test_unwritten_datasets_are_refused(tmp_path: Path, kind: str) -> None:
    opt, wts = write_tiny_elmo(tmp_path / "m")

    def make(g: object, leaf: str) -> None:
        chunks = None if kind == "contiguous" else (2, 2)
        ds = g.create_dataset(leaf, shape=(12, 4), dtype="f4", chunks=chunks)  # type: ignore[attr-defined]
        if kind == "partial":
            ds[:2] = 1.0

    _replace(wts, "CNN_proj/W_proj", make)
    want = "stores 0 bytes of its 192" if kind == "contiguous" else "chunks written"
    with pytest.raises(ModelFormatError, match=f"'CNN_proj/W_proj' .*{want}"):
        read_elmo(opt, wts)


def _never_written(folder: Path, options: dict) -> tuple[Path, Path]:
    """options.json + a small weights.hdf5 of chunked datasets that were never written."""
    folder.mkdir(parents=True)
    (folder / "options.json").write_text(json.dumps(options), encoding="utf-8")
    with h5py.File(folder / "weights.hdf5", "w") as fh:
        for name, shape in weight_layout(ElmoOptions.from_json(options)).items():
            fh.create_dataset(
                name, shape=shape, dtype="f4", chunks=tuple(min(s, 64) for s in shape)
            )
    return folder / "options.json", folder / "weights.hdf5"


def _gzip_bomb(folder: Path, options: dict) -> tuple[Path, Path]:
    """Every chunk written, each a few kB of deflated zeros standing for megabytes."""
    folder.mkdir(parents=True)
    (folder / "options.json").write_text(json.dumps(options), encoding="utf-8")
    with h5py.File(folder / "weights.hdf5", "w") as fh:
        for name, shape in weight_layout(ElmoOptions.from_json(options)).items():
            chunks = tuple(min(s, 1024) for s in shape)
            ds = fh.create_dataset(name, shape=shape, dtype="f4", chunks=chunks, compression="gzip")
            zero = zlib.compress(bytes(4 * int(np.prod(chunks))), 9)
            for start in itertools.product(*(range(0, s, c) for s, c in zip(shape, chunks))):
                ds.id.write_direct_chunk(start, zero)
    return folder / "options.json", folder / "weights.hdf5"


def test_never_written_and_bomb_files_are_refused_from_their_metadata(tmp_path: Path) -> None:
    opt, wts = _never_written(tmp_path / "empty", BIG_OPTIONS)
    assert wts.stat().st_size < 100_000
    with pytest.raises(ModelFormatError, match="'char_embed' has 0 of its 5 chunks written"):
        read_elmo(opt, wts)
    opt, wts = _gzip_bomb(tmp_path / "bomb", BIG_OPTIONS)
    assert wts.stat().st_size < 10_000_000
    with pytest.raises(ModelFormatError, match=r"the datasets declare \d+ bytes, more than a file"):
        read_elmo(opt, wts)


def test_only_builtin_filters_are_read(tmp_path: Path) -> None:
    """Deflate, shuffle and fletcher32 (and a compact dataset) load; a filter that HDF5
    would look for among its plugin libraries is refused before any data is read."""
    arrays = tiny_datasets(TINY_OPTIONS)
    folder = tmp_path / "gz"
    folder.mkdir()
    (folder / "options.json").write_text(json.dumps(TINY_OPTIONS), encoding="utf-8")
    with h5py.File(folder / "weights.hdf5", "w") as fh:
        for name, arr in arrays.items():
            fh.create_dataset(name, data=arr, compression="gzip", shuffle=True, fletcher32=True)
        del fh["CNN_proj/b_proj"]
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        dsid = h5py.h5d.create(fh["CNN_proj"].id, b"b_proj", h5py.h5t.IEEE_F32LE,
                               h5py.h5s.create_simple((4,)), dcpl=dcpl)  # fmt: skip
        dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, arrays["CNN_proj/b_proj"])
    _, got = read_elmo(folder / "options.json", folder / "weights.hdf5")
    for name, arr in arrays.items():
        np.testing.assert_array_equal(got[name], arr)

    opt, wts = write_tiny_elmo(tmp_path / "m")

    def make(g: object, leaf: str) -> None:
        ds = g.create_dataset(  # type: ignore[attr-defined]
            leaf, shape=(12, 4), dtype="f4", chunks=(12, 4), compression=30000,
            allow_unknown_filter=True,
        )  # fmt: skip
        ds.id.write_direct_chunk((0, 0), bytes(192))

    _replace(wts, "CNN_proj/W_proj", make)
    with pytest.raises(ModelFormatError, match="'CNN_proj/W_proj' uses the HDF5 filter 30000"):
        read_elmo(opt, wts)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda g, leaf: g.create_dataset(leaf, data=h5py.Empty("f4")), "shape None"),
        (lambda g, leaf: g.__setitem__(leaf, np.dtype("f4")), "is not a dataset"),
    ],
)  # fmt: skip
def test_empty_dataspace_and_named_datatype_are_refused(
    tmp_path: Path, make: object, match: str
) -> None:
    opt, wts = write_tiny_elmo(tmp_path / "m")
    _replace(wts, "CNN_proj/W_proj", make)
    with pytest.raises(ModelFormatError, match=f"'CNN_proj/W_proj'.*{match}"):
        read_elmo(opt, wts)


def test_a_dataset_where_a_group_belongs_is_refused(tmp_path: Path) -> None:
    opt, wts = write_tiny_elmo(tmp_path / "m")
    _replace(wts, "CNN_proj", lambda g, leaf: g.create_dataset(leaf, data=np.ones(3, "f4")))
    with pytest.raises(ModelFormatError, match="'CNN_proj' is not a group"):
        read_elmo(opt, wts)


# ------------------------------------------------------------ options.json
@pytest.mark.parametrize(
    ("section", "key", "value", "field"),
    [
        ("char_cnn", "max_characters_per_token", 10**8, "char_cnn.max_characters_per_token"),
        ("char_cnn", "n_characters", 10**8, "char_cnn.n_characters"),
        ("char_cnn", "n_highway", 10**8, "char_cnn.n_highway"),
        ("char_cnn", "filters", [[1, 10**8]], r"char_cnn.filters\[0\]"),
        ("char_cnn", "filters", [[1, 1]] * 100_000, "char_cnn.filters' must be a list of 1 to 64"),
        ("char_cnn", "filters", [[1, 9000], [2, 9000]], "char_cnn.filters' counts sum to 18000"),
        ("lstm", "dim", 10**8, "lstm.dim"),
        ("lstm", "projection_dim", 10**8, "lstm.projection_dim"),
        ("lstm", "n_layers", 10**8, "lstm.n_layers"),
        ("lstm", "cell_clip", 1e300, "lstm.cell_clip"),
        ("lstm", "proj_clip", 1e300, "lstm.proj_clip"),
    ],
)
def test_every_size_has_a_maximum(
    tmp_path: Path, section: str, key: str, value: object, field: str
) -> None:
    options = json.loads(json.dumps(TINY_OPTIONS))
    options[section][key] = value
    path = tmp_path / "options.json"
    path.write_text(json.dumps(options), encoding="utf-8")
    with pytest.raises(ModelFormatError, match=f"options.json: '?{field}"):
        read_options(path)


def test_embedding_dim_and_total_parameters_have_maximums(tmp_path: Path) -> None:
    path = tmp_path / "options.json"
    options = json.loads(json.dumps(TINY_OPTIONS))
    options["char_cnn"]["embedding"]["dim"] = 10**8
    path.write_text(json.dumps(options), encoding="utf-8")
    with pytest.raises(ModelFormatError, match="'char_cnn.embedding.dim' must be an int from 1"):
        read_options(path)
    options = json.loads(json.dumps(TINY_OPTIONS))
    options["lstm"].update(dim=16384, projection_dim=4096, n_layers=16)  # each field in range
    path.write_text(json.dumps(options), encoding="utf-8")
    with pytest.raises(ModelFormatError, match=f"at most {MAX_PARAMETERS:,} are supported"):
        read_options(path)
    path.write_text(json.dumps(PUBLISHED_5_5B), encoding="utf-8")
    assert read_options(path).cell_dim == 4096  # the largest published biLM is well inside


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"lstm": ' + "9" * 10_000 + "}", "a number too long"),
        (" " * (1 << 20) + "{}", "more than 1048576 bytes"),
    ],
)
def test_odd_json_is_refused(tmp_path: Path, content: str, match: str) -> None:
    path = tmp_path / "options.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ModelFormatError, match=match):
        read_options(path)


# ---------------------------------------------------------- non-regular files
def test_fifo_device_and_folder_are_refused(tmp_path: Path) -> None:
    opt, wts = write_tiny_elmo(tmp_path / "m")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    cases = [(fifo, wts, "FIFO"), (opt, fifo, "FIFO"), (tmp_path, wts, "folder"),
             (opt, tmp_path, "folder")]  # fmt: skip
    if Path("/dev/zero").exists():
        cases += [(Path("/dev/zero"), wts, "device"), (opt, Path("/dev/zero"), "device")]
    for o, w, kind in cases:
        with pytest.raises(ModelFormatError, match=f"is (a )?{kind}.*expected a biLM"):
            read_elmo(o, w)
    with pytest.raises(DataNotFoundError):
        read_elmo(opt, tmp_path / "absent.hdf5")


def test_symlinks_given_by_the_caller_are_resolved_to_regular_files(tmp_path: Path) -> None:
    opt, wts = write_tiny_elmo(tmp_path / "m")
    link_opt, link_wts = tmp_path / "o.json", tmp_path / "w.hdf5"
    link_opt.symlink_to(opt)
    link_wts.symlink_to(wts)
    options, arrays = read_elmo(link_opt, link_wts)
    assert options.cell_dim == 6 and arrays["char_embed"].shape == (261, 3)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    to_fifo = tmp_path / "fifo.hdf5"
    to_fifo.symlink_to(fifo)
    with pytest.raises(ModelFormatError, match="is a FIFO.*expected a biLM weight file"):
        read_elmo(opt, to_fifo)


def test_the_encoder_reports_a_fifo_without_blocking(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from embeddings.adapters.elmo import ElmoFileEncoder

    opt, _ = write_tiny_elmo(tmp_path / "m")
    fifo = tmp_path / "weights.hdf5"
    os.mkfifo(fifo)
    enc = ElmoFileEncoder(options_file=str(opt), weight_file=str(fifo))
    with pytest.raises(ModelFormatError, match="expected a biLM weight file"):
        enc.encode(["a cat"])


# ------------------------------------------------------------------ bounds
def test_huge_declared_sizes_stay_bounded(tmp_path: Path) -> None:
    """A 30 kB file of never-written datasets, a gzip bomb and ``max_characters_per_token``
    = 1e8 end in ModelFormatError within the time and memory caps."""
    huge = [
        _never_written(tmp_path / "empty", BIG_OPTIONS),
        _gzip_bomb(tmp_path / "bomb", BIG_OPTIONS),
    ]
    options = json.loads(json.dumps(TINY_OPTIONS))
    options["char_cnn"]["max_characters_per_token"] = 10**8
    opt, wts = write_tiny_elmo(tmp_path / "chars", options=options)
    body = f"""
    refused = []
    for opt, wts in {[(str(o), str(w)) for o, w in huge]!r}:
        try:
            read_elmo(opt, wts)
        except ModelFormatError:
            refused.append(wts)
    try:
        ElmoFileEncoder(options_file={str(opt)!r}, weight_file={str(wts)!r}).encode(["a b"])
    except ModelFormatError:
        refused.append("chars")
    assert len(refused) == 3, refused
    """
    imports = """
    import torch
    from embeddings.adapters.elmo import ElmoFileEncoder
    from embeddings.errors import ModelFormatError
    from embeddings.formats.elmo import read_elmo
    """
    result = run_limited(body, imports=imports)
    assert_bounded(result, allowed=("None",))


def test_hdf5_plugin_search_path_is_empty_while_reading_and_restored(tmp_path: Path) -> None:
    """A damaged file makes HDF5 try every plugin library on its search path; while a
    weights file is read the path is empty, and the caller's path comes back after."""
    from h5py import h5pl

    import embeddings.formats.elmo as elmo_format

    h5pl.append(str(tmp_path).encode())
    before = [h5pl.get(i) for i in range(h5pl.size())]
    seen: list[int] = []
    real = elmo_format._read_checked

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(h5pl.size())
        return real(*args, **kwargs)

    opt, wts = write_tiny_elmo(tmp_path / "ok")
    try:
        elmo_format._read_checked = spy  # type: ignore[assignment]
        read_elmo(opt, wts)
        wts.write_bytes(wts.read_bytes()[: len(wts.read_bytes()) // 2])  # truncated
        with pytest.raises(ModelFormatError):
            read_elmo(opt, wts)
    finally:
        elmo_format._read_checked = real  # type: ignore[assignment]
        after = [h5pl.get(i) for i in range(h5pl.size())]
        h5pl.remove(h5pl.size() - 1)
    assert seen == [0, 0] and after == before
