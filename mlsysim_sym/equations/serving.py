"""Wall 4 - Serving: prefill (time to first token) and decode (time per output token).

Bounds: a decoder-only transformer serves a request in two phases. Prefill runs the whole
prompt through the model in one pass (large matmuls: usually compute-bound). Each decode step
emits one token per sequence, reading every weight and the whole KV cache (usually
memory-bound at small batch). Both phases are rooflines (walls 1 and 2), so the binding term
is whatever the physics says at each batch size: decode FLOPs grow with the batch while weight
traffic does not, so a large enough batch makes decode compute-bound. Real kernels do not hide
the shorter roof completely (a decode step near the ridge point pays for part of both): the
step is Max(T_c, T_m) + phi Min(T_c, T_m), phi the unoverlapped share (phi = 0 recovers the
classic roofline of Williams et al.; phi is calibrated on the published serving
measurements).

Work per phase (Kaplan et al. Table 1; Pope et al. Sec. 2): a forward pass costs
2 x active params FLOPs per token, plus attention: Q K^T and A V each cost 2 x d_h FLOPs per
(query, key) pair per head per layer. Decode attends over the S cached tokens; causal prefill
over S_p (S_p + 1) / 2 ~ S_p^2 / 2 pairs, so the two matmuls together cost 2 L H d_h S_p^2.
Traffic per step: all weights once, plus the KV cache (read in decode, written in prefill).
KV cache = 2 x layers x kv_heads x head_dim x context x batch x bytes per element, which covers
multi-head (H_kv = H), grouped-query (H_kv < H; Ainslie et al.) and multi-query (H_kv = 1)
attention. Footprint = weights + KV cache at full context + peak live activations; with
FlashAttention the S x S score matrix is never materialised (Dao et al.), so the live
activations of one layer are the residual stream plus the FFN intermediate.

Regime of validity: dense or MoE decoder-only transformers on one accelerator (or a TP group
treated as one), one batch of equal-length sequences, weights read once per step (no weight
reuse across steps from cache). Reading the KV cache once per step assumes FlashAttention-style
kernels; departures go into the memory efficiency.

References
----------
Pope et al., "Efficiently Scaling Transformer Inference", MLSys 2023.
Kaplan et al., "Scaling Laws for Neural Language Models", 2020, Table 1.
Ainslie et al., "GQA", EMNLP 2023.
Dao et al., "FlashAttention", NeurIPS 2022.
"""

import sympy

from .. import symbols as s
from . import compute, memory
from .base import Equation, Wall
from .references import REFERENCES, Reference, add

if "shoeybi2019megatron" not in REFERENCES:
    add(Reference("shoeybi2019megatron", "Shoeybi, Mohammad and Patwary, Mostofa and Puri, Raul "
                  "and LeGresley, Patrick and Casper, Jared and Catanzaro, Bryan",
                  "Megatron-LM: Training Multi-Billion Parameter Language Models Using Model "
                  "Parallelism", "arXiv:1909.08053", 2019, url="https://arxiv.org/abs/1909.08053",
                  kind="misc"))

_attention_width = s.heads * s.head_dim


def _tp_allreduces(tokens):
    """Two all-reduces of the layer output per layer (Megatron TP), over the t-rank group.

    One start-up latency per collective (one-shot / NVLink-switch all-reduce for the small
    messages of inference) plus the ring's bandwidth term 2 (t - 1)/t x bytes / (B_up eta).
    """
    t = s.tensor_parallel
    size = tokens * s.hidden * s.activation_bytes_per_element * s.per_token
    return 2 * s.layers * (sympy.Min(1, t - 1) * s.scale_up_latency
                           + 2 * (t - 1) / t * size / (s.scale_up_bandwidth
                                                       * s.communication_efficiency))

WALL = Wall(
    number=4,
    name="Serving",
    domain="node",
    summary=(
        "LLM serving has two phases with different physics: prefill processes the prompt in one "
        "compute-heavy pass (time to first token); decode emits one token per sequence per step "
        "and must stream all weights and the KV cache each step (time per output token). Batching "
        "amortises the weight traffic, so decode moves from the memory roof to the compute roof "
        "as the batch grows, while the KV cache grows with batch and context until it no longer "
        "fits."
    ),
    regime="Decoder-only transformers (MHA, GQA, MQA; dense or MoE via active parameters) on one "
           "accelerator or a tensor-parallel group treated as one; equal-length sequences in a "
           "static batch; FlashAttention-style attention kernels.",
    equations=(
        Equation(s.weight_bytes, s.parameters * s.bytes_per_parameter, cite="pope2023inference",
                 locator="Sec. 2.1, memory costs: weights"),
        Equation(s.kv_cache_bytes,
                 s.kv_vectors_per_token * s.layers * s.kv_heads * s.head_dim * s.context_length
                 * s.batch * s.kv_bytes_per_element,
                 cite="pope2023inference", locator="Sec. 2.1, KV cache size; Sec. 3.3 multiquery",
                 note="kv_heads generalises MHA/MQA to grouped-query attention (Ainslie et al.)"),
        Equation(s.activation_bytes,
                 s.batch * s.prompt_length * (s.hidden + s.ffn_width)
                 * s.activation_bytes_per_element * s.per_token,
                 cite="dao2022flashattention", locator="Sec. 3: the S x S matrix is not stored",
                 note="live activations of one layer: residual stream + FFN intermediate"),
        Equation(s.memory_footprint, s.weight_bytes + s.kv_cache_bytes + s.activation_bytes,
                 cite="pope2023inference", locator="Sec. 2.1, memory costs"),
        Equation(s.prefill_flops,
                 s.flops_per_parameter_token * s.active_parameters * s.prompt_length * s.batch
                 + s.attention_flops_per_pair * s.layers * _attention_width
                 * s.prompt_length ** 2 * s.batch,
                 cite="kaplan2020scaling", locator="Table 1: C_forward = 2N + 2 n_layer n_ctx d_attn",
                 note="causal attention over S_p tokens touches S_p^2/2 pairs; two matmuls"),
        Equation(s.prefill_bytes, s.weight_bytes + s.kv_cache_bytes * s.prompt_length / s.context_length,
                 cite="pope2023inference", locator="Sec. 2.1: weights read once, KV written once"),
        Equation(s.prefill_compute_time, compute.time_for(s.prefill_flops), cite="williams2009roofline",
                 locator="compute roof (wall 1)"),
        Equation(s.prefill_memory_time, memory.time_for(s.prefill_bytes), cite="williams2009roofline",
                 locator="memory roof (wall 2)"),
        Equation(s.tp_prefill_comm_time, _tp_allreduces(s.batch * s.prompt_length),
                 cite="shoeybi2019megatron", locator="Sec. 3, Fig. 3: two all-reduces per layer "
                 "in the forward pass (g after the attention and the MLP blocks)",
                 note="a group of t devices is one device with t times the roofs (facade)"),
        Equation(s.ttft, memory.roofline(s.prefill_compute_time, s.prefill_memory_time,
                                         s.unoverlapped_fraction)
                 + s.tp_prefill_comm_time,
                 cite="pope2023inference", locator="Sec. 2: prefill latency",
                 note="Max + phi Min: the kernels hide only part of the shorter roof (phi "
                      "calibrated on published serving measurements; 0 is Williams et al.'s max)",
                 branches={s.prefill_compute_time: "Compute", s.prefill_memory_time: "Memory"}),
        Equation(s.prefill_throughput, s.prompt_length * s.batch / s.ttft, cite="pope2023inference",
                 locator="Sec. 2: prefill throughput"),
        Equation(s.decode_flops,
                 (s.flops_per_parameter_token * s.active_parameters
                  + 2 * s.attention_flops_per_pair * s.layers * _attention_width * s.context_length)
                 * s.tokens_per_decode_step * s.batch,
                 cite="kaplan2020scaling", locator="Table 1: C_forward per token at context n_ctx",
                 note="one new token attends to all S cached tokens: Q K^T and A V, 2 FLOPs each"),
        Equation(s.decode_bytes, s.weight_bytes + s.kv_cache_bytes, cite="pope2023inference",
                 locator="Sec. 2.2: decode is dominated by loading weights and the KV cache"),
        Equation(s.decode_compute_time, compute.time_for(s.decode_flops), cite="williams2009roofline",
                 locator="compute roof (wall 1)"),
        Equation(s.decode_memory_time, memory.time_for(s.decode_bytes), cite="williams2009roofline",
                 locator="memory roof (wall 2)"),
        Equation(s.tp_decode_comm_time,
                 _tp_allreduces(s.batch * s.tokens_per_decode_step),
                 cite="shoeybi2019megatron", locator="Sec. 3, Fig. 3: two all-reduces per layer "
                 "in the forward pass", note="Pope et al. Sec. 3.2: latency-bound at small batch"),
        Equation(s.time_per_output_token, memory.roofline(s.decode_compute_time, s.decode_memory_time,
                                                          s.unoverlapped_fraction)
                 + s.tp_decode_comm_time,
                 cite="pope2023inference", locator="Sec. 2: per-token generation latency",
                 note="Max + phi Min, as for the prefill",
                 branches={s.decode_compute_time: "Compute", s.decode_memory_time: "Memory"}),
        Equation(s.decode_throughput, s.tokens_per_decode_step * s.batch / s.time_per_output_token,
                 cite="pope2023inference", locator="Sec. 2: generation throughput"),
    ),
    references=("pope2023inference", "kaplan2020scaling", "williams2009roofline",
                "dao2022flashattention", "ainslie2023gqa", "shoeybi2019megatron"),
)
