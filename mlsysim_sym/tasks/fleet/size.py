"""Serving fleets: ``serve()`` (forward) and ``size_fleet()`` (the minimum fleet for an SLO).

Both evaluate the one serving system (:func:`mlsysim_sym.scenarios.serving_system`: walls 1, 2,
4, 7 and the continuous-batching record) at a request rate; no physics lives here. A replica is
a tensor-parallel group of ``tp`` chips (``tensor_parallel`` is a symbol: each rank runs 1/tp of
the work, holds 1/tp of the weights and KV cache, and two ring all-reduces per layer cross the
scale-up links; chips without a scale-up link in the registry are searched at ``tp = 1`` only).
It serves with continuous batching and chunked prefill: at a request rate lambda per replica the
scheduler steps carry lambda n_in prompt and lambda n_out output tokens per second, so the step
time T* (= the mean time per output token), the running batch B* = lambda n_out T* (Little's law)
and the prompt chunk per step are one fixed point, solved in closed form per roofline branch.
Prefill work is charged to the same compute roof as decode. The KV cache (a reserve of the
device memory minus weights and the token budget's workspace) holds B_slots sequences at full
context; requests queue for a slot (M/M/c, wall 7), and TTFT is the p-percentile wait plus the
prompt's prefill spread over the steps that carry its chunks. The replica saturates where the
running batch fills the slots or a step's tokens fill the budget.

``size_fleet`` searches every tensor-parallel degree and, for each, the least number of replicas
meeting the SLO (integers searched exactly, by bisection on the monotone step time and TTFT), so
the result is the minimum: one device fewer violates a constraint. Cost is the purchase price
where the registry has one, otherwise a rental price per device-hour: the user's
``cloud_price``, else the registry's published on-demand ``cloud_price``; carbon is the
operational emission of a year at TDP (wall 18; an upper bound: the registry has no idle-power
data).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ... import checks, registry, vocabulary
from ...display import ResultDisplay
from ...equations import walls
from ...defaults import default
from ...scenarios import serving_system
from .._core.inputs import check_tp, max_batched_tokens_magnitude, serving_inputs
from ...symbols import info
from ...system import System
from ...units import Q_, base_factor, quantity_json, to_base

__all__ = ["serve", "size_fleet", "ServeResult", "FleetResult"]

_TP_CHOICES = (1, 2, 4, 8)


@lru_cache(maxsize=1)
def _carbon_kernel():
    system = System.from_walls(walls.sustainability)
    return system.compile(["operational_carbon", "facility_energy", "water_consumption"])


def _b(name, value):
    return checks.magnitude(name, value)


#: outputs of the serving system read at a request rate
_LOAD_OUTPUTS = ("loaded_step_time", "running_batch", "loaded_prefill_chunk", "prefill_latency",
                 "loaded_ttft", "loaded_mean_ttft", "server_utilization", "saturation_rate",
                 "kv_saturation_rate", "token_saturation_rate", "fleet_capacity", "goodput",
                 "sequence_capacity", "sequence_slots", "engine_memory_footprint",
                 "achieved_flop_rate", "arrival_rate")


@lru_cache(maxsize=2)
def load_kernel(latent: bool = False):
    """The serving system compiled for its outputs at a request rate (``latent``: with
    multi-head latent attention)."""
    return serving_system(latent).compile(_LOAD_OUTPUTS)


def _fraction_input(name, value, default_name):
    if value is None:
        return _b(default_name, default(default_name))
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not (0 < float(value) <= 1):
        raise ValueError(f"{name} must be a fraction in (0, 1], got {value!r}")
    return float(value)


def load_inputs(m, hw, precision, *, tp, replicas, lam, n_in, n_out, efficiency=None,
                percentile=0.99, max_sequences=1e7, memory_reserve=None,
                max_batched_tokens=None, stack=None, weight_bits=None) -> dict:
    """Base-unit inputs of :func:`load_kernel` for a model, chip and load (scalars or arrays)."""
    values = serving_inputs(m, hw, precision, tp=tp, efficiency=efficiency, stack=stack,
                            weight_bits=weight_bits)
    values["max_batched_tokens"] = max_batched_tokens_magnitude(max_batched_tokens)
    values["memory_reserve"] = _fraction_input("memory_reserve", memory_reserve, "memory_reserve")
    values.update(max_running_sequences=max_sequences, request_rate=lam,
                  serving_replicas=replicas, prompt_length=_b("prompt_length", Q_(n_in, "token")),
                  output_length=_b("output_length", Q_(n_out, "token")),
                  latency_percentile=percentile)
    return values


def evaluate_load(values: dict):
    """Evaluate :func:`load_kernel` on :func:`load_inputs` (broadcast when any is an array)."""
    k = load_kernel(latent="kv_lora_rank" in values)   # an MLA model's inputs (serving_inputs)
    args = [values[n] for n in k.input_names]
    vectorised = any(isinstance(a, np.ndarray) for a in args)
    if vectorised:  # numpy broadcasts; the queue's Piecewise needs array conditions
        shape = np.broadcast(*[np.asarray(a) for a in args]).shape
        args = [a if isinstance(a, np.ndarray) and a.shape == shape
                else np.full(shape, a, dtype=float) if n in _BROADCAST else a
                for n, a in zip(k.input_names, args)]
    return k.lazy(args, vectorised)


#: inputs the kernel's Piecewise conditions need as full arrays (the others broadcast)
_BROADCAST = ("request_rate", "serving_replicas", "latency_percentile", "tensor_parallel")


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
    running_batch: float = None     # mean sequences in a step (Little's law)
    prefill_chunk: object = None    # mean prompt tokens a step carries
    prefill_latency: object = None  # the prompt's prefill spread over the steps
    memory_footprint: object = None  # per device, every slot at full context
    saturation: object = None       # requests/s one replica sustains

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
    v = checks.count(name, value, 1, 1e7)
    if isinstance(v, np.ndarray):
        raise checks.InputError(f"{name} must be a single whole number here")
    return v


def _scalar_count(name, value, high):
    v = checks.count(name, value, 1, high)
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
          cloud_price=None, uncertainty=False, memory_reserve=None, max_batched_tokens=None,
          stack=None, weight_bits=None) -> ServeResult:
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
        Cap on the sequences a replica runs at once (vLLM ``max_num_seqs``); default: as many
        as the KV cache holds at full context.
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
    memory_reserve : float, optional
        Share of each device's memory the engine may use (vLLM ``gpu_memory_utilization``;
        default 0.9).
    max_batched_tokens : int, optional
        Token budget per scheduler step (vLLM ``max_num_batched_tokens``; default 8192).
    stack : str, optional
        Serving engine whose calibrated per-step overhead applies (as in ``predict``).
    weight_bits : float, optional
        Storage bits per weight when they differ from ``precision`` (as in ``predict``).
    """
    if uncertainty:
        return _serve_with_bands(model, hardware, uncertainty, dict(
            qps=qps, input_tokens=input_tokens, output_tokens=output_tokens, replicas=replicas,
            tp=tp, batch=batch, percentile=percentile, precision=precision,
            datacenter=datacenter, efficiency=efficiency, cloud_price=cloud_price))
    m, hw = registry.model(model), registry.hardware(hardware)
    vocabulary.precision(precision)
    percentile = _check_percentile(percentile)
    lam = _check_rate(qps)
    n_in = _check_tokens("input_tokens", input_tokens)
    n_out = _check_tokens("output_tokens", output_tokens)
    replicas = int(_scalar_count("replicas", replicas, 1e7))
    tp = int(check_tp(_scalar_count("tp", tp, 1024), m, hw))
    notes = []
    cap = 1e7 if batch is None else int(_scalar_count("batch", batch, 1e6))
    values = load_inputs(m, hw, precision.lower(), tp=float(tp), replicas=float(replicas),
                         lam=lam, n_in=n_in, n_out=n_out, efficiency=efficiency,
                         percentile=percentile, max_sequences=float(cap),
                         memory_reserve=memory_reserve, max_batched_tokens=max_batched_tokens,
                         stack=stack, weight_bits=weight_bits)
    ev = evaluate_load(values)
    v = ev.value
    scalar = lambda x: float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=float)  # noqa: E731
    slots_v = v("sequence_slots")
    slots = int(slots_v) if np.ndim(slots_v) == 0 else np.asarray(slots_v).astype(int)
    if batch is None and np.ndim(slots_v) == 0:
        notes.append(f"batch = {slots}: the sequences whose KV caches fit at full context (paged)")
    fits = np.asarray(v("sequence_capacity")) >= 1
    stable = np.asarray(v("arrival_rate")) < np.asarray(v("saturation_rate"))
    binding = ev.binding("loaded_step_time")
    bottleneck = np.where(~fits, "Memory", np.where(~stable, "Tail latency", binding))
    bottleneck = str(bottleneck) if bottleneck.ndim == 0 else bottleneck
    feasible = fits & stable
    feasible = bool(feasible) if feasible.ndim == 0 else feasible

    def q(name, unstable_inf=True):
        x = ev.quantity(name)
        if unstable_inf:
            x = Q_(np.where(stable, x.magnitude, math.inf), x.units)
            x = Q_(float(x.magnitude), x.units) if np.ndim(x.magnitude) == 0 else x
        return x

    devices = replicas * tp
    return ServeResult(
        m, hw, replicas, tp, slots,
        ttft=q("loaded_ttft").to("ms"), ttft_mean=q("loaded_mean_ttft").to("ms"),
        time_per_output_token=q("loaded_step_time").to("ms"),
        throughput=q("goodput", False), capacity=q("fleet_capacity", False),
        utilization=scalar(v("server_utilization")),
        feasible=feasible, bottleneck=bottleneck, percentile=percentile,
        devices=devices, cost=_cost(hw, devices, cloud_price),
        carbon=_carbon(hw, devices, datacenter), notes=notes,
        running_batch=scalar(v("running_batch")), prefill_chunk=q("loaded_prefill_chunk"),
        prefill_latency=q("prefill_latency").to("ms"),
        memory_footprint=q("engine_memory_footprint", False),
        saturation=q("saturation_rate", False))


def _serve_with_bands(model, hardware, samples, kw):
    from ...defaults import variant_name
    from ...uncertainty import band_of, sample_parameters
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
    memory_footprint: object = None   # per device, every KV slot at full context
    running_batch: float = None       # mean sequences per step of a replica (Little's law)

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
    vocabulary.precision(precision)
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
    results = []
    for cand in cands:
        hw = registry.hardware(cand)
        if tp is not None:
            tps = tuple(check_tp(np.asarray(tp, dtype=float), m, hw) .astype(int))
        else:  # the default degrees that divide the heads and fit the node's scale-up domain
            tps = _valid_tps(m, hw) if hw.scale_up_bandwidth is not None else (1,)
        try:
            hw.peak_flops(precision)
        except ValueError as exc:
            results.append({"hardware": hw, "feasible": False, "reason": str(exc)})
            continue
        layouts = _least_replicas(m, hw, precision, tps, lam, n_in, n_out, efficiency,
                                  percentile, max_batch, ttft_slo, tpot_slo)
        good = [row for row in layouts if row["feasible"]]
        if not good:
            why = "; ".join(f"tp={int(t_)}: {row['reason']}" for t_, row in zip(tps, layouts))
            results.append({"hardware": hw, "feasible": False, "reason": why})
            continue
        row = min(good, key=lambda r: (r["devices"], r["tp"]))
        row["hardware"] = hw
        n_dev = row["devices"]
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
                       candidates=results,
                       memory_footprint=q("engine_memory_footprint", best["memory_footprint"]),
                       running_batch=best["running_batch"])


_R_MAX = 10**7


def _least_replicas(m, hw, precision, tps, lam, n_in, n_out, efficiency, p, max_batch,
                    ttft_slo, tpot_slo) -> list:
    """Least replicas of each tensor-parallel degree meeting the SLO: an exact integer search
    (every constraint is monotone in the replicas: fewer requests per replica never lengthen a
    step or a wait), vectorised over the degrees: a geometric bracket above the saturation
    bound, then every integer of the bracket (or a bisection when it is wide)."""
    tpa = np.asarray(tps, dtype=float)
    base = load_inputs(m, hw, precision, tp=tpa, replicas=np.ones_like(tpa), lam=lam, n_in=n_in,
                       n_out=n_out, efficiency=efficiency, percentile=p,
                       max_sequences=float(max_batch))

    def at(i, reps):
        """Evaluation and per-point success of degree i at an array of replica counts."""
        reps = np.asarray(reps, dtype=float)
        vals = {k: (v[i] if isinstance(v, np.ndarray) and v.shape == tpa.shape else v)
                for k, v in base.items()}
        ev = evaluate_load(dict(vals, serving_replicas=reps))
        v = lambda n: np.broadcast_to(np.asarray(ev.value(n), dtype=float), reps.shape)  # noqa
        with np.errstate(invalid="ignore"):
            stable = v("arrival_rate") < v("saturation_rate")
            tpot = stable & (v("loaded_step_time") <= tpot_slo)
            ttft = stable & (v("loaded_ttft") <= ttft_slo)
        return ev, stable, tpot, ttft

    ev0 = evaluate_load(base)
    capacity = np.broadcast_to(np.asarray(ev0.value("sequence_capacity")), tpa.shape)
    sat = np.broadcast_to(np.asarray(ev0.value("saturation_rate"), dtype=float), tpa.shape)
    offsets = np.unique(np.minimum(1 + 2 ** np.arange(0, 25), _R_MAX)).astype(float)
    rows = []
    for i, t in enumerate(tpa):
        if capacity[i] < 1:
            rows.append({"feasible": False, "reason": "no layout fits in memory"})
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = lam / sat[i] if sat[i] > 0 else np.inf
        lo = float(np.floor(bound)) if np.isfinite(bound) else float(_R_MAX)
        if lo >= _R_MAX:
            rows.append({"feasible": False, "reason": "saturated at any fleet size"})
            continue
        grid = np.minimum(lo + offsets - 1 + 1, _R_MAX)       # lo + 1, lo + 2, lo + 3, ...
        _, _, a, b = at(i, grid)
        good = np.nonzero(a & b)[0]
        if not good.size:
            _, _, a1, b1 = at(i, np.array([float(_R_MAX)]))
            reason = ("TPOT SLO unreachable at any load" if not a1[0] else
                      "TTFT SLO below the prefill time" if not b1[0] else "queue cannot meet TTFT")
            rows.append({"feasible": False, "reason": reason})
            continue
        j = good[0]
        low, hi = (lo if j == 0 else grid[j - 1]), grid[j]   # low fails, hi meets the SLO
        while hi - low > 1:
            if hi - low <= 65536:                            # every integer of the bracket
                cand = np.arange(low + 1, hi + 1)
                _, _, a, b = at(i, cand)
                hi = cand[np.nonzero(a & b)[0][0]]
                break
            mid = np.floor((low + hi) / 2)
            _, _, a, b = at(i, np.array([mid]))
            low, hi = (low, mid) if (a[0] and b[0]) else (mid, hi)
        ev, _, _, _ = at(i, np.array([hi]))
        v = lambda n: float(np.asarray(ev.value(n)).ravel()[0])  # noqa: E731
        reasons = []
        if hi > 1:
            ev_f, st_f, a_f, b_f = at(i, np.array([hi - 1]))
            if not st_f[0]:
                kv = np.asarray(ev_f.value("kv_saturation_rate")).ravel()[0]
                tok = np.asarray(ev_f.value("token_saturation_rate")).ravel()[0]
                reasons.append(f"Batching (saturation: {'KV slots' if kv <= tok else 'token budget'})")
            else:
                if not a_f[0]:
                    reasons.append("Serving (TPOT)")
                if not b_f[0]:
                    reasons.append("Tail latency (TTFT)")
        rows.append({"feasible": True, "devices": int(hi * t), "replicas": int(hi), "tp": int(t),
                     "batch": int(v("sequence_slots")), "decode": v("loaded_step_time"),
                     "ttft": v("loaded_ttft"), "rho": v("server_utilization"),
                     "running_batch": v("running_batch"),
                     "achieved_flop_rate": v("achieved_flop_rate"),
                     "memory_footprint": v("engine_memory_footprint"),
                     "bottleneck": " + ".join(reasons) if reasons
                     else "Compute/Memory (one replica suffices)"})
    return rows
