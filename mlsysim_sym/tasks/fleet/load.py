"""The serving system at a request rate: its compiled kernel, its inputs, one evaluation.

:func:`load_kernel` is the one serving system (:func:`~mlsysim_sym.tasks.serving.serving_system`:
walls 1, 2, 4, 7 and the continuous-batching record) compiled for the outputs a fleet needs at
a request rate; :func:`load_inputs` gathers its base-unit inputs for a model, chip and load
(scalars or arrays) and :func:`evaluate_load` evaluates it, broadcasting arrays. The checks of
the load's user values (:func:`check_load`, :func:`whole`, :func:`positive`) are here too, so
``serve`` and ``size_fleet`` refuse a bad rate, token count or price with the same message.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ... import checks
from ...defaults import default
from ...numeric import cached_kernel
from ...registry import params
from ..serving import serving_system
from ..serving import system as serving_composition
from ...units import Q_, base_factor
from .._core.inputs import (max_batched_tokens_magnitude, prefix_cache_magnitude, serving_inputs,
                            speculative_values)
from .._core.knobs import magnitude

__all__ = ["LOAD_OUTPUTS", "load_kernel", "variant_of", "load_inputs", "attention_dp_values",
           "evaluate_load",
           "check_load", "whole", "positive"]

#: outputs of the serving system read at a request rate
LOAD_OUTPUTS = ("loaded_step_time", "loaded_time_per_output_token", "running_batch",
                "loaded_prefill_chunk", "prefill_latency",
                "loaded_ttft", "loaded_mean_ttft", "server_utilization", "saturation_rate",
                "kv_saturation_rate", "token_saturation_rate", "fleet_capacity", "goodput",
                "sequence_capacity", "sequence_slots", "engine_memory_footprint",
                "achieved_flop_rate", "arrival_rate", "speculative_tokens_per_pass")

#: inputs the kernel's Piecewise conditions need as full arrays (the others broadcast)
_BROADCAST = ("request_rate", "serving_replicas", "latency_percentile", "tensor_parallel",
              "prefill_replicas", "decode_replicas")


def load_kernel(latent: bool = False, windowed: bool = False):
    """The serving system compiled for its outputs at a request rate (``latent``: with
    multi-head latent attention; ``windowed``: with sliding-window attention), from the disk
    cache of generated kernels (:func:`mlsysim_sym.numeric.cached_kernel`: no sympy when it
    holds the kernel)."""
    return _load_kernel(bool(latent), bool(windowed))


@lru_cache(maxsize=4)
def _load_kernel(latent: bool, windowed: bool):
    return cached_kernel(serving_composition.variant_name("serving", latent, windowed),
                         LOAD_OUTPUTS, None, lambda: serving_system(latent, windowed),
                         depends=(serving_composition.__file__,))


def variant_of(values: dict) -> tuple:
    """(latent, windowed): the attention variant whose inputs ``values`` holds (an MLA model's
    latent dimensions, a sliding-window model's window; :func:`serving_inputs`)."""
    return "kv_lora_rank" in values, "attention_window" in values


def load_inputs(m, hw, precision, *, tp, replicas, lam, n_in, n_out, efficiency=None,
                percentile=0.99, max_sequences=1e7, memory_reserve=None,
                max_batched_tokens=None, stack=None, weight_bits=None, prefix_cache_hit_rate=0.0,
                speculative=None, attention_dp=False) -> dict:
    """Base-unit inputs of :func:`load_kernel` for a model, chip and load (scalars or arrays);
    ``prefix_cache_hit_rate``, ``speculative`` and ``attention_dp`` as in
    :func:`~mlsysim_sym.serve` (checked)."""
    values = serving_inputs(m, hw, precision, tp=tp, efficiency=efficiency, stack=stack,
                            weight_bits=weight_bits)
    values["prefix_cache_hit_rate"] = checks.one(
        prefix_cache_magnitude(prefix_cache_hit_rate),
        "prefix_cache_hit_rate must be one share in [0, 1) here, such as 0.5")
    values.update(speculative_values(speculative, m, hw, tp))
    values.update(attention_dp_values(attention_dp, m, tp))
    values["max_batched_tokens"] = max_batched_tokens_magnitude(max_batched_tokens)
    values["memory_reserve"] = _memory_reserve(memory_reserve)
    values.update(max_running_sequences=max_sequences, request_rate=lam,
                  serving_replicas=replicas,
                  prompt_length=magnitude("prompt_length", Q_(n_in, "token")),
                  output_length=magnitude("output_length", Q_(n_out, "token")),
                  latency_percentile=percentile)
    return values


def attention_dp_values(attention_dp, model, tp) -> dict:
    """The attention-data-parallel inputs of a serving system: ``attention_dp`` False (the
    attention under tensor parallelism: d_a = 1) or True (TensorRT-LLM ``enable_attention_dp``:
    every rank of the ``tp`` group runs the attention of its own requests, d_a = t; every weight
    but an MoE's routed experts is kept whole on each rank, as TensorRT-LLM's Llama 4 keeps its
    shared expert and dense MLPs (``overridden_tp_size=1``) and its embedding and LM head)."""
    if not isinstance(attention_dp, (bool, np.bool_)):
        raise ValueError(f"attention_dp must be True or False, got {attention_dp!r}")
    if not attention_dp:
        return {"attention_data_parallel": 1.0, "sharded_parameters": 0.0}
    if np.ndim(tp) != 0:
        raise ValueError("attention_dp=True needs one tensor-parallel degree (tp), not an array")
    moe = getattr(model, "moe", None) if getattr(model, "family", None) == "moe" else None
    routed = 0.0 if moe is None else float(
        model.moe_layers * moe.experts * params.ffn_parameters(model, moe.expert_ffn))
    return {"attention_data_parallel": float(tp), "sharded_parameters": routed}


def _memory_reserve(value) -> float:
    """Share of each device's memory the engine may use: given (one fraction in (0, 1]), or
    the default (vLLM's ``gpu_memory_utilization``)."""
    if value is None:
        return _default_memory_reserve()
    return checks.one(checks.fraction("memory_reserve", value),
                      "memory_reserve must be one fraction in (0, 1] here, such as 0.9")


@lru_cache(maxsize=1)
def _default_memory_reserve() -> float:
    return magnitude("memory_reserve", default("memory_reserve"))


def evaluate_load(values: dict, kernel=None):
    """Evaluate :func:`load_kernel` (or another kernel of the serving system at a load, such as
    the disaggregated one) on :func:`load_inputs` (broadcast when any is an array)."""
    k = kernel or load_kernel(*variant_of(values))
    args = [values[n] for n in k.input_names]
    vectorised = any(isinstance(a, np.ndarray) for a in args)
    if vectorised:  # numpy broadcasts; the queue's Piecewise needs array conditions
        # np.broadcast takes at most 32 arrays on numpy < 2; broadcast_shapes takes any number
        shape = np.broadcast_shapes(*[np.shape(a) for a in args])
        args = [a if isinstance(a, np.ndarray) and a.shape == shape
                else np.full(shape, a, dtype=float) if n in _BROADCAST else a
                for n, a in zip(k.input_names, args)]
    return k.lazy(args, vectorised)


# ------------------------------------------------------------------ the load's user values
def check_load(qps, input_tokens, output_tokens, percentile) -> tuple:
    """(percentile, request rate [request/s], prompt tokens, output tokens): each one number,
    checked (a fleet is sized for one load; sweep it with :func:`mlsysim_sym.sweep`)."""
    p = checks.one(checks.number("percentile", percentile, low=0.0, high=1.0, low_open=True,
                                 high_open=True),
                   "percentile must be one number in (0, 1), such as 0.99")
    lam = checks.one(checks.quantity("qps", qps, "request/s", low=0.0, low_open=True),
                     "qps must be one positive rate here, such as '20 request/s'")
    tokens = [checks.one(checks.count(name, value, 1, 1e7),
                         f"{name} must be a single whole number here")
              for name, value in (("input_tokens", input_tokens),
                                  ("output_tokens", output_tokens))]
    return p, float(lam), tokens[0], tokens[1]


def whole(name, value, high):
    """One whole number in [1, ``high``] (replicas, tensor-parallel degree, batch cap)."""
    return checks.one(checks.count(name, value, 1, high),
                      f"{name} must be one whole number between 1 and {high:g} here")


def positive(name, value, unit):
    """A positive finite scalar quantity (budget, caps, prices, SLOs), as a quantity in unit."""
    v = checks.one(checks.quantity(name, value, unit, low=0.0, low_open=True),
                   f"{name} must be one value here, such as '1 {unit}'")
    return Q_(v / base_factor(unit), unit)
