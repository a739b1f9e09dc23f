"""Workload - Mixture of experts: total weights set memory, active weights set FLOPs.

Bounds: an MoE decoder stores every expert (total parameters, Fedus et al. Sec. 2) but each token
runs through only its top-k routed experts plus the shared ones (active parameters; Mixtral:
46.7B total, 12.9B active, Jiang et al. 2024 Sec. 2.1). FLOPs follow the active parameters
(wall 4's ``prefill_flops``/``decode_flops`` with ``active_parameters`` defined here); memory
traffic follows the experts a step *touches*: with B tokens each choosing k of E experts
uniformly and independently, an expert is missed by all of them with probability (1 - k/E)^B,
so a step reads E (1 - (1 - k/E)^B) routed experts per MoE layer in expectation (k at B = 1,
all E at large B). Decode latency therefore grows with the touched experts until the whole
model is streamed (Oncescu et al. 2025). Routing imbalance rho (busiest expert's load over the
mean, >= 1) stretches the routed-expert compute (Fedus et al. Sec. 2.2: expert capacity). Under
expert parallelism over D devices every MoE layer runs two all-to-alls (dispatch and combine) of
the routed token vectors, tokens x k x d x bytes in total, (D-1)/D of it leaving each rank
(pairwise exchange, Thakur et al.); DeepSeek-V3 overlaps them with the other micro-batch's
compute (Sec. 3.4), so the step is a roofline over compute, memory and communication.

Regime of validity: top-k routing with uniform, independent expert choice (a lower bound on the
distinct experts when routing is skewed or correlated across tokens); compute/memory rates are
those of the device group holding the experts, treated as one (as wall 4 treats a TP group);
rho = 1 for a balanced grouped GEMM on one device; activations dispatched at the activation
precision (DeepSeek-V3 dispatches in FP8, combines in BF16); attention as in wall 4.

References
----------
Fedus, Zoph, Shazeer, "Switch Transformers", JMLR 23, 2022.
Jiang et al., "Mixtral of Experts", arXiv:2401.04088, 2024.
DeepSeek-AI, "DeepSeek-V3 Technical Report", arXiv:2412.19437, 2024.
Oncescu et al., "Opportunistic Expert Activation", arXiv:2511.02237, 2025.
Thakur, Rabenseifner, Gropp, IJHPCA 19(1), 2005 (all-to-all cost).
"""

import sympy

from .. import symbols as s
from ..vocabulary import check_routing  # noqa: F401  (the record's domain, k <= E)
from . import memory
from .base import Constraint, Equation, Wall
from .communication import ring_reduce_scatter
from .serving import (DECODE_GEMM_FLOPS, DECODE_HEAD_FLOPS, PREFILL_GEMM_FLOPS, PREFILL_HEAD_FLOPS,
                      dequantization, pass_compute_time, vocabulary_weights)
from .references import Reference, add_all

add_all(
    Reference("fedus2022switch", "Fedus, William and Zoph, Barret and Shazeer, Noam",
              "Switch Transformers: Scaling to Trillion Parameter Models with Simple and Efficient "
              "Sparsity", "Journal of Machine Learning Research 23(120)", 2022,
              url="https://jmlr.org/papers/v23/21-0998.html"),
    Reference("jiang2024mixtral", "Jiang, Albert Q. and Sablayrolles, Alexandre and Roux, Antoine "
              "and others", "Mixtral of Experts", "arXiv:2401.04088", 2024,
              url="https://arxiv.org/abs/2401.04088", kind="misc"),
    Reference("deepseek2024v3", "DeepSeek-AI", "DeepSeek-V3 Technical Report", "arXiv:2412.19437",
              2024, url="https://arxiv.org/abs/2412.19437", kind="misc"),
    Reference("oncescu2025oea", "Oncescu, Costin-Andrei and Wu, Qingyang and Chung, Wai Tong and "
              "others", "Opportunistic Expert Activation: Batch-Aware Expert Routing for Faster "
              "Decode Without Retraining", "arXiv:2511.02237", 2025,
              url="https://arxiv.org/abs/2511.02237", kind="misc"),
)

_E, _k, _Es, _L, _Pe = (s.moe_experts, s.experts_per_token, s.moe_shared_experts,
                        s.moe_layers, s.moe_expert_parameters)
_D = s.expert_parallel
_prefill_tokens = s.batch * s.prompt_length * s.per_token        # tokens routed in prefill
_decode_tokens = s.batch * s.tokens_per_decode_step * s.per_token  # one token per sequence


def experts_touched(tokens):
    """Expected distinct experts chosen by ``tokens`` tokens, each picking k of E uniformly
    (k <= E: the Max keeps a real power when a solver probes E below k)."""
    return _E * (1 - sympy.Max(0, 1 - _k / _E) ** tokens)


def weights_read(touched, tokens):
    """Weight bytes a step over ``tokens`` tokens reads: dense part (its input lookup tables
    only for the rows the tokens read, as wall 4's ``streamed_weight_bytes``), shared experts,
    touched routed experts; the vocabulary tables (rows read, LM head) at their own width b_v."""
    rows = sympy.Min(tokens * s.embedding_row_width, s.embedding_parameters)
    return ((s.moe_dense_parameters - vocabulary_weights() + _L * (_Es + touched) * _Pe)
            * s.bytes_per_parameter + (s.head_parameters + rows) * s.vocab_bytes_per_parameter)


def all_to_all(tokens):
    """Dispatch + combine over D ranks, per MoE layer: tokens x k x d x b_a, pairwise exchange."""
    buffer = tokens * _k * s.hidden * s.activation_bytes_per_element / _D  # one rank's send buffer
    return _L * s.moe_all_to_all_legs * ring_reduce_scatter(buffer, _D, s.link_bandwidth,
                                                            s.link_latency)


def _phase(flops, gemm, head, expert_flops, traffic, tokens, times, total, locator, tp_comm):
    """A phase's compute (routed share stretched by rho; the weight GEMMs ``gemm`` at the
    chip's matmul ceiling, the LM head's ``head`` among them at its own precision's peak),
    memory and all-to-all roofs, and its roofline time (four equations)."""
    c, m, a = times
    stretch = (s.moe_routing_imbalance - 1) * expert_flops
    return (
        Equation(c, pass_compute_time((flops + stretch) / s.tensor_parallel,
                                      (gemm + stretch) / s.tensor_parallel,
                                      head / s.tensor_parallel),
                 cite="fedus2022switch",
                 locator="Sec. 2.2, Eq. 3: expert capacity = tokens/experts x capacity factor; "
                         "the busiest expert sets the pace",
                 note="flops are wall 4's (active parameters + attention), its weight GEMMs "
                      "(the experts' among them) at the chip's measured matmul ceiling"),
        Equation(m, memory.time_for(traffic / s.tensor_parallel), cite="williams2009roofline",
                 locator="memory roof (wall 2) of each of the t tensor-parallel ranks"),
        Equation(a, all_to_all(tokens), cite="thakur2005mpich",
                 locator="alltoall, pairwise exchange: (p-1) alpha + n beta",
                 note="two all-to-alls (dispatch, combine) per MoE layer (DeepSeek-V3 Sec. 3.4)"),
        Equation(total, sympy.Max(c, m, a, evaluate=False)
                 + s.unoverlapped_fraction * sympy.Min(c, m, evaluate=False)
                 + s.fixed_overhead + tp_comm + dequantization(tokens * s.one_token),
                 cite="deepseek2024v3", locator=locator, branches=dict(zip(times, _ROOFS)),
                 note="plus wall 4's unoverlapped share phi of the shorter of compute and "
                      "memory, its tensor-parallel all-reduces (0 on one device) and its weight "
                      "dequantisation when compute-bound (weight-only quantisation; every "
                      "expert's weights, as a compute-bound batch touches them all)"),
    )


_ROOFS = ("Compute", "Memory", "Communication")

WALL = Wall(
    number=0,
    name="MoE",
    domain="workload",
    summary=(
        "A mixture-of-experts model stores every expert but runs each token through only its "
        "top-k experts: total parameters set the memory footprint, active parameters the FLOPs, "
        "and the distinct experts a batch touches set the weight traffic of a decode step (k "
        "experts at batch 1, all of them at large batch). Routing imbalance stretches the expert "
        "compute and expert parallelism adds a dispatch and a combine all-to-all per MoE layer."
    ),
    regime="Top-k token-choice routing with uniform independent expert choice; the device group "
           "holding the experts treated as one accelerator; FlashAttention-style attention and "
           "wall 4's KV cache; all-to-all as a pairwise exchange overlapped with compute.",
    equations=(
        Equation(s.parameters, s.moe_dense_parameters + _L * (_E + _Es) * _Pe,
                 cite="fedus2022switch", locator="Sec. 2: experts multiply the parameter count "
                 "at constant FLOPs per token",
                 note="dense part + every routed and shared expert of every MoE layer"),
        Equation(s.active_parameters, s.moe_dense_parameters + _L * (_k + _Es) * _Pe,
                 cite="jiang2024mixtral", locator="Abstract and Sec. 2.1: each token uses 13B of "
                 "the 47B parameters (top-2 of 8 experts per layer)"),
        Equation(s.moe_decode_experts_touched, experts_touched(_decode_tokens),
                 cite="oncescu2025oea",
                 locator="Abstract and memory-bound latency model: MoE decode latency is "
                         "governed by the number of activated experts",
                 note="E (1 - (1 - k/E)^B): occupancy of E experts by B tokens choosing k each "
                      "uniformly (linearity of expectation; ours)"),
        Equation(s.moe_prefill_experts_touched, experts_touched(_prefill_tokens),
                 cite="oncescu2025oea", locator="as for decode, with B x S_p routed tokens"),
        Equation(s.moe_decode_bytes,
                 weights_read(s.moe_decode_experts_touched, s.batch * s.tokens_per_decode_step)
                 + s.kv_cache_bytes
                 + s.memory_kernel_bytes_per_token * s.batch * s.tokens_per_decode_step,
                 cite="oncescu2025oea", locator="memory-bound decode: each activated expert's "
                 "weights are loaded once per step"),
        Equation(s.moe_prefill_bytes,
                 weights_read(s.moe_prefill_experts_touched, s.batch * s.prompt_length)
                 + s.kv_cache_bytes * s.prompt_length / s.context_length
                 + s.memory_kernel_bytes_per_token * s.batch * s.prompt_length,
                 cite="pope2023inference", locator="Sec. 2.1: weights read once, KV written once"),
        Equation(s.moe_expert_decode_flops,
                 s.flops_per_parameter_token * _L * _k * _Pe * s.tokens_per_decode_step * s.batch,
                 cite="kaplan2020scaling", locator="Table 1: 2 FLOPs per parameter per token"),
        Equation(s.moe_expert_prefill_flops,
                 s.flops_per_parameter_token * _L * _k * _Pe * s.prompt_length * s.batch,
                 cite="kaplan2020scaling", locator="Table 1: 2 FLOPs per parameter per token"),
        *_phase(s.decode_flops, DECODE_GEMM_FLOPS, DECODE_HEAD_FLOPS, s.moe_expert_decode_flops, s.moe_decode_bytes, _decode_tokens,
                (s.moe_decode_compute_time, s.moe_decode_memory_time,
                 s.moe_decode_all_to_all_time), s.moe_time_per_output_token,
                "Sec. 3.4.2: decoding explores two micro-batches, the all-to-all of one hidden "
                "behind the other's compute", s.tp_decode_comm_time),
        Equation(s.moe_decode_throughput,
                 s.tokens_per_decode_step * s.batch / s.moe_time_per_output_token,
                 cite="pope2023inference", locator="Sec. 2: generation throughput"),
        *_phase(s.prefill_flops, PREFILL_GEMM_FLOPS, PREFILL_HEAD_FLOPS, s.moe_expert_prefill_flops, s.moe_prefill_bytes, _prefill_tokens,
                (s.moe_prefill_compute_time, s.moe_prefill_memory_time,
                 s.moe_prefill_all_to_all_time), s.moe_ttft,
                "Sec. 3.4.1: prefilling overlaps attention and MoE of one micro-batch with the "
                "dispatch and combine of another", s.tp_prefill_comm_time),
    ),
    constraints=(
        Constraint("a_token_picks_at_most_every_expert", _k, _E, cite="fedus2022switch",
                   kind="domain", locator="Sec. 2: each token is routed to k of the E experts "
                   "(k <= E; top-k of the router's E logits)"),
    ),
    references=("fedus2022switch", "jiang2024mixtral", "deepseek2024v3", "oncescu2025oea",
                "thakur2005mpich", "kaplan2020scaling", "pope2023inference",
                "williams2009roofline"),
    kind="workload",
)
