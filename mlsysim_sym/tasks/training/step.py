"""The training step as compiled kernels: the composed system, its inputs in kernel order, and
how a checked :class:`~.config.TrainConfig`, a model and a :class:`~.machine.Machine` become
those inputs (base-unit magnitudes; numpy arrays broadcast, so a parallelism search is one call).

The system (walls 1-3 and 14 composed by the training-step record) and the ZeRO stage's glue
equations (:mod:`mlsysim_sym.equations.operations`) are compiled once per mode (full or LoRA)
and come from the disk cache of generated kernels (:func:`mlsysim_sym.numeric.cached_kernel`):
with a warm cache a training step imports neither sympy nor the walls.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ... import checks
from ...defaults import default
from ...numeric import cached_function, cached_kernel
from ...symbols import info
from ...units import Q_, base_factor
from .._core.inputs import cached
from ...vocabulary import MIXED_PRECISIONS, NATIVE_16BIT
from .config import HOST_LINK_GBPS, LOSS_BYTES, LOSS_TRAFFIC, TrainConfig, state_bytes
from .states import largest_tensors
from .efficiency import attention_peak, head_peak
from .gemm import shape_efficiency
from .host import host_inputs, host_op_us
from .machine import Machine
from .recompute import PLACEMENT_NAMES, module_recompute_flops, stage_imbalance

__all__ = ["training_system", "iron_law", "IronLaw", "kernel", "input_names", "OUTPUTS",
           "zero_inputs", "model_values", "model_magnitudes", "lora_width", "step_inputs",
           "xla_device"]

MODEL_INPUTS = ("parameters", "active_parameters", "expert_parameters", "layers", "heads",
                "kv_heads", "head_dim", "hidden", "vocabulary", "moe_layers", "experts_per_token",
                "moe_experts", "ffn_width", "ffn_gated", "parallel_block", "rotary_embedding",
                "largest_weight_tensor", "largest_expert_tensor")
TRAINABLE_INPUTS = {"full": ("trainable_parameters",),
                    "lora": ("lora_rank", "lora_adapted_width")}
HARDWARE_INPUTS = ("peak_flops", "memory_bandwidth", "memory_capacity", "scale_up_bandwidth",
                   "scale_up_latency", "link_bandwidth", "link_latency", "devices_per_node",
                   "matmul_ceiling")
PRECISION_INPUTS = ("bytes_per_parameter", "gathered_bytes_per_parameter",
                    "gradient_bytes_per_parameter", "optimizer_bytes_per_parameter",
                    "activation_bytes_per_element", "gemm_input_bytes_per_element",
                    "logits_bytes_per_element", "loss_traffic_per_logit", "framework_workspace")
EFFICIENCY_INPUTS = ("compute_efficiency", "memory_efficiency", "communication_efficiency",
                     "scale_out_efficiency", "attention_efficiency", "training_step_overhead",
                     "layer_pass_overhead", "attention_peak_flops", "head_peak_flops",
                     "dp_overlap", "tensor_parallel_overlap", "pipeline_parallel_overlap",
                     "expert_parallel_overlap")
KNOB_INPUTS = ("tensor_parallel", "pipeline_parallel", "data_parallel", "context_parallel",
               "expert_parallel", "pipeline_interleave", "micro_batch", "global_batch",
               "sequence_length", "sequence_fill", "head_token_fraction",
               "recomputed_dense_fraction", "recomputed_attention_fraction",
               "recomputed_op_fraction", "recomputed_dots_fraction",
               "recomputed_custom_fraction", "host_link_bandwidth",
               *(f"{w}_{k}" for k in PLACEMENT_NAMES for w in ("device", "offload")),
               "sequence_parallel", "attention_scores_stored", "dropout_masks_stored",
               "fused_memory_kernels", "fp8_activation_casts", "expert_capacity_factor",
               "dense_dispatch", "token_permute_passes",
               "parameter_shard_factor", "gradient_shard_factor", "optimizer_shard_factor",
               "parameter_gather_passes", "gradient_reduce_passes", "head_stage_imbalance",
               "training_tokens", "host_ops_per_layer", "host_op_time", "loss_vocab_tiles",
               "gradients_live_at_loss", "gemm_shape_efficiency", "host_syncs_per_moe_layer",
               "host_ops_after_sync", "recomputed_module_flops", "stage_layer_imbalance",
               "gather_per_tensor")

#: what the kernel computes (a result reads them lazily)
OUTPUTS = ("training_step_time", "step_compute_time", "attention_compute_time",
           "elementwise_time", "tp_comm_time", "pp_comm_time",
           "cp_comm_time", "ep_comm_time", "pipeline_bubble_time", "pipeline_bubble_fraction",
           "dp_comm_time", "dp_exposed_time", "offload_time", "offload_exposed_time",
           "optimizer_step_time", "scaling_efficiency",
           "model_flops_utilization", "hardware_flops_utilization", "training_throughput",
           "time_to_train", "micro_batches", "model_flops_per_token", "hardware_flops_per_token",
           "weight_memory", "gradient_memory", "optimizer_memory", "activation_memory",
           "logits_memory", "last_stage_activation_memory", "recompute_working_memory",
           "parameter_gather_memory", "training_memory", "training_memory_utilization",
           "trainable_parameters", "devices",
           "training_step_flops", "training_step_bytes", "moe_padding_flops_per_token",
           "moe_dispatch_flops_per_token", "moe_routing_flops_per_token", "host_issue_time",
           "host_wait_time", "stage_imbalance_time")


# ---------------------------------------------------------------------------------------------
# The composed systems and their kernels
# ---------------------------------------------------------------------------------------------
@lru_cache(maxsize=2)
def training_system(mode: str = "full"):
    """Walls 1-3 and 14 composed by the training-step record (``mode``: "full" or "lora")."""
    from ...equations import training as training_record
    from ...equations import walls
    from ...system import System
    return System(training_record.equations(mode), training_record.WALL.constraints,
                  walls=(walls.software, training_record.WALL), name=f"training ({mode})")


def iron_law(system=None):
    """The Iron Law (:class:`~mlsysim_sym.analysis.iron_law.IronLaw`) of ``system``."""
    from ...analysis.iron_law import iron_law as law_of
    return law_of(system or training_system("full"))


def __getattr__(name):
    # IronLaw is re-exported here; importing it loads sympy and the walls, so only on demand
    if name == "IronLaw":
        from ...analysis.iron_law import IronLaw
        return IronLaw
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def input_names(mode) -> tuple:
    """The kernel's inputs, in order."""
    return (MODEL_INPUTS + TRAINABLE_INPUTS[mode] + HARDWARE_INPUTS + PRECISION_INPUTS
            + EFFICIENCY_INPUTS + KNOB_INPUTS)


@lru_cache(maxsize=2)
def kernel(mode):
    """The step's outputs compiled over :func:`input_names` (once per mode, disk-cached)."""
    return cached_kernel(f"training ({mode})", OUTPUTS, input_names(mode),
                         lambda: training_system(mode))


_ZERO_IN = ("data_parallel", "context_parallel", "global_batch", "micro_batch")


@lru_cache(maxsize=8)
def _zero_kernel(stage: int, vectorised: bool):
    """(function, output names) of the ZeRO glue of one stage, from the disk cache."""
    flavour = "numpy" if vectorised else "math"
    return cached_function(f"ZeRO stage {stage}", flavour, lambda: _zero_glue(stage, flavour))


def _zero_glue(stage: int, flavour: str):
    """The ZeRO glue of one stage (with the step's m = B / (d b)) lambdified, and its outputs.

    The stage is substituted into the equations, so a state the stage does not partition is
    the number 1 (a scalar, as the knobs that are not swept), and without common-subexpression
    elimination each factor is evaluated as its equation is written (1/(d c), B/(d b))."""
    import sympy
    from ... import symbols as s
    from ...equations import operations
    from ...equations import training as training_record
    from ...system import System
    names = [eq.name for eq in operations.ZERO]
    mine = {eq.lhs: eq for eq in training_record.WALL.equations}
    system = System(operations.ZERO + (mine[s.micro_batches],), name="ZeRO stage")
    at = {s.zero_stage: sympy.Integer(stage)}
    exprs = [system.expr(name, constants=False).xreplace(at) for name in names]
    return (sympy.lambdify([system.symbol(n) for n in _ZERO_IN], exprs, modules=flavour,
                           cse=False), names)


def zero_inputs(stage, dp, cp, global_batch, micro_batch) -> dict:
    """Shard factors and collective passes per step of a ZeRO stage (base magnitudes)."""
    args = (dp, cp, global_batch, micro_batch)
    vectorised = any(isinstance(a, np.ndarray) for a in args)
    fn, names = _zero_kernel(int(stage), vectorised)
    out = fn(*args)
    return {k: v if isinstance(v, np.ndarray) else float(v) for k, v in zip(names, out)}


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------
def model_values(m) -> dict:
    """The architecture of a decoder transformer as the step's model inputs."""
    head_dim, kv_heads = getattr(m, "head_dim", None), getattr(m, "kv_heads", None)
    mla = getattr(m, "mla", None)
    if mla is not None and m.heads:
        # multi-head latent attention trains with per-head queries and keys of
        # qk_nope + qk_rope dims and values of v dims: Q K^T and A V cost 2 H (d_qk + d_v) per
        # query-key pair, i.e. 4 H d with d = (d_qk + d_v) / 2; K and V are materialised per
        # head (DeepSeek-V2 Sec. 2.1), so kv_heads = heads for the training step.
        head_dim = (mla.qk_nope_head_dim + mla.qk_rope_head_dim + mla.v_head_dim) / 2
        kv_heads = m.heads
    missing = [k for k, v in (("layers", m.layers), ("heads", m.heads), ("hidden", m.hidden),
                              ("head_dim", head_dim), ("kv_heads", kv_heads), ("vocab", m.vocab))
               if v in (None, 0)]
    if missing or m.parameters is None:
        raise ValueError(f"model {m.name!r} lacks {', '.join(missing) or 'a parameter count'}: "
                         "train() needs a decoder transformer architecture")
    experts = 0
    if getattr(m, "family", None) == "moe":
        experts = m.parameter_breakdown().get("experts", 0)
    return {"parameters": m.parameters, "active_parameters": m.active_parameters,
            "expert_parameters": Q_(experts, "param"), "layers": m.layers, "heads": m.heads,
            "kv_heads": kv_heads, "head_dim": head_dim, "hidden": m.hidden,
            "vocabulary": m.vocab, "moe_layers": m.moe_layers or 0,
            "experts_per_token": m.experts_per_token or 0,
            # routed experts per MoE layer (1 for a dense model, whose expert_parameters are 0)
            "moe_experts": (m.moe.experts if experts else 1),
            "ffn_width": (2.0 if m.ffn_gated else 1.0) * _ffn_per_token(m),
            "ffn_gated": 1.0 if m.ffn_gated else 0.0,
            "parallel_block": 1.0 if getattr(m, "parallel_block", False) else 0.0,
            # queries and keys rotated in every layer (RoPE): the memory-bound kernels' bytes
            "rotary_embedding": 1.0 if getattr(m, "position", None) == "rope" else 0.0,
            **largest_tensors(m, head_dim, kv_heads, experts)}


def _ffn_per_token(m) -> float:
    """FFN intermediate width a token passes through, per layer (averaged over the layers; the
    live width ``ffn_width`` doubles it for a gated FFN's two up-projections):
    the dense ``ffn`` (the GPT convention 4 h when the model does not give one); in MoE layers
    the routed and shared experts it passes through, (k + shared) x expert_ffn."""
    dense = float(m.ffn or 4 * m.hidden)
    moe_layers = m.moe_layers or 0
    if getattr(m, "family", None) != "moe" or not moe_layers or not m.expert_ffn:
        return dense
    routed = float((m.experts_per_token or 0) + (m.shared_experts or 0)) * m.expert_ffn
    return (dense * (m.layers - moe_layers) + routed * moe_layers) / m.layers


def lora_width(m, targets) -> float:
    """sum over adapted matrices of (d_in + d_out), all layers (Hu et al. Sec. 4.1)."""
    h, q, kv = m.hidden, m.heads * m.head_dim, m.kv_heads * m.head_dim
    f = m.ffn or 4 * h
    dims = {"q": h + q, "k": h + kv, "v": h + kv, "o": q + h, "up": h + f, "gate": h + f,
            "down": f + h}
    bad = [x for x in targets if x not in dims]
    if bad:
        raise ValueError(f"unknown LoRA targets {bad}; choose from {', '.join(dims)}")
    if "gate" in targets and not m.ffn_gated:
        raise ValueError(f"model {m.name!r} has no gated FFN: LoRA target 'gate' does not exist")
    return float(m.layers * sum(dims[x] for x in targets))


# ---------------------------------------------------------------------------------------------
# The inputs of one call
# ---------------------------------------------------------------------------------------------
def _base(name, value):
    """Base magnitude of a number (or array) in the symbol's declared unit."""
    return np.asarray(value, dtype=float) * base_factor(info(name).unit) \
        if isinstance(value, np.ndarray) else float(value) * base_factor(info(name).unit)


def _state_inputs(cfg: TrainConfig, xla: bool = False) -> dict:
    """States' bytes, workspace, gather unit; a TPU: no CUDA stack, XLA's loss, per-tensor."""
    values = dict(_state_bytes(cfg.precision, cfg.loss or ("xla" if xla else "fused"),
                               cfg.fp8_recipe, cfg.state_dtypes))
    values["framework_workspace"] = (0.0 if xla else _default_workspace()) \
        if cfg.workspace is None else checks.quantity("workspace", cfg.workspace, "GB", low=0)
    values["gather_per_tensor"] = 1.0 if xla else 0.0
    return values


@lru_cache(maxsize=32)
def _state_bytes(precision, loss, fp8_recipe, state_dtypes=None) -> tuple:
    """Bytes of the training states at ``precision`` (saved linear inputs by ``fp8_recipe``;
    a JAX / optax layout's own dtypes) and per logit of the ``loss`` kernel."""
    sb = state_bytes(precision, fp8_recipe, state_dtypes)
    return (("bytes_per_parameter", _base("bytes_per_parameter", sb.weights)),
            ("gathered_bytes_per_parameter", _base("gathered_bytes_per_parameter", sb.gathered)),
            ("gradient_bytes_per_parameter", _base("gradient_bytes_per_parameter", sb.gradients)),
            ("optimizer_bytes_per_parameter", _base("optimizer_bytes_per_parameter",
                                                    sb.optimizer)),
            ("activation_bytes_per_element", _base("activation_bytes_per_element",
                                                   sb.activations)),
            ("gemm_input_bytes_per_element", _base("gemm_input_bytes_per_element",
                                                   sb.gemm_inputs)),
            ("logits_bytes_per_element", _base("logits_bytes_per_element", LOSS_BYTES[loss])),
            ("loss_traffic_per_logit", _base("loss_traffic_per_logit", LOSS_TRAFFIC[loss])))


def xla_device(hw) -> bool:
    """A Google TPU: its training step is one XLA program. The default ``framework_workspace``
    is the CUDA stack's (the CUDA context, NCCL channel buffers, cuBLAS / cuDNN workspaces:
    defaults.yaml), none of which a TPU has: XLA:TPU assigns the program's HBM buffers when it
    compiles (an over-budget program fails to compile: tpu-recipes training/trillium/
    Llama3.1-8B-MaxText/v6e-8/README.md, 'CompileTimeHbmOom ... Ran out of memory in memory
    space hbm') and runs its collectives inside the program, so none is charged there."""
    return hw.vendor == "google"


@lru_cache(maxsize=1)
def _default_workspace() -> float:
    return checks.quantity("workspace", default("framework_workspace"), "GB", low=0)


def _narrow_gemms(precision) -> bool:
    """The GEMMs run narrower than their 16-bit activations (FP8 and below)."""
    return precision in MIXED_PRECISIONS and precision not in NATIVE_16BIT


def _knob_inputs(cfg: TrainConfig, dp) -> dict:
    r_d, r_a, r_o, r_j = cfg.recompute_fractions
    tokens = cfg.tokens
    tok = float("nan") if tokens is None else float(checks.quantity(
        "tokens", tokens, info("training_tokens").unit, low=0.0, low_open=True)
        if not isinstance(tokens, np.ndarray) else np.nan)
    values = dict(tensor_parallel=cfg.tp, pipeline_parallel=cfg.pp, data_parallel=dp,
                  context_parallel=cfg.cp, expert_parallel=cfg.ep,
                  pipeline_interleave=cfg.interleave, micro_batch=cfg.micro_batch,
                  global_batch=cfg.global_batch,
                  sequence_length=_base("sequence_length", cfg.seq_len) * cfg.sequence_fill,
                  sequence_fill=cfg.sequence_fill, head_token_fraction=cfg.head_token_fraction,
                  recomputed_dense_fraction=r_d, recomputed_attention_fraction=r_a,
                  recomputed_op_fraction=r_o, recomputed_dots_fraction=r_j,
                  sequence_parallel=1.0 if cfg.sequence_parallel else 0.0,
                  attention_scores_stored=1.0 if cfg.kernel == "eager" else 0.0,
                  dropout_masks_stored=1.0 if cfg.dropout else 0.0,
                  fused_memory_kernels=1.0 if cfg.memory_kernels == "fused" else 0.0,
                  fp8_activation_casts=1.0 if _narrow_gemms(cfg.precision) else 0.0,
                  head_stage_imbalance=1.0 if cfg.even_layer_split else 0.0,
                  **_routing_inputs(cfg),
                  training_tokens=tok, host_link_bandwidth=_base("host_link_bandwidth",
                                                                  HOST_LINK_GBPS),
                  loss_vocab_tiles=cfg.vocab_tiles)
    placed = cfg.placement
    values["recomputed_custom_fraction"] = 1.0 if placed else 0.0
    for k in PLACEMENT_NAMES:
        # the layer input is the scanned layers' carry: saved even when named "remat"
        where = placed.get(k, "none")
        where = "device" if (k == "layer_input" and where == "remat") else where
        values[f"device_{k}"] = 1.0 if where == "device" else 0.0
        values[f"offload_{k}"] = 1.0 if where == "offload" else 0.0
    values.update(zero_inputs(cfg.zero_stage, dp, cfg.cp, cfg.global_batch, cfg.micro_batch))
    return values


def _routing_inputs(cfg: TrainConfig) -> dict:
    """The MoE dispatcher's inputs: capacity factor (1: dropless), one-hot einsum dispatch,
    and the token permutes per forward (Megatron-Core's AlltoAll dispatcher: a global and a
    local permute on each side of the all-to-all when ep > 1; flex (DeepEP / HybridEP): the
    global one fused into the communication; einsum: none)."""
    einsum = cfg.token_dispatcher == "einsum"
    passes = 0.0 if einsum else 2.0 + (2.0 if cfg.token_dispatcher == "alltoall"
                                       and cfg.ep > 1 else 0.0)
    return dict(expert_capacity_factor=1.0 if cfg.capacity_factor is None
                else float(cfg.capacity_factor),
                dense_dispatch=1.0 if einsum else 0.0, token_permute_passes=passes)


def model_magnitudes(m) -> dict:
    """:func:`model_values` of ``m`` as base magnitudes (cached per model object: read only)."""
    return cached(_model_magnitudes, m)


def _model_magnitudes(m) -> dict:
    mv = model_values(m)
    return {k: checks.magnitude(k, mv[k]) for k in MODEL_INPUTS}


def _machine_magnitudes(mach: Machine, precision) -> dict:
    """The chip's peak at ``precision`` and the machine's links as base magnitudes (cached per
    machine and precision: read only)."""
    values = {"peak_flops": checks.magnitude("peak_flops", mach.hardware.peak_flops(precision))}
    values.update({k: checks.magnitude(k, mach.values[k]) for k in HARDWARE_INPUTS
                   if k != "peak_flops"})
    return values


def _attention_peak(hw, precision) -> float:
    return checks.magnitude("attention_peak_flops", attention_peak(hw, precision))


def _head_peak(hw, precision) -> float:
    return checks.magnitude("head_peak_flops", head_peak(hw, precision))


def step_inputs(cfg: TrainConfig, m, mach: Machine, dp, efficiencies: dict) -> dict:
    """{kernel input: base magnitude} of one call (``efficiencies``: base magnitudes of the
    efficiency inputs, published figures in). What depends only on the model, the machine
    and the precision is cached per object (no unit work on a repeated call)."""
    values = dict(model_magnitudes(m))
    if cfg.mode == "full":
        values["trainable_parameters"] = values["parameters"]
    else:
        values["lora_rank"] = float(checks.count("lora_rank", cfg.lora_rank, 1, None))
        values["lora_adapted_width"] = lora_width(m, tuple(cfg.lora_targets))
    values.update(cached(_machine_magnitudes, mach, cfg.precision))
    xla = xla_device(mach.hardware)
    values.update(_state_inputs(cfg, xla))
    # gradients exist at the loss unless the step is one XLA program with one micro-batch
    # (jax.value_and_grad creates them in the backward; accumulation keeps them across)
    single = np.asarray(cfg.global_batch) <= np.asarray(dp) * np.asarray(cfg.micro_batch)
    values["gradients_live_at_loss"] = np.where(single & xla, 0.0, 1.0) \
        if np.ndim(single) else (0.0 if (xla and bool(single)) else 1.0)
    values.update(efficiencies)
    values["attention_peak_flops"] = cached(_attention_peak, mach.hardware, cfg.precision)
    values["head_peak_flops"] = cached(_head_peak, mach.hardware, cfg.precision)
    values.update(_knob_inputs(cfg, dp))
    r_d, r_a = (float(r) for r in cfg.recompute_fractions[:2])
    # the host's operations, syncs and operations after each (:mod:`.host`; none on a TPU)
    (values["host_ops_per_layer"], values["host_syncs_per_moe_layer"],
     values["host_ops_after_sync"]) = cached(
        host_inputs, m, xla_device(mach.hardware), _narrow_gemms(cfg.precision), int(cfg.ep),
        cfg.token_dispatcher, bool(cfg.cuda_graphs), cfg.capacity_factor is not None, r_d, r_a,
        cfg.fp8_recipe, cfg.modules)
    values["host_op_time"] = _base("host_op_time", host_op_us(mach.hardware.name, cfg.cpu_binding))
    values["recomputed_module_flops"] = _base("recomputed_module_flops",
                                              module_recompute_flops(m, cfg.modules))
    values["stage_layer_imbalance"] = stage_imbalance(cfg.stage_layers, m.layers, cfg.pp)
    values["gemm_shape_efficiency"] = shape_efficiency(  # at the computed (mean padded) length
        m, mach.hardware, cfg.tp, cfg.cp, cfg.micro_batch, cfg.seq_len * cfg.sequence_fill, cfg.ep)
    return values
