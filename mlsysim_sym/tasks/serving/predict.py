"""Task-level facade: ``predict`` a model on a chip (walls 1, 2 and 4 composed).

The composed serving system is built and compiled once per process; a call converts its knobs to
base-unit magnitudes (cached per model, chip and precision), runs the compiled kernel (scalars or
numpy arrays, broadcast together) and returns a :class:`Prediction` whose attributes are pint
quantities created lazily on access.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from ... import checks, registry
from ... import vocabulary
from ...defaults import VariantKey, default, resolve, variant_name
from ...display import ResultDisplay
from ...equations import walls
from ...symbols import info
from ...system import System
from ...feasibility import memory_reason
from ...units import Q_, base_factor
from .._core import inputs as _in, knobs
from .._core.inputs import check_tp, scale_up_domain, serving_inputs, tp_magnitudes  # noqa: F401  (public here for one release)
from .._core.inputs import max_batched_tokens_magnitude  # noqa: F401
from .._core.knobs import serving_defaults  # noqa: F401

__all__ = ["predict", "Prediction", "PRECISION_BITS", "serving_system"]

# Storage width of one element at each precision (mlsysim_sym.vocabulary: definitions of the
# formats, not measurements); kept here as the public name it has been
PRECISION_BITS = vocabulary.PRECISION_BITS

_OUTPUTS = ("ttft", "time_per_output_token", "memory_footprint", "kv_cache_bytes", "weight_bytes",
            "activation_bytes", "memory_utilization", "decode_throughput", "prefill_throughput",
            "prefill_flops", "decode_flops", "prefill_bytes", "decode_bytes",
            "prefill_compute_time", "decode_compute_time", "decode_memory_time",
            "tp_prefill_comm_time", "tp_decode_comm_time")
_SLOT = {name: i for i, name in enumerate(_in.SERVING_INPUTS)}
_EFF_SLICE = slice(_SLOT["compute_efficiency"], _SLOT["fixed_overhead"] + 1)


def _records(latent, *records):
    """The records, with the MLA record's attention quantities in wall 4 when ``latent``."""
    from ...equations import mla
    return mla.latent_attention(*records) if latent else records


@lru_cache(maxsize=2)
def serving_system(latent: bool = False) -> System:
    """The one serving system: walls 1 (Compute), 2 (Memory), 4 (Serving), 7 (Tail latency)
    and the continuous-batching record composed. ``predict`` reads its per-step outputs,
    ``serve``, ``size_fleet`` and the calibration cases its outputs at a request rate.
    ``latent=True``: with multi-head latent attention (the MLA record defines wall 4's KV cache
    width and attention widths)."""
    from ...equations import workloads
    return System.from_walls(*_records(latent, walls.compute, walls.memory, walls.serving,
                                       walls.tail_latency, workloads.continuous_batching),
                             name="serving (MLA)" if latent else "serving")


@lru_cache(maxsize=2)
def moe_serving_system(latent: bool = False) -> System:
    """Walls 1, 2, 4 plus the MoE workload record (total vs active params, experts touched);
    ``latent=True``: with multi-head latent attention (the MLA record)."""
    from ...equations import workloads
    return System.from_walls(*_records(latent, walls.compute, walls.memory, walls.serving,
                                       workloads.moe),
                             name="serving (MoE, MLA)" if latent else "serving (MoE)")


@lru_cache(maxsize=2)
def _kernel(latent: bool = False):
    return serving_system(latent).compile(_OUTPUTS, _in.with_model(_in.SERVING_INPUTS, latent))


# MoE path: parameters / active parameters are outputs of the MoE record, computed from the
# expert structure; decode reads only the experts a batch touches.
_MOE_STRUCTURE = ("moe_dense_parameters", "moe_expert_parameters", "moe_experts",
                  "experts_per_token", "moe_shared_experts", "moe_layers")
_MOE_EXTRA = ("moe_routing_imbalance", "expert_parallel", "link_bandwidth", "link_latency",
              "communication_efficiency")
_MOE_INPUTS = (_in.MODEL_INPUTS[2:] + _MOE_STRUCTURE + _in.HARDWARE_INPUTS + _in.PRECISION_INPUTS
               + _in.EFFICIENCY_INPUTS + _in.KNOB_INPUTS + _MOE_EXTRA + _in.TP_INPUTS
               + ("unoverlapped_fraction",) + _in.STEP_INPUTS)
_MOE_ALIAS = {"ttft": "moe_ttft", "time_per_output_token": "moe_time_per_output_token",
              "decode_throughput": "moe_decode_throughput", "decode_bytes": "moe_decode_bytes",
              "prefill_bytes": "moe_prefill_bytes",
              "prefill_compute_time": "moe_prefill_compute_time",
              "decode_compute_time": "moe_decode_compute_time",
              "decode_memory_time": "moe_decode_memory_time"}
_MOE_OUTPUTS = tuple(_MOE_ALIAS.get(n, n) for n in _OUTPUTS if n != "prefill_throughput") + (
    "parameters", "active_parameters", "moe_decode_experts_touched")


@lru_cache(maxsize=2)
def _moe_kernel(latent: bool = False):
    return moe_serving_system(latent).compile(_MOE_OUTPUTS, _in.with_model(_MOE_INPUTS, latent))


def _moe_magnitudes(model, hardware) -> tuple:
    from ..workloads import moe_inputs, workload_default
    structure = moe_inputs(model)
    # Expert parallelism is a fleet decision (training/fleet sizing); predict() runs one device,
    # so the all-to-all term is identically zero and the link values only need to be finite.
    link_bw = hardware.scale_up_bandwidth or Q_(info("link_bandwidth").bounds[1], info("link_bandwidth").unit)
    link_lat = hardware.scale_up_latency or Q_(info("link_latency").bounds[0] or 1, info("link_latency").unit)
    values = dict(structure, moe_routing_imbalance=workload_default("moe_routing_imbalance"),
                  expert_parallel=1, link_bandwidth=link_bw, link_latency=link_lat,
                  communication_efficiency=default("communication_efficiency"))
    return (tuple(knobs.magnitude(k, values[k]) for k in _MOE_STRUCTURE),
            tuple(knobs.magnitude(k, values[k]) for k in _MOE_EXTRA))


#: per-token figures of a prediction: wall 3's serving MFU and wall 18's energy per token
_PER_TOKEN = {"decode": ("decode_flops_utilization", "energy_per_output_token"),
              "prefill": ("prefill_flops_utilization", "energy_per_prompt_token")}


@lru_cache(maxsize=1)
def per_token_system() -> System:
    """Serving MFU (wall 3) and energy per token (wall 18), from a prediction's outputs."""
    names = {n for pair in _PER_TOKEN.values() for n in pair}
    eqs = [eq for w in (walls.software, walls.sustainability) for eq in w.equations
           if eq.lhs.name in names]
    return System(eqs, walls=(walls.software, walls.sustainability), name="serving per token")


class Prediction(ResultDisplay):
    """Result of :func:`predict`; every attribute is a pint quantity (or bool / str)."""

    __slots__ = ("_ev", "phase", "model", "hardware", "precision", "_inputs", "_cache", "_alias",
                 "bands", "_defaults_key")

    def __init__(self, evaluation, phase, model, hardware, precision, inputs, alias=None):
        self._ev = evaluation
        self.phase = phase
        self.model = model
        self.hardware = hardware
        self.precision = precision
        self._inputs = inputs
        self._cache = {}
        self._alias = alias or {}
        self.bands = None  # {output: Band} with predict(..., uncertainty=True)
        self._defaults_key = (None, None)  # (stack, efficiency given): see defaults_used()

    def _q(self, name):
        q = self._cache.get(name)
        if q is None:
            if name == "prefill_throughput" and self._alias:
                q = (Q_(np.asarray(self._inputs["prompt_length"]) * self._inputs["batch"], "token")
                     / self._q("ttft")).to("token/s")
            else:
                q = self._ev.quantity(self._alias.get(name, name))
            self._cache[name] = q
        return q

    ttft = property(lambda self: self._q("ttft"), doc="time to first token (prefill pass)")
    time_per_output_token = property(lambda self: self._q("time_per_output_token"),
                                     doc="time per output token (one decode step)")
    memory_footprint = property(lambda self: self._q("memory_footprint"))
    kv_cache = property(lambda self: self._q("kv_cache_bytes"))
    weights = property(lambda self: self._q("weight_bytes"))
    activations = property(lambda self: self._q("activation_bytes"))
    memory_utilization = property(lambda self: self._q("memory_utilization"))
    prefill_flops = property(lambda self: self._q("prefill_flops"))
    decode_bytes_read = property(lambda self: self._q("decode_bytes"),
                                 doc="bytes one decode step moves (weights touched + KV cache)")

    @property
    def parameters(self):
        """Total weights (MoE: all experts)."""
        return self._ev.quantity("parameters") if self._alias else self.model.parameters

    @property
    def active_parameters(self):
        """Weights touched per token (MoE: shared + top-k experts)."""
        return (self._ev.quantity("active_parameters") if self._alias
                else self.model.active_parameters)
    decode_flops = property(lambda self: self._q("decode_flops"))

    @property
    def memory_capacity(self):
        return Q_(self._inputs["memory_capacity"] / base_factor("GB"), "GB")

    @property
    def latency(self):
        """TTFT for the prefill phase, time per output token for decode."""
        return self.ttft if self.phase == "prefill" else self.time_per_output_token

    @property
    def throughput(self):
        """Prompt tokens/s (prefill) or output tokens/s of the whole batch (decode)."""
        return self._q("prefill_throughput" if self.phase == "prefill" else "decode_throughput")

    @property
    def feasible(self):
        u = self._ev.value("memory_utilization")
        return bool(u <= 1.0) if np.ndim(u) == 0 else np.asarray(u) <= 1.0

    @property
    def bottleneck(self):
        """Binding wall: "Compute" or "Memory" (bandwidth), or "Memory" when it does not fit."""
        owner = "ttft" if self.phase == "prefill" else "time_per_output_token"
        bind = self._ev.binding(self._alias.get(owner, owner))
        feas = self.feasible
        if np.ndim(bind) == 0 and np.ndim(feas) == 0:
            return bind if feas else "Memory"
        bind, feas = np.broadcast_arrays(np.asarray(bind, dtype=object), np.asarray(feas))
        return np.where(feas, bind, "Memory")

    @property
    def reason(self):
        """One line: what does not fit in memory and by how much, or how much a fitting
        configuration uses (an array of lines for a sweep)."""
        t = np.asarray(self._inputs["tensor_parallel"])  # the footprint is per device
        weights, kv = self._q("weight_bytes") / t, self._q("kv_cache_bytes") / t
        parts = {"weights": weights, "KV cache": kv,
                 "activations and workspace": self.memory_footprint - weights - kv}
        return memory_reason(self.memory_footprint, self.memory_capacity, parts=parts)

    @property
    def bottleneck_detail(self) -> str:
        if np.ndim(self.feasible) == 0 and not self.feasible:
            return (f"does not fit: footprint {self.memory_footprint.to('GB'):.4g~P} exceeds "
                    f"capacity {self.memory_capacity:.4g~P}")
        b = self.bottleneck
        if np.ndim(b):
            return "vectorised: see .bottleneck per point"
        kind = {"Compute": "compute-bound", "Memory": "memory-bandwidth-bound"}.get(
            b, f"{b.lower()}-bound")
        return f"{self.phase} is {kind}"

    def _per_token(self, name):
        q = self._cache.get(name)
        if q is None:
            inputs = self.inputs()
            values = {n: self._q(n) for n in ("decode_flops", "time_per_output_token",
                                              "prefill_flops", "ttft", "decode_throughput",
                                              "prefill_throughput")}
            values.update(peak_flops=inputs["peak_flops"],
                          tensor_parallel=inputs["tensor_parallel"])
            if self.hardware.tdp is not None:
                values["device_power"] = self.hardware.tdp
            q = per_token_system().evaluate(name, values)[name]
            self._cache[name] = q
        return q

    @property
    def mfu(self):
        """Model FLOPs utilisation of the phase: its model FLOPs over what the chips' peak
        (all ``tp`` of them) does in its time (wall 3, PaLM App. B's definition)."""
        return self._per_token(_PER_TOKEN[self.phase][0])

    @property
    def energy_per_token(self):
        """Energy of the ``tp`` chips per output token (decode) or prompt token (prefill) at
        their TDP, an upper bound (wall 18); None when the registry has no TDP for the chip."""
        if self.hardware.tdp is None:
            return None
        return self._per_token(_PER_TOKEN[self.phase][1])

    def outputs(self) -> dict:
        """Every output as a quantity, plus bottleneck and feasible."""
        out = {n: self._q(n) for n in _OUTPUTS}
        if self._alias:
            for n in ("parameters", "active_parameters", "moe_decode_experts_touched"):
                out[n] = self._ev.quantity(n)
        out["latency"], out["throughput"] = self.latency, self.throughput
        out["mfu"] = self.mfu
        if self.hardware.tdp is not None:
            out["energy_per_token"] = self.energy_per_token
        return out

    def to_dict(self) -> dict:
        """JSON-ready dict: every output as {"value", "unit"}, plus bottleneck and feasible."""
        def enc(q):
            m = q.magnitude
            return {"value": m.tolist() if isinstance(m, np.ndarray) else float(m),
                    "unit": f"{q.units:~P}"}
        d = {k: enc(v) for k, v in self.outputs().items()}
        d["kv_cache"] = d["kv_cache_bytes"]
        d["memory_capacity"] = enc(self.memory_capacity)
        b, f = self.bottleneck, self.feasible
        d["bottleneck"] = b.tolist() if isinstance(b, np.ndarray) else b
        d["feasible"] = f.tolist() if isinstance(f, np.ndarray) else bool(f)
        why = self.reason
        d["reason"] = why.tolist() if isinstance(why, np.ndarray) else why
        d["phase"], d["precision"] = self.phase, self.precision
        d["model"], d["hardware"] = self.model.name, self.hardware.name
        if self.bands:
            d["bands"] = {k: band.to_dict() for k, band in self.bands.items()}
        return d

    @classmethod
    def json_schema(cls) -> dict:
        """JSON Schema (draft 2020-12) of :meth:`to_dict`'s output."""
        from ...export import result_schema
        return result_schema("Prediction", _OUTPUTS + ("latency", "throughput", "kv_cache",
                                                       "memory_capacity"),
                             labels=("bottleneck", "reason"), flags=("feasible",),
                             strings=("phase", "precision", "model", "hardware"))

    def inputs(self) -> dict:
        """The inputs used, as quantities in each symbol's declared unit."""
        return {k: Q_(np.asarray(v) / base_factor(info(k).unit) if isinstance(v, np.ndarray)
                      else v / base_factor(info(k).unit), info(k).unit)
                for k, v in self._inputs.items()}

    @property
    def system(self):
        """The composed system this prediction was computed with."""
        latent = "kv_lora_rank" in self._inputs
        return moe_serving_system(latent) if self._alias else serving_system(latent)

    def registry_fields(self) -> list:
        """(registry object, field path) of every registry value this prediction used."""
        used_precision, _note = self.hardware.resolve_precision(self.precision) \
            if hasattr(self.hardware, "resolve_precision") else (self.precision, None)
        rows = [(self.hardware, f"peak.{used_precision}"), (self.hardware, "memory.0.bandwidth"),
                (self.hardware, "memory.0.capacity")]
        if getattr(self.hardware, "tdp", None) is not None:
            rows.append((self.hardware, "tdp"))  # energy_per_token
        attention = (("attention", *("architecture.mla." + d for d in _in.MLA_DIMS))
                     if _in.latent_attention(self.model) else ("kv_heads", "head_dim"))
        rows += [(self.model, f) for f in ("layers", "hidden", "heads", *attention, "ffn",
                                            "vocab")]
        return rows

    def defaults_used(self) -> dict:
        """``{symbol: defaults.Resolved}``: each calibrated default this prediction used, the
        entry it came from (``compute_efficiency[serve-hopper]``) and how it was fitted."""
        stack, efficiency = self._defaults_key
        return knobs.serving_defaults(self.hardware, self.precision, stack, efficiency)

    def cite(self) -> str:
        """BibTeX of every source this prediction depended on."""
        from ...analysis.citations import cite
        return cite(self)

    def explain(self) -> str:
        """The equations used, with the numbers substituted."""
        from ...analysis.explain import explain_prediction
        return explain_prediction(self)

    def __repr__(self):
        if self._ev.vectorised:
            return f"Prediction({self.model.name} on {self.hardware.name}, vectorised)"
        return (f"Prediction({self.model.name} on {self.hardware.name}, {self.phase}: "
                f"latency={self.latency:.4g~P}, throughput={self.throughput:.4g~P}, "
                f"memory={self.memory_footprint:.4g~P}, feasible={self.feasible}, "
                f"bottleneck={self.bottleneck})")


def predict(model, hardware, *, batch=1, seq_len=2048, precision=None, phase="decode",
            efficiency=None, tp=1, weight_bits=None, stack=None, uncertainty=False,
            prefill_tokens=0, prompt_len=None, max_batched_tokens=None, **options):
    """Predict serving latency, throughput and memory of ``model`` on one ``hardware`` chip.

    Parameters
    ----------
    model : str or Model
        Registry name (case-insensitive, aliases allowed) or a Model object.
    hardware : str or Hardware
        Registry name or a Hardware object.
    batch : int or array of int
        Sequences per batch [1, 1e6].
    seq_len : int or array of int
        Prompt length for prefill, KV-cache context length for decode [token].
    precision : str, optional
        Storage and compute precision of weights, KV cache and activations
        (fp32, tf32, bf16, fp16, fp8, int8, fp4, int4). Default: fp16, except TinyML models,
        which default to their deployment precision (int8).
    phase : {"decode", "prefill"}
        Which phase ``latency`` and ``throughput`` refer to (both are always computed).
    efficiency : float or dict, optional
        One achieved fraction of peak for compute and memory, or
        ``{"compute": .., "memory": .., "fixed_overhead": "0.5 ms", "communication": ..,
        "scale_up_latency": "5 us", "unoverlapped": ..}`` (quantities, quantity strings or
        numbers in the declared unit: ms for ``fixed_overhead``, us for ``scale_up_latency``);
        defaults from ``defaults.yaml``
        (calibrated, with provenance; per hardware generation where fitted). ``unoverlapped``
        is the share phi of the shorter of compute and memory time not hidden behind the longer
        (step = max + phi min; 0 gives the classic roofline).
    tp : int or array of int
        Tensor-parallel degree (a symbol of the system, so sensitivities see it): each of the
        ``tp`` chips runs 1/tp of the FLOPs and bytes and holds 1/tp of the weights and KV cache
        (KV heads replicated when tp exceeds them), plus two ring all-reduces per layer over the
        scale-up links. ``memory_footprint`` is per chip. It must divide the attention heads
        and fit in the chip's scale-up domain (8 on an HGX/DGX node, 72 on a GB200 NVL72) where
        the registry records one.
    prefill_tokens : int or array
        Prompt tokens a decode step also carries (chunked prefill; 0: a pure decode step).
    prompt_len : int or array, optional
        Prompt length of the requests whose chunk a decode step carries (their attention
        span; it also sets the prefill phase's prompt); default ``seq_len``.
    max_batched_tokens : int, optional
        The engine's token budget per step (vLLM ``max_num_batched_tokens``): it bounds the
        activation workspace; default ``defaults.yaml`` (8192).
    weight_bits : float, optional
        Storage bits per weight when they differ from ``precision`` (block-quantized formats:
        4 bits plus a 16-bit scale per 32 weights is 4.5, llama.cpp's Q4_0); compute stays at
        ``precision``.
    stack : str, optional
        The serving engine (``trt_llm``, ``vllm``, ``nim``, ``llama.cpp``, ...): its calibrated
        per-step overhead (``fixed_overhead[stack]``); default: the pooled value.
    uncertainty : bool or int
        Also compute p10/p50/p90 bands (``result.bands``: output -> Band) of the latencies and
        throughput by Monte Carlo over the calibrated parameters' spreads and the model's
        residual error (``True``: 2000 draws, or the number of draws); scalar knobs only.
    **options
        Family-specific knobs passed through: ``steps`` for diffusion models.

    Returns
    -------
    Prediction
        ``latency``, ``throughput``, ``ttft``, ``time_per_output_token``, ``memory_footprint``,
        ``kv_cache``, ``feasible``, ``bottleneck``; arrays when any knob is an array. Decoder
        LLMs (dense and MoE) use walls 1, 2, 4 (+ the MoE record); diffusion, TinyML, CNN, ViT
        and encoder models dispatch to :mod:`mlsysim_sym.tasks.workloads` and return its
        result objects (``latency``, ``throughput``, ``memory_footprint``, ``feasible``,
        ``bottleneck``).
    """
    if uncertainty:
        return _with_bands(model, hardware, uncertainty, dict(
            batch=batch, seq_len=seq_len, precision=precision, phase=phase,
            efficiency=efficiency, tp=tp, weight_bits=weight_bits, stack=stack,
            prefill_tokens=prefill_tokens, prompt_len=prompt_len,
            max_batched_tokens=max_batched_tokens, **options))
    m = registry.model(model)
    family = getattr(m, "family", "decoder")
    if family not in ("decoder", "moe"):
        if family == "ssm":  # the transformer-only knobs would be silently ignored
            given = [k for k, v in (("tp", tp != 1 if np.ndim(tp) == 0 else True),
                                    ("weight_bits", weight_bits is not None),
                                    ("prefill_tokens", np.any(prefill_tokens != 0)),
                                    ("prompt_len", prompt_len is not None),
                                    ("max_batched_tokens", max_batched_tokens is not None)) if v]
            if given:
                raise ValueError(f"{', '.join(given)} {'does' if len(given) == 1 else 'do'} not "
                                 f"apply to {m.name}, a state-space "
                                 "(ssm) model; it takes batch, seq_len, precision, phase, "
                                 "efficiency, stack")
        return _dispatch_workload(m, hardware, family, batch=batch, seq_len=seq_len,
                                  precision=precision, efficiency=efficiency, options=options,
                                  stack=stack, phase=phase)
    if options:
        raise ValueError(f"unknown options {sorted(options)} for a {family} model; predict() "
                         "takes batch, seq_len, precision, phase, efficiency")
    if precision is None:
        precision = "fp16"
    if phase not in ("decode", "prefill"):
        raise ValueError(f"phase must be 'decode' or 'prefill', got {phase!r}")
    precision = vocabulary.precision(precision).name
    hw = registry.hardware(hardware)
    lo_b, hi_b = info("batch").bounds
    lo_s, hi_s = info("context_length").bounds
    b = checks.count("batch", batch, lo_b, hi_b)
    s = checks.count("seq_len", seq_len, lo_s, hi_s)
    sp = s if prompt_len is None else checks.count("prompt_len", prompt_len, lo_s, hi_s)
    t = _in.check_tp(checks.count("tp", tp, 1, 4096), m, hw)
    eff = knobs.efficiency_magnitudes(efficiency, hw, precision, knobs.check_stack(stack))
    comm = knobs.communication(efficiency)
    phi = knobs.unoverlapped(efficiency)
    latency = efficiency.get("scale_up_latency") if isinstance(efficiency, dict) else None
    vectorised = (isinstance(b, np.ndarray) or isinstance(s, np.ndarray)
                  or isinstance(sp, np.ndarray)
                  or isinstance(t, np.ndarray) or isinstance(comm, np.ndarray)
                  or isinstance(phi, np.ndarray)
                  or (efficiency is not None and any(isinstance(a, np.ndarray) for a in eff)))
    prec = _in.precision_magnitudes(precision)
    if weight_bits is not None:
        bits = checks.number("weight_bits", weight_bits, low=0.5, high=64, unit="bit")
        if isinstance(bits, np.ndarray):
            raise checks.InputError("weight_bits must be one number of bits between 0.5 and 64")
        prec = (knobs.magnitude("bytes_per_parameter", Q_(bits, "bit/param")),) + prec[1:]
    roofs = _in.cached(_in.hardware_magnitudes, hw, precision)
    step = _in.step_magnitudes(prefill_tokens, max_batched_tokens)
    vectorised = vectorised or any(isinstance(a, np.ndarray) for a in step)
    tpv = _in.tp_magnitudes(hw, t)
    if latency is not None:
        lat = checks.quantity("scale_up_latency", latency, "us", low=0.0)
        tpv = tpv[:2] + (lat,)
        vectorised = vectorised or isinstance(lat, np.ndarray)
    if vectorised:
        checks.sweep_shape(("batch", b), ("seq_len", s), ("tp", t), ("efficiency", eff[0]),
                           ("memory efficiency", eff[1]), ("fixed_overhead", eff[2]),
                           ("communication", comm), ("unoverlapped", phi),
                           ("scale_up_latency", tpv[2]), arrays=len(_OUTPUTS) + 8)
    latent = _in.latent_attention(m)   # multi-head latent attention: the MLA record
    if family == "moe":
        structure, extra = _in.cached(_moe_magnitudes, m, hw)
        extra = extra[:-1] + (comm,)
        args = (_in.cached(_in.model_magnitudes, m)[2:] + structure + roofs
                + prec + eff + (b, sp, s) + extra + tpv + (phi,) + step)
        ev = _moe_kernel(latent).lazy(args, vectorised)
        r = Prediction(ev, phase, m, hw, precision,
                       dict(zip(_in.with_model(_MOE_INPUTS, latent), args)), _MOE_ALIAS)
    else:
        args = (_in.cached(_in.model_magnitudes, m) + roofs + prec + eff + (b, sp, s) + tpv + (comm, phi) + step)
        ev = _kernel(latent).lazy(args, vectorised)
        r = Prediction(ev, phase, m, hw, precision,
                       dict(zip(_in.with_model(_in.SERVING_INPUTS, latent), args)))
    r._defaults_key = (stack, efficiency)
    return r


def _with_bands(model, hardware, samples, kw):
    """predict() plus Monte Carlo bands of its latencies and throughput."""
    from ...analysis.uncertainty import band_of, sample_parameters
    r = predict(model, hardware, **kw)
    if not isinstance(r, Prediction):
        raise ValueError("uncertainty=True covers decoder and MoE LLM serving here; use "
                         "predict_tinyml / predict_vision results as they are")
    if r._ev.vectorised:
        raise ValueError("uncertainty=True needs scalar knobs (batch, seq_len, tp)")
    given = kw.get("efficiency")
    given = given if isinstance(given, dict) else ({} if given is None else
                                                    {"compute": given, "memory": given})
    prec, hw = r.precision, r.hardware
    names = {}
    for key, sym, unit in (("compute", "compute_efficiency", ""),
                           ("memory", "memory_efficiency", ""),
                           ("fixed_overhead", "fixed_overhead", "ms")):
        if key in given:
            continue
        name = variant_name(sym, hw, prec, "serve")
        if sym == "fixed_overhead" and kw.get("stack"):
            name = f"fixed_overhead[{kw['stack']}]"
        names[key] = (name, unit or "dimensionless", (0.0, 1.0) if not unit else (0.0, 1e4))
    if not any(k in given for k in knobs.OVERLAP_KEYS):
        names["unoverlapped"] = ("unoverlapped_fraction", "dimensionless", (0.0, 1.0))
    draws = sample_parameters(names, samples)
    eff = dict(given)
    for key, arr in draws.items():
        eff[key] = Q_(arr, "ms") if key == "fixed_overhead" else arr
    mc = predict(model, hardware, **{**kw, "efficiency": eff})
    outs = {"ttft": "ms", "time_per_output_token": "ms", "decode_throughput": "token/s",
            "prefill_throughput": "token/s"}
    r.bands = {}
    for name, unit in outs.items():
        q = mc._q(name).to(unit)
        r.bands[name] = band_of(q.magnitude, unit, "inference")
    r.bands["latency"] = r.bands["ttft" if r.phase == "prefill" else "time_per_output_token"]
    r.bands["throughput"] = r.bands["prefill_throughput" if r.phase == "prefill"
                                    else "decode_throughput"]
    return r


def _dispatch_workload(m, hardware, family, *, batch, seq_len, precision, efficiency, options,
                       stack=None, phase="decode"):
    """Non-LLM families: diffusion, TinyML, CNN / ViT / encoder forward passes, Mamba (SSM)."""
    if family == "ssm":
        from ..workloads.ssm import predict_ssm
        return predict_ssm(m, hardware, batch=batch, seq_len=seq_len, precision=precision or "fp16",
                           phase=phase, efficiency=efficiency, stack=stack, **options)
    from .. import workloads as ws
    if stack is not None and family == "diffusion":
        raise ValueError(f"stack= has no calibrated values for diffusion models ({m.name}); "
                         "leave it out")
    if family == "diffusion":
        return ws.predict_diffusion(m, hardware, batch=batch, precision=precision or "fp16",
                                    efficiency=efficiency, **options)
    if family == "tinyml":
        if options:
            raise ValueError(f"unknown options {sorted(options)} for a TinyML model")
        return ws.predict_tinyml(m, hardware, precision=precision or m.precision or "int8",
                                 efficiency=efficiency, stack=stack)
    if family in ("cnn", "vit", "encoder"):
        if options:
            raise ValueError(f"unknown options {sorted(options)} for a {family} model")
        seq = None if family != "encoder" or seq_len == 2048 else seq_len
        return ws.predict_vision(m, hardware, batch=batch, precision=precision or "fp16",
                                 efficiency=efficiency, stack=stack,
                                 **({"seq_len": seq} if seq else {}))
    raise ValueError(f"predict() does not model {family!r} models yet ({m.name}); it covers "
                     "decoder, MoE and SSM LLMs, diffusion, TinyML, CNN, ViT and encoder models")
