"""Wall 13 - Fidelity: quantization and structured sparsity as fewer bytes and FLOPs.

Bounds: compression changes what the roofline sees, never the speedup directly. Weights stored
at q_w bits with one q_s-bit scale (and zero point) per group of g_q weights cost
q_w + q_s / g_q bits each (INT4-g128 with an fp16 scale and an fp16 zero: 4 + 32/128 = 4.25;
with the zero packed as 4 bits, as AutoGPTQ and llm-awq store it, 4 + 20/128 = 4.16).
With 2:4 structured sparsity half the weights are kept, each with a 2-bit position index
(Mishra et al.): delta_w (q_w + q_i) bits per dense weight, fp16 -> 0.5 x 18 = 9 bits. This is
``bytes_per_parameter`` of wall 4, so decode time falls through the memory roof.
Compute: weight-only quantization (W4A16) dequantizes to the activation precision, so the
matmuls run at that precision's peak (unchanged); weight+activation quantization (W8A8) runs at
the low-precision peak. Sparse tensor cores execute only the kept multiply-adds (a fraction
delta_m of the dense count), which for a dense FLOP count is a peak of R_prec / delta_m (the
"with sparsity" figure of vendor datasheets). This is ``peak_flops`` of wall 1. So int4
weight-only speeds up memory-bound decode by about 16 / 4.25 and leaves compute-bound prefill
unchanged; W8A8 also speeds up prefill.

Accuracy is not modelled (no law relates bits to loss across models); the cited ranges in
:data:`ACCURACY_DELTAS` bound what compression has cost in published evaluations.

Regime of validity: weight-streaming decode and dense GEMMs; dequantization and sparse-index
overheads of the kernels go into compute/memory efficiency; KV-cache and activation precision
are wall 4's kv_bytes_per_element and activation_bytes_per_element.

References
----------
Gholami et al., "A Survey of Quantization Methods for Efficient Neural Network Inference", 2021.
Frantar, Ashkboos, Hoefler, Alistarh, "GPTQ", ICLR 2023.
Lin et al., "AWQ: Activation-aware Weight Quantization for LLM Compression and Acceleration",
MLSys 2024.
Mishra et al., "Accelerating Sparse Deep Neural Networks", arXiv:2104.08378, 2021.
Williams, Waterman, Patterson, "Roofline", CACM 52(4), 2009.
"""

from .. import symbols as s
from .base import Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("gholami2021quantsurvey", "Gholami, Amir and Kim, Sehoon and Dong, Zhen and others",
              "A Survey of Quantization Methods for Efficient Neural Network Inference",
              "arXiv:2103.13630", 2021, url="https://arxiv.org/abs/2103.13630", kind="misc"),
    Reference("frantar2023gptq", "Frantar, Elias and Ashkboos, Saleh and Hoefler, Torsten and "
              "Alistarh, Dan", "GPTQ: Accurate Post-Training Quantization for Generative "
              "Pre-trained Transformers", "Proceedings of ICLR 2023", 2023,
              url="https://arxiv.org/abs/2210.17323", kind="inproceedings"),
    Reference("lin2024awq", "Lin, Ji and Tang, Jiaming and Tang, Haotian and others",
              "AWQ: Activation-aware Weight Quantization for LLM Compression and Acceleration",
              "Proceedings of MLSys 2024", 2024, url="https://arxiv.org/abs/2306.00978",
              kind="inproceedings"),
    Reference("mishra2021sparse", "Mishra, Asit and Latorre, Jorge Albericio and Pool, Jeff and "
              "others", "Accelerating Sparse Deep Neural Networks", "arXiv:2104.08378", 2021,
              url="https://arxiv.org/abs/2104.08378", kind="misc"),
)

#: Published accuracy costs of compression (WikiText-2 perplexity, lower is better), as cited
#: ranges; the model does not predict accuracy.
ACCURACY_DELTAS = {
    "awq_int4_g128_llama2": dict(
        source="Lin et al. 2024 (AWQ), Table 4", metric="WikiText-2 perplexity",
        models=("Llama-2-7B", "Llama-2-13B", "Llama-2-70B"),
        fp16=(5.47, 4.88, 3.32), quantized=(5.60, 4.97, 3.41)),
    "gptq_opt175b": dict(
        source="Frantar et al. 2023 (GPTQ), Table 3", metric="WikiText-2 perplexity",
        models=("OPT-175B",), fp16=(8.34,), int4=(8.37,), int3=(8.68,)),
    "sparse_2to4": dict(
        source="Mishra et al. 2021, Sec. 4 results", metric="task accuracy",
        summary="2:4 sparse networks fine-tuned with their recipe keep the dense accuracy "
                "across the vision, detection, segmentation, translation and language tasks "
                "they evaluate"),
}

WALL = Wall(
    number=13,
    name="Fidelity",
    domain="algorithm",
    summary=(
        "Compression trades fidelity for bytes and FLOPs: quantized weights cost their code bits "
        "plus per-group scales, 2:4 sparsity stores half the weights plus indices and lets sparse "
        "tensor cores skip half the multiply-adds. The roofline turns these into time, so "
        "low-bit weights speed up memory-bound decode, while compute-bound work speeds up only "
        "when the arithmetic itself runs at lower precision or sparsely."
    ),
    regime="Weight-streaming decode and dense GEMMs; kernel overheads of dequantization and "
           "sparse indexing folded into the efficiencies; accuracy only as cited ranges.",
    equations=(
        Equation(s.bytes_per_parameter,
                 s.weight_density * (s.weight_bits_per_parameter + s.sparsity_index_bits)
                 + s.quantization_scale_bits / s.quantization_group_size,
                 cite="lin2024awq",
                 locator="Table 4 'INT4-g128': 4-bit weights, one scale per group of 128",
                 note="2:4 storage (kept values + 2-bit indices) from Mishra et al."),
        Equation(s.peak_flops, s.precision_peak_flops / s.math_density,
                 cite="mishra2021sparse",
                 locator="Sparse Tensor Cores: 2:4 sparsity doubles math throughput",
                 note="the roofline divides dense FLOPs by this: executed FLOPs = delta_m x dense"),
        Equation(s.compression_ratio, s.baseline_bits_per_parameter / s.bytes_per_parameter,
                 cite="gholami2021quantsurvey",
                 locator="memory footprint of b-bit vs 32-bit floating-point storage, 32/b"),
    ),
    references=("gholami2021quantsurvey", "frantar2023gptq", "lin2024awq", "mishra2021sparse",
                "williams2009roofline"),
)
