"""Symbols of the training-step composition (workload record ``equations/training.py``).

Parallel degrees follow Megatron-LM's names (Narayanan et al. SC21, Sec. 3.1): t tensor, p
pipeline, d data, c context (sequence) and e expert parallel, v interleaved model chunks per
pipeline stage. Batch sizes are counts of sequences (dimensionless); the sequence length is in
tokens. Memory symbols are per device.
"""

from .base import constant, declare
from .complexity import one_parameter, recomputed_forward_fraction, training_tokens  # noqa: F401
from .fragility import job_duration, nodes  # noqa: F401  (reused)
from .safety import gradient_bytes_per_parameter  # noqa: F401  (reused: b_g)
from .software import (hardware_flops_per_token, hardware_flops_utilization,  # noqa: F401
                       model_flops_per_token, model_flops_utilization, sequence_length,
                       tokens_per_step, training_step_time, training_throughput)  # (wall 3)
from .sustainability import devices  # noqa: F401  (reused: accelerators the job runs on)

korthikanti_byte_per_token = constant(
    "korthikanti_byte_per_token", 1, "B/token", "1",
    "unit of the activation-memory coefficients of Korthikanti et al. (Table 2): bytes per "
    "token per hidden element, with 16-bit activations and 1-byte dropout masks")

_DEG = (1, 1e6)
tensor_parallel = declare("tensor_parallel", "dimensionless", r"t", "tensor-parallel degree",
                          _DEG, integer=True)
pipeline_parallel = declare("pipeline_parallel", "dimensionless", r"p",
                            "pipeline-parallel degree (stages)", _DEG, integer=True)
data_parallel = declare("data_parallel", "dimensionless", r"d_{\mathrm{dp}}",
                        "data-parallel degree", _DEG, integer=True)
context_parallel = declare("context_parallel", "dimensionless", r"c",
                           "context-parallel degree (sequence split over ranks, ring attention)",
                           _DEG, integer=True)
expert_parallel = declare("expert_parallel", "dimensionless", r"e",
                          "expert-parallel degree (experts split over data-parallel ranks)", _DEG,
                          integer=True)
pipeline_interleave = declare("pipeline_interleave", "dimensionless", r"v",
                              "model chunks per pipeline stage (1: 1F1B; >1: interleaved)",
                              (1, 1e3), integer=True)
micro_batch = declare("micro_batch", "dimensionless", r"b", "sequences per micro-batch",
                      (1, 1e6), integer=True)
global_batch = declare("global_batch", "dimensionless", r"B", "sequences per optimizer step",
                       (1, 1e9), integer=True)
vocabulary = declare("vocabulary", "dimensionless", r"V", "vocabulary size (LM-head width)",
                     (1, 1e7), integer=True)
trainable_parameters = declare("trainable_parameters", "param", r"N_{\mathrm{tr}}",
                               "parameters updated by the optimizer (all: full training; the "
                               "adapters: LoRA)", (1, 1e14))
expert_parameters = declare("expert_parameters", "param", r"N_{\mathrm{exp}}",
                            "parameters of the routed experts (0 for a dense model)", (0, 1e14))
largest_weight_tensor = declare(
    "largest_weight_tensor", "param", r"N_{\mathrm{t}}",
    "parameters of the largest single dense weight tensor the step gathers whole: a layer's "
    "Q / K / V / output projection or FFN matrix, or the embedding / LM head (V h)", (1, 1e14))
largest_expert_tensor = declare(
    "largest_expert_tensor", "param", r"N_{\mathrm{t,exp}}",
    "parameters of one projection of an MoE layer's routed experts stacked in one tensor "
    "(E h f_e; 0 for a dense model)", (0, 1e14))
gather_per_tensor = declare(
    "gather_per_tensor", "dimensionless", r"\tau_{g}",
    "1 when a ZeRO-3 gather materialises one weight tensor at a time (an XLA SPMD program: "
    "the partitioner all-gathers each operand where its consumer needs it), 0 when it "
    "gathers a whole layer's flat parameter group (PyTorch FSDP, DeepSpeed ZeRO-3)", (0, 1))
moe_layers = declare("moe_layers", "dimensionless", r"L_{\mathrm{moe}}",
                     "layers whose FFN is a routed mixture of experts (0 for dense)", (0, 1e3),
                     integer=True)
experts_per_token = declare("experts_per_token", "dimensionless", r"k",
                            "routed experts each token is sent to (top-k)", (0, 1e3),
                            integer=True)
lora_rank = declare("lora_rank", "dimensionless", r"r_{\mathrm{LoRA}}", "LoRA adapter rank",
                    (1, 1e5), integer=True)
lora_adapted_width = declare("lora_adapted_width", "dimensionless", r"\sum (d_{in} + d_{out})",
                             "sum of d_in + d_out over all adapted weight matrices", (1, 1e12))

# ---- recomputation, sharding, overlap ---------------------------------------------------------
recomputed_dense_fraction = declare(
    "recomputed_dense_fraction", "dimensionless", r"r_{d}",
    "fraction of layers whose whole forward is recomputed in the backward pass (1: full "
    "recomputation)", (0, 1))
recomputed_attention_fraction = declare(
    "recomputed_attention_fraction", "dimensionless", r"r_{a}",
    "fraction of layers whose attention core (QK^T, softmax, dropout, AV) is recomputed "
    "(1: selective or full recomputation)", (0, 1))
recomputed_module_flops = declare(
    "recomputed_module_flops", "FLOP/token", r"F_{\mathrm{mod}}",
    "forward FLOPs per token, summed over the layers, of the modules Megatron-Core's selective "
    "recomputation re-runs besides the attention core (--recompute-modules mla_up_proj, mlp)",
    (0, 1e18))
recomputed_op_fraction = declare(
    "recomputed_op_fraction", "dimensionless", r"r_{o}",
    "fraction of layers under op-level selective checkpointing (torchtitan's 'op' policy: the "
    "attention output and every other matmul output saved, the rest recomputed)", (0, 1))
recomputed_dots_fraction = declare(
    "recomputed_dots_fraction", "dimensionless", r"r_{j}",
    "fraction of layers under JAX's checkpoint_dots_with_no_batch_dims policy (MaxText's "
    "'minimal' remat: the weight matmuls' outputs the backward needs and the layer input "
    "saved, the rest recomputed)", (0, 1))
recomputed_custom_fraction = declare(
    "recomputed_custom_fraction", "dimensionless", r"r_{c}",
    "fraction of layers under a per-tensor placement policy (JAX's save_and_offload_only_"
    "these_names, MaxText's remat_policy 'custom'): each named activation kept in device "
    "memory, offloaded to host memory or recomputed", (0, 1))
#: the named activation classes of a placement policy (MaxText's checkpoint names): the layer
#: input (decoder_layer_input), Q (query_proj), K and V (key_proj, value_proj), the attention
#: core's output (context), the attention projection's output (out_proj) and the FFN
#: up-projection output(s) (mlpwi / mlpwi_0, mlpwi_1)
PLACEMENT_CLASSES = ("layer_input", "query", "key_value", "context", "out_proj", "mlp_up")
for _k in PLACEMENT_CLASSES:
    globals()[f"device_{_k}"] = declare(
        f"device_{_k}", "dimensionless", r"\delta_{\mathrm{" + _k.replace("_", r"\_") + "}}",
        f"1 when a placement policy keeps the {_k.replace('_', ' ')} activation in device "
        "memory, 0 otherwise", (0, 1))
    globals()[f"offload_{_k}"] = declare(
        f"offload_{_k}", "dimensionless", r"\omega_{\mathrm{" + _k.replace("_", r"\_") + "}}",
        f"1 when a placement policy saves the {_k.replace('_', ' ')} activation in host "
        "memory (offloaded), 0 otherwise", (0, 1))
host_link_bandwidth = declare(
    "host_link_bandwidth", "GB/s", r"B_{\mathrm{host}}",
    "per-device bandwidth of the link to host memory, one direction (PCIe)", (0.1, 1e4))
sequence_parallel = declare("sequence_parallel", "dimensionless", r"\sigma_{sp}",
                            "1 with Megatron sequence parallelism, 0 without", (0, 1))
attention_scores_stored = declare(
    "attention_scores_stored", "dimensionless", r"\alpha_{s}",
    "1 when the s x s attention scores, softmax and dropout mask are stored (eager attention); "
    "0 with FlashAttention, which never materialises them", (0, 1))
dropout_masks_stored = declare(
    "dropout_masks_stored", "dimensionless", r"\delta",
    "1 when the model trains with dropout (Korthikanti et al.'s GPT: 1-byte masks after "
    "attention, the projections and the softmax), 0 without (Llama, MPT and most current "
    "LLM pretraining)", (0, 1))
sequence_fill = declare(
    "sequence_fill", "dimensionless", r"\varphi_{s}",
    "mean computed length of a training sequence over the maximum sequence length: 1 for "
    "fixed-length or packed sequences (LLM pretraining); below 1 when a loader pads each batch "
    "only to its longest member (dynamic padding, length binning: NVIDIA LDDL). Time runs at "
    "the computed length, memory holds the longest batch", (0.01, 1))
head_token_fraction = declare(
    "head_token_fraction", "dimensionless", r"f_{h}",
    "share of a sequence's tokens the output layer (LM head) and its loss run on: 1 for a "
    "causal LM; the masked share for a masked-LM head gathered to the masked positions (NVIDIA's "
    "BERT: 20 of 128, 80 of 512)", (0.001, 1))
rotary_embedding = declare("rotary_embedding", "dimensionless", r"\rho",
                           "1 when queries and keys are rotated (RoPE) in every layer, 0 for "
                           "learned, ALiBi or no positions", (0, 1))
fp8_activation_casts = declare(
    "fp8_activation_casts", "dimensionless", r"\chi_{8}",
    "1 when the GEMMs run in FP8 (or narrower) from 16-bit activations: Transformer Engine casts "
    "each GEMM input and output gradient to FP8 row- and column-wise (cast-transpose); 0 for "
    "16-bit GEMMs", (0, 1))
fused_memory_kernels = declare(
    "fused_memory_kernels", "dimensionless", r"\phi",
    "1 for the fused kernel set of Megatron-LM / Transformer Engine (bias-dropout-add, "
    "bias-GeLU / SwiGLU, RoPE and scale-mask-softmax each one kernel), 0 for PyTorch eager "
    "(one kernel per elementwise op)", (0, 1))
gemm_input_bytes_per_element = declare(
    "gemm_input_bytes_per_element", "B", r"b_{\mathrm{in}}",
    "bytes per element of the linear layers' inputs saved for the weight gradient: the "
    "activation width, or 1 with Transformer Engine's FP8 recipe (the FP8 cast is saved)",
    (0.0625, 8))
ffn_gated = declare("ffn_gated", "dimensionless", r"g_{ff}",
                    "1 for a gated FFN (SwiGLU/GeGLU: two up-projections), 0 otherwise", (0, 1))
parallel_block = declare(
    "parallel_block", "dimensionless", r"\pi_{b}",
    "1 when attention and FFN read the same norm output and their sum joins the residual "
    "(GPT-J, PaLM: one norm input, one shared linear input), 0 for the sequential block", (0, 1))
gathered_bytes_per_parameter = declare(
    "gathered_bytes_per_parameter", "B/param", r"b_{w,g}",
    "bytes per parameter of the weights a ZeRO-3 / FSDP gather materialises: the compute "
    "width (the stored width under mixed-precision Adam; a JAX layout casts fp32 parameters "
    "before it gathers them)", (0.125, 8))
optimizer_bytes_per_parameter = declare(
    "optimizer_bytes_per_parameter", "B/param", r"b_{o}",
    "optimizer-state bytes per trainable parameter (mixed-precision Adam: fp32 master + two "
    "moments = 12)", (0, 64))
zero_stage = declare("zero_stage", "dimensionless", r"z_{\mathrm{ZeRO}}",
                     "ZeRO stage: 0 plain data parallelism; 1 shards the optimizer states, 2 also "
                     "the gradients, 3 also the weights over the d c data-parallel ranks",
                     (0, 3), integer=True)
parameter_shard_factor = declare("parameter_shard_factor", "dimensionless", r"f_{w}",
                                 "share of the weights a device keeps (ZeRO-3: 1/(d c); else 1)",
                                 (1e-7, 1))
gradient_shard_factor = declare("gradient_shard_factor", "dimensionless", r"f_{g}",
                                "share of the gradients a device keeps (ZeRO-2/3: 1/(d c))",
                                (1e-7, 1))
optimizer_shard_factor = declare("optimizer_shard_factor", "dimensionless", r"f_{o}",
                                 "share of the optimizer state a device keeps (ZeRO-1/2/3: "
                                 "1/(d c))", (1e-7, 1))
parameter_gather_passes = declare(
    "parameter_gather_passes", "dimensionless", r"n_{ag}",
    "all-gathers of the weights per step (1: plain or ZeRO-1/2 data parallelism, the second half "
    "of an all-reduce or the gather after the optimizer; 2m: ZeRO-3 gathers them again for every "
    "micro-batch's forward and backward)", (1, 1e7))
gradient_reduce_passes = declare(
    "gradient_reduce_passes", "dimensionless", r"n_{rs}",
    "reduce-scatters of the gradients per step (1: plain or ZeRO-1 data parallelism accumulates "
    "locally and reduces once; m: ZeRO-2/3 keep only a gradient shard, so every micro-batch's "
    "backward reduces)", (1, 1e7))
head_stage_imbalance = declare(
    "head_stage_imbalance", "dimensionless", r"\iota_{h}",
    "share of the LM head (and loss) work the last pipeline stage runs on top of an even share "
    "of the layers (1: Megatron's default even layer split; 0: a split that accounts for it, "
    "as Megatron's --account-for-loss-in-pipeline-split or Llama 3's shorter last stage)", (0, 1))
logits_bytes_per_element = declare(
    "logits_bytes_per_element", "B", r"b_{\ell}",
    "bytes per output-layer logit live at the loss's peak: 6 for Megatron-Core's vocab-parallel "
    "cross-entropy (16-bit logits + an fp32 copy turned into the softmax and its gradient in "
    "place), 12 for PyTorch cross_entropy on an fp32 upcast (torchtitan: the fp32 gradient of "
    "log-softmax, its saved output and the fp32 input gradient)", (0, 64))
framework_workspace = declare(
    "framework_workspace", "GB", r"M_{\mathrm{ws}}",
    "device memory the framework holds beyond tensors it models: communication buffers, "
    "library workspaces, caching-allocator fragmentation", (0, 1e4))
dp_overlap = declare("dp_overlap", "dimensionless", r"o_{dp}",
                     "fraction of the compute that the data-parallel communication can hide behind "
                     "(the last micro-batch's backward; with ZeRO-2/3 every micro-batch's; "
                     "0: none, 1: all)", (0, 1))
training_goodput = declare("training_goodput", "dimensionless", r"G_{\mathrm{train}}",
                           "fraction of wall-clock time spent in useful training steps", (1e-6, 1))

# ---- outputs ----------------------------------------------------------------------------------
_T, _M = (0, 1e12), (0, 1e9)
micro_batches = declare("micro_batches", "dimensionless", r"m",
                        "micro-batches per step per pipeline", (0, 1e9))
pipeline_bubble_fraction = declare("pipeline_bubble_fraction", "dimensionless", r"\beta",
                                   "share of the pipelined step the stages sit idle", (0, 1))
step_compute_time = declare("step_compute_time", "s", r"T_{c}",
                            "per-device compute time of one step's micro-batches", _T)
attention_compute_time = declare("attention_compute_time", "s", r"T_{\mathrm{attn}}",
                                 "per-device time of the attention cores of one step", _T)
elementwise_time = declare("elementwise_time", "s", r"T_{\mathrm{ew}}",
                           "per-device time of the memory-bound (elementwise) kernels of one step",
                           _T)
memory_kernel_traffic = declare(
    "memory_kernel_traffic", "B/token", r"Q_{\ell}",
    "HBM bytes the memory-bound kernels of one layer move per token on one device over its "
    "forward, recomputation and backward passes (norms, activation, residual adds, dropout, "
    "RoPE; with eager attention the score softmax chain)", (0, 1e12))
gradients_live_at_loss = declare(
    "gradients_live_at_loss", "dimensionless", r"\gamma_{\ell}",
    "1 when the gradient buffers exist while the loss's logits do (a persistent gradient buffer, "
    "or gradients accumulated over micro-batches); 0 when the step is one compiled program whose "
    "gradients are outputs of its backward pass (JAX value_and_grad under XLA, one micro-batch): "
    "they are born after the loss", (0, 1))
loss_vocab_tiles = declare(
    "loss_vocab_tiles", "dimensionless", r"n_{vt}",
    "chunks the loss's tokens are split into (MaxText num_vocab_tiling): the forward keeps only "
    "the final hidden states and runs the LM head and cross-entropy one chunk at a time, the "
    "backward recomputes each chunk's logits; 1 computes the whole micro-batch's logits at "
    "once", (1, 1e6))
loss_traffic_per_logit = declare(
    "loss_traffic_per_logit", "B", r"q_{\ell}",
    "HBM bytes the softmax cross-entropy kernels move per output logit over the forward and "
    "backward (fp32 upcast, max, exp, normalise, gradient; memory-bound)", (0, 1e3))
memory_kernel_forward_traffic = declare(
    "memory_kernel_forward_traffic", "B/token", r"Q_{\ell}^{f}",
    "the part of memory_kernel_traffic one forward pass moves (no recomputation)", (0, 1e12))
tp_comm_time = declare("tp_comm_time", "s", r"T_{tp}", "tensor-parallel collectives per step", _T)
pp_comm_time = declare("pp_comm_time", "s", r"T_{pp}", "pipeline point-to-point sends per step",
                       _T)
cp_comm_time = declare("cp_comm_time", "s", r"T_{cp}",
                       "exposed context-parallel (ring attention) KV exchange per step", _T)
ep_comm_time = declare("ep_comm_time", "s", r"T_{ep}", "expert-parallel all-to-alls per step", _T)
pipeline_bubble_time = declare("pipeline_bubble_time", "s", r"T_{\beta}",
                               "idle pipeline time per step (fill and drain)", _T)
stage_imbalance_time = declare(
    "stage_imbalance_time", "s", r"T_{\iota}",
    "time per step the busiest pipeline stage's extra layers add over an even L/p split", _T)
stage_layer_imbalance = declare(
    "stage_layer_imbalance", "dimensionless", r"\iota_{L}",
    "layers on the busiest pipeline rank over the even share L/p (1: an even split)", (1, 1e3))
dp_comm_time = declare("dp_comm_time", "s", r"T_{dp}",
                       "data-parallel gradient (and ZeRO-3 weight) communication per step", _T)
dp_exposed_time = declare("dp_exposed_time", "s", r"T_{dp}^{\mathrm{exp}}",
                          "data-parallel communication not hidden behind the backward pass", _T)
offload_time = declare("offload_time", "s", r"T_{\mathrm{off}}",
                       "host-link time of one step's offloaded activations (out and back)", _T)
offload_exposed_time = declare("offload_exposed_time", "s", r"T_{\mathrm{off}}^{\mathrm{exp}}",
                               "activation offload traffic not hidden behind compute", _T)
optimizer_step_time = declare("optimizer_step_time", "s", r"T_{opt}",
                              "optimizer update time (memory-bound)", _T)
training_step_flops = declare("training_step_flops", "FLOP", r"W_{\mathrm{step}}",
                              "hardware FLOPs one device runs in one training step", (0, 1e27))
training_step_bytes = declare("training_step_bytes", "B", r"Q_{\mathrm{step}}",
                              "DRAM bytes one device moves in one training step at the memory "
                              "roof (memory-bound kernels and optimizer update)", (0, 1e21))
scaling_efficiency = declare("scaling_efficiency", "dimensionless", r"\eta_{\mathrm{scaling}}",
                             "share of the step spent computing (not in bubbles, exposed "
                             "communication or the optimizer)", (0, 1))
time_to_train = declare("time_to_train", "h", r"T_{D}",
                        "compute time to train on D tokens (no failures)", (0, 1e12))
local_parameters = declare("local_parameters", "param", r"N_{\mathrm{dev}}",
                           "parameters held by one model-parallel rank before ZeRO sharding",
                           (0, 1e14))
weight_memory = declare("weight_memory", "GB", r"M_{w}", "weights resident per device", _M)
gradient_memory = declare("gradient_memory", "GB", r"M_{g}", "gradients resident per device", _M)
optimizer_memory = declare("optimizer_memory", "GB", r"M_{o}",
                           "optimizer state resident per device", _M)
activation_memory = declare("activation_memory", "GB", r"M_{a}",
                            "activations stored per device (first pipeline stage)", _M)
logits_memory = declare("logits_memory", "GB", r"M_{\ell}",
                        "output-layer logits and loss buffers of one micro-batch (last "
                        "pipeline stage)", _M)
last_stage_activation_memory = declare(
    "last_stage_activation_memory", "GB", r"M_{a}^{\mathrm{last}}",
    "activations of the last pipeline stage: its layers for one micro-batch plus the logits", _M)
recompute_working_memory = declare(
    "recompute_working_memory", "GB", r"M_{\mathrm{rc}}",
    "activations of the one layer being recomputed in the backward pass", _M)
parameter_gather_memory = declare(
    "parameter_gather_memory", "GB", r"M_{\mathrm{ag}}",
    "gathered weights and unreduced gradients of ZeRO-3 / FSDP layers in flight", _M)
training_memory = declare("training_memory", "GB", r"M_{\mathrm{dev}}",
                          "memory per device: weights, gradients, optimizer, activations", _M)
training_memory_utilization = declare("training_memory_utilization", "dimensionless", r"u_{M}",
                                      "memory per device over capacity (fits iff <= 1)", (0, 1e9))

# ---- mixture-of-experts routing work (token dispatch, capacity padding) ----------------------
dispatch_flops_per_slot = constant(
    "dispatch_flops_per_slot", 2, "FLOP/token**2", "2",
    "a multiply and an add per (token, expert-capacity slot, hidden element) of a one-hot "
    "dispatch or combine einsum (GShard's dispatch tensor)")
expert_capacity_factor = declare(
    "expert_capacity_factor", "dimensionless", r"c_{f}",
    "expert GEMM rows per routed (token, expert) pair: a dropping MoE's capacity factor (its "
    "experts computed padded to capacity), 1 for a dropless MoE", (0, 1e3))
dense_dispatch = declare(
    "dense_dispatch", "dimensionless", r"\delta_{\mathrm{ein}}",
    "1 when tokens reach the experts through one-hot dispatch and combine einsums over each "
    "sequence's capacity slots (GShard; MaxText's dense_matmul), 0 for a permutation (sort) "
    "dispatcher", (0, 1))
token_permute_passes = declare(
    "token_permute_passes", "dimensionless", r"n_{\pi}",
    "memory-bound copies of the k routed token vectors per MoE layer forward (permute and "
    "unpermute around the experts; the backward repeats them): 2, or 4 with Megatron-Core's "
    "AlltoAll dispatcher under expert parallelism (global and local permutes)", (0, 100))
expert_parallel_overlap = declare(
    "expert_parallel_overlap", "dimensionless", r"o_{ep}",
    "fraction of the expert-parallel all-to-alls (dispatch and combine) hidden behind compute "
    "(DeepSeek-V3's DualPipe: fully hidden; Megatron-Core's --overlap-moe-expert-parallel-comm; "
    "a dispatcher on the compute stream 0)", (0, 1))
moe_padding_flops_per_token = declare(
    "moe_padding_flops_per_token", "FLOP/token", r"W_{\mathrm{pad}}",
    "forward FLOPs per token of the expert GEMMs' rows beyond the routed tokens (capacity "
    "padding)", (0, 1e16))
moe_dispatch_flops_per_token = declare(
    "moe_dispatch_flops_per_token", "FLOP/token", r"W_{\mathrm{disp}}",
    "forward FLOPs per token of the one-hot dispatch and combine einsums", (0, 1e16))
moe_routing_flops_per_token = declare(
    "moe_routing_flops_per_token", "FLOP/token", r"W_{\mathrm{route}}",
    "hardware FLOPs per token of MoE routing beyond the active parameters (padding and "
    "dispatch einsums over forward, recomputation and backward)", (0, 1e16))
