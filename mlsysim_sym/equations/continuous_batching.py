"""Continuous batching: a serving replica at a request rate (walls 4, 5 and 7 composed).

Bounds: an iteration-level scheduler (Orca, Yu et al. 2022; vLLM, Kwon et al. 2023) runs one
model step at a time over every running sequence, and chunked prefill (Sarathi-Serve, Agrawal
et al. 2024) lets a step carry a chunk c of prompt tokens beside the B decode tokens, within a
token budget N_tok (vLLM ``max_num_batched_tokens``). A step is wall 4's roofline of its tokens:
FLOPs of all B + c tokens, the weights read once, the KV cache of every running sequence read,
the chunk's KV written, plus the per-step overhead and the TP all-reduces:

    T = Max(T_c, T_m) + phi Min(T_c, T_m) + T_0 + T_x.

At a request rate lambda per replica (n_in prompt and n_out output tokens per request) the
steps must carry lambda n_in prompt tokens and lambda n_out decode tokens per second, so a step
of length T carries c = lambda n_in T prompt tokens and B = lambda n_out T running sequences
(Little's law). Every term of the step is then linear in T: T_c = lambda w_c T, T_m = A_m +
lambda w_m T, T_x = A_x + lambda w_x T, with A_m the weight read, A_x the all-reduce
latencies and w_c, w_m, w_x the compute, KV traffic and all-reduce bandwidth time one request
adds. Because Max(x, y) + phi Min(x, y) = Max(x + phi y, y + phi x) for phi <= 1, the fixed
point T = step(T) has a closed form per branch,

    T*_c = (phi A_m + T_0 + A_x) / (1 - lambda (w_c + phi w_m + w_x)),
    T*_m = (A_m + T_0 + A_x) / (1 - lambda (w_m + phi w_c + w_x)),   T* = Max(T*_c, T*_m),

(the least fixed point of a convex piecewise-linear map is the largest branch root; a branch
whose load reaches 1 has none: the replica is saturated). T* is the mean time per output
token. The KV cache holds B_max = floor(t (u C - W/t - M_ws) / (m_kv (n_in + n_out)))
sequences at full context (u: vLLM ``gpu_memory_utilization``; M_ws: the activation workspace
of the token budget); requests wait for a slot in an M/M/c queue with c = B_max servers that
each hold a sequence for n_out steps (wall 7), so TTFT = queueing + the prompt's prefill, spread
over Max(1, n_in / (N_tok - B)) steps that carry its chunks. The replica saturates where the
running batch fills the slots, a step's tokens fill the budget, or the roofs' busy time per
second reaches 1; each is a closed form in the branch coefficients.

Prefix caching (vLLM automatic prefix caching; SGLang RadixAttention, Zheng et al. 2024 Sec. 3):
a share h of each prompt is a cached prefix, so only n_in (1 - h) prompt tokens are charged to
the steps (FLOPs, the chunk per step, the token budget, the TP all-reduces; wall 4's
(1 - h^2) attention pairs), while each sequence still holds its whole KV cache.

Speculative decoding (Leviathan et al. 2023; at a batch, the speculative-decoding record): a
step is one target pass over gamma + 1 positions of every running sequence plus gamma draft
passes, and yields E = (1 - alpha^(gamma+1)) / (1 - alpha) tokens per sequence (wall 12), so a
request needs n_out / E steps and brings n_out (gamma + 1) / E verified positions. Each draft
pass is its own roofline, linear in T as the target's is: the step map is the sum of two convex
piecewise-linear maps, a maximum of four linear branches (target roof x draft roof), and T* is
the largest of their roots (still in closed form). The time per output token is T* / E; the
draft's weights and KV cache come out of the KV pool. gamma = 0 (E = 1, no draft: zero
parameters and layers) is plain decoding, term for term.

Regime of validity: steady state, Poisson arrivals split evenly over identical replicas, every
request n_in prompt and n_out output tokens; dense or MoE decoders (MoE: all experts' weights
read each step, routing imbalance not modelled); paged KV cache without preemption or swapping
(a cached prefix's blocks counted in every sequence that shares them); the decode KV read at the
time-averaged context n_in + n_out/2 (the sliding-window record bounds it, and the slot's
S_kv = n_in + n_out, by the window); speculative decoding with a dense full-attention draft on
the same TP group, i.i.d. acceptance and one draft pass per drafted token.

References
----------
Yu et al., "Orca: A Distributed Serving System for Transformer-Based Generative Models", OSDI 2022.
Kwon et al., "Efficient Memory Management for LLM Serving with PagedAttention", SOSP 2023.
Agrawal et al., "Taming Throughput-Latency Tradeoff in LLM Inference with Sarathi-Serve",
OSDI 2024.
Little, "A Proof for the Queuing Formula: L = lambda W", Operations Research 9(3), 1961.
Zheng et al., "SGLang: Efficient Execution of Structured Language Model Programs", NeurIPS 2024.
Leviathan et al., "Fast Inference from Transformers via Speculative Decoding", ICML 2023.
Chen et al., "MagicDec", arXiv:2408.11049, 2024.
vLLM engine arguments (gpu_memory_utilization, max_num_batched_tokens, max_num_seqs).
"""

import sympy

from .. import symbols as s
from ..symbols.batching import count_floor
from . import memory
from .base import Constraint, Equation, Wall
from .references import Reference, add_all
from .serving import (decode_token_flops, gemm_flops, head_flops, kv_group_bytes_per_token,
                      pass_compute_time, prefill_token_flops, prompt_gemm_flops,
                      stored_weight_bytes, streamed_weight_bytes, tp_allreduce_time,
                      tp_bandwidth_time, tp_latency, uncached_prompt, vocabulary_weights)
from .speculative import (draft_bandwidth_time, draft_latency, draft_pass,
                          draft_prompt_token_flops, draft_token_flops)

add_all(
    Reference("yu2022orca", "Yu, Gyeong-In and Jeong, Joo Seong and Kim, Geon-Woo and Kim, "
              "Soojeong and Chun, Byung-Gon", "Orca: A Distributed Serving System for "
              "Transformer-Based Generative Models", "16th USENIX Symposium on Operating Systems "
              "Design and Implementation (OSDI 22)", 2022,
              url="https://www.usenix.org/conference/osdi22/presentation/yu", kind="inproceedings"),
    Reference("agrawal2024sarathi", "Agrawal, Amey and Kedia, Nitin and Panwar, Ashish and "
              "Mohan, Jayashree and Kwatra, Nipun and Gulavani, Bhargav S. and Tumanov, Alexey "
              "and Ramjee, Ramachandran", "Taming Throughput-Latency Tradeoff in LLM Inference "
              "with Sarathi-Serve", "18th USENIX Symposium on Operating Systems Design and "
              "Implementation (OSDI 24)", 2024,
              url="https://www.usenix.org/conference/osdi24/presentation/agrawal",
              kind="inproceedings"),
    Reference("little1961", "Little, John D. C.", "A Proof for the Queuing Formula: L = "
              "lambda W", "Operations Research 9(3)", 1961, doi="10.1287/opre.9.3.383"),
    Reference("trtllm2025attentiondp", "NVIDIA", "TensorRT-LLM: attention data parallelism "
              "(enable_attention_dp) in the PyTorch backend: Llama 4 shared expert and MLPs with "
              "overridden_tp_size=1, embedding and LM head unsplit, KV cache with tp_size = 1",
              "NVIDIA/TensorRT-LLM tensorrt_llm/_torch/models/modeling_llama.py, "
              "modules/embedding.py, pyexecutor/resource_manager.py; "
              "docs/source/performance/perf-overview.md (MoE llm_options)", 2025,
              url="https://github.com/NVIDIA/TensorRT-LLM", kind="misc"),
    Reference("vllm2025engineargs", "vLLM Team", "vLLM Engine Arguments: gpu_memory_utilization "
              "(default 0.9), max_num_batched_tokens, max_num_seqs",
              "vLLM documentation and vllm/engine/arg_utils.py", 2025,
              url="https://docs.vllm.ai/en/stable/configuration/engine_args.html", kind="misc"),
)

_t = s.tensor_parallel
_rate = s.arrival_rate / s.one_request                   # requests per second, as 1/s
_one = s.tokens_per_decode_step
_gamma = s.draft_length                                  # drafted tokens per step (0: none)
_n_out_steps = s.output_length / s.speculative_tokens_per_pass  # scheduler steps per request
_verified = _n_out_steps * _one * (_gamma + 1)          # target positions per request
_full_context = s.prompt_length + s.output_length
_phi = s.unoverlapped_fraction
_K_c, _K_m = s.compute_branch_load, s.memory_branch_load
#: the compute-bound branch also dequantises weight-only quantised weights once per step
#: (wall 4's dequantization_time: 0 when the weights are stored at the compute precision)
_A_c = (_phi * s.step_weight_time + s.fixed_overhead + s.step_latency_time
        + s.dequantization_time)
_A_m = s.step_weight_time + s.fixed_overhead + s.step_latency_time
_K_dc, _K_dm = s.draft_compute_branch_load, s.draft_memory_branch_load
_A_dc = _phi * s.draft_step_weight_time + s.fixed_overhead + s.draft_step_latency_time
_A_dm = s.draft_step_weight_time + s.fixed_overhead + s.draft_step_latency_time
#: the step map's linear branches by the target pass's binding roof, one per binding roof of the
#: gamma draft passes: (intercept A, load K) of T = A + lambda K T
_BRANCHES = {"Compute": ((_A_c + _gamma * _A_dc, _K_c + _gamma * _K_dc),
                         (_A_c + _gamma * _A_dm, _K_c + _gamma * _K_dm)),
             "Memory": ((_A_m + _gamma * _A_dc, _K_m + _gamma * _K_dc),
                        (_A_m + _gamma * _A_dm, _K_m + _gamma * _K_dm))}
_ALL_BRANCHES = _BRANCHES["Compute"] + _BRANCHES["Memory"]
_draft_prompt_flops = draft_prompt_token_flops
#: the draft's time-averaged decode context (a full-attention draft, whatever the target's window)
_draft_context = s.prompt_length + s.output_length / 2


def _root(branch):
    """The fixed point T = A + lambda K T of one branch (infinite once lambda K reaches 1)."""
    intercept, load = branch
    return intercept / sympy.Max(0, 1 - _rate * load)


def saturating_rate(limit, per_request_tokens):
    """Rate at which ``per_request_tokens`` x rate x T* reaches ``limit`` on every branch of the
    fixed point (its step constants A and loads K; the disaggregation record reads it for its
    decode-only steps)."""
    return s.one_request * sympy.Min(*(limit / (per_request_tokens * a + limit * k)
                                       for a, k in _ALL_BRANCHES))


def _prompt_step():
    """A step carrying the running batch and one prompt's chunk (wall 4's roofline), with the
    gamma draft passes over the batch when speculating."""
    decode = s.running_batch * _one * (_gamma + 1)
    tc = pass_compute_time((decode_token_flops(s.mean_context_length) * decode
                            + (prefill_token_flops() + _draft_prompt_flops)
                            * s.prompt_chunk_tokens) / _t,
                           (gemm_flops(decode) + prompt_gemm_flops(s.prompt_chunk_tokens)
                            + gemm_flops(s.prompt_chunk_tokens, s.draft_parameters)) / _t,
                           head_flops(decode) / _t)
    tm = memory.time_for((streamed_weight_bytes(decode + s.prompt_chunk_tokens)
                          + kv_group_bytes_per_token()
                          * (s.running_batch * s.mean_context_length + s.prompt_chunk_tokens)
                          + s.draft_kv_group_bytes_per_token * s.prompt_chunk_tokens
                          + s.memory_kernel_bytes_per_token * (decode + s.prompt_chunk_tokens))
                         / _t)
    return (memory.roofline(tc, tm, _phi) + tp_allreduce_time(decode + s.prompt_chunk_tokens)
            + _gamma * draft_pass(s.running_batch, _draft_context))


WALL = Wall(
    number=0,
    name="Continuous batching",
    domain="workload",
    summary=(
        "A serving engine steps over all running sequences at once and slips chunks of new "
        "prompts into the decode steps. At a request rate the steps must carry every prompt "
        "and output token, so the step time, the running batch (Little's law) and the prompt "
        "chunk per step are one fixed point; prefill work is charged to the same compute roof "
        "as decode. The KV cache caps the running batch, requests queue for a slot (wall 7), "
        "and the replica saturates when the batch fills the slots or a step its token budget. "
        "A prefix cache skips the cached share of each prompt's prefill; speculative decoding "
        "makes a step one verification pass plus the draft passes, yielding E tokens."
    ),
    regime="Steady state; Poisson arrivals split evenly over identical replicas (TP groups of t "
           "ranks); fixed prompt and output lengths; paged KV cache without preemption or "
           "swapping (a cached prefix still counted per sequence); chunked prefill within a "
           "per-step token budget; speculative decoding with a dense draft on the same group; "
           "attention data parallelism (TensorRT-LLM enable_attention_dp: every weight but the "
           "routed experts whole on each rank, each rank caching its own requests' KV heads) "
           "with its collectives still charged as wall 4's TP all-reduces.",
    equations=(
        Equation(s.kv_group_bytes_per_token, kv_group_bytes_per_token(), cite="kwon2023vllm",
                 locator="Sec. 3: 2 (key and value) x hidden x layers x bytes per token",
                 note="GQA heads; replicated when the TP degree exceeds the KV heads"),
        Equation(s.mean_context_length, s.prompt_length + s.output_length / 2,
                 cite="kwon2023vllm", locator="Sec. 3: a sequence's KV grows by one token per step",
                 note="time average over the n_out decode steps (ours)"),
        Equation(s.decode_token_flops, decode_token_flops(s.mean_context_length),
                 cite="kaplan2020scaling", locator="Table 1: C_forward per token at context n_ctx"),
        Equation(s.uncached_prompt_length, uncached_prompt(), cite="zheng2024sglang",
                 locator="Sec. 3: RadixAttention reuses the KV cache of a prompt's cached prefix; "
                         "only the rest is computed",
                 note="h = 0 (no prefix cache) computes the whole prompt"),
        Equation(s.prefill_token_flops, prefill_token_flops(),
                 cite="kaplan2020scaling", locator="Table 1, causal attention over S_p^2/2 pairs",
                 note="per computed prompt token: the uncached suffix's tokens attend to "
                      "S_p (1 + h) / 2 keys on average under full attention"),
        Equation(s.request_compute_time,
                 pass_compute_time((_verified * s.decode_token_flops
                                    + s.uncached_prompt_length
                                    * (s.prefill_token_flops + _draft_prompt_flops)) / _t,
                                   (gemm_flops(_verified)
                                    + prompt_gemm_flops(s.uncached_prompt_length)
                                    + gemm_flops(s.uncached_prompt_length, s.draft_parameters))
                                   / _t, head_flops(_verified) / _t),
                 cite="agrawal2024sarathi",
                 locator="Sec. 4: a hybrid batch runs the prompt chunks and decodes together",
                 note="each output token verified in a pass over gamma + 1 positions per E "
                      "accepted (Leviathan et al.; gamma = 0: one); a draft also prefills the "
                      "prompt (charged to the same step); the weight GEMMs at the chip's "
                      "measured matmul ceiling (wall 4's compute roof); the LM head on the "
                      "verified positions only (a prompt's last token yields the first output "
                      "token: vllm2025logitsindices), at its own precision's peak"),
        Equation(s.request_memory_time,
                 memory.time_for((s.kv_group_bytes_per_token
                                  * (_n_out_steps * s.mean_context_length
                                     + s.uncached_prompt_length)
                                  + s.draft_kv_group_bytes_per_token * s.uncached_prompt_length
                                  + s.embedding_row_width * s.vocab_bytes_per_parameter
                                  * (_n_out_steps * _one + s.uncached_prompt_length)
                                  + s.memory_kernel_bytes_per_token
                                  * (_verified + s.uncached_prompt_length))
                                 / _t),
                 cite="kwon2023vllm", locator="Sec. 2.2: every decode step reads the sequence's "
                 "KV cache; the prompt writes it once",
                 note="the computed prompt tokens' KV (and the draft's); reads of a cached prefix "
                      "are not charged, as those of a prompt's earlier chunks are not"),
        Equation(s.request_comm_time, tp_bandwidth_time(s.uncached_prompt_length + _verified),
                 cite="shoeybi2019megatron", locator="Sec. 3: two all-reduces per layer per token"),
        Equation(s.draft_request_compute_time,
                 pass_compute_time(_n_out_steps * _one * draft_token_flops(_draft_context) / _t,
                                   gemm_flops(_n_out_steps * _one, s.draft_parameters) / _t),
                 cite="chen2024magicdec", locator="Sec. 3.1: T_D(B, S), one draft decode pass"),
        Equation(s.draft_request_memory_time,
                 memory.time_for(s.draft_kv_group_bytes_per_token * _n_out_steps
                                 * _draft_context / _t),
                 cite="chen2024magicdec", locator="Sec. 3.3: the draft reads its own KV cache"),
        Equation(s.draft_request_comm_time, draft_bandwidth_time(_n_out_steps * _one),
                 cite="shoeybi2019megatron", locator="Sec. 3: two all-reduces per layer per token"),
        Equation(s.draft_step_weight_time, memory.time_for(s.draft_weight_bytes / _t),
                 cite="leviathan2023speculative",
                 locator="Sec. 3.4: a draft run costs c target runs",
                 note="its weights are read once per draft pass"),
        Equation(s.draft_step_latency_time, draft_latency(), cite="thakur2005mpich",
                 locator="ring all-reduce: 2 (p - 1) start-up latencies",
                 note="one synchronisation per all-reduce with peer access, as the target's"),
        Equation(_K_dc, s.draft_request_compute_time + _phi * s.draft_request_memory_time
                 + s.draft_request_comm_time, cite="chen2024magicdec",
                 locator="Sec. 3.2: the draft's roofline at the batch"),
        Equation(_K_dm, s.draft_request_memory_time + _phi * s.draft_request_compute_time
                 + s.draft_request_comm_time, cite="chen2024magicdec",
                 locator="Sec. 3.2: the draft's roofline at the batch"),
        Equation(s.replicated_weight_bytes,
                 stored_weight_bytes(s.parameters - s.sharded_parameters)
                 * (s.attention_data_parallel - 1) / _t,
                 cite="trtllm2025attentiondp",
                 locator="attention data parallelism: full attention weights on each rank; "
                         "overridden_tp_size=1 for the MLPs and shared experts, embedding and "
                         "LM head unsplit (modeling_llama.py, embedding.py)",
                 note="each rank of an attention group of t/d_a holds d_a/t of every weight but "
                      "the sharded ones (the routed experts), d_a - 1 of t shares more than "
                      "plain tensor parallelism; 0 at d_a = 1"),
        Equation(s.step_weight_time,
                 memory.time_for(((s.parameters - vocabulary_weights()) * s.bytes_per_parameter
                                  + s.head_parameters * s.vocab_bytes_per_parameter) / _t
                                 + s.replicated_weight_bytes),
                 cite="agrawal2024sarathi",
                 locator="Sec. 3: decode batches are memory-bound on the weight read",
                 note="every weight but the input lookup tables, whose rows each token reads "
                      "(plus the copies attention data parallelism keeps whole, read by each "
                      "rank) "
                      "(a request's share, in its memory time: one row per sequence per step and "
                      "per computed prompt token, as wall 4's decode step)"),
        Equation(s.step_latency_time, tp_latency(), cite="thakur2005mpich",
                 locator="ring all-reduce: 2 (p - 1) start-up latencies",
                 note="one synchronisation per all-reduce with peer access (one-shot / two-shot "
                      "peer-memory kernels, wall 14): with the bandwidth-optimal per-request "
                      "term the lower envelope of ring, one-shot and two-shot"),
        Equation(s.arrival_rate, s.request_rate / s.serving_replicas, cite="kleinrock1975queueing",
                 locator="Sec. 3.5: a Poisson stream split evenly stays Poisson"),
        Equation(_K_c, s.request_compute_time + _phi * s.request_memory_time + s.request_comm_time,
                 cite="agrawal2024sarathi", locator="Sec. 3: prefill is compute-bound",
                 note="branch Max(x, y) + phi Min(x, y) = x + phi y while compute binds"),
        Equation(_K_m, s.request_memory_time + _phi * s.request_compute_time + s.request_comm_time,
                 cite="agrawal2024sarathi", locator="Sec. 3: decode is memory-bound"),
        Equation(s.compute_bound_step_time,
                 sympy.Max(*map(_root, _BRANCHES["Compute"]), evaluate=False),
                 cite="agrawal2024sarathi",
                 locator="Sec. 4: stall-free batching; T = A + lambda K T solved for T (ours)",
                 note="no fixed point (saturated: infinite) when the branch load reaches 1; "
                      "with speculation the gamma draft passes add their own branch (MagicDec "
                      "Sec. 3.1: gamma T_D + T_V per step)"),
        Equation(s.memory_bound_step_time,
                 sympy.Max(*map(_root, _BRANCHES["Memory"]), evaluate=False),
                 cite="agrawal2024sarathi", locator="as for the compute branch"),
        Equation(s.loaded_step_time, sympy.Max(s.compute_bound_step_time,
                                               s.memory_bound_step_time, evaluate=False),
                 cite="yu2022orca", locator="Sec. 4: iteration-level scheduling, one token per "
                 "running request per iteration",
                 note="least fixed point of the convex piecewise-linear step map: the larger "
                      "branch root", branches={s.compute_bound_step_time: "Compute",
                                               s.memory_bound_step_time: "Memory"}),
        Equation(s.loaded_time_per_output_token,
                 s.loaded_step_time * _one / s.speculative_tokens_per_pass,
                 cite="leviathan2023speculative",
                 locator="eq. (1): E(# generated tokens) per target pass; E = 1 without a draft"),
        Equation(s.running_batch, _rate * s.loaded_step_time * _n_out_steps, cite="little1961",
                 locator="L = lambda W: requests in decode = rate x n_out / E steps of T*"),
        Equation(s.loaded_prefill_chunk, _rate * s.loaded_step_time * s.uncached_prompt_length,
                 cite="agrawal2024sarathi", locator="Sec. 4.2: chunked prefills",
                 note="the computed prompt tokens arriving per step"),
        Equation(s.prompt_chunk_tokens,
                 sympy.Max(0, sympy.Min(s.uncached_prompt_length, s.max_batched_tokens
                                        - s.running_batch * _one * (_gamma + 1))),
                 cite="agrawal2024sarathi", locator="Sec. 4.3: token budget shared by decodes "
                 "and the prefill chunk"),
        Equation(s.prompt_steps,
                 sympy.Max(1, s.uncached_prompt_length / s.prompt_chunk_tokens),
                 cite="agrawal2024sarathi", locator="Sec. 4.2: a prompt spread over chunks",
                 note="infinite when decodes fill the token budget (no room for a chunk)"),
        Equation(s.prompt_step_time, _prompt_step(), cite="agrawal2024sarathi",
                 locator="Sec. 4: a hybrid batch of decodes and one prefill chunk",
                 note="wall 4's roofline with phi, overhead and TP all-reduces"),
        Equation(s.prefill_latency, s.prompt_steps * s.prompt_step_time, cite="agrawal2024sarathi",
                 locator="Sec. 4.2: TTFT grows with the number of chunks"),
        Equation(s.workspace_bytes,
                 s.max_batched_tokens * (s.hidden + s.ffn_width / _t)
                 * s.activation_bytes_per_element * s.per_token,
                 cite="vllm2025engineargs", locator="the engine profiles a forward pass of "
                 "max_num_batched_tokens before sizing the KV cache",
                 note="one layer's residual stream and FFN share per rank (wall 4's activations)"),
        Equation(s.engine_kv_pool_bytes,
                 sympy.Max(0, s.memory_reserve * s.memory_capacity - s.weight_bytes / _t
                           - s.replicated_weight_bytes
                           - s.draft_weight_bytes / _t - s.workspace_bytes),
                 cite="vllm2025engineargs", locator="gpu_memory_utilization: the fraction of "
                 "device memory for weights, activations and KV cache (default 0.9)"),
        Equation(s.sequence_kv_tokens, _full_context, cite="kwon2023vllm",
                 locator="Sec. 4.2: a sequence's KV blocks grow to its prompt plus its output",
                 note="full attention; the sliding-window record caps the windowed layers' share"),
        Equation(s.sequence_capacity,
                 count_floor(_t * s.engine_kv_pool_bytes
                             / (s.kv_group_bytes_per_token * s.sequence_kv_tokens
                                + s.draft_kv_group_bytes_per_token * _full_context)),
                 cite="kwon2023vllm", locator="Table 1: max # KV cache slots / tokens per sequence",
                 note="full context reserved per sequence (no preemption), with a cached prefix "
                      "too, and the draft's KV cache beside the target's"),
        Equation(s.sequence_slots, sympy.Min(s.sequence_capacity, s.max_running_sequences),
                 cite="vllm2025engineargs", locator="max_num_seqs caps the running sequences"),
        Equation(s.servers, sympy.Max(1, s.sequence_slots), cite="kleinrock1975queueing",
                 locator="Sec. 3.5: M/M/m, one server per KV slot",
                 note="at least one (a replica that fits nothing is refused by the constraint)"),
        Equation(s.mean_service_time, _n_out_steps * s.loaded_step_time, cite="little1961",
                 locator="a slot is held for the request's n_out / E decode steps",
                 note="so the queue's utilisation is B*/B_slots, the batch's share of the slots"),
        Equation(s.loaded_ttft, s.waiting_time_percentile + s.prefill_latency,
                 cite="agrawal2024sarathi", locator="Sec. 2: TTFT = scheduling delay + prefill"),
        Equation(s.loaded_mean_ttft, s.mean_waiting_time + s.prefill_latency,
                 cite="agrawal2024sarathi", locator="Sec. 2: TTFT = scheduling delay + prefill"),
        Equation(s.engine_memory_footprint,
                 (s.weight_bytes + s.draft_weight_bytes + s.sequence_slots
                  * (s.kv_group_bytes_per_token * s.sequence_kv_tokens
                     + s.draft_kv_group_bytes_per_token * _full_context)) / _t
                 + s.replicated_weight_bytes + s.workspace_bytes,
                 cite="kwon2023vllm", locator="Fig. 1: parameters + KV cache + activations"),
        Equation(s.kv_saturation_rate,
                 saturating_rate(s.sequence_slots, _n_out_steps), cite="little1961",
                 locator="B* = lambda n_out T*(lambda) = B_slots solved per branch (ours)"),
        Equation(s.token_saturation_rate,
                 saturating_rate(s.max_batched_tokens, s.uncached_prompt_length + _verified),
                 cite="agrawal2024sarathi",
                 locator="Sec. 4.3: the step's tokens lambda (n_in + n_out) T* within the budget",
                 note="the computed prompt tokens and the verified positions"),
        Equation(s.roof_saturation_rate,
                 s.one_request / sympy.Max(*(k for _, k in _ALL_BRANCHES)),
                 cite="agrawal2024sarathi", locator="Sec. 3: the GPU's busy time per second "
                 "reaches one"),
        Equation(s.saturation_rate,
                 sympy.Min(s.kv_saturation_rate, s.token_saturation_rate, s.roof_saturation_rate),
                 cite="kwon2023vllm", locator="Sec. 3: throughput bounded by the requests that "
                 "fit in memory"),
        Equation(s.fleet_capacity, s.serving_replicas * s.saturation_rate,
                 cite="kleinrock1975queueing", locator="Sec. 3.5: stable iff lambda < m mu"),
        Equation(s.goodput,
                 sympy.Min(s.request_rate, s.fleet_capacity) * s.output_length / s.one_request,
                 cite="agrawal2024sarathi", locator="Sec. 5: capacity under latency SLOs"),
        Equation(s.achieved_flop_rate,
                 sympy.Min(s.request_rate, s.fleet_capacity) / s.one_request
                 * (_verified * s.decode_token_flops
                    + s.uncached_prompt_length * (s.prefill_token_flops + _draft_prompt_flops)
                    + _gamma * _n_out_steps * _one * draft_token_flops(_draft_context)),
                 cite="kaplan2020scaling", locator="Table 1: forward FLOPs per token",
                 note="every FLOP the steps execute: verified positions, computed prompt tokens "
                      "and draft passes"),
    ),
    constraints=(
        Constraint("a_sequence_fits", sympy.Integer(1), s.sequence_capacity, cite="kwon2023vllm",
                   kind="capacity", locator="Sec. 3: one request's KV cache must fit"),
        Constraint("below_saturation", s.arrival_rate, s.saturation_rate, cite="kleinrock1975queueing",
                   kind="stability", locator="Sec. 3.5: stable iff lambda < m mu"),
    ),
    references=("yu2022orca", "kwon2023vllm", "agrawal2024sarathi", "little1961",
                "vllm2025engineargs", "kaplan2020scaling", "shoeybi2019megatron",
                "thakur2005mpich", "kleinrock1975queueing", "williams2009roofline",
                "zheng2024sglang", "leviathan2023speculative", "chen2024magicdec", "trtllm2025attentiondp"),
    kind="workload",
)
