"""``predict``: a decoder or MoE LLM served on one chip (or a tensor-parallel group).

The knobs are checked and turned into the serving kernel's inputs by name (the model's shape,
the chip's roofs, the storage widths, the calibrated or given efficiencies, the workload, the
TP link and the step's prefill chunk; per-object magnitudes cached by identity), the compiled
kernel runs once (scalars, or numpy arrays broadcast together) and a :class:`~.result.Prediction`
wraps it. Other model families (diffusion, TinyML, CNN / ViT / encoder) go to the workloads
package.
"""

from __future__ import annotations

from operator import itemgetter

import numpy as np

from ... import checks, registry, vocabulary
from ...defaults import VariantKey
from ...symbols import info
from ...units import Q_
from .._core import fabric, inputs as _in, knobs, memo
from .moe import moe_magnitudes
from .result import Prediction
from .system import (MOE_ALIAS, OUTPUTS, SPECULATIVE_ALIAS, moe_kernel, serving_kernel,
                     speculative_kernel)

__all__ = ["predict", "PRECISION_BITS"]

# Storage width of one element at each precision (mlsysim_sym.vocabulary: definitions of the
# formats, not measurements); kept here as the public name it has been
PRECISION_BITS = vocabulary.PRECISION_BITS

def predict(model, hardware, *, batch=1, seq_len=2048, precision=None, phase="decode",
            efficiency=None, tp=1, weight_bits=None, stack=None, uncertainty=False,
            prefill_tokens=0, prompt_len=None, max_batched_tokens=None, prefix_cache_hit_rate=0.0,
            speculative=None, **options):
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
        "scale_up_latency": "5 us", "allreduce_fixed_time": "10 us", "unoverlapped": ..}``
        (quantities, quantity strings or numbers in the declared unit: ms for
        ``fixed_overhead``, us for ``scale_up_latency`` and ``allreduce_fixed_time``: a TP
        all-reduce pays the fixed time per call plus the link's latency per step);
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
        ``precision``. Weights below the activation width (weight-only quantisation) are read
        packed while a step is memory-bound; a compute-bound step (a prefill, a large batch)
        also pays their dequantisation, one pass reading each weight at ``weight_bits`` and
        writing it at ``precision`` (``dequantization_time``: vLLM's AWQ path, llama.cpp's
        cuBLAS path).
    stack : str, optional
        The serving engine (``trt_llm``, ``vllm``, ``sglang``, ``llama.cpp``, ``mlx``, ``nim``):
        its calibrated per-step overhead ``fixed_overhead[stack]`` where the calibration data
        hold rows of that engine, else the pooled ``fixed_overhead``; an unknown name is an
        error listing the known ones. CNN / ViT / encoder models pay the overhead of one
        forward pass, ``pass_overhead``, and take a framework (``tensorrt``: the base value,
        a compiled engine; ``mxnet``, ``pytorch``, ``onnxruntime``: ``pass_overhead[<stack>]``
        where data exist). Default: the pooled value.
    prefix_cache_hit_rate : float or array
        Share h in [0, 1) of the prompt found in the prefix cache (vLLM automatic prefix
        caching, SGLang RadixAttention): the prefill computes only the (1 - h) suffix, so TTFT
        and a prompt chunk's FLOPs fall; the KV cache is unchanged. Default 0.
    speculative : dict, optional
        Speculative decoding, ``{"draft": "llama-3.2-1b", "tokens": 4, "acceptance": 0.7}``:
        the draft (a registry model, a dense decoder with the target's vocabulary, on the same
        ``tp`` chips; or a draft-to-target cost ratio c in (0, 1], the target scaled by c),
        the drafted tokens gamma per step (1-128) and the acceptance rate alpha in [0, 1).
        ``time_per_output_token`` and ``decode_throughput`` become the effective ones: one
        verification pass over gamma + 1 positions per sequence plus gamma draft passes yield
        E = (1 - alpha^(gamma+1)) / (1 - alpha) tokens; the verification pass is a roofline at
        the batch, so the speed-up (``speculative_speedup``) falls below 1 once the batch makes
        decode compute-bound. ``memory_footprint`` includes the draft's weights and KV cache.
        Dense MHA/GQA targets only.
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
    key = None
    if (efficiency is None and weight_bits is None and prompt_len is None and not options
            and max_batched_tokens is None and uncertainty is False and speculative is None
            and type(prefill_tokens) is int and prefill_tokens == 0
            and type(prefix_cache_hit_rate) in (int, float) and prefix_cache_hit_rate == 0
            and (type(tp) is int or type(tp) is float)):
        # the hot path: every input but batch and seq_len memoised per (model, chip, precision,
        # phase, stack, tp), filled by the checked path below (so it holds only what passed)
        memo.fresh()
        key = (model if type(model) is str else id(model),
               hardware if type(hardware) is str else id(hardware), precision, phase, stack, tp)
        try:
            fast = _FAST.get(key)
        except TypeError:   # an unhashable knob: the checked path says what is wrong with it
            fast = key = None
        tb, ts = type(batch), type(seq_len)
        if (fast is not None and (tb is int or tb is float and batch.is_integer())
                and (ts is int or ts is float and seq_len.is_integer())
                and _BATCH[0] <= batch <= _BATCH[1] and _CONTEXT[0] <= seq_len <= _CONTEXT[1]):
            return fast(float(batch), float(seq_len))
    kw = dict(batch=batch, seq_len=seq_len, precision=precision, phase=phase,
              efficiency=efficiency, tp=tp, weight_bits=weight_bits, stack=stack,
              prefill_tokens=prefill_tokens, prompt_len=prompt_len,
              max_batched_tokens=max_batched_tokens, prefix_cache_hit_rate=prefix_cache_hit_rate,
              speculative=speculative)
    if uncertainty:
        return _with_bands(model, hardware, uncertainty, {**kw, **options})
    m = registry.model(model)
    family = getattr(m, "family", "decoder")
    if family not in ("decoder", "moe"):
        return _dispatch_workload(m, hardware, family, kw, options)
    return _predict_llm(m, hardware, family, kw, options, key)


#: (model, chip, precision, phase, stack, tp) -> :class:`_Memo` of a scalar prediction with
#: default efficiencies: emptied when the registry changes (a model or chip name may then
#: mean another entry; a chip's scale-up domain may change)
_FAST = memo.table()
_BATCH, _CONTEXT = info("batch").bounds, info("context_length").bounds


class _Memo:
    """Every input of one (model, chip, precision, phase, stack, tp) but the workload's batch,
    prompt and context lengths, in the kernel's order: a prediction is one tuple, one kernel
    call and the lazy result."""

    __slots__ = ("kernel", "head", "tail", "order", "rest")

    def __init__(self, kernel, args, at, rest):
        self.kernel, self.order, self.rest = kernel, kernel.input_names, rest
        self.head, self.tail = tuple(args[:at]), tuple(args[at + len(_in.KNOB_INPUTS):])

    def __call__(self, batch, seq_len):
        args = self.head + (batch, seq_len, seq_len) + self.tail
        phase, m, hw, precision, alias, defaults_key, speculative = self.rest
        return Prediction(self.kernel.lazy(args, False), phase, m, hw, precision, self.order,
                          alias, defaults_key, speculative)


def _predict_llm(m, hardware, family, kw, options, key=None) -> Prediction:
    """A decoder or MoE LLM: its inputs by name, one lazy kernel evaluation (with ``key``, a
    scalar call's inputs are also memoised for the hot path of :func:`predict`)."""
    if options:
        raise ValueError(f"unknown options {sorted(options)} for a {family} model; predict() "
                         "takes batch, seq_len, precision, phase, efficiency")
    precision = _precision_name(kw["precision"], kw["phase"])
    hw = registry.hardware(hardware)
    efficiency = kw["efficiency"]
    values = _knob_values(m, hw, kw)
    values.update(_efficiency_values(efficiency, hw, precision, kw["stack"]))
    if kw["weight_bits"] is not None:   # and whether a compute-bound pass dequantises them
        values.update(_in.weight_values(kw["weight_bits"], precision))
    # the roofs the stack's GEMMs run and the storage widths (weight_bits wins)
    roofs = _in.cached(_roof_values, hw, precision, kw["stack"])
    values.update(zip(_in.STEP_INPUTS, _in.step_magnitudes(kw["prefill_tokens"],
                                                            kw["max_batched_tokens"])))
    values["prefix_cache_hit_rate"] = _in.prefix_cache_magnitude(kw["prefix_cache_hit_rate"])
    values["attention_data_parallel"] = 1.0   # the attention under TP (serve: attention_dp)
    values.update(_tp_values(hw, values["tensor_parallel"], efficiency))
    vectorised = _check_sweep(values)
    values = {**_in.cached(_model_values, m), **roofs, **values}
    # the attention variant: the MLA record, the sliding-window record
    variant = (_in.latent_attention(m), _in.sliding_window(m))
    # one device (a scalar tp of 1), no weight-only quantisation: the kernel with the TP
    # terms, the dequantisation step folded away
    t, q = values["tensor_parallel"], values["dequantized_share"]
    special = (np.ndim(t) == 0 and t == 1, np.ndim(q) == 0 and q == 0)
    speculative = kw["speculative"] is not None
    if speculative:   # a draft model's passes and the verification pass (dense targets only)
        values.update(_in.speculative_values(kw["speculative"], m, hw, values["tensor_parallel"]))
        kernel, alias = speculative_kernel(*variant, *special), SPECULATIVE_ALIAS
    elif family == "moe":   # the expert structure; predict's communication efficiency wins
        values = {**_in.cached(moe_magnitudes, m, hw), **values}
        kernel, alias = moe_kernel(*variant, *special), MOE_ALIAS
    else:
        kernel, alias = serving_kernel(*variant, *special), None
    order = kernel.input_names
    args = _in.args(values, order)
    rest = (kw["phase"], m, hw, precision, alias, (kw["stack"], efficiency), speculative)
    at = order.index(_in.KNOB_INPUTS[0])
    if key is not None and not vectorised and order[at:at + 3] == _in.KNOB_INPUTS:
        memo.put(_FAST, key, _Memo(kernel, args, at, rest))
    return Prediction(kernel.lazy(args, vectorised), *rest[:4], order, *rest[4:])


def _precision_name(precision, phase) -> str:
    """The canonical precision name (default fp16), after checking the phase."""
    if precision is None:
        precision = "fp16"
    if phase not in ("decode", "prefill"):
        raise ValueError(f"phase must be 'decode' or 'prefill', got {phase!r}")
    return vocabulary.precision(precision).name


def _knob_values(m, hw, kw) -> dict:
    """The workload's knobs, checked: batch, prompt and context lengths, the TP degree."""
    lo_b, hi_b = info("batch").bounds
    lo_s, hi_s = info("context_length").bounds
    b = checks.count("batch", kw["batch"], lo_b, hi_b)
    s = checks.count("seq_len", kw["seq_len"], lo_s, hi_s)
    prompt = kw["prompt_len"]
    sp = s if prompt is None else checks.count("prompt_len", prompt, lo_s, hi_s)
    t = _in.check_tp(checks.count("tp", kw["tp"], 1, 4096), m, hw)
    return {"batch": b, "prompt_length": sp, "context_length": s, "tensor_parallel": t}


def _efficiency_values(efficiency, hw, precision, stack) -> dict:
    """Compute, memory, fixed overhead, communication and unoverlapped share: given or the
    calibrated defaults for the chip's generation, the precision and the stack."""
    values = dict(zip(knobs.EFFICIENCY_INPUTS, knobs.efficiency_magnitudes(
        efficiency, hw, precision, knobs.check_stack(stack))))
    values["communication_efficiency"] = fabric.communication(hw, efficiency)
    values["unoverlapped_fraction"] = knobs.unoverlapped(efficiency)
    return values


def _roof_values(hw, precision, stack=None) -> dict:
    """The chip's roofs at ``precision`` as ``stack`` runs them and the storage widths, by
    name (cached: read only)."""
    values = dict(zip(_in.HARDWARE_INPUTS, _in.hardware_magnitudes(hw, precision, stack)))
    values.update(zip(_in.PRECISION_INPUTS, _in.precision_magnitudes(precision)))
    return values


def _model_values(m) -> dict:
    """The model's shape by name (cached: read only)."""
    return dict(zip(_in.model_input_names(m), _in.model_magnitudes(m)))


def _tp_values(hw, tp, efficiency) -> dict:
    """The TP degree and its scale-up link; ``efficiency={"scale_up_latency": ..,
    "allreduce_fixed_time": ..}`` override the link's latency and the fixed cost per all-reduce
    call (:func:`~.._core.inputs.tp_overrides`)."""
    return _in.tp_overrides(dict(zip(_in.TP_INPUTS, _in.tp_magnitudes(hw, tp))), efficiency)


#: the inputs a knob can make an array, with the knob's name in the sweep-size check
_SWEEP_LABELS = {"batch": "batch", "context_length": "seq_len", "tensor_parallel": "tp",
                 "compute_efficiency": "efficiency", "memory_efficiency": "memory efficiency",
                 "fixed_overhead": "fixed_overhead", "communication_efficiency": "communication",
                 "unoverlapped_fraction": "unoverlapped", "scale_up_latency": "scale_up_latency",
                 "allreduce_fixed_time": "allreduce_fixed_time",
                 "prefix_cache_hit_rate": "prefix_cache_hit_rate"}
_ARRAY_INPUTS = itemgetter(*_SWEEP_LABELS, "prompt_length", *_in.STEP_INPUTS)
_IS_ARRAY = np.ndarray.__instancecheck__


def _check_sweep(values) -> bool:
    """True when any knob is an array; their shapes must then broadcast and fit in memory."""
    if not any(map(_IS_ARRAY, _ARRAY_INPUTS(values))):
        return False
    checks.sweep_shape(*((label, values[n]) for n, label in _SWEEP_LABELS.items()),
                       arrays=len(OUTPUTS) + 8)
    return True


def _with_bands(model, hardware, samples, kw):
    """predict() plus Monte Carlo bands of its latencies and throughput."""
    from ...analysis.uncertainty import band_of, sample_parameters
    r = predict(model, hardware, **kw)
    if not isinstance(r, Prediction):
        raise ValueError("uncertainty=True covers decoder and MoE LLM serving here; use "
                         "predict_tinyml / predict_vision results as they are")
    if any(isinstance(v, np.ndarray) for v in r.base_inputs().values()):
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
        name = VariantKey.for_chip(hw, prec, "serve", stack=kw.get("stack")).name(sym)
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
        q = mc.quantity(name).to(unit)
        # the calibrated discrepancy of the phase the output rests on, around the prediction
        regime = "prefill" if name in ("ttft", "prefill_throughput") else "decode"
        r.bands[name] = band_of(q.magnitude, unit, "inference",
                                point=r.quantity(name).to(unit).magnitude, regime=regime,
                                vendor=hw.vendor)
    r.bands["latency"] = r.bands["ttft" if r.phase == "prefill" else "time_per_output_token"]
    r.bands["throughput"] = r.bands["prefill_throughput" if r.phase == "prefill"
                                    else "decode_throughput"]
    return r


def _dispatch_workload(m, hardware, family, kw, options):
    """Non-LLM families: diffusion, TinyML, CNN / ViT / encoder forward passes, Mamba (SSM)."""
    batch, seq_len, precision = kw["batch"], kw["seq_len"], kw["precision"]
    efficiency, stack = kw["efficiency"], kw["stack"]
    if kw["speculative"] is not None or np.any(np.asarray(kw["prefix_cache_hit_rate"]) != 0):
        raise ValueError(f"speculative and prefix_cache_hit_rate apply to transformer LLM serving "
                         f"(decoder or MoE); {m.name} is a {family} model")
    if family == "ssm":
        from ..workloads.ssm import predict_ssm
        _check_ssm_knobs(m, kw)
        return predict_ssm(m, hardware, batch=batch, seq_len=seq_len, precision=precision or "fp16",
                           phase=kw["phase"], efficiency=efficiency, stack=stack, **options)
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
        unknown = sorted(set(options) - {"fused_norm"})
        if unknown:
            raise ValueError(f"unknown options {unknown} for a {family} model (allowed: "
                             "fused_norm)")
        seq = None if family != "encoder" or seq_len == 2048 else seq_len
        return ws.predict_vision(m, hardware, batch=batch, precision=precision or "fp16",
                                 efficiency=efficiency, stack=stack,
                                 **({"seq_len": seq} if seq else {}), **options)
    raise ValueError(f"predict() does not model {family!r} models yet ({m.name}); it covers "
                     "decoder, MoE and SSM LLMs, diffusion, TinyML, CNN, ViT and encoder models")


def _check_ssm_knobs(m, kw) -> None:
    """Refuse the transformer-only knobs for a state-space model (they would be ignored)."""
    tp = kw["tp"]
    given = [k for k, v in (("tp", tp != 1 if np.ndim(tp) == 0 else True),
                            ("weight_bits", kw["weight_bits"] is not None),
                            ("prefill_tokens", np.any(kw["prefill_tokens"] != 0)),
                            ("prompt_len", kw["prompt_len"] is not None),
                            ("max_batched_tokens", kw["max_batched_tokens"] is not None)) if v]
    if given:
        raise ValueError(f"{', '.join(given)} {'does' if len(given) == 1 else 'do'} not "
                         f"apply to {m.name}, a state-space "
                         "(ssm) model; it takes batch, seq_len, precision, phase, "
                         "efficiency, stack")
