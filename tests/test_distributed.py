"""Distributed encoding on a 2-worker Dask LocalCluster, compared bit for bit."""

from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

import embeddings
from embeddings.errors import InvalidParameterError, MissingDependencyError
from embeddings.streaming import read_vectors

distributed_pkg = pytest.importorskip("distributed")
from embeddings import distributed  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*no in-vocabulary token:RuntimeWarning")

TEXTS = [
    f"row{i} " + " ".join(["the", "cat", "sat", "stocks", "fell", "a", "dull", "film"][: i % 8 + 1])
    for i in range(60)
]


@pytest.fixture(scope="module")
def cluster():
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,  # no dashboard; its HTTP routes on a free port:
            scheduler_kwargs={"dashboard_address": ":0"},
            silence_logs=40,
        ) as local,
        Client(local) as client,
    ):
        yield local, client


@pytest.fixture()
def source(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("".join(t + "\n" for t in TEXTS), encoding="utf-8")
    return path


def test_two_workers_match_one_process_bit_for_bit_and_load_once(cluster, source, tmp_path):
    _, client = cluster
    sif = embeddings.load("glove-6b-50d-sif").fit(TEXTS[:30])
    out = tmp_path / "vectors"
    result = distributed.encode(
        sif, source, out, client=client, partition_bytes=128, show_progress=False
    )
    expected = sif.encode(TEXTS)
    got = read_vectors(out)
    assert got.dtype == np.float32 and got.tobytes() == expected.tobytes()
    n = -(-source.stat().st_size // 128)  # no 128-byte range of this file lacks a line start
    parts = sorted(p.name for p in out.glob("part-*.parquet"))
    assert n >= 8 and parts == [f"part-{i:05d}.parquet" for i in range(n)]
    assert (result.rows, result.partitions, result.partitions_encoded) == (60, n, n)
    # both workers encoded partitions, and each loaded the encoder exactly once
    assert len(result.workers) == 2 and sum(result.workers.values()) == n
    assert result.loads == dict.fromkeys(result.workers, 1)
    assert set(result.busy_seconds) == set(result.workers)
    # the encoder plugin pinned each single-threaded worker's numerical threads to one
    from embeddings._deps import process_threads

    assert set(client.run(process_threads).values()) == {1}
    assert all(0 < result.encode_seconds[w] <= result.busy_seconds[w] for w in result.workers)
    manifest = json.loads((out / "_transferkit.json").read_text())
    assert manifest["complete"] and manifest["encoder"]["fingerprint"] == sif.fingerprint()
    assert not (out / "_encoder").exists()  # the folder shipped to the workers is removed
    import pandas as pd

    frame = pd.read_parquet(out)  # the manifest is not read as data
    assert frame["id"].tolist() == list(range(60))


@pytest.mark.slow
def test_scheduler_address_and_preset_with_params(cluster, source, tmp_path):
    local, _ = cluster
    out = tmp_path / "vectors"
    result = distributed.encode(
        "glove-6b-50d",
        source,
        out,
        client=local.scheduler_address,
        encoder_params={"pooling": "max"},
        partition_bytes=source.stat().st_size // 3 + 1,
        show_progress=False,
    )
    expected = embeddings.load("glove-6b-50d", pooling="max").encode(TEXTS)
    assert read_vectors(out).tobytes() == expected.tobytes()
    assert result.partitions == 3 and set(result.loads.values()) == {1}


@pytest.mark.slow
def test_resume_encodes_only_missing_partitions_and_checks_the_encoder(cluster, source, tmp_path):
    _, client = cluster
    glove = embeddings.load("glove-6b-50d")
    out = tmp_path / "vectors"
    first = distributed.encode(
        glove, source, out, client=client, partition_bytes=200, show_progress=False
    )
    (out / "part-00002.parquet").unlink()
    (out / "part-00004.parquet").unlink()
    result = distributed.encode(glove, source, out, client=client, show_progress=False)
    assert (result.partitions_encoded, result.partitions_resumed) == (2, first.partitions - 2)
    assert read_vectors(out).tobytes() == glove.encode(TEXTS).tobytes()
    other = embeddings.load("glove-6b-50d", pooling="max")
    with pytest.raises(InvalidParameterError, match="mix vectors of two encoders"):
        distributed.encode(other, source, out, client=client, show_progress=False)
    with pytest.raises(InvalidParameterError, match="partition_bytes=200, this call"):
        distributed.encode(glove, source, out, client=client, partition_bytes=50)
    result = distributed.encode(
        other, source, out, client=client, resume=False, show_progress=False
    )
    assert result.partitions_resumed == 0
    assert read_vectors(out).tobytes() == other.encode(TEXTS).tobytes()


def test_argument_errors_are_raised_before_any_connection(source, tmp_path, monkeypatch):
    client = "tcp://127.0.0.1:1"  # never contacted: every check comes first
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(InvalidParameterError, match=r"holds files that are not partitions"):
        distributed.encode("glove-6b-50d", source, tmp_path / "busy", client=client)
    with pytest.raises(InvalidParameterError, match="client must be None"):
        distributed.encode("glove-6b-50d", source, tmp_path / "o", client=42)
    with pytest.raises(InvalidParameterError, match="n_workers sizes the LocalCluster"):
        distributed.encode("glove-6b-50d", source, tmp_path / "o", client=client, n_workers=2)
    with pytest.raises(InvalidParameterError, match="partition_size must be an int >= 1"):
        distributed.encode("glove-6b-50d", source, tmp_path / "o", partition_size=0)
    with pytest.raises(InvalidParameterError, match="pass partition_bytes= instead"):
        distributed.encode("glove-6b-50d", source, tmp_path / "o", partition_size=5)
    monkeypatch.setenv("TRANSFERKIT_PROGRESS", "loud")
    with pytest.raises(InvalidParameterError, match=r"TRANSFERKIT_PROGRESS must be one of"):
        distributed.encode("glove-6b-50d", source, tmp_path / "o", client=client)
    monkeypatch.delenv("TRANSFERKIT_PROGRESS")
    with pytest.raises(InvalidParameterError, match="encoder must be a transferkit encoder"):
        distributed.encode(object(), source, tmp_path / "o", client=client)
    with pytest.raises(InvalidParameterError, match="encoder_params apply to a preset name"):
        distributed.encode(
            embeddings.load("glove-6b-50d"), source, tmp_path / "o", encoder_params={"a": 1}
        )
    with pytest.raises(embeddings.NotFittedError):
        distributed.encode("glove-6b-50d-sif", source, tmp_path / "o", client=client)
    assert not (tmp_path / "o").exists()


def test_missing_dask_names_the_extra(monkeypatch, source, tmp_path):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'transferkit\[dask\]'"):
        distributed.encode("glove-6b-50d", source, tmp_path / "o")


def test_lazy_export():
    assert embeddings.distributed is distributed


@pytest.mark.slow
def test_default_local_cluster_is_created_and_closed(source, tmp_path):
    result = distributed.encode(
        "glove-6b-50d", source, tmp_path / "o", n_workers=1, show_progress=False
    )
    assert result.loads and set(result.loads.values()) == {1}
    assert np.array_equal(
        read_vectors(tmp_path / "o"), embeddings.load("glove-6b-50d").encode(TEXTS)
    )


def test_the_client_never_opens_a_text_input(cluster, source, tmp_path, monkeypatch):
    """Workers (other processes) read the file; in this process opening it fails."""
    import builtins
    import io

    _, client = cluster
    real_open = io.open
    blocked = str(source.resolve())

    def guarded(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and os.path.realpath(file) == blocked:
            raise PermissionError(f"the client may not read {file}")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    monkeypatch.setattr(io, "open", guarded)
    glove = embeddings.load("glove-6b-50d")
    out = tmp_path / "vectors"
    result = distributed.encode(
        glove, source, out, client=client, partition_bytes=300, show_progress=False
    )
    monkeypatch.undo()
    assert result.rows == 60 and result.partitions >= 3
    assert read_vectors(out).tobytes() == glove.encode(TEXTS).tobytes()


def test_jsonl_csv_and_parquet_inputs_match_one_process(cluster, tmp_path):
    import pandas as pd

    _, client = cluster
    glove = embeddings.load("glove-6b-50d")
    expected = glove.encode(TEXTS).tobytes()
    jsonl = tmp_path / "t.jsonl"
    jsonl.write_text("".join(json.dumps({"body": t}) + "\r\n\n" for t in TEXTS))
    r = distributed.encode(
        glove,
        jsonl,
        tmp_path / "a",
        client=client,
        column="body",
        partition_bytes=500,
        show_progress=False,
    )
    assert r.partitions > 2 and read_vectors(tmp_path / "a").tobytes() == expected
    csv = tmp_path / "t.csv"
    pd.DataFrame({"text": TEXTS}).to_csv(csv, index=False)
    r = distributed.encode(
        glove, csv, tmp_path / "b", client=client, partition_size=13, show_progress=False
    )
    assert r.partitions == 5 and read_vectors(tmp_path / "b").tobytes() == expected
    pq = tmp_path / "t.parquet"
    pd.DataFrame({"text": TEXTS}).to_parquet(pq, row_group_size=8)
    r = distributed.encode(
        glove, pq, tmp_path / "c", client=client, partition_size=20, show_progress=False
    )
    # row groups of 8 gathered up to 20 rows: 16, 16, 16, 12
    assert r.partitions == 4 and read_vectors(tmp_path / "c").tobytes() == expected
    assert pd.read_parquet(tmp_path / "c")["id"].tolist() == list(range(60))


def test_encode_dataframe_maps_the_encoder_over_partitions(cluster, tmp_path):
    import dask.dataframe as dd
    import pandas as pd

    _ = cluster  # its client is the default: the frame is computed on its workers
    sif = embeddings.load("glove-6b-50d-sif").fit(TEXTS[:30])
    frame = pd.DataFrame({"id": range(60), "text": TEXTS})
    ddf = dd.from_pandas(frame, npartitions=4)
    vectors = distributed.encode_dataframe(ddf, "text", sif, encoder_dir=tmp_path / "enc")
    assert vectors.npartitions == 4 and list(vectors.columns)[:2] == ["dim_0", "dim_1"]
    vectors.to_parquet(tmp_path / "pq")  # computed on the cluster's workers
    got = pd.read_parquet(tmp_path / "pq").to_numpy()
    assert got.dtype == np.float32 and got.tobytes() == sif.encode(TEXTS).tobytes()
    with pytest.raises(InvalidParameterError, match="pass encoder_dir="):
        distributed.encode_dataframe(ddf, "text", sif)
    with pytest.raises(InvalidParameterError, match="no column 'body'"):
        distributed.encode_dataframe(ddf, "body", "glove-6b-50d")


def test_default_partitions_give_every_worker_thread_four(cluster, tmp_path):
    """Without partition_bytes, a file is cut into 4 partitions per worker thread (here
    2 single-threaded workers: 8), each at least 64 KiB; the vectors do not change."""
    from embeddings._partitions import MIN_PARTITION_BYTES

    _, client = cluster
    texts = TEXTS * 350  # 21,000 lines, about 0.7 MB
    path = tmp_path / "big.txt"
    path.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    assert path.stat().st_size > 8 * MIN_PARTITION_BYTES
    glove = embeddings.load("glove-6b-50d")
    result = distributed.encode(glove, path, tmp_path / "v", client=client, show_progress=False)
    assert result.partitions == 8
    assert read_vectors(tmp_path / "v").tobytes() == glove.encode(texts).tobytes()
    small = tmp_path / "small.txt"
    small.write_text("".join(t + "\n" for t in TEXTS), encoding="utf-8")
    result = distributed.encode(glove, small, tmp_path / "s", client=client, show_progress=False)
    assert result.partitions == 1  # under 64 KiB: one partition


def test_own_local_clusters_leave_glibc_malloc_tuning_alone(monkeypatch):
    """Dask's nanny gives workers ``MALLOC_TRIM_THRESHOLD_=65536``; any such setting fixes
    glibc's mmap threshold, and MiniLM then encoded about 20% slower on a worker than in
    one process (``python -m benchmarks.perf.distributed``).  Clusters that transferkit
    starts leave the variable out, also when an earlier nanny (here the module's plain
    LocalCluster) put it into this process's environment; a user's own value is kept."""
    import dask

    from embeddings._dask_workers import _worker_environ, client_for

    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # what a plain LocalCluster leaves
    with client_for(None, 1) as client:
        seen = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    assert list(seen.values()) == [None]
    assert "MALLOC_TRIM_THRESHOLD_" not in os.environ
    with dask.config.set(
        {"distributed.nanny.pre-spawn-environ": {"MALLOC_TRIM_THRESHOLD_": 1 << 20}}
    ):
        assert _worker_environ() == {"MALLOC_TRIM_THRESHOLD_": 1 << 20}


def test_nanny_preload_leaves_glibc_malloc_tuning_alone_on_own_workers(monkeypatch):
    """``dask worker --preload-nanny embeddings.dask_nanny``: a nanny that loads the module
    spawns its worker without Dask's default trim threshold; one that does not load it
    passes the variable on (Dask's behaviour, which the module is there to undo)."""
    from distributed import Client, LocalCluster

    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)  # as a fresh `dask worker`
    seen = {}
    for preload in ([], ["embeddings.dask_nanny"]):
        with (
            LocalCluster(
                n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                scheduler_kwargs={"dashboard_address": ":0"}, silence_logs=40,
                preload_nanny=preload,
            ) as local,
            Client(local) as client,
        ):  # fmt: skip
            env = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
            seen[bool(preload)] = list(env.values())
        monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_", raising=False)  # the nanny set it here
    assert seen == {False: ["65536"], True: [None]}
