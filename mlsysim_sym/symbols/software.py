"""Symbols of wall 3 (Software): model vs hardware FLOPs utilisation and the achieved fractions.

The achieved fraction of peak is not one fudge factor: ``compute_efficiency`` (FLOP/s) and
``memory_efficiency`` (bytes/s) are declared with walls 1 and 2 in ``node.py``;
``communication_efficiency`` (link bytes/s in collectives) is declared here, beside them in
meaning, and reused by wall 14. Each is calibrated on its own and carried across hardware.

The utilisation metrics are declared here, where wall 3 defines them; the training-step
workload (``training.py``) imports them. This module imports no other symbols module, so it can
be imported first without reordering anyone's declarations.
"""

from .base import constant, declare

communication_efficiency = declare(
    "communication_efficiency", "dimensionless", r"\eta_{\mathrm{comm}}",
    "achieved fraction of the link bandwidth in a collective at large messages (nccl-tests' "
    "bus bandwidth over the link rate: protocol, chunking, congestion; above 1 only with "
    "in-network reduction such as NVLink SHARP)", (1e-3, 2.0))
scale_out_efficiency = declare(
    "scale_out_efficiency", "dimensionless", r"\eta_{\mathrm{out}}",
    "achieved fraction of the scale-out (NIC: InfiniBand, RoCE, Ethernet) bandwidth in "
    "collectives; communication_efficiency is the scale-up (NVLink-class) one (empirical)",
    (1e-3, 1.0))
attention_efficiency = declare(
    "attention_efficiency", "dimensionless", r"\eta_{\mathrm{attn}}",
    "achieved fraction of the 16-bit peak in fused attention kernels (FlashAttention), on the "
    "attention FLOPs as counted for MFU (all query-key pairs, no causal halving; empirical)",
    (1e-3, 1.0))
attention_peak_flops = declare(
    "attention_peak_flops", "TFLOP/s", r"P_{\mathrm{attn}}",
    "peak rate of the precision attention runs in (16-bit with FP8 GEMMs: Transformer Engine "
    "keeps the attention core in BF16)", (1e-6, 1e5))
head_peak_flops = declare(
    "head_peak_flops", "TFLOP/s", r"P_{\mathrm{head}}",
    "peak rate of the precision the output layer (LM head) GEMMs run in: 16-bit with FP8 "
    "GEMMs (Megatron-Core's output_layer is a plain ColumnParallelLinear outside Transformer "
    "Engine; torchtitan's Float8 conversion skips the 'output' module)", (1e-6, 1e5))
matmul_ceiling = declare(
    "matmul_ceiling", "dimensionless", r"\kappa_{\mathrm{mm}}",
    "the best-shaped dense GEMM's measured rate over the datasheet peak (Maximum Achievable "
    "Matmul FLOPS / peak: the clocks a chip holds under tensor-core load at its power limit); "
    "1 when the registry records none", (1e-3, 1.0))
# GEMM shape: tile and wave quantization (NVIDIA, Matrix Multiplication Background User's Guide)
gemm_shape_efficiency = declare(
    "gemm_shape_efficiency", "dimensionless", r"\eta_{\mathrm{shape}}",
    "the step's GEMM rate over the best-shaped GEMM's (tile and wave quantization of each "
    "layer GEMM's output, forward and both backward GEMMs, FLOP-weighted); 1 when the chip's "
    "streaming multiprocessors are not recorded", (1e-3, 1.0))
gemm_rows = declare(
    "gemm_rows", "dimensionless", "M", "rows of a GEMM's output C = A B (M x N; BLAS "
    "convention)", (1e-12, 1e12))
gemm_columns = declare(
    "gemm_columns", "dimensionless", "N", "columns of a GEMM's output C = A B (M x N)",
    (1e-12, 1e12))
multiprocessors = declare(
    "multiprocessors", "dimensionless", r"n_{\mathrm{SM}}",
    "streaming multiprocessors of the chip: the thread-block tiles one wave runs (one per SM "
    "for the large 16-bit tiles)", (1, 1e6))
gemm_tile_rows = constant(
    "gemm_tile_rows", 128, "dimensionless", r"t_M",
    "rows of the thread-block tile cuBLAS runs large 16-bit GEMMs with (the 128 x 256 tile; its "
    "transpose is the 256 x 128 one: NVIDIA's Matrix Multiplication Background guide, Sec. 4)")
gemm_tile_columns = constant(
    "gemm_tile_columns", 256, "dimensionless", r"t_N",
    "columns of the thread-block tile cuBLAS runs large 16-bit GEMMs with (128 x 256)")
gemm_tiles = declare(
    "gemm_tiles", "dimensionless", r"n_{\mathrm{tile}}",
    "thread-block tiles of a GEMM's output (each dimension rounded up to whole tiles)",
    (1, 1e15))
tile_quantization_efficiency = declare(
    "tile_quantization_efficiency", "dimensionless", r"\eta_{\mathrm{tile}}",
    "share of the computed tile area that is the GEMM's output (tile quantization)", (0, 1.0))
wave_quantization_efficiency = declare(
    "wave_quantization_efficiency", "dimensionless", r"\eta_{\mathrm{wave}}",
    "share of the SM-slots of the whole waves a GEMM's tiles run in that hold a tile (wave "
    "quantization)", (0, 1.0))
gemm_quantization_efficiency = declare(
    "gemm_quantization_efficiency", "dimensionless", r"\eta_{\mathrm{q}}",
    "one GEMM's tile x wave quantization efficiency with the better orientation of the tile "
    "(128 x 256 or 256 x 128)", (0, 1.0))
training_step_overhead = declare(
    "training_step_overhead", "ms", r"T_{0}^{\mathrm{step}}",
    "fixed time per optimizer step outside the modelled kernels (synchronisation, launch "
    "latency, logging; empirical)", (0.0, 1e6))
layer_pass_overhead = declare(
    "layer_pass_overhead", "us", r"t_{\ell}",
    "fixed time per layer per micro-batch per pass (forward, backward, recomputation) that the "
    "kernels' work does not cover: launch latency, synchronisation (empirical)", (0.0, 1e5))
model_parallel_overlap = declare(
    "model_parallel_overlap", "dimensionless", r"o_{mp}",
    "one overlap fraction for every model-parallel class at once (train(model_parallel_overlap="
    "...) sets o_tp, o_pp and o_ep); before the per-class fit, the fitted value each class's "
    "default resolves to", (0.0, 1.0))
tensor_parallel_overlap = declare(
    "tensor_parallel_overlap", "dimensionless", r"o_{tp}",
    "fraction of the tensor-parallel all-reduces (sequence parallelism: all-gathers and "
    "reduce-scatters) hidden behind the GEMMs they feed (Transformer Engine userbuffers "
    "tp-comm-overlap, torchtitan AsyncTP, XLA collective matmul; 0 without)", (0.0, 1.0))
pipeline_parallel_overlap = declare(
    "pipeline_parallel_overlap", "dimensionless", r"o_{pp}",
    "fraction of the pipeline-parallel activation and gradient sends and receives hidden "
    "behind compute (Megatron-Core overlap_p2p_comm in interleaved 1F1B, DualPipe; 0 with "
    "blocking sends)", (0.0, 1.0))
achieved_flops_rate = declare("achieved_flops_rate", "TFLOP/s", r"X",
                              "compute rate one device sustains: peak x compute efficiency",
                              (0, 1e5))
achieved_memory_bandwidth = declare("achieved_memory_bandwidth", "GB/s", r"B_{\mathrm{eff}}",
                                    "memory bandwidth one device sustains: peak x memory "
                                    "efficiency", (0, 1e6))
forward_flops_per_token = declare("forward_flops_per_token", "FLOP/token", r"F_{\mathrm{fwd}}",
                                  "matmul FLOPs of one forward pass per token: 2N + 4LHQT",
                                  (0, 1e18))
compute_bound_training_throughput = declare(
    "compute_bound_training_throughput", "token/s", r"\Theta_{c}",
    "tokens per second if every device ran its hardware FLOPs at the achieved rate and nothing "
    "else were exposed (the Iron Law bound)", (0, 1e15))
recompute_flops_ratio = declare("recompute_flops_ratio", "dimensionless",
                                r"F_{\mathrm{hw}}/F_{\mathrm{model}}",
                                "hardware over model FLOPs per token (= HFU / MFU)", (1, 2))

# ---- shared with the training-step workload (training.py imports these) -----------------------
sequence_length = declare("sequence_length", "token", r"T",
                          "tokens computed per training sequence (the maximum length, or with "
                          "sequence_fill < 1 the mean padded length)", (1, 1e8))
tokens_per_step = declare("tokens_per_step", "token", r"D_{\mathrm{step}}",
                          "tokens per optimizer step (global batch x sequence length)", (1, 1e15))
training_step_time = declare("training_step_time", "s", r"T_{\mathrm{step}}",
                             "wall-clock time of one training step of the whole job", (0, 1e9))
training_throughput = declare("training_throughput", "token/s", r"\Theta",
                              "tokens trained per second (whole job)", (0, 1e15))
model_flops_per_token = declare("model_flops_per_token", "FLOP/token", r"F_{\mathrm{model}}",
                                "model FLOPs per trained token: forward + backward, no "
                                "recomputation (6N + 12LHQT for a dense transformer)", (0, 1e18))
hardware_flops_per_token = declare("hardware_flops_per_token", "FLOP/token", r"F_{\mathrm{hw}}",
                                   "hardware FLOPs per trained token, recomputation included",
                                   (0, 1e18))
model_flops_utilization = declare("model_flops_utilization", "dimensionless", r"\mathrm{MFU}",
                                  "model FLOPs per second over the devices' peak (PaLM App. B)",
                                  (0, 1))
hardware_flops_utilization = declare("hardware_flops_utilization", "dimensionless",
                                     r"\mathrm{HFU}",
                                     "hardware FLOPs per second (recomputation included) over "
                                     "the devices' peak", (0, 1))

# ---- serving: model FLOPs utilisation of one prediction ----------------------------------------
decode_flops_utilization = declare(
    "decode_flops_utilization", "dimensionless", r"\mathrm{MFU}_{d}",
    "model FLOPs of one decode step over what the serving devices' peak does in that step "
    "(serving MFU)", (0, 1))
prefill_flops_utilization = declare(
    "prefill_flops_utilization", "dimensionless", r"\mathrm{MFU}_{p}",
    "model FLOPs of the prefill pass over what the serving devices' peak does in the TTFT",
    (0, 1))
host_op_time = declare(
    "host_op_time", "us", r"t_{\mathrm{h}}",
    "CPU time to issue one eager framework operation (Python and framework dispatch plus the "
    "driver's kernel launch): the host's cost per op, whatever the op's device time", (0.0, 1e4))
host_ops_per_layer = declare(
    "host_ops_per_layer", "dimensionless", r"n_{\mathrm{h}}",
    "operations the host issues one at a time per layer per micro-batch, forward, backward and "
    "recomputation together (kernels and allocator calls outside a CUDA graph; a captured "
    "graph counts one launch), averaged over the stage's layers", (0.0, 1e7))
host_syncs_per_moe_layer = declare(
    "host_syncs_per_moe_layer", "dimensionless", r"q_{\mathrm{h}}",
    "device-to-host synchronisations per MoE layer per micro-batch (a dropless MoE "
    "dispatcher's token counts; a recomputed forward repeats its): the host waits there until "
    "the device has run everything issued before", (0.0, 1e3))
host_ops_after_sync = declare(
    "host_ops_after_sync", "dimensionless", r"n_{\mathrm{s}}",
    "operations the host issues eagerly after each device-to-host synchronisation with the "
    "device idle behind it (the dispatch, the routed experts' forward and the combine)",
    (0.0, 1e7))
host_issue_time = declare(
    "host_issue_time", "s", r"T_{\mathrm{host}}",
    "CPU time per step to issue the step's operations one by one (the device idles when this "
    "exceeds its own busy time: a host-bound step)", (0.0, 1e9))
host_wait_time = declare(
    "host_wait_time", "s", r"T_{\mathrm{wait}}",
    "time per step the device waits on the host to issue operations: the host issue time "
    "beyond the device's own busy time (0 when device-bound)", (0.0, 1e9))
