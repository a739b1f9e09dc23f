"""Sweep benchmarks: a 10^8-point predict sweep with a Pareto reduction vs the numpy floor,
and the same chunks on a 1- and a 2-worker Dask LocalCluster.

Run:  python benchmarks/bench_sweep.py [--points 1e8] [--dask-points 1e8] [--no-dask | --only-dask]
Prints a table; nothing here asserts. CPU time is user + sys of this process
(``time.process_time``); the Dask rows are wall times (the work runs in the worker processes),
with the workers' own CPU time read from them.

The grid: llama-3-8b on one H100 over batch (1..1000) x seq_len (32..32,000 in steps of 32) x
tp (1, 2, 4, 8) x efficiency (25 values in [0.3, 0.9]) = 10^8 points, reduced to the
(time per output token, -decode throughput) Pareto front of the feasible points and the
feasible count. The floor: the same three expressions the reduction needs (time per output
token, decode throughput, memory utilization for feasibility) lambdified bare with numpy (no
cse, no units, no validation, no reduction), evaluated on the same chunk arrays (each
chunk's base-unit inputs built outside the timed region), chunk by chunk: the cost of the
arithmetic alone.

The Dask rows run the same grid and chunks, 8 chunks per task
(``mlsysim_sym.sweeps.run.CHUNKS_PER_TASK``), on a fresh
LocalCluster of worker processes as ``ms.sweep(backend="dask")`` starts it
(``mlsysim_sym.sweeps.run.local_cluster``: one thread each, 127.0.0.1, glibc's mmap threshold
raised; see ``WORKER_ENV``), every worker warmed (kernels compiled) before the clock starts.
"""

from __future__ import annotations

import argparse
import os
import resource
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


def floor(axes, chunk_size):
    """CPU seconds of the bare numpy expressions over the same chunks."""
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
    cpu = 0.0
    for i in range(g.n_blocks):
        block = g.block(i)
        inputs = ms.predict("llama-3-8b", "h100", **g.numeric_inputs(block)).base_inputs()
        t0 = time.process_time()
        with np.errstate(all="ignore"):
            tpot, thr, util = (fn(*[inputs[s] for s in args]) for fn, args in kernels)
            _ = util <= 1.0
        cpu += time.process_time() - t0
        del tpot, thr, util
    return cpu, g.n_points


def _warm_worker():
    """Compile the serving kernels in a worker process (every worker, before timing)."""
    run_sweep(dict(batch=[1, 2], seq_len=[2048], tp=[1, 2], efficiency=[0.5]))


def dask_run(axes, workers, chunk_size):
    """(wall seconds, workers' CPU seconds, result) on a fresh LocalCluster of ``workers``."""
    import distributed

    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    from mlsysim_sym.sweeps.run import local_cluster
    with local_cluster(workers) as cluster, distributed.Client(cluster) as client:
        client.run(_warm_worker)
        before = sum(client.run(cpu).values())
        t0 = time.perf_counter()
        res = run_sweep(axes, backend="dask", scheduler=client, chunk_size=chunk_size)
        wall = time.perf_counter() - t0
        used = sum(client.run(cpu).values()) - before
    return wall, used, res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=float, default=1e8)
    ap.add_argument("--dask-points", type=float, default=1e8)
    ap.add_argument("--chunk-size", type=int, default=2 ** 20)
    ap.add_argument("--no-dask", action="store_true")
    ap.add_argument("--only-dask", action="store_true")
    a = ap.parse_args()
    rows = []

    axes = grid(a.points)
    run_sweep(grid(4e6) | {"efficiency": [0.5], "tp": [1]})  # warm: compile + caches
    if not a.only_dask:
        local_rows(rows, axes, a)
    if not a.no_dask:
        dask_rows(rows, a)
    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':{width}s}  {'value':>10s}  unit   note")
    print("-" * (width + 32))
    for name, value, unit, note in rows:
        print(f"{name:{width}s}  {value:10.4g}  {unit:5s}  {note}")


def local_rows(rows, axes, a):
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_sweep(axes, chunk_size=a.chunk_size)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB (Linux)
    n = res.n_points
    rows.append((f"sweep: {n:.3g} points, Pareto + count (wall)", wall, "s", ""))
    rows.append(("sweep: CPU time (user+sys)", cpu, "s", ""))
    rows.append(("sweep: throughput (CPU)", n / cpu / 1e6, "Mpt/s", ""))
    rows.append(("sweep: peak RSS of the process (maxrss)", peak, "MiB", "target < 2048 MiB"))
    rows.append(("sweep: Pareto front size / feasible points", len(res[REDUCE]), "pts",
                 f"{res['count_feasible()']:,} feasible"))
    f_cpu, f_n = floor(axes, a.chunk_size)
    rows.append(("floor: bare numpy TPOT + throughput + util, CPU", f_cpu, "s", ""))
    rows.append(("floor: throughput (CPU)", f_n / f_cpu / 1e6, "Mpt/s", ""))
    rows.append(("sweep throughput / floor throughput", f_cpu / cpu * 100, "%",
                 "target >= 50 %"))


def dask_rows(rows, a):
    d_axes, chunk = grid(a.dask_points), a.chunk_size
    t0, c0 = time.perf_counter(), time.process_time()
    local = run_sweep(d_axes, chunk_size=chunk)
    rows.append((f"local, {local.n_points:.3g} points (wall)",
                 time.perf_counter() - t0, "s", f"CPU {time.process_time() - c0:.3g} s"))
    w1, c1, r1 = dask_run(d_axes, 1, chunk)
    rows.append(("dask LocalCluster, 1 worker (wall)", w1, "s", f"worker CPU {c1:.3g} s"))
    w2, c2, r2 = dask_run(d_axes, 2, chunk)
    rows.append(("dask LocalCluster, 2 workers (wall)", w2, "s", f"worker CPU {c2:.3g} s"))
    rows.append(("speed-up 2 workers / 1 worker (wall)", w1 / w2, "x",
                 f"target >= 1.6x; {os.cpu_count()} cores, shared"))
    # what the wall ratio would be if each worker had a core of its own: the same work costs
    # c1 CPU seconds on one worker and c2 in total on two (an estimate, not a measurement)
    rows.append(("  estimate with a free core per worker: 2 c1 / c2", 2 * c1 / c2, "x",
                 "from the workers' CPU times"))
    same = all(r[REDUCE] == local[REDUCE] and r["count_feasible()"] ==
               local["count_feasible()"] for r in (r1, r2))
    rows.append(("dask results equal the local result", float(same), "bool", ""))


if __name__ == "__main__":
    main()
