"""Training: ``train`` a model on a cluster (the training-step workload composed with walls 1,
2, 3 and 14; walls 15, 17, 18, 19 on demand for failures, energy, carbon, water, cost).

- :mod:`.config`: :class:`TrainConfig`, train()'s knobs checked once (and the training-state
  bytes of a precision, from the vocabulary);
- :mod:`.machine`: a cluster or chip -> the machine inputs; the tp x pp x dp x cp layout;
- :mod:`.efficiency`: calibrated efficiencies by :class:`~mlsysim_sym.defaults.VariantKey`,
  the attention kernel's variant, the fabrics' published collective efficiencies;
- :mod:`.step`: the composed system and its kernels, and the inputs of one call;
- :mod:`.ops`: the operations walls on the run's time to train;
- :mod:`.result`: :class:`TrainResult`;
- this module: :func:`train` and its uncertainty bands.

Assumptions (each also listed in ``TrainResult.assumptions`` when used): a chip with
``devices=N`` means standard nodes of that chip (the registry's node, DGX before HGX; 8 per
node and the chip's own links without one); each device drives ``nics_per_node /
accelerators_per_node`` of one scale-out port (rails); Megatron rank order tp-cp-dp-pp, ZeRO
shards over the d x c data-parallel ranks; mixed precision keeps 2 + 2 + 12 bytes per
parameter (fp32/tf32: 4 + 4 + 8), 16-bit activations (32-bit at fp32/tf32; the linear
layers' saved inputs in FP8 under Transformer Engine's FP8 recipe); FlashAttention by default.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ... import checks, registry
from ...units import Q_
from .._core.inputs import cached
from .config import TrainConfig
from .efficiency import (EFFICIENCY_KEYS, attention_variant, default_name, efficiencies,
                         efficiency_default, given_keys, overlaps,
                         published_link_efficiencies)
from .machine import Machine, first_bad, layout, machine_of
from .ops import ops_context
from .result import GROUPS, TERMS, TrainResult
from .step import (OUTPUTS, input_names, iron_law, kernel, model_magnitudes, step_inputs,
                   training_system, xla_device)

__all__ = ["train", "run", "TrainConfig", "TrainResult", "training_system", "iron_law",
           "IronLaw", "EFFICIENCY_KEYS", "TERMS", "GROUPS", "attention_variant",
           "efficiency_default", "published_link_efficiencies"]


def __getattr__(name):
    # IronLaw is re-exported here; importing it loads sympy and the walls, so only on demand
    if name == "IronLaw":
        from .step import IronLaw
        return IronLaw
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def train(model, cluster, *, devices=None, tp=1, pp=1, dp=None, cp=1, ep=1, micro_batch=1,
          global_batch, seq_len=2048, precision="bf16", recompute="none", zero_stage=0,
          sequence_parallel=False, interleave=1, overlap=1.0, tokens=None, datacenter=None,
          efficiency=None, flash_attention=True, model_parallel_overlap=None, lora_rank=None,
          lora_targets=("q", "v"), attention_kernel=None, even_layer_split=False,
          allow_cross_node_tp=False, ops=None, uncertainty=False, loss=None,
          workspace=None, dropout=False, memory_kernels="fused",
          fp8_recipe="transformer_engine", capacity_factor=None, token_dispatcher="alltoall",
          ep_overlap=None, tp_overlap=None, pp_overlap=None, state_dtypes=None,
          cuda_graphs=False, vocab_tiles=1, sequence_fill=1.0, head_token_fraction=1.0,
          recompute_modules=None, cpu_binding=True, stage_layers=None) -> TrainResult:
    """Predict step time, MFU/HFU, throughput and per-device memory of one training step.

    Every keyword is a field of :class:`TrainConfig` (its docstring says more); in short:

    Parameters
    ----------
    model : str or Model
        Registry name or a Model (e.g. ``Model.from_hf_config(path)``).
    cluster : str, Cluster or Hardware
        A registry cluster, or an accelerator with ``devices=N`` (standard nodes of that chip).
    devices : int, optional
        Accelerators used (default: the whole cluster).
    tp, pp, dp, cp, ep, interleave : int (tp, pp, dp: or arrays, broadcast)
        Tensor, pipeline, data, context, expert parallel degrees (``dp`` defaults to
        devices / (tp pp cp)); model chunks per pipeline stage (interleaved 1F1B).
    micro_batch, global_batch, seq_len : int or array of int
        Sequences per micro-batch and per optimizer step; tokens per sequence.
    sequence_fill, head_token_fraction : float
        Mean padded length over seq_len; share of tokens the output layer runs on (default 1).
    precision, recompute, zero_stage : str; "none" | "selective" | "full" | "op" | "dots"
        | "nothing_saveable" (JAX / MaxText full remat) | float
        | {class: "remat" | "device" | "offload"} (per-tensor placement, host offload); 0-3
        Compute precision (storage follows mixed-precision Adam); activation recomputation;
        ZeRO / distributed-optimizer sharding over the data-parallel ranks.
    sequence_parallel, flash_attention, attention_kernel, even_layer_split, dropout, loss
        Megatron sequence parallelism; the attention kernel (fused, "fa2" or "eager"); the
        last pipeline stage also runs the LM head; dropout masks; the loss (None: XLA's on a TPU).
    memory_kernels : "fused" | "unfused"
        The memory-bound kernel set (Megatron-LM / TE fusions, or PyTorch eager).
    fp8_recipe : "transformer_engine", "torchao", "transformer_engine_mxfp8" or "transformer_engine_mxfp8_unfused"
        Below 16 bits, whether the linear layers save their inputs' FP8 cast (Transformer
        Engine) or the 16-bit inputs (torchao Float8Linear) for the backward; TE's MXFP8
        recipe also issues its block scales' kernels from the host (fused, or before TE's
        fused scale allocation and swizzle: ``TrainConfig``).
    state_dtypes : dict, optional
        {"weights" | "gradients" | "first_moment" | "second_moment": "fp32" | "bf16"}: the
        JAX / optax layout (MaxText weight_dtype, grad_dtype, mu_dtype) in place of
        mixed-precision Adam.
    vocab_tiles : int
        Chunks of the loss's tokens (MaxText ``num_vocab_tiling``): the logits' memory / it,
        one more LM-head forward per token when > 1.
    overlap, tp_overlap, pp_overlap, ep_overlap, model_parallel_overlap : float in [0, 1]
        Shares of the DP (default 1), TP, PP and EP traffic hidden by compute (default: the
        class's calibrated ``*_parallel_overlap``, the value the fit used; 0 for a framework
        that does not overlap it); ``model_parallel_overlap`` sets TP, PP and EP at once.
    capacity_factor, token_dispatcher : float; "alltoall" | "flex" | "einsum"
        A dropping MoE's expert capacity (default dropless); how tokens reach the experts
        (Megatron-Core's AlltoAll or flex dispatcher, or GShard's one-hot einsums).
    cuda_graphs : bool
        Static layer parts replay as CUDA graphs (one host launch per captured region;
        default False, eager); the step is host-bound when issue outlasts the device.
    recompute_modules, cpu_binding, stage_layers : tuple of str; bool; float
        Megatron-Core's --recompute-modules; NUMA-bound processes; busiest rank's layers.
    efficiency : float or dict, optional
        GEMM efficiency, or any of ``EFFICIENCY_KEYS`` (arrays allowed); default: the
        calibrated values of ``defaults.yaml``.
    tokens, datacenter, ops : optional
        Training tokens (``time_to_train``); the site and the inputs of walls 15, 17, 18, 19.
    lora_rank, lora_targets, allow_cross_node_tp, workspace
        LoRA adapters; tp beyond a node; framework memory beyond the modelled tensors.
    uncertainty : bool or int
        Also p10/p50/p90 bands (``result.bands``) by Monte Carlo over the calibrated
        efficiencies' spreads (``True``: 2000 draws); scalar knobs only.

    Returns
    -------
    TrainResult
    """
    return run(TrainConfig(**locals()))


def run(cfg: TrainConfig) -> TrainResult:
    """One training step of a checked :class:`TrainConfig` (what :func:`train` calls)."""
    if cfg.uncertainty:
        return _with_bands(cfg)
    m = registry.model(cfg.model)
    mach, notes = machine_of(cfg.cluster, cfg.devices)
    notes = list(notes)
    moe = model_magnitudes(m)["moe_layers"] > 0
    swept = any(isinstance(v, np.ndarray) for v in (cfg.tp, cfg.pp, cfg.micro_batch,
                                                    cfg.global_batch, cfg.seq_len))
    if swept:
        checks.sweep_shape(("tp", cfg.tp), ("pp", cfg.pp), ("micro_batch", cfg.micro_batch),
                           ("global_batch", cfg.global_batch), ("seq_len", cfg.seq_len),
                           arrays=len(OUTPUTS) + 40)
    dp = layout(mach.devices, cfg.tp, cfg.pp, cfg.dp, cfg.cp, cfg.ep,
                mach.values["devices_per_node"], m.heads, cfg.allow_cross_node_tp, moe)
    _check_batches(cfg, dp)
    eff, published, defaulted = _efficiency_inputs(cfg, mach)
    values = step_inputs(cfg, m, mach, dp, eff)
    names = input_names(cfg.mode)
    args = [values[k] for k in names]
    ev = kernel(cfg.mode).lazy(args, any(isinstance(a, np.ndarray) for a in args))
    config = dict(mode=cfg.mode, devices=mach.devices, tp=cfg.tp, pp=cfg.pp, dp=dp, cp=cfg.cp,
                  ep=cfg.ep, micro_batch=cfg.micro_batch, global_batch=cfg.global_batch,
                  seq_len=cfg.seq_len, recompute=cfg.recompute, zero_stage=cfg.zero_stage,
                  sequence_parallel=bool(cfg.sequence_parallel), interleave=cfg.interleave,
                  even_layer_split=bool(cfg.even_layer_split),
                  flash_attention=cfg.kernel != "eager", attention_kernel=cfg.kernel,
                  tokens=cfg.tokens, node=mach.node and mach.node.name)
    dc = mach.datacenter if cfg.datacenter is None else registry.datacenter(cfg.datacenter)
    sb = cfg.state_bytes
    ops_ctx = ops_context(mach.hardware, mach.node, dc, cfg.ops, sb.weights + sb.optimizer)
    others = defaulted + (("framework_workspace",) if cfg.workspace is None
                          and not xla_device(mach.hardware) else ())
    defaults = dict(given=given_keys(cfg.efficiency), published=published, others=others)
    return TrainResult(ev, m, mach.hardware, cfg.precision, dict(zip(names, args)), config,
                       notes, ops_ctx, defaults=defaults)


def _check_batches(cfg: TrainConfig, dp):
    """global_batch splits into whole micro-batches over dp (and over pp when interleaved)."""
    B, b, pp = cfg.global_batch, cfg.micro_batch, cfg.pp
    bad = np.mod(B, dp * b) != 0
    if np.any(bad):
        (B_, d_, b_), where = first_bad(bad, B, dp, b)
        step = int(d_ * b_)
        lo = int(B_ // step) * step
        if step > B_:
            raise ValueError(f"dp x micro_batch = {d_:.6g} x {b_:.6g} exceeds global_batch="
                             f"{int(B_)}{where}: micro_batch must be at most global_batch / dp "
                             f"= {B_ / d_:.6g}")
        raise ValueError(f"global_batch={int(B_)}{where} must be a multiple of dp x micro_batch "
                         f"= {int(d_)} x {int(b_)} = {step}; nearest valid global batches: "
                         f"{', '.join(str(x) for x in (lo, lo + step) if x > 0)}")
    if cfg.interleave > 1:
        if np.any(np.asarray(pp) < 2):
            raise ValueError("interleave > 1 needs pp >= 2 (interleaved 1F1B)")
        if np.any(np.mod(B / (dp * b), pp) != 0):
            raise ValueError("the interleaved schedule needs the micro-batches per step, "
                             "global_batch / (dp x micro_batch), to be a multiple of pp "
                             "(Narayanan et al. Sec. 2.2.2)")


def _efficiency_inputs(cfg: TrainConfig, mach: Machine) -> tuple:
    """(base magnitudes of the efficiency inputs, the efficiency keys a fabric's published
    collective figure set, the overlap symbols left to their default): defaults, the
    user's, then the published link figures."""
    eff = efficiencies(cfg.efficiency, cfg.overlap, mach.hardware, cfg.precision, cfg.kernel)
    hidden, defaulted = overlaps(cfg.model_parallel_overlap, cfg.tp_overlap, cfg.pp_overlap,
                                 cfg.ep_overlap)
    eff.update(hidden)
    given = given_keys(cfg.efficiency)
    published = cached(_published, mach)
    used = tuple(k for k in published if k not in given)
    for key in used:  # the fabric's published collective figure
        eff[EFFICIENCY_KEYS[key][0]] = published[key]
    return eff, used, defaulted


def _published(mach: Machine) -> dict:
    """The machine's fabrics' published collective efficiencies (cached per machine)."""
    return published_link_efficiencies(mach.hardware, mach.node, mach.scale_up_fabric,
                                       mach.scale_out_fabric)


def _with_bands(cfg: TrainConfig) -> TrainResult:
    """run() plus Monte Carlo bands over the calibrated efficiencies (the same config, its
    defaulted efficiencies drawn from their spreads)."""
    from ...analysis.uncertainty import band_of, sample_parameters, training_regime
    r = run(replace(cfg, uncertainty=False))
    if np.ndim(r.value("training_step_time")):
        raise ValueError("uncertainty=True needs scalar knobs (no arrays)")
    given = cfg.efficiency
    given = given if isinstance(given, dict) else ({} if given is None else {"compute": given})
    names = {key: (default_name(sym, r.hardware, r.precision, r.config["attention_kernel"]),
                   unit or "dimensionless", bounds)
             for key, (sym, bounds, unit) in EFFICIENCY_KEYS.items()
             if key not in given and sym not in given}
    draws = sample_parameters(names, cfg.uncertainty)
    eff = dict(given)
    for key, arr in draws.items():
        unit = EFFICIENCY_KEYS[key][2]
        eff[key] = Q_(arr, unit) if unit else arr
    mc = run(replace(cfg, uncertainty=False, efficiency=eff))
    # the stratum of the calibrated discrepancy, around the point prediction
    at = dict(regime=training_regime(r.config["tp"], r.config["pp"]),
              vendor=r.hardware.vendor)
    step = r.step_time.to("s").magnitude
    r.bands = {"step_time": band_of(mc.step_time.to("s").magnitude, "s", "training",
                                    point=step, **at),
               "tokens_per_s": band_of(mc.tokens_per_s.to("token/s").magnitude, "token/s",
                                       "training", point=r.tokens_per_s.to("token/s").magnitude,
                                       **at)}
    # MFU moves inversely with the step time: the same draws, the same discrepancy
    mfu = band_of(1.0 / mc.step_time.to("s").magnitude, "1/s", "training", point=1.0 / step,
                  **at)
    scale = (r.mfu * r.step_time).to("s").magnitude
    r.bands["mfu"] = type(mfu)(*(Q_(q.magnitude * scale, "") for q in mfu))
    if cfg.tokens is not None:
        r.bands["time_to_train"] = band_of(mc.time_to_train.to("h").magnitude, "h", "training",
                                           point=r.time_to_train.to("h").magnitude, **at)
    return r
