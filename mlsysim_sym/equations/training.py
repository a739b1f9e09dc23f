"""Workload - Training step: one optimizer step of a d x t x p x c (x e) parallel transformer job.

Composes walls 1, 2, 3 and 14 into the step time, utilisation and per-device memory of
Megatron-style training (wall 3 owns model/hardware FLOPs, MFU and HFU). N = d t p c devices;
expert parallelism reuses the d c data-parallel ranks; rank order tp-cp-dp-pp.

- Work: forward 2 N_a + 4 L H d_h s FLOPs per token (PaLM App. B); recomputed: r_d (2 N_a - 2 V h)
  (whole layers, never the LM head) + r_a 4 L H d_h s (attention core), so N_a = 12 l h^2 + V h
  gives Narayanan's eq. (3). LoRA skips the frozen weight gradients, 2 N_a (1 - N_tr/N).
- Time: per device W_hw B s / N, split three ways (Williams et al.'s ceilings, each calibrated
  on its own): the GEMM FLOPs at the achieved GEMM rate (peak x kappa_mm x eta_c: kappa_mm the
  chip's measured matmul ceiling, the clocks it holds under tensor-core load at its power limit,
  a registry measurement that differs per chip; eta_c what the job's shapes reach of it; the LM
  head's 3 x 2 V h at the peak of its own precision, 16-bit under the FP8 recipes), the attention-core
  FLOPs (3 + r_a) 4 L H d_h s at the attention kernels' rate (16-bit peak x eta_attn; Dao 2023),
  and the memory-bound kernels' bytes (norms, activation, residual adds, dropout, RoPE, eager
  attention's softmax chain, per kernel set: :mod:`.memory_kernels`) at the achieved bandwidth
  (bandwidth x eta_m), not overlapped with the GEMMs; plus a fixed per-step overhead. The pipeline runs
  at its slowest stage: with Megatron's even layer split the last stage also runs the LM head,
  (p - 1)/p of the head's work more than an even share (iota_h = 1; 0 when the split accounts
  for it, as Llama 3's shorter last stage). TP all-reduces
  b s h / c bytes 4 + 2 r_d times per layer and micro-batch (sequence parallelism: same
  volume); PP sends b s h / (t c) per boundary both ways, v times when interleaved; CP
  rotates K/V (and dK/dV) blocks c - 1 times, hidden behind attention when that is longer; EP
  runs 2 + 2 all-to-alls of b s k c_f h / (t c) per MoE layer; each class is exposed but for
  the share its framework overlaps (TP o_tp, PP o_pp, EP o_ep). MoE routing adds GEMM
  FLOPs beyond the active parameters: a dropping MoE's capacity padding, (c_f - 1) 2 N_exp k / E
  per token, and GShard's one-hot dispatch and combine einsums, 2 x 2 h c_f k S per token and
  MoE layer (Lepikhin et al. Algorithm 2; MaxText's groups are sequences). The pipelined part stretches by 1 / (1 - beta),
  beta = (p - 1)/(v m + p - 1). The host issues the step's operations one by one and runs
  ahead of the device: the pipelined part's busy time is max(device, host), the host's
  m L/p n_h t_h (n_h operations per layer and micro-batch counted from the model's structure,
  CUDA graphs counting one launch per captured region; t_h the CPU time per operation); a
  dropless MoE dispatcher's device-to-host sync (its token counts, q_h per MoE layer) stops the
  host from running ahead, so the n_s operations it issues after each (the dispatch, routed
  experts' forward, combine) take max(host, device) on their own. DP reduce-scatters gradients and all-gathers weights (ZeRO-3
  twice), intra-node first, hidden behind the last micro-batch's backward (ZeRO-3: and
  forward) time up to o, less the attention time that already hides the CP exchange (one
  compute budget); then the optimizer (wall 2).
- Memory: 2 + 2 + 12 bytes/param over t p (experts over e too) and the ZeRO shards;
  activations from Korthikanti Table 2 by tensor class (16-bit activations; the linear layers'
  saved inputs, 1 byte under Transformer Engine's FP8 recipe; the model's attention and FFN
  widths) interpolated by the recompute fractions, with sequence parallelism and
  FlashAttention (no 5 a s^2 b term), x L/p layers x min(p, m) micro-batches in flight (1F1B),
  x (1 + (p - 1)/(p v)) when interleaved.

Regime: decoder transformers (dense or MoE), GPT-style 4h FFN in the activation coefficients;
balanced stages, or an even layer split whose last stage adds the LM head (iota_h; the
embedding lookup costs no FLOPs), balanced experts; alpha-beta collectives without contention
between groups; TP, PP and EP traffic exposed; DP traffic once per step; causal attention
counted in full (MFU rule).

References
----------
Narayanan et al., Megatron-LM, SC21. Korthikanti et al., MLSys 2023. Rajbhandari et al., ZeRO,
SC20. Liu et al., Ring Attention, 2023. Lepikhin et al., GShard, ICLR 2021. Li et al., PyTorch
Distributed, VLDB 2020. Hu et al., LoRA, ICLR 2022. Chowdhery et al., PaLM, 2022, App. B.
Dao, FlashAttention-2, 2023.
"""

import sympy

from .. import symbols as s
from . import compute, gemm_shape, memory, memory_kernels  # noqa: F401 (gemm_shape: its reference)
from .base import Constraint, Equation, Wall
from .communication import ring_allreduce, ring_reduce_scatter
from .references import Reference, add_all

add_all(
    Reference("yao2025dsv3gb200", "Yao, Xin and Bai, Hongxiao and Zhang, Yaobin and others",
              "Optimizing DeepSeek-V3 Training Performance on NVIDIA GB200 NVL72",
              "NVIDIA Megatron-LM, docs/discussions/deepseek-v3-gb200-optimization", 2025,
              url="https://github.com/NVIDIA/Megatron-LM/blob/main/docs/discussions/"
                  "deepseek-v3-gb200-optimization/deepseek-v3-gb200-optimization.md", kind="misc"),
    Reference("meta2023hta", "Meta Platforms", "Holistic Trace Analysis: CUDA Kernel Launch "
              "Statistics", "facebookresearch/HolisticTraceAnalysis documentation", 2023,
              url="https://github.com/facebookresearch/HolisticTraceAnalysis/blob/main/docs/"
                  "source/features/cuda_kernel_launch_stats.rst", kind="misc"),
    Reference("liu2023ringattention", "Liu, Hao and Zaharia, Matei and Abbeel, Pieter", "Ring "
              "Attention with Blockwise Transformers for Near-Infinite Context", "arXiv:2310.01889",
              2023, url="https://arxiv.org/abs/2310.01889", kind="misc"),
    Reference("lepikhin2021gshard", "Lepikhin, Dmitry and Lee, HyoukJoong and Xu, Yuanzhong and "
              "others", "GShard: Scaling Giant Models with Conditional Computation and Automatic "
              "Sharding", "ICLR 2021", 2021, url="https://arxiv.org/abs/2006.16668", kind="misc"),
    Reference("li2020pytorchddp", "Li, Shen and Zhao, Yanli and Varma, Rohan and others",
              "PyTorch Distributed: Experiences on Accelerating Data Parallel Training",
              "Proceedings of the VLDB Endowment 13(12)", 2020, doi="10.14778/3415478.3415530"),
    Reference("dao2023flashattention2", "Dao, Tri", "FlashAttention-2: Faster Attention with "
              "Better Parallelism and Work Partitioning", "arXiv:2307.08691 (ICLR 2024)", 2023,
              url="https://arxiv.org/abs/2307.08691", kind="misc"),
    Reference("shah2024flashattention3", "Shah, Jay and Bikshandi, Ganesh and Zhang, Ying and "
              "others", "FlashAttention-3: Fast and Accurate Attention with Asynchrony and "
              "Low-precision", "arXiv:2407.08608 (NeurIPS 2024)", 2024,
              url="https://arxiv.org/abs/2407.08608", kind="misc"),
    Reference("pytorch2024fsdpnotes", "PyTorch contributors", "FSDP Notes: FSDP Prefetch "
              "Nuances", "PyTorch documentation", 2024,
              url="https://docs.pytorch.org/docs/stable/notes/fsdp.html", kind="misc"),
    Reference("grattafiori2024llama3", "Grattafiori, Aaron and Dubey, Abhimanyu and others",
              "The Llama 3 Herd of Models", "arXiv:2407.21783", 2024,
              url="https://arxiv.org/abs/2407.21783", kind="misc"),
    Reference("megatron2024crossentropy", "NVIDIA", "Megatron-Core: "
              "megatron/core/tensor_parallel/cross_entropy.py (VocabParallelCrossEntropy)",
              "GitHub repository NVIDIA/Megatron-LM", 2024,
              url="https://github.com/NVIDIA/Megatron-LM/blob/main/megatron/core/"
                  "tensor_parallel/cross_entropy.py", kind="misc"),
    Reference("nvidia2024transformerengine", "NVIDIA", "Transformer Engine: "
              "transformer_engine/pytorch/module/linear.py (_Linear.forward), commit 0004dbd0",
              "GitHub repository NVIDIA/TransformerEngine", 2024,
              url="https://github.com/NVIDIA/TransformerEngine/blob/"
                  "0004dbd0231cb02d7b47d45344900a494fa13f46/transformer_engine/pytorch/module/"
                  "linear.py", kind="misc"),
    Reference("pytorch2024torchaofloat8", "PyTorch contributors", "torchao: "
              "torchao/float8/float8_linear.py (matmul_with_hp_or_float8_args)",
              "GitHub repository pytorch/ao", 2024,
              url="https://github.com/pytorch/ao/blob/main/torchao/float8/float8_linear.py",
              kind="misc"),
    Reference("pytorch2024torchtitan", "PyTorch contributors", "torchtitan: "
              "torchtitan/parallelisms/parallelize_llama.py (_apply_ac_to_transformer_block, "
              "op-level selective activation checkpointing), commit 9dec370",
              "GitHub repository pytorch/torchtitan", 2024,
              url="https://github.com/pytorch/torchtitan/blob/"
                  "9dec370ad26b5f8e9a7333a0e36165018262644b/torchtitan/parallelisms/"
                  "parallelize_llama.py", kind="misc"),
    Reference("jax2024checkpointpolicies", "JAX authors", "jax/_src/ad_checkpoint.py: "
              "checkpoint_policies.checkpoint_dots_with_no_batch_dims (dot_general without "
              "batch dimensions saveable) and partial_eval_jaxpr_custom (only residuals the "
              "backward uses are kept)", "GitHub repository jax-ml/jax", 2024,
              url="https://github.com/jax-ml/jax/blob/main/jax/_src/ad_checkpoint.py",
              kind="misc"),
    Reference("maxtext2023layers", "Google", "MaxText: MaxText/layers.py (DecoderLayer: one "
              "pre-norm output feeds attention and MLP; Decoder: remat_policy minimal = "
              "checkpoint_dots_with_no_batch_dims, full = nothing saveable) and "
              "MaxText/configs/base.yml (logical_axis_rules: activation_embed -> tensor)",
              "GitHub repository AI-Hypercomputer/maxtext", 2023,
              url="https://github.com/AI-Hypercomputer/maxtext", kind="misc"),
    Reference("jax2024remat", "JAX authors", "Control autodiff's saved values with "
              "jax.checkpoint (aka jax.remat): with no residual saved, 'any residuals consumed "
              "on the backward pass are re-computed from those inputs as needed'",
              "JAX documentation", 2024,
              url="https://docs.jax.dev/en/latest/notebooks/autodiff_remat.html", kind="misc"),
    Reference("ren2021zerooffload", "Ren, Jie and Rajbhandari, Samyam and Aminabadi, Reza "
              "Yazdani and others", "ZeRO-Offload: Democratizing Billion-Scale Model Training",
              "USENIX ATC 2021", 2021, url="https://arxiv.org/abs/2101.06840", kind="misc"),
    Reference("jax2024offloadpolicies", "JAX authors", "jax.checkpoint_policies."
              "save_and_offload_only_these_names (names_which_can_be_saved, "
              "names_which_can_be_offloaded, offload_src, offload_dst): 'Gradient "
              "checkpointing' notes, offloading to host", "JAX documentation", 2024,
              url="https://docs.jax.dev/en/latest/gradient-checkpointing.html", kind="misc"),
    Reference("pcisig2017pcie4", "PCI-SIG", "PCI Express Base Specification Revision 4.0: "
              "16.0 GT/s per lane, 128b/130b encoding (31.5 GB/s per direction at x16)",
              "PCI-SIG", 2017, url="https://pcisig.com/specifications", kind="misc"),
    Reference("maxtext2024moe", "Google", "MaxText: MaxText/layers/linears.py, MoeBlock."
              "generate_masks (expert_capacity_per_batch = seq_len x k / E x capacity_factor) "
              "and dense_matmul (dispatch 'BSM,BSEC -> EBCM', combine 'EBCM,BSEC -> BSM' "
              "einsums; experts on the [E, B, C, M] capacity buffer)",
              "GitHub repository AI-Hypercomputer/maxtext", 2024,
              url="https://github.com/AI-Hypercomputer/maxtext", kind="misc"),
    Reference("megatron2025moe", "NVIDIA", "Megatron-Core MoE: megatron/core/transformer/moe/"
              "token_dispatcher.py (MoEAlltoAllTokenDispatcher: permute, all-to-all, "
              "sort_chunks_by_idxs before the experts and the reverse after; MoEFlexToken"
              "Dispatcher: DeepEP / HybridEP fuse the global permute into the communication) "
              "and the DeepSeek-V3 GB200 optimization guide (docs/discussions/deepseek-v3-gb200-"
              "optimization, Sec. 2.1.1)", "GitHub repository NVIDIA/Megatron-LM", 2025,
              url="https://github.com/NVIDIA/Megatron-LM/tree/main/megatron/core/transformer/moe",
              kind="misc"),
    Reference("megatron2025recompute", "NVIDIA", "Megatron-Core selective recomputation by "
              "module: megatron/core/transformer/transformer_config.py (recompute_modules: "
              "core_attn, moe_act, layernorm, mla_up_proj, mlp, moe, shared_experts) and "
              "multi_latent_attention.py (qkv_up_proj_and_rope_apply: the query and key-value "
              "up-projections and RoPE under CheckpointWithoutOutput)",
              "GitHub repository NVIDIA/Megatron-LM", 2025,
              url="https://github.com/NVIDIA/Megatron-LM/blob/main/megatron/core/transformer/"
                  "transformer_config.py", kind="misc"),
    Reference("maxtext2025vocabtiling", "Google", "MaxText: MaxText/vocabulary_tiling.py "
              "(vocab_tiling_linen_loss: the tokens reshaped to [num_vocab_tiling, B S / "
              "num_vocab_tiling]; the forward scans the chunks, computing each chunk's logits and "
              "cross-entropy and keeping the hidden states as residuals; the backward scans them "
              "again, recomputing each chunk's logits under jax.vjp) and tpu-recipes training/v5p/"
              "Llama3.1-405B-MaxText/cluster_toolkit/run_recipe.sh (num_vocab_tiling=4)",
              "GitHub repositories AI-Hypercomputer/maxtext and AI-Hypercomputer/tpu-recipes", 2025,
              url="https://github.com/AI-Hypercomputer/maxtext", kind="misc"),
    Reference("xu2021gspmd", "Xu, Yuanzhong and Lee, HyoukJoong and Chen, Dehao and others",
              "GSPMD: General and Scalable Parallelization for ML Computation Graphs",
              "arXiv:2105.04663", 2021, url="https://arxiv.org/abs/2105.04663", kind="misc"),
    Reference("openxla2024rematerialization", "OpenXLA authors", "XLA: xla/service/"
              "hlo_rematerialization.h (HloRematerialization: 'A pass which rematerializes "
              "instructions to reduce peak memory use, where memory use is defined as the total "
              "size of all live HLO instruction values') and the operation-fusion passes "
              "(instruction_fusion.cc: elementwise producers fused into their consumers)",
              "GitHub repository openxla/xla", 2024, url="https://github.com/openxla/xla",
              kind="misc"),
    Reference("megatron2024gptmodel", "NVIDIA", "Megatron-Core: megatron/core/models/gpt/"
              "gpt_model.py (GPTModel.__init__: self.output_layer = tensor_parallel."
              "ColumnParallelLinear, a plain torch GEMM outside Transformer Engine's FP8 "
              "modules)", "GitHub repository NVIDIA/Megatron-LM", 2024,
              url="https://github.com/NVIDIA/Megatron-LM/blob/main/megatron/core/models/gpt/"
                  "gpt_model.py", kind="misc"),
    Reference("pytorch2024torchtitanfloat8", "PyTorch contributors", "torchtitan: "
              "torchtitan/float8.py (Float8Handler.convert_to_float8_training: "
              "module_filter_fn=lambda mod, fqn: fqn != 'output'), commit bd15a33",
              "GitHub repository pytorch/torchtitan", 2024,
              url="https://github.com/pytorch/torchtitan/blob/"
                  "bd15a33da6c9afdf235e6f0d861bc925ddd98692/torchtitan/float8.py", kind="misc"),
    Reference("chen2016sublinear", "Chen, Tianqi and Xu, Bing and Zhang, Chiyuan and Guestrin, "
              "Carlos", "Training Deep Nets with Sublinear Memory Cost", "arXiv:1604.06174",
              2016, url="https://arxiv.org/abs/1604.06174", kind="misc"),
    Reference("nvidia2021lddl", "NVIDIA", "Language Datasets and Data Loaders (LDDL): "
              "Tools/lddl/README.md (sequence binning: each bin holds sequences of (i - 1) x "
              "bin size + 1 to i x bin size tokens, every rank's mini-batch of an iteration comes "
              "from one bin, and a mini-batch is padded only to its longest sequence) and "
              "lddl/torch/bert.py (_to_encoded_inputs: batch_seq_len = the longest sequence, "
              "rounded up to sequence_length_alignment = 8)",
              "GitHub repository NVIDIA/DeepLearningExamples", 2021,
              url="https://github.com/NVIDIA/DeepLearningExamples/tree/master/Tools/lddl",
              kind="misc"),
    Reference("nvidia2021bertdense", "NVIDIA", "DeepLearningExamples, PyTorch/LanguageModeling/"
              "BERT: run_pretraining.py (prepare_model_and_optimizer(..., sequence_output_is_"
              "dense=not args.no_dense_sequence_output): by default the masked-LM head runs on "
              "the masked positions only; --max_predictions_per_seq 20 at 128 tokens, 80 at 512) "
              "and modeling.py (BertLMPredictionHead: transform, then the vocabulary decoder)",
              "GitHub repository NVIDIA/DeepLearningExamples", 2021,
              url="https://github.com/NVIDIA/DeepLearningExamples/tree/master/PyTorch/"
                  "LanguageModeling/BERT", kind="misc"),
    Reference("hu2022lora", "Hu, Edward J. and Shen, Yelong and Wallis, Phillip and others",
              "LoRA: Low-Rank Adaptation of Large Language Models", "Proceedings of ICLR 2022",
              2022, url="https://arxiv.org/abs/2106.09685", kind="inproceedings"),
)

t, p, d, c, e, v = (s.tensor_parallel, s.pipeline_parallel, s.data_parallel, s.context_parallel,
                    s.expert_parallel, s.pipeline_interleave)
b, S, m, g = s.micro_batch, s.sequence_length, s.micro_batches, s.devices_per_node
L, h, ba, eta = s.layers, s.hidden, s.activation_bytes_per_element, s.communication_efficiency
rd, ra, ro, rj = (s.recomputed_dense_fraction, s.recomputed_attention_fraction,
                  s.recomputed_op_fraction, s.recomputed_dots_fraction)
fpt = s.flops_per_parameter_token
_attn = 2 * s.attention_flops_per_pair * L * s.heads * s.head_dim * S  # forward FLOP/token
_head_full = fpt * s.vocabulary * h * s.one_parameter  # LM-head GEMM FLOP per token it runs on
# the output layer runs on a share f_h of the tokens: all of them for a causal LM; the masked
# ones for a masked-LM head gathered to the masked positions (NVIDIA's BERT, dense sequence
# output: nvidia2021bertdense), whose skipped (1 - f_h) share costs nothing
_head = _head_full * s.head_token_fraction  # LM-head GEMM FLOP per token of the sequence
# vocab tiling (n_vt > 1) recomputes each chunk's logits in the backward: one more LM-head forward
_tiled_head = sympy.Min(1, s.loss_vocab_tiles - 1) * _head
_frozen = fpt * s.active_parameters * (1 - s.trainable_parameters / s.parameters)
_per_device = b * S / (t * p * c)  # one micro-batch's tokens x this device's share
_trainable_local = s.local_parameters * s.trainable_parameters / s.parameters
_up, _up_lat, _out, _out_lat = (s.scale_up_bandwidth, s.scale_up_latency, s.link_bandwidth,
                                s.link_latency)


_eta_out = s.scale_out_efficiency


def _link(span):
    """(bandwidth, latency, achieved fraction) for ``span`` consecutive ranks: the scale-up
    link (NVLink-class, eta) within one node, the scale-out NIC (eta_out) beyond it."""
    return (sympy.Piecewise((_up, span <= g), (_out, True)),
            sympy.Piecewise((_up_lat, span <= g), (_out_lat, True)),
            sympy.Piecewise((eta, span <= g), (_eta_out, True)))


_tp_bw, _tp_lat, _tp_eta = _link(t)
_pp_bw, _pp_lat, _pp_eta = _link(s.devices)
_cp_bw, _cp_lat, _cp_eta = _link(t * c)
_ep_bw, _ep_lat, _ep_eta = _link(t * c * e)
_dp_node = sympy.Min(d * c, sympy.Max(1, g / t))   # data-parallel ranks sharing a node
_grad_msg = _trainable_local * s.gradient_bytes_per_parameter
_sp = 1 + s.sequence_parallel * (t - 1)            # divisor of the TP-replicated 10 sbh
_device_busy = (s.step_compute_time + s.tp_comm_time + s.pp_comm_time + s.cp_comm_time
                + s.ep_comm_time)
# the host issues the step's operations one by one and runs ahead of the device (asynchronous
# launches): the stages' busy time is the longer of the device's and the host's (host-bound
# when the host's exceeds it: yao2025dsv3gb200 Sec. 2, "the CPU kernel launch speed cannot keep
# up with the kernel execution speed on GPU"); a device-to-host sync bounds how far ahead it
# runs (_busy below)
# Korthikanti Sec. 4.1: the 10 sbh replicated over TP are 4 (layer-norm inputs) + 2 + 2 (QKV and
# MLP inputs) + 2 (the two hidden dropout masks, 1 byte each); of the 5 a s^2 b of eager
# attention, 3 are the dropout mask and output. Models trained without dropout (delta = 0: Llama,
# MPT, ...) store neither.
_dropout = s.dropout_masks_stored
# S is the length a sequence is computed at. A loader that pads each batch only to its longest
# member (dynamic padding; NVIDIA LDDL's sequence binning, nvidia2021lddl) computes the mean
# padded length, a fraction phi_s of the maximum, while memory must hold the longest batch, padded
# to the maximum S / phi_s: the activations, scores and logits below are sized by it
_S_max = S / s.sequence_fill
_scores = (2 + 3 * _dropout) * s.heads * _S_max * s.per_token / (h * t)
# The same tensors by class (Korthikanti Sec. 4.1, one [s/c, b, h]-sized tensor = one unit):
# 16-bit activations (b_a each) are the two norm inputs (replicated over TP unless SP), Q, K, V
# (K and V at the KV width: GQA stores fewer) and the FFN's up-projection output(s) that the
# activation function reads (the ffn width, twice when gated); the inputs of the four linear
# layers (QKV, attention projection, FC1, FC2) are saved for the weight gradients at b_in each:
# b_a, or 1 with Transformer Engine's FP8 recipe, which saves the FP8 cast of the input. With
# q_w = kv_w = 1, a 4h ungated FFN and b_a = b_in = 2 this is Table 2's 10/sp + 24/t sbh.
_elems = (_S_max / c) * b * h * s.per_token              # elements of one [s/c, b, h] tensor
_bi, _q_w, _kv_w = s.gemm_input_bytes_per_element, s.heads * s.head_dim / h, \
    s.kv_heads * s.head_dim / h
_ff_out = s.ffn_width / h                             # FC1 output(s) per h
_ff_in = s.ffn_width / ((1 + s.ffn_gated) * h)        # FC2 input per h
# a parallel block (pi_b = 1: GPT-J, PaLM) has one norm and one shared input for QKV and FC1
_pb = s.parallel_block
_layer_norecompute = _elems * (
    (2 - _pb) * (ba + _bi) / _sp + (ba * (_q_w + 2 * _kv_w + _ff_out) + _bi * (_q_w + _ff_in)) / t)
_one_byte = (_S_max / c) * b * h * s.korthikanti_byte_per_token   # a 1-byte mask per element
# torchtitan's op-level selective checkpointing saves the layer input, the attention output and
# the outputs of every other matmul in forward order (q, k, v, o, up [, gate], down: q, v, the
# first up-projection and, gated, the down-projection's unreduced [s, b, h] partial sums), and
# recomputes the others: k, o and the second up- (gated) or the down-projection (ungated)
_op_saved = _elems * ba * (1 / _sp + (2 * _q_w + _kv_w + _ff_in) / t + s.ffn_gated)
# JAX's checkpoint_dots_with_no_batch_dims (MaxText remat_policy "minimal") marks every
# dot_general without batch dimensions saveable (the weight matmuls, not the attention core's
# batched einsums nor FlashAttention's kernel); JAX keeps a saveable value only when the backward
# needs it (partial_eval_jaxpr_custom): the layer input (the scan carry), Q, K, V (the attention
# core and RoPE are recomputed from them), the attention projection's output (with the layer
# input it rebuilds the second norm's input) and the FFN up-projection output(s) (the
# activation and the down-projection's input are recomputed from them); the down-projection's
# output only feeds the residual add and is dropped; in a parallel block the attention output
# joins the residual the same way (the FFN reads the shared norm output), so it is dropped too.
# No weight GEMM is recomputed.
_dots_saved = _elems * ba * ((2 - _pb) / _sp + (_q_w + 2 * _kv_w + _ff_out) / t)
_op_recomputed_gemm = s.layers * fpt * h ** 2 * (_kv_w + _q_w + _ff_in) * s.one_parameter
# A placement policy (JAX's save_and_offload_only_these_names; MaxText remat_policy "custom",
# base.yml: each named tensor 'remat', 'device' or 'offload') names the same tensors the
# dots-saved policy keeps, plus the attention core's output (context). Each is kept in HBM
# (delta_k = 1), saved in pinned host memory (omega_k = 1: off HBM, written over the host link in
# the forward and read back in the backward) or recomputed (r_c - delta_k - omega_k: its weight
# GEMM runs again in the backward; the attention core runs again unless context is saved). The
# layer input is the scanned layers' carry: saved either way (kept or offloaded). The
# down-projection's output only feeds the residual add: the backward never reads it, so JAX
# never recomputes it (jax2024remat: residuals are recomputed "as needed"); in a parallel block
# the attention projection's output joins the same add and is not recomputed either. With every
# class recomputed this is JAX's nothing_saveable (MaxText remat_policy full), which re-runs
# fewer GEMMs than Megatron's full recomputation of the whole layer forward.
rc = s.recomputed_custom_fraction
_placed = {  # class -> (bytes per layer and micro-batch, weight-GEMM width per h^2 or None)
    "layer_input": (_elems * ba / _sp, None),
    "query": (_elems * ba * _q_w / t, _q_w),
    "key_value": (_elems * ba * 2 * _kv_w / t, 2 * _kv_w),
    "context": (_elems * ba * _q_w / t, None),
    "out_proj": (_elems * ba * (1 - _pb) / _sp, _q_w * (1 - _pb)),
    "mlp_up": (_elems * ba * _ff_out / t, _ff_out),
}
_dev = {k: getattr(s, f"device_{k}") for k in _placed}
_off = {k: getattr(s, f"offload_{k}") for k in _placed}
_custom_device = sum(_dev[k] * nbytes for k, (nbytes, _) in _placed.items())
_custom_offloaded = sum(_off[k] * nbytes for k, (nbytes, _) in _placed.items())
_custom_recomputed_gemm = s.layers * fpt * h ** 2 * s.one_parameter * sum(
    (rc - _dev[k] - _off[k]) * w for k, (_, w) in _placed.items() if w is not None)


def _stored(r_d, r_o, r_j=0, r_c=0):
    """Bytes one layer keeps in device memory for the backward with a fraction r_d of layers
    recomputed whole (they keep only their 16-bit input), r_o under op-level checkpointing, r_j
    under JAX's dots-saved policy and r_c under a placement policy (its device-kept tensors);
    the eager attention scores unless recomputed."""
    return ((1 - r_d - r_o - r_j - r_c) * (_layer_norecompute + _one_byte * 2 * _dropout / _sp)
            + r_d * _elems * ba / _sp + r_o * _op_saved + r_j * _dots_saved
            + (0 if r_c == 0 else _custom_device)
            + _one_byte * (1 - ra) * s.attention_scores_stored * _scores)


_act_layer = _stored(rd, ro, rj, rc)
# the same with nothing recomputed: what the one layer being recomputed in the backward holds
_act_layer_full = _stored(0, 0)
_attn_hw = (3 + ra) * _attn                          # attention-core FLOP/token, recompute incl.
_tok_dev = s.tokens_per_step / s.devices
# the two memory-bound traffics of a step (per device), shared by their time equations and by
# the step's roofline operating point (training_step_bytes)
# the loss kernels: one micro-batch's [s/c, b, V/t] logits on the last stage; an even share
# of them per stage, and (p - 1)/p of them on top with Megatron's even layer split (iota_h)
_loss_bytes = m * (S / c) * b * s.head_token_fraction * s.per_token * s.vocabulary / t \
    * s.loss_traffic_per_logit * (
    1 + s.head_stage_imbalance * (p - 1)) / p
_elementwise_bytes = m * L / p * (S / c) * b * s.memory_kernel_traffic + _loss_bytes
_optimizer_bytes = _trainable_local * s.optimizer_shard_factor * (
    s.gradient_bytes_per_parameter + 2 * s.optimizer_bytes_per_parameter + s.bytes_per_parameter)


def _attention_time(work):
    """Time of attention-core FLOPs at the attention kernels' achieved rate."""
    return work / (s.attention_peak_flops * s.attention_efficiency)


def _gemm_time(work):
    """Time of GEMM FLOPs: wall 1's roof lowered to the best-shaped GEMM's measured rate
    (wall 1's gemm_time: peak x kappa_mm, the clocks the chip holds under tensor-core load at its
    power limit, times eta_c), times the step's GEMM shapes' tile and wave quantization
    (eta_shape, nvidia2023matmul)."""
    return compute.gemm_time(work) / s.gemm_shape_efficiency


def _head_time(work):
    """Time of the output layer's (LM head's) GEMM FLOPs: the GEMM rate of :func:`_gemm_time`
    at the peak of the precision the head runs in (16-bit with FP8 GEMMs: the FP8 recipes keep
    the output layer in BF16), the same achieved fractions."""
    return _gemm_time(work) * s.peak_flops / s.head_peak_flops


# the LM head's FLOPs per token in a step: its forward, the input gradient and (when the head
# trains) the weight gradient; never recomputed by layer recomputation (Korthikanti eq. 3), once
# more under vocab tiling (the backward recomputes each chunk's logits)
_head_hw = _head * (2 + s.trainable_parameters / s.parameters) + _tiled_head


# MoE routing work beyond the active parameters. A token's routed experts cost 2 N_exp k / E
# FLOPs (its k of the E experts' weights); a dropping MoE computes every expert on its capacity
# buffer, c_f times the routed rows (GShard Sec. 3.2; Fedus et al. Sec. 2.2), a dropless one
# exactly the routed rows (c_f = 1). GShard's one-hot dispatch and combine are einsums over the
# [E, C] capacity slots of a group (MaxText: one sequence, E C = c_f k S), 2 h E C FLOPs per token
# each. Backward: the expert GEMMs as any GEMM (2x the forward); the dispatch einsum
# differentiates its tokens only (the mask is boolean), the combine einsum both its operands
# (the combine weights carry the router's gradient): 1 + 2 einsum forwards.
_routed_flops = fpt * s.expert_parameters * s.experts_per_token / s.moe_experts
_rf = s.recomputed_forward_fraction
# Device-to-host syncs (a dropless MoE dispatcher's token counts, megatron2025moe;
# yao2025dsv3gb200 Sec. 3.1): the host cannot run ahead across one, so after each sync it
# issues the dispatch, routed experts' forward and combine (n_s operations) while the device
# runs them as they come: that segment takes max(host, device), not a share of max(H, D) over
# the whole step. The rest of the step overlaps as before. Per sync the device runs the routed
# experts' forward GEMMs on the micro-batch's tokens (c_f k of the E experts of one MoE layer)
# and the forward's two all-to-alls (half an MoE layer's exposed EP time). Summed over the
# stage's n = m L_moe/p q_h syncs (no per-layer division: a dense model has none):
_sync_host = m * s.moe_layers / p * s.host_syncs_per_moe_layer * s.host_ops_after_sync \
    * s.host_op_time
_sync_device = s.host_syncs_per_moe_layer * (
    m / p * _gemm_time(_routed_flops * s.expert_capacity_factor * b * S / (t * c))
    + s.ep_comm_time / 2)
_busy = (sympy.Max(_device_busy - _sync_device, s.host_issue_time - _sync_host)
         + sympy.Max(_sync_device, _sync_host))
_pad_eq = Equation(
    s.moe_padding_flops_per_token, (s.expert_capacity_factor - 1) * _routed_flops,
    cite="lepikhin2021gshard", locator="Sec. 3.2 / Algorithm 1: expert capacity C = 2N/E per "
    "group; the experts run on the [E, G, C, M] dispatched buffer",
    note="c_f = 1 (dropless) adds nothing; MaxText's capacity_factor (maxtext2024moe)")
_disp_eq = Equation(
    s.moe_dispatch_flops_per_token, s.dense_dispatch * s.moe_layers * 2
    * s.dispatch_flops_per_slot * h * s.experts_per_token * s.expert_capacity_factor * S,
    cite="lepikhin2021gshard", locator="Algorithm 2: dispatch einsum GSEC,GSM->EGCM and "
    "combine einsum GSEC,EGCM->GSM",
    note="group = one sequence, E C = c_f k S slots (maxtext2024moe: generate_masks, "
         "dense_matmul); two einsums per MoE layer")
_route_eq = Equation(
    s.moe_routing_flops_per_token, (3 + _rf) * s.moe_padding_flops_per_token
    + (sympy.Rational(5, 2) + _rf) * s.moe_dispatch_flops_per_token,
    cite="lepikhin2021gshard", locator="Algorithm 2 einsums, forward and backward",
    note="padded expert GEMMs: forward + 2x backward (+ recomputation); dispatch and combine: "
         "2 forwards + 3 backwards of the 2 (boolean dispatch mask)")

# the forward passes' share of the step's compute time (no recomputation): the GEMMs, attention
# core, memory-bound kernels, the last stage's LM-head forward and one layer-pass overhead
_forward_time = (_gemm_time((s.forward_flops_per_token - _attn - _head
                             + s.moe_padding_flops_per_token
                             + s.moe_dispatch_flops_per_token) * _tok_dev)
                 + _head_time(_head * _tok_dev)
                 + _attention_time(_attn * _tok_dev)
                 + memory.time_for(m * L / p * (S / c) * b * s.memory_kernel_forward_traffic)
                 + s.head_stage_imbalance * _head_time(_head * _tok_dev * (p - 1))
                 + m * L / p * s.layer_pass_overhead)
# ring attention: K/V (and dK/dV) block-sends of one micro-batch, and the attention compute
# that hides them
_cp_traffic = L / p * 3 * (c - 1) * (
    _cp_lat + s.kv_vectors_per_token * s.kv_heads * s.head_dim * b * S / c * ba / t
    / (_cp_bw * _cp_eta))
_cp_window = _attention_time(_attn_hw * _per_device)
_cp_hidden = m * sympy.Min(_cp_traffic, _cp_window)   # CP traffic hidden, per step
# one compute budget: the data-parallel traffic hides behind the backward (ZeRO-3: and forward)
# time of the micro-batches that reduce, less the attention time there that already hides the
# context-parallel exchange (CP first: the attention kernel waits on its K/V blocks). In time,
# not FLOPs, so added recomputation widens the window by at most its own time.
_n_rs, _n_ag = s.gradient_reduce_passes, s.parameter_gather_passes
_gather_only = sympy.Max(0, _n_ag - _n_rs)
_dp_window = (_n_rs * (s.step_compute_time - _forward_time) + _gather_only * _forward_time) / m
_cp_share = (_n_rs * (2 + ra) + _gather_only) / ((3 + ra) * m)   # its attention in the window
_N, _Z = "narayanan2021megatron", "rajbhandari2020zero"

#: Wall 3's forward FLOPs with the active parameters (MoE); the facade uses it instead of wall 3's
ACTIVE_FORWARD = Equation(s.forward_flops_per_token, fpt * s.active_parameters + _attn
                          - (1 - s.head_token_fraction) * _head_full,
                          cite="chowdhery2022palm", locator="App. B: 2N + 4LHQT per token forward",
                          note="N = parameters a token passes through (active parameters); the "
                               "output layer only on the share f_h of tokens it runs on "
                               "(nvidia2021bertdense: a masked-LM head on the masked positions)")
#: LoRA (Hu et al.): adapter parameters, and wall 3's FLOPs without the frozen weight gradients.
LORA = (
    Equation(s.trainable_parameters, s.lora_rank * s.lora_adapted_width * s.one_parameter,
             cite="hu2022lora", locator="Sec. 4.1: W0 + BA, B: d x r, A: r x k: r (d + k) each"),
    Equation(s.model_flops_per_token, 3 * s.forward_flops_per_token - _frozen, cite="hu2022lora",
             locator="Sec. 4.2: no gradients for the frozen weights (25% faster on GPT-3)"),
    Equation(s.hardware_flops_per_token,
             (3 + s.recomputed_forward_fraction) * s.forward_flops_per_token - _frozen,
             cite="hu2022lora", locator="Sec. 4.2, with recomputation as in wall 3"),
)

WALL = Wall(
    number=0,
    name="Training step",
    domain="fleet",
    summary=("The Iron Law of training: a step is per-device compute plus exposed TP/PP/CP/EP "
             "traffic (or the host's time to issue the operations, when longer), stretched by "
             "the pipeline bubble, plus the data-parallel traffic the "
             "backward cannot hide and the optimizer update; it runs only if weights, gradients, "
             "optimizer state and in-flight activations fit in each device's memory."),
    regime="Megatron-style DP x TP x PP x CP (x EP) decoder training, 1F1B or interleaved; "
           "balanced stages, or an even layer split whose last stage adds the LM head; "
           "balanced experts; alpha-beta collectives (wall 14).",
    equations=(
        Equation(s.devices, t * p * d * c, cite=_N, locator="Sec. 3.1: p t d = n (x c: CP)"),
        Equation(s.nodes, s.devices / g, cite=_N, locator="Sec. 5: 8 GPUs per DGX A100 node"),
        Equation(s.tokens_per_step, s.global_batch * S, cite=_N, locator="Sec. 5.1: B s tokens",
                 note="tokens computed: with a loader that pads each batch to its longest "
                      "sequence (nvidia2021lddl: _to_encoded_inputs, binned loading) S is the "
                      "mean padded length phi_s S_max, padding included; memory holds S_max"),
        Equation(m, s.global_batch / (d * b), cite=_N, locator="Sec. 3.1: m = B / (b d)"),
        Equation(s.pipeline_bubble_fraction, (p - 1) / (v * m + p - 1), cite=_N,
                 locator="Sec. 2.2: bubble / ideal time = (p - 1)/(v m); here / total time"),
        Equation(s.recomputed_forward_fraction, (rd * (fpt * s.active_parameters - _head_full)
                                                 + ro * _op_recomputed_gemm
                                                 + _custom_recomputed_gemm
                                                 + _tiled_head
                                                 + s.recomputed_module_flops
                                                 + ra * _attn) / s.forward_flops_per_token,
                 cite="korthikanti2022recomputation", locator="App. A: selective recomputes the "
                 "2bs^2h + 2bs^2h attention core; full the layers, not the logits (eq. 3)",
                 note="gives 72Bslh^2(1 + 2s/9h + V/12lh) for selective; App. A prints s/3h; "
                      "op-level checkpointing (torchtitan) recomputes every second matmul: k, "
                      "o and the second up- or the down-projection; a placement policy (JAX, "
                      "MaxText custom; nothing_saveable = MaxText full) recomputes the weight "
                      "GEMMs of its recomputed classes only: JAX reruns what the backward "
                      "consumes (jax2024remat), never the down-projection, nor the attention "
                      "projection in a parallel block (their outputs only feed the residual "
                      "add); vocab tiling (maxtext2025vocabtiling) runs the LM head's forward "
                      "again in the backward, chunk by chunk; Megatron-Core's module "
                      "recomputation (--recompute-modules mla_up_proj, mlp: megatron2025"
                      "recompute) re-runs those modules' forward FLOPs F_mod"),
        Equation(s.attention_compute_time, _attention_time(_attn_hw * _tok_dev),
                 cite="dao2023flashattention2", locator="Sec. 4.1: attention reaches a lower "
                 "fraction of peak than GEMMs (forward and backward benchmarks)",
                 note="FP8 runs keep the attention core at the 16-bit rate"),
        Equation(s.elementwise_time, memory.time_for(_elementwise_bytes),
                 cite="williams2009roofline", locator="Sec. 2: memory-bound kernel time = "
                 "DRAM traffic / bandwidth", note="the memory-bound kernels' bytes per token and "
                 "layer (Korthikanti et al. Sec. 4.1 tensors, per kernel set) x the stage's "
                 "layers x the micro-batches' tokens; no overlap with the GEMMs"),
        *memory_kernels.EQUATIONS,
        _pad_eq, _disp_eq, _route_eq,
        Equation(s.step_compute_time, _gemm_time((s.hardware_flops_per_token - _attn_hw
                                                  + s.moe_routing_flops_per_token - _head_hw)
                 * _tok_dev) + _head_time(_head_hw * _tok_dev)
                 + s.attention_compute_time + s.elementwise_time
                 + s.head_stage_imbalance * _head_time(_head_hw * _tok_dev * (p - 1))
                 + m * L / p * (3 + rd) * s.layer_pass_overhead, cite=_N,
                 locator="Sec. 5.1: FLOPs / (n X), split into GEMM, attention and memory-bound "
                 "kernels (Williams et al. ceilings)",
                 note="the GEMMs at the chip's measured matmul ceiling (bekman2024mamf: Maximum "
                      "Achievable Matmul FLOPS, 85.9% of the A100 SXM peak, 80.1% of the H100 "
                      "SXM's), lowered by the step's GEMM shapes (eta_shape: tile and wave "
                      "quantization, nvidia2023matmul Secs. 5.1-5.2), times eta_c; the LM "
                      "head's GEMMs at the peak of the precision it runs in (16-bit under the "
                      "FP8 recipes: Megatron-Core's output_layer is a ColumnParallelLinear "
                      "outside Transformer Engine, megatron2024gptmodel; torchtitan converts "
                      "every nn.Linear but 'output' to Float8Linear, "
                      "pytorch2024torchtitanfloat8); the attention core at FlashAttention's own "
                      "published fraction of the datasheet peak; "
                      "plus a fixed time per layer pass (launch latency; calibrated); the "
                      "pipeline runs at its slowest stage, and with an even layer split the "
                      "last one also runs the LM head: (p - 1)/p of the head's work on top of "
                      "the even share (Llama 3, Sec. 3.3.2, drops a layer from it instead)"),
        Equation(s.host_issue_time, m * L / p * s.host_ops_per_layer * s.host_op_time,
                 cite="yao2025dsv3gb200", locator="Sec. 2: CPU overhead (host boundedness): "
                 "Python, PyTorch dispatch and the CUDA kernel launch per kernel; Sec. 2.3: "
                 "a CUDA graph replays its captured kernels from one launch",
                 note="the stage's L/p layers, m micro-batches, n_h operations each (forward, "
                      "backward, recomputation); the CPU time per operation from trace "
                      "statistics (meta2023hta: 5-20 us per launch on the CPU side)"),
        Equation(s.host_wait_time, _busy - _device_busy,
                 cite="yao2025dsv3gb200", locator="Sec. 2: large gaps between kernels when "
                 "the CPU launch speed cannot keep up with the GPU; Sec. 3.1: the MoE's "
                 "device-host sync (tokens per expert)",
                 note="the busy time's excess over the device's own: max(0, host - device) "
                      "without syncs; with q_h syncs per MoE layer, max(D - n D_s, H - n H_s) "
                      "+ n max(D_s, H_s) - D, n = m L_moe/p q_h syncs, H_s = n_s t_h the "
                      "host's operations after a sync, D_s the routed experts' forward GEMMs "
                      "and all-to-alls it issues (megatron2025moe: sync "
                      "before_ep_alltoall)"),
        Equation(s.tp_comm_time, (1 - s.tensor_parallel_overlap) * m * L / p * (4 + 2 * rd)
                 * ring_allreduce(b * S * h * ba * s.per_token / c, t, _tp_bw, _tp_lat,
                                  _tp_eta),
                 cite=_N, locator="Sec. 3.2: 2 + 2 all-reduces of bsh per layer, 8bsh(t-1)/t",
                 note="full recomputation repeats the forward pair; SP: same bytes; the share "
                      "1 - o_tp not overlapped with the GEMMs is exposed (Transformer Engine "
                      "userbuffers / AsyncTP split each collective with its GEMM)"),
        Equation(s.pp_comm_time, (1 - s.pipeline_parallel_overlap) * m * 2 * v
                 * sympy.Min(1, p - 1)
                 * (_pp_lat + b * S * h * ba * s.per_token / (t * c) / (_pp_bw * _pp_eta)),
                 cite=_N, locator="Sec. 4.1: bsh/t with scatter/gather; Sec. 2.2.2: x v",
                 note="the share 1 - o_pp not overlapped with compute is exposed (Megatron-"
                      "Core overlaps the sends of the interleaved schedule with the next "
                      "chunk's compute)"),
        Equation(s.cp_comm_time, m * sympy.Max(0, _cp_traffic - _cp_window),
                 cite="liu2023ringattention", locator="Sec. 3: K/V blocks rotate over N - 1 "
                 "hosts, hidden when blockwise attention takes longer (both passes)",
                 note="backward rotates K, V and their gradients: 3 block-sends per step"),
        Equation(s.ep_comm_time, (1 - s.expert_parallel_overlap) * m * s.moe_layers / p * 4
                 * ring_reduce_scatter(b * S * s.experts_per_token * s.expert_capacity_factor
                                       * h * ba * s.per_token / (t * c), e, _ep_bw, _ep_lat,
                                       _ep_eta),
                 cite="lepikhin2021gshard", locator="Sec. 3: dispatch and combine are AllToAll "
                 "(forward; the backward repeats both)",
                 note="the share 1 - o_ep not overlapped with compute is exposed (DeepSeek-V3's "
                      "DualPipe overlaps the all-to-alls; Megatron-Core's dispatchers run them "
                      "on the compute stream unless its EP overlap is enabled); a dropping MoE "
                      "sends each expert's capacity buffer, c_f k tokens per token"),
        Equation(s.stage_imbalance_time, (s.stage_layer_imbalance - 1) * _busy,
                 cite="yao2025dsv3gb200", locator="Sec. 1: --pipeline-model-parallel-layout "
                 "Et|(tt|)*30L, 32 virtual stages of 2 layers but the first (embedding and 1) "
                 "and the last (loss)",
                 note="the pipeline runs at the pace of its busiest rank (Narayanan et al. "
                      "Sec. 2.2: every stage waits for the slowest); iota_L = its layers over "
                      "L/p scales the stage's busy time (its layer work; the LM head's and "
                      "embedding's share are taken at the same scale)"),
        Equation(s.pipeline_bubble_time,
                 s.pipeline_bubble_fraction / (1 - s.pipeline_bubble_fraction)
                 * s.stage_layer_imbalance * _busy,
                 cite=_N, locator="eq. (1): (B/(bd) + p - 1)(t_f + t_b) per batch"),
        Equation(s.dp_comm_time, (s.gradient_reduce_passes + s.parameter_gather_passes) * (
            ring_reduce_scatter(_grad_msg, _dp_node, _up, _up_lat)
            + ring_reduce_scatter(_grad_msg / _dp_node, d * c / _dp_node, _out, _out_lat,
                                  _eta_out)),
                 cite=_Z, locator="Sec. 7.2: RS + AG = all-reduce, 2 Psi; "
                 "ZeRO-3 3 Psi", note="hierarchical: intra-node, then per rail (Mikami et al.); "
                 "ZeRO-2/3 keep a gradient shard, so each micro-batch reduce-scatters (and ZeRO-3 "
                 "gathers the weights for each forward and backward): PyTorch FSDP reduce-"
                 "scatters every micro-batch unless no_sync keeps unsharded gradients"),
        Equation(s.dp_exposed_time, sympy.Max(0, s.dp_comm_time - s.dp_overlap
                 * sympy.Max(0, _dp_window - _cp_share * _cp_hidden)),
                 cite="li2020pytorchddp", locator="Sec. 3.2.3: buckets overlap the backward; "
                 "Sec. 3.2.4: no_sync during gradient accumulation",
                 note="the window is the backward (and recomputation) time of each micro-batch "
                      "that reduces (the last one, or all with ZeRO-2/3) and, with ZeRO-3, the "
                      "forwards too: FSDP overlaps each layer's weight all-gather with the "
                      "previous layer's forward (PyTorch FSDP notes, 'FSDP Prefetch Nuances'); "
                      "compute already hiding context-parallel traffic hides nothing else "
                      "(one budget: CP first)"),
        Equation(s.offload_time, 2 * m * L / p * _custom_offloaded * s.sequence_fill
                 / s.host_link_bandwidth,
                 cite="ren2021zerooffload", locator="Sec. 4.1: the CPU-GPU transfers cross "
                 "PCIe, the bottleneck of the offload schedule (same bytes out and back)",
                 note="each micro-batch's offloaded activations go to host memory in the "
                      "forward and come back in the backward (jax2024offloadpolicies: "
                      "save_and_offload_only_these_names, offload_src='device', "
                      "offload_dst='pinned_host')"),
        Equation(s.offload_exposed_time, sympy.Max(0, s.offload_time - s.step_compute_time),
                 cite="ren2021zerooffload", locator="Sec. 4.2: transfers overlap computation "
                 "on separate streams", note="hidden up to the compute time, exposed beyond"),
        Equation(s.optimizer_step_time, memory.time_for(_optimizer_bytes),
                 cite="williams2009roofline", locator="Sec. 2: "
                 "memory-bound kernel time",
                 note="Adam reads gradients and state, writes state and 16-bit weights"),
        Equation(s.training_step_time, _busy + s.stage_imbalance_time
                 + s.pipeline_bubble_time + s.dp_exposed_time
                 + s.offload_exposed_time + s.optimizer_step_time + s.training_step_overhead,
                 cite=_N,
                 locator="eq. (1) plus Sec. 3.2-3.3 traffic",
                 note="plus a fixed per-step overhead (calibrated)"),
        Equation(s.training_step_flops, (s.hardware_flops_per_token
                                         + s.moe_routing_flops_per_token) * _tok_dev, cite=_N,
                 locator="Sec. 5.1: FLOPs per iteration / n devices",
                 note="hardware FLOPs (recomputation included) one device runs per step"),
        Equation(s.training_step_bytes, _elementwise_bytes + _optimizer_bytes,
                 cite="williams2009roofline", locator="Sec. 2: operational intensity = work / "
                 "DRAM traffic", note="the DRAM traffic this model charges to the memory roof: "
                 "the memory-bound kernels and the optimizer update (the GEMMs run at the compute "
                 "roof); the step's roofline operating point is FLOPs / these bytes"),
        Equation(s.scaling_efficiency, s.step_compute_time / s.training_step_time, cite=_N,
                 locator="Sec. 5.1: achieved vs ideal throughput"),
        Equation(s.training_throughput, s.tokens_per_step / s.training_step_time,
                 cite="chowdhery2022palm", locator="App. B: observed tokens per second"),
        Equation(s.time_to_train, s.training_tokens / s.training_throughput, cite=_N,
                 locator="Sec. 5.1: I = T/(B s) iterations, eq. (4)"),
        Equation(s.job_duration, s.time_to_train / s.training_goodput,
                 cite="trivedi2016reliability", locator="availability: useful / wall time"),
        Equation(s.local_parameters, (s.parameters - s.expert_parameters + s.expert_parameters / e)
                 / (t * p), cite=_N, locator="Sec. 3.3: t p model-parallel ranks split the weights",
                 note="routed experts also split over e"),
        Equation(s.weight_memory, s.local_parameters * s.bytes_per_parameter
                 * s.parameter_shard_factor, cite=_Z, locator="Sec. 3.1: 2 Psi; Fig. 1: P_os+g+p"),
        Equation(s.gradient_memory, _trainable_local * s.gradient_bytes_per_parameter
                 * s.gradient_shard_factor, cite=_Z, locator="Sec. 3.1: 2 Psi; Fig. 1: P_os+g"),
        Equation(s.optimizer_memory, _trainable_local * s.optimizer_bytes_per_parameter
                 * s.optimizer_shard_factor, cite=_Z, locator="Sec. 3.1: K Psi (K = 12); Fig. 1"),
        Equation(s.activation_memory, _act_layer * L / p * sympy.Min(p, m) * sympy.Piecewise(
            (1, v <= 1), (1 + (p - 1) / (p * v), True)), cite="korthikanti2022recomputation",
                 locator="Table 2; Sec. 4.2.3: the first stage holds L layers, x (1 + (p-1)/(pm))",
                 note="Table 2's tensors by class (Sec. 4.1): norm inputs, Q/K/V at their widths "
                      "(GQA), the FFN up-projection output(s) at b_a; the four linear layers' "
                      "inputs at b_in (Transformer Engine's FP8 recipe saves their FP8 cast: "
                      "linear.py, _Linear.forward, saved_inputmat / saved_inputmat_t; torchao's "
                      "Float8Linear saves the bf16 input: matmul_with_hp_or_float8_args); "
                      "fractions interpolate; FlashAttention drops 5as/h; CP splits s; "
                      "without dropout (delta = 0) the masks are not stored; op-level "
                      "checkpointing (torchtitan, _custom_policy: 'Saves output of all compute "
                      "ops, except every second mm') keeps the input, the attention output and "
                      "every other matmul output; JAX's checkpoint_dots_with_no_batch_dims "
                      "(MaxText 'minimal', jax2024checkpointpolicies, maxtext2023layers) keeps "
                      "the layer input and the weight-matmul outputs the backward uses: Q, K, "
                      "V, the FFN up-projection(s) and, in a sequential block, the attention "
                      "projection; a parallel block (GPT-J, PaLM) has one norm input and one "
                      "shared linear input"),
        Equation(s.logits_memory, b * _S_max / c * s.head_token_fraction * s.vocabulary / t
                 * s.per_token
                 * s.logits_bytes_per_element / s.loss_vocab_tiles,
                 cite="megatron2024crossentropy",
                 locator="_VocabParallelCrossEntropy.forward: vocab_parallel_logits.float(), "
                         "then exp, normalise and (backward) the gradient in place",
                 note="one micro-batch's [s/c, b, V/t] logits on the last stage; b_l bytes "
                      "each (Megatron-Core 6, an unfused fp32 PyTorch loss 12, XLA's fused "
                      "cross-entropy 4: the 16-bit logits and their gradient, the fp32 chain "
                      "fused or rematerialised, openxla2024rematerialization); vocab tiling "
                      "(maxtext2025vocabtiling: the tokens in n_vt chunks, one chunk's logits "
                      "live at a time, forward and backward) divides them by n_vt"),
        Equation(s.last_stage_activation_memory, _act_layer * L / p + s.logits_memory,
                 cite="narayanan2021megatron", locator="Sec. 2.2.1, Fig. 4: in 1F1B the last "
                 "stage runs each micro-batch's backward right after its forward",
                 note="one micro-batch in flight, plus its logits"),
        Equation(s.recompute_working_memory, (rd + ro + rj + rc) * _act_layer_full,
                 cite="korthikanti2022recomputation", locator="Sec. 4.2: full recomputation "
                 "stores 2sbh per layer and recomputes each layer's forward in the backward",
                 note="the recomputed layer's activations (Table 2, no recomputation) live "
                      "during its backward"),
        Equation(s.parameter_gather_memory, sympy.Piecewise(
            (0, s.parameter_shard_factor >= 1),
            ((2 * s.gathered_bytes_per_parameter + s.gradient_bytes_per_parameter)
             * sympy.Piecewise((sympy.Max(s.largest_weight_tensor / t,
                                          s.largest_expert_tensor / (e * t)),
                                s.gather_per_tensor >= 1),
                               (s.local_parameters * p / L, True)), True)),
                 cite="pytorch2024fsdpnotes", locator="FSDP Prefetch Nuances: the next layer's "
                 "all-gather is issued while the current one computes",
                 note="ZeRO-3: two gathered units and one unit's unreduced gradients; the unit "
                      "is a layer's flat parameter group (PyTorch FSDP) or, in an XLA program, "
                      "one weight tensor (xu2021gspmd, Sec. 3: the partitioner reshards each "
                      "operand where its consumer needs it, so a weight sharded over the data "
                      "axis is all-gathered before the dot that reads it and lives until that "
                      "dot's last use): the largest dense tensor / t (a projection, an FFN "
                      "matrix, the embedding / LM head) or one projection's stacked routed "
                      "experts / (e t)"),
        Equation(s.training_memory, s.weight_memory + s.optimizer_memory
                 + sympy.Max(s.gradient_memory + s.activation_memory
                             + s.recompute_working_memory,
                             s.gradient_memory + s.last_stage_activation_memory
                             - s.logits_memory + s.recompute_working_memory,
                             s.gradients_live_at_loss * s.gradient_memory
                             + s.last_stage_activation_memory)
                 + s.parameter_gather_memory + s.framework_workspace, cite=_Z,
                 locator="Sec. 3: model states + residual states (activations, temporary "
                         "buffers, fragmentation)",
                 note="the peak of the first stage (most micro-batches in flight) or the last "
                      "(the logits); on the last stage the logits and the recomputed layer's "
                      "working set are never live together (chen2016sublinear, Sec. 3: "
                      "buffers whose lifetimes do not overlap share memory): the loss and the "
                      "LM head's backward, the logits' last use, end before the last layer's "
                      "backward (and its recomputation) can start, so the larger of the two "
                      "counts; by the same rule the gradients count at the loss only when they "
                      "already exist there (gamma_l = 1: a persistent buffer, or accumulation "
                      "over micro-batches); a one-micro-batch XLA step (MaxText train_step: "
                      "jax.value_and_grad(loss_fn) in one jitted program, maxtext2023layers) "
                      "creates them in its backward, after the loss"),
        Equation(s.training_memory_utilization, s.training_memory / s.memory_capacity, cite=_Z,
                 locator="Sec. 1: a model trains iff it fits"),
    ),
    constraints=(
        Constraint("training_fits_in_memory", s.training_memory, s.memory_capacity, cite=_Z),
    ),
    references=(_N, "yao2025dsv3gb200", "meta2023hta", "korthikanti2022recomputation", _Z, "ivanov2021datamovement",
                "megatron2023fusions", "dao2022flashattention", "dao2023flashattention2",
                "nvidia2024transformerengine", "pytorch2024torchaofloat8",
                "pytorch2024torchtitan", "jax2024checkpointpolicies", "maxtext2023layers",
                "shah2024flashattention3", "grattafiori2024llama3",
                "pytorch2024fsdpnotes", "liu2023ringattention",
                "lepikhin2021gshard", "li2020pytorchddp", "hu2022lora", "chowdhery2022palm",
                "megatron2024crossentropy", "maxtext2025vocabtiling", "xu2021gspmd",
                "openxla2024rematerialization", "ren2021zerooffload", "chen2016sublinear",
                "jax2024offloadpolicies", "jax2024remat",
                "pcisig2017pcie4", "bekman2024mamf", "nvidia2023matmul",
                "williams2009roofline", "trivedi2016reliability"),
    kind="workload",
)


def equations(mode: str = "full") -> list:
    """Wall 3 (with active-parameter forward FLOPs) + this record (+ LoRA when mode="lora")."""
    if mode not in ("full", "lora"):
        raise ValueError(f"mode must be 'full' or 'lora', got {mode!r}")
    from . import software
    replaced = [ACTIVE_FORWARD] + (list(LORA) if mode == "lora" else [])
    lhs = {eq.lhs for eq in replaced}
    kept = [eq for eq in software.WALL.equations if eq.lhs not in lhs]
    return kept + replaced + list(WALL.equations)
