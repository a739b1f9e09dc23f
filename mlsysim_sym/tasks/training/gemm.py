"""The step's GEMM shape efficiency (``gemm_shape_efficiency``): the tile and wave quantization
of each GEMM a layer runs, with the shapes the parallel layout gives it, FLOP-weighted.

The per-GEMM factor is :mod:`mlsysim_sym.equations.gemm_shape` (NVIDIA's Matrix Multiplication
Background guide, Secs. 4-5), compiled once; this module only lists the GEMMs and their
output shapes, as :mod:`.host` lists the operations the host issues. Per layer and micro-batch
of b sequences of S tokens over c context-parallel ranks the GEMMs run on M = b S / c rows (with
sequence parallelism the column-parallel GEMMs' input is all-gathered to the whole sequence
first, and the row-parallel ones' output is reduce-scattered after: M is the same), and with t
tensor-parallel ranks (Megatron's column / row split):

============  ==================  ===========  ==========================================
GEMM          N (output columns)  K (depth)    note
============  ==================  ===========  ==========================================
QKV           (q + 2 kv) / t      h            q = heads x head_dim, kv = kv_heads x head_dim
proj          h                   q / t
FFN up(+gate) f_live / t          h            f_live = 2 f gated (one fused GEMM)
FFN down      h                   f / t
LM head       V / t               h            once per model (the last stage)
============  ==================  ===========  ==========================================

Each runs three times per step at equal FLOPs: the forward (output M x N), the data gradient
(M x K) and the weight gradient (K x N, depth M); recomputation repeats forwards and is not
weighted separately. An MoE layer's experts are grouped GEMMs on their routed rows, M k e / E
per expert with e expert-parallel ranks gathering tokens (balanced routing), of width the
expert FFN. The step's factor is the FLOP-weighted harmonic mean (time = sum of each GEMM's
FLOPs over its rate), 1 on a chip whose streaming multiprocessors the registry does not record
(TPUs, AMD, Intel, and the NVIDIA parts without a sourced SM count).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ...numeric import cached_function
from .._core.inputs import cached

__all__ = ["gemm_quantization", "gemm_shapes", "shape_efficiency"]

_ARGS = ("gemm_rows", "gemm_columns", "multiprocessors")


@lru_cache(maxsize=2)
def _compiled(flavour: str):
    return cached_function("GEMM quantization", flavour, lambda: _build(flavour))[0]


def _build(flavour: str):
    import sympy
    from ...equations import gemm_shape
    from ...system import System
    system = System(gemm_shape.EQUATIONS, name="GEMM shape")
    expr = system.expr("gemm_quantization_efficiency")
    return sympy.lambdify([system.symbol(n) for n in _ARGS], expr, modules=flavour), list(_ARGS)


def gemm_quantization(rows, cols, multiprocessors):
    """Tile x wave quantization efficiency of one rows x cols GEMM output (numbers or arrays)."""
    arrays = any(isinstance(a, np.ndarray) for a in (rows, cols, multiprocessors))
    fn = _compiled("numpy" if arrays else "math")
    return fn(rows, cols, multiprocessors) if arrays else \
        float(fn(float(rows), float(cols), float(multiprocessors)))


def gemm_shapes(m, tp, cp, micro_batch, seq_len, ep=1) -> list:
    """[(count, M, N, K)] of one micro-batch's GEMMs per model (count: how many of that shape:
    the layers, or 1 for the LM head), sharded by ``tp`` (tensor), ``cp`` (context) and, for
    the experts, ``ep`` (expert parallel)."""
    rows = micro_batch * seq_len / cp
    head_dim = m.head_dim or m.hidden // m.heads
    h, q = m.hidden, m.heads * head_dim
    kv = (m.kv_heads or m.heads) * head_dim
    gate = 2.0 if m.ffn_gated else 1.0
    layers, moe_layers = m.layers, (m.moe_layers or 0)
    dense = float(m.ffn or 4 * h)
    out = [(layers, rows, (q + 2 * kv) / tp, h), (layers, rows, h, q / tp)]
    if getattr(m, "family", None) == "moe" and moe_layers and m.expert_ffn:
        k, experts = float(m.experts_per_token or 1), float(m.moe.experts)
        routed = np.maximum(rows * k * ep / experts, 1.0)
        out += [(moe_layers * experts / ep, routed, gate * m.expert_ffn, h),
                (moe_layers * experts / ep, routed, h, float(m.expert_ffn))]
        shared = float(m.shared_experts or 0)
        if shared:
            out += [(moe_layers * shared, rows, gate * m.expert_ffn / tp, h),
                    (moe_layers * shared, rows, h, m.expert_ffn / tp)]
        if layers > moe_layers:
            out += [(layers - moe_layers, rows, gate * dense / tp, h),
                    (layers - moe_layers, rows, h, dense / tp)]
    else:
        out += [(layers, rows, gate * dense / tp, h), (layers, rows, h, dense / tp)]
    out.append((1, rows, m.vocab / tp, h))
    return out


def shape_efficiency(m, hw, tp, cp, micro_batch, seq_len, ep=1):
    """The step's ``gemm_shape_efficiency`` (FLOP-weighted harmonic mean over
    :func:`gemm_shapes`, forward and both backward GEMMs); 1 when ``hw`` records no
    streaming multiprocessors. Cached per (model, chip, layout) for scalar layouts."""
    sms = getattr(hw, "multiprocessors", None)
    if sms is None:
        return 1.0
    n_sm = float(sms.magnitude)
    args = (tp, cp, micro_batch, seq_len, ep)
    if any(isinstance(a, np.ndarray) for a in args):
        return _efficiency(m, n_sm, *args)
    return cached(_efficiency, m, n_sm, *(float(a) for a in args))


def _efficiency(m, n_sm, tp, cp, micro_batch, seq_len, ep):
    flops = time = 0.0
    for count, rows, cols, depth in gemm_shapes(m, tp, cp, micro_batch, seq_len, ep):
        work = count * rows * cols * depth
        for a, b in ((rows, cols), (rows, depth), (depth, cols)):
            flops = flops + work
            time = time + work / gemm_quantization(a, b, n_sm)
    return flops / time
