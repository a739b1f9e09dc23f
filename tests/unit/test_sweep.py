"""ms.sweep: chunking never changes an answer; reductions equal brute force; clear errors."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlsysim_sym as ms
from mlsysim_sym.solvers.optimize import pareto_front
from mlsysim_sym.sweeps import SweepError
from mlsysim_sym.sweeps.grid import Grid

MODELS = ["llama-3-8b", "llama-3-70b"]
BATCH = np.arange(1, 41)
SEQ = [512, 2048, 8192, 32768]
OUTS = ("ttft", "time_per_output_token", "decode_throughput", "memory_footprint", "feasible",
        "bottleneck")


@pytest.fixture(scope="module")
def brute():
    """The grid model x batch x seq_len on an H100, from direct vectorised predict() calls,
    flattened in the sweep's order (model outer, seq_len fastest)."""
    cols = {k: [] for k in OUTS}
    for m in MODELS:
        r = ms.predict(m, "h100", batch=BATCH[:, None], seq_len=np.asarray(SEQ)[None, :])
        shape = (BATCH.size, len(SEQ))
        cols["ttft"].append(np.broadcast_to(r.ttft.to("ms").magnitude, shape).ravel())
        cols["time_per_output_token"].append(
            np.broadcast_to(r.time_per_output_token.to("ms").magnitude, shape).ravel())
        cols["decode_throughput"].append(np.broadcast_to(
            r.outputs()["decode_throughput"].to("token/s").magnitude, shape).ravel())
        cols["memory_footprint"].append(
            np.broadcast_to(r.memory_footprint.to("GB").magnitude, shape).ravel())
        cols["feasible"].append(np.broadcast_to(r.feasible, shape).ravel())
        cols["bottleneck"].append(np.broadcast_to(r.bottleneck, shape).ravel())
    return {k: np.concatenate(v) for k, v in cols.items()}


def _sweep(chunk_size=2 ** 20, **kw):
    return ms.sweep("predict", model=MODELS, hardware="h100", batch=BATCH, seq_len=SEQ,
                    chunk_size=chunk_size, **kw)


@pytest.mark.parametrize("chunk_size", [1, 7, 40, 160, 10_000])
def test_chunked_table_equals_the_unchunked_vectorised_call(brute, chunk_size):
    r = _sweep(chunk_size)
    assert r.n_points == 2 * BATCH.size * len(SEQ)
    for k in ("ttft", "time_per_output_token", "decode_throughput", "memory_footprint"):
        np.testing.assert_allclose(r.table[k], brute[k], rtol=1e-12)
    assert np.array_equal(r.table["feasible"], brute["feasible"])
    assert np.array_equal(r.bottleneck().ravel(), brute["bottleneck"])
    assert r.units["time_per_output_token"] == "ms"


def _reductions():
    return {"n": ms.reduce.count_feasible(),
            "fast": ms.reduce.argmin("time_per_output_token"),
            "busy": ms.reduce.argmax("decode_throughput"),
            "front": ms.reduce.pareto("time_per_output_token", "-decode_throughput"),
            "q": ms.reduce.quantiles("ttft", [0, 0.1, 0.5, 0.9, 1]),
            "h": ms.reduce.histogram("ttft", bins=12, range=("10 ms", "20 s"), log=True)}


def _coords(i):
    m, rest = divmod(int(i), BATCH.size * len(SEQ))
    b, s = divmod(rest, len(SEQ))
    return {"model": MODELS[m], "hardware": None, "batch": int(BATCH[b]), "seq_len": SEQ[s]}


@settings(max_examples=30, deadline=None)
@given(chunk_size=st.integers(1, 400))
def test_reductions_equal_brute_force_for_any_chunking(brute, chunk_size):
    cons = {"ttft": "<= 15 s"}
    r = _sweep(chunk_size, reduce=_reductions(), constraints=cons, table=False)
    ok = brute["feasible"] & (brute["ttft"] <= 15000)
    assert r["n"] == int(ok.sum())
    tpot = np.where(ok, brute["time_per_output_token"], np.inf)
    i = int(np.argmin(tpot))
    best = r["fast"]
    assert (best["model"], best["batch"], best["seq_len"]) == tuple(
        _coords(i)[k] for k in ("model", "batch", "seq_len"))
    assert best["time_per_output_token [ms]"] == pytest.approx(tpot[i], rel=1e-12)
    thr = np.where(ok, brute["decode_throughput"], -np.inf)
    j = int(np.argmax(thr))
    assert (r["busy"]["model"], r["busy"]["batch"], r["busy"]["seq_len"]) == tuple(
        _coords(j)[k] for k in ("model", "batch", "seq_len"))
    # Pareto front = pareto_front over the admissible rows of the full table
    idx = np.flatnonzero(ok)
    front = idx[pareto_front(brute["time_per_output_token"][idx],
                             brute["decode_throughput"][idx], minimize=(True, False))]
    got = [(p["model"], p["batch"], p["seq_len"]) for p in r["front"]]
    assert got == [tuple(_coords(f)[k] for k in ("model", "batch", "seq_len")) for f in front]
    # quantiles within the stated relative accuracy of numpy's "lower" order statistic
    for q, v in r["q"].items():
        exact = np.quantile(brute["ttft"][ok], q, method="lower")
        assert abs(v - exact) <= 1e-3 * abs(exact) * (1 + 1e-9)
    edges = np.logspace(1, math.log10(20000), 13)
    counts, _ = np.histogram(np.log10(brute["ttft"][ok]), bins=12,
                             range=(1, math.log10(20000)))
    assert np.array_equal(r["h"]["counts"], counts)
    np.testing.assert_allclose(r["h"]["edges"], edges)
    assert r["h"]["under"] == int((brute["ttft"][ok] < 10).sum())


def test_pareto_equals_pareto_front_on_a_large_chunk():
    """One chunk of 20,000 admissible points: the sampled prefilter path of the front."""
    batch, seq = np.arange(1, 201), np.arange(1, 101) * 256
    kw = dict(model="llama-3-8b", hardware="h100", batch=batch, seq_len=seq,
              outputs=("time_per_output_token", "decode_throughput"), only_feasible=False,
              reduce=ms.reduce.pareto("time_per_output_token", "-decode_throughput"))
    r = ms.sweep("predict", **kw)
    t = r.table
    idx = np.arange(r.n_points)
    front = idx[pareto_front(t["time_per_output_token"][idx], t["decode_throughput"][idx],
                             minimize=(True, False))]
    got = r["pareto(time_per_output_token, -decode_throughput)"]
    assert [(p["batch"], p["seq_len"]) for p in got] == [
        (int(batch[f // seq.size]), int(seq[f % seq.size])) for f in front]
    chunked = ms.sweep("predict", **kw, chunk_size=999, table=False)
    assert chunked["pareto(time_per_output_token, -decode_throughput)"] == got


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=0, max_size=4),
       numeric=st.lists(st.booleans(), min_size=4, max_size=4),
       chunk=st.integers(1, 50))
def test_blocks_cover_the_grid_once_in_order_and_stay_bounded(sizes, numeric, chunk):
    axes = {f"a{i}": np.arange(n) for i, n in enumerate(sizes)}
    num = tuple(k for k, flag in zip(axes, numeric) if flag)
    g = Grid(axes, num, chunk)
    seen = []
    for i in range(g.n_blocks):
        b = g.block(i)
        assert b.size <= chunk
        gi = g.block_index(b)
        assert np.all(np.diff(gi) > 0)  # local order is grid order
        inputs = g.numeric_inputs(b)
        coords = g.coords(gi)
        for k in num:
            np.testing.assert_array_equal(np.broadcast_to(inputs[k], b.shape).ravel(), coords[k])
        for k, v in g.combo_values(b.combo).items():
            assert np.all(coords[k] == v)
        seen.append(gi)
    flat = np.concatenate(seen) if seen else np.array([], dtype=int)
    assert np.array_equal(np.sort(flat), np.arange(g.n_points))


def test_train_sweep_equals_the_vectorised_train_call():
    tp, pp = np.array([1, 2, 4, 8]), np.array([1, 2])
    direct = ms.train("llama-3-8b", "h100", devices=64, global_batch=512, tp=tp[:, None],
                      pp=pp[None, :])
    r = ms.sweep("train", model="llama-3-8b", cluster="h100", devices=64, global_batch=512,
                 tp=tp, pp=pp, chunk_size=3)
    np.testing.assert_allclose(r.table["step_time"], direct.step_time.to("s").magnitude.ravel())
    assert np.array_equal(r.bottleneck().ravel(), direct.bottleneck.ravel())


def test_frame_and_dataset_carry_units_and_bottleneck_names():
    pd = pytest.importorskip("pandas")
    xr = pytest.importorskip("xarray")
    r = ms.sweep("predict", model="llama-3-8b", hardware=["h100", "mi300x"], batch=[1, 64],
                 seq_len=[2048])
    df = r.to_frame()
    assert list(df.columns[:4]) == ["hardware", "batch", "seq_len", "ttft [ms]"]
    assert "decode_throughput [tok/s]" in df.columns
    assert isinstance(df["bottleneck"].dtype, pd.CategoricalDtype)
    assert set(df["bottleneck"]) <= {"Compute", "Memory"}
    ds = r.to_xarray()
    assert isinstance(ds, xr.Dataset)
    assert ds["ttft"].dims == ("hardware", "batch", "seq_len")
    assert ds["ttft"].attrs["units"] == "ms"
    assert ds["bottleneck"].attrs["flag_meanings"].split()[0] == "Compute"


def test_dask_sweep_equals_the_local_sweep():
    distributed = pytest.importorskip("distributed")
    kw = dict(model=MODELS, hardware=["h100", "mi300x"], batch=BATCH, seq_len=SEQ)
    local = ms.sweep("predict", **kw, chunk_size=50, reduce=_reductions())
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = ms.sweep("predict", **kw, chunk_size=50, reduce=_reductions(),
                          backend="dask", scheduler=client)
    for name in ("n", "fast", "busy", "front", "q"):
        assert remote[name] == local[name]
    assert np.array_equal(remote["h"]["counts"], local["h"]["counts"])
    for k, v in local.table.items():
        assert np.array_equal(remote.table[k], v)


def test_no_heavy_imports():
    """ms.sweep and ms.reduce import none of dask.distributed, pandas, xarray (pint itself
    imports dask.base when dask is installed, so that is measured after importing pint)."""
    code = ("import sys, pint; before = set(sys.modules)\n"
            "import numpy as np, mlsysim_sym as ms\n"
            "ms.sweep('predict', model='llama-3-8b', hardware='h100', batch=[1, 2],"
            " reduce=ms.reduce.count_feasible())\n"
            "new = set(sys.modules) - before\n"
            "print(sorted(m for m in new if m.split('.')[0] in "
            "('dask', 'distributed', 'pandas', 'xarray')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


@pytest.mark.parametrize("kwargs, message", [
    (dict(modle=["llama-3-8b"]), "unknown axis 'modle' for sweep\\('predict'\\); allowed: "),
    (dict(batch=[]), "axis 'batch' is empty"),
    (dict(reduce=["pareto"]), "unknown reduction 'pareto'"),
    (dict(outputs=["latncy"]), "unknown output 'latncy' of predict; numeric outputs: "),
    (dict(constraints={"ttft": "about 200 ms"}), "constraint on 'ttft' must read like"),
    (dict(chunk_size=0), "chunk_size must be a whole number of points in \\[1, "),
    (dict(chunk_size=10 ** 8), "chunk_size must be a whole number"),
    (dict(backend="spark"), "backend must be 'local' or 'dask'"),
    (dict(batch=[1, 0]), "axis 'batch': batch must hold whole numbers"),
    (dict(batch=np.ones((2, 2))), "axis 'batch' must be one-dimensional"),
    (dict(reduce=ms.reduce.argmin("bottleneck")), "'bottleneck' is not a numeric output"),
    (dict(hardware=["h100", "no-such-chip"]), "axis 'hardware': unknown hardware 'no-such-chip'"),
    (dict(precision=["fp16", "fp7"]), "axis 'precision': unknown precision 'fp7'"),
    (dict(constraints={"feasible": "<= 1"}), "only numeric outputs can be constrained"),
])
def test_bad_input_gives_one_line_errors(kwargs, message):
    args = dict(model="llama-3-8b", hardware="h100")
    args.update(kwargs)
    with pytest.raises(SweepError, match=message) as e:
        ms.sweep("predict", **args)
    assert "\n" not in str(e.value)


def test_bad_task_reduction_arguments_and_missing_knobs():
    with pytest.raises(SweepError, match="task must be one of 'predict', 'train'"):
        ms.sweep("serve", model="llama-3-8b")
    with pytest.raises(SweepError, match="sweep\\('predict'\\) needs hardware"):
        ms.sweep("predict", model="llama-3-8b")
    with pytest.raises(SweepError, match="histogram of 'ttft' needs range"):
        ms.reduce.histogram("ttft", 10)
    with pytest.raises(SweepError, match="quantiles q must be numbers in \\[0, 1\\]"):
        ms.reduce.quantiles("ttft", [1.5])
    with pytest.raises(SweepError, match="pareto needs two different outputs"):
        ms.reduce.pareto("ttft", "-ttft")


def test_large_grid_keeps_no_table_and_says_so():
    r = ms.sweep("predict", model="llama-3-8b", hardware="h100", batch=np.arange(1, 2049),
                 seq_len=np.arange(1, 1025) * 16, reduce=ms.reduce.count_feasible(),
                 outputs=("time_per_output_token",))
    assert r.n_points == 2048 * 1024 and r["count_feasible()"] > 0
    with pytest.raises(SweepError, match="kept no table"):
        r.table


def test_progress_reports_every_point():
    seen = []
    ms.sweep("predict", model="llama-3-8b", hardware="h100", batch=np.arange(1, 300),
             chunk_size=50, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (299, 299)
    assert all(a <= b for (a, _), (b, _) in zip(seen, seen[1:]))


def test_dask_backend_refuses_a_bad_worker_count():
    pytest.importorskip("distributed")
    with pytest.raises(SweepError, match="workers must be a whole number in \\[1, 256\\]"):
        ms.sweep("predict", model="llama-3-8b", hardware="h100", batch=[1, 2],
                 backend="dask", workers=0)
