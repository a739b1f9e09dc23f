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
measurements). The compute roof charges a pass's weight GEMMs (2 N_a FLOPs per token) at the
best-shaped GEMM's measured rate, peak x kappa_mm (wall 1: Bekman's Maximum Achievable Matmul
FLOPS over the datasheet peak, e.g. 0.80 for an H100 SXM, 0.60 for an MI300X), times the achieved
fraction eta_c, as the training step does; the attention matmuls over the cached keys at
peak x eta_c.

Work per phase (Kaplan et al. Table 1; Pope et al. Sec. 2): a forward pass costs
2 x active params FLOPs per token, plus attention: Q K^T and A V each cost 2 x d_h FLOPs per
(query, key) pair per head per layer. Decode attends over the S cached tokens; causal prefill
over S_p (S_p + 1) / 2 ~ S_p^2 / 2 pairs, so the two matmuls together cost 2 L H d_h S_p^2.
Traffic per step: all weights once, plus the KV cache (read in decode, written in prefill).
KV cache = 2 x layers x kv_heads x head_dim x context x batch x bytes per element, which covers
multi-head (H_kv = H), grouped-query (H_kv < H; Ainslie et al.) and multi-query (H_kv = 1)
attention. The attention variant enters through three quantities, defined here for MHA/GQA/MQA:
the cached elements per token and layer e_kv (2 H_kv d_h), and the elements per (query, key)
pair summed over the heads and the two matmuls, w_d for a decode token and w_p for a prompt
token (both 2 H d_h). The multi-head latent attention record (``equations/mla.py``, DeepSeek-V2)
defines the same three for MLA, so every equation below serves both. Likewise the tokens a
sequence holds and attends to per layer, the attention span S_att, and the keys a prompt token
attends to on average, S_pa, are the context S and S_p/2 under full attention; the
sliding-window record (``equations/sliding_window.py``, Mistral 7B, Gemma 2) bounds both by the
window. Footprint = weights + KV cache at full context + peak live activations; with
FlashAttention the S x S score matrix is never materialised (Dao et al.), so the live
activations of one layer are the residual stream plus the FFN intermediate, for at most the
engine's token budget per step (vLLM ``max_num_batched_tokens``: longer prompts run in chunks,
and a decode step holds one token per sequence).

A decode step may also carry a chunk of c prompt tokens (chunked prefill, Agrawal et al. 2024):
c (2 N_a + 2 L H d_h S_p) more FLOPs and the chunk's KV written; c = 0 is a pure decode step.
The continuous-batching record composes this step at a request rate.

Prefix caching (vLLM automatic prefix caching; SGLang's RadixAttention, Zheng et al. 2024
Sec. 3): a share h of the prompt's tokens is found in the cache, always a prefix (a KV block is
identified by its tokens and everything before them), so the prefill computes only the
(1 - h) S_p suffix, whose queries attend to the cached prefix and to each other: 2 N_a (1 - h) S_p
plus 2 L H d_h (1 - h^2) S_p^2 FLOPs, (1 - h) S_p tokens through the TP all-reduces and KV
writes (reading the cached prefix is not charged, as a chunked prompt's reads of its earlier
chunks are not). The sequence still occupies its whole KV cache. h = 0 is a cold prompt.

Tensor parallelism (Shoeybi et al.) is a symbol t: each of the t ranks runs 1/t of the FLOPs
and bytes on its own roofs and holds 1/t of the weights and KV cache; when t exceeds the KV
heads they are replicated (each rank reads at least one whole head: the group holds Max(H_kv, t)
heads); two all-reduces per layer of the step's activations, each the all-reduce the serving
engine runs (wall 14's ``allreduce_time_serving``): where the scale-up fabric gives every device
load/store access to its peers' memory (NVSwitch, NVLink or Infinity Fabric full mesh: p = 1)
vLLM, SGLang and TensorRT-LLM reduce small tensors with one-shot (alpha + (t-1) M/B) or two-shot
(2 alpha + 2 (t-1)/t M/B) peer-memory kernels, so a decode step pays one synchronisation per
all-reduce instead of the ring's 2 (t - 1); we take the fastest of ring, one-shot and two-shot.
Without peer access (p = 0) the ring: 2 (t - 1) alpha + 2 (t - 1)/t M/B (Thakur et al.). Every
all-reduce call also pays a fixed T_AR^0 (the launch and the cross-device synchronisation:
~10 us for vLLM's kernel on H100, SGLang PR 2904) and alpha is the link's per-step latency.
The footprint is per device.

Regime of validity: dense or MoE decoder-only transformers on one accelerator or a TP group of
t of them, one batch of equal-length sequences, weights read once per step (no weight
reuse across steps from cache). Reading the KV cache once per step assumes FlashAttention-style
kernels; departures go into the memory efficiency.

References
----------
Pope et al., "Efficiently Scaling Transformer Inference", MLSys 2023.
Kaplan et al., "Scaling Laws for Neural Language Models", 2020, Table 1.
Ainslie et al., "GQA", EMNLP 2023.
Dao et al., "FlashAttention", NeurIPS 2022.
Shoeybi et al., "Megatron-LM", 2019 (tensor parallelism); Thakur et al. 2005 (ring all-reduce);
vLLM ``csrc/custom_all_reduce.cuh`` (one-shot / two-shot peer-memory all-reduce).
"""

import sympy

from .. import symbols as s
from . import communication, compute, memory, memory_kernels
from .base import Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("zheng2024sglang", "Zheng, Lianmin and Yin, Liangsheng and Xie, Zhiqiang and Sun, "
              "Chuyue and Huang, Jeff and Yu, Cody Hao and Cao, Shiyi and Kozyrakis, Christos and "
              "Stoica, Ion and Gonzalez, Joseph E. and Barrett, Clark and Sheng, Ying",
              "SGLang: Efficient Execution of Structured Language Model Programs",
              "Advances in NeurIPS 37 (arXiv:2312.07104)", 2024,
              url="https://arxiv.org/abs/2312.07104", kind="inproceedings"),
    Reference("vllm2025prefixcaching", "vLLM Team", "Automatic Prefix Caching (design document): "
              "KV-cache blocks hashed by their tokens and prefix, reused by later requests",
              "vLLM documentation", 2025,
              url="https://docs.vllm.ai/en/latest/design/prefix_caching/", kind="misc"),
)

add_all(Reference("vaswani2017attention", "Vaswani, Ashish and Shazeer, Noam and Parmar, Niki "
                  "and Uszkoreit, Jakob and Jones, Llion and Gomez, Aidan N. and Kaiser, Lukasz "
                  "and Polosukhin, Illia", "Attention Is All You Need",
                  "Advances in NeurIPS 30", 2017, url="https://arxiv.org/abs/1706.03762",
                  kind="inproceedings"))

add_all(
    Reference("lin2024awq", "Lin, Ji and Tang, Jiaming and Tang, Haotian and Yang, Shang and "
              "Chen, Wei-Ming and Wang, Wei-Chen and Xiao, Guangxuan and Dang, Xingyu and Gan, "
              "Chuang and Han, Song", "AWQ: Activation-aware Weight Quantization for On-Device "
              "LLM Compression and Acceleration", "Proceedings of MLSys 6", 2024,
              url="https://arxiv.org/abs/2306.00978", kind="inproceedings"),
    Reference("vllm2024awqkernel", "vLLM Team", "AWQLinearMethod.apply: at 256 or more tokens "
              "the int4 weights are dequantised (awq_dequantize) and multiplied by a dense fp16 "
              "GEMM (torch.matmul); below, the fused awq_gemm kernel",
              "vllm/model_executor/layers/quantization/awq.py", 2024,
              url="https://github.com/vllm-project/vllm/blob/main/vllm/model_executor/layers/"
                  "quantization/awq.py", kind="misc"),
)

add_all(
    Reference("modelopt2024fp8export", "NVIDIA", "TensorRT Model Optimizer (ModelOpt): the "
              "exported FP8 checkpoint's hf_quant_config.json: quant_algo FP8, "
              "kv_cache_quant_algo FP8, exclude_modules ['lm_head'] (the LM head and the "
              "embedding, not Linear modules of the blocks, stay at the model's 16-bit dtype)",
              "NVIDIA/TensorRT-Model-Optimizer modelopt/torch/export/convert_hf_config.py "
              "(convert_hf_quant_config_format, FP8 example)", 2024,
              url="https://github.com/NVIDIA/TensorRT-Model-Optimizer", kind="misc"),
    Reference("vllm2025fp8config", "vLLM Team", "Fp8Config.get_quant_method: Fp8LinearMethod "
              "for LinearBase layers, Fp8MoEMethod for FusedMoE, Fp8KVCacheMethod for "
              "Attention, None (unquantised) otherwise: the LM head (ParallelLMHead, a "
              "VocabParallelEmbedding) and the token embedding keep the model dtype",
              "vllm/model_executor/layers/quantization/fp8.py", 2025,
              url="https://github.com/vllm-project/vllm/blob/main/vllm/model_executor/layers/"
                  "quantization/fp8.py", kind="misc"),
    Reference("vllm2025logitsindices", "vLLM Team", "GPUModelRunner._prepare_inputs: "
              "logits_indices = query_start_loc[1:] - 1, the LM head runs on the last scheduled "
              "token of each request (a prompt's last token, each decode token)",
              "vllm/v1/worker/gpu_model_runner.py", 2025,
              url="https://github.com/vllm-project/vllm/blob/main/vllm/v1/worker/"
                  "gpu_model_runner.py", kind="misc"),
)

add_all(Reference("shoeybi2019megatron", "Shoeybi, Mohammad and Patwary, Mostofa and Puri, Raul "
                  "and LeGresley, Patrick and Casper, Jared and Catanzaro, Bryan",
                  "Megatron-LM: Training Multi-Billion Parameter Language Models Using Model "
                  "Parallelism", "arXiv:1909.08053", 2019, url="https://arxiv.org/abs/1909.08053",
                  kind="misc"))

_attention_width = s.heads * s.head_dim
_t = s.tensor_parallel
#: KV heads summed over a tensor-parallel group: each rank holds Max(H_kv / t_a, 1) heads of its
#: attention group's tokens (when t_a exceeds the KV heads they are replicated, every rank still
#: reads a whole head); t_a = t / d_a, the attention's own TP degree (1 under full attention data
#: parallelism: each rank caches every KV head of its own requests only)
_kv_heads_group = sympy.Max(s.kv_heads, _t / s.attention_data_parallel)


#: what the equations read from the attention variant; defined below for MHA/GQA/MQA (the MLA
#: record, ``equations/mla.py``, defines them for multi-head latent attention instead)
ATTENTION_WIDTHS = (s.kv_elements_per_layer, s.decode_attention_width, s.prefill_attention_width)
#: the attention spans the equations read: defined below for full attention (the sliding-window
#: record, ``equations/sliding_window.py``, defines them for windowed layers instead)
ATTENTION_SPANS = (s.attention_span, s.prompt_attention_span)


def kv_group_bytes_per_token():
    """KV bytes of one token over the TP group: L e_kv b_kv (MHA/GQA/MQA: 2 L Max(H_kv, t) d_h
    b_kv)."""
    return s.layers * s.kv_elements_per_layer * s.kv_bytes_per_element


def decode_token_flops(span):
    """FLOPs of one decode token attending to ``span`` cached tokens per layer (Kaplan Table 1):
    2 N_a + 2 L w_d S (MHA/GQA/MQA: w_d = 2 H d_h; S the attention span, the context for full
    attention)."""
    return (s.flops_per_parameter_token * s.active_parameters
            + s.attention_flops_per_pair * s.layers * s.decode_attention_width * span)


def gemm_flops(tokens, parameters=s.active_parameters):
    """Weight-GEMM FLOPs of ``tokens`` tokens through ``parameters`` active weights (a draft
    model's: its own): 2 N_a per token (Kaplan Table 1, every weight one multiply-add), the part
    of a pass wall 1 charges at the chip's measured matmul ceiling. For the target model these
    are tokens whose logits the pass computes (the LM head included: a decode token)."""
    return s.flops_per_parameter_token * parameters * tokens


def head_flops(tokens):
    """LM-head GEMM FLOPs of ``tokens`` tokens whose logits a pass computes: 2 N_h each."""
    return s.flops_per_parameter_token * s.head_parameters * tokens


def prompt_gemm_flops(tokens):
    """Weight-GEMM FLOPs of ``tokens`` prompt tokens without logits: 2 (N_a - N_h) each. The
    engines run the LM head only on a request's last scheduled token (vLLM's logits_indices;
    TensorRT-LLM gathers context logits only when asked), so a prompt's head is one token's,
    charged with the request (:func:`head_flops`)."""
    return s.flops_per_parameter_token * (s.active_parameters - s.head_parameters) * tokens


def pass_compute_time(work, gemm, head=0):
    """Compute roof of ``work`` FLOPs of which ``gemm`` are weight GEMMs and ``head`` of those
    the LM head's (all per rank): the GEMMs at the best-shaped GEMM's measured rate (wall 1's
    :func:`~.compute.gemm_time`: peak x kappa_mm x eta_c, as the training step's GEMMs), the
    head's at the peak of the precision it runs in (r_h of the GEMMs' peak: the 16-bit one when
    the blocks' GEMMs run narrower, the engines leaving the LM head unquantised; as training's
    head_peak_flops), the rest (the
    attention matmuls over the cached keys, whose kernels are not the dense GEMM the ceiling
    measures; training charges them at the attention kernels' own rate) at wall 1's roof,
    peak x eta_c."""
    return (compute.gemm_time(gemm - head) + compute.gemm_time(head) / s.head_peak_share
            + compute.time_for(work - gemm))


def vocabulary_weights():
    """The vocabulary tables' weights: the input lookup tables and the LM head, N_e + N_h (a
    tied table once: N_e excludes it)."""
    return s.embedding_parameters + s.head_parameters


def stored_weight_bytes(parameters=s.parameters):
    """Bytes of ``parameters`` weights (every weight: the model's; every weight but the routed
    experts: attention data parallelism's copies), the vocabulary tables among them at their
    own width: (N - N_e - N_h) b_w + (N_e + N_h) b_v. The engines quantise the blocks' linear
    layers only (ModelOpt's FP8 export excludes lm_head; vLLM's Fp8Config quantises LinearBase
    layers), so below 16 bits the embedding and the LM head stay 16-bit (b_v = b_a)."""
    return ((parameters - vocabulary_weights()) * s.bytes_per_parameter
            + vocabulary_weights() * s.vocab_bytes_per_parameter)


def prefill_token_flops():
    """FLOPs of one computed prompt token of a causal prefill: 2 (N_a - N_h) + 2 L w_p S_pa
    (no logits: the request's one LM-head token is charged with it, :func:`head_flops`), with S_pa
    the keys a computed prompt token attends to on average
    (:data:`~mlsysim_sym.symbols.prompt_attention_span`; full attention: S_p/2, so the two
    attention matmuls of the whole prompt cost L w_p S_p^2, 2 L H d_h S_p^2 for MHA; with a
    cached prefix of h S_p tokens the suffix's tokens attend to S_p (1 + h)/2)."""
    return (s.flops_per_parameter_token * (s.active_parameters - s.head_parameters)
            + s.attention_flops_per_pair * s.layers * s.prefill_attention_width
            * s.prompt_attention_span)


#: start-up steps of one TP all-reduce: one synchronisation for the peer-memory kernels (p = 1;
#: Min(1, .) makes it vanish at t = 1), the ring's 2 (t - 1) without peer access (p = 0)
_p = s.scale_up_peer_access
_steps = _p * sympy.Min(1, 2 * (_t - 1)) + (1 - _p) * 2 * (_t - 1)


def tp_latency(layers=s.layers):
    """Start-up latencies of one step's TP all-reduces: two per layer, each the engine's fixed
    cost per call T_AR^0 (launch + synchronisation; none at t = 1) plus one synchronisation
    alpha with peer access (one-shot), a ring's 2 (t - 1) alpha without (``layers``: another
    model's, a speculative draft's). The per-request bandwidth term (:func:`tp_bandwidth_time`)
    is the bandwidth-optimal 2 (t - 1)/t: together the lower envelope of ring, one-shot and
    two-shot."""
    return 2 * layers * (sympy.Min(1, _t - 1) * s.allreduce_fixed_time
                         + _steps * s.scale_up_latency)


def tp_bandwidth_time(tokens, layers=s.layers, hidden=s.hidden):
    """Bandwidth term of the two all-reduces per layer: ring 2 (t - 1)/t x bytes / (B_up eta)
    (``layers``, ``hidden``: another model's, a speculative draft's)."""
    size = tokens * hidden * s.activation_bytes_per_element * s.per_token
    return 2 * layers * 2 * (_t - 1) / _t * size / (s.scale_up_bandwidth
                                                    * s.communication_efficiency)


def streamed_weight_bytes(tokens):
    """Weight bytes a pass over ``tokens`` tokens reads: every weight but the input lookup
    tables, plus the rows of those tables the tokens look up (Pope et al. Sec. 2.1 charge the
    weights once per step; an embedding lookup is a gather of one row of d weights per token
    and table, Vaswani et al. Sec. 3.4), at most the whole table:
    (N - N_e + Min(T w_e, N_e)) b_w. An LM head tied to the embedding is a matmul over the whole
    table (N_e excludes it), so it is read once, in full. The table still resides in memory
    (``weight_bytes`` is the footprint's). The vocabulary tables are read at their own width
    b_v (:func:`stored_weight_bytes`): (N - N_e - N_h) b_w + (N_h + Min(T w_e, N_e)) b_v."""
    rows = sympy.Min(tokens * s.embedding_row_width, s.embedding_parameters)
    return ((s.parameters - vocabulary_weights()) * s.bytes_per_parameter
            + (s.head_parameters + rows) * s.vocab_bytes_per_parameter)


def dequantization(tokens):
    """The weight dequantisation a pass over ``tokens`` tokens pays: T_dq from
    M_dq = 256 tokens on, else 0.

    Weight-only quantised weights (int4 / int8 with 16-bit activations, Lin et al. 2024) are read
    packed by fused low-bit kernels for passes of few tokens; from M_dq tokens per pass on the
    engine dequantises them to the activation width and runs the dense GEMM (vLLM's
    AWQLinearMethod at 256 or more tokens; llama.cpp takes its cuBLAS path for large batches
    too): a separate kernel reading each weight at b_w and writing it at b_a,
    T_dq = q_w (N - N_e) (b_w + b_a) / (t B eta_m) (:data:`~mlsysim_sym.symbols.dequantization_time`).
    The switch is the engine's, on the token count (not on the hardware's ridge), so more
    tokens never make a pass faster and a faster chip never a pass slower."""
    # a step in the token count written with Max / Min (whole token counts: 0 below M_dq, 1 from
    # M_dq on; a ramp over the one token below it), so the inverse solvers' branch split applies
    on = sympy.Min(1, sympy.Max(0, (tokens - s.dequantized_gemm_tokens) / s.one_token + 1,
                                evaluate=False), evaluate=False)
    return s.dequantization_time * on


def uncached_prompt(prompt=s.prompt_length):
    """Prompt tokens a prefill computes: (1 - h) S_p, the suffix after the cached prefix
    (prefix caching: vLLM hashes KV blocks by their prefix, SGLang keeps a radix tree, so a
    hit is always a prefix of the prompt)."""
    return (1 - s.prefix_cache_hit_rate) * prompt


def tp_allreduce_time(tokens, layers=s.layers, hidden=s.hidden):
    """Two all-reduces of the layer output per layer (Megatron TP), over the t-rank group.

    Each is the engine's all-reduce of tokens x hidden activations (wall 14): the fastest of
    ring, one-shot and two-shot with peer access, the ring without; it vanishes at t = 1.
    With the ring (p = 0) it equals :func:`tp_latency` + :func:`tp_bandwidth_time`; with peer
    access it is at least their sum (their lower envelope) (``layers``, ``hidden``: another
    model's, a speculative draft's).
    """
    size = tokens * hidden * s.activation_bytes_per_element * s.per_token
    return 2 * layers * communication.serving_allreduce(
        size, _t, s.scale_up_bandwidth, s.scale_up_latency, _p, s.communication_efficiency,
        fixed=s.allreduce_fixed_time)


_decode_tokens = s.batch * s.tokens_per_decode_step + s.prefill_chunk_tokens
_h = s.prefix_cache_hit_rate
#: the weight GEMMs of a prefill (the computed prompt tokens) and of a decode step (the decode
#: tokens and the prompt chunk): 2 N_a per token, the rest of each pass's FLOPs is attention
#: the LM head runs on each sequence's last prompt token and on every decode token
PREFILL_HEAD_FLOPS = head_flops(s.batch * s.one_token)
DECODE_HEAD_FLOPS = head_flops(s.batch * s.tokens_per_decode_step)
PREFILL_GEMM_FLOPS = prompt_gemm_flops(uncached_prompt() * s.batch) + PREFILL_HEAD_FLOPS
DECODE_GEMM_FLOPS = (gemm_flops(s.batch * s.tokens_per_decode_step)
                     + prompt_gemm_flops(s.prefill_chunk_tokens))
_CEILING_NOTE = ("the weight GEMMs (2 N_a per token) at the chip's measured matmul ceiling: "
                 "peak x kappa_mm x eta_c (bekman2024mamf: Maximum Achievable Matmul FLOPS; "
                 "kappa_mm = 1 where the registry records none), the LM head's at the peak of "
                 "its own precision (16-bit below 16 bits: modelopt2024fp8export, "
                 "vllm2025fp8config), the attention matmuls at peak x eta_c; each of the t "
                 "ranks runs 1/t of all three")

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
    regime="Decoder-only transformers (MHA, GQA, MQA; MLA with the MLA record; dense or MoE via "
           "active parameters) on one accelerator or a tensor-parallel group of t (per-rank roofs "
           "and footprint); "
           "equal-length sequences in a batch, a decode step optionally carrying a prompt chunk; "
           "a prefix-cache hit rate h skipping the prompt's cached prefix; "
           "FlashAttention-style attention kernels.",
    equations=(
        Equation(s.kv_elements_per_layer, s.kv_vectors_per_token * _kv_heads_group * s.head_dim,
                 cite="pope2023inference", locator="Sec. 2.1, KV cache size; Sec. 3.3 multiquery",
                 note="a key and a value vector per KV head (MHA: H_kv = H; GQA, Ainslie et al.: "
                      "fewer; MQA: 1); over a TP group of t ranks each holds Max(H_kv/t, 1) heads "
                      "(replicated when t > H_kv), so the group holds Max(H_kv, t); with "
                      "attention data parallelism (d_a copies) the attention's TP degree is "
                      "t/d_a: Max(H_kv, t/d_a) (TensorRT-LLM KVCacheManager: tp_size = 1 "
                      "under enable_attention_dp)"),
        Equation(s.decode_attention_width, 2 * _attention_width, cite="kaplan2020scaling",
                 locator="Table 1: 2 n_layer n_ctx d_attn FLOPs per token for the attention "
                         "matmuls",
                 note="Q K^T and A V each span d_h elements per head"),
        Equation(s.prefill_attention_width, 2 * _attention_width, cite="kaplan2020scaling",
                 locator="Table 1: 2 n_layer n_ctx d_attn FLOPs per token for the attention "
                         "matmuls",
                 note="as for decode: the heads' keys and values are the cached ones"),
        Equation(s.attention_span, s.context_length, cite="pope2023inference",
                 locator="Sec. 2.1: the KV cache holds the keys and values of every previous "
                         "token, which each new token attends to",
                 note="full attention: every cached token, in every layer (the sliding-window "
                      "record bounds it by the window)"),
        Equation(s.prompt_attention_span, s.prompt_length * (1 + _h) / 2,
                 cite="kaplan2020scaling",
                 locator="Table 1: the attention matmuls of causal attention, S_p (S_p + 1)/2 "
                         "~ S_p^2/2 (query, key) pairs",
                 note="keys per computed prompt token on average: the i-th token attends to i "
                      "keys; with a cached prefix (Zheng et al. 2024 Sec. 3) the tokens from "
                      "h S_p to S_p are computed, S_p (1 + h)/2 on average"),
        Equation(s.weight_bytes, stored_weight_bytes(), cite="pope2023inference",
                 locator="Sec. 2.1, memory costs: weights",
                 note="the vocabulary tables (embedding, LM head) at their own width b_v: "
                      "16-bit below 16 bits, the engines quantising the blocks' linear layers "
                      "only (modelopt2024fp8export, vllm2025fp8config)"),
        Equation(s.kv_cache_bytes,
                 kv_group_bytes_per_token() * s.attention_span * s.batch,
                 cite="pope2023inference", locator="Sec. 2.1, KV cache size; Sec. 3.3 multiquery",
                 note="L e_kv elements per token over the TP group (e_kv: the attention "
                      "variant's, defined above for MHA/GQA/MQA) for the attention span's tokens "
                      "(the context under full attention)"),
        Equation(s.activation_bytes,
                 sympy.Min(s.batch * s.prompt_length + s.prefill_chunk_tokens,
                           s.max_batched_tokens)
                 * (s.hidden + s.ffn_width / _t) * s.activation_bytes_per_element * s.per_token,
                 cite="dao2022flashattention", locator="Sec. 3: the S x S matrix is not stored",
                 note="live activations of one layer on one rank (residual stream + its share of "
                      "the FFN intermediate), for at most the scheduler's token budget: engines "
                      "run longer prompts in chunks (Agrawal et al. 2024)"),
        Equation(s.memory_footprint, (s.weight_bytes + s.kv_cache_bytes) / _t + s.activation_bytes,
                 cite="pope2023inference", locator="Sec. 2.1, memory costs",
                 note="per device: weights and KV cache split over the t ranks of a TP group"),
        Equation(s.prefill_flops,
                 prefill_token_flops() * uncached_prompt() * s.batch + PREFILL_HEAD_FLOPS,
                 cite="kaplan2020scaling", locator="Table 1: C_forward = 2N + 2 n_layer n_ctx d_attn",
                 note="causal attention over S_p tokens touches S_p^2/2 pairs (S_p x the prompt "
                      "attention span); two matmuls. With a prefix-cache hit rate h (Zheng et al. "
                      "2024 Sec. 3) only the (1 - h) S_p suffix is computed, its queries over all "
                      "earlier keys: (1 - h^2) S_p^2/2 pairs under full attention. The LM head "
                      "(2 N_h) runs on each sequence's last prompt token only "
                      "(vllm2025logitsindices)"),
        Equation(s.memory_kernel_bytes_per_token, memory_kernels.serving_forward(),
                 cite="korthikanti2022recomputation",
                 locator="Sec. 4.1: the activation tensors of a layer (2 layer norms, 2 residual "
                         "adds, the FFN activation: each kernel reads its inputs and writes its "
                         "output); Sec. 4.2.2: the h-wide tensors are replicated over the "
                         "tensor-parallel ranks without sequence parallelism",
                 note="L b_a (10 d t + 1.5 d_ff) over the group: the residual-stream kernels run "
                      "on every rank (engines serve without sequence parallelism), the FFN "
                      "activation splits; fused set, no dropout, scores on chip (Dao et al.); "
                      "Ivanov et al. 2021 Table 1: these kernels are memory-bound"),
        Equation(s.prefill_bytes,
                 streamed_weight_bytes(uncached_prompt() * s.batch)
                 + (kv_group_bytes_per_token() + s.memory_kernel_bytes_per_token)
                 * uncached_prompt() * s.batch,
                 cite="pope2023inference", locator="Sec. 2.1: weights read once, KV written once",
                 note="every weight once, but of the input lookup tables only the rows the "
                      "prompt's tokens read (Vaswani et al. Sec. 3.4: a lookup, not a matmul); "
                      "every computed prompt token's keys and values are written once; the "
                      "attention's reads of a cached prefix are not charged, as a chunked "
                      "prompt's reads of its earlier chunks are not"),
        Equation(s.prefill_compute_time,
                 pass_compute_time(s.prefill_flops / _t, PREFILL_GEMM_FLOPS / _t,
                                   PREFILL_HEAD_FLOPS / _t),
                 cite="williams2009roofline", locator="compute roof (wall 1) of each of t ranks",
                 note=_CEILING_NOTE),
        Equation(s.prefill_memory_time, memory.time_for(s.prefill_bytes / _t),
                 cite="williams2009roofline", locator="memory roof (wall 2) of each of t ranks"),
        Equation(s.tp_prefill_comm_time, tp_allreduce_time(s.batch * uncached_prompt()),
                 cite="shoeybi2019megatron", locator="Sec. 3, Fig. 3: two all-reduces per layer "
                 "in the forward pass (g after the attention and the MLP blocks)",
                 note="each of the t ranks runs 1/t of the FLOPs and bytes (roofs per rank)"),
        Equation(s.dequantization_time,
                 memory.time_for(s.dequantized_share * (s.parameters - s.embedding_parameters)
                                 * (s.bytes_per_parameter
                                    + s.activation_bytes_per_element / s.one_parameter) / _t),
                 cite="vllm2024awqkernel", locator="AWQLinearMethod.apply: awq_dequantize then "
                 "torch.matmul at 256 or more tokens",
                 note="weight-only quantisation (Lin et al. 2024, AWQ): each low-bit weight read "
                      "at b_w and written at the activation width b_a once per compute-bound "
                      "pass, at the memory roof; 0 when the weights are stored at the compute "
                      "precision (q_w = 0)"),
        Equation(s.ttft, memory.roofline(s.prefill_compute_time, s.prefill_memory_time,
                                         s.unoverlapped_fraction)
                 + dequantization(uncached_prompt() * s.batch)
                 + s.tp_prefill_comm_time,
                 cite="pope2023inference", locator="Sec. 2: prefill latency",
                 note="Max + phi Min: the kernels hide only part of the shorter roof (phi "
                      "calibrated on published serving measurements; 0 is Williams et al.'s max); "
                      "plus the weight dequantisation of a compute-bound pass (0 unless the "
                      "weights are stored below the activation width)",
                 branches={s.prefill_compute_time: "Compute", s.prefill_memory_time: "Memory"}),
        Equation(s.prefill_throughput, s.prompt_length * s.batch / s.ttft, cite="pope2023inference",
                 locator="Sec. 2: prefill throughput"),
        Equation(s.decode_flops,
                 decode_token_flops(s.attention_span) * s.tokens_per_decode_step * s.batch
                 + prefill_token_flops() * s.prefill_chunk_tokens,
                 cite="kaplan2020scaling", locator="Table 1: C_forward per token at context n_ctx",
                 note="one new token attends to all S cached tokens: Q K^T and A V, 2 FLOPs each; "
                      "plus the chunk of prompt tokens the step carries (Agrawal et al. 2024; 0 "
                      "for a pure decode step), computed past any cached prefix"),
        Equation(s.decode_bytes,
                 streamed_weight_bytes(_decode_tokens) + s.kv_cache_bytes
                 + kv_group_bytes_per_token() * s.prefill_chunk_tokens
                 + s.memory_kernel_bytes_per_token * _decode_tokens,
                 cite="pope2023inference",
                 locator="Sec. 2.2: decode is dominated by loading weights and the KV cache",
                 note="every weight but the input lookup tables, of which a step reads one row "
                      "per token (the LM head, tied or not, is read whole; both at b_v); plus "
                      "the KV cache a prompt chunk writes"),
        Equation(s.decode_compute_time,
                 pass_compute_time(s.decode_flops / _t, DECODE_GEMM_FLOPS / _t,
                                   DECODE_HEAD_FLOPS / _t),
                 cite="williams2009roofline", locator="compute roof (wall 1) of each of t ranks",
                 note=_CEILING_NOTE),
        Equation(s.decode_memory_time, memory.time_for(s.decode_bytes / _t),
                 cite="williams2009roofline", locator="memory roof (wall 2) of each of t ranks"),
        Equation(s.tp_decode_comm_time,
                 tp_allreduce_time(_decode_tokens),
                 cite="shoeybi2019megatron", locator="Sec. 3, Fig. 3: two all-reduces per layer "
                 "in the forward pass", note="Pope et al. Sec. 3.2: latency-bound at small batch; "
                 "the step's tokens are the decode tokens plus the prompt chunk"),
        Equation(s.time_per_output_token, memory.roofline(s.decode_compute_time, s.decode_memory_time,
                                                          s.unoverlapped_fraction)
                 + dequantization(_decode_tokens)
                 + s.tp_decode_comm_time,
                 cite="pope2023inference", locator="Sec. 2: per-token generation latency",
                 note="Max + phi Min, as for the prefill",
                 branches={s.decode_compute_time: "Compute", s.decode_memory_time: "Memory"}),
        Equation(s.decode_throughput, s.tokens_per_decode_step * s.batch / s.time_per_output_token,
                 cite="pope2023inference", locator="Sec. 2: generation throughput"),
    ),
    references=("pope2023inference", "kaplan2020scaling", "williams2009roofline",
                "dao2022flashattention", "ainslie2023gqa", "shoeybi2019megatron",
                "zheng2024sglang", "vllm2025prefixcaching", "vaswani2017attention", "lin2024awq",
                "vllm2024awqkernel", "vllm2024customallreduce",
                "korthikanti2022recomputation", "ivanov2021datamovement", "bekman2024mamf",
                "modelopt2024fp8export", "vllm2025fp8config", "vllm2025logitsindices"),
)
