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

The linear layers' measured times hold Transformer Engine's own Python logic and casts; not
counted (no source gives them per layer): the MXFP8 scaling-factor allocations and swizzles
beyond the FP8 factor (four tensors per quantisation, Sec. 2.1.2-2.1.3), Megatron-Core's Python
between modules, per-expert stream switches, the device-to-host synchronisation of the
dispatcher (it keeps the host from running ahead across an MoE layer; here the host and the
device overlap over the whole step). The count is therefore a lower bound.
"""

from __future__ import annotations

__all__ = ["HOST_OP_US", "GRACE_HOSTED", "host_op_us", "host_ops_per_layer", "LINEAR_OPS",
           "ROUTER_OPS", "DISPATCH_OPS"]

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


def host_op_us(chip_name: str) -> float:
    """CPU time per eagerly issued operation (us) on the host of ``chip_name``."""
    return HOST_OP_US["grace" if chip_name in GRACE_HOSTED else "x86"]


def _attention_ops(model, linear):
    mla = getattr(model, "mla", None)
    if mla is None:
        return 2 * linear + 2 * 4
    q_lowrank = getattr(mla, "q_lora_rank", None)
    linears, norms = (5, 2) if q_lowrank else (4, 1)
    return linears * linear + 2 * (4 + norms)


def _moe_ops(moe, ep, dispatcher, linear, graphed):
    """(eager operations, captured regions) of one MoE FFN per micro-batch."""
    local = max(1.0, float(moe.experts) / float(ep))
    experts = local * (2 * linear + 2)
    shared = float(getattr(moe, "shared_experts", 0) or 0) * (2 * linear + 2) + 2
    if dispatcher == "flex":
        router, dispatch = _FLEX_ROUTER, DISPATCH_OPS["flex"]
    else:
        router, dispatch = ROUTER_OPS, DISPATCH_OPS["alltoall"]
    if graphed:   # attention, router, preprocess and shared experts: one region
        return experts + 2 * dispatch, 1
    return experts + 2 * (router + dispatch) + shared + 2 * 2, 0


def host_ops_per_layer(model, *, precision_narrow: bool, ep: int, dispatcher: str,
                       cuda_graphs: bool, recompute: tuple, compiled: bool = False) -> float:
    """Operations the host issues per layer and micro-batch (forward, backward, recomputation),
    averaged over the model's dense and MoE layers (see the module's count). ``recompute``:
    (fraction of layers recomputed whole, fraction of attention cores recomputed).
    ``compiled``: the step is one compiled program (XLA): none."""
    if compiled:
        return 0.0
    linear = LINEAR_OPS["fp8" if precision_narrow else "16-bit"]
    attn = _attention_ops(model, linear)
    dense = attn + 2 * linear + 2 * 3
    fwd_share = 0.5   # a forward's share of a layer's operations (forward = backward above)
    r_d, r_a = recompute
    moe = getattr(model, "moe", None)
    n_layers = float(model.layers)
    n_moe = float(moe.moe_layers) if moe is not None else 0.0
    if cuda_graphs:
        dense_ops = 2.0 * 2      # attention and MLP regions, forward and backward
    else:
        dense_ops = dense * (1 + r_d * fwd_share) + 2 * r_a
    total = (n_layers - n_moe) * dense_ops
    if moe is not None and n_moe:
        eager, regions = _moe_ops(moe, ep, dispatcher, linear, cuda_graphs)
        if cuda_graphs:
            moe_ops = eager * (1 + r_d * fwd_share) + 2.0 * regions
        else:
            moe_ops = (attn + eager) * (1 + r_d * fwd_share) + 2 * r_a
        total += n_moe * moe_ops
    return total / n_layers
