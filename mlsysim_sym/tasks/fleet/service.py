"""``serve()``: latency, capacity, cost and carbon of a serving fleet at a request rate.

A replica is a tensor-parallel group of ``tp`` chips (``tensor_parallel`` is a symbol: each rank
runs 1/tp of the work, holds 1/tp of the weights and KV cache, and two ring all-reduces per layer
cross the scale-up links). It serves with continuous batching and chunked prefill: at a request
rate lambda per replica the scheduler steps carry lambda n_in prompt and lambda n_out output
tokens per second, so the step time T* (= the mean time per output token), the running batch
B* = lambda n_out T* (Little's law) and the prompt chunk per step are one fixed point, solved in
closed form per roofline branch (:mod:`.load` evaluates it). Prefill work is charged to the same
compute roof as decode. The KV cache (a reserve of the device memory minus weights and the token
budget's workspace) holds B_slots sequences at full context; requests queue for a slot (M/M/c,
wall 7), and TTFT is the p-percentile wait plus the prompt's prefill spread over the steps that
carry its chunks. The replica saturates where the running batch fills the slots or a step's
tokens fill the budget. ``uncertainty=`` adds p10/p50/p90 bands over the calibrated spreads.
A prefix cache (``prefix_cache_hit_rate``) removes the cached share of each prompt's prefill
work; speculative decoding (``speculative``) makes each step a verification pass over
gamma + 1 positions per sequence plus gamma draft passes that yields E tokens, inside the same
fixed point (the time per output token is the step over E).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ... import registry, vocabulary
from ...units import Q_, quantity_json
from .._core.inputs import check_tp, latent_attention, sliding_window
from .._core.result import Result
from .costs import fleet_carbon, fleet_cost
from .load import check_load, evaluate_load, load_inputs, load_kernel, whole

__all__ = ["serve", "ServeResult"]


@dataclass
class ServeResult(Result):
    """A serving fleet's latency, capacity, cost and carbon (pint quantities)."""

    HEADLINE = ("ttft", "time_per_output_token", "throughput", "capacity", "devices")

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
    loaded_inputs: dict = field(default=None, repr=False)  # base magnitudes of the load kernel

    #: the load outputs explain() starts from (the serving system's default headline is the
    #: unloaded TTFT)
    EXPLAIN = ("loaded_ttft", "loaded_time_per_output_token", "fleet_capacity")

    def base_inputs(self) -> dict:
        """``{input name: base-unit magnitude}`` of the load kernel's inputs."""
        return dict(self.loaded_inputs or {})

    def __repr__(self):
        return (f"ServeResult({self.model.name} on {self.replicas} x {self.tp} {self.hardware.name}, "
                f"batch {self.batch}: p{self.percentile * 100:g} TTFT {self.ttft:.4g~P}, TPOT "
                f"{self.time_per_output_token:.4g~P}, rho {self.utilization:.3g}, "
                f"feasible={self.feasible}, bottleneck={self.bottleneck})")

    @property
    def system(self):
        """The composed system the fleet was evaluated with (the serving system at a load)."""
        return load_kernel(latent_attention(self.model), sliding_window(self.model)).system

    def _reason(self) -> str:
        """Why a scalar fleet is infeasible, in words (the headline prints it)."""
        if self.bottleneck == "Memory":
            return (f"memory: not one sequence's KV cache at full context fits beside the "
                    f"weights on {self.tp} x {self.hardware.name} (engine footprint "
                    f"{self.memory_footprint.to('GB'):.4g~P}; try more tp, a lower precision or "
                    "shorter requests)")
        return (f"tail latency: the request rate reaches the saturation rate of "
                f"{self.saturation:.4g~P} per replica, so the queue grows without bound (add "
                "replicas or lower qps)")

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
        if self.feasible is False:
            d["reason"] = self._reason()
        if self.bands:
            d["bands"] = {k: b.to_dict() for k, b in self.bands.items()}
        return d


def serve(model, hardware, *, qps, input_tokens, output_tokens, replicas=1, tp=1, batch=None,
          percentile=0.99, precision="fp16", datacenter=None, efficiency=None,
          cloud_price=None, uncertainty=False, memory_reserve=None, max_batched_tokens=None,
          stack=None, weight_bits=None, prefill_replicas=None, decode_replicas=None,
          kv_transfer_bandwidth=None, prefix_cache_hit_rate=0.0, speculative=None,
          attention_dp=False):
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
        token and capacity (requests/s the fleet sustains), over the calibrated efficiencies'
        spreads and the model's residual inference error (``True``: 500 draws, one by one).
    memory_reserve : float, optional
        Share of each device's memory the engine may use (vLLM ``gpu_memory_utilization``;
        default 0.9).
    max_batched_tokens : int, optional
        Token budget per scheduler step (vLLM ``max_num_batched_tokens``; default 8192).
    stack : str, optional
        Serving engine whose calibrated per-step overhead applies (as in ``predict``).
    weight_bits : float, optional
        Storage bits per weight when they differ from ``precision`` (as in ``predict``).
    prefill_replicas, decode_replicas : int, optional
        Disaggregated serving (DistServe, Splitwise): prompts run on ``prefill_replicas`` and
        decode steps on ``decode_replicas`` groups of ``tp`` chips (give both, not
        ``replicas``); returns a :class:`~.disaggregated.DisaggregatedResult` (TTFT = wait +
        prefill + KV transfer; TPOT of decode-only steps).
    kv_transfer_bandwidth : quantity, optional
        Link rate each device sends its share of a prompt's KV cache over (disaggregated only;
        default: the chip's scale-out NIC from the registry).
    prefix_cache_hit_rate : float
        Share h in [0, 1) of each prompt found in the prefix cache (vLLM automatic prefix
        caching, SGLang RadixAttention): only (1 - h) of the prompt is prefilled; the KV cache
        a sequence holds is unchanged. Default 0. Co-located serving only.
    speculative : dict, optional
        ``{"draft": "llama-3.2-1b" or a cost ratio in (0, 1], "tokens": gamma, "acceptance":
        alpha}`` (as in ``predict``): each scheduler step verifies gamma drafted tokens per
        sequence and runs gamma draft passes, within the continuous-batching fixed point, so the
        speed-up shrinks (and turns into a slow-down) as the load grows the running batch.
        Co-located serving only.
    attention_dp : bool
        Attention data parallelism inside the ``tp`` group (TensorRT-LLM
        ``enable_attention_dp``): each chip runs the attention of its own requests and keeps
        every weight but an MoE's routed experts whole, so each chip holds more weight bytes
        (less room for KV cache) and reads them every step, while its KV cache holds every KV
        head of its own requests only (no KV-head replication when ``tp`` exceeds the KV
        heads). Default False. Co-located serving only.

    Returns
    -------
    ServeResult, or DisaggregatedResult when the pools are given.
    """
    if prefill_replicas is not None or decode_replicas is not None \
            or kv_transfer_bandwidth is not None:
        if speculative is not None or prefix_cache_hit_rate != 0 or attention_dp:
            raise ValueError("speculative decoding, prefix caching and attention_dp are "
                             "modelled for co-located serving; disaggregated serving "
                             "(prefill_replicas, decode_replicas) does not take them")
        return _disaggregated(model, hardware, replicas, uncertainty, dict(
            qps=qps, input_tokens=input_tokens, output_tokens=output_tokens,
            prefill_replicas=prefill_replicas, decode_replicas=decode_replicas, tp=tp,
            batch=batch, percentile=percentile, precision=precision, datacenter=datacenter,
            efficiency=efficiency, cloud_price=cloud_price, memory_reserve=memory_reserve,
            max_batched_tokens=max_batched_tokens, stack=stack, weight_bits=weight_bits,
            kv_transfer_bandwidth=kv_transfer_bandwidth))
    if uncertainty:
        return _serve_with_bands(model, hardware, uncertainty, dict(
            qps=qps, input_tokens=input_tokens, output_tokens=output_tokens, replicas=replicas,
            tp=tp, batch=batch, percentile=percentile, precision=precision,
            datacenter=datacenter, efficiency=efficiency, cloud_price=cloud_price,
            memory_reserve=memory_reserve, max_batched_tokens=max_batched_tokens, stack=stack,
            weight_bits=weight_bits, prefix_cache_hit_rate=prefix_cache_hit_rate,
            speculative=speculative, attention_dp=attention_dp))
    m, hw = registry.model(model), registry.hardware(hardware)
    vocabulary.precision(precision)
    percentile, lam, n_in, n_out = check_load(qps, input_tokens, output_tokens, percentile)
    replicas = int(whole("replicas", replicas, 1e7))
    tp = int(check_tp(whole("tp", tp, 1024), m, hw))
    cap = 1e7 if batch is None else int(whole("batch", batch, 1e6))
    values = load_inputs(
        m, hw, precision.lower(), tp=float(tp), replicas=float(replicas), lam=lam, n_in=n_in,
        n_out=n_out, efficiency=efficiency, percentile=percentile, max_sequences=float(cap),
        memory_reserve=memory_reserve, max_batched_tokens=max_batched_tokens, stack=stack,
        weight_bits=weight_bits, prefix_cache_hit_rate=prefix_cache_hit_rate,
        speculative=speculative, attention_dp=attention_dp)
    ev = evaluate_load(values)
    devices = replicas * tp
    r = _result(ev, m, hw, replicas, tp, percentile, slots_note=batch is None,
                cost=fleet_cost(hw, devices, cloud_price),
                carbon=fleet_carbon(hw, devices, datacenter))
    r.loaded_inputs = values
    return r


def _disaggregated(model, hardware, replicas, uncertainty, kw):
    """``serve`` of a disaggregated split (:mod:`.disaggregated`), after refusing what does not
    apply to it."""
    from .disaggregated import serve_disaggregated
    if kw["prefill_replicas"] is None or kw["decode_replicas"] is None:
        raise ValueError("disaggregated serving needs both prefill_replicas and decode_replicas "
                         "(kv_transfer_bandwidth only applies to them)")
    if replicas != 1:
        raise ValueError("replicas is the co-located fleet: with prefill_replicas and "
                         "decode_replicas give only those")
    if uncertainty:
        raise ValueError("uncertainty bands are not available for disaggregated serving")
    return serve_disaggregated(model, hardware, **kw)


def _result(ev, m, hw, replicas, tp, percentile, *, slots_note, cost, carbon) -> ServeResult:
    """The :class:`ServeResult` of one evaluation of the load kernel."""
    v = ev.value
    scalar = lambda x: float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=float)  # noqa: E731
    slots_v = v("sequence_slots")
    slots = int(slots_v) if np.ndim(slots_v) == 0 else np.asarray(slots_v).astype(int)
    notes = []
    if slots_note and np.ndim(slots_v) == 0:
        notes.append(f"batch = {slots}: the sequences whose KV caches fit at full context (paged)")
    per_step = v("speculative_tokens_per_pass")
    if np.ndim(per_step) == 0 and per_step != 1.0:
        notes.append(f"speculative decoding: {float(per_step):.3g} tokens per sequence per step "
                     "(one verification pass and the draft passes)")
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

    return ServeResult(
        m, hw, replicas, tp, slots,
        ttft=q("loaded_ttft").to("ms"), ttft_mean=q("loaded_mean_ttft").to("ms"),
        time_per_output_token=q("loaded_time_per_output_token").to("ms"),
        throughput=q("goodput", False), capacity=q("fleet_capacity", False),
        utilization=scalar(v("server_utilization")),
        feasible=feasible, bottleneck=bottleneck, percentile=percentile,
        devices=replicas * tp, cost=cost, carbon=carbon, notes=notes,
        running_batch=scalar(v("running_batch")), prefill_chunk=q("loaded_prefill_chunk"),
        prefill_latency=q("prefill_latency").to("ms"),
        memory_footprint=q("engine_memory_footprint", False),
        saturation=q("saturation_rate", False))


def _serve_with_bands(model, hardware, samples, kw):
    """``serve`` with p10/p50/p90 bands of TTFT, TPOT and capacity over the calibrated
    efficiencies' spreads (one ``serve`` per draw, at the central result's batch)."""
    from ...defaults import VariantKey
    from ...analysis.uncertainty import band_of, sample_parameters
    r = serve(model, hardware, **kw)
    n = 500 if samples is True else samples
    given = kw.get("efficiency")
    given = given if isinstance(given, dict) else ({} if given is None else
                                                    {"compute": given, "memory": given})
    names = {}
    # the entries the point run resolved (the stack's own overhead when it has one)
    vkey = VariantKey.for_chip(r.hardware, kw["precision"].lower(), "serve", stack=kw["stack"])
    for key, sym, unit, rng in (("compute", "compute_efficiency", "", (0.0, 1.0)),
                                ("memory", "memory_efficiency", "", (0.0, 1.0)),
                                ("fixed_overhead", "fixed_overhead", "ms", (0.0, 1e4))):
        if key not in given:
            names[key] = (vkey.name(sym), unit or "dimensionless", rng)
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
    # the calibrated discrepancy of serving under load (the serve_load / max_load rows),
    # around the prediction
    point = {"ttft": (r.ttft.to("ms").magnitude, "ms"),
             "time_per_output_token": (r.time_per_output_token.to("ms").magnitude, "ms"),
             "capacity": (r.capacity.to("request/s").magnitude, "request/s")}
    r.bands = {k: band_of(v, point[k][1], "inference", point=point[k][0], regime="load",
                          vendor=r.hardware.vendor)
               for k, v in out.items()}
    return r
