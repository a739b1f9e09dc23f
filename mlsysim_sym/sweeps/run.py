"""Evaluating work units (runs of consecutive chunks) here or on a Dask cluster.

A work unit is a pure function of a picklable :class:`Spec` and a range of chunk numbers; it
returns its reductions' partial states (and, for small sweeps, its slice of the full table).
The local backend folds the units in order; the Dask backend submits them to a
``dask.distributed`` cluster with a bounded number in flight and folds them as they finish.
Reductions are associative and commutative with ties broken by flat index, so both give the
same answer.
"""

from __future__ import annotations

import ctypes
import operator
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from .reductions import SweepError
from .tasks import task as _task

_OPS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}


@dataclass
class Spec:
    task: str
    grid: object
    fixed: dict
    outputs: tuple                # outputs read per chunk (requested + needed by reductions)
    units: dict                   # output -> unit string (None for feasible / bottleneck)
    constraints: tuple            # (output, op, threshold in the output's unit)
    reductions: tuple
    only_feasible: bool
    table: bool
    row_outputs: tuple = field(default=())   # outputs stored with selected points


class Chunk:
    """What a reduction sees of one chunk: 1-D outputs, the admissible mask, flat indices."""

    __slots__ = ("values", "admissible", "_grid", "_block", "_rows")

    def __init__(self, values, admissible, grid, block, rows):
        self.values, self.admissible = values, admissible
        self._grid, self._block, self._rows = grid, block, rows

    def gidx(self, local):
        g = self._grid.global_index(self._block, local)
        return int(g) if np.ndim(g) == 0 else g

    def rows(self, local) -> dict:
        """Output -> values at local positions ``local`` (the outputs a point reports)."""
        return {n: self.values[n][local] for n in self._rows}


def evaluate_block(spec: Spec, block):
    """Outputs of one block as 1-D arrays (C order over the block), and the admissible mask."""
    grid, t = spec.grid, _task(spec.task)
    cat = grid.combo_values(block.combo)
    num = grid.numeric_inputs(block)
    kwargs = {**spec.fixed, **cat, **num}
    try:
        res = t.call(kwargs)
        shape = block.shape
        values = t.read_all(res, spec.outputs, spec.units, shape)
    except (ValueError, LookupError, TypeError, AttributeError) as e:
        where = ", ".join(f"{k}={v!r}" for k, v in cat.items())
        raise SweepError(f"{spec.task}({where}{', ' if where else ''}numeric block of "
                         f"{block.size} points) failed: {e}") from e
    n = values[spec.outputs[0]].size if spec.outputs else max(1, int(np.prod(shape)))
    ok = np.ones(n, dtype=bool)
    if spec.only_feasible:
        ok &= values["feasible"]
    for name, op, threshold in spec.constraints:
        with np.errstate(invalid="ignore"):
            ok &= _OPS[op](values[name], threshold)
    return values, ok


def run_unit(spec: Spec, start: int, stop: int) -> dict:
    """Blocks ``start`` .. ``stop - 1``: merged partial states, point count, table slice."""
    grid = spec.grid
    states = [None] * len(spec.reductions)
    pieces, n = [], 0
    for i in range(start, stop):
        block = grid.block(i)
        values, ok = evaluate_block(spec, block)
        chunk = Chunk(values, ok, grid, block, spec.row_outputs)
        for k, red in enumerate(spec.reductions):
            states[k] = red.merge(states[k], red.partial(chunk))
        if spec.table:
            pieces.append((grid.block_index(block), values, ok))
        n += block.size
    table = None
    if pieces:
        table = (np.concatenate([p[0] for p in pieces]),
                 {k: np.concatenate([p[1][k] for p in pieces]) for k in spec.outputs},
                 np.concatenate([p[2] for p in pieces]))
    return {"states": states, "n": n, "table": table}


def work_units(grid, points_per_unit=1, min_units=1):
    """(start, stop) block ranges of about ``points_per_unit`` points each (at least one
    block), but at least ``min_units`` of them when the grid has that many blocks; a generator,
    so that a grid of 10^12 points does not list its millions of units up front."""
    full = max(grid.block(0).size, 1)
    per = max(1, points_per_unit // full)
    per = max(1, min(per, grid.n_blocks // max(min_units, 1)))
    return ((a, min(a + per, grid.n_blocks)) for a in range(0, grid.n_blocks, per))


class _Progress:
    """A sweep's progress: ``True`` is a tqdm bar on stderr (silent when stderr is not a
    terminal); a callable gets ``(points_done, total)`` at most twice a second and at the end."""

    def __init__(self, progress, total):
        from ..progress import is_terminal
        self.bar = None
        if callable(progress):
            self.fn = progress
        elif progress and is_terminal(sys.stderr):
            self.fn = self._bar
        else:
            self.fn = None
        self.total, self.done, self.t0, self.last = total, 0, time.perf_counter(), 0.0

    def _bar(self, done, total):
        if self.bar is None:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc="sweep", unit=" points", unit_scale=True,
                            file=sys.stderr, leave=True, mininterval=0.5)
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.bar.close()

    def __call__(self, n):
        self.done += n
        if self.fn is None:
            return
        now = time.perf_counter()
        if self.done >= self.total or now - self.last > 0.5:
            self.last = now
            self.fn(self.done, self.total)


def run_local(spec, fold, progress):
    keep_heap()
    for a, b in work_units(spec.grid):
        out = run_unit(spec, a, b)
        fold(out)
        progress(out["n"])


#: glibc settings for worker processes. Dask's nanny starts workers with
#: MALLOC_TRIM_THRESHOLD_=65536; setting any malloc threshold freezes glibc's mmap threshold at
#: 128 kB, so every chunk-sized numpy temporary (8 MB at 2^20 points) becomes a fresh mmap whose
#: pages fault in again on every use: measured here, a worker spent 1.8x the CPU of this process
#: on the same chunks. Keeping allocations up to 32 MB (glibc's largest mmap threshold) on the
#: heap, and up to 256 MB of freed heap untrimmed, removes that cost.
WORKER_ENV = {"MALLOC_MMAP_THRESHOLD_": str(32 * 2 ** 20), "MALLOC_TRIM_THRESHOLD_": str(2 ** 28)}
_HEAP = []


def keep_heap() -> bool:
    """The same glibc settings in this process, through ``mallopt``, once (a local sweep).

    glibc's defaults adapt the mmap threshold to the largest block freed, but trim the heap
    when twice that is free at its top: a chunk's temporaries (2 MB each at 2^18 points) are
    then returned to the system after every chunk and fault in again on the next, and a local
    sweep here took 2.4x the CPU of the same chunks on a Dask worker started with
    :data:`WORKER_ENV`. The process keeps up to 256 MB of freed heap afterwards. Nothing is
    changed when ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_`` is set in the
    environment (your choice stands), nor off glibc; returns whether it applied."""
    if not _HEAP:
        _HEAP.append(False)
        if sys.platform.startswith("linux") and not any(k in os.environ for k in WORKER_ENV):
            try:
                mallopt = ctypes.CDLL("libc.so.6").mallopt
            except (OSError, AttributeError):  # musl, or no libc.so.6
                return False
            # M_MMAP_THRESHOLD = -3, M_TRIM_THRESHOLD = -1 (glibc malloc.h); 1 on success
            _HEAP[0] = bool(mallopt(-3, int(WORKER_ENV["MALLOC_MMAP_THRESHOLD_"])) and
                            mallopt(-1, int(WORKER_ENV["MALLOC_TRIM_THRESHOLD_"])))
    return _HEAP[0]


#: dask settings of the LocalCluster a sweep starts: no dashboard, hence no statistical
#: profiler (it samples the worker thread's stack every 10 ms: 5-9% of a worker's CPU here)
WORKER_CONFIG = {"distributed.worker.profile.enabled": False}


def local_cluster(workers=2):
    """A LocalCluster of ``workers`` single-threaded processes on 127.0.0.1 (no dashboard, no
    profiler, glibc's heap kept: :data:`WORKER_ENV`, :data:`WORKER_CONFIG`)."""
    import dask
    import distributed
    env = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    with dask.config.set({"distributed.nanny.pre-spawn-environ": {**env, **WORKER_ENV},
                          **WORKER_CONFIG}):
        return distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                        processes=True, host="127.0.0.1",
                                        dashboard_address=None)


#: a Dask work unit (task) covers about this many points, a run of consecutive chunks: ~0.1 s
#: of work at 40-60 million points per CPU-second, long next to a task's round trip through
#: the scheduler (~1-5 ms here) yet short enough to balance the workers at the end ...
POINTS_PER_TASK = 2 ** 22
#: ... and a grid gives each worker thread at least this many units when it has the chunks
#: (the last units then end within ~1/UNITS_PER_THREAD of the run of each other)
UNITS_PER_THREAD = 8


def run_dask(spec, fold, progress, scheduler, workers):
    try:
        import distributed
    except ImportError:
        raise SweepError("backend='dask' needs dask.distributed: pip install "
                         "'mlsysim_sym[distributed]'") from None
    own = []
    if scheduler is None:
        if isinstance(workers, bool) or not isinstance(workers, (int, type(None))) \
                or (workers is not None and not 1 <= workers <= 256):
            raise SweepError(f"workers must be a whole number in [1, 256], got {workers!r}")
        cluster = local_cluster(workers or 2)
        client = distributed.Client(cluster)
        own = [client, cluster]
    elif isinstance(scheduler, distributed.Client):
        client = scheduler
    elif isinstance(scheduler, str) or hasattr(scheduler, "scheduler_address"):
        client = distributed.Client(scheduler)
        own = [client]
    else:
        raise SweepError("scheduler must be None (a LocalCluster here), a scheduler address such "
                         f"as 'tcp://10.0.0.5:8786', a Cluster or a Client, got {scheduler!r}")
    try:
        spec_f = client.scatter(spec, broadcast=True)
        threads = max(1, sum(client.nthreads().values()))
        window = max(2, 2 * threads)
        pending = work_units(spec.grid, POINTS_PER_TASK, UNITS_PER_THREAD * threads)
        ac = distributed.as_completed()
        for a, b in pending:
            ac.add(client.submit(run_unit, spec_f, a, b, pure=False))
            if ac.count() >= window:
                break
        for fut in ac:
            out = fut.result()
            fut.release()
            fold(out)
            progress(out["n"])
            nxt = next(pending, None)
            if nxt is not None:
                ac.add(client.submit(run_unit, spec_f, nxt[0], nxt[1], pure=False))
    finally:
        for obj in own:
            obj.close()
