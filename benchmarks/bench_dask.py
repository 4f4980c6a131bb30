"""Dask adapter benchmarks (issue 13): W8 and how it scales, on one LocalCluster.

``LocalCluster(n_workers=2, threads_per_worker=1)`` (processes) is started once
for the module.  Inputs are generated on the workers and persisted; each timed
call builds the graph, persists the result on the cluster and waits for it (the
output stays distributed, as it would before ``to_zarr``), so every row times
the same thing: graph + scheduling + per-block work + halo transfers.

* W8: 8192² float32 in 2048² chunks ⊛ 15², 'same', symmetric boundary
  (``dask_image``'s default ``mode='reflect'``): against
  ``dask_image.ndfilters.convolve`` on the same cluster (goal ≥ 3) and against
  the in-memory ``convlens.Convolver`` plan with 2 threads in this process
  (goal ≥ 0.67, i.e. within 1.5×).
* 63² and 255² kernels (dask_image would need minutes per call there: direct sums).
* growth with the array (4096², 8192², 16384²) and with the chunk (1024², 2048², 4096²).

``--quick`` shrinks every size by 4 per axis (a smoke test; ratios not comparable).
"""

from __future__ import annotations

import atexit

import numpy as np

from ._harness import Case, Compare

THREADS = 2
_CLUSTER: dict = {}


def _client():
    """The module's LocalCluster and Client (started on first use, closed at exit)."""
    if not _CLUSTER:
        import distributed

        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        )
        client = distributed.Client(cluster)
        _CLUSTER.update(cluster=cluster, client=client)
        atexit.register(cluster.close)
        atexit.register(client.close)
    return _CLUSTER["client"]


def _input(n: int, chunk: int):
    """(dask array persisted on the workers, the same data in this process)."""
    import dask.array as da
    import distributed

    client = _client()
    xd = da.random.default_rng(20261201).random((n, n), dtype=np.float32, chunks=chunk).persist()
    distributed.wait(xd)
    return xd, client.compute(xd).result()


def _fresh(xd):
    """The same persisted chunks under new keys, so that no call finds a previous call's result
    (Dask names results by their inputs: an identical graph would be served from memory)."""
    import uuid

    return xd.map_blocks(np.asarray, name=f"bench-input-{uuid.uuid4().hex}", dtype=xd.dtype, meta=xd._meta)


def _persisted(make):
    import distributed

    def run():
        y = make().persist()
        distributed.wait(y)
        return y

    return run


def _check(ours: str, ref: str, chunk: int):
    """Compare a corner and a window across four chunks with the in-memory result."""

    def check(out):
        y = out[ours]
        r = out[ref]
        windows = [(slice(0, 64), slice(0, 64)), (slice(chunk - 32, chunk + 32), slice(chunk - 32, chunk + 32))]
        err = max(
            float(np.abs(np.asarray(y[w].compute()) - r[w]).max() / max(1.0, float(np.abs(r[w]).max())))
            for w in windows
        )
        return f"max rel. difference from the in-memory plan on sampled windows: {err:.1e}"

    return check


def _case(n: int, chunk: int, k: int, *, anchor_dask_image: bool, workload: str) -> Case:
    import convlens as cl
    import convlens.dask as cld

    xd, x = _input(n, chunk)
    kernel = np.random.default_rng(k).random((k, k)).astype(np.float32)
    kernel /= kernel.sum()
    plan = cl.Convolver(kernel, x.shape, "same", boundary="symmetric", dtype=np.float32, workers=THREADS)
    ours = {"convlens.dask": _persisted(lambda: cld.convolve(_fresh(xd), kernel, "same", boundary="symmetric"))}
    anchors = {"in-memory Convolver, 2 threads": lambda: plan(x)}
    compare = [Compare("in-memory Convolver, 2 threads", "convlens.dask", 1 / 1.5 if anchor_dask_image else None)]
    if anchor_dask_image:
        from dask_image.ndfilters import convolve as di_convolve

        anchors["dask_image.ndfilters.convolve"] = _persisted(lambda: di_convolve(_fresh(xd), kernel, mode="reflect"))
        compare.insert(0, Compare("dask_image.ndfilters.convolve", "convlens.dask", 3.0))
    return Case(
        workload=workload,
        ours=ours,
        anchors=anchors,
        compare=compare,
        threads={"convlens.dask": 2, "dask_image.ndfilters.convolve": 2, "in-memory Convolver, 2 threads": THREADS},
        check=_check("convlens.dask", "in-memory Convolver, 2 threads", chunk),
        repeats=5,
        budget_s=20.0,
        warmup=1,
    )


def cases(quick: bool) -> list[Case]:
    s = 4 if quick else 1  # quick: every side / 4
    out = []
    n, c = 8192 // s, 2048 // s
    out.append(_case(n, c, 15, anchor_dask_image=True, workload=f"W8 dask {n}² f32 in {c}² chunks ⊛ 15² (2 workers)"))
    for k in (63, 255):
        kk = max(3, k // s)
        out.append(_case(n, c, kk, anchor_dask_image=False, workload=f"dask {n}² in {c}² chunks ⊛ {kk}²"))
    for nn in (4096, 16384):
        out.append(_case(nn // s, c, 15, anchor_dask_image=False, workload=f"dask growth {nn // s}² in {c}² ⊛ 15²"))
    for cc in (1024, 4096):
        out.append(_case(n, cc // s, 15, anchor_dask_image=False, workload=f"dask chunks {n}² in {cc // s}² ⊛ 15²"))
    return out
