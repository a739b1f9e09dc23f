"""Symbols of the node walls (1 Compute, 2 Memory, 4 Serving) and the shared constants."""

from .base import constant, declare

# =================================================================================================
# Constants: the numerals of the published formulas, with their units
# =================================================================================================
flops_per_parameter_token = constant(
    "flops_per_parameter_token", 2, "FLOP/(param*token)", "2",
    "a multiply and an add per weight per token (Kaplan et al. 2020, Table 1)")
attention_flops_per_pair = constant(
    "attention_flops_per_pair", 2, "FLOP/token**2", "2",
    "a multiply and an add per (query token, key token, head-dimension element) of one "
    "attention matmul (Q K^T or A V)")
kv_vectors_per_token = constant(
    "kv_vectors_per_token", 2, "1/token", "2",
    "one key and one value vector cached per token, per layer and KV head (Pope et al. 2023)")
tokens_per_decode_step = constant(
    "tokens_per_decode_step", 1, "token", "1",
    "each sequence in a decode step emits one token")
per_token = constant("per_token", 1, "1/token", "1", "one per token (counts per token position)")

# =================================================================================================
# Wall 1: Compute
# =================================================================================================
flops = declare("flops", "FLOP", r"W", "floating-point work of one step", (1.0, 1e27))
peak_flops = declare("peak_flops", "TFLOP/s", r"R_{\mathrm{peak}}",
                     "peak dense compute rate of one accelerator at the chosen precision",
                     (1e-6, 1e5))
compute_efficiency = declare("compute_efficiency", "dimensionless", r"\eta_{c}",
                             "achieved fraction of peak compute rate", (1e-3, 1.0))
compute_time = declare("compute_time", "s", r"T_{c}", "time to execute the step's FLOPs", (0, 1e9))

# =================================================================================================
# Wall 2: Memory
# =================================================================================================
bytes_moved = declare("bytes_moved", "B", r"Q", "bytes moved between memory and the chip in one step",
                      (1.0, 1e18))
memory_bandwidth = declare("memory_bandwidth", "GB/s", r"B_{\mathrm{mem}}",
                           "peak bandwidth of the accelerator's main memory (HBM/DRAM)", (1e-3, 1e6))
memory_efficiency = declare("memory_efficiency", "dimensionless", r"\eta_{m}",
                            "achieved fraction of peak memory bandwidth", (1e-3, 1.0))
memory_time = declare("memory_time", "s", r"T_{m}", "time to move the step's bytes", (0, 1e9))
fixed_overhead = declare("fixed_overhead", "ms", r"T_{0}",
                         "fixed per-step overhead (kernel launch, scheduling, host)", (0, 1e4))
pass_overhead = declare("pass_overhead", "ms", r"T_{0,\mathrm{pass}}",
                        "fixed overhead of one forward pass of a CNN / ViT / encoder (engine "
                        "launch, host synchronisation), apart from an LLM engine's per-step "
                        "overhead", (0, 1e4))
unoverlapped_fraction = declare(
    "unoverlapped_fraction", "dimensionless", r"\phi_{o}",
    "share of the shorter of a step's compute and memory times not hidden behind the longer "
    "(0: the classic roofline, the larger of the two; 1: no overlap, their sum)", (0, 1))
step_time = declare("step_time", "s", r"T_{\mathrm{step}}",
                    "roofline step time: the slower of compute and memory, plus overhead", (0, 1e9))
memory_footprint = declare("memory_footprint", "GB", r"M", "bytes resident in accelerator memory",
                           (0, 1e9))
memory_capacity = declare("memory_capacity", "GB", r"M_{\mathrm{cap}}",
                          "capacity of the accelerator's main memory", (1e-6, 1e6))
memory_utilization = declare("memory_utilization", "dimensionless", r"u_{M}",
                             "resident bytes over capacity (feasible iff <= 1)", (0, 1e9))

# =================================================================================================
# Wall 4: Serving (decoder-only transformers)
# =================================================================================================
tp_prefill_comm_time = declare(
    "tp_prefill_comm_time", "s", r"T_{tp}^{\mathrm{pre}}",
    "tensor-parallel all-reduces of one prefill pass (0 on one device)", (0, 1e9))
tp_decode_comm_time = declare(
    "tp_decode_comm_time", "s", r"T_{tp}^{\mathrm{dec}}",
    "tensor-parallel all-reduces of one decode step (0 on one device)", (0, 1e9))
parameters = declare("parameters", "param", r"N", "total weight count (all experts)", (1.0, 1e14))
embedding_parameters = declare(
    "embedding_parameters", "param", r"N_{e}",
    "weights of the input lookup tables a pass reads row by row: the token embedding when it is "
    "not tied to the LM head, learned position and token-type tables (0 for a tied table: it "
    "is read whole as the LM head)", (0.0, 1e13))
dequantized_share = declare(
    "dequantized_share", "dimensionless", r"q_{w}",
    "share of the streamed weights stored below the activation width (weight-only "
    "quantisation: int4 / int8 weights, 16-bit activations) that a compute-bound pass "
    "dequantises before a dense GEMM (0: weights stored at the compute precision)", (0, 1))
dequantized_gemm_tokens = constant(
    "dequantized_gemm_tokens", 256, "token", r"M_{\mathrm{dq}}",
    "tokens per pass from which an engine dequantises weight-only quantised weights and runs a "
    "dense GEMM instead of its fused low-bit kernel (vLLM AWQLinearMethod.apply: "
    "x.shape[:-1].numel() >= 256)")
dequantization_time = declare(
    "dequantization_time", "s", r"T_{\mathrm{dq}}",
    "time of one pass's weight dequantisation kernel: read each low-bit weight, write it at the "
    "activation width", (0, 1e9))
embedding_row_width = declare(
    "embedding_row_width", "param/token", r"w_{e}",
    "weights one token reads from those lookup tables (one row of d per table)", (0.0, 1e7))
active_parameters = declare("active_parameters", "param", r"N_{a}",
                            "weights touched per token (dense: all; MoE: shared + top-k experts)",
                            (1.0, 1e14))
bytes_per_parameter = declare("bytes_per_parameter", "B/param", r"b_{w}",
                              "bytes per stored weight (fp16: 2, fp8/int8: 1, int4: 0.5)", (0.0625, 8))
head_parameters = declare(
    "head_parameters", "param", r"N_{h}",
    "weights of the LM head (output layer: vocabulary x d), tied to the token embedding or not; "
    "0 where the model has no architecture-derived count", (0.0, 1e13))
head_peak_share = declare(
    "head_peak_share", "dimensionless", r"r_{h}",
    "peak rate of the precision the LM head GEMM runs in over the peak the other weight GEMMs "
    "run at: 1 at 16 bits and wider; below, the chip's 16-bit peak over its narrow one (0.5 on "
    "an H100 at FP8), the engines leaving the LM head unquantised (as training's "
    "head_peak_flops)", (1e-3, 1.0))
vocab_bytes_per_parameter = declare(
    "vocab_bytes_per_parameter", "B/param", r"b_{v}",
    "bytes per stored weight of the vocabulary tables (the token embedding and the LM head): the "
    "serving engines quantise only the linear layers to a narrower precision, so these stay at "
    "the model's 16-bit dtype below 16 bits (ModelOpt exclude_modules lm_head; vLLM Fp8Config "
    "quantises LinearBase layers only)", (0.0625, 8))
layers = declare("layers", "dimensionless", r"L", "transformer layers", (1, 1e3), integer=True)
heads = declare("heads", "dimensionless", r"H", "query attention heads per layer", (1, 1e3),
                integer=True)
kv_heads = declare("kv_heads", "dimensionless", r"H_{kv}",
                   "key/value heads per layer (MHA: = heads; GQA: fewer; MQA: 1)", (1, 1e3),
                   integer=True)
head_dim = declare("head_dim", "dimensionless", r"d_{h}", "elements per attention head", (1, 1e4),
                   integer=True)
hidden = declare("hidden", "dimensionless", r"d", "model (residual stream) width", (1, 1e6),
                 integer=True)
ffn_width = declare("ffn_width", "dimensionless", r"d_{ff}",
                    "live FFN intermediate width of one layer (2 x ffn for gated FFNs)", (1, 1e7),
                    integer=True)
batch = declare("batch", "dimensionless", r"B", "sequences processed together", (1, 1e6),
                integer=True)
prompt_length = declare("prompt_length", "token", r"S_{p}", "prompt tokens per sequence (prefill)",
                        (1, 1e7))
context_length = declare("context_length", "token", r"S",
                         "tokens held in the KV cache per sequence (prompt + generated so far)",
                         (1, 1e7))
kv_bytes_per_element = declare("kv_bytes_per_element", "B", r"b_{kv}",
                               "bytes per cached key/value element", (0.0625, 8))
activation_bytes_per_element = declare("activation_bytes_per_element", "B", r"b_{a}",
                                       "bytes per activation element", (0.0625, 8))
weight_bytes = declare("weight_bytes", "GB", r"M_{w}", "bytes of all weights", (0, 1e9))
kv_cache_bytes = declare("kv_cache_bytes", "GB", r"M_{kv}", "bytes of the KV cache", (0, 1e9))
# attention data parallelism (TensorRT-LLM enable_attention_dp): the attention runs data-parallel
# over d_a copies inside the TP group, every weight but the sharded ones kept whole on each rank
attention_data_parallel = declare(
    "attention_data_parallel", "dimensionless", r"d_{a}",
    "attention data-parallel degree inside the tensor-parallel group: 1 = attention under tensor "
    "parallelism, t = every rank runs the attention of its own requests (TensorRT-LLM "
    "enable_attention_dp); the attention's own TP degree is t / d_a", (1, 1e6), integer=True)
sharded_parameters = declare(
    "sharded_parameters", "param", r"N_{\mathrm{sh}}",
    "weights that stay split over the TP group under attention data parallelism (the routed "
    "experts; every other weight is kept whole on each rank)", (0.0, 1e14))
replicated_weight_bytes = declare(
    "replicated_weight_bytes", "GB", r"M_{w}^{\mathrm{rep}}",
    "weight bytes each rank holds beyond its 1/t share of the weights: the copies attention "
    "data parallelism keeps whole on every rank (0 under plain tensor parallelism)", (0, 1e9))
# what wall 4 reads from the attention variant: wall 4 defines them for MHA/GQA/MQA, the MLA
# record (equations/mla.py) for multi-head latent attention
kv_elements_per_layer = declare(
    "kv_elements_per_layer", "1/token", r"e_{kv}",
    "key/value-cache elements one token holds in one layer, summed over a tensor-parallel group "
    "(MHA/GQA/MQA: 2 Max(H_kv, t/d_a) d_h; MLA: t/d_a (d_c + d_h^R), the latent held by every "
    "rank of an attention group; d_a = 1 without attention data parallelism)",
    (0, 1e9))
decode_attention_width = declare(
    "decode_attention_width", "dimensionless", r"w_{\mathrm{att}}^{d}",
    "elements per (query, cached key) pair of a decode token, summed over the heads and the two "
    "attention matmuls Q K^T and A V (MHA/GQA/MQA: 2 H d_h; MLA with absorbed up-projections: "
    "H (2 d_c + d_h^R))", (0, 1e9))
prefill_attention_width = declare(
    "prefill_attention_width", "dimensionless", r"w_{\mathrm{att}}^{p}",
    "elements per (query, key) pair of a prompt token, summed over the heads and the two "
    "attention matmuls Q K^T and A V (MHA/GQA/MQA: 2 H d_h; MLA with per-head keys and values: "
    "H (d_h^C + d_h^R + d_v))", (0, 1e9))
# the attention span: wall 4 defines it for full attention (every cached token), the
# sliding-window record (equations/sliding_window.py) for windowed layers
attention_span = declare(
    "attention_span", "token", r"S_{\mathrm{att}}",
    "tokens a sequence at context S holds in its KV cache and attends to per layer, averaged over "
    "the layers (full attention: S; sliding window W on a share f of the layers: "
    "S - f Max(0, S - W))", (0, 1e7))
prompt_attention_span = declare(
    "prompt_attention_span", "token", r"\bar{S}_{p,\mathrm{att}}",
    "keys a prompt token attends to in a causal prefill, averaged over the prompt and the layers "
    "(full attention: S_p / 2)", (0, 1e7))
activation_bytes = declare("activation_bytes", "GB", r"M_{a}",
                           "peak live activation bytes during a forward pass", (0, 1e9))
prefill_flops = declare("prefill_flops", "FLOP", r"W_{p}", "FLOPs of one prefill pass", (0, 1e27))
prefill_bytes = declare("prefill_bytes", "B", r"Q_{p}", "bytes moved by one prefill pass", (0, 1e18))
memory_kernel_bytes_per_token = declare(
    "memory_kernel_bytes_per_token", "kB/token", r"q_{mk}",
    "HBM bytes of a serving forward pass's memory-bound kernels (norms, residual adds, the FFN "
    "activation) per token, summed over the tensor-parallel group (the residual-stream kernels "
    "run on every rank)", (0, 1e12))
prefill_compute_time = declare("prefill_compute_time", "ms", r"T_{p,c}",
                               "prefill time if compute-bound", (0, 1e12))
prefill_memory_time = declare("prefill_memory_time", "ms", r"T_{p,m}",
                              "prefill time if memory-bound", (0, 1e12))
ttft = declare("ttft", "ms", r"T_{\mathrm{TTFT}}", "time to first token (one prefill pass)",
               (0, 1e12))
decode_flops = declare("decode_flops", "FLOP", r"W_{d}", "FLOPs of one decode step (whole batch)",
                       (0, 1e27))
decode_bytes = declare("decode_bytes", "B", r"Q_{d}",
                       "bytes moved by one decode step (weights + KV cache)", (0, 1e18))
decode_compute_time = declare("decode_compute_time", "ms", r"T_{d,c}",
                              "decode step time if compute-bound", (0, 1e12))
decode_memory_time = declare("decode_memory_time", "ms", r"T_{d,m}",
                             "decode step time if memory-bound", (0, 1e12))
time_per_output_token = declare("time_per_output_token", "ms", r"T_{\mathrm{TPOT}}",
                                "time per output token (one decode step)", (0, 1e12))
decode_throughput = declare("decode_throughput", "token/s", r"X_{d}",
                            "output tokens per second of the whole batch", (0, 1e12))
prefill_throughput = declare("prefill_throughput", "token/s", r"X_{p}",
                             "prompt tokens processed per second", (0, 1e15))
