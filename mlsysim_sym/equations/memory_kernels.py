"""Memory-bound kernels of one transformer layer: the HBM bytes per token they move.

A training step spends its non-GEMM time in elementwise and reduction kernels (layer norms, the
FFN activation, residual adds, dropout, rotary embeddings and, when attention is eager, the
scale / mask / softmax chain over the score matrix). Ivanov et al. (2021, Table 1) find that
in PyTorch BERT-large training the tensor contractions do 99.8% of the FLOPs in 61% of the
runtime: normalisations and element-wise operators take the rest, memory-bound, so their time
is their bytes over the achieved HBM bandwidth.

The bytes follow Korthikanti et al. (2023, Sec. 4.1), who list every activation tensor of a
layer with its size: each memory-bound kernel reads its input tensors and writes its output
(forward); its backward reads the output gradient and what the forward saved and writes the
input gradient. Counts are elements per token per layer (x the activation bytes per element;
dropout masks 1 byte each), per kernel set:

=================  ===========================  ====================  ======================
kernel             forward (unfused | fused)    backward              tensor
=================  ===========================  ====================  ======================
2 norms            2 x (r x, w y) = 4           2 x (r x, r dy, w dx)  h
2 residual adds    2 x (r 2, w 1) = 6           2 x 3 (grad fork sum) h
2 hidden dropouts  4 + 2 masks | 2 masks        2 x 2 + 2 masks        h (delta = 1 only)
GeLU               r f, w f = 2                 r x, r dy, w dx = 3    f
SwiGLU             silu 2 + mul 3 = 5 | 3       9 | 5                  f (each of gate, up)
RoPE on q, k       x cos, rotate_half, x sin,   10 | 2                 q + k widths
                   add = 10 | one kernel 2
scores (eager)     S write, scale 2, mask 2,    dP write 1, softmax 3, a s per token
                   softmax 2, P read 1 = 8 |    mask 2, scale 2, reads
                   fused scale-mask-softmax 4   of dS, dS, P 3 = 11 | 7
score dropout      r w 2 + mask                 2 + mask               a s (delta = 1)
MoE token permute n_pi x (r k h, w k h)          the same (gradients)  k h x L_moe / L
(sparse dispatch)  (gather into expert order;
                   unpermute: the reverse)
FP8 cast-transpose GEMM inputs: QKV, proj, fc1,  output gradients of   r 2 B, w 1 B row-wise
(chi_8 = 1)        fc2 (2h + q + f)             the four GEMMs         + 1 B column-wise
                                                (q + 2 kv + 2h +
                                                f or 2f)
=================  ===========================  ====================  ======================

The fused set is Megatron-LM's / Transformer Engine's: bias-dropout-add, bias-GeLU / SwiGLU,
RoPE and the scale-mask-softmax each run as one kernel (NVIDIA Megatron-LM,
megatron/core/fusions); the unfused set is PyTorch eager (one kernel per op; LayerNorm, GeLU,
SiLU and softmax are single native kernels there too). The fused score chain is Dao et al.'s
standard attention (2022, Algorithm 0 and App. B.3: 4 N^2 forward, 7 N^2 backward HBM accesses
per head); FlashAttention-class kernels keep the scores on chip (alpha_s = 0). Biases are added
in the GEMM epilogues. The loss kernels' bytes per logit (``loss_traffic_per_logit``) are
counted in :data:`mlsysim_sym.tasks.training.config.LOSS_TRAFFIC`. Recomputation repeats the forward kernels (full: r_d; the attention
core: r_a).

FP8 training (Transformer Engine) runs its GEMMs on FP8 copies of their 16-bit operands: each
activation a GEMM reads and each output gradient is cast to FP8 in row- and column-wise layouts
(the wgrad GEMM reads the transposed copy), counted unfused (NVIDIA Transformer Engine,
cast_transpose); weights are cast per parameter, not per token, and are not counted here.

MoE layers move their routed tokens into expert order before the grouped GEMMs and back after
(Megatron-Core's token dispatchers, TE's fused permute): each permute reads and writes the k
copies of a token's h-wide vector, ``token_permute_passes`` of them per forward (2; 4 with
Megatron-Core's AlltoAll dispatcher under expert parallelism, a global permute before the
all-to-all and a local sort after it, and the reverse after the combine; DeepEP / HybridEP fuse
the global one into the communication kernel), the backward the same on the gradients;
averaged over the layers (L_moe / L). A one-hot einsum dispatcher (GShard) has none
(n_pi = 0): its dispatch is FLOPs (:mod:`.training`).

Parallelism: the h-wide tensors are replicated over tensor-parallel ranks unless sequence
parallelism splits them (Korthikanti Sec. 4.2.2); f, the rotated q/k and the scores split over
t heads-wise; context parallelism splits tokens (per token the bytes are unchanged).

References
----------
Korthikanti et al., Reducing Activation Recomputation in Large Transformer Models, MLSys 2023.
Ivanov et al., Data Movement Is All You Need, MLSys 2021. Dao et al., FlashAttention, NeurIPS
2022. NVIDIA Megatron-LM fused kernels.
"""

import sympy

from .. import symbols as s
from .base import Equation
from .references import Reference, add_all

add_all(
    Reference("ivanov2021datamovement", "Ivanov, Andrei and Dryden, Nikoli and Ben-Nun, Tal and "
              "Li, Shigang and Hoefler, Torsten", "Data Movement Is All You Need: A Case Study "
              "on Optimizing Transformers", "Proceedings of MLSys 2021", 2021,
              url="https://arxiv.org/abs/2007.00072", kind="inproceedings"),
    Reference("nvidia2024transformerengine", "NVIDIA", "Transformer Engine documentation: "
              "Using FP8 with Transformer Engine (FP8 tensors, cast and transpose of GEMM "
              "operands)", "docs.nvidia.com/deeplearning/transformer-engine", 2024,
              url="https://docs.nvidia.com/deeplearning/transformer-engine/user-guide/"
                  "examples/fp8_primer.html", kind="misc"),
    Reference("megatron2023fusions", "NVIDIA", "Megatron-Core fused kernels: "
              "megatron/core/fusions (fused_bias_dropout, fused_bias_gelu, fused_bias_swiglu, "
              "fused_softmax) and Transformer Engine fused RoPE", "GitHub repository "
              "NVIDIA/Megatron-LM", 2023,
              url="https://github.com/NVIDIA/Megatron-LM/tree/main/megatron/core/fusions",
              kind="misc"),
)

__all__ = ["EQUATIONS", "forward_dense", "backward_dense", "forward_scores",
           "backward_scores", "SERVING_RESIDUAL_COUNT", "SERVING_ACTIVATION_COUNT",
           "serving_forward"]



t, h, ba = s.tensor_parallel, s.hidden, s.activation_bytes_per_element
phi, gamma, rho, delta = (s.fused_memory_kernels, s.ffn_gated, s.rotary_embedding,
                          s.dropout_masks_stored)
mask = s.korthikanti_byte_per_token          # 1 byte per element (per token)
per_token = s.per_token
rd, ra = s.recomputed_dense_fraction, s.recomputed_attention_fraction


def _choose(unfused, fused):
    """The count of the unfused set (phi = 0) or of the fused set (phi = 1)."""
    return unfused + phi * (fused - unfused)


_sp = 1 + s.sequence_parallel * (t - 1)               # divisor of the h-wide tensors
_H = h / _sp                                          # h-wide elements per token on a device
_F = s.ffn_width / ((1 + gamma) * t)                  # FFN intermediate elements (one matrix)
_R = rho * (s.heads + s.kv_heads) * s.head_dim / t    # rotated q and k elements
_A = s.attention_scores_stored * s.heads * s.sequence_length * per_token / t  # score elements
_Q = s.heads * s.head_dim / t                         # attention output (proj input) elements
_cast = s.fp8_activation_casts * (ba * per_token + 2 * mask)   # bytes per element cast to FP8
# routed token copies one MoE permute pass reads and writes, per token averaged over the layers
_PI = s.token_permute_passes * s.moe_layers / s.layers * s.experts_per_token * _H

#: bytes per token of one layer's forward kernels, the score chain apart
forward_dense = (ba * per_token * ((10 + 4 * delta * (1 - phi)) * _H
                                   + ((1 - gamma) * 2 + gamma * _choose(5, 3)) * _F
                                   + _choose(10, 2) * _R)
                 + delta * mask * 2 * _H + _cast * (2 * _H + _Q + _F) + ba * per_token * 2 * _PI)
#: bytes per token of one layer's backward kernels, the score chain apart
backward_dense = (ba * per_token * ((12 + 4 * delta) * _H
                                    + ((1 - gamma) * 3 + gamma * _choose(9, 5)) * _F
                                    + _choose(10, 2) * _R)
                  + delta * mask * 2 * _H
                  + _cast * ((s.heads + 2 * s.kv_heads) * s.head_dim / t + 2 * _H
                             + (1 + gamma) * _F)
                  + ba * per_token * 2 * _PI)
#: eager attention's score chain, forward and backward (0 with FlashAttention: alpha_s = 0)
forward_scores = (ba * per_token * (_choose(8, 4) + 2 * delta) + delta * mask) * _A
backward_scores = (ba * per_token * (_choose(11, 7) + 2 * delta) + delta * mask) * _A

_K = "korthikanti2022recomputation"
EQUATIONS = (
    Equation(s.memory_kernel_forward_traffic, forward_dense + forward_scores, cite=_K,
             locator="Sec. 4.1: the activation tensors of a layer (sizes in units of sbh, "
                     "as^2b); each memory-bound kernel reads its inputs, writes its output",
             note="fused set: Megatron-Core fusions; eager scores: Dao et al. 2022, Alg. 0; "
                  "FP8 cast-transposes: Transformer Engine (nvidia2024transformerengine); MoE "
                  "token permutes: Megatron-Core's dispatchers (megatron2025moe)"),
    Equation(s.memory_kernel_traffic,
             (1 + rd) * forward_dense + backward_dense
             + (1 + ra) * forward_scores + backward_scores, cite=_K,
             locator="Sec. 4.1 tensors; Sec. 5: recomputation repeats the forward",
             note="backward: output gradient and saved input read, input gradient written "
                  "(Dao et al. 2022, App. B.3, for the score chain: 7 N^2)"),
)


# ------------------------------------------------------------------------------- serving pass
#: h-wide elements per token and layer a serving forward pass's residual-stream kernels move:
#: two norms (read x, write y: 2 x 2) and two residual adds (read 2, write 1: 2 x 3), the fused
#: set of the table above without dropout (an inference pass has none)
SERVING_RESIDUAL_COUNT = 10
#: elements per token and layer of the FFN activation kernel per element of the live FFN width
#: d_ff (2 f for a gated FFN): a fused SwiGLU reads the gate and up halves and writes one half,
#: 3 f = 1.5 d_ff (the table's fused count 3); GeLU reads f and writes f, 2 d_ff, which this
#: count under-states by a quarter (the serving inputs do not say whether the FFN is gated)
SERVING_ACTIVATION_COUNT = sympy.Rational(3, 2)


def serving_forward():
    """HBM bytes per token of one serving forward pass's memory-bound kernels, summed over the
    t ranks of a tensor-parallel group: L b_a (10 d t + 1.5 d_ff).

    Serving engines run tensor parallelism without sequence parallelism (vLLM, TensorRT-LLM:
    each rank holds the whole residual stream after the all-reduce), so every rank runs the
    norms and residual adds over all d elements of each token (Korthikanti et al. Sec. 4.2.2:
    the h-wide tensors are replicated over the TP ranks unless sequence parallelism splits
    them), while the FFN activation's d_ff elements split over the ranks. The attention
    scores stay on chip (FlashAttention), RoPE runs inside the attention kernels (TensorRT-LLM)
    or in place on q and k (vLLM; not counted), and biases in the GEMM epilogues."""
    return (s.layers * ba * per_token
            * (SERVING_RESIDUAL_COUNT * h * t + SERVING_ACTIVATION_COUNT * s.ffn_width))
