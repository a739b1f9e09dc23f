"""The operations the host issues one at a time per layer and micro-batch (``host_ops_per_layer``)
and the CPU time each costs (``host_op_time``): the inputs of the step's host-bound term.

The count is taken from the model's structure as Megatron-Core with Transformer Engine runs a
layer eagerly (PyTorch), not fitted. It is written down here, module by module, with the
reasoning; the sources are the NVIDIA write-up on DeepSeek-V3 on GB200 (Yao et al. 2025,
``yao2025dsv3gb200`` in the bibliography) and the Megatron-Core / Transformer Engine features
it names. Counted per layer and micro-batch:

- a linear layer: one GEMM forward, two backward (data and weight gradient); at FP8 under
  Transformer Engine one cast of the GEMM's activation input forward and one of the output
  gradient backward (the weight's cast is made once per step and cached across micro-batches):
  3 operations at 16 bits, 5 at FP8;
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

Not counted (no source gives them per layer): allocator calls (the write-up's MXFP8 scaling
factor allocations, four tensors per quantisation, Sec. 2.1.2), Python logic between
operations, per-expert stream switches. The count is therefore a lower bound.
"""

from __future__ import annotations

__all__ = ["HOST_OP_US", "host_ops_per_layer", "LINEAR_OPS", "ROUTER_OPS", "DISPATCH_OPS"]

#: CPU time per eagerly issued operation, us: Meta's Holistic Trace Analysis documentation
#: ("CUDA Kernel Launch Statistics": the launch time on the CPU side is usually 5-20 us), the
#: geometric middle of that range. The write-up's router fusion (72 -> 31 router kernels per
#: MoE layer, 540.00 vs 529.55 TFLOPS, Sec. 2.1.4 and Sec. 3) implies 8-16 us per removed
#: kernel on that host-bound run (41 kernels forward, with or without their backward).
HOST_OP_US = 10.0
#: operations per linear layer per micro-batch (forward + backward) by GEMM width
LINEAR_OPS = {"16-bit": 3.0, "fp8": 5.0}
#: the router's kernels per forward before router fusion (Sec. 2.1.4)
ROUTER_OPS = 72.0
#: the dispatcher's operations per forward: AlltoAll (preprocess 4: counts, exchange, D2H copy
#: of the counts, split sizes; a global and a local permute and an all-to-all on each side: 6;
#: combine sums the shared path: 2); flex: router and preprocess together 17 (Sec. 2.2.1), so
#: the router's own count is replaced, plus the all-to-all kernels and the local permutes (4)
DISPATCH_OPS = {"alltoall": 12.0, "flex": 4.0}
_FLEX_ROUTER = 17.0


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
    fwd_share = 1.0 / 3.0   # a forward's share of a layer's operations (1 of 1 + 2 linear ops)
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
