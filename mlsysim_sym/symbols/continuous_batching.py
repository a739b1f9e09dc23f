"""Symbols of the continuous-batching serving record (vLLM / Sarathi-Serve scheduler steps at a
request rate): the scheduler's token budget and memory reserve, the request load, the
steady-state step, batch and chunk, the engine's KV capacity and the saturation rate."""

from .base import declare

# ------------------------------------------------------------------------ engine configuration
max_batched_tokens = declare(
    "max_batched_tokens", "token", r"N_{\mathrm{tok}}",
    "token budget of one scheduler step, decode tokens plus prefill chunk (vLLM "
    "max_num_batched_tokens; sizes the activation workspace)", (1, 1e7))
memory_reserve = declare(
    "memory_reserve", "dimensionless", r"u_{\mathrm{mem}}",
    "share of each device's memory the engine may use for weights, workspace and KV cache "
    "(vLLM gpu_memory_utilization)", (0, 1))
prefill_chunk_tokens = declare(
    "prefill_chunk_tokens", "token", r"c",
    "prompt tokens a scheduler step carries beside its decode tokens (chunked prefill)",
    (0, 1e7))
max_running_sequences = declare(
    "max_running_sequences", "dimensionless", r"B_{\mathrm{seq}}",
    "cap on the sequences a replica runs at once (vLLM max_num_seqs)", (1, 1e7))

# ------------------------------------------------------------------------------ request load
request_rate = declare("request_rate", "request/s", r"\Lambda",
                       "mean request arrival rate of the whole fleet (Poisson)", (0, 1e9))
serving_replicas = declare("serving_replicas", "dimensionless", r"R",
                           "model replicas (tensor-parallel groups) the requests are split over",
                           (1, 1e7))
output_length = declare("output_length", "token", r"n_{\mathrm{out}}",
                        "tokens generated per request", (1, 1e7))

# ----------------------------------------------------------------- per-token and per-request cost
kv_group_bytes_per_token = declare(
    "kv_group_bytes_per_token", "kB/token", r"m_{kv}^{(t)}",
    "KV-cache bytes of one token across a tensor-parallel group (heads replicated when t "
    "exceeds the KV heads)", (0, 1e9))
decode_token_flops = declare("decode_token_flops", "FLOP/token", r"f_{d}",
                             "FLOPs of one decode token at the mean context", (0, 1e15))
prefill_token_flops = declare("prefill_token_flops", "FLOP/token", r"f_{p}",
                              "FLOPs of one prompt token (causal attention over half the prompt "
                              "on average)", (0, 1e15))
request_compute_time = declare("request_compute_time", "ms", r"w_{c}",
                               "compute-roof time of one request's prompt and output tokens",
                               (0, 1e12))
request_memory_time = declare("request_memory_time", "ms", r"w_{m}",
                              "memory-roof time of the KV traffic one request causes (written "
                              "once, read every decode step)", (0, 1e12))
request_comm_time = declare("request_comm_time", "ms", r"w_{x}",
                            "bandwidth time of one request's tokens in the TP all-reduces",
                            (0, 1e12))
step_weight_time = declare("step_weight_time", "ms", r"A_{m}",
                           "memory-roof time of reading each rank's weights once per step",
                           (0, 1e12))
step_latency_time = declare("step_latency_time", "ms", r"A_{x}",
                            "start-up latencies of one step's TP all-reduces (ring: 2(t-1) "
                            "per all-reduce)", (0, 1e12))
compute_branch_load = declare("compute_branch_load", "ms", r"K_{c}",
                              "busy time one request adds to the steps while compute binds "
                              "(w_c + phi w_m + w_x)", (0, 1e12))
memory_branch_load = declare("memory_branch_load", "ms", r"K_{m}",
                             "busy time one request adds to the steps while memory binds "
                             "(w_m + phi w_c + w_x)", (0, 1e12))

# --------------------------------------------------------------------------- steady state
_T = (0, 1e12)
compute_bound_step_time = declare("compute_bound_step_time", "ms", r"T^{*}_{c}",
                                  "fixed-point step time of the compute-bound branch", _T)
memory_bound_step_time = declare("memory_bound_step_time", "ms", r"T^{*}_{m}",
                                 "fixed-point step time of the memory-bound branch", _T)
loaded_step_time = declare("loaded_step_time", "ms", r"T^{*}",
                           "steady-state scheduler step at the request rate (the mean time per "
                           "output token)", _T)
running_batch = declare("running_batch", "dimensionless", r"B^{*}",
                        "mean sequences decoding in a step at the request rate (Little's law)",
                        (0, 1e9))
loaded_prefill_chunk = declare("loaded_prefill_chunk", "token", r"c^{*}",
                               "mean prompt tokens a step carries at the request rate", (0, 1e12))
prompt_steps = declare("prompt_steps", "dimensionless", r"n_{p}",
                       "scheduler steps one prompt's prefill is spread over (at least one)",
                       (0, 1e12))
prompt_chunk_tokens = declare("prompt_chunk_tokens", "token", r"c_{p}",
                              "prompt tokens of one request a step carries while it prefills",
                              (0, 1e12))
prompt_step_time = declare("prompt_step_time", "ms", r"T_{p}",
                           "time of a step that carries a prompt chunk beside the running batch",
                           _T)
prefill_latency = declare("prefill_latency", "ms", r"T_{\mathrm{prefill}}",
                          "prefill time of one prompt spread over the scheduler steps", _T)
loaded_ttft = declare("loaded_ttft", "ms", r"T_{\mathrm{TTFT}}^{(p)}",
                      "p-percentile time to first token: queueing for a KV slot + prefill", _T)
loaded_mean_ttft = declare("loaded_mean_ttft", "ms", r"\bar{T}_{\mathrm{TTFT}}",
                           "mean time to first token: mean queueing + prefill", _T)

# ------------------------------------------------------------------ capacity and saturation
engine_kv_pool_bytes = declare(
    "engine_kv_pool_bytes", "GB", r"M_{\mathrm{pool}}^{(e)}",
    "KV-cache memory of one device: reserve x capacity - weights - workspace (never negative)",
    (0, 1e9))
workspace_bytes = declare("workspace_bytes", "GB", r"M_{\mathrm{ws}}",
                          "activation workspace of one device, sized for the token budget",
                          (0, 1e9))
sequence_kv_tokens = declare(
    "sequence_kv_tokens", "token", r"S_{kv}",
    "tokens a sequence at full context (prompt + output) holds in the KV cache, averaged over the "
    "layers (full attention: n_in + n_out; windowed layers hold at most the window)", (0, 1e8))
sequence_capacity = declare("sequence_capacity", "dimensionless", r"B_{\max}",
                            "sequences at full context whose KV caches fit in a replica",
                            (0, 1e9))
sequence_slots = declare("sequence_slots", "dimensionless", r"B_{\mathrm{slots}}",
                         "sequences a replica runs at most: KV capacity capped by max_num_seqs",
                         (0, 1e9))
engine_memory_footprint = declare(
    "engine_memory_footprint", "GB", r"M^{(e)}",
    "resident bytes of one device with every slot at full context", (0, 1e9))
kv_saturation_rate = declare("kv_saturation_rate", "request/s", r"\lambda_{kv}",
                             "per-replica rate at which the running batch fills the slots",
                             (0, 1e12))
token_saturation_rate = declare("token_saturation_rate", "request/s", r"\lambda_{tok}",
                                "per-replica rate at which a step's tokens fill the budget",
                                (0, 1e12))
roof_saturation_rate = declare("roof_saturation_rate", "request/s", r"\lambda_{roof}",
                               "per-replica rate at which the compute or memory time per second "
                               "reaches one", (0, 1e12))
saturation_rate = declare("saturation_rate", "request/s", r"\lambda_{\mathrm{sat}}",
                          "largest request rate one replica sustains", (0, 1e12))
fleet_capacity = declare("fleet_capacity", "request/s", r"\Lambda_{\mathrm{sat}}",
                         "largest request rate the fleet sustains", (0, 1e15))
goodput = declare("goodput", "token/s", r"G",
                  "output tokens per second the fleet delivers at the request rate (capped at "
                  "saturation)", (0, 1e15))
achieved_flop_rate = declare("achieved_flop_rate", "TFLOP/s", r"R_{\mathrm{ach}}",
                             "FLOP/s the fleet's steps execute at the request rate", (0, 1e12))

# ------------------------------------------------------------------------------ prefix caching
prefix_cache_hit_rate = declare(
    "prefix_cache_hit_rate", "dimensionless", r"h",
    "share of a request's prompt tokens whose KV cache is found in the prefix cache (vLLM "
    "automatic prefix caching, SGLang RadixAttention): their prefill is skipped", (0, 1))
uncached_prompt_length = declare(
    "uncached_prompt_length", "token", r"n_{\mathrm{in}}^{(1-h)}",
    "prompt tokens a request's prefill computes: the suffix not found in the prefix cache",
    (0, 1e7))

# ----------------------------------------------------- speculative decoding at a request rate
draft_request_compute_time = declare(
    "draft_request_compute_time", "ms", r"w_{c}^{D}",
    "compute-roof time one request adds to one draft pass per iteration, summed over its "
    "iterations", (0, 1e12))
draft_request_memory_time = declare(
    "draft_request_memory_time", "ms", r"w_{m}^{D}",
    "memory-roof time of the draft KV cache one request has read by one draft pass per "
    "iteration, summed over its iterations", (0, 1e12))
draft_request_comm_time = declare(
    "draft_request_comm_time", "ms", r"w_{x}^{D}",
    "bandwidth time of one request's tokens in one draft pass's TP all-reduces, summed over its "
    "iterations", (0, 1e12))
draft_step_weight_time = declare("draft_step_weight_time", "ms", r"A_{m}^{D}",
                                 "memory-roof time of reading each rank's draft weights once",
                                 (0, 1e12))
draft_step_latency_time = declare("draft_step_latency_time", "ms", r"A_{x}^{D}",
                                  "start-up latencies of one draft pass's TP all-reduces",
                                  (0, 1e12))
draft_compute_branch_load = declare(
    "draft_compute_branch_load", "ms", r"K_{c}^{D}",
    "busy time one request adds to a draft pass while its compute binds", (0, 1e12))
draft_memory_branch_load = declare(
    "draft_memory_branch_load", "ms", r"K_{m}^{D}",
    "busy time one request adds to a draft pass while its memory binds", (0, 1e12))
loaded_time_per_output_token = declare(
    "loaded_time_per_output_token", "ms", r"T_{\mathrm{TPOT}}^{*}",
    "mean time per output token at the request rate: the scheduler step over the tokens a "
    "sequence gains per step (one, or E with speculative decoding)", (0, 1e12))
