"""Workload - Encoders and CNNs: one forward pass over a batch of images or sequences.

Bounds: a forward pass without a KV cache is one roofline (walls 1 and 2). Work: a bidirectional
transformer encoder (BERT, ViT) costs 2 FLOPs per weight per token for its dense weights (Kaplan
et al. Table 1, embeddings excluded: a lookup is not a matmul) plus attention: every token
attends to all S tokens (no causal mask), and Q K^T and A V each cost 2 d_attn FLOPs per
(query, key) pair per layer, so 4 L d_attn S^2 per sequence (twice wall 4's causal prefill).
CNNs and ViTs without an architecture in the registry use their published FLOPs (MACs x 2) per
image instead (the three per-sample equations below are then dropped and their symbols become
inputs). Traffic: the dense weights once per batch, plus the activations: executed layer by
layer, each layer's residual stream (d) and FFN intermediate (d_ff) leave the chip once and come
back once; FlashAttention keeps the S x S scores on chip (Dao et al. Sec. 3). Footprint: all
weights plus one layer's live activations per sample, as wall 4. Time: the roofline plus the
fixed overhead of one forward pass (``pass_overhead``: an engine launch and a host
synchronisation per batch), which is not an LLM engine's per-step overhead (scheduling,
sampling, detokenising every step). A framework that runs the network operator by operator
(MXNet, PyTorch eager) adds two costs a compiled engine (TensorRT) fuses away: the
normalisation, activation and residual-add kernels between the convolutions, each reading and
writing whole feature maps (memory-bound, after the convolutions' roofline: Chetlur et al.
Sec. 1, a framework calls the library layer by layer; TensorRT's layer fusion folds them into
the convolution), and the host's issue of every operator (the training host model's CPU time
per operation): the device waits when the host is slower (small batches).

Regime of validity: one accelerator, one batch of equal-size samples, dense (not sparse)
kernels, layer-by-layer execution without cross-layer fusion; for CNNs the activation traffic
given is the compulsory input tensor (a lower bound: the roofline's compulsory traffic).

References
----------
Kaplan et al., "Scaling Laws for Neural Language Models", 2020, Table 1.
Devlin et al., "BERT", NAACL 2019, Sec. 3 (architecture).
Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021, Table 1 (ViT sizes).
He et al., "Deep Residual Learning for Image Recognition", CVPR 2016, Table 1 (FLOPs).
Williams, Waterman, Patterson, "Roofline", CACM 52(4), 2009.
Dao et al., "FlashAttention", NeurIPS 2022.
Chetlur et al., "cuDNN: Efficient Primitives for Deep Learning", 2014.
NVIDIA, TensorRT Developer Guide, Best Practices: Layer Fusion.
Yao et al., DeepSeek-V3 on GB200 (NVIDIA), 2025, Sec. 2 (host-bound launches).
"""

import sympy

from .. import symbols as s
from . import compute, memory
from .base import Constraint, Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("devlin2019bert", "Devlin, Jacob and Chang, Ming-Wei and Lee, Kenton and "
              "Toutanova, Kristina", "BERT: Pre-training of Deep Bidirectional Transformers for "
              "Language Understanding", "Proceedings of NAACL-HLT 2019", 2019,
              doi="10.18653/v1/N19-1423", kind="inproceedings"),
    Reference("dosovitskiy2021vit", "Dosovitskiy, Alexey and Beyer, Lucas and Kolesnikov, "
              "Alexander and others", "An Image is Worth 16x16 Words: Transformers for Image "
              "Recognition at Scale", "Proceedings of ICLR 2021", 2021,
              url="https://arxiv.org/abs/2010.11929", kind="inproceedings"),
    Reference("chetlur2014cudnn", "Chetlur, Sharan and Woolley, Cliff and Vandermersch, "
              "Philippe and Cohen, Jonathan and Tran, John and Catanzaro, Bryan and Shelhamer, "
              "Evan", "cuDNN: Efficient Primitives for Deep Learning", "arXiv:1410.0759", 2014,
              url="https://arxiv.org/abs/1410.0759", kind="misc"),
    Reference("nvidia2024tensorrtbp", "NVIDIA", "TensorRT Developer Guide: Best Practices, "
              "Layer Fusion (convolution and ReLU, bias, batch normalisation and element-wise "
              "additions fused into one kernel)", "NVIDIA documentation", 2024,
              url="https://docs.nvidia.com/deeplearning/tensorrt/developer-guide/"
              "index.html#fusion-types", kind="misc"),
    Reference("he2016resnet", "He, Kaiming and Zhang, Xiangyu and Ren, Shaoqing and Sun, Jian",
              "Deep Residual Learning for Image Recognition", "Proceedings of CVPR 2016", 2016,
              doi="10.1109/CVPR.2016.90", kind="inproceedings"),
)

_S = s.encoder_sequence_length
_device_busy = (sympy.Max(s.encoder_compute_time, s.encoder_memory_time, evaluate=False)
                + s.encoder_unfused_time)
_live_width = (s.hidden + s.ffn_width) * s.activation_bytes_per_element * s.per_token

# The three per-sample equations derive work and activations from a transformer architecture;
# models known only by published FLOPs (CNNs, ViTs without architecture) drop them.
PER_SAMPLE = ("encoder_sample_flops", "encoder_sample_activation_traffic",
              "encoder_sample_activation_bytes")

WALL = Wall(
    number=0,
    name="Encoders",
    domain="workload",
    summary=(
        "A transformer encoder or CNN forward pass is one roofline: 2 FLOPs per dense weight per "
        "token (or the published FLOPs of a CNN) plus bidirectional attention over all token "
        "pairs, against the weights read once per batch plus the activations each layer writes "
        "and reads back. Small batches stream weights (memory-bound), large ones are "
        "compute-bound; images or sequences per second is the batch over the pass time."
    ),
    regime="One accelerator, equal-size samples, layer-by-layer execution, FlashAttention-style "
           "attention; CNN activation traffic is the compulsory input (a lower bound).",
    equations=(
        Equation(s.encoder_sample_flops,
                 s.flops_per_parameter_token * s.encoder_dense_parameters * _S
                 + 2 * s.attention_flops_per_pair * s.layers * s.heads * s.head_dim * _S ** 2,
                 cite="kaplan2020scaling",
                 locator="Table 1: C_forward = 2N + 2 n_layer n_ctx d_attn per token",
                 note="bidirectional: each token attends to all S keys (Kaplan's causal count "
                      "averages S/2), so Q K^T and A V give 4 L d_attn S^2 per sequence"),
        Equation(s.encoder_sample_activation_traffic,
                 s.encoder_activation_passes * s.layers * _S * _live_width,
                 cite="dao2022flashattention", locator="Sec. 3: attention scores stay on chip; "
                 "layer outputs go through HBM",
                 note="residual stream + FFN intermediate written and read once per layer (ours)"),
        Equation(s.encoder_sample_activation_bytes, _S * _live_width,
                 cite="dao2022flashattention", locator="Sec. 3: the S x S matrix is not stored"),
        Equation(s.weight_bytes, s.parameters * s.bytes_per_parameter, cite="pope2023inference",
                 locator="Sec. 2.1, memory costs: weights"),
        Equation(s.encoder_flops, s.batch * s.encoder_sample_flops, cite="he2016resnet",
                 locator="Table 1: FLOPs per image (multiply-adds; x 2 in FLOP)"),
        Equation(s.encoder_bytes,
                 s.encoder_dense_parameters * s.bytes_per_parameter
                 + s.batch * s.encoder_sample_activation_traffic, cite="williams2009roofline",
                 locator="Sec. 2: DRAM traffic after cache filtering (weights once per batch)",
                 note="embedding tables are looked up, not streamed: only dense weights count"),
        Equation(s.encoder_compute_time, compute.time_for(s.encoder_flops),
                 cite="williams2009roofline", locator="compute roof (wall 1)"),
        Equation(s.encoder_memory_time, memory.time_for(s.encoder_bytes),
                 cite="williams2009roofline", locator="memory roof (wall 2)"),
        Equation(s.encoder_unfused_time,
                 memory.time_for(s.batch * s.encoder_sample_unfused_elements
                                 * s.activation_bytes_per_element),
                 cite="chetlur2014cudnn", locator="Sec. 1: a framework calls the library one "
                 "layer (operator) at a time",
                 note="an eager framework runs batch normalisation, ReLU and the residual add as "
                      "kernels of their own, each reading and writing whole feature maps between "
                      "the convolutions (memory-bound, one after another: added to the "
                      "convolutions' roofline, not hidden behind it); a compiled engine fuses "
                      "them into the convolution epilogue, 0 (nvidia2024tensorrtbp: Layer Fusion)"),
        Equation(s.encoder_host_wait_time,
                 sympy.Max(0, s.encoder_host_ops * s.host_op_time - _device_busy),
                 cite="yao2025dsv3gb200", locator="Sec. 2: large gaps between kernels when the "
                 "CPU launch speed cannot keep up with the GPU",
                 note="the host issues the pass's operators one by one (Python, framework "
                      "dispatch, kernel launch: t_h each, the training host model's CPU time "
                      "per operation); the device waits for the excess over its own busy time "
                      "(small batches of an eager framework are host-bound)"),
        Equation(s.encoder_latency, memory.roofline(s.encoder_compute_time, s.encoder_memory_time,
                                                    overhead=s.pass_overhead)
                 + s.encoder_unfused_time + s.encoder_host_wait_time,
                 cite="williams2009roofline", locator="Fig. 1: attainable = min(peak, "
                 "intensity x bandwidth)",
                 note="plus the fixed overhead of one forward pass T_0,pass (the engine's launch "
                      "and one host synchronisation per batch; calibrated on the CNN / encoder "
                      "rows, not an LLM engine's per-step scheduling overhead), an eager "
                      "framework's unfused memory-bound kernels and the host's wait",
                 branches={s.encoder_compute_time: "Compute", s.encoder_memory_time: "Memory"}),
        Equation(s.encoder_throughput, s.batch * s.samples_per_batch_element / s.encoder_latency,
                 cite="pope2023inference", locator="Sec. 2: throughput = samples of a batch per "
                 "batch latency"),
        Equation(s.encoder_memory_footprint,
                 s.weight_bytes + s.batch * s.encoder_sample_activation_bytes,
                 cite="pope2023inference", locator="Sec. 2.1, memory costs"),
        Equation(s.encoder_memory_utilization, s.encoder_memory_footprint / s.memory_capacity,
                 cite="pope2023inference", locator="Sec. 2.1: weights and activations must fit"),
    ),
    constraints=(
        Constraint("encoder_fits_in_memory", s.encoder_memory_footprint, s.memory_capacity,
                   cite="pope2023inference", kind="capacity"),
    ),
    references=("chetlur2014cudnn", "nvidia2024tensorrtbp", "yao2025dsv3gb200",
                "kaplan2020scaling", "devlin2019bert", "dosovitskiy2021vit", "he2016resnet",
                "williams2009roofline", "dao2022flashattention", "pope2023inference"),
    kind="workload",
)
