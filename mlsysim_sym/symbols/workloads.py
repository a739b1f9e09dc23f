"""Symbols of the workload families (issue 4): MoE, diffusion, TinyML, encoders and CNNs.

Names carry a family prefix (``moe_``, ``diffusion_``, ``tinyml_``, ``mcu_``, ``encoder_``) so they
never collide with the walls' symbols. Shared quantities (``parameters``, ``batch``,
``weight_bytes``, ``peak_flops``, ...) are reused from :mod:`.node`.

Empirical symbols (their values are measurements or assumptions, never constants of a formula):
``moe_routing_imbalance``, ``tinyml_cycles_per_mac``, ``mcu_flash_read_bytes_per_cycle``; their
defaults live in ``defaults.yaml`` with provenance (read with
:func:`mlsysim_sym.tasks.workloads.workload_default`).
"""

from .base import constant, declare

try:  # wall 17 (Capital) prices images with the same symbol: one throughput, two walls
    from .capital import image_throughput  # noqa: F401
except ImportError:  # pragma: no cover - capital module absent
    image_throughput = declare("image_throughput", "image/s", r"X_{\mathrm{img}}",
                               "images (samples) per second the devices produce together",
                               (1e-9, 1e12))

_T = (0, 1e12)  # times in ms
_B = (0, 1e18)  # bytes

samples_per_batch_element = constant(
    "samples_per_batch_element", 1, "sample", "1",
    "each element of a batch is one sample (an image, a sequence, one inference)")

# =================================================================================================
# Multi-head latent attention (DeepSeek-V2/V3)
# =================================================================================================
kv_lora_rank = declare("kv_lora_rank", "dimensionless", r"d_{c}",
                       "KV compression dimension of multi-head latent attention: the latent each "
                       "token caches per layer (DeepSeek-V3: 512)", (1, 1e5), integer=True)
qk_rope_head_dim = declare("qk_rope_head_dim", "dimensionless", r"d_{h}^{R}",
                           "per-head dimension of MLA's decoupled RoPE query and of its RoPE key, "
                           "one per token shared by all heads (DeepSeek-V3: 64)", (1, 1e4),
                           integer=True)
qk_nope_head_dim = declare("qk_nope_head_dim", "dimensionless", r"d_{h}^{C}",
                           "per-head dimension of MLA's queries and keys without position "
                           "encoding, up-projected from the latents (DeepSeek-V2's d_h; DeepSeek-V3: 128)", (1, 1e4),
                           integer=True)
v_head_dim = declare("v_head_dim", "dimensionless", r"d_{v}",
                     "per-head dimension of MLA's values, up-projected from the latent "
                     "(DeepSeek-V3: 128)", (1, 1e4), integer=True)

# =================================================================================================
# Mixture of experts
# =================================================================================================
moe_experts = declare("moe_experts", "dimensionless", r"E", "routed experts per MoE layer",
                      (1, 1e5), integer=True)
try:  # the training workload declares the MoE layout first; share it
    from .training import expert_parallel, experts_per_token, moe_layers  # noqa: F401
except ImportError:  # pragma: no cover - training module absent
    experts_per_token = declare("experts_per_token", "dimensionless", r"k",
                                "routed experts each token is sent to (top-k)", (0, 1e3),
                                integer=True)
    moe_layers = declare("moe_layers", "dimensionless", r"L_{\mathrm{moe}}",
                         "layers whose FFN is a routed mixture of experts (0 for dense)", (0, 1e3),
                         integer=True)
    expert_parallel = declare("expert_parallel", "dimensionless", r"e",
                              "expert-parallel degree (experts split over data-parallel ranks)",
                              (1, 1e6), integer=True)
moe_shared_experts = declare("moe_shared_experts", "dimensionless", r"E_{s}",
                             "always-active shared experts per MoE layer (DeepSeekMoE)", (0, 1e3),
                             integer=True)
moe_expert_parameters = declare("moe_expert_parameters", "param", r"P_{e}",
                                "weights of one expert FFN in one layer", (1, 1e11))
moe_dense_parameters = declare(
    "moe_dense_parameters", "param", r"P_{d}",
    "weights every token uses outside the experts: embeddings, attention, norms, router, dense "
    "FFN layers, LM head (shared experts are counted separately)", (0, 1e14))
moe_routing_imbalance = declare(
    "moe_routing_imbalance", "dimensionless", r"\rho",
    "routing imbalance: the busiest expert's token load over the mean load (1 = balanced; "
    "bounded by the capacity factor when tokens are dropped; empirical)", (1, 64))
moe_decode_experts_touched = declare(
    "moe_decode_experts_touched", "dimensionless", r"\bar{E}_{d}",
    "expected distinct routed experts a decode step reads per MoE layer", (0, 1e5))
moe_prefill_experts_touched = declare(
    "moe_prefill_experts_touched", "dimensionless", r"\bar{E}_{p}",
    "expected distinct routed experts a prefill pass reads per MoE layer", (0, 1e5))
moe_all_to_all_legs = constant("moe_all_to_all_legs", 2, "dimensionless", "2",
                               "two all-to-alls per MoE layer: dispatch and combine")
moe_expert_decode_flops = declare("moe_expert_decode_flops", "FLOP", r"W_{e,d}",
                                  "routed-expert FLOPs of one decode step", (0, 1e27))
moe_expert_prefill_flops = declare("moe_expert_prefill_flops", "FLOP", r"W_{e,p}",
                                   "routed-expert FLOPs of one prefill pass", (0, 1e27))
moe_decode_bytes = declare("moe_decode_bytes", "B", r"Q_{d}^{\mathrm{MoE}}",
                           "bytes a decode step reads: dense and shared weights, touched experts, "
                           "KV cache", _B)
moe_prefill_bytes = declare("moe_prefill_bytes", "B", r"Q_{p}^{\mathrm{MoE}}",
                            "bytes a prefill pass moves: dense and shared weights, touched "
                            "experts, KV cache written", _B)
moe_decode_all_to_all_time = declare("moe_decode_all_to_all_time", "ms", r"T_{d,a2a}",
                                     "dispatch + combine all-to-all time of a decode step", _T)
moe_prefill_all_to_all_time = declare("moe_prefill_all_to_all_time", "ms", r"T_{p,a2a}",
                                      "dispatch + combine all-to-all time of a prefill pass", _T)
moe_decode_compute_time = declare("moe_decode_compute_time", "ms", r"T_{d,c}^{\mathrm{MoE}}",
                                  "MoE decode step time if compute-bound", _T)
moe_decode_memory_time = declare("moe_decode_memory_time", "ms", r"T_{d,m}^{\mathrm{MoE}}",
                                 "MoE decode step time if memory-bound", _T)
moe_prefill_compute_time = declare("moe_prefill_compute_time", "ms", r"T_{p,c}^{\mathrm{MoE}}",
                                   "MoE prefill time if compute-bound", _T)
moe_prefill_memory_time = declare("moe_prefill_memory_time", "ms", r"T_{p,m}^{\mathrm{MoE}}",
                                  "MoE prefill time if memory-bound", _T)
moe_time_per_output_token = declare("moe_time_per_output_token", "ms",
                                    r"T_{\mathrm{TPOT}}^{\mathrm{MoE}}",
                                    "MoE time per output token (one decode step)", _T)
moe_ttft = declare("moe_ttft", "ms", r"T_{\mathrm{TTFT}}^{\mathrm{MoE}}",
                   "MoE time to first token (one prefill pass)", _T)
moe_decode_throughput = declare("moe_decode_throughput", "token/s", r"X_{d}^{\mathrm{MoE}}",
                                "MoE output tokens per second of the whole batch", (0, 1e12))

# =================================================================================================
# Diffusion
# =================================================================================================
diffusion_steps = declare("diffusion_steps", "dimensionless", r"T_{s}", "denoising steps per image",
                          (1, 1e4), integer=True)
guidance_passes = declare("guidance_passes", "dimensionless", r"g",
                          "backbone evaluations per step per image (2 with classifier-free "
                          "guidance, 1 without)", (1, 2), integer=True)
diffusion_backbone_flops = declare("diffusion_backbone_flops", "GFLOP", r"W_{bb}",
                                   "FLOPs of one backbone (U-Net / DiT) forward pass for one image",
                                   (1e-6, 1e7))
diffusion_text_encoder_flops = declare("diffusion_text_encoder_flops", "GFLOP", r"W_{te}",
                                       "FLOPs of the text (or class) encoder for one image",
                                       (0, 1e7))
diffusion_vae_decoder_flops = declare("diffusion_vae_decoder_flops", "GFLOP", r"W_{vae}",
                                      "FLOPs of the autoencoder's decoder for one image", (0, 1e7))
diffusion_text_encoder_bytes = declare("diffusion_text_encoder_bytes", "GB", r"M_{te}",
                                       "weight bytes of the text encoder", (0, 1e6))
diffusion_vae_decoder_bytes = declare("diffusion_vae_decoder_bytes", "GB", r"M_{vae}",
                                      "weight bytes of the autoencoder's decoder", (0, 1e6))
diffusion_step_flops = declare("diffusion_step_flops", "FLOP", r"W_{\mathrm{step}}",
                               "backbone FLOPs of one denoising step of the batch", (0, 1e27))
diffusion_step_compute_time = declare("diffusion_step_compute_time", "ms", r"T_{s,c}",
                                      "denoising step time if compute-bound", _T)
diffusion_step_memory_time = declare("diffusion_step_memory_time", "ms", r"T_{s,m}",
                                     "denoising step time if memory-bound", _T)
diffusion_step_time = declare("diffusion_step_time", "ms", r"T_{\mathrm{step}}",
                              "time of one denoising step (roofline)", _T)
diffusion_text_encoder_compute_time = declare("diffusion_text_encoder_compute_time", "ms",
                                              r"T_{te,c}", "text encoder time if compute-bound", _T)
diffusion_text_encoder_memory_time = declare("diffusion_text_encoder_memory_time", "ms",
                                             r"T_{te,m}", "text encoder time if memory-bound", _T)
diffusion_text_encoder_time = declare("diffusion_text_encoder_time", "ms", r"T_{te}",
                                      "text encoder time (roofline, once per batch)", _T)
diffusion_vae_decoder_compute_time = declare("diffusion_vae_decoder_compute_time", "ms",
                                             r"T_{vae,c}", "VAE decoder time if compute-bound", _T)
diffusion_vae_decoder_memory_time = declare("diffusion_vae_decoder_memory_time", "ms",
                                            r"T_{vae,m}", "VAE decoder time if memory-bound", _T)
diffusion_vae_decoder_time = declare("diffusion_vae_decoder_time", "ms", r"T_{vae}",
                                     "VAE decoder time (roofline, once per batch)", _T)
diffusion_latency = declare("diffusion_latency", "s", r"T_{\mathrm{img}}",
                            "time to generate the batch (every image waits for all of it)",
                            (0, 1e9))
diffusion_flops = declare("diffusion_flops", "FLOP", r"W_{\mathrm{img}}",
                          "FLOPs to generate the batch (all steps, encoder and decoder)", (0, 1e30))
diffusion_memory_footprint = declare("diffusion_memory_footprint", "GB", r"M_{\mathrm{diff}}",
                                     "resident weight bytes of the pipeline", (0, 1e9))
diffusion_memory_utilization = declare("diffusion_memory_utilization", "dimensionless", r"u_{M}",
                                       "diffusion footprint over memory capacity", (0, 1e9))

# =================================================================================================
# TinyML (microcontrollers)
# =================================================================================================
tinyml_macs = declare("tinyml_macs", "MAC", r"N_{\mathrm{MAC}}",
                      "multiply-accumulates of one inference", (1, 1e12))
mcu_clock_frequency = declare("mcu_clock_frequency", "MHz", r"f_{\mathrm{clk}}",
                              "core clock of the microcontroller", (1e-3, 1e4))
tinyml_output_elements = declare(
    "tinyml_output_elements", "dimensionless", r"N_{\mathrm{out}}",
    "activation elements the layers write in one inference (each needs a requantization "
    "epilogue)", (0, 1e12))
tinyml_epilogue_macs = constant(
    "tinyml_epilogue_macs", 24, "MAC", r"e_{\mathrm{out}}",
    "issue slots of the per-output epilogue (bias, requantization, offset, clamp, store) in MAC "
    "equivalents of the int8 kernel: about 24 instructions in CMSIS-NN")
tinyml_dense_macs = declare(
    "tinyml_dense_macs", "MAC", r"N_{\mathrm{MAC,fc}}",
    "multiply-accumulates of the fully connected layers of one inference (batch 1: each weight "
    "used once)", (0, 1e12))
tinyml_dense_extra_slots = declare(
    "tinyml_dense_extra_slots", "dimensionless", r"x_{\mathrm{fc}}",
    "extra issue slots per fully connected MAC, in MAC equivalents of the convolution loop: the "
    "SIMD convolution kernel reuses each widened weight over two output columns, the fully "
    "connected one over none (0 where no such kernel runs)", (0, 10))
tinyml_depthwise_macs = declare(
    "tinyml_depthwise_macs", "MAC", r"N_{\mathrm{MAC,dw}}",
    "multiply-accumulates of the depthwise convolution layers of one inference (one input "
    "channel per output channel)", (0, 1e12))
tinyml_depthwise_extra_slots = declare(
    "tinyml_depthwise_extra_slots", "dimensionless", r"x_{\mathrm{dw}}",
    "extra issue slots per depthwise MAC, in MAC equivalents of the convolution loop: the "
    "depthwise kernel pairs no two MACs of one output in an SMLAD, so it extends and multiplies "
    "operand by operand (0 where no such kernel runs)", (0, 10))
tinyml_cycles_per_mac = declare(
    "tinyml_cycles_per_mac", "1/MAC", r"c_{\mathrm{MAC}}",
    "core clock cycles per multiply-accumulate achieved by the software stack, all overheads "
    "included (the Cortex-M DSP dual-MAC bound is 0.5; empirical)", (0.01, 1e3))
tinyml_mac_efficiency = declare(
    "tinyml_mac_efficiency", "dimensionless", r"\eta_{\mathrm{MAC}}",
    "achieved fraction of the device's peak MAC rate (registry int8 peak / 2 FLOP per MAC): sets "
    "the cycles per MAC when the device's peak is known (empirical)", (1e-4, 1.0))
mcu_sram_capacity = declare("mcu_sram_capacity", "KiB", r"C_{\mathrm{SRAM}}",
                            "on-chip SRAM capacity", (1e-3, 1e7))
mcu_sram_bandwidth = declare("mcu_sram_bandwidth", "MB/s", r"B_{\mathrm{SRAM}}",
                             "SRAM read bandwidth seen by the core", (1e-3, 1e7))
mcu_flash_capacity = declare("mcu_flash_capacity", "KiB", r"C_{\mathrm{flash}}",
                             "flash capacity available for weights", (1e-3, 1e9))
mcu_flash_read_bytes_per_cycle = declare(
    "mcu_flash_read_bytes_per_cycle", "B", r"b_{\mathrm{flash}}",
    "bytes the flash interface delivers per core clock cycle (line width over wait states; "
    "empirical)", (1e-3, 64))
mcu_flash_bandwidth = declare("mcu_flash_bandwidth", "MB/s", r"B_{\mathrm{flash}}",
                              "flash read bandwidth seen by the core", (0, 1e7))
tinyml_peak_activation_bytes = declare(
    "tinyml_peak_activation_bytes", "KiB", r"M_{\mathrm{act}}",
    "peak live activation bytes over the layers (input + output of the worst layer)", (0, 1e7))
tinyml_sram_footprint = declare("tinyml_sram_footprint", "KiB", r"M_{\mathrm{SRAM}}",
                                "bytes held in SRAM: activations, plus weights when they fit",
                                (0, 1e9))
tinyml_flash_footprint = declare("tinyml_flash_footprint", "KiB", r"M_{\mathrm{flash}}",
                                 "weight bytes held in flash (zero when they sit in SRAM)",
                                 (0, 1e9))
tinyml_weight_bandwidth = declare("tinyml_weight_bandwidth", "MB/s", r"B_{w}",
                                  "bandwidth the weights are read at (SRAM or flash)", (0, 1e7))
tinyml_compute_time = declare("tinyml_compute_time", "ms", r"T_{c}^{\mathrm{MCU}}",
                              "inference time of the MACs at the achieved cycles per MAC", _T)
tinyml_weight_read_time = declare("tinyml_weight_read_time", "ms", r"T_{w}^{\mathrm{MCU}}",
                                  "time to read every weight once", _T)
tinyml_latency = declare("tinyml_latency", "ms", r"T_{\mathrm{inf}}", "time of one inference", _T)
tinyml_throughput = declare("tinyml_throughput", "sample/s", r"X_{\mathrm{inf}}",
                            "inferences per second (one at a time)", (0, 1e12))
mcu_active_power = declare("mcu_active_power", "mW", r"P_{\mathrm{MCU}}",
                           "active (run-mode) power of the chip while it infers, at its clock",
                           (0, 1e6))
tinyml_energy = declare("tinyml_energy", "uJ", r"E_{\mathrm{inf}}",
                        "energy of one inference: active power x latency", (0, 1e15))
tinyml_sram_utilization = declare("tinyml_sram_utilization", "dimensionless", r"u_{\mathrm{SRAM}}",
                                  "SRAM footprint over SRAM capacity (feasible iff <= 1)", (0, 1e9))
tinyml_flash_utilization = declare("tinyml_flash_utilization", "dimensionless",
                                   r"u_{\mathrm{flash}}",
                                   "flash footprint over flash capacity (feasible iff <= 1)",
                                   (0, 1e9))

# =================================================================================================
# Encoders (BERT) and CNN / ViT forward passes
# =================================================================================================
encoder_sequence_length = declare("encoder_sequence_length", "token", r"S",
                                  "tokens (or patches) per sample", (1, 1e7))
encoder_dense_parameters = declare(
    "encoder_dense_parameters", "param", r"N_{\mathrm{mm}}",
    "weights applied at every token (or pixel) position: all but embedding tables", (1, 1e14))
encoder_activation_passes = constant(
    "encoder_activation_passes", 2, "dimensionless", "2",
    "each layer's live activations are written to memory once and read back once")
encoder_sample_flops = declare("encoder_sample_flops", "GFLOP", r"W_{1}",
                               "forward FLOPs for one sample", (0, 1e9))
encoder_sample_activation_traffic = declare(
    "encoder_sample_activation_traffic", "MB", r"Q_{a,1}",
    "activation bytes moved to and from memory in one sample's forward pass", (0, 1e9))
encoder_sample_activation_bytes = declare("encoder_sample_activation_bytes", "MB", r"M_{a,1}",
                                          "peak live activation bytes of one sample", (0, 1e9))
encoder_sample_unfused_elements = declare(
    "encoder_sample_unfused_elements", "dimensionless", r"N_{u,1}",
    "activation elements the normalisation, activation and residual-add operators read and "
    "write per sample when each runs as a kernel of its own (an operator-by-operator "
    "framework); 0 when a compiled engine fuses them into the convolutions' epilogues",
    (0, 1e12))
encoder_unfused_time = declare(
    "encoder_unfused_time", "ms", r"T_{f,u}",
    "time of the batch's unfused memory-bound kernels (normalisation, activation, residual "
    "add run one after another between the convolutions)", _T)
encoder_host_ops = declare(
    "encoder_host_ops", "dimensionless", r"n_{h,\mathrm{fwd}}",
    "operators the host issues one at a time per forward pass (an eager framework: one per "
    "operator of the model's definition; 0 for a compiled engine's single launch)", (0, 1e7))
encoder_host_wait_time = declare(
    "encoder_host_wait_time", "ms", r"T_{f,h}",
    "time the device waits for the host issuing the pass's operators one by one (the excess "
    "of the host's issue time over the device's busy time; 0 when device-bound)", _T)
encoder_flops = declare("encoder_flops", "FLOP", r"W_{\mathrm{fwd}}",
                        "forward FLOPs of the batch", (0, 1e27))
encoder_bytes = declare("encoder_bytes", "B", r"Q_{\mathrm{fwd}}",
                        "bytes the batch's forward pass moves: weights once plus activations", _B)
encoder_compute_time = declare("encoder_compute_time", "ms", r"T_{f,c}",
                               "forward time if compute-bound", _T)
encoder_memory_time = declare("encoder_memory_time", "ms", r"T_{f,m}",
                              "forward time if memory-bound", _T)
encoder_latency = declare("encoder_latency", "ms", r"T_{\mathrm{fwd}}",
                          "time of the batch's forward pass (roofline)", _T)
encoder_throughput = declare("encoder_throughput", "sample/s", r"X_{\mathrm{fwd}}",
                             "samples (images, sequences) per second", (0, 1e12))
encoder_memory_footprint = declare("encoder_memory_footprint", "GB", r"M_{\mathrm{fwd}}",
                                   "weights plus the batch's live activations", (0, 1e9))
encoder_memory_utilization = declare("encoder_memory_utilization", "dimensionless", r"u_{M}",
                                     "forward-pass footprint over memory capacity", (0, 1e9))
