"""Activation recomputation's choices (``recompute``: named policies, JAX placements,
Megatron-Core's modules) and what the step reads of them: the forward FLOPs per token of the
modules Megatron-Core's selective recomputation re-runs besides the attention core
(``recompute_modules``; megatron2025recompute), from the model's dimensions (the step's
``recomputed_module_flops``), and the busiest pipeline rank's layers (``stage_layers``).

- "mla_up_proj" (multi-head latent attention, every layer): the query up-projection from the
  query latent (q_lora_rank -> heads x (qk_nope + qk_rope); from the hidden state when the
  model has no query low-rank path) and the key-value up-projection (kv_lora_rank -> heads x
  (qk_nope + v)), 2 FLOPs per weight (DeepSeek-V2 Sec. 2.1; DeepSeek-V3: 2 x 128 x (1536 x 192
  + 512 x 256) = 109.1 MFLOP per token and layer, 6.65 GFLOP over 61 layers);
- "mlp" (the dense layers' MLP; an MoE layer's experts are Megatron-Core's "moe" module, not
  modelled): 2 x (3 if gated else 2) x hidden x ffn per dense layer;
- "moe_act" (the routed experts' activation) and the RoPE / concatenations: no GEMM FLOPs
  (their host operations are counted in :mod:`.host`).
"""

from __future__ import annotations

import numpy as np

from ... import checks

__all__ = ["RECOMPUTE", "PLACEMENT_NAMES", "PLACEMENTS", "NAMED_PLACEMENTS", "RECOMPUTE_MODULES",
           "module_recompute_flops", "checked_modules", "stage_imbalance"]

#: recompute choice -> (fraction of layers recomputed whole, fraction of attention cores
#: recomputed, fraction of layers under op-level checkpointing, fraction under JAX's dots-saved
#: policy): Korthikanti et al. 2022, Sec. 4 (selective: the attention core only); "op":
#: torchtitan's op-level selective checkpointing (the attention output and every other matmul
#: output saved, the other matmuls recomputed); "dots": jax.checkpoint_policies.
#: checkpoint_dots_with_no_batch_dims, MaxText's remat_policy "minimal" (the weight matmuls'
#: outputs the backward needs saved; the attention core, norms and activations recomputed)
RECOMPUTE = {"none": (0.0, 0.0, 0.0, 0.0), "selective": (0.0, 1.0, 0.0, 0.0),
             "full": (1.0, 1.0, 0.0, 0.0), "op": (0.0, 0.0, 1.0, 0.0),
             "dots": (0.0, 1.0, 0.0, 1.0)}
#: a placement policy (``recompute={class: placement}``): JAX's
#: ``checkpoint_policies.save_and_offload_only_these_names`` as MaxText's remat_policy "custom"
#: sets it (base.yml: each named tensor 'remat', 'device' or 'offload'); unnamed classes are
#: recomputed. Classes and the MaxText names they stand for:
PLACEMENT_NAMES = {"layer_input": "decoder_layer_input", "query": "query_proj",
                   "key_value": "key_proj, value_proj", "context": "context",
                   "out_proj": "out_proj", "mlp_up": "mlpwi (mlpwi_0, mlpwi_1)"}
PLACEMENTS = ("remat", "device", "offload")
#: JAX's ``checkpoint_policies.nothing_saveable`` (MaxText ``remat_policy: full``; the scanned
#: layer's input is its carry, saved either way) as a placement: every class recomputed, the
#: layer input kept. JAX recomputes from the saved inputs only the residuals the backward
#: consumes (jax2024remat: "any residuals consumed on the backward pass are re-computed from
#: those inputs as needed"), so a GEMM whose output only feeds a residual add (the
#: down-projection; the attention projection too in a parallel block) is not run again, where
#: Megatron's and PyTorch's full recomputation re-run the whole layer forward ("full").
NAMED_PLACEMENTS = {"nothing_saveable": {"layer_input": "device"}}

#: Megatron-Core's modules of selective recomputation (``recompute="selective"`` with
#: ``recompute_modules``): "core_attn" the attention core (the default, Korthikanti et al.'s
#: selective), "mla_up_proj" multi-head latent attention's query and key-value up-projections
#: and their RoPE, "mlp" the dense layers' MLP, "moe_act" the routed experts' activation.
#: Each re-runs its forward in the backward.
RECOMPUTE_MODULES = ("core_attn", "mla_up_proj", "mlp", "moe_act")


def checked_modules(value, recompute) -> tuple:
    """``recompute_modules`` checked: names of :data:`RECOMPUTE_MODULES`, with
    ``recompute="selective"`` (Megatron-Core's --recompute-granularity selective)."""
    names = (value,) if isinstance(value, str) else value
    if not isinstance(names, (tuple, list)) or not all(isinstance(x, str) for x in names):
        raise ValueError("recompute_modules must be a tuple of module names among "
                         f"{', '.join(RECOMPUTE_MODULES)}, got {value!r:.60}")
    bad = [x for x in names if x not in RECOMPUTE_MODULES]
    if bad:
        raise ValueError(f"recompute_modules: {bad[0]!r:.40} is not one of "
                         f"{', '.join(RECOMPUTE_MODULES)}")
    if recompute != "selective":
        raise ValueError("recompute_modules needs recompute='selective' (Megatron-Core's "
                         "--recompute-modules go with selective granularity), got "
                         f"{recompute!r:.40}")
    return tuple(sorted(set(names)))


def module_recompute_flops(model, modules) -> float:
    """Forward FLOPs per token (all layers) of the recomputed ``modules`` of ``model``."""
    flops = 0.0
    if "mla_up_proj" in modules:
        mla = getattr(model, "mla", None)
        if mla is None:
            raise ValueError(f"recompute_modules 'mla_up_proj' needs a multi-head latent "
                             f"attention model; {model.name!r} has none")
        q_in = getattr(mla, "q_lora_rank", None) or model.hidden
        q_width = model.heads * (mla.qk_nope_head_dim + mla.qk_rope_head_dim)
        kv_width = model.heads * (mla.qk_nope_head_dim + mla.v_head_dim)
        flops += 2.0 * model.layers * (q_in * q_width + mla.kv_lora_rank * kv_width)
    if "mlp" in modules:
        dense_layers = model.layers - (getattr(model, "moe_layers", 0) or 0)
        ffn = float(model.ffn or 4 * model.hidden)
        flops += 2.0 * dense_layers * (3.0 if model.ffn_gated else 2.0) * model.hidden * ffn
    return flops


def stage_imbalance(stage_layers, layers, pp):
    """Layers on the busiest pipeline rank over the even share L/p (``stage_layers``, e.g. from
    Megatron-Core's ``--pipeline-model-parallel-layout``; None: an even split, 1). It cannot
    be below L/p (the ranks hold all L layers) nor above L."""
    if stage_layers is None:
        return 1.0
    stage_layers = checks.number("stage_layers", stage_layers, low=1.0)
    pp = np.asarray(pp, dtype=float)
    low = layers / pp
    if np.any(stage_layers < low - 1e-9) or np.any(stage_layers > layers):
        raise ValueError(f"stage_layers ({stage_layers:g}) must be between L/pp "
                         f"({float(np.min(low)):g}) and the model's {layers} layers")
    ratio = stage_layers / low
    return ratio if ratio.ndim else float(ratio)
