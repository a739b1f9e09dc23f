"""Speculative decoding at a batch: the draft's decode pass and the target's verification pass
as rooflines (composes wall 4 with wall 12).

Bounds: speculative decoding (Leviathan et al. 2023, Sec. 3) runs, per iteration, gamma decode
passes of a small draft model and one pass of the target that verifies the gamma drafted tokens
of every sequence at once (gamma + 1 positions each), and produces E = (1 - alpha^(gamma+1)) /
(1 - alpha) tokens per sequence (wall 12). Leviathan et al. price the iteration as gamma c + 1
target steps: the verification pass is taken to cost one decode step (memory-bound decode, the
extra positions ride on the weight read). At a batch B that holds only while decode is
memory-bound. The verification pass is wall 4's roofline over (gamma + 1) B tokens: nearly free
while reading the weights and the KV cache dominates, gamma + 1 times the decode step's compute
once the batch makes decode compute-bound. So speculation speeds small batches up and slows
large ones down (Chen et al. 2024, MagicDec, Sec. 3.1-3.2; Liu et al. 2024 measure the slow-down
in vLLM at high request rates). At wall 4's batch and context this record defines

    T_V = Max(C_V, M_V) + phi Min(C_V, M_V) + T_0 + X(t, (gamma + 1) B + c)       (verification)
    T_D = Max(C_D, M_D) + phi Min(C_D, M_D) + T_0 + X_D(t, B)                    (a draft pass)

(C: compute-roof time, M: memory-roof time, X: the TP all-reduces, c: a prompt chunk the step
carries) and MagicDec's ratios v = T_V / T_T and c_D = T_D / T_T (T_T: wall 4's decode step),
which wall 12 turns into the speed-up E / (gamma c_D + v) and the time per output token
T_T / speed-up = (gamma T_D + T_V) / E (MagicDec eq. 2). The draft is a dense decoder served on
the same TP group (its weights and KV cache split over the t ranks, KV heads replicated beyond
t, its own ring all-reduces); its weights and KV cache add to each device's memory (MagicDec
Sec. 3.3). A draft given only as a cost ratio c is modelled as the target scaled by c (c times
its layers and parameters), so T_D = c (Max + phi Min + X) + T_0 at every batch.

Regime of validity: wall 4's; i.i.d. acceptance (Leviathan et al. Sec. 3.1); one draft pass per
drafted token (no tree or multi-head drafting, no draft/verify overlap); every forward pass pays
the per-step overhead T_0; the KV the drafted tokens write (gamma per sequence per iteration,
small beside the context read) is not charged, as a decode step's own token is not.

References
----------
Leviathan, Kalman, Matias, "Fast Inference from Transformers via Speculative Decoding", ICML 2023.
Chen et al., "MagicDec: Breaking the Latency-Throughput Tradeoff for Long Context Generation
with Speculative Decoding", arXiv:2408.11049, 2024, Sec. 3.1-3.3.
Liu et al., "Optimizing Speculative Decoding for Serving Large Language Models Using Goodput",
arXiv:2406.14066, 2024.
"""

import dataclasses

import sympy

from .. import symbols as s
from . import memory, reasoning  # noqa: F401  (reasoning: its references)
from .base import Equation, Wall
from .references import Reference, add_all
from .serving import (DECODE_GEMM_FLOPS, DECODE_HEAD_FLOPS, decode_token_flops, gemm_flops,
                      head_flops, pass_compute_time,
                      tp_allreduce_time, tp_bandwidth_time, tp_latency)

add_all(
    Reference("liu2024smartspec", "Liu, Xiaoxuan and Daniel, Cade and Hu, Langxiang and Kwon, "
              "Woosuk and Li, Zhuohan and Mo, Xiangxi and Cheung, Alvin and Deng, Zhijie and "
              "Stoica, Ion and Zhang, Hao", "Optimizing Speculative Decoding for Serving Large "
              "Language Models Using Goodput", "arXiv:2406.14066", 2024,
              url="https://arxiv.org/abs/2406.14066", kind="misc"),
)

_t = s.tensor_parallel
_phi = s.unoverlapped_fraction
_gamma = s.draft_length
_one = s.tokens_per_decode_step


def draft_token_flops(context):
    """FLOPs of one draft-model token attending to ``context`` keys (Kaplan Table 1):
    2 N_D + 2 L_D (2 H_D d_hD) S."""
    return (s.flops_per_parameter_token * s.draft_parameters
            + s.attention_flops_per_pair * s.draft_layers * 2 * s.draft_heads * s.draft_head_dim
            * context)


def draft_latency():
    """Start-up latencies of one draft pass's TP all-reduces (two per draft layer, ring)."""
    return tp_latency(s.draft_layers)


def draft_bandwidth_time(tokens):
    """Bandwidth term of one draft pass's TP all-reduces over ``tokens`` tokens."""
    return tp_bandwidth_time(tokens, s.draft_layers, s.draft_hidden)


def draft_pass(batch, context):
    """Time of one draft decode pass over ``batch`` sequences at ``context`` cached tokens."""
    tokens = batch * _one
    tc = pass_compute_time(draft_token_flops(context) * tokens / _t,
                           gemm_flops(tokens, s.draft_parameters) / _t)
    tm = memory.time_for((s.draft_weight_bytes
                          + s.draft_kv_group_bytes_per_token * context * batch) / _t)
    return memory.roofline(tc, tm, _phi) + tp_allreduce_time(tokens, s.draft_layers,
                                                              s.draft_hidden)


_drafted = _gamma * s.batch * _one   # the positions the verification adds to a decode step
#: FLOPs of one computed prompt token in the draft (it prefills the prompt's uncached suffix too,
#: S_p (1 + h) / 2 keys on average, as the target's)
draft_prompt_token_flops = draft_token_flops(s.prompt_length * (1 + s.prefix_cache_hit_rate)
                                             / 2)

WALL = Wall(
    number=0,
    name="Speculative decoding",
    domain="workload",
    summary=(
        "A draft model proposes gamma tokens per sequence and the target verifies them in one "
        "pass over gamma + 1 positions of every sequence. Verifying is nearly free while decode "
        "is memory-bound (small batches) and costs gamma + 1 decode steps of compute once the "
        "batch makes decode compute-bound, so the speed-up falls with the batch and drops "
        "below one; the draft's weights and KV cache take memory from the target's."
    ),
    regime="Wall 4's decode step at a batch; a dense draft decoder on the same TP group; "
           "i.i.d. acceptance; one draft pass per drafted token; each pass pays the per-step "
           "overhead; the drafted tokens' KV writes not charged.",
    equations=(
        Equation(s.draft_weight_bytes, s.draft_parameters * s.bytes_per_parameter,
                 cite="pope2023inference", locator="Sec. 2.1, memory costs: weights"),
        Equation(s.draft_kv_group_bytes_per_token,
                 s.draft_layers * s.kv_vectors_per_token * sympy.Max(s.draft_kv_heads, _t)
                 * s.draft_head_dim * s.kv_bytes_per_element,
                 cite="pope2023inference", locator="Sec. 2.1, KV cache size",
                 note="as wall 4's: KV heads replicated when t exceeds them"),
        Equation(s.verify_compute_time,
                 pass_compute_time((s.decode_flops + decode_token_flops(s.attention_span)
                                    * _drafted + draft_prompt_token_flops
                                    * s.prefill_chunk_tokens) / _t,
                                   (DECODE_GEMM_FLOPS + gemm_flops(_drafted)
                                    + gemm_flops(s.prefill_chunk_tokens, s.draft_parameters))
                                   / _t, (DECODE_HEAD_FLOPS + head_flops(_drafted)) / _t),
                 cite="leviathan2023speculative",
                 locator="Sec. 3.5: the target evaluates gamma + 1 positions per run, so its "
                         "arithmetic grows with gamma",
                 note="wall 4's decode step plus gamma drafted tokens per sequence at the "
                      "context (each verified position's logits: the LM head runs on all of "
                      "them); the draft prefills a prompt chunk the step carries alongside"),
        Equation(s.verify_memory_time,
                 memory.time_for((s.decode_bytes + s.draft_kv_group_bytes_per_token
                                  * s.prefill_chunk_tokens
                                  + s.memory_kernel_bytes_per_token * _drafted) / _t),
                 cite="chen2024magicdec",
                 locator="Sec. 3.2: verification and decoding share the same KV loading cost",
                 note="the weights and KV cache read once for all gamma + 1 positions; the "
                      "drafted positions' memory-bound kernels (wall 4's bytes per token) on "
                      "top"),
        Equation(s.verify_step_time,
                 memory.roofline(s.verify_compute_time, s.verify_memory_time, _phi)
                 + tp_allreduce_time(s.batch * _one + s.prefill_chunk_tokens + _drafted),
                 cite="chen2024magicdec",
                 locator="Sec. 3.2: as the batch grows the linear layers become compute-bound, "
                         "raising T_V(gamma) / T_T",
                 note="wall 4's roofline with phi, overhead and TP all-reduces",
                 branches={s.verify_compute_time: "Compute", s.verify_memory_time: "Memory"}),
        Equation(s.draft_step_time, draft_pass(s.batch, s.context_length),
                 cite="chen2024magicdec", locator="Sec. 3.1: T_D(B, S), the draft's decoding time",
                 note="the draft's own roofline on the same TP group (wall 4's form)"),
        Equation(s.verify_cost_ratio, s.verify_step_time / s.time_per_output_token,
                 cite="chen2024magicdec",
                 locator="Sec. 3.1, eq. (2): target verification to decoding cost ratio "
                         "T_V(gamma) / T_T"),
        Equation(s.draft_cost_ratio, s.draft_step_time / s.time_per_output_token,
                 cite="chen2024magicdec",
                 locator="Sec. 3.1, eq. (2): draft to target cost ratio T_D / T_T"),
        Equation(s.speculative_decode_throughput,
                 _one * s.batch / s.speculative_time_per_output_token,
                 cite="liu2024smartspec",
                 locator="Sec. 1: with continuous batching at higher request rates speculation "
                         "can lower throughput and raise latency"),
        Equation(s.speculative_memory_footprint,
                 s.memory_footprint + (s.draft_weight_bytes + s.draft_kv_group_bytes_per_token
                                       * s.context_length * s.batch) / _t,
                 cite="chen2024magicdec",
                 locator="Sec. 3.3: a draft model's KV cache grows with the batch beside its "
                         "weights"),
        Equation(s.speculative_memory_utilization,
                 s.speculative_memory_footprint / s.memory_capacity,
                 cite="pope2023inference",
                 locator="Sec. 2.1: weights and KV cache must fit in the chips' memory"),
    ),
    references=("leviathan2023speculative", "chen2024magicdec", "liu2024smartspec",
                "pope2023inference", "kaplan2020scaling"),
    kind="workload",
)


def with_speculation(*records) -> list:
    """``records`` plus wall 12's speculative-decoding equations (tokens per step, speed-up,
    time per output token: its chain-of-thought and sampling equations stay out, they read
    the model shape of their own) and this record: the serving system's composition."""
    spec = (s.speculative_tokens_per_pass, s.speculative_speedup,
            s.speculative_time_per_output_token)
    wall12 = reasoning.WALL
    part = dataclasses.replace(wall12, equations=tuple(eq for eq in wall12.equations
                                                       if eq.lhs in spec))
    return list(records) + [part, WALL]
