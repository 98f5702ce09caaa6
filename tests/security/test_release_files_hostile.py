"""Hostile published-release files: Skip-Thought, InferSent checkpoints and zip archives.

Each file is built here, in ``tmp_path``, in the published layout (see
``tests/formats/test_skip_thought_release.py``) and then damaged.  Probes that would
run out of memory or never return run in a capped child (``tests/security/limits.py``).
"""

from __future__ import annotations

import io
import pickle
import struct
import textwrap
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from benchmarks.tasks import nli
from benchmarks.tasks._errors import DataFormatError
from embeddings.adapters import mpnet
from embeddings.errors import (
    DataNotFoundError,
    InvalidParameterError,
    ModelFormatError,
)
from embeddings.formats import skip_thought as st
from tests.formats.test_skip_thought_release import save_table
from tests.security.limits import assert_bounded, run_limited
from tests.security.probes._zips import (
    corrupt_crc,
    damage_first_member_data,
    npy_header,
    replace_member,
    set_flag,
    set_method,
    set_utf8_flag_bad_name,
    zip_bytes,
)

WORDS = ["<eos>", "UNK", "the", "a", "cat", "dog", "sat", "on", "mat", "."]
DW, UNI, BI = 5, 6, 4
BOUND = "from embeddings.formats.skip_thought import read_options, read_release, read_table"


def _gru(rng: np.random.Generator, prefix: str, dim: int) -> dict[str, np.ndarray]:
    shapes = {"W": (DW, 2 * dim), "b": (2 * dim,), "U": (dim, 2 * dim), "Wx": (DW, dim),
              "bx": (dim,), "Ux": (dim, dim)}  # fmt: skip
    return {f"{prefix}_{k}": rng.normal(0, 0.4, s).astype(np.float32) for k, s in shapes.items()}


def build_release(folder: Path, *, object_tables: bool = False) -> Path:
    """A small release in the published layout (random weights)."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dictionary.txt").write_bytes("\n".join(WORDS).encode() + b"\n")
    for name, dim, table_name in (("uni", UNI, "utable.npy"), ("bi", BI, "btable.npy")):
        params = _gru(rng, "encoder", dim)
        if name == "bi":
            params.update(_gru(rng, "encoder_r", dim))
        np.savez(folder / f"{name}_skip.npz", **params)
        options = {"dim": dim, "dim_word": DW, "encoder": "gru"}
        (folder / f"{name}_skip.npz.pkl").write_bytes(pickle.dumps(options, protocol=2))
        table = rng.normal(0, 0.5, (len(WORDS), DW)).astype(np.float32)
        save_table(folder / table_name, table, object_rows=object_tables)
    return folder


def _bad_utf8_name(data: bytes, old: bytes) -> bytes:
    """Rename ``old`` to a same-length invalid UTF-8 name and mark names as UTF-8."""
    return set_utf8_flag_bad_name(data, old, old[:-6] + b"\xff" + old[-5:])


def _quiet_zip(members: list[tuple[str, bytes]]) -> bytes:
    """A zip with a repeated name (zipfile warns when it writes one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return zip_bytes(members)


# ------------------------------------------------------------ Skip-Thought options pickle
def _each_refused(reader: str, cases: dict[Path, tuple[str, ...]], setup: str = "") -> None:
    """In one capped child, after ``setup``: ``reader`` must raise a ModelFormatError on
    each file of ``cases`` whose message holds one of the file's words (any message when
    there are none)."""
    wanted = {str(path): list(words) for path, words in cases.items()}
    loop = f"""
        for path, words in {wanted!r}.items():
            try:
                {reader}(path)
            except ModelFormatError as err:
                assert not words or any(w in str(err) for w in words), (path, err)
                continue
            raise AssertionError(path + " was read")
        raise ModelFormatError("all refused")
        """
    result = run_limited(
        textwrap.dedent(setup) + textwrap.dedent(loop),
        imports=f"{BOUND}\nfrom embeddings.errors import ModelFormatError",
    )
    assert_bounded(result, allowed=("ModelFormatError",))
    assert result.message == "all refused"


def test_memo_shared_nesting_in_options_is_refused_within_bounds(tmp_path: Path) -> None:
    # within the depth limit, 8 references per level to one shared value: 8**18 visits
    setup = f"""
        import pickle
        from pathlib import Path
        d = Path({str(tmp_path)!r})
        values = [[], {{}}, (), []]
        for _ in range(18):
            values[0] = [values[0]] * 8
            values[1] = {{f"k{{i}}": values[1] for i in range(8)}}
            values[2] = (values[2],) * 8
        for _ in range(40):
            values[3] = [values[3], values[3]]
        for i, value in enumerate(values):
            data = pickle.dumps({{"dim": 3, "dim_word": 2, "x": value}}, protocol=i % 3 * 2)
            assert len(data) < 2048, len(data)
            (d / f"o{{i}}.pkl").write_bytes(data)
        """
    cases = {tmp_path / f"o{i}.pkl": ("100000 values", "nested") for i in range(4)}
    _each_refused("read_options", cases, setup)


def test_lying_counted_lengths_in_options_allocate_nothing(tmp_path: Path) -> None:
    # BINBYTES8, BINBYTES, BYTEARRAY8 and FRAME declaring far more bytes than follow
    bodies = [
        b"\x80\x04}\x8e" + (10**11).to_bytes(8, "little") + b"ab",
        b"\x80\x03}B" + (0xFFFFFFF0).to_bytes(4, "little") + b"ab",
        b"\x80\x05}\x96" + (10**11).to_bytes(8, "little") + b"ab",
        b"\x80\x04\x95" + (10**12).to_bytes(8, "little") + b"}.",
    ]
    for i, body in enumerate(bodies):
        (tmp_path / f"o{i}.pkl").write_bytes(body)
    # the count is refused as such, before any allocation is tried
    words = ("truncated: an entry declares", "BYTEARRAY8")
    _each_refused("read_options", {tmp_path / f"o{i}.pkl": words for i in range(len(bodies))})


def test_shared_tuple_as_dict_key_or_set_member_is_refused(tmp_path: Path) -> None:
    # hashing a memo-shared tuple of depth 40 visits 2**40 nodes
    a: tuple = ()
    for _ in range(40):
        a = (a, a)
    dag2 = pickle.dumps(a, protocol=2)[2:-1]
    dag4 = pickle.dumps(a, protocol=4)
    dag4 = dag4[11:-1] if dag4[2:3] == b"\x95" else dag4[2:-1]
    prefix = b"}(X\x03\x00\x00\x00dimK\x03X\x01\x00\x00\x00k"
    (tmp_path / "key.pkl").write_bytes(b"\x80\x02" + prefix + b"}(" + dag2 + b"K\x01uu.")
    (tmp_path / "set.pkl").write_bytes(b"\x80\x04" + prefix + b"(" + dag4 + b"\x91u.")
    _each_refused(
        "read_options", {tmp_path / "key.pkl": ("tuple",), tmp_path / "set.pkl": ("set",)}
    )


# ------------------------------------------------------------ Skip-Thought arrays and tables
def test_lying_npz_header_is_refused_before_allocating(tmp_path: Path) -> None:
    rel = build_release(tmp_path / "rel")
    # 37 GiB declared, 64 bytes held
    replace_member(rel / "uni_skip.npz", "encoder_W.npy", npy_header((1 << 28, 37)) + b"\0" * 64)
    result = run_limited(f"read_release({str(rel)!r}, mode='uni')", imports=BOUND)
    assert_bounded(result, allowed=("ModelFormatError",))
    assert "encoder_W.npy" in result.message and "(268435456, 37)" in result.message
    # the expected shape, but fewer bytes than it declares (checked against the zip directory)
    replace_member(rel / "uni_skip.npz", "encoder_W.npy", npy_header((DW, 2 * UNI)) + b"\0" * 8)
    with pytest.raises(ModelFormatError, match=r"encoder_W.npy.*zip directory"):
        st.read_release(rel, mode="uni")


def test_ndarray_reconstruction_in_a_table_is_bounded(tmp_path: Path) -> None:
    head = npy_header((2,), "|O")
    big_shape = (  # numpy._reconstruct(ndarray, (10**10,), b'b'): a 10 GB array at once
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
        b"\x8a\x05\x00\xe4\x0bT\x02\x85C\x01b\x87R."
    )
    big_state = (  # an object array whose state declares 10**9 elements
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01b"
        b"\x87R(K\x01J\x00\xca\x9a;\x85cnumpy\ndtype\nX\x02\x00\x00\x00O8\x89\x88\x87R"
        b"(K\x03X\x01\x00\x00\x00|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb\x89]tb."
    )
    n = 300_000  # one 4 kB row referenced n times through the memo: 1.2 GB of rows
    row = pickle.dumps(np.zeros(1024, dtype=np.float32), protocol=3)[2:-1]
    shared = (
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85C\x01b"
        b"\x87R(K\x01J" + struct.pack("<i", n) + b"\x85cnumpy\ndtype\nX\x02\x00\x00\x00O8"
        b"\x89\x88\x87R(K\x03X\x01\x00\x00\x00|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?tb\x89]("
        + row
        + b"r\x00\x00\x10\x00"
        + b"j\x00\x00\x10\x00" * (n - 1)
        + b"etb."
    )
    (tmp_path / "t0.npy").write_bytes(head + big_shape)
    (tmp_path / "t1.npy").write_bytes(head + big_state)
    (tmp_path / "t2.npy").write_bytes(npy_header((n,), "|O") + shared)
    _each_refused("read_table", {tmp_path / f"t{i}.npy": () for i in range(3)})


def _object_member(rel: Path) -> None:
    buf = io.BytesIO()
    np.save(buf, np.full((DW, 2 * UNI), 1.0, dtype=object), allow_pickle=True)
    replace_member(rel / "uni_skip.npz", "encoder_W.npy", buf.getvalue())


def _truncated_member(rel: Path) -> None:
    with zipfile.ZipFile(rel / "uni_skip.npz") as zf:
        data = zf.read("encoder_Ux.npy")
    replace_member(rel / "uni_skip.npz", "encoder_Ux.npy", data[:-7])


def _truncate(name: str, cut: int) -> object:
    def damage(rel: Path) -> None:
        data = (rel / name).read_bytes()
        (rel / name).write_bytes(data[:cut] if cut > 0 else data[: len(data) + cut])

    return damage


def _write(name: str, data: bytes) -> object:
    return lambda rel: (rel / name).write_bytes(data)


DAMAGES = {
    # (damage, what the message must name)
    "object array member": (_object_member, r"uni_skip.npz.*encoder_W.npy.*object array"),
    "truncated member": (_truncated_member, r"uni_skip.npz.*encoder_Ux.npy"),
    "truncated float table": (_truncate("utable.npy", -9), r"utable.npy.*header declares"),
    "truncated npz": (_truncate("uni_skip.npz", 300), r"uni_skip.npz.*zip"),
    "negative shape": (
        lambda rel: replace_member(
            rel / "uni_skip.npz",
            "encoder_W.npy",
            npy_header((5, 12)).replace(b"(5, 12)", b"(5,-12)"),
        ),
        r"encoder_W.npy.*invalid shape",
    ),
    "infinite dim": (
        _write("uni_skip.npz.pkl", pickle.dumps({"dim": float("inf"), "dim_word": 5})),
        r"inf",
    ),
    "20000-bit dim": (
        _write("uni_skip.npz.pkl", pickle.dumps({"dim": 2**20000, "dim_word": 5})),
        r"an integer of 20001 bits",
    ),
    "lying float table": (
        _write("utable.npy", npy_header((1 << 28, 37)) + b"\0" * 64),
        r"utable.npy.*header declares",
    ),
}


@pytest.mark.parametrize("case", sorted(DAMAGES))
def test_a_damaged_release_file_raises_model_format_error(tmp_path: Path, case: str) -> None:
    rel = build_release(tmp_path / "rel")
    damage, names = DAMAGES[case]
    damage(rel)  # type: ignore[operator]
    with pytest.raises(ModelFormatError, match=names):
        st.read_release(rel, mode="uni")


def test_npz_members_that_expand_too_far_or_repeat_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rel = build_release(tmp_path / "rel")
    npz = rel / "uni_skip.npz"
    # zeros deflate about 1000:1; members above the threshold may expand at most 100 times
    monkeypatch.setattr(st, "_SMALL_MEMBER", 1 << 16)
    dim = 8192
    opts = {"uni": {"dim": dim, "dim_word": DW}}
    zeros = npy_header((DW, 2 * dim)) + b"\0" * (DW * 2 * dim * 4)
    replace_member(npz, "encoder_W.npy", zeros, zipfile.ZIP_DEFLATED)
    with pytest.raises(ModelFormatError, match=r"encoder_W.npy.*expands"):
        st.read_release(rel, mode="uni", options=opts)
    build_release(rel)
    with zipfile.ZipFile(npz, "a") as zf, pytest.warns(UserWarning, match="Duplicate"):
        zf.writestr("encoder_W.npy", b"another")
    with pytest.raises(ModelFormatError, match=r"2 members for array 'encoder_W'"):
        st.read_release(rel, mode="uni")
    build_release(rel)
    npz.write_bytes(set_method(npz.read_bytes(), 99))
    with pytest.raises(ModelFormatError, match="compression method 99"):
        st.read_release(rel, mode="uni")
    build_release(rel)
    npz.write_bytes(_bad_utf8_name(npz.read_bytes(), b"encoder_W.npy"))
    with pytest.raises(ModelFormatError, match=r"uni_skip.npz is not a readable"):
        st.read_release(rel, mode="uni")
    build_release(rel)
    npz.write_bytes(corrupt_crc(npz.read_bytes()))
    with pytest.raises(ModelFormatError, match=r"encoder_W.npy.*BadZipFile"):
        st.read_release(rel, mode="uni")


def test_dictionary_lines_split_on_newlines_only(tmp_path: Path) -> None:
    rel = build_release(tmp_path / "rel")
    words = list(WORDS)
    words[4], words[5] = "ca\u2028t", "do\x85g"  # line and paragraph separators inside words
    (rel / "dictionary.txt").write_bytes("\n".join(words).encode() + b"\n")
    release = st.read_release(rel, mode="uni")
    assert release.words == words
    assert release.index["ca\u2028t"] == 4


# ------------------------------------------------------------ FIFO and device files
def test_fifo_and_device_files_are_refused_before_opening(tmp_path: Path) -> None:
    result = run_limited(
        f"""
        import os, shutil
        from pathlib import Path
        d = Path({str(tmp_path)!r})
        calls = []
        for name in ("uni_skip.npz.pkl", "dictionary.txt", "uni_skip.npz", "utable.npy"):
            for kind in ("fifo", "device"):
                rel = build_release(d / f"{{name}}-{{kind}}")
                (rel / name).unlink()
                os.mkfifo(rel / name) if kind == "fifo" else os.symlink("/dev/zero", rel / name)
                calls.append((name, lambda rel=rel: read_release(rel, mode="uni")))
        os.mkfifo(d / "fifo")
        calls.append(("infersent", lambda: read_infersent_checkpoint(d / "fifo")))
        calls.append(("infersent device", lambda: read_infersent_checkpoint("/dev/zero")))
        calls.append(("mpnet", lambda: safe_extract(d / "fifo", d / "out")))
        calls.append(("nli", lambda: convert_nli_zip(d / "fifo", ARCHIVES["SNLI"], d / "o")))
        for what, call in calls:
            try:
                call()
            except TransferkitError as err:
                assert "regular file" in str(err), (what, err)
                continue
            raise AssertionError(what)
        raise ModelFormatError("all refused")
        """,
        imports=f"""{BOUND}
from benchmarks.tasks.nli import ARCHIVES, convert_nli_zip
from embeddings.adapters.mpnet import safe_extract
from embeddings.errors import ModelFormatError, TransferkitError
from embeddings.formats.infersent import read_infersent_checkpoint
from tests.security.test_release_files_hostile import build_release""",
    )
    assert_bounded(result, allowed=("ModelFormatError",))
    assert result.message == "all refused"


def test_a_missing_release_file_is_data_not_found(tmp_path: Path) -> None:
    rel = build_release(tmp_path / "rel")
    (rel / "utable.npy").unlink()
    with pytest.raises(DataNotFoundError, match="utable.npy"):
        st.read_release(rel, mode="uni")


# ------------------------------------------------------------ InferSent checkpoints
torch = pytest.importorskip("torch")


def _checkpoint(path: Path, *, legacy: bool = False, hidden: int = 64) -> bytes:
    lstm = torch.nn.LSTM(30, hidden, bidirectional=True)
    state = {f"enc_lstm.{k}": v for k, v in lstm.state_dict().items()}
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)
    return path.read_bytes()


@pytest.mark.parametrize(("legacy", "cut"), [(False, 4985), (False, 60000), (True, 28)])
def test_a_truncated_infersent_checkpoint_is_a_model_format_error(
    tmp_path: Path, legacy: bool, cut: int
) -> None:
    from embeddings.formats.infersent import read_infersent_checkpoint

    path = tmp_path / "infersent1.pkl"
    data = _checkpoint(path, legacy=legacy)
    path.write_bytes(data[:cut])
    with pytest.raises(ModelFormatError, match=r"infersent1.pkl: not a readable InferSent"):
        read_infersent_checkpoint(path)


def test_infersent_views_repeating_their_storage_are_refused(tmp_path: Path) -> None:
    from embeddings.formats.infersent import CHECKPOINT_NAMES

    # consistent shapes for hidden 25000, word_dim 20000, every tensor a view of one value
    # (strides 0): copying weight_ih_l0 alone needs 8 GB
    hidden, word_dim = 25_000, 20_000
    one = torch.zeros(1)
    state = {}
    for name in CHECKPOINT_NAMES:
        shape = {"weight_ih": (4 * hidden, word_dim), "weight_hh": (4 * hidden, hidden)}.get(
            name.split("_l0")[0], (4 * hidden,)
        )
        state[f"enc_lstm.{name}"] = one.as_strided(shape, (0,) * len(shape))
    path = tmp_path / "infersent1.pkl"
    torch.save(state, path)
    result = run_limited(
        f"read_infersent_checkpoint({str(path)!r})",
        imports="import torch\nfrom embeddings.formats.infersent import read_infersent_checkpoint",
    )
    assert_bounded(result, allowed=("ModelFormatError",))
    assert "repeated by its strides" in result.message


def test_infersent_records_that_expand_too_far_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from embeddings.formats import infersent

    # a checkpoint of zero weights whose records are deflated about 1000:1 (torch.save
    # stores them; torch reads a deflated record whole, at its declared size)
    lstm = torch.nn.LSTM(30, 64, bidirectional=True)
    state = {f"enc_lstm.{k}": torch.zeros_like(v) for k, v in lstm.state_dict().items()}
    path = tmp_path / "infersent1.pkl"
    torch.save(state, path)
    with zipfile.ZipFile(path) as zf:
        members = [(i.filename, zf.read(i)) for i in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in members:
            zf.writestr(name, body)
    monkeypatch.setattr(infersent, "_SMALL_MEMBER", 1 << 12)
    with pytest.raises(ModelFormatError, match=r"infersent1.pkl: member 'infersent1/data/\d+'"):
        infersent.read_infersent_checkpoint(path)


# ------------------------------------------------------------ zip archives
MP_OK = [("m/config.json", b"{}"), ("m/model.bin", b"x" * 100)]
MPNET_CASES = {
    "bad CRC": (
        corrupt_crc(zip_bytes(MP_OK)),
        r"member 'm/config.json' cannot be read.*BadZipFile",
    ),
    "damaged deflate data": (
        damage_first_member_data(
            zip_bytes([("m/config.json", b"{}" * 5000)], zipfile.ZIP_DEFLATED), at=4
        ),
        r"member 'm/config.json' cannot be read",
    ),
    "unsupported method": (
        set_method(zip_bytes(MP_OK), 99),
        r"'m/config.json' uses compression method",
    ),
    "encrypted": (set_flag(zip_bytes(MP_OK), 0x1), r"member 'm/config.json' is encrypted"),
    "file then child": (zip_bytes([("m/a", b"x"), ("m/a/b", b"y")]), r"'m/a' is both a file"),
    "dir after file": (zip_bytes([("m/a", b"x"), ("m/a/", b"")]), r"'m/a' is both a file"),
    "bad utf-8 name": (_bad_utf8_name(zip_bytes(MP_OK), b"m/config.json"), r"not valid UTF-8"),
    "300-byte name": (zip_bytes([("m/" + "x" * 300, b"x")]), r"longer than a file name"),
    "duplicate": (_quiet_zip([("m/a", b"1"), ("m/a", b"2")]), r"'m/a' appears more than once"),
    "named '.'": (zip_bytes([(".", b"x")]), r"target folder itself"),
}


def _refused_naming_it(
    archive: Path, data: bytes, read: Callable[[Path], object], error: type[Exception], match: str
) -> None:
    """Write ``data`` to ``archive``: ``read(archive)`` must raise ``error`` matching
    ``match`` and naming the archive."""
    archive.write_bytes(data)
    with pytest.raises(error, match=match) as info:
        read(archive)
    assert str(archive) in str(info.value)


@pytest.mark.parametrize("case", sorted(MPNET_CASES))
def test_mpnet_damaged_members_are_model_format_errors(tmp_path: Path, case: str) -> None:
    data, message = MPNET_CASES[case]

    def extract(archive: Path) -> None:
        mpnet.safe_extract(archive, tmp_path / "out")

    _refused_naming_it(tmp_path / "a.zip", data, extract, ModelFormatError, message)


LINE = b'{"gold_label": "neutral", "sentence1": "a cat", "sentence2": "a dog"}\n'
SNLI = [f"snli_1.0/snli_1.0_{s}.jsonl" for s in ("train", "dev", "test")]
GOOD = [(m, LINE * 50) for m in SNLI]
TRAIN = SNLI[0]
NLI_CASES = {
    "bad CRC": (corrupt_crc(zip_bytes(GOOD, zipfile.ZIP_DEFLATED)), rf"{TRAIN}' cannot be read"),
    "damaged deflate data": (
        damage_first_member_data(zip_bytes(GOOD, zipfile.ZIP_DEFLATED), at=4),
        rf"{TRAIN}' cannot be read",
    ),
    "unsupported method": (
        set_method(zip_bytes(GOOD), 99),
        rf"{TRAIN}' uses compression method 99",
    ),
    "encrypted": (set_flag(zip_bytes(GOOD), 0x1), rf"{TRAIN}' is encrypted"),
    "bad utf-8 name": (_bad_utf8_name(zip_bytes(GOOD), TRAIN.encode()), "not valid UTF-8"),
    "content not utf-8": (
        zip_bytes([(m, b"\xff\xfe" + LINE) for m in SNLI]),
        rf"{TRAIN}' is not UTF-8",
    ),
    "deeply nested JSON": (
        zip_bytes([(m, b"[" * 100_000 + b"]" * 100_000 + b"\n") for m in SNLI]),
        "nests JSON",
    ),
    "repeated member": (_quiet_zip([*GOOD, (TRAIN, LINE)]), rf"{TRAIN}' appears 2 times"),
}


@pytest.mark.parametrize("case", sorted(NLI_CASES))
def test_nli_damaged_members_are_data_format_errors(tmp_path: Path, case: str) -> None:
    data, message = NLI_CASES[case]

    def convert(archive: Path) -> None:
        nli.convert_nli_zip(archive, nli.ARCHIVES["SNLI"], tmp_path / "out")

    _refused_naming_it(tmp_path / "snli.zip", data, convert, DataFormatError, message)


def test_nli_a_huge_line_is_refused_before_it_is_gathered(tmp_path: Path) -> None:
    # a 700 MB line without a newline, deflated to under 1 MB
    archive = tmp_path / "snli.zip"
    chunk = b"x" * (1 << 20)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open(TRAIN, "w", force_zip64=True) as out:
            for _ in range(700):
                out.write(chunk)
        for member, body in GOOD[1:]:
            zf.writestr(member, body)
    assert archive.stat().st_size < 2 << 20
    result = run_limited(
        f"convert_nli_zip({str(archive)!r}, ARCHIVES['SNLI'], {str(tmp_path / 'out')!r})",
        imports="from benchmarks.tasks.nli import ARCHIVES, convert_nli_zip",
    )
    assert_bounded(result, allowed=("DataFormatError",))
    assert "longer than" in result.message and TRAIN in result.message


def test_nli_outputs_taken_by_the_wrong_kind_of_file(tmp_path: Path) -> None:
    archive = tmp_path / "snli.zip"
    archive.write_bytes(zip_bytes(GOOD))
    (tmp_path / "out").write_text("a file")
    with pytest.raises(InvalidParameterError, match="is not a folder"):
        nli.convert_nli_zip(archive, nli.ARCHIVES["SNLI"], tmp_path / "out")
    (tmp_path / "out2" / "train.tsv").mkdir(parents=True)
    with pytest.raises(InvalidParameterError, match=rf"train.tsv.*{TRAIN}"):
        nli.convert_nli_zip(archive, nli.ARCHIVES["SNLI"], tmp_path / "out2")
    manifest = nli.convert_nli_zip(archive, nli.ARCHIVES["SNLI"], tmp_path / "out3")
    assert manifest["splits"]["train"]["rows"] == 50
