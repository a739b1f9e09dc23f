"""Sweep benchmarks: a 10^8-point predict sweep with a Pareto reduction vs the numpy floor,
and the same chunks on a 1- and a 2-worker Dask LocalCluster.

Run:  python benchmarks/bench_sweep.py [--points 1e8] [--dask-points 1e8] [--repeats 3]
                                       [--chunks] [--no-dask | --only-dask]
Prints a table; nothing here asserts. CPU time is user + sys of this process
(``resource.getrusage``); the Dask rows are wall times (the work runs in the worker processes),
with the workers' own CPU time and peak RSS read from them. The machine's 1-minute load
average is printed beside them: on a shared machine the wall-clock ratios mean little when the
load is above the number of cores.

The grid: llama-3-8b on one H100 over batch (1..1000) x seq_len (32..32,000 in steps of 32) x
tp (1, 2, 4, 8) x efficiency (25 values in [0.3, 0.9]) = 10^8 points, reduced to the
(time per output token, -decode throughput) Pareto front of the feasible points and the
feasible count. The floor: the same three expressions the reduction needs (time per output
token, decode throughput, memory utilization for feasibility) lambdified bare with numpy (no
cse, no units, no validation, no reduction), evaluated on the same chunk arrays (each
chunk's base-unit inputs built outside the timed region), chunk by chunk, in the same process
after the sweep (so with the same allocator settings, see ``mlsysim_sym.sweeps.run.keep_heap``):
the cost of the arithmetic alone.

The Dask rows run the same grid and chunks in work units of about
``mlsysim_sym.sweeps.run.POINTS_PER_TASK`` points on a fresh LocalCluster of worker processes
as ``ms.sweep(backend="dask")`` starts it (``mlsysim_sym.sweeps.run.local_cluster``: one
thread each, 127.0.0.1, glibc's heap kept; see ``WORKER_ENV``), every worker warmed (kernels
compiled) before the clock starts; 1 and 2 workers alternate ``--repeats`` times and the
medians are compared.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

import numpy as np


def grid(points: float):
    """Axes of about ``points`` points (10^8 at full size)."""
    n_eff = max(1, int(round(points / 4e6)))
    return dict(tp=[1, 2, 4, 8], efficiency=np.linspace(0.3, 0.9, n_eff),
                batch=np.arange(1, 1001), seq_len=np.arange(1, 1001) * 32)


REDUCE = "pareto(time_per_output_token, -decode_throughput)"


def reductions():
    import mlsysim_sym as ms
    return [ms.reduce.pareto("time_per_output_token", "-decode_throughput"),
            ms.reduce.count_feasible()]


def run_sweep(axes, **kw):
    import mlsysim_sym as ms
    return ms.sweep("predict", model="llama-3-8b", hardware="h100", **axes,
                    outputs=("time_per_output_token", "decode_throughput"),
                    reduce=reductions(), **kw)


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def floor(axes, chunk_size):
    """CPU seconds of the bare numpy expressions over the same chunks, and the point count."""
    import sympy
    import mlsysim_sym as ms
    from mlsysim_sym.tasks.serving import serving_system
    from mlsysim_sym.sweeps.grid import Grid
    from mlsysim_sym.system import substitute_constants
    system = serving_system()
    names = ("time_per_output_token", "decode_throughput", "memory_utilization")
    kernels = []
    for n in names:
        expr = substitute_constants(system.expr(n, constants=False))
        syms = sorted(expr.free_symbols, key=lambda s: s.name)
        kernels.append((sympy.lambdify(syms, expr, modules="numpy"), [s.name for s in syms]))
    g = Grid(axes, tuple(axes), chunk_size)
    spent = 0.0
    for i in range(g.n_blocks):
        block = g.block(i)
        inputs = ms.predict("llama-3-8b", "h100", **g.numeric_inputs(block)).base_inputs()
        t0 = cpu()
        with np.errstate(all="ignore"):
            tpot, thr, util = (fn(*[inputs[s] for s in args]) for fn, args in kernels)
            _ = util <= 1.0
        spent += cpu() - t0
        del tpot, thr, util
    return spent, g.n_points


def _warm_worker():
    """Compile the serving kernels in a worker process (every worker, before timing)."""
    run_sweep(dict(batch=[1, 2], seq_len=[2048], tp=[1, 2], efficiency=[0.5]))


def dask_run(axes, workers, chunk_size):
    """(wall s, workers' CPU s, workers' peak RSS MiB, result) on a fresh LocalCluster."""
    import distributed
    from mlsysim_sym.sweeps.run import local_cluster
    with local_cluster(workers) as cluster, distributed.Client(cluster) as client:
        client.run(_warm_worker)
        before = sum(client.run(cpu).values())
        t0 = time.perf_counter()
        res = run_sweep(axes, backend="dask", scheduler=client, chunk_size=chunk_size)
        wall = time.perf_counter() - t0
        used = sum(client.run(cpu).values()) - before
        rss = max(client.run(peak_rss_mib).values())
    return wall, used, rss, res


def local_rows(rows, a):
    axes = grid(a.points)
    t0, c0 = time.perf_counter(), cpu()
    res = run_sweep(axes, chunk_size=a.chunk_size)
    wall, spent = time.perf_counter() - t0, cpu() - c0
    peak = peak_rss_mib()
    n = res.n_points
    rows.append((f"ms.sweep: {n:.3g} points, Pareto + count (wall)", wall, "s", load()))
    rows.append(("ms.sweep: CPU time (user+sys)", spent, "s", f"{res.n_chunks:,} chunks of "
                 f"<= {a.chunk_size:,} points"))
    rows.append(("ms.sweep: throughput (CPU)", n / spent / 1e6, "Mpt/s", ""))
    rows.append(("ms.sweep: peak RSS of the process (getrusage maxrss)", peak, "MiB",
                 "target < 2048 MiB"))
    rows.append(("ms.sweep: Pareto front size / feasible points", len(res[REDUCE]), "pts",
                 f"{res['count_feasible()']:,} feasible"))
    f_cpu, f_n = floor(axes, a.chunk_size)
    rows.append(("floor: bare numpy TPOT + throughput + util, CPU", f_cpu, "s", load()))
    rows.append(("floor: throughput (CPU)", f_n / f_cpu / 1e6, "Mpt/s", ""))
    rows.append(("ms.sweep throughput / floor throughput", f_cpu / spent * 100, "%",
                 "target >= 50 %"))


def chunk_rows(rows, a):
    """Throughput of the sweep and of the floor at several chunk sizes (same grid)."""
    axes = grid(min(a.points, 2e7))
    for chunk in (2 ** 14, 2 ** 16, 2 ** 17, 2 ** 18, 2 ** 19, 2 ** 20):
        c0 = cpu()
        res = run_sweep(axes, chunk_size=chunk)
        spent = cpu() - c0
        f_cpu, n = floor(axes, chunk)
        rows.append((f"chunk 2^{chunk.bit_length() - 1}: ms.sweep / floor (CPU)",
                     n / spent / 1e6, "Mpt/s", f"floor {n / f_cpu / 1e6:.3g} Mpt/s, ratio "
                     f"{f_cpu / spent * 100:.0f} %, {res.n_points:.2g} points, {load()}"))


def dask_rows(rows, a):
    d_axes, chunk = grid(a.dask_points), a.chunk_size
    t0, c0 = time.perf_counter(), cpu()
    local = run_sweep(d_axes, chunk_size=chunk)
    rows.append((f"local, {local.n_points:.3g} points (wall)", time.perf_counter() - t0, "s",
                 f"CPU {cpu() - c0:.3g} s, {load()}"))
    runs = {1: [], 2: []}
    for _ in range(a.repeats):
        for workers in (1, 2):
            runs[workers].append(dask_run(d_axes, workers, chunk))
    for workers, rs in runs.items():
        walls = [r[0] for r in rs]
        rows.append((f"dask LocalCluster, {workers} worker{'s' * (workers > 1)} (median wall)",
                     statistics.median(walls), "s",
                     f"runs {', '.join(f'{w:.2f}' for w in walls)}; worker CPU "
                     f"{statistics.median(r[1] for r in rs):.3g} s, peak RSS "
                     f"{max(r[2] for r in rs):.0f} MiB"))
    w1 = statistics.median(r[0] for r in runs[1])
    w2 = statistics.median(r[0] for r in runs[2])
    rows.append(("speed-up 2 workers / 1 worker (median walls)", w1 / w2, "x",
                 f"target >= 1.6x; {os.cpu_count()} cores, shared; {load()}"))
    # if each worker had a core of its own: the same work costs c1 CPU seconds on one worker
    # and c2 in total on two (an estimate, not a measurement)
    c1 = statistics.median(r[1] for r in runs[1])
    c2 = statistics.median(r[1] for r in runs[2])
    rows.append(("  with a free core per worker: 2 c1 / c2 (workers' CPU)", 2 * c1 / c2, "x",
                 "an estimate from CPU times"))
    same = all(r[3][REDUCE] == local[REDUCE] and r[3]["count_feasible()"] ==
               local["count_feasible()"] for rs in runs.values() for r in rs)
    rows.append(("dask results equal the local result", float(same), "bool", ""))


def main() -> None:
    from mlsysim_sym.sweeps import CHUNK
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=float, default=1e8)
    ap.add_argument("--dask-points", type=float, default=1e8)
    ap.add_argument("--chunk-size", type=int, default=CHUNK)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--chunks", action="store_true", help="also compare chunk sizes")
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--only-dask", action="store_true")
    a = ap.parse_args()
    rows = []
    run_sweep(grid(4e6) | {"efficiency": [0.5], "tp": [1]})  # warm: compile + caches
    if not a.only_dask:
        local_rows(rows, a)
        if a.chunks:
            chunk_rows(rows, a)
    if not a.no_dask:
        dask_rows(rows, a)
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':{width}s}  {'value':>10s}  unit   note")
    print("-" * (width + 32))
    for name, value, unit, note in rows:
        print(f"{name:{width}s}  {value:10.4g}  {unit:5s}  {note}")


if __name__ == "__main__":
    main()
