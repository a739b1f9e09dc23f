"""Disaggregated serving: a prefill pool and a decode pool, with the KV cache moved between them.

Bounds: DistServe (Zhong et al. 2024) and Splitwise (Patel et al. 2024) run the prompt phase and
the token phase of a request on different replicas, so a prompt never shares a step with decode
tokens and each pool is sized for its own latency target. Composed with walls 1, 2, 4, 7 and
the continuous-batching record:

* **Prefill pool.** A prefill replica (a tensor-parallel group of t devices) runs one prompt at a
  time (DistServe Sec. 3.1: a prompt long enough to saturate the compute roof gains no throughput
  from batching), in Max(1, n_in / N_tok) passes of the engine's token budget, each wall 4's
  prefill roofline plus the per-step overhead and the TP all-reduces:

      D = p [Max(T_c, T_m) + phi Min(T_c, T_m) + T_0 + A_x] + T_x(n_in),   p = Max(1, n_in/N_tok),

  with T_c = n_in f_p / (p t P eta_c) and T_m = (W/t + m_kv n_in/(p t)) / (B eta_m). The requests
  of the whole fleet queue for the R_p prefill replicas (DistServe's controller dispatches to
  them): wall 7's M/M/c with c = R_p servers and service time D (DistServe Sec. 3.1 uses M/D/1;
  exponential service makes the tail wait conservative).
* **KV transfer.** The prompt's cache, M_x = m_kv S_p,kv bytes over the group (S_p,kv the prompt,
  or the windowed layers' rolling buffers), moves to a decode replica over the scale-out fabric,
  each of the t devices sending its 1/t share over its own link: T_x = M_x / (t B_x eta_x)
  + alpha_x (Splitwise Sec. IV-C, DistServe Sec. 3.3). TTFT = wait + D + T_x: the client's
  first token leaves once the cache is on the decode side. The links keep up while the busier
  side's share of transfers, Lambda M_x / (t B_x eta_x Min(R_p, R_d)), stays below one.
* **Decode pool.** A decode replica is the continuous-batching record at lambda_d = Lambda / R_d
  with decode-only steps: no prompt chunk, and a request adds only its n_out decode tokens'
  compute, KV reads and all-reduce bytes to the steps (the prompt's cache arrives by DMA, outside
  the steps). The fixed point T* (= TPOT), the running batch, the KV slots at full context and the
  saturation rates are the record's; the token budget now holds lambda_d n_out T* decode tokens.

The fleet sustains Min(R_p / D, R_d lambda_sat, the links' rate); goodput and the achieved
FLOP/s are the co-located record's at that capacity.

:func:`disaggregated` composes it: the continuous-batching record keeps its decode fixed point and
capacity (its rate renamed to the decode replica's), and loses its prompt chunks, prefill latency
and KV-slot queue, whose place this record's prefill pool and transfer take.

Regime of validity: steady state, Poisson arrivals, identical prompts and outputs; prefill and
decode replicas of the same chip, precision and tensor-parallel degree; one prompt per prefill
pass (conservative for short prompts, which batching would help); the transfer after the prefill,
not overlapped with it layer by layer (Splitwise's per-layer transfer hides most of it: an upper
bound), and not contended beyond the links' busy share; a decode replica's wait for a free KV
slot is not modelled (the pool is kept below the rate at which the running batch fills the
slots).

References
----------
Zhong et al., "DistServe: Disaggregating Prefill and Decoding for Goodput-optimized Large
Language Model Serving", OSDI 2024 (arXiv:2401.09670), Sec. 3-4.
Patel et al., "Splitwise: Efficient Generative LLM Inference Using Phase Splitting", ISCA 2024
(arXiv:2311.18677), Sec. IV.
"""

import dataclasses

import sympy

from .. import symbols as s
from . import continuous_batching, memory
from .base import Constraint, Equation, Wall
from .references import Reference, add_all
from .serving import (gemm_flops, head_flops, pass_compute_time, prompt_gemm_flops, streamed_weight_bytes, tp_allreduce_time,
                      tp_bandwidth_time)

add_all(
    Reference("zhong2024distserve", "Zhong, Yinmin and Liu, Shengyu and Chen, Junda and Hu, "
              "Jianbo and Zhu, Yibo and Liu, Xuanzhe and Jin, Xin and Zhang, Hao",
              "DistServe: Disaggregating Prefill and Decoding for Goodput-optimized Large "
              "Language Model Serving", "18th USENIX Symposium on Operating Systems Design and "
              "Implementation (OSDI 24)", 2024, url="https://arxiv.org/abs/2401.09670",
              kind="inproceedings"),
    Reference("patel2024splitwise", "Patel, Pratyush and Choukse, Esha and Zhang, Chaojie and "
              "Shah, Aashaka and Goiri, {\\'I}{\\~n}igo and Maleki, Saeed and Bianchini, "
              "Ricardo", "Splitwise: Efficient Generative LLM Inference Using Phase Splitting",
              "51st ACM/IEEE International Symposium on Computer Architecture (ISCA)", 2024,
              url="https://arxiv.org/abs/2311.18677", kind="inproceedings"),
)

_t, _phi = s.tensor_parallel, s.unoverlapped_fraction
_n_in, _n_out = s.prompt_length, s.output_length
_rate = s.request_rate / s.one_request
#: engine passes one prompt takes on a prefill replica (the token budget bounds a pass)
_passes = sympy.Max(1, _n_in / s.max_batched_tokens)
#: bandwidth term of one prompt's KV transfer (each of the t devices sends its share)
_wire = s.prompt_kv_bytes / (_t * s.kv_transfer_bandwidth * s.scale_out_efficiency)
_fewer_replicas = sympy.Min(s.prefill_replicas, s.decode_replicas)
_served = sympy.Min(s.request_rate, s.fleet_capacity) / s.one_request


def _prefill_pass():
    """One engine pass over a 1/p share of the prompt: wall 4's roofline (with the per-step
    overhead) plus the TP all-reduces of the pass's tokens (wall 4's engine all-reduce); the
    prompt's one LM-head token (its last) spread over the passes."""
    head = head_flops(s.one_token) / (_passes * _t)
    tc = pass_compute_time(_n_in * s.prefill_token_flops / (_passes * _t) + head,
                           prompt_gemm_flops(_n_in) / (_passes * _t) + head, head)
    tm = memory.time_for((streamed_weight_bytes(_n_in / _passes)
                          + (s.kv_group_bytes_per_token + s.memory_kernel_bytes_per_token)
                          * _n_in / _passes) / _t)
    return memory.roofline(tc, tm, _phi) + tp_allreduce_time(_n_in / _passes)


WALL = Wall(
    number=0,
    name="Disaggregated serving",
    domain="workload",
    summary=(
        "Prefill and decode run on separate pools of replicas: a prompt runs alone on a prefill "
        "replica (no decode steps slow it), its KV cache crosses the fabric to a decode replica, "
        "and the decode replicas' steps carry decode tokens only. TTFT is the wait for a prefill "
        "replica plus the prefill plus the transfer; TPOT is the decode pool's loaded step. "
        "Each pool is sized for its own SLO, and the fleet saturates at the smaller of the two "
        "pools' rates and the links'."
    ),
    regime="Steady state, Poisson arrivals, fixed prompt and output lengths; both pools of the "
           "same chip and TP degree; one prompt per prefill pass; transfer after the prefill over "
           "each device's scale-out link; decode-only continuous batching otherwise as the "
           "continuous-batching record.",
    equations=(
        Equation(s.prefill_service_time,
                 _passes * _prefill_pass(),
                 cite="zhong2024distserve",
                 locator="Sec. 3.1: a prefill instance runs each prompt without decoding "
                         "interference; execution time D of one prompt",
                 note="passes of the token budget, each wall 4's roofline + T_0 + the "
                      "all-reduces' latencies; the all-reduce bytes of the whole prompt"),
        Equation(s.arrival_rate, s.request_rate, cite="zhong2024distserve",
                 locator="Sec. 4.3, online scheduling: requests arrive at a centralized "
                         "controller and go to the prefill instance with the shortest queue",
                 note="one queue in front of the prefill pool (wall 7)"),
        Equation(s.servers, s.prefill_replicas, cite="kleinrock1975queueing",
                 locator="Sec. 3.5: M/M/m, one server per prefill replica"),
        Equation(s.mean_service_time, s.prefill_service_time, cite="zhong2024distserve",
                 locator="Sec. 3.1: the prefill instance as a queue with service time D",
                 note="DistServe's M/D/1; wall 7's exponential service is conservative"),
        Equation(s.prompt_kv_tokens, _n_in, cite="patel2024splitwise",
                 locator="Sec. IV-C: the KV cache of the prompt is transferred to the token "
                         "machine",
                 note="full attention: every prompt token in every layer"),
        Equation(s.prompt_kv_bytes, s.kv_group_bytes_per_token * s.prompt_kv_tokens,
                 cite="patel2024splitwise", locator="Sec. IV-C: KV-cache transfer size"),
        Equation(s.kv_transfer_time, _wire + s.kv_transfer_latency, cite="zhong2024distserve",
                 locator="Sec. 3.3, communication overhead: a prompt's KV cache moves from the "
                         "prefill to the decoding instance over the network",
                 note="alpha-beta model: each of the t devices sends its 1/t share over its own "
                      "scale-out link at the achieved fraction of its rate"),
        Equation(s.kv_link_utilization, _rate * _wire / _fewer_replicas,
                 cite="patel2024splitwise",
                 locator="Sec. IV-C: the transfer uses the back-plane interconnect between "
                         "machines",
                 note="transfers per second per replica on the side with fewer replicas, times "
                      "each transfer's wire time"),
        Equation(s.disaggregated_ttft,
                 s.waiting_time_percentile + s.prefill_service_time + s.kv_transfer_time,
                 cite="zhong2024distserve", locator="Sec. 3.1 (queueing + execution) and "
                 "Sec. 6.3, Fig. 10: prefill queuing, prefill execution, transmission"),
        Equation(s.disaggregated_mean_ttft,
                 s.mean_waiting_time + s.prefill_service_time + s.kv_transfer_time,
                 cite="zhong2024distserve", locator="Sec. 3.1: average TTFT = wait + D"),
        Equation(s.decode_arrival_rate, s.request_rate / s.decode_replicas,
                 cite="kleinrock1975queueing",
                 locator="Sec. 3.5: a Poisson stream split evenly stays Poisson"),
        Equation(s.request_compute_time,
                 pass_compute_time(_n_out * s.decode_token_flops / _t,
                                   gemm_flops(_n_out) / _t, head_flops(_n_out) / _t),
                 cite="zhong2024distserve", locator="Sec. 3.2: decoding instances batch only "
                 "decoding jobs",
                 note="the decode tokens only: the prompt ran on the prefill pool"),
        Equation(s.request_memory_time,
                 memory.time_for((s.kv_group_bytes_per_token * _n_out / s.tokens_per_decode_step
                                  * s.mean_context_length
                                  + s.memory_kernel_bytes_per_token * _n_out) / _t),
                 cite="kwon2023vllm", locator="Sec. 2.2: every decode step reads the sequence's "
                 "KV cache",
                 note="the prompt's cache arrives by DMA, outside the steps; each decode "
                      "token's memory-bound kernels (wall 4's bytes per token)"),
        Equation(s.request_comm_time, tp_bandwidth_time(_n_out), cite="shoeybi2019megatron",
                 locator="Sec. 3: two all-reduces per layer per token"),
        Equation(s.token_saturation_rate,
                 continuous_batching.saturating_rate(s.max_batched_tokens, _n_out),
                 cite="agrawal2024sarathi",
                 locator="Sec. 4.3: the step's tokens lambda n_out T* within the budget",
                 note="decode tokens only"),
        Equation(s.prefill_pool_capacity, s.prefill_replicas * s.one_request
                 / s.prefill_service_time,
                 cite="zhong2024distserve", locator="Sec. 3.1: a prefill instance completes "
                 "1/D requests per second"),
        Equation(s.decode_pool_capacity, s.decode_replicas * s.saturation_rate,
                 cite="kleinrock1975queueing", locator="Sec. 3.5: stable iff lambda < m mu"),
        Equation(s.kv_link_capacity, _fewer_replicas * s.one_request / _wire,
                 cite="patel2024splitwise", locator="Sec. IV-C: transfer bandwidth"),
        Equation(s.fleet_capacity,
                 sympy.Min(s.prefill_pool_capacity, s.decode_pool_capacity, s.kv_link_capacity),
                 cite="zhong2024distserve", locator="Sec. 3: goodput bounded by the slower "
                 "phase's instances"),
        Equation(s.goodput, _served * _n_out, cite="agrawal2024sarathi",
                 locator="Sec. 5: capacity under latency SLOs"),
        Equation(s.achieved_flop_rate,
                 _served * (_n_out * s.decode_token_flops + _n_in * s.prefill_token_flops),
                 cite="kaplan2020scaling", locator="Table 1: forward FLOPs per token"),
        Equation(s.prefill_memory_footprint,
                 (s.weight_bytes + s.prompt_kv_bytes) / _t + s.workspace_bytes,
                 cite="kwon2023vllm", locator="Fig. 1: parameters + KV cache + activations",
                 note="one prompt's cache held until it is sent"),
    ),
    constraints=(
        Constraint("a_prompt_fits", s.prefill_memory_footprint,
                   s.memory_reserve * s.memory_capacity, cite="vllm2025engineargs",
                   kind="capacity", locator="gpu_memory_utilization bounds what the engine holds"),
        Constraint("kv_links_keep_up", s.kv_link_utilization, sympy.Integer(1),
                   cite="patel2024splitwise", kind="stability",
                   locator="Sec. IV-C: the transfer must keep pace with the prompts"),
    ),
    references=("zhong2024distserve", "patel2024splitwise", "kleinrock1975queueing",
                "kwon2023vllm", "shoeybi2019megatron", "agrawal2024sarathi", "kaplan2020scaling",
                "vllm2025engineargs"),
    kind="workload",
)

#: the continuous-batching record's definitions this record replaces (the co-located prompt
#: chunks, prefill latency and KV-slot queue; the per-request loads; the fleet's capacity)
REPLACED = frozenset(eq.lhs for eq in WALL.equations)
#: what the continuous-batching record still defines but a decode-only pool does not have
_DROPPED = frozenset((s.loaded_prefill_chunk, s.prompt_chunk_tokens, s.prompt_steps,
                      s.prompt_step_time, s.prefill_latency, s.loaded_ttft, s.loaded_mean_ttft))
_RENAME = {s.arrival_rate: s.decode_arrival_rate}


def disaggregated(*records) -> list:
    """``records`` with the continuous-batching record turned into the decode pool (its prompt
    chunks, prefill latency and KV-slot queue dropped, the definitions this record gives
    replaced, its request rate per replica renamed to the decode replica's
    ``decode_arrival_rate``), plus this record. The continuous-batching record (and wall 7,
    whose queue becomes the prefill pool's) must be among them."""
    out, found = [], False
    for record in records:
        if record.name == continuous_batching.WALL.name:
            found = True
            eqs = tuple(dataclasses.replace(eq, rhs=eq.rhs.xreplace(_RENAME))
                        for eq in record.equations
                        if eq.lhs not in REPLACED and eq.lhs not in _DROPPED)
            cons = tuple(dataclasses.replace(c, lhs=c.lhs.xreplace(_RENAME),
                                             rhs=c.rhs.xreplace(_RENAME))
                         for c in record.constraints)
            record = dataclasses.replace(record, equations=eqs, constraints=cons)
        out.append(record)
    if not found:
        raise ValueError("disaggregated() turns the continuous-batching record into the decode "
                         "pool: compose it with equations.workloads.continuous_batching")
    return out + [WALL]
