"""Disaggregated serving: a prefill pool and a decode pool (DistServe, Splitwise).

``serve(..., prefill_replicas=R_p, decode_replicas=R_d)`` evaluates a given split and
``size_fleet(..., disaggregated=True)`` sizes each pool as the least replicas meeting its own
SLO: the prefill pool for TTFT (the wait for a prefill replica, wall 7, plus one prompt's
prefill plus the KV transfer), the decode pool for TPOT (the continuous-batching fixed point with
decode-only steps), then both raised, if needed, until the links between them carry every
prompt's KV cache. Both evaluate one composed system,
:func:`~mlsysim_sym.tasks.serving.disaggregated_system` (walls 1, 2, 4, 7, the
continuous-batching and disaggregation records; the physics is in
``equations/disaggregation.py``). The fabric between the pools is the chip's scale-out link from
the registry (its node's NIC fabric, each device's share of the NICs) or the user's
``kv_transfer_bandwidth`` per device, at the calibrated ``scale_out_efficiency``
(``efficiency={"scale_out": ..}`` overrides it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ... import registry, vocabulary
from ...units import Q_, quantity_json
from .._core import knobs
from .._core.inputs import check_tp, latent_attention, sliding_window
from .._core.knobs import magnitude
from .._core.result import Result, format_value
from ...numeric import cached_kernel
from ..serving import disaggregated_system
from ..serving import system as serving_composition
from ..serving.system import variant_name
from ..training.machine import node_for_chip
from .costs import fleet_carbon, fleet_cost
from .load import check_load, evaluate_load, load_inputs, positive, variant_of, whole
from .size import candidate_tps, priced

__all__ = ["DISAGGREGATED_OUTPUTS", "DisaggregatedResult", "disaggregated_kernel", "kv_link",
           "disaggregated_inputs", "evaluate_split", "serve_disaggregated", "size_disaggregated",
           "least_count"]

#: outputs of the disaggregated system a split is judged by
DISAGGREGATED_OUTPUTS = (
    "disaggregated_ttft", "disaggregated_mean_ttft", "loaded_step_time", "running_batch",
    "prefill_service_time", "kv_transfer_time", "prompt_kv_bytes", "server_utilization",
    "kv_link_utilization", "decode_arrival_rate", "saturation_rate", "kv_saturation_rate",
    "token_saturation_rate", "prefill_pool_capacity", "decode_pool_capacity", "kv_link_capacity",
    "fleet_capacity", "goodput", "achieved_flop_rate", "sequence_capacity", "sequence_slots",
    "engine_memory_footprint", "prefill_memory_footprint")
_R_MAX = 10**7
#: the bracket above a stability bound: lo + 1, lo + 2, lo + 3, lo + 5, lo + 9, ...
_OFFSETS = np.concatenate(([1.0], 1.0 + 2.0 ** np.arange(0, 25)))


def disaggregated_kernel(latent: bool = False, windowed: bool = False):
    """The disaggregated serving system compiled for :data:`DISAGGREGATED_OUTPUTS`, from the
    disk cache of generated kernels (:func:`mlsysim_sym.numeric.cached_kernel`)."""
    return _kernel(bool(latent), bool(windowed))


@lru_cache(maxsize=4)
def _kernel(latent: bool, windowed: bool):
    return cached_kernel(variant_name("serving (disaggregated)", latent, windowed),
                         DISAGGREGATED_OUTPUTS, None,
                         lambda: disaggregated_system(latent, windowed),
                         depends=(serving_composition.__file__,))


def kv_link(hw, kv_transfer_bandwidth=None) -> tuple:
    """(bandwidth, latency) base magnitudes of the link each device of a prefill replica sends
    its share of a prompt's KV cache over, the registry fabric used (or None) and a note: the
    given ``kv_transfer_bandwidth``, else the scale-out fabric of the chip's registry node (each
    device's share of the node's NICs, as in training), else the chip's own scale-out link. The
    latency is the registry fabric's (or link's) in every case, 0 when it is unknown."""
    node = node_for_chip(hw)
    fabric = node.scale_out_fabric if node is not None else None
    latency = fabric.latency if fabric is not None else hw.scale_out_latency
    if kv_transfer_bandwidth is not None:
        bw, fabric = positive("kv_transfer_bandwidth", kv_transfer_bandwidth, "GB/s"), None
        note = f"KV transfer at the given {bw:.4g~P} per device"
    elif fabric is not None:
        bw, nics, g = fabric.link_bandwidth, node.nics_per_node, node.accelerators_per_node
        share = f", {nics} NICs per {g} devices" if nics and nics < g else ""
        bw = bw * nics / g if nics and nics < g else bw
        note = f"KV transfer over {fabric.name} ({bw:.4g~P} per device{share})"
    elif hw.scale_out_bandwidth is not None:
        bw, note = hw.scale_out_bandwidth, f"KV transfer over {hw.name}'s scale-out link"
    else:
        raise ValueError(f"no scale-out link is known for {hw.name} (no registry node with a "
                         "scale-out fabric, no links.scale_out): pass kv_transfer_bandwidth, "
                         "such as '50 GB/s' (a 400 Gb/s NIC per device)")
    if latency is None:
        latency, note = Q_(0.0, "us"), note + "; its latency unknown: 0 assumed"
    return (magnitude("kv_transfer_bandwidth", bw), magnitude("kv_transfer_latency", latency),
            fabric, note)


def disaggregated_inputs(m, hw, precision, *, tp, prefill_replicas, decode_replicas, lam, n_in,
                         n_out, link, efficiency=None, percentile=0.99, max_sequences=1e7,
                         memory_reserve=None, max_batched_tokens=None, stack=None,
                         weight_bits=None) -> dict:
    """Base-unit inputs of :func:`disaggregated_kernel`: the serving system's at a load
    (:func:`~.load.load_inputs`), the two pools' replicas and the KV link (:func:`kv_link`)."""
    values = load_inputs(m, hw, precision, tp=tp, replicas=1.0, lam=lam, n_in=n_in, n_out=n_out,
                         efficiency=efficiency, percentile=percentile,
                         max_sequences=max_sequences, memory_reserve=memory_reserve,
                         max_batched_tokens=max_batched_tokens, stack=stack,
                         weight_bits=weight_bits)
    del values["serving_replicas"]
    values.update(prefill_replicas=prefill_replicas, decode_replicas=decode_replicas,
                  kv_transfer_bandwidth=link[0], kv_transfer_latency=link[1],
                  scale_out_efficiency=knobs.scale_out(efficiency))
    return values


def evaluate_split(values: dict):
    """Evaluate :func:`disaggregated_kernel` on :func:`disaggregated_inputs` (arrays broadcast)."""
    return evaluate_load(values, disaggregated_kernel(*variant_of(values)))


@dataclass(repr=False)
class DisaggregatedResult(Result):
    """Disaggregated serving: the two pools, their latencies and the KV transfer (quantities).

    ``serve`` fills it for a given split; ``size_fleet(disaggregated=True)`` for the least
    split meeting the SLO, with ``candidates`` (each chip's best split, or why it has none).
    """

    HEADLINE = ("devices", "prefill_replicas", "decode_replicas", "ttft", "time_per_output_token",
                "kv_transfer_time")
    #: the outputs explain() starts from
    EXPLAIN = ("disaggregated_ttft", "loaded_step_time", "fleet_capacity")

    feasible: bool
    model: object
    hardware: object = None
    tp: int = None
    prefill_replicas: int = None
    decode_replicas: int = None
    devices: int = None
    ttft: object = None                   # p-percentile: prefill wait + prefill + KV transfer
    ttft_mean: object = None
    time_per_output_token: object = None  # the decode pool's loaded step
    prefill_time: object = None           # one prompt on a prefill replica
    kv_transfer_time: object = None       # one prompt's KV cache to a decode replica
    kv_bytes: object = None               # one prompt's KV cache over a TP group
    capacity: object = None               # requests/s the fleet sustains
    throughput: object = None             # output tokens/s at this load
    prefill_utilization: float = None     # the prefill pool's queue (wall 7)
    kv_link_utilization: float = None
    batch: int = None                     # KV slots of a decode replica
    running_batch: float = None           # mean sequences per decode step (Little's law)
    memory_footprint: object = None       # decode device, every slot at full context
    prefill_memory_footprint: object = None
    bottleneck: str = ""
    percentile: float = 0.99
    cost: object = None
    carbon: object = None
    datacenter: object = None
    fabric: object = None                 # the registry fabric of the KV link, if any
    notes: list = field(default_factory=list)
    candidates: list = field(default_factory=list)
    message: str = ""
    loaded_inputs: dict = field(default=None, repr=False)

    def base_inputs(self) -> dict:
        """``{input name: base-unit magnitude}`` of the disaggregated kernel's inputs."""
        return dict(self.loaded_inputs or {})

    @property
    def system(self):
        """The composed system the split was evaluated with."""
        return disaggregated_system(latent_attention(self.model), sliding_window(self.model))

    def headline(self) -> str:
        """One line: the split and its latencies and what binds, or why no split meets the
        SLO."""
        if not self.feasible and self.message:
            return f"no disaggregated fleet meets the SLO: {self.message}"
        d = self.to_dict()
        parts = [f"{k.replace('_', ' ')} {format_value(d[k])}" for k in self.HEADLINE
                 if d.get(k) is not None]
        return (f"{self.title()}: " + ", ".join(parts)
                + (f"; bottleneck: {self.bottleneck}" if self.feasible
                   else f"; infeasible: {self.bottleneck}"))

    def registry_fields(self) -> list:
        """(registry object, field path) of the registry values the split used."""
        rows = [(self.hardware, "memory.0.bandwidth"), (self.hardware, "memory.0.capacity")]
        if self.fabric is not None:
            rows += [(self.fabric, "link_bandwidth")]
        return rows

    def to_dict(self) -> dict:
        """JSON-ready dict: quantities as ``{"value", "unit"}``, model, chip and fabric by name;
        with ``candidates``, each chip's best split or why it has none."""
        name = lambda obj: getattr(obj, "name", obj)  # noqa: E731
        d = {"model": name(self.model), "hardware": name(self.hardware),
             "feasible": bool(self.feasible)}
        for k in ("tp", "prefill_replicas", "decode_replicas", "devices", "batch", "bottleneck",
                  "message"):
            d[k] = getattr(self, k)
        for k in ("prefill_utilization", "kv_link_utilization", "running_batch", "percentile"):
            v = getattr(self, k)
            d[k] = None if v is None else float(v)
        for k in ("ttft", "ttft_mean", "time_per_output_token", "prefill_time",
                  "kv_transfer_time", "kv_bytes", "capacity", "throughput", "memory_footprint",
                  "prefill_memory_footprint", "cost", "carbon"):
            d[k] = quantity_json(getattr(self, k))
        d["datacenter"], d["notes"] = name(self.datacenter), list(self.notes)
        d["candidates"] = [{k: (name(v) if k == "hardware" else v) for k, v in c.items()
                            if k in ("hardware", "feasible", "reason", "devices", "tp",
                                     "prefill_replicas", "decode_replicas", "bottleneck")}
                           for c in self.candidates]
        return d


def _result(ev, values, m, hw, tp, rp, rd, percentile, link) -> DisaggregatedResult:
    """The :class:`DisaggregatedResult` of one evaluation at a scalar split."""
    v = lambda n: float(np.asarray(ev.value(n)).ravel()[0])  # noqa: E731
    fits = (v("sequence_capacity") >= 1 and v("prefill_memory_footprint")
            <= values["memory_reserve"] * values["memory_capacity"])
    prefill_ok, link_ok = v("server_utilization") < 1, v("kv_link_utilization") < 1
    decode_ok = v("decode_arrival_rate") < v("saturation_rate")
    caps = {"prefill pool": v("prefill_pool_capacity"), "decode pool": v("decode_pool_capacity"),
            "KV transfer": v("kv_link_capacity")}
    bottleneck = ("Memory (a prompt or a sequence does not fit)" if not fits else
                  "prefill pool saturated" if not prefill_ok else
                  "decode pool saturated" if not decode_ok else
                  "KV links saturated" if not link_ok else min(caps, key=caps.get))

    def q(name, unit, ok=True):
        x = ev.quantity(name)
        x = Q_(float(np.asarray(x.magnitude).ravel()[0]) if ok else math.inf, x.units)
        return x.to(unit)
    return DisaggregatedResult(
        fits and prefill_ok and decode_ok and link_ok, m, hw, tp, rp, rd, (rp + rd) * tp,
        ttft=q("disaggregated_ttft", "ms", prefill_ok and link_ok),
        ttft_mean=q("disaggregated_mean_ttft", "ms", prefill_ok and link_ok),
        time_per_output_token=q("loaded_step_time", "ms", decode_ok),
        prefill_time=q("prefill_service_time", "ms"), kv_transfer_time=q("kv_transfer_time", "ms"),
        kv_bytes=q("prompt_kv_bytes", "MB"), capacity=q("fleet_capacity", "request/s"),
        throughput=q("goodput", "token/s"), prefill_utilization=v("server_utilization"),
        kv_link_utilization=v("kv_link_utilization"), batch=int(v("sequence_slots")),
        running_batch=v("running_batch"),
        memory_footprint=q("engine_memory_footprint", "GB"),
        prefill_memory_footprint=q("prefill_memory_footprint", "GB"), bottleneck=bottleneck,
        percentile=percentile, fabric=link[2], notes=[link[3]], loaded_inputs=values)


def serve_disaggregated(model, hardware, *, qps, input_tokens, output_tokens, prefill_replicas,
                        decode_replicas, tp=1, batch=None, percentile=0.99, precision="fp16",
                        datacenter=None, efficiency=None, cloud_price=None, memory_reserve=None,
                        max_batched_tokens=None, stack=None, weight_bits=None,
                        kv_transfer_bandwidth=None) -> DisaggregatedResult:
    """Latency, capacity, cost and carbon of a disaggregated fleet of ``prefill_replicas`` and
    ``decode_replicas`` tensor-parallel groups of ``tp`` chips (what ``serve`` returns when
    given the split; the other arguments as there)."""
    m, hw = registry.model(model), registry.hardware(hardware)
    vocabulary.precision(precision)
    percentile, lam, n_in, n_out = check_load(qps, input_tokens, output_tokens, percentile)
    rp = int(whole("prefill_replicas", prefill_replicas, 1e7))
    rd = int(whole("decode_replicas", decode_replicas, 1e7))
    tp = int(check_tp(whole("tp", tp, 1024), m, hw))
    cap = 1e7 if batch is None else int(whole("batch", batch, 1e6))
    link = kv_link(hw, kv_transfer_bandwidth)
    values = disaggregated_inputs(
        m, hw, precision.lower(), tp=float(tp), prefill_replicas=float(rp),
        decode_replicas=float(rd), lam=lam, n_in=n_in, n_out=n_out, link=link,
        efficiency=efficiency, percentile=percentile, max_sequences=float(cap),
        memory_reserve=memory_reserve, max_batched_tokens=max_batched_tokens, stack=stack,
        weight_bits=weight_bits)
    r = _result(evaluate_split(values), values, m, hw, tp, rp, rd, percentile, link)
    r.cost = fleet_cost(hw, r.devices, cloud_price)
    r.carbon = fleet_carbon(hw, r.devices, datacenter)
    return r


# ------------------------------------------------------------------------- sizing the pools
def least_count(meets, low) -> int | None:
    """The least whole number n > ``low`` (n >= 1) with ``meets(n)``, for a ``meets`` that is
    monotone (once met, met by every larger n) and vectorised over an array of counts: a
    geometric bracket, then every integer of it (or a bisection when it is wide); None when
    no count up to 10^7 meets it."""
    low = max(0.0, math.floor(low)) if np.isfinite(low) else float(_R_MAX)
    if low >= _R_MAX:
        return None
    grid = np.unique(np.minimum(low + _OFFSETS, _R_MAX))
    hits = np.nonzero(meets(grid))[0]
    if not hits.size:
        return None
    lo, hi = (low if hits[0] == 0 else grid[hits[0] - 1]), grid[hits[0]]
    while hi - lo > 1:
        if hi - lo <= 65536:
            cand = np.arange(lo + 1, hi + 1)
            return int(cand[np.nonzero(meets(cand))[0][0]])
        mid = math.floor((lo + hi) / 2)
        lo, hi = (lo, mid) if meets(np.array([float(mid)]))[0] else (mid, hi)
    return int(hi)


def _pools(ask, hw, t, link) -> dict:
    """The least split of degree ``t``: each pool the least replicas meeting its SLO, both
    raised to the replicas the KV links need; a row for :func:`~.size.priced`."""
    base = disaggregated_inputs(ask.model, hw, ask.precision, tp=float(t), prefill_replicas=1.0,
                                decode_replicas=1.0, lam=ask.lam, n_in=ask.n_in, n_out=ask.n_out,
                                link=link, efficiency=ask.efficiency, percentile=ask.percentile,
                                max_sequences=float(ask.max_batch))
    one = evaluate_split(base)
    v = lambda n: float(np.asarray(one.value(n)).ravel()[0])  # noqa: E731
    if v("sequence_capacity") < 1 or v("prefill_memory_footprint") > \
            base["memory_reserve"] * base["memory_capacity"]:
        return {"feasible": False, "reason": "no layout fits in memory"}

    def meets(pool, test):
        def at(reps):
            ev = evaluate_split(dict(base, **{pool: np.asarray(reps, dtype=float)}))
            with np.errstate(invalid="ignore"):
                return test(lambda n: np.broadcast_to(np.asarray(ev.value(n), dtype=float),
                                                      np.shape(reps)))
        return at
    rp = least_count(meets("prefill_replicas", lambda x: (x("server_utilization") < 1)
                           & (x("disaggregated_ttft") <= ask.ttft_slo)),
                     ask.lam * v("prefill_service_time"))
    rd = least_count(meets("decode_replicas", lambda x: (x("decode_arrival_rate")
                                                         < x("saturation_rate"))
                           & (x("loaded_step_time") <= ask.tpot_slo)),
                     ask.lam / v("saturation_rate") if v("saturation_rate") > 0 else math.inf)
    if rp is None or rd is None:
        floor = Q_(v("prefill_service_time") + v("kv_transfer_time"), "s")   # base: seconds
        return {"feasible": False, "reason": (
            f"TTFT SLO below the prefill and KV transfer ({floor.to('ms'):.4g~P})" if rp is None
            else "TPOT SLO unreachable at any load of the decode pool")}
    links = math.floor(v("kv_link_utilization")) + 1     # at Min(R_p, R_d) = 1
    why = ["prefill pool: TTFT", "decode pool: TPOT"]
    if links > min(rp, rd):
        why.append("KV links")
    rp, rd = max(rp, links), max(rd, links)
    values = dict(base, prefill_replicas=float(rp), decode_replicas=float(rd))
    r = _result(evaluate_split(values), values, ask.model, hw, int(t), rp, rd, ask.percentile,
                link)
    r.bottleneck = "; ".join(why)
    return {"feasible": True, "devices": r.devices, "tp": int(t), "prefill_replicas": rp,
            "decode_replicas": rd, "bottleneck": r.bottleneck, "result": r}


def _candidate(ask, cand, kv_transfer_bandwidth) -> dict:
    """One chip's least-device split, priced, or ``{"feasible": False, "reason": ...}``."""
    hw = registry.hardware(cand)
    try:
        hw.peak_flops(ask.precision)
        link = kv_link(hw, kv_transfer_bandwidth)
    except ValueError as exc:
        return {"hardware": hw, "feasible": False, "reason": str(exc)}
    tps = candidate_tps(ask, hw)
    rows = [_pools(ask, hw, t, link) for t in tps]
    good = [row for row in rows if row["feasible"]]
    if not good:
        why = "; ".join(f"tp={int(t)}: {row['reason']}" for t, row in zip(tps, rows))
        return {"hardware": hw, "feasible": False, "reason": why}
    row = min(good, key=lambda r: (r["devices"], r["tp"]))
    row["hardware"] = hw
    return priced(ask, hw, row)


def size_disaggregated(ask, candidates, objective, kv_transfer_bandwidth=None):
    """``size_fleet(..., disaggregated=True)``: per chip and TP degree the least prefill and
    decode replicas meeting the SLO (``ask``: size_fleet's checked request), priced; the best
    chip by ``objective``."""
    rows = [_candidate(ask, c, kv_transfer_bandwidth) for c in candidates]
    good = [r for r in rows if r["feasible"]]
    if not good:
        reasons = "; ".join(f"{r['hardware'].name}: {r['reason']}" for r in rows)
        return DisaggregatedResult(False, ask.model, candidates=rows, message=reasons,
                                   percentile=ask.percentile, bottleneck="infeasible")
    if objective == "devices":
        best = min(good, key=lambda r: r["devices"])
    else:   # cheapest (or cleanest) first; a candidate without the figure last
        best = min(good, key=lambda r: (r[objective] is None, r[objective].magnitude
                                        if r[objective] is not None else 0))
    r = best["result"]
    r.cost, r.carbon, r.datacenter, r.candidates = (best["cost"], best["carbon"],
                                                    best["datacenter"], rows)
    return r
