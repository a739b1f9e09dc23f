"""The serving systems and their compiled kernels: what ``predict`` evaluates.

:func:`serving_system` (walls 1, 2, 4, 7 and the continuous-batching record) is the one serving
path: ``predict`` reads its per-step outputs (:data:`OUTPUTS`, kernel :func:`serving_kernel`),
``serve``, ``size_fleet``, ``synthesize`` and the calibration cases its outputs at a request
rate. MoE models use :func:`moe_serving_system` (kernel :func:`moe_kernel`), whose outputs carry
the names in :data:`MOE_ALIAS`. A model with multi-head latent attention (``latent=True``) is
served by the same systems with the MLA record's attention quantities in wall 4, its kernels
reading the MLA dimensions in place of ``kv_heads`` and ``head_dim``; a model with sliding-window
attention (``windowed=True``) by the same systems with the sliding-window record's attention
spans, its kernels reading the window and the windowed share of the layers.
:func:`disaggregated_system` composes the same walls and records with the disaggregation record
(separate prefill and decode pools). Speculative predictions compile the serving system for
:data:`SPECULATIVE_OUTPUTS` (:func:`speculative_kernel`) and read them under the dense names
(:data:`SPECULATIVE_ALIAS`). Each system is composed and each kernel compiled once per process.
"""

from __future__ import annotations

from functools import lru_cache

from ...numeric import cached_kernel
from .._core.inputs import (ATTENTION_DP_INPUTS, CACHE_INPUTS, EFFICIENCY_INPUTS, HARDWARE_INPUTS, KNOB_INPUTS,
                            MODEL_INPUTS, PRECISION_INPUTS, SERVING_INPUTS, SPECULATIVE_INPUTS,
                            STEP_INPUTS, TP_INPUTS, with_model)

__all__ = ["OUTPUTS", "SERVING_INPUTS", "MOE_STRUCTURE", "MOE_EXTRA", "MOE_INPUTS", "MOE_ALIAS",
           "MOE_OUTPUTS", "ONE_DEVICE", "UNQUANTISED", "PER_TOKEN", "SPECULATIVE_ALIAS", "SPECULATIVE_EXTRA",
           "SPECULATIVE_OUTPUTS", "serving_system", "moe_serving_system", "per_token_system",
           "serving_kernel", "moe_kernel", "speculative_kernel", "per_token_kernel",
           "attention_records", "variant_name", "disaggregated_system"]

#: the per-step outputs of a prediction, in the order of :func:`serving_kernel`
OUTPUTS = ("ttft", "time_per_output_token", "memory_footprint", "kv_cache_bytes", "weight_bytes",
           "activation_bytes", "memory_utilization", "decode_throughput", "prefill_throughput",
           "prefill_flops", "decode_flops", "prefill_bytes", "decode_bytes",
           "prefill_compute_time", "decode_compute_time", "decode_memory_time",
           "tp_prefill_comm_time", "tp_decode_comm_time", "dequantization_time")

# MoE path: parameters / active parameters are outputs of the MoE record, computed from the
# expert structure; decode reads only the experts a batch touches.
#: the expert structure of an MoE model (inputs of the MoE record)
MOE_STRUCTURE = ("moe_dense_parameters", "moe_expert_parameters", "moe_experts",
                 "experts_per_token", "moe_shared_experts", "moe_layers")
#: the MoE record's other inputs: routing imbalance and the expert-parallel all-to-all's link
MOE_EXTRA = ("moe_routing_imbalance", "expert_parallel", "link_bandwidth", "link_latency",
             "communication_efficiency")
#: every input of :func:`moe_kernel`, in its order (MLA: :func:`~.._core.inputs.with_model`)
MOE_INPUTS = (MODEL_INPUTS[2:] + MOE_STRUCTURE + HARDWARE_INPUTS + PRECISION_INPUTS
              + EFFICIENCY_INPUTS + KNOB_INPUTS + MOE_EXTRA + TP_INPUTS
              + ("unoverlapped_fraction",) + STEP_INPUTS + CACHE_INPUTS + ATTENTION_DP_INPUTS)
#: dense output name -> the MoE system's output of the same meaning
MOE_ALIAS = {"ttft": "moe_ttft", "time_per_output_token": "moe_time_per_output_token",
             "decode_throughput": "moe_decode_throughput", "decode_bytes": "moe_decode_bytes",
             "prefill_bytes": "moe_prefill_bytes",
             "prefill_compute_time": "moe_prefill_compute_time",
             "decode_compute_time": "moe_decode_compute_time",
             "decode_memory_time": "moe_decode_memory_time"}
#: the outputs of :func:`moe_kernel` (prefill throughput is derived from TTFT by the result)
MOE_OUTPUTS = tuple(MOE_ALIAS.get(n, n) for n in OUTPUTS if n != "prefill_throughput") + (
    "parameters", "active_parameters", "moe_decode_experts_touched")

# Speculative decoding (the speculative-decoding record with wall 12): the per-token time,
# decode rate and footprint a prediction reports are the speculative ones.
#: dense output name -> the output of the same meaning with speculative decoding
SPECULATIVE_ALIAS = {"time_per_output_token": "speculative_time_per_output_token",
                     "decode_throughput": "speculative_decode_throughput",
                     "memory_footprint": "speculative_memory_footprint",
                     "memory_utilization": "speculative_memory_utilization"}
#: what a speculative prediction adds: tokens per step, speed-up, the two passes and ratios
SPECULATIVE_EXTRA = ("speculative_tokens_per_pass", "speculative_speedup", "verify_step_time",
                     "draft_step_time", "verify_cost_ratio", "draft_cost_ratio",
                     "draft_weight_bytes")
#: the outputs of :func:`speculative_kernel` (the target's own footprint too, for the reason line)
SPECULATIVE_OUTPUTS = (tuple(SPECULATIVE_ALIAS.get(n, n) for n in OUTPUTS) + SPECULATIVE_EXTRA
                       + ("memory_footprint",))

#: per-token figures of a prediction: wall 3's serving MFU and wall 18's energy per token
PER_TOKEN = {"decode": ("decode_flops_utilization", "energy_per_output_token"),
             "prefill": ("prefill_flops_utilization", "energy_per_prompt_token")}


def attention_records(latent, windowed, *records, disaggregated=False) -> tuple:
    """The records with the attention variant's definitions: the MLA record's attention widths
    in wall 4 when ``latent``, the sliding-window record's attention spans when ``windowed``;
    with ``disaggregated``, the continuous-batching record turned into the decode pool of the
    disaggregation record (before the spans, which it also reads)."""
    from ...equations import disaggregation, mla, sliding_window
    if latent:
        records = mla.latent_attention(*records)
    if disaggregated:
        records = disaggregation.disaggregated(*records)
    if windowed:
        records = sliding_window.sliding_window(*records)
    return tuple(records)


def variant_name(name, latent, windowed) -> str:
    """A system's name with its attention variant: ``serving (MLA, sliding window)``."""
    tags = [t for t, on in (("MLA", latent), ("sliding window", windowed)) if on]
    if not tags:
        return name
    if name.endswith(")"):
        return f"{name[:-1]}, {', '.join(tags)})"
    return f"{name} ({', '.join(tags)})"


def serving_system(latent: bool = False, windowed: bool = False):
    """The one serving system: walls 1 (Compute), 2 (Memory), 4 (Serving), 7 (Tail latency),
    wall 12's speculative-decoding equations (tokens per step, speed-up) and the
    continuous-batching and speculative-decoding records composed. ``predict`` reads its
    per-step outputs, ``serve``, ``size_fleet`` and the calibration cases its outputs at a
    request rate. ``latent=True``: with multi-head latent attention (the MLA record defines
    wall 4's KV cache width and attention widths); ``windowed=True``: with sliding-window
    attention (the sliding-window record bounds the attention spans by the window)."""
    return _serving_system(bool(latent), bool(windowed))


@lru_cache(maxsize=4)
def _serving_system(latent: bool, windowed: bool):
    from ...equations import speculative, walls, workloads
    from ...system import System
    return System.from_walls(*speculative.with_speculation(*attention_records(
        latent, windowed, walls.compute, walls.memory, walls.serving, walls.tail_latency,
        workloads.continuous_batching)), name=variant_name("serving", latent, windowed))


def disaggregated_system(latent: bool = False, windowed: bool = False):
    """Disaggregated serving: :func:`serving_system`'s walls and records with the disaggregation
    record (a prefill pool behind wall 7's queue, the KV transfer, and the continuous-batching
    record's decode-only steps as the decode pool); ``latent`` and ``windowed`` as there."""
    return _disaggregated_system(bool(latent), bool(windowed))


@lru_cache(maxsize=4)
def _disaggregated_system(latent: bool, windowed: bool):
    from ...equations import speculative, walls, workloads
    from ...system import System
    # the decode pool keeps the continuous-batching record's fixed point, whose steps read the
    # speculative tokens per step (E = 1 without a draft: disaggregation does not speculate)
    return System.from_walls(*speculative.with_speculation(*attention_records(
        latent, windowed, walls.compute, walls.memory, walls.serving, walls.tail_latency,
        workloads.continuous_batching, disaggregated=True)),
        name=variant_name("serving (disaggregated)", latent, windowed))


def moe_serving_system(latent: bool = False, windowed: bool = False):
    """Walls 1, 2, 4 plus the MoE workload record (total vs active params, experts touched);
    ``latent=True``: with multi-head latent attention (the MLA record); ``windowed=True``: with
    sliding-window attention."""
    return _moe_serving_system(bool(latent), bool(windowed))


@lru_cache(maxsize=4)
def _moe_serving_system(latent: bool, windowed: bool):
    from ...equations import walls, workloads
    from ...system import System
    return System.from_walls(*attention_records(latent, windowed, walls.compute, walls.memory,
                                                walls.serving, workloads.moe),
                             name=variant_name("serving (MoE)", latent, windowed))


#: the inputs of one device: no tensor parallelism, no attention data parallelism
ONE_DEVICE = {"tensor_parallel": 1, "attention_data_parallel": 1}
#: weights stored at the activation width: no weight-only dequantisation pass
UNQUANTISED = {"dequantized_share": 0}


def serving_kernel(latent: bool = False, windowed: bool = False, one_device: bool = False,
                   unquantised: bool = False):
    """:func:`serving_system` compiled: :data:`OUTPUTS` from :data:`SERVING_INPUTS` (MLA: the
    latent dimensions in place of ``kv_heads`` and ``head_dim``; sliding window: the window
    inputs after the model's shape; ``.input_names`` says), from the disk cache of generated
    kernels (no sympy, no walls built when it holds it). ``one_device=True``: the kernel
    specialised to :data:`ONE_DEVICE` (the all-reduce terms and the TP Max/Min folded away),
    ``unquantised=True`` to :data:`UNQUANTISED` (the dequantisation step folded away): the
    same inputs and, where those inputs hold those values, the same outputs; what a
    prediction on one chip (at a precision without weight-only quantisation) runs."""
    return _serving_kernel(bool(latent), bool(windowed), bool(one_device), bool(unquantised))


def _fixed(one_device: bool, unquantised: bool):
    """The ``fixed`` inputs of a kernel specialised to one device and / or unquantised
    weights (None: the general kernel)."""
    return {**(ONE_DEVICE if one_device else {}), **(UNQUANTISED if unquantised else {})} or None


@lru_cache(maxsize=16)
def _serving_kernel(latent: bool, windowed: bool, one_device: bool, unquantised: bool):
    return cached_kernel(variant_name("serving", latent, windowed), OUTPUTS,
                         with_model(SERVING_INPUTS, latent, windowed),
                         lambda: serving_system(latent, windowed),
                         fixed=_fixed(one_device, unquantised))


def speculative_kernel(latent: bool = False, windowed: bool = False, one_device: bool = False,
                       unquantised: bool = False):
    """:func:`serving_system` compiled for a speculative prediction: :data:`SPECULATIVE_OUTPUTS`
    from :data:`SERVING_INPUTS` and :data:`SPECULATIVE_INPUTS` (from the disk cache);
    ``one_device`` and ``unquantised`` as for :func:`serving_kernel`."""
    return _speculative_kernel(bool(latent), bool(windowed), bool(one_device),
                               bool(unquantised))


@lru_cache(maxsize=16)
def _speculative_kernel(latent: bool, windowed: bool, one_device: bool, unquantised: bool):
    return cached_kernel(variant_name("serving (speculative)", latent, windowed),
                         SPECULATIVE_OUTPUTS,
                         with_model(SERVING_INPUTS, latent, windowed) + SPECULATIVE_INPUTS,
                         lambda: serving_system(latent, windowed),
                         fixed=_fixed(one_device, unquantised))


def moe_kernel(latent: bool = False, windowed: bool = False, one_device: bool = False,
               unquantised: bool = False):
    """:func:`moe_serving_system` compiled: :data:`MOE_OUTPUTS` from :data:`MOE_INPUTS` (MLA:
    the latent dimensions in place of ``kv_heads`` and ``head_dim``; sliding window: the
    window inputs), from the disk cache; ``one_device`` and ``unquantised`` as for
    :func:`serving_kernel` (expert parallelism is not fixed)."""
    return _moe_kernel(bool(latent), bool(windowed), bool(one_device), bool(unquantised))


@lru_cache(maxsize=16)
def _moe_kernel(latent: bool, windowed: bool, one_device: bool, unquantised: bool):
    return cached_kernel(variant_name("serving (MoE)", latent, windowed), MOE_OUTPUTS,
                         with_model(MOE_INPUTS, latent, windowed),
                         lambda: moe_serving_system(latent, windowed),
                         fixed=_fixed(one_device, unquantised))


@lru_cache(maxsize=1)
def per_token_system():
    """Serving MFU (wall 3) and energy per token (wall 18), from a prediction's outputs."""
    from ...equations import walls
    from ...system import System
    names = {n for pair in PER_TOKEN.values() for n in pair}
    eqs = [eq for w in (walls.software, walls.sustainability) for eq in w.equations
           if eq.lhs.name in names]
    return System(eqs, walls=(walls.software, walls.sustainability), name="serving per token")


def per_token_kernel(name: str):
    """Output ``name`` of :func:`per_token_system` compiled (from the disk cache)."""
    return cached_kernel("serving per token", (name,), None, per_token_system)
