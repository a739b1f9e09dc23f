"""The replica search of ``size_fleet``: the least replicas of every (chip, TP degree) meeting
an SLO, for all of them at once.

Every constraint is monotone in the replicas (fewer requests per replica never lengthen a step
or a wait), so the least count is found exactly, as integers: a geometric bracket above the
saturation bound (lo + 1, lo + 2, lo + 3, lo + 5, lo + 9, ...), then every integer of the
bracket (a bisection first when it is wider than 65,536). Each stage is one evaluation of the
load kernel (:mod:`.load`) on arrays over every layout still searched: a 2-D grid of layouts x
replica counts, or the brackets' integers laid end to end; the inputs of the layouts are the
rows of one stacked table.
"""

from __future__ import annotations

import numpy as np

from .load import evaluate_load

__all__ = ["least_replicas", "R_MAX"]

#: the largest fleet searched (replicas of one layout)
R_MAX = 10**7
#: the geometric bracket above the saturation bound: lo + 1, lo + 2, lo + 3, lo + 5, lo + 9, ...
_OFFSETS = np.unique(np.minimum(1 + 2 ** np.arange(0, 25), R_MAX)).astype(float)
#: the widest bracket whose integers are evaluated at once (wider ones are bisected first)
_ENUMERATE = 65536


def least_replicas(layouts, lam, ttft_slo, tpot_slo) -> list:
    """For each entry ``(inputs, degrees)`` of ``layouts`` (the load kernel's inputs of one chip
    at one replica, scalars or arrays over its tensor-parallel ``degrees``), the row of each
    degree: the least replicas meeting the SLO (``devices``, ``replicas``, ``tp``, ``batch``,
    latencies, what one replica fewer violates) or ``{"feasible": False, "reason": ...}``."""
    sizes = [len(tps) for _, tps in layouts]
    if not sum(sizes):
        return [[] for _ in layouts]
    vals = _stack([v for v, _ in layouts], sizes)
    tpa = np.concatenate([np.asarray(tps, dtype=float) for _, tps in layouts])
    ev0 = evaluate_load(vals)
    n = tpa.size
    capacity = np.broadcast_to(np.asarray(ev0.value("sequence_capacity"), dtype=float), (n,))
    sat = np.broadcast_to(np.asarray(ev0.value("saturation_rate"), dtype=float), (n,))
    rows: list = [None] * n
    live = []
    lows = np.zeros(n)
    for i in range(n):
        if capacity[i] < 1:
            rows[i] = {"feasible": False, "reason": "no layout fits in memory"}
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = lam / sat[i] if sat[i] > 0 else np.inf
        lows[i] = float(np.floor(bound)) if np.isfinite(bound) else float(R_MAX)
        if lows[i] >= R_MAX:
            rows[i] = {"feasible": False, "reason": "saturated at any fleet size"}
        else:
            live.append(i)
    slo = (ttft_slo, tpot_slo)
    least = _bracket_and_search(vals, np.asarray(live, dtype=int), lows, slo, rows)
    _layouts(vals, least, tpa, slo, rows)
    out, start = [], 0
    for size in sizes:
        out.append(rows[start:start + size])
        start += size
    return out


def _stack(parts, sizes) -> dict:
    """The layouts' inputs as one table: every input an array with a row per layout."""
    table = {}
    for k in parts[0]:
        column = [p[k] for p in parts]
        if any(isinstance(v, np.ndarray) for v in column):
            table[k] = np.concatenate([np.broadcast_to(np.asarray(v, dtype=float), (size,))
                                       for v, size in zip(column, sizes)])
        else:   # one number per chip
            table[k] = np.repeat(np.array(column, dtype=float), sizes)
    return table


def _at(vals, idx, reps, slo):
    """(evaluation, stable, TPOT met, TTFT met) of the layouts ``idx`` at replica counts
    ``reps`` (``idx`` broadcast against ``reps``: a column for a grid, or one per count)."""
    reps = np.asarray(reps, dtype=float)
    ev = evaluate_load({**{k: v[idx] for k, v in vals.items()}, "serving_replicas": reps})
    v = lambda n: np.broadcast_to(np.asarray(ev.value(n), dtype=float), reps.shape)  # noqa
    with np.errstate(invalid="ignore"):
        stable = v("arrival_rate") < v("saturation_rate")
        tpot = stable & (v("loaded_time_per_output_token") <= slo[1])
        ttft = stable & (v("loaded_ttft") <= slo[0])
    return ev, stable, tpot, ttft


def _bracket_and_search(vals, live, lows, slo, rows) -> dict:
    """{layout: least replicas meeting the SLO} of the ``live`` layouts (above ``lows``, the
    saturation bound); a layout none meets gets its reason in ``rows``."""
    if not live.size:
        return {}
    lo = lows[live]
    grid = np.minimum(lo[:, None] + _OFFSETS[None, :] - 1 + 1, R_MAX)
    _, _, a, b = _at(vals, live[:, None], grid, slo)
    ok = a & b
    found = ok.any(axis=1)
    if not found.all():   # why the largest fleet still misses the SLO
        miss = live[~found]
        _, _, a1, b1 = _at(vals, miss, np.full(miss.size, float(R_MAX)), slo)
        for i, ta, tb in zip(miss, a1, b1):
            rows[i] = {"feasible": False, "reason": (
                "TPOT SLO unreachable at any load" if not ta else
                "TTFT SLO below the prefill time" if not tb else "queue cannot meet TTFT")}
    j = np.argmax(ok, axis=1)
    r = np.arange(live.size)
    low = np.where(j == 0, lo, grid[r, np.maximum(j - 1, 0)])[found]
    hi = grid[r, j][found]
    return dict(zip(live[found].tolist(), _least_meeting(vals, live[found], low, hi, slo)))


def _least_meeting(vals, idx, low, hi, slo):
    """The least count in (low, hi] meeting the SLO for each layout ``idx`` (``low`` fails,
    ``hi`` meets): wide brackets bisected together, then every integer of each bracket in one
    evaluation."""
    low, hi = low.astype(float), hi.astype(float)
    while True:
        wide = np.nonzero(hi - low > _ENUMERATE)[0]
        if not wide.size:
            break
        mid = np.floor((low[wide] + hi[wide]) / 2)
        _, _, a, b = _at(vals, idx[wide], mid, slo)
        meets = a & b
        hi[wide] = np.where(meets, mid, hi[wide])
        low[wide] = np.where(meets, low[wide], mid)
    narrow = np.nonzero(hi - low > 1)[0]
    if narrow.size:
        cands = [np.arange(low[k] + 1, hi[k] + 1) for k in narrow]
        lengths = np.array([c.size for c in cands])
        flat = np.concatenate(cands)
        _, _, a, b = _at(vals, np.repeat(idx[narrow], lengths), flat, slo)
        meets = a & b
        start = 0
        for k, length in zip(narrow, lengths):
            hi[k] = flat[start + np.nonzero(meets[start:start + length])[0][0]]
            start += length
    return hi


def _layouts(vals, least, tpa, slo, rows) -> None:
    """The rows of the layouts ``least`` ({layout: replicas}), each with what one replica fewer
    violates, from one evaluation at (replicas, replicas - 1)."""
    if not least:
        return
    idx = np.fromiter(least, dtype=int, count=len(least))
    hi = np.fromiter(least.values(), dtype=float, count=len(least))
    reps = np.stack([hi, np.maximum(hi - 1, 1)], axis=1)
    ev, stable, a, b = _at(vals, idx[:, None], reps, slo)

    def v(name, col=0):
        return np.broadcast_to(np.asarray(ev.value(name), dtype=float), reps.shape)[:, col]
    out = {n: v(n) for n in ("sequence_slots", "loaded_time_per_output_token", "loaded_ttft",
                             "server_utilization", "running_batch", "achieved_flop_rate",
                             "engine_memory_footprint")}
    for k, (i, h) in enumerate(zip(idx, hi)):
        reasons = []
        if h > 1:
            if not stable[k, 1]:   # which saturation (read only when one replica fewer is)
                kv, tok = v("kv_saturation_rate", 1)[k], v("token_saturation_rate", 1)[k]
                which = "KV slots" if kv <= tok else "token budget"
                reasons.append(f"Batching (saturation: {which})")
            else:
                if not a[k, 1]:
                    reasons.append("Serving (TPOT)")
                if not b[k, 1]:
                    reasons.append("Tail latency (TTFT)")
        t = tpa[i]
        rows[i] = {"feasible": True, "devices": int(h * t), "replicas": int(h), "tp": int(t),
                   "batch": int(out["sequence_slots"][k]),
                   "decode": float(out["loaded_time_per_output_token"][k]),
                   "ttft": float(out["loaded_ttft"][k]), "rho": float(out["server_utilization"][k]),
                   "running_batch": float(out["running_batch"][k]),
                   "achieved_flop_rate": float(out["achieved_flop_rate"][k]),
                   "memory_footprint": float(out["engine_memory_footprint"][k]),
                   "bottleneck": " + ".join(reasons) if reasons
                   else "Compute/Memory (one replica suffices)"}
