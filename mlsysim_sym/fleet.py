"""Serving fleets: ``serve()`` (forward) and ``size_fleet()`` (the minimum fleet for an SLO).

A replica is a tensor-parallel group of ``tp`` chips treated as one device with ``tp`` times the
peak FLOP/s, memory bandwidth and capacity, plus two all-reduces per layer over the scale-up
links (wall 4; chips without a scale-up link in the registry are searched at ``tp = 1`` only). It serves with continuous batching: ``batch`` request slots whose KV
caches share the memory left after the weights (wall 5, paged). Each request occupies a slot for

    S(b) = T_prefill + n_out x T_decode(b)

(its own prefill, then ``n_out`` decode steps at the slot batch ``b``; interference of other
requests' prefills with decode is not modelled). Requests arrive as a Poisson stream split evenly
over the replicas, so a replica is an M/M/c queue with c = b servers of mean service time S(b)
(wall 7): the p-th percentile of TTFT is the exact waiting-time percentile plus T_prefill, and
the queue is stable iff lambda S / b < 1. Decode time per token is evaluated at the mean context
(input + output / 2), the memory footprint at the full context (input + output).

``size_fleet`` searches every tensor-parallel degree and every batch size that fits, and for each
the least number of replicas meeting the SLO (integers searched exactly, by bisection on the
monotone waiting-time percentile), so the result is the minimum: one device fewer violates a
constraint. Cost is the purchase price where the registry has one, otherwise a rental price per
device-hour: the user's ``cloud_price``, else the registry's published on-demand ``cloud_price``;
carbon is the operational emission of a year at TDP (wall 18; an upper
bound: the registry has no idle-power data).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from . import checks, registry
from .display import ResultDisplay
from .equations import walls
from .scenarios import (PRECISION_BITS, _ALL_INPUTS, _MOE_INPUTS, _cached, _check_count,
                        _communication, _efficiency_magnitudes, _kernel, _moe_kernel,
                        _precision_magnitudes, _unoverlapped, check_tp, tp_magnitudes)
from .symbols import info
from .system import System
from .units import Q_, as_quantity, base_factor, quantity_json, to_base

__all__ = ["serve", "size_fleet", "ServeResult", "FleetResult"]

_TP_CHOICES = (1, 2, 4, 8)


@lru_cache(maxsize=1)
def _queue_kernel():
    system = System.from_walls(walls.tail_latency)
    return system.compile(["waiting_time_percentile", "server_utilization", "mean_waiting_time"],
                          ["arrival_rate", "latency_percentile", "mean_service_time", "servers"])


@lru_cache(maxsize=1)
def _carbon_kernel():
    system = System.from_walls(walls.sustainability)
    return system.compile(["operational_carbon", "facility_energy", "water_consumption"])


def _b(name, value):
    return checks.magnitude(name, value)


def _replica_grid(m, hw, precision, tps, batches, n_in, n_out, efficiency):
    """Per (tp, batch) arrays (base units): decode step, prefill time, footprint, capacity."""
    moe = getattr(m, "family", "") == "moe"
    kernel = _moe_kernel() if moe else _kernel()
    names = _MOE_INPUTS if moe else _ALL_INPUTS
    tp = np.asarray(tps, dtype=float)[:, None]
    b = np.asarray(batches, dtype=float)[None, :]
    peak, bw, cap = _cached("hardware", hw, precision)
    values = {}
    if moe:
        structure, extra = _cached("moe", m, hw)
        values.update(zip(names[:6], _cached("model", m)[2:]))
        values.update(zip(("moe_dense_parameters", "moe_expert_parameters", "moe_experts",
                           "experts_per_token", "moe_shared_experts", "moe_layers"), structure))
        values.update(zip(("moe_routing_imbalance", "expert_parallel", "link_bandwidth",
                           "link_latency", "communication_efficiency"), extra))
    else:
        values.update(zip(names[:8], _cached("model", m)))
    values.update(peak_flops=peak * tp, memory_bandwidth=bw * tp, memory_capacity=cap * tp)
    values.update(zip(("bytes_per_parameter", "kv_bytes_per_element",
                       "activation_bytes_per_element"), _precision_magnitudes(precision)))
    values.update(zip(("compute_efficiency", "memory_efficiency", "fixed_overhead"),
                      _efficiency_magnitudes(efficiency, hw, precision)))
    values.update(zip(("tensor_parallel", "scale_up_bandwidth", "scale_up_latency"),
                      tp_magnitudes(hw, tp)))
    if isinstance(efficiency, dict) and "scale_up_latency" in efficiency:
        lat = _b("scale_up_latency", efficiency["scale_up_latency"])
        if not (np.isfinite(lat) and lat >= 0):
            raise ValueError(f"scale_up_latency must be >= 0, got {efficiency['scale_up_latency']!r}")
        values["scale_up_latency"] = lat
    values["communication_efficiency"] = _communication(efficiency)
    values["unoverlapped_fraction"] = _unoverlapped(efficiency)
    mean_ctx = n_in + n_out / 2.0
    alias = {"time_per_output_token": "moe_time_per_output_token", "ttft": "moe_ttft"} if moe else {}

    shape = np.broadcast(tp, b).shape

    def lazy(batch, prompt, context):
        vals = dict(values, batch=batch, prompt_length=prompt, context_length=context)
        return kernel.lazy([np.broadcast_to(np.asarray(vals[n], dtype=float), shape)
                            if isinstance(vals[n], np.ndarray) or n in ("batch", "tensor_parallel")
                            else vals[n] for n in kernel.input_names], True)

    tpot = alias.get("time_per_output_token", "time_per_output_token")
    ev = lazy(b * np.ones_like(tp), n_in, mean_ctx)      # decode at the mean context
    decode = np.broadcast_to(ev.value(tpot), shape)
    decode_bind = np.broadcast_to(ev.binding(tpot), shape)
    ev = lazy(np.ones_like(b) * np.ones_like(tp), n_in, n_in)   # one request's prefill
    prefill = np.broadcast_to(ev.value(alias.get("ttft", "ttft")), shape)
    ev = lazy(b * np.ones_like(tp), 1.0, n_in + n_out)   # footprint at the full context
    util = np.broadcast_to(ev.value("memory_utilization"), shape)
    return decode, decode_bind, prefill, util


def _wait(lam, service, servers, p):
    """Only the waiting-time percentile (base units) of M/M/c replicas (vectorised)."""
    k = _queue_kernel()
    args = {"arrival_rate": lam, "latency_percentile": p, "mean_service_time": service,
            "servers": servers}
    shape = np.broadcast(*[np.asarray(v) for v in args.values()]).shape
    return k.single("waiting_time_percentile",
                    [np.broadcast_to(np.asarray(args[n], dtype=float), shape)
                     for n in k.input_names])


def _queue(lam, service, servers, p):
    """Waiting-time percentile, utilisation, mean wait (base units) of M/M/c replicas."""
    k = _queue_kernel()
    args = {"arrival_rate": lam, "latency_percentile": p, "mean_service_time": service,
            "servers": servers}
    shape = np.broadcast(*[np.asarray(v) for v in args.values()]).shape
    ev = k.lazy([np.broadcast_to(np.asarray(args[n], dtype=float), shape) for n in k.input_names],
                True)
    return ev.value("waiting_time_percentile"), ev.value("server_utilization"), \
        ev.value("mean_waiting_time")


@dataclass
class ServeResult(ResultDisplay):
    """A serving fleet's latency, capacity, cost and carbon (pint quantities)."""

    model: object
    hardware: object
    replicas: int
    tp: int
    batch: int
    ttft: object            # p-th percentile time to first token (queueing + prefill)
    ttft_mean: object
    time_per_output_token: object
    throughput: object      # output tokens/s the fleet serves at this load
    capacity: object        # requests/s the fleet sustains (utilisation -> 1)
    utilization: float
    feasible: bool
    bottleneck: str
    percentile: float
    devices: int = 0
    cost: object = None
    carbon: object = None
    notes: list = field(default_factory=list)
    bands: dict = None      # {output: Band} with serve(..., uncertainty=True)

    def __repr__(self):
        return (f"ServeResult({self.model.name} on {self.replicas} x {self.tp} {self.hardware.name}, "
                f"batch {self.batch}: p{self.percentile * 100:g} TTFT {self.ttft:.4g~P}, TPOT "
                f"{self.time_per_output_token:.4g~P}, rho {self.utilization:.3g}, "
                f"feasible={self.feasible}, bottleneck={self.bottleneck})")

    def to_dict(self) -> dict:
        """JSON-ready dict: quantities as ``{"value", "unit"}``, model and chip by name."""
        d = {"model": self.model.name, "hardware": self.hardware.name}
        for k in ("replicas", "tp", "batch", "devices", "feasible", "bottleneck"):
            d[k] = getattr(self, k)
        d["utilization"], d["percentile"] = float(self.utilization), float(self.percentile)
        for k in ("ttft", "ttft_mean", "time_per_output_token", "throughput", "capacity", "cost",
                  "carbon"):
            d[k] = quantity_json(getattr(self, k))
        d["notes"] = list(self.notes)
        if self.bands:
            d["bands"] = {k: b.to_dict() for k, b in self.bands.items()}
        return d


def _check_rate(qps):
    q = checks.quantity("qps", qps, "request/s", low=0.0, low_open=True)
    if isinstance(q, np.ndarray):
        raise checks.InputError("qps must be one positive rate here, such as '20 request/s'")
    return float(q)


def _check_tokens(name, value):
    v = _check_count(name, value, 1, 1e7)
    if isinstance(v, np.ndarray):
        raise checks.InputError(f"{name} must be a single whole number here")
    return v


def _scalar_count(name, value, high):
    v = _check_count(name, value, 1, high)
    if isinstance(v, np.ndarray):
        raise checks.InputError(f"{name} must be one whole number between 1 and {high:g} here")
    return v


def _valid_tps(m, hw):
    out = []
    for t in _TP_CHOICES:
        try:
            check_tp(t, m, hw)
        except checks.InputError:
            continue
        out.append(t)
    return tuple(out) or (1,)


def _check_percentile(percentile):
    p = checks.number("percentile", percentile, low=0.0, high=1.0, low_open=True, high_open=True)
    if isinstance(p, np.ndarray):
        raise checks.InputError("percentile must be one number in (0, 1), such as 0.99")
    return p


def _positive(name, value, unit):
    """A positive finite scalar quantity (budget, caps, prices, SLOs), as a quantity in unit."""
    v = checks.quantity(name, value, unit, low=0.0, low_open=True)
    if isinstance(v, np.ndarray):
        raise checks.InputError(f"{name} must be one value here, such as '1 {unit}'")
    return Q_(v / base_factor(unit), unit)


def _carbon(hw, devices, datacenter):
    if datacenter is None:
        return None
    dc = registry.datacenter(datacenter)
    if hw.tdp is None or dc.carbon_intensity is None:
        return None
    k = _carbon_kernel()
    vals = {"carbon_intensity": _b("carbon_intensity", dc.carbon_intensity),
            "device_idle_power": _b("device_idle_power", hw.tdp),
            "device_peak_power": _b("device_peak_power", hw.tdp), "device_utilization": 1.0,
            "devices": float(devices), "job_duration": _b("job_duration", Q_(1, "yr")),
            "pue": _b("pue", dc.pue if dc.pue is not None else Q_(1, "")),
            "wue": _b("wue", dc.wue if dc.wue is not None else Q_(0, "L/kWh"))}
    ev = k.lazy([vals[n] for n in k.input_names])
    return (ev.quantity("operational_carbon") / Q_(1, "yr")).to("tCO2e/yr")


def _cost(hw, devices, cloud_price):
    """Purchase price x devices [USD]; else a rental price per device-hour x devices [USD/h]:
    the user's ``cloud_price`` if given, else the registry's published on-demand price."""
    if getattr(hw, "price", None) is not None:
        return (hw.price * devices).to("USD")
    if cloud_price is not None:
        return (_positive("cloud_price", cloud_price, "USD/h") * devices).to("USD/h")
    if getattr(hw, "cloud_price", None) is not None:
        return (hw.cloud_price * devices).to("USD/h")
    return None


def serve(model, hardware, *, qps, input_tokens, output_tokens, replicas=1, tp=1, batch=None,
          percentile=0.99, precision="fp16", datacenter=None, efficiency=None,
          cloud_price=None, uncertainty=False) -> ServeResult:
    """Latency, capacity, cost and carbon of a serving fleet at a request rate.

    Parameters
    ----------
    model, hardware : str or registry object
    qps : float, quantity or str
        Mean request arrival rate [request/s] over the whole fleet.
    input_tokens, output_tokens : int
        Prompt and generated tokens per request [token].
    replicas, tp : int
        Replicas and chips per replica (tensor parallel).
    batch : int, optional
        Request slots per replica (continuous batching); default: the largest that fits
        (wall 5, paged KV cache).
    percentile : float
        Percentile of TTFT to report, in (0, 1).
    precision : str
    datacenter : str, optional
        Grid region for the carbon figure.
    efficiency : float or dict, optional
        As in :func:`~mlsysim_sym.predict`.
    cloud_price : quantity, optional
        Rental price per device-hour, used for ``cost`` when the registry has no purchase price
        (default: the registry's published on-demand ``cloud_price`` of the chip, if any).
    uncertainty : bool or int
        Also compute p10/p50/p90 bands (``result.bands``) of the TTFT percentile, time per output
        token and capacity (requests/s the fleet sustains), over the calibrated efficiencies' spreads and the model's residual
        inference error (``True``: 500 draws, evaluated one by one).
    """
    if uncertainty:
        return _serve_with_bands(model, hardware, uncertainty, dict(
            qps=qps, input_tokens=input_tokens, output_tokens=output_tokens, replicas=replicas,
            tp=tp, batch=batch, percentile=percentile, precision=precision,
            datacenter=datacenter, efficiency=efficiency, cloud_price=cloud_price))
    m, hw = registry.model(model), registry.hardware(hardware)
    if not isinstance(precision, str) or precision.lower() not in PRECISION_BITS:
        raise ValueError(f"unknown precision {precision!r}; allowed: {', '.join(PRECISION_BITS)}")
    percentile = _check_percentile(percentile)
    lam = _check_rate(qps)
    n_in = _check_tokens("input_tokens", input_tokens)
    n_out = _check_tokens("output_tokens", output_tokens)
    replicas = int(_scalar_count("replicas", replicas, 1e7))
    tp = int(check_tp(_scalar_count("tp", tp, 1024), m, hw))
    notes = []
    if batch is None:
        batches = np.arange(1, 4097, dtype=float)
        _, _, _, util = _replica_grid(m, hw, precision.lower(), [tp], batches, n_in, n_out,
                                      efficiency)
        fits = np.nonzero(util[0] <= 1.0)[0]
        batch = int(batches[fits[-1]]) if fits.size else 1
        notes.append(f"batch = {batch}: the most request slots whose KV caches fit (paged)")
    batch = int(_scalar_count("batch", batch, 1e6))
    decode, bind, prefill, util = _replica_grid(m, hw, precision.lower(), [tp], [batch], n_in,
                                                n_out, efficiency)
    decode, prefill, util, bind = float(decode[0, 0]), float(prefill[0, 0]), float(util[0, 0]), \
        str(bind[0, 0])
    service = prefill + n_out * decode
    w_p, rho, w_mean = (float(x) for x in _queue(lam / replicas, service, batch, percentile))
    fits = util <= 1.0
    stable = rho < 1.0
    if not fits:
        bottleneck = "Memory"
    elif not stable:
        bottleneck = "Tail latency"
    else:
        bottleneck = bind
    q = lambda name, v: Q_(v / base_factor(info(name).unit), info(name).unit)  # noqa: E731
    devices = replicas * tp
    return ServeResult(
        m, hw, replicas, tp, batch,
        ttft=q("ttft", w_p + prefill), ttft_mean=q("ttft", w_mean + prefill),
        time_per_output_token=q("time_per_output_token", decode),
        throughput=Q_(lam * n_out if stable else replicas * batch * n_out / service, "token/s"),
        capacity=Q_(replicas * batch / service, "request/s"), utilization=rho,
        feasible=bool(fits and stable), bottleneck=bottleneck, percentile=percentile,
        devices=devices, cost=_cost(hw, devices, cloud_price),
        carbon=_carbon(hw, devices, datacenter), notes=notes)


def _serve_with_bands(model, hardware, samples, kw):
    from .defaults import variant_name
    from .uncertainty import band_of, sample_parameters
    r = serve(model, hardware, **kw)
    n = 500 if samples is True else samples
    given = kw.get("efficiency")
    given = given if isinstance(given, dict) else ({} if given is None else
                                                    {"compute": given, "memory": given})
    names = {}
    for key, sym, unit, rng in (("compute", "compute_efficiency", "", (0.0, 1.0)),
                                ("memory", "memory_efficiency", "", (0.0, 1.0)),
                                ("fixed_overhead", "fixed_overhead", "ms", (0.0, 1e4))):
        if key not in given:
            names[key] = (variant_name(sym, r.hardware, kw["precision"].lower(), "serve"),
                          unit or "dimensionless", rng)
    draws = sample_parameters(names, n)
    out = {"ttft": [], "time_per_output_token": [], "capacity": []}
    for i in range(len(next(iter(draws.values()))) if draws else 0):
        eff = dict(given)
        for key, arr in draws.items():
            eff[key] = Q_(float(arr[i]), "ms") if key == "fixed_overhead" else float(arr[i])
        ri = serve(model, hardware, **{**kw, "efficiency": eff, "batch": r.batch})
        out["ttft"].append(ri.ttft.to("ms").magnitude)
        out["time_per_output_token"].append(ri.time_per_output_token.to("ms").magnitude)
        out["capacity"].append(ri.capacity.to("request/s").magnitude)
    r.bands = {k: band_of(v, "request/s" if k == "capacity" else "ms", "inference")
               for k, v in out.items()}
    return r


@dataclass
class FleetResult(ResultDisplay):
    """The minimum fleet meeting an SLO; ``candidates`` holds each chip's best layout."""

    feasible: bool
    devices: int | None
    replicas: int | None
    tp: int | None
    batch: int | None
    hardware: object
    ttft: object
    time_per_output_token: object
    utilization: float | None
    bottleneck: str
    cost: object = None
    carbon: object = None
    datacenter: object = None
    candidates: list = field(default_factory=list)
    message: str = ""

    def __repr__(self):
        if not self.feasible:
            return f"FleetResult(infeasible: {self.message})"
        return (f"FleetResult({self.devices} x {self.hardware.name} = {self.replicas} replicas x "
                f"TP{self.tp}, batch {self.batch}; p-TTFT {self.ttft:.4g~P}, TPOT "
                f"{self.time_per_output_token:.4g~P}; bottleneck {self.bottleneck})")

    def to_dict(self) -> dict:
        """JSON-ready dict: the chosen fleet, then each candidate chip's best layout or why it
        has none (quantities as ``{"value", "unit"}``)."""
        def name(obj):
            return getattr(obj, "name", obj)
        d = {"feasible": self.feasible, "hardware": name(self.hardware), "devices": self.devices,
             "replicas": self.replicas, "tp": self.tp, "batch": self.batch,
             "ttft": quantity_json(self.ttft),
             "time_per_output_token": quantity_json(self.time_per_output_token),
             "utilization": None if self.utilization is None else float(self.utilization),
             "bottleneck": self.bottleneck, "cost": quantity_json(self.cost),
             "carbon": quantity_json(self.carbon), "datacenter": name(self.datacenter),
             "message": self.message}
        rows = []
        for c in self.candidates:
            row = {"hardware": name(c["hardware"]), "feasible": c["feasible"]}
            if c["feasible"]:
                row.update({k: c[k] for k in ("devices", "replicas", "tp", "batch", "bottleneck")})
                row.update(cost=quantity_json(c.get("cost")), carbon=quantity_json(c.get("carbon")),
                           datacenter=name(c.get("datacenter")))
            else:
                row["reason"] = c["reason"]
            rows.append(row)
        d["candidates"] = rows
        return d


def _min_replicas(lam, service, batch, p, ttft_budget, r_cap=10**7):
    """Least integer replicas per config with a stable queue and w_p <= budget (vectorised)."""
    r0 = np.floor(lam * service / batch) + 1.0          # stability: lam S / (R b) < 1
    ok0 = _wait(lam / r0, service, batch, p) <= ttft_budget
    lo = np.where(ok0, r0, r0)                           # lo: smallest candidate
    hi = r0.copy()
    feasible_hi = ok0.copy()
    for _ in range(40):                                  # grow hi until it meets the budget
        if feasible_hi.all() or (hi >= r_cap).all():
            break
        hi = np.where(feasible_hi, hi, np.minimum(hi * 2, r_cap))
        feasible_hi = _wait(lam / hi, service, batch, p) <= ttft_budget
    lo = np.where(ok0, r0, lo)                           # bisection on (lo infeasible, hi feasible]
    lo = np.where(ok0, r0 - 1, np.maximum(r0, hi / 2))
    for _ in range(64):
        gap = (hi - lo) > 1
        if not gap.any():
            break
        mid = np.floor((lo + hi) / 2)
        good = _wait(lam / np.maximum(mid, 1), service, batch, p) <= ttft_budget
        good &= mid >= r0
        hi = np.where(gap & good, mid, hi)
        lo = np.where(gap & ~good, mid, lo)
    return np.where(feasible_hi, hi, np.inf)


def size_fleet(model, hardware_or_candidates, *, qps, input_tokens, output_tokens,
               slo=None, percentile=0.99, precision="fp16", budget=None, carbon_cap=None,
               datacenter=None, tp=None, max_batch=4096, efficiency=None,
               cloud_price=None, objective="devices") -> FleetResult:
    """The minimum number of devices that serves ``qps`` within the latency SLO.

    Parameters
    ----------
    model : str or Model
    hardware_or_candidates : str, Hardware, or a list of them
    qps, input_tokens, output_tokens : as in :func:`serve`
    slo : dict
        ``{"ttft": "500 ms", "tpot": "50 ms"}`` (TTFT at ``percentile``; TPOT per token).
    percentile : float
    precision : str
    budget : quantity, optional
        Upper bound on ``cost`` (purchase price, or cloud price per hour if given).
    carbon_cap : quantity, optional
        Upper bound on operational carbon per year [tCO2e/yr] (needs ``datacenter``).
    datacenter : str or list of str, optional
        Grid region(s); with several, the lowest-carbon region that meets the caps is chosen.
    tp : iterable of int, optional
        Tensor-parallel degrees to search (default 1, 2, 4, 8 within one node).
    objective : {"devices", "cost", "carbon"}
        What to minimise across candidate chips (devices is always minimised per chip).
    """
    if slo is not None and not isinstance(slo, dict):
        raise checks.InputError(f"slo must be a dict such as {{'ttft': '500 ms', 'tpot': '50 ms'}}, "
                                f"got {slo!r:.60}")
    slo = dict(slo or {"ttft": "500 ms", "tpot": "50 ms"})
    unknown = set(slo) - {"ttft", "tpot", "time_per_output_token"}
    if unknown:
        raise ValueError(f"unknown SLO keys {sorted(unknown)}; allowed: ttft, tpot")
    if objective not in ("devices", "cost", "carbon"):
        raise ValueError(f"objective must be devices, cost or carbon, got {objective!r}")
    ttft_slo = to_base(_positive("slo ttft", slo.get("ttft", "1e12 ms"), "ms"))
    tpot_slo = to_base(_positive("slo tpot", slo.get("tpot", slo.get("time_per_output_token",
                                                                      "1e12 ms")), "ms"))
    percentile = _check_percentile(percentile)
    if not isinstance(precision, str) or precision.lower() not in PRECISION_BITS:
        raise ValueError(f"unknown precision {precision!r}; allowed: {', '.join(PRECISION_BITS)}")
    precision = precision.lower()
    lam = _check_rate(qps)
    n_in = _check_tokens("input_tokens", input_tokens)
    n_out = _check_tokens("output_tokens", output_tokens)
    m = registry.model(model)
    cands = hardware_or_candidates if isinstance(hardware_or_candidates, (list, tuple)) \
        else [hardware_or_candidates]
    regions = datacenter if isinstance(datacenter, (list, tuple)) else \
        ([datacenter] if datacenter is not None else [None])
    budget_q = None if budget is None else _positive("budget", budget, "USD") \
        if not (isinstance(budget, str) and "/h" in budget) else _positive("budget", budget, "USD/h")
    cap_q = None if carbon_cap is None else _positive("carbon_cap", carbon_cap, "tCO2e/yr")
    max_batch = int(_scalar_count("max_batch", max_batch, 1e6))
    if tp is not None:
        tp = [int(_scalar_count("tp", t, 1024)) for t in
              (tp if isinstance(tp, (list, tuple, np.ndarray)) else [tp])]
        if not tp:
            raise checks.InputError("tp is empty: give tensor-parallel degrees such as [1, 2, 4, 8]")
    batches = np.arange(1, max_batch + 1, dtype=float)
    results = []
    for cand in cands:
        hw = registry.hardware(cand)
        if tp is not None:
            tps = tuple(check_tp(np.asarray(tp, dtype=float), m, hw) .astype(int))
        else:  # the default degrees that divide the heads and fit the node's scale-up domain
            tps = _valid_tps(m, hw) if hw.scale_up_bandwidth is not None else (1,)
        checks.sweep_shape(("tp", np.empty((len(tps), 1))), ("batch", batches),
                           arrays=24)
        try:
            hw.peak_flops(precision)
        except ValueError as exc:
            results.append({"hardware": hw, "feasible": False, "reason": str(exc)})
            continue
        decode, bind, prefill, util = _replica_grid(m, hw, precision, tps, batches, n_in, n_out,
                                                    efficiency)
        service = prefill + n_out * decode
        budget_ttft = ttft_slo - prefill
        ok = (util <= 1.0) & (decode <= tpot_slo) & (budget_ttft >= 0)
        reps = _search(lam, service, batches, np.asarray(tps, dtype=float), ok, percentile,
                       budget_ttft)
        devices = reps * np.asarray(tps, dtype=float)[:, None]
        if not np.isfinite(devices).any():
            why = ("no layout fits in memory" if not (util <= 1).any() else
                   "TPOT SLO unreachable at any batch" if not ((util <= 1) & (decode <= tpot_slo)).any()
                   else "TTFT SLO below the prefill time" if not ok.any() else "queue cannot meet TTFT")
            results.append({"hardware": hw, "feasible": False, "reason": why})
            continue
        best = np.unravel_index(np.argmin(np.where(np.isfinite(devices), devices + 1e-6 * (
            -batches[None, :]), np.inf)), devices.shape)
        i, j = best
        n_dev = int(devices[i, j])
        row = {"hardware": hw, "feasible": True, "devices": n_dev, "replicas": int(reps[i, j]),
               "tp": int(tps[i]), "batch": int(batches[j]), "decode": float(decode[i, j]),
               "prefill": float(prefill[i, j]), "service": float(service[i, j]),
               "bind": str(bind[i, j]), "util": float(util[i, j])}
        w_p, rho, _ = _queue(lam / row["replicas"], row["service"], row["batch"], percentile)
        row["ttft"], row["rho"] = float(w_p) + row["prefill"], float(rho)
        row["bottleneck"] = _binding_reason(row, decode[i], util[i], batches, tpot_slo,
                                            lam, percentile, ttft_slo)
        row["cost"] = _cost(hw, n_dev, cloud_price)
        carbons = [(_carbon(hw, n_dev, r), r) for r in regions]
        if cap_q is not None:
            carbons = [(c, r) for c, r in carbons if c is not None and c <= cap_q]
        if not carbons:
            results.append({"hardware": hw, "feasible": False,
                            "reason": f"carbon over the cap {cap_q:~P} in every region"})
            continue
        row["carbon"], row["datacenter"] = min(carbons, key=lambda t: (t[0] is None, t[0] or 0))
        if budget_q is not None:
            if row["cost"] is None or row["cost"].dimensionality != budget_q.dimensionality:
                results.append({"hardware": hw, "feasible": False,
                                "reason": "no price to compare with the budget"})
                continue
            if row["cost"] > budget_q:
                results.append({"hardware": hw, "feasible": False,
                                "reason": f"cost {row['cost']:.4g~P} over budget {budget_q:.4g~P}"})
                continue
        results.append(row)
    good = [r for r in results if r["feasible"]]
    if not good:
        reasons = "; ".join(f"{r['hardware'].name}: {r['reason']}" for r in results)
        return FleetResult(False, None, None, None, None, None, None, None, None, "infeasible",
                           candidates=results, message=reasons)
    key = {"devices": lambda r: r["devices"],
           "cost": lambda r: (r["cost"] is None, r["cost"].magnitude if r["cost"] is not None else 0),
           "carbon": lambda r: (r["carbon"] is None, r["carbon"].magnitude if r["carbon"] is not None else 0)}
    best = min(good, key=key[objective])
    q = lambda name, v: Q_(v / base_factor(info(name).unit), info(name).unit)  # noqa: E731
    return FleetResult(True, best["devices"], best["replicas"], best["tp"], best["batch"],
                       best["hardware"], q("ttft", best["ttft"]),
                       q("time_per_output_token", best["decode"]), best["rho"],
                       best["bottleneck"], best["cost"], best["carbon"], best["datacenter"],
                       candidates=results)


def _search(lam, service, batches, tps, ok, p, ttft_budget):
    """Least replicas for every config that could beat the best fleet found (branch and bound).

    A config's replicas are at least its stability bound floor(lam S / b) + 1, so a config whose
    bound times ``tp`` is not below the best device count found so far cannot win and is not
    searched; the others get the exact integer search of :func:`_min_replicas`. Configs left
    unsearched keep ``inf``: they are provably no better than the reported optimum.
    """
    reps = np.full(service.shape, np.inf)
    with np.errstate(invalid="ignore", over="ignore"):
        bound = (np.floor(lam * service / batches[None, :]) + 1.0) * tps[:, None]
    bound = np.where(ok, bound, np.inf)
    searched = np.zeros(service.shape, dtype=bool)
    best = np.inf
    while True:
        todo = np.nonzero((bound < best) & ~searched)
        if not todo[0].size:
            return reps
        order = np.argsort(bound[todo], kind="stable")[:128]
        idx = (todo[0][order], todo[1][order])
        searched[idx] = True
        reps[idx] = _min_replicas(lam, service[idx], batches[idx[1]], p, ttft_budget[idx])
        found = reps[idx] * tps[idx[0]]
        if np.isfinite(found).any():
            best = min(best, float(np.min(found)))


def _binding_reason(row, decode_row, util_row, batches, tpot_slo, lam, p, ttft_slo) -> str:
    """Which constraint stops a smaller fleet at the optimum."""
    j = row["batch"] - 1
    reasons = []
    if j + 1 < batches.size:
        if util_row[j + 1] > 1.0:
            reasons.append("Memory")
        elif decode_row[j + 1] > tpot_slo:
            reasons.append("Serving (TPOT)")
    if row["replicas"] > 1:
        fewer = row["replicas"] - 1
        if lam * row["service"] / (fewer * row["batch"]) >= 1:
            reasons.append("Tail latency (stability)")
        else:
            w = float(_queue(lam / fewer, row["service"], row["batch"], p)[0])
            if w + row["prefill"] > ttft_slo:
                reasons.append("Tail latency (TTFT)")
    return " + ".join(reasons) if reasons else "Compute/Memory (one replica suffices)"
