"""Training plan search: every valid parallel layout, evaluated vectorised, ranked.

``best_parallelism(model, cluster, global_batch)`` enumerates tensor (within a node), pipeline
(dividing the layers), data parallelism (the rest of the devices) and micro-batch sizes (dividing
the per-replica batch), for each activation-recomputation mode and ZeRO stage, and evaluates each
(recompute, ZeRO) group of layouts in ONE call of the compiled training step (``train`` with
array knobs). Layouts that do not fit in memory are masked; the rest are ranked.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .. import registry
from ..progress import reporter
from .training import train
from ..units import Q_, quantity_json
from ._core.result import Result

__all__ = ["best_parallelism", "Plan"]

_OBJECTIVES = {"step_time": (1, "step_time"), "mfu": (-1, "mfu"),
               "memory": (1, "memory_per_device"), "tokens_per_s": (-1, "tokens_per_s")}


@dataclass
class Plan(Result):
    """Ranked layouts. ``best`` is the top row; ``table`` every feasible row, best first."""

    HEADLINE = ("objective", "feasible_count", "evaluated")

    table: list
    evaluated: int
    feasible_count: int
    objective: str

    @property
    def best(self) -> dict:
        if not self.table:
            raise ValueError("no layout fits in memory: see .evaluated / .feasible_count")
        return self.table[0]

    def to_dict(self) -> dict:
        """JSON-ready dict: ``objective``, ``evaluated``, ``feasible_count`` and the ranked
        ``table`` (quantities as ``{"value", "unit"}``)."""
        rows = [{k: quantity_json(v) if hasattr(v, "units") else v for k, v in row.items()}
                for row in self.table]
        return {"objective": self.objective, "evaluated": self.evaluated,
                "feasible_count": self.feasible_count, "table": rows}

    def to_frame(self):
        """pandas DataFrame of the ranked layouts, units in the column names."""
        from ..display import rows_frame
        return rows_frame(self.table)

    def _repr_html_(self) -> str:
        from ..display import rows_html
        return rows_html(f"Plan: {self.feasible_count} feasible of {self.evaluated} layouts, "
                         f"best {self.objective} first", self.table)

    def __repr__(self):
        if not self.table:
            return f"Plan(no feasible layout among {self.evaluated})"
        b = self.best
        return (f"Plan(best of {self.feasible_count} feasible / {self.evaluated} layouts: TP{b['tp']} "
                f"PP{b['pp']} DP{b['dp']} micro-batch {b['micro_batch']}, recompute {b['recompute']}, "
                f"ZeRO-{b['zero_stage']}: step {b['step_time']:.4g~P}, MFU {b['mfu']:.3f})")


def _divisors(n: int) -> list:
    """Divisors of n, ascending (O(sqrt n): n may be a user's device count or batch)."""
    n = int(n)
    low = [k for k in range(1, math.isqrt(n) + 1) if n % k == 0]
    return sorted(set(low + [n // k for k in low]))


def best_parallelism(model, cluster, global_batch, *, devices=None, seq_len=2048,
                     precision="bf16", recompute=("none", "selective", "full"),
                     zero_stages=(0, 1, 2, 3), tp=None, pp=None, micro_batches=None,
                     objective="step_time", top=None, progress=None, **train_options) -> Plan:
    """Every valid TP x PP x DP x micro-batch (x recompute x ZeRO) layout, ranked.

    Parameters
    ----------
    model, cluster : as in :func:`~mlsysim_sym.train` (a cluster, or a chip with ``devices``)
    global_batch : int
        Sequences per optimizer step.
    recompute, zero_stages : iterables
        The modes to search.
    tp, pp, micro_batches : iterables of int, optional
        Restrict the search (default: TP = powers of two up to the node size, PP = divisors of
        the layer count, micro-batch = divisors of the per-replica batch).
    objective : {"step_time", "mfu", "memory", "tokens_per_s"}
    top : int, optional
        Keep only the best ``top`` rows.
    progress : bool or callable, optional
        ``True`` draws a progress bar on stderr when it is a terminal (one step per recompute
        x ZeRO combination); a callable gets one line per step (``"[3/12] recompute
        selective, ZeRO 2: 41 of 96 layouts fit"``), as :class:`mlsysim_sym.progress.Progress`
        takes.
    **train_options
        Passed to :func:`~mlsysim_sym.train` (sequence_parallel, interleave, overlap, ...).
    """
    if objective not in _OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(_OBJECTIVES)}, got {objective!r}")
    m = registry.model(model)
    n, per_node = _devices(cluster, devices)
    tps = list(tp) if tp is not None else [t for t in (1, 2, 4, 8, 16, 32, 64) if t <= per_node and n % t == 0]
    layers = int(m.layers)
    pps = list(pp) if pp is not None else [p for p in _divisors(layers) if p <= layers]
    rows = []
    for t, p in itertools.product(tps, pps):
        if n % (t * p):
            continue
        d = n // (t * p)
        if global_batch % d:
            continue
        per_replica = global_batch // d
        mbs = list(micro_batches) if micro_batches is not None else _divisors(per_replica)
        for mb in mbs:
            if per_replica % mb == 0:
                rows.append((t, p, d, mb))
    if not rows:
        raise ValueError(f"no layout of {n} devices divides global batch {global_batch}: choose a "
                         "global batch divisible by the data-parallel degree")
    grid = np.array(rows, dtype=float)
    sign, attr = _OBJECTIVES[objective]
    table = []
    combos = list(itertools.product(recompute, zero_stages))
    say, close = reporter(progress, "plan")
    try:
        for k, (rc, z) in enumerate(combos, 1):
            before = len(table)
            _search(m, cluster, devices, grid, rows, global_batch, seq_len, precision, rc, z,
                    train_options, table)
            if say is not None:
                say(f"[{k}/{len(combos)}] recompute {rc}, ZeRO {z}: {len(table) - before} of "
                    f"{len(rows)} layouts fit")
    finally:
        close()
    evaluated = len(rows) * len(combos)

    key = {"step_time": lambda row: row["step_time"].magnitude, "mfu": lambda row: -row["mfu"],
           "memory": lambda row: row["memory_per_device"].magnitude,
           "tokens_per_s": lambda row: -row["tokens_per_s"].magnitude}[objective]
    table.sort(key=key)
    feasible_count = len(table)
    if top is not None:
        table = table[: int(top)]
    return Plan(table, evaluated, feasible_count, objective)


def _search(m, cluster, devices, grid, rows, global_batch, seq_len, precision, rc, z,
            train_options, table):
    """Train every layout of ``grid`` at one recompute mode and ZeRO stage (one vectorised
    call); append the feasible ones to ``table``."""
    r = train(m, cluster, devices=devices, tp=grid[:, 0], pp=grid[:, 1], dp=grid[:, 2],
              micro_batch=grid[:, 3], global_batch=global_batch, seq_len=seq_len,
              precision=precision, recompute=rc, zero_stage=z, **train_options)
    feasible = np.broadcast_to(np.asarray(r.feasible), (len(rows),))
    step = np.broadcast_to(r.step_time.to("s").magnitude, (len(rows),))
    mfu = np.broadcast_to(np.asarray(r.mfu.to("").magnitude), (len(rows),))
    mem = np.broadcast_to(r.memory_per_device.to("GB").magnitude, (len(rows),))
    tok = np.broadcast_to(r.tokens_per_s.to("token/s").magnitude, (len(rows),))
    bott = np.broadcast_to(np.asarray(r.bottleneck, dtype=object), (len(rows),))
    for i in np.nonzero(feasible)[0]:
        table.append({"tp": int(grid[i, 0]), "pp": int(grid[i, 1]), "dp": int(grid[i, 2]),
                      "micro_batch": int(grid[i, 3]), "recompute": rc, "zero_stage": z,
                      "step_time": Q_(float(step[i]), "s"), "mfu": float(mfu[i]),
                      "memory_per_device": Q_(float(mem[i]), "GB"),
                      "tokens_per_s": Q_(float(tok[i]), "token/s"),
                      "bottleneck": str(bott[i])})


def _devices(cluster, devices):
    """(device count, accelerators per node) of a cluster or a chip with ``devices``."""
    try:
        c = registry.cluster(cluster)
        return int(c.devices), int(c.node.accelerators_per_node)
    except (LookupError, ValueError):
        pass
    if devices is None:
        raise ValueError(f"{cluster!r} is not a registry cluster: give devices=N with a chip name")
    hw = registry.hardware(cluster)
    per_node = 8
    for name in registry.list_nodes():
        node = registry.node(name)
        if node.accelerator.name == hw.name:
            per_node = int(node.accelerators_per_node)
            break
    return int(devices), per_node
