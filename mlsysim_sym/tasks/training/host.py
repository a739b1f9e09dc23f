"""The operations the host issues one at a time per layer and micro-batch (``host_ops_per_layer``)
and the CPU time each costs on the chip's host (``host_op_time``): the inputs of the step's host-bound term.

The count is taken from the model's structure as Megatron-Core with Transformer Engine runs a
layer eagerly (PyTorch), not fitted. It is written down here, module by module, with the
reasoning; the sources are the NVIDIA write-up on DeepSeek-V3 on GB200 (Yao et al. 2025,
``yao2025dsv3gb200`` in the bibliography) and the Megatron-Core / Transformer Engine features
it names. Counted per layer and micro-batch:

- a linear layer (Transformer Engine's module): its forward costs the host 99.66 us on GB200
  at BF16 against 37.08 us for ``torch.nn.Linear`` (one GEMM kernel) on the same host
  (Transformer Engine issue 2053, CPU runtime per Linear forward, hidden 2048, 8192 tokens):
  2.69 operations; at FP8 twice that ("scheduling a te.Linear layer in FP8 takes more than 2x
  more time compared to ... BF16", Transformer Engine issue 761); its backward (data and
  weight gradients) as much as its forward (assumed: no source times it): 5.38 operations
  per micro-batch at 16 bits, 10.75 at FP8;
- every other operation (norm, rotary embedding, attention core, activation, residual add,
  token permute, all-to-all): one kernel forward and one backward;
- attention: two linears (fused QKV, output projection) and four other operations (input norm,
  rotary, core, residual add); with multi-head latent attention five linears (query down and
  up, key-value down and up, output) and two more norms (the query and key-value latents);
  without a query low-rank path four linears and one more norm;
- dense FFN: two linears (gate and up fused, down) and three other operations (norm,
  activation, residual add);
- MoE FFN: norm and residual add; the router (72 kernels before router fusion, Sec. 2.1.4)
  and the dispatcher's own operations: the AlltoAll dispatcher's preprocess (token counts per
  expert, their exchange over the EP group, the device-to-host copy of the counts, the split
  sizes) and its global and local permutes and all-to-all on each side (12); the flex
  dispatcher (DeepEP / HybridEP) fuses the preprocess and the global permute: router and
  preprocess 17 (Sec. 2.2.1) plus the dispatch, combine and local permutes (4); then each of
  the device's ``experts / ep`` experts (multi-stream cuBLAS grouped GEMM: one GEMM per expert,
  Sec. 1 item 3): two linears and an activation; each shared expert the same, plus the add;
- recomputation: a recomputed layer issues its forward again; the selective policy the
  attention core again.

With CUDA graphs (``cuda_graphs=True``; Transformer Engine's ``make_graphed_callables`` per
layer, Sec. 2.3) a captured region costs one launch forward and one backward: a dense layer's
attention and MLP (two regions); an MoE layer's attention, router, dispatcher preprocess and
shared experts (one region; ``--cuda-graph-scope attn moe_router moe_preprocess``); the routed
experts, the dispatch and the combine stay eager (dynamic shapes in a dropless MoE).
On a TPU the step is one XLA program (``jax.jit``): no operation is issued one by one.

Device-to-host synchronisations (``host_syncs``). A dropless MoE needs each expert's token
count on the host before the dispatch: Megatron-Core's AlltoAll dispatcher copies the counts
to the host and synchronises the stream "before_ep_alltoall" (dropless, EP > 1 or more than one
local expert; ``MoEAlltoAllTokenDispatcher.preprocess``, megatron/core/transformer/moe/
token_dispatcher.py); the flex dispatcher (DeepEP / HybridEP) keeps the same sync ("the
device-host sync in the MoE model (its purpose is to get the tokens per expert information)",
Yao et al. Sec. 3.1: it is what keeps the routed experts out of the CUDA graphs). A dropping MoE
padded to its capacity (``capacity_factor``) knows its counts on the host: no sync. One sync per
MoE layer forward (a recomputed forward repeats it); the backward reuses the split sizes the
forward stored on the host. After the sync the host issues the dispatch, the routed experts'
forward and the combine with the device idle behind it (the host cannot have run ahead):
``host_ops_after_sync`` counts those operations (AlltoAll: the all-to-all, the local permute
and unpermute and the combine's all-to-all, unpermute and sum, 7; flex: dispatch, combine and
the local permutes, 4; then each local expert's two linears' forward and its activation).

Module recomputation (``recompute="selective"`` with ``recompute_modules``, Megatron-Core's
``--recompute-modules``): the recomputed modules' forward again, eagerly unless captured: the
dense layers' MLP (``mlp``: two linears and the activation), each routed expert's activation
(``moe_act``) and the MLA up-projections (``mla_up_proj``, every layer). The last is timed by
the write-up's table, not counted: its structure (Megatron-Core ``qkv_up_proj_and_rope_apply``
under ``CheckpointWithoutOutput``: the query and key-value up-projections, two linears of 5.375
forward operations at FP8, their RoPE and concatenations, 4 more) gives 14.75 operations, but
the write-up finds the recomputation costly for its "serious CPU overhead" (Sec. 2.2.2: the
checkpoint's own Python and FP8 state around it), and its "Remove up_proj recompute" row
(566.07 -> 610.71 TFLOPS, a host-bound step of 14.820 s falling by 1.083 s; the up-projection's
0.09 s of FLOPs hidden behind the host) gives 1.083 s / (488 layer passes x 40.87 us, the
unbound host) = 54.3 operations per layer and micro-batch (:data:`MLA_UP_PROJ_RECOMPUTE_OPS`;
a lower bound: the same row adds the attention output's re-quantisation, Sec. 2.2.2).

MXFP8 block scales (``fp8_recipe="transformer_engine_mxfp8"`` / ``..._unfused``; Sec.
2.1.2-2.1.3). Each quantisation allocates four tensors ({row-, column-wise} x {data, scales});
the Tensor Core reads the scales swizzled and zero-padded. Before Transformer Engine's fused
allocation (PRs 1793/1934/2134) and fused swizzle (PR 2019) the two scale tensors were
``torch.zeros`` (one kernel each) and each GEMM swizzled each operand's scales (one kernel
each): per linear and micro-batch two quantisations (the input forward, the output gradient
backward; the weights' cast is cached after the first micro-batch: Megatron-Core's TE
wrappers pass ``is_first_microbatch``) x 2 zero fills + three GEMMs (forward, data and
weight gradient) x 2 swizzles = 10 operations, 4 of them in the forward. Since those PRs (the
default) the scales come from one pre-allocated buffer and one kernel swizzles all of a
GEMM call's scales: 3 per linear module (1 forward), and a grouped GEMM's experts share its 3.
``..._unfused_swizzle`` is Transformer Engine between the two: the fused allocation, a
swizzle per GEMM operand. The per-tensor FP8 recipe has neither (its cost is TE issue 761's
factor 2).

A scale kernel costs the host less than a module's forward (37.08 us, TE issue 2053: Python,
the module call, one launch): Transformer Engine creates the scale tensors and launches the
swizzles from its C++ extension. Its time is taken from the write-up's own optimisation
history (Sec. 3 table, TFLOPS/GPU at a fixed FLOP count, so step time ~ 1/TFLOPS; the step
is host-bound at both rows of each pair, Sec. 2, so the saving is host time):

- fused allocation ("Fuse torch.zeros for scaling factor allocation & Permute kernel
  Optimization", 494.46 -> 529.55, the baseline's configuration): the step's 16.966 s (8389
  TFLOP per GPU at Megatron-Core's count) fall by 1.124 s, over the zero fills of one
  pipeline stage's step: m L/p (the stage's 64 micro-batches x 61/8 layers) x 4 per linear
  (5 attention linears, the dense MLP's 2 or the shared expert's 2 and the 8 local experts'
  16 in an MoE layer; 2 more per linear of a recomputed dense MLP; the recomputed
  up-projection is timed whole, below): 43,456 fills, 25.9 us each on the unbound host
  (:data:`UNBOUND_HOST_FACTOR`), 0.633 of an operation (:data:`ZERO_FILL_OP`); the permute
  kernel's speed-up (device time) and the allocations without a kernel are counted in it;
- fused swizzle ("PDL for quantization kernels & Fuse MXFP8 swizzle scaling factor", 762.12
  -> 797.67, DeepEP, CUDA graphs over attention, router and preprocess, CPU bound): 0.491 s
  over 44,688 swizzles saved (an MoE layer's 16 expert and 2 shared-expert linears at 6 each,
  108, against 3 per shared linear and per grouped GEMM, 12; the dense MLP's 2 linears 6 -> 3
  each): 11.0 us, 0.296 of an operation (:data:`SWIZZLE_OP`), PDL's device-side gain in it.

CPU binding (``cpu_binding``). Without binding each training process to its GPU's NUMA node
(the baseline), every operation costs the Grace host 762.12 / 691.49 = 1.102 x more: the
write-up's "CPU-side optimization" row (bindpcie, Sec. 2.4: it "reduces per-GPU kernel launch
latency", 70.6 TFLOPS) on a host-bound step (step time ~ per-operation host time; a lower
bound of the factor, as part of that step was device time). Measured on Grace only: other
hosts keep their per-operation time.

The linear layers' measured times hold Transformer Engine's own Python logic and casts; not
counted (no source gives them per layer): the allocations without a kernel (a few
microseconds each, Sec. 2), Megatron-Core's Python between modules, per-expert stream
switches. The count is therefore a lower bound.
"""

from __future__ import annotations

from ...units import base_factor

__all__ = ["HOST_OP_US", "GRACE_HOSTED", "host_op_us", "host_ops_per_layer", "host_syncs",
           "host_inputs", "RECIPE_SCALES", "UNBOUND_HOST_FACTOR", "ZERO_FILL_OP", "SWIZZLE_OP",
           "LINEAR_OPS", "ROUTER_OPS", "DISPATCH_OPS", "DISPATCH_OPS_AFTER_SYNC", "SCALE_OPS",
           "MLA_UP_PROJ_RECOMPUTE_OPS"]

#: CPU time per eagerly issued operation, us, by the accelerator's host CPU: one
#: ``torch.nn.Linear`` forward (a module call and one kernel launch) measured on GB200 (Grace,
#: Arm Neoverse V2) and on an H100 DGX (Intel Xeon Platinum 8480C): Transformer Engine issue
#: 2053 ("High CPU overhead on Grace systems", 2025-08-11, BF16, hidden 2048, 8192 tokens).
#: Within Meta's Holistic Trace Analysis range for the CPU side of a launch (5-20 us) on x86.
HOST_OP_US = {"grace": 37.08, "x86": 13.48}
#: accelerators whose host is a Grace CPU (GB200 superchip: two B200 GPUs and one Grace CPU,
#: the registry's note); every other chip's host is taken as x86
GRACE_HOSTED = frozenset({"nvidia-gb200"})
_TE_LINEAR_FWD = 99.66 / 37.08   # a TE Linear forward in torch-Linear forwards (issue 2053)
#: operations per linear layer per micro-batch (forward + backward) by GEMM width
LINEAR_OPS = {"16-bit": 2 * _TE_LINEAR_FWD, "fp8": 2 * 2 * _TE_LINEAR_FWD}
#: the router's kernels per forward before router fusion (Sec. 2.1.4)
ROUTER_OPS = 72.0
#: the dispatcher's operations per forward: AlltoAll (preprocess 4: counts, exchange, D2H copy
#: of the counts, split sizes; a global and a local permute and an all-to-all on each side: 6;
#: combine sums the shared path: 2); flex: router and preprocess together 17 (Sec. 2.2.1), so
#: the router's own count is replaced, plus the all-to-all kernels and the local permutes (4)
DISPATCH_OPS = {"alltoall": 12.0, "flex": 4.0}
_FLEX_ROUTER = 17.0
#: the dispatcher's forward operations after its device-to-host sync (see the module's text):
#: AlltoAll syncs before the dispatch all-to-all, so its preprocess and global permute come
#: before it (12 - 4 - 1); flex syncs in its preprocess, fused with the router (all 4 after)
DISPATCH_OPS_AFTER_SYNC = {"alltoall": 7.0, "flex": 4.0}
#: an unbound Grace host's time per operation over a bound one's (see the module's text):
#: Yao et al. Sec. 3 table, "CPU-side optimization" (bindpcie), 691.49 -> 762.12 TFLOPS/GPU
UNBOUND_HOST_FACTOR = 762.12 / 691.49
#: host time of one MXFP8 scale zero fill and of one swizzle kernel, in operations (see the
#: module's text): the Sec. 3 table's savings over the kernels each fusion removes
_T1, _T8 = 8389.13 / 494.46, 8389.13 / 762.12          # s: steps before the two fusions
_GRACE_OP_S = HOST_OP_US["grace"] * base_factor("us")   # one operation on a bound Grace host, s
ZERO_FILL_OP = _T1 * (1 - 494.46 / 529.55) / (43456 * _GRACE_OP_S * UNBOUND_HOST_FACTOR)
SWIZZLE_OP = _T8 * (1 - 762.12 / 797.67) / (44688 * _GRACE_OP_S)
_Z, _W = ZERO_FILL_OP, SWIZZLE_OP
#: MXFP8 block-scale operations per micro-batch (see the module's text), (all, forward) for:
#: a linear module, a routed expert's linear (multi-stream grouped GEMM: its own GEMMs), a
#: grouped-GEMM module (the experts' fc1 or fc2); zero fills (4, 2 forward) and swizzles (6, 2
#: forward; fused 3, 1) weighted by their host time
_UNFUSED = (4 * _Z + 6 * _W, 2 * _Z + 2 * _W)
SCALE_OPS = {"mxfp8": ((3 * _W, _W), (0.0, 0.0), (3 * _W, _W)),
             "mxfp8_unfused": (_UNFUSED, _UNFUSED, (0.0, 0.0)),
             "mxfp8_unfused_swizzle": ((6 * _W, 2 * _W), (6 * _W, 2 * _W), (0.0, 0.0))}
#: host operations of one recomputed MLA up-projection per layer and micro-batch (see the
#: module's text): the Sec. 3 table's "Remove up_proj recompute" row on the unbound host
_STAGE_LAYER_PASSES = 64 * 61 / 8   # the write-up's stage step: 64 micro-batches x 61/8 layers
MLA_UP_PROJ_RECOMPUTE_OPS = (8389.13 / 566.07 * (1 - 566.07 / 610.71)
                             / (_STAGE_LAYER_PASSES * _GRACE_OP_S * UNBOUND_HOST_FACTOR))
_NO_SCALES = ((0.0, 0.0), (0.0, 0.0), (0.0, 0.0))
#: the FP8 recipes (``train(fp8_recipe=)``) whose block scales cost the host operations
RECIPE_SCALES = {"transformer_engine_mxfp8": "mxfp8",
                 "transformer_engine_mxfp8_unfused": "mxfp8_unfused",
                 "transformer_engine_mxfp8_unfused_swizzle": "mxfp8_unfused_swizzle"}


def _scales(scales: str, precision_narrow: bool):
    if scales != "none" and scales not in SCALE_OPS:
        raise ValueError(f"scales must be 'none' or one of {', '.join(SCALE_OPS)}, got "
                         f"{scales!r:.60}")
    return SCALE_OPS[scales] if precision_narrow and scales != "none" else _NO_SCALES


def host_op_us(chip_name: str, bound: bool = True) -> float:
    """CPU time per eagerly issued operation (us) on the host of ``chip_name``, the process
    bound to its GPU's NUMA node or not (``bound``; a factor measured on Grace only)."""
    if chip_name in GRACE_HOSTED:
        return HOST_OP_US["grace"] * (1.0 if bound else UNBOUND_HOST_FACTOR)
    return HOST_OP_US["x86"]


def _attention_ops(model, linear):
    mla = getattr(model, "mla", None)
    if mla is None:
        return 2 * linear + 2 * 4
    q_lowrank = getattr(mla, "q_lora_rank", None)
    linears, norms = (5, 2) if q_lowrank else (4, 1)
    return linears * linear + 2 * (4 + norms)


def _moe_ops(moe, ep, dispatcher, linear, expert_linear, grouped, graphed):
    """(eager operations, captured regions) of one MoE FFN per micro-batch."""
    local = max(1.0, float(moe.experts) / float(ep))
    experts = local * (2 * expert_linear + 2) + 2 * grouped
    shared = float(getattr(moe, "shared_experts", 0) or 0) * (2 * linear + 2) + 2
    if dispatcher == "flex":
        router, dispatch = _FLEX_ROUTER, DISPATCH_OPS["flex"]
    else:
        router, dispatch = ROUTER_OPS, DISPATCH_OPS["alltoall"]
    if graphed:   # attention, router, preprocess and shared experts: one region
        return experts + 2 * dispatch, 1
    return experts + 2 * (router + dispatch) + shared + 2 * 2, 0


def _module_ops(model, modules, linear_fwd, local):
    """(dense layer, MoE layer, MoE layer under CUDA graphs) operations of the recomputed
    modules' forwards per micro-batch (see the module's text)."""
    attn = 0.0
    if "mla_up_proj" in modules and getattr(model, "mla", None) is not None:
        attn = MLA_UP_PROJ_RECOMPUTE_OPS
    mlp = 2 * linear_fwd + 1 if "mlp" in modules else 0.0
    act = local if "moe_act" in modules else 0.0
    return attn + mlp, attn + act, act


def host_ops_per_layer(model, *, precision_narrow: bool, ep: int, dispatcher: str,
                       cuda_graphs: bool, recompute: tuple, compiled: bool = False,
                       scales: str = "none", modules: tuple = ()) -> float:
    """Operations the host issues per layer and micro-batch (forward, backward, recomputation),
    averaged over the model's dense and MoE layers (see the module's count). ``recompute``:
    (fraction of layers recomputed whole, fraction of attention cores recomputed).
    ``compiled``: the step is one compiled program (XLA): none. ``scales``: "none", or the
    MXFP8 block scales' handling (:data:`SCALE_OPS`). ``modules``: Megatron-Core's
    recomputed modules (``recompute_modules`` besides "core_attn")."""
    if compiled:
        return 0.0
    (mod, mod_fwd), (per_expert, _), (grouped, _) = _scales(scales, precision_narrow)
    linear = LINEAR_OPS["fp8" if precision_narrow else "16-bit"]
    expert_linear, linear_fwd, linear = linear + per_expert, linear / 2 + mod_fwd, linear + mod
    moe = getattr(model, "moe", None)
    local = max(1.0, float(moe.experts) / float(ep)) if moe is not None else 0.0
    re_dense, re_moe, re_graphed = _module_ops(model, modules, linear_fwd, local)
    attn = _attention_ops(model, linear)
    dense = attn + 2 * linear + 2 * 3 + re_dense
    fwd_share = 0.5   # a forward's share of a layer's operations (forward = backward above)
    r_d, r_a = recompute
    n_layers = float(model.layers)
    n_moe = float(moe.moe_layers) if moe is not None else 0.0
    if cuda_graphs:
        dense_ops = 2.0 * 2      # attention and MLP regions, forward and backward
    else:
        dense_ops = dense * (1 + r_d * fwd_share) + 2 * r_a
    total = (n_layers - n_moe) * dense_ops
    if moe is not None and n_moe:
        eager, regions = _moe_ops(moe, ep, dispatcher, linear, expert_linear, grouped,
                                  cuda_graphs)
        if cuda_graphs:
            moe_ops = eager * (1 + r_d * fwd_share) + 2.0 * regions + re_graphed
        else:
            moe_ops = (attn + eager) * (1 + r_d * fwd_share) + 2 * r_a + re_moe
        total += n_moe * moe_ops
    return total / n_layers


def host_syncs(model, *, precision_narrow: bool, ep: int, dispatcher: str, dropping: bool,
               recompute: tuple, compiled: bool = False, scales: str = "none") -> tuple:
    """(device-to-host syncs per MoE layer and micro-batch, operations the host issues
    eagerly after each sync before the next layer's work): the
    dropless MoE dispatcher's token-count sync (see the module's text). None for a dense
    model, a dropping MoE padded to capacity, GShard's einsum dispatch or a compiled step."""
    moe = getattr(model, "moe", None)
    n_moe = float(moe.moe_layers) if moe is not None else 0.0
    local = max(1.0, float(moe.experts) / float(ep)) if moe is not None else 0.0
    if (compiled or not n_moe or dropping or dispatcher not in DISPATCH_OPS_AFTER_SYNC
            or (ep <= 1 and local <= 1)):
        return 0.0, 0.0
    _, (_, per_expert), (_, grouped) = _scales(scales, precision_narrow)
    linear_fwd = LINEAR_OPS["fp8" if precision_narrow else "16-bit"] / 2 + per_expert
    after = DISPATCH_OPS_AFTER_SYNC[dispatcher] + local * (2 * linear_fwd + 1) + 2 * grouped
    r_d = float(recompute[0])
    return 1 + r_d, after


def host_inputs(model, compiled: bool, precision_narrow: bool, ep: int, dispatcher: str,
                cuda_graphs: bool, dropping: bool, r_d: float, r_a: float,
                fp8_recipe: str, modules: tuple = ()) -> tuple:
    """(operations per layer and micro-batch, device-to-host syncs per MoE layer, operations
    after each sync): the training step's host inputs (positional: cached per model)."""
    scales = RECIPE_SCALES.get(fp8_recipe, "none")
    ops = host_ops_per_layer(model, precision_narrow=precision_narrow, ep=ep,
                             dispatcher=dispatcher, cuda_graphs=cuda_graphs,
                             recompute=(r_d, r_a), compiled=compiled, scales=scales,
                             modules=modules)
    syncs, after = host_syncs(model, precision_narrow=precision_narrow, ep=ep,
                              dispatcher=dispatcher, dropping=dropping, recompute=(r_d, r_a),
                              compiled=compiled, scales=scales)
    return ops, syncs, after
