"""Wall 20 - Safety: the time and memory differential privacy (DP-SGD) adds to training.

Bounds: DP-SGD (Abadi et al. 2016, Algorithm 1) bounds each example's influence: it computes the
gradient of every example separately, clips it to norm C, sums the clipped gradients over a lot
of L examples and adds Gaussian noise N(0, sigma^2 C^2 I). Three costs follow.

1. Memory. Vectorised implementations (Opacus: per-layer hooks fill a ``grad_sample`` tensor of
   shape [B, *param.shape]) materialise B x P per-sample gradients: memory proportional to the
   batch size times the trainable parameters (Ullah et al. 2024). Ghost clipping (Li et al.
   2022) computes the norms without materialising them; with it, set the gradient bytes to zero.
2. Clipping work. Per parameter and sample: norm (square, add: 2 FLOPs), scale (1), sum into the
   lot (1): 4 B P FLOPs. The per-sample gradients are written once by the hooks and read twice
   (norms, then clip and accumulate; Opacus documentation, Gradient Clipping): 3 B P b_g bytes.
   At 4 / (3 b_g) FLOP/B (0.33 for fp32, 0.67 for bf16 gradients) this is far below every
   accelerator's ridge point, so the memory roof binds; the roofline still decides.
3. Larger batches. DP-SGD needs larger lots than non-private training (noise shrinks relative
   to the summed signal as the lot grows); a lot of k physical batches makes each optimizer step
   k times longer (virtual steps). The training-time multiplier for the same number of steps is
   M = k x s, with s the per-batch slowdown.

The analytic slowdown 1 + T_clip / T_step is a lower bound: per-sample weight gradients are also
less efficient kernels than the batched GEMM they replace. That residual is empirical: the
measured per-epoch slowdown of an implementation over non-private training at equal batch size
(Yousefpour et al. 2021, Sec. 3 benchmarks of Opacus vs PyTorch; DP-SGD overheads "may be as
large as two orders of magnitude", Subramani et al. 2021, abstract). The step slowdown is the
larger of the two.

Regime of validity: DP-SGD with per-example clipping on one device (or a data-parallel replica);
noise generation (P Gaussian draws per step) and privacy accounting neglected; the non-private
step time comes from walls 1-2 (or is given).

References
----------
Abadi et al., "Deep Learning with Differential Privacy", CCS 2016, Algorithm 1.
Yousefpour et al., "Opacus: User-Friendly Differential Privacy Library in PyTorch",
arXiv:2109.12298, 2021.
Subramani, Vadivelu, Kamath, "Enabling Fast Differentially Private SGD via Just-in-Time
Compilation and Vectorization", NeurIPS 2021.
Opacus API documentation, "Gradient Clipping" (per_sample_gradient_clip).
Ullah, Zhang, Bullock, Mironov, "Enabling Fast Gradient Clipping and Ghost Clipping in Opacus",
PyTorch blog, 2024.
Li, Tramer, Liang, Hashimoto, "Large Language Models Can Be Strong Differentially Private
Learners", ICLR 2022.
"""

import sympy

from .. import symbols as s
from . import compute, memory
from .base import Constraint, Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("abadi2016dpsgd", "Abadi, Mart{\\'\\i}n and Chu, Andy and Goodfellow, Ian and "
              "McMahan, H. Brendan and Mironov, Ilya and Talwar, Kunal and Zhang, Li",
              "Deep Learning with Differential Privacy", "Proceedings of ACM CCS 2016", 2016,
              doi="10.1145/2976749.2978318", kind="inproceedings"),
    Reference("yousefpour2021opacus", "Yousefpour, Ashkan and Shilov, Igor and Sablayrolles, "
              "Alexandre and others", "Opacus: User-Friendly Differential Privacy Library in "
              "PyTorch", "arXiv:2109.12298", 2021, url="https://arxiv.org/abs/2109.12298",
              kind="misc"),
    Reference("subramani2021fastdp", "Subramani, Pranav and Vadivelu, Nicholas and Kamath, Gautam",
              "Enabling Fast Differentially Private SGD via Just-in-Time Compilation and "
              "Vectorization", "Advances in NeurIPS 34", 2021,
              url="https://arxiv.org/abs/2010.09063", kind="inproceedings"),
    Reference("opacus_docs_clipping", "Opacus contributors",
              "Gradient Clipping (opacus.per_sample_gradient_clip)", "Opacus API documentation",
              2021, url="https://opacus.ai/api/per_sample_gradient_clip.html", kind="misc"),
    Reference("ullah2024ghostclipping", "Ullah, Enayat and Zhang, Huanyu and Bullock, Will and "
              "Mironov, Ilya", "Enabling Fast Gradient Clipping and Ghost Clipping in Opacus",
              "PyTorch blog", 2024, url="https://pytorch.org/blog/clipping-in-opacus/",
              kind="misc"),
    Reference("li2022dpllm", "Li, Xuechen and Tram{\\`e}r, Florian and Liang, Percy and Hashimoto, "
              "Tatsunori", "Large Language Models Can Be Strong Differentially Private Learners",
              "Proceedings of ICLR 2022", 2022, url="https://arxiv.org/abs/2110.05679",
              kind="inproceedings"),
)

WALL = Wall(
    number=20,
    name="Safety",
    domain="ops",
    summary=(
        "Differentially private training (DP-SGD) clips every example's gradient before summing "
        "and adds noise. Materialising per-sample gradients costs batch x parameters bytes of "
        "memory and three memory passes per step, DP needs larger batches, and per-sample kernels "
        "are slower than batched ones: the training-time multiplier is the batch multiplier "
        "times the per-step slowdown, always at least 1."
    ),
    regime="DP-SGD with per-example clipping and Gaussian noise on one device or data-parallel "
           "replica; per-sample gradients materialised (vectorised hooks) unless ghost clipping "
           "zeroes their bytes; noise generation and accounting neglected.",
    equations=(
        Equation(s.per_sample_gradient_bytes,
                 s.batch * s.parameters * s.gradient_bytes_per_parameter,
                 cite="ullah2024ghostclipping",
                 locator="Introduction: per-sample gradient memory is proportional to batch size "
                         "x trainable parameters"),
        Equation(s.dp_clipping_flops, s.clip_flops_per_parameter * s.batch * s.parameters,
                 cite="abadi2016dpsgd",
                 locator="Algorithm 1: clip g_t(x_i) / max(1, ||g_t(x_i)||_2 / C), then sum over "
                         "the lot"),
        Equation(s.dp_clipping_bytes, s.per_sample_gradient_passes * s.per_sample_gradient_bytes,
                 cite="opacus_docs_clipping",
                 locator="grad_sample of shape [B, m, n] computed for all layers, then 'in a "
                         "second pass' clipped and accumulated into .grad"),
        Equation(s.dp_clipping_compute_time, compute.time_for(s.dp_clipping_flops),
                 cite="williams2009roofline", locator="compute roof (wall 1)"),
        Equation(s.dp_clipping_memory_time, memory.time_for(s.dp_clipping_bytes),
                 cite="williams2009roofline", locator="memory roof (wall 2)"),
        Equation(s.dp_clipping_time,
                 sympy.Max(s.dp_clipping_compute_time, s.dp_clipping_memory_time),
                 cite="williams2009roofline", locator="Fig. 1: attainable = min(peak, I x BW)",
                 branches={s.dp_clipping_compute_time: "Compute",
                           s.dp_clipping_memory_time: "Memory"}),
        Equation(s.dp_clipping_slowdown, 1 + s.dp_clipping_time / s.step_time,
                 cite="yousefpour2021opacus",
                 locator="Sec. 3 (benchmarks): DP runtime relative to non-private PyTorch at "
                         "equal batch size",
                 note="analytic lower bound: clipping added to the non-private step"),
        Equation(s.dp_step_slowdown, sympy.Max(s.dp_clipping_slowdown, s.dp_measured_slowdown),
                 cite="yousefpour2021opacus",
                 locator="Sec. 3 (benchmarks): measured per-epoch DP / non-DP runtime",
                 branches={s.dp_clipping_slowdown: "Safety", s.dp_measured_slowdown: "Software"},
                 note="the measured slowdown includes per-sample kernel inefficiency; it cannot "
                      "be below the clipping bound"),
        Equation(s.dp_step_time, s.dp_batch_multiplier * s.dp_step_slowdown * s.step_time,
                 cite="abadi2016dpsgd",
                 locator="Algorithm 1 and Sec. 3.1: one step per lot of L examples (L larger than "
                         "a non-private batch), processed as k physical batches"),
        Equation(s.dp_time_multiplier, s.dp_step_time / s.step_time, cite="abadi2016dpsgd",
                 locator="Algorithm 1: T steps, each over a lot; same step count as non-private"),
    ),
    constraints=(
        Constraint("per_sample_gradients_fit", s.memory_footprint + s.per_sample_gradient_bytes,
                   s.memory_capacity, cite="ullah2024ghostclipping", kind="capacity",
                   locator="Introduction: per-sample gradient memory limits Opacus to small "
                           "batches and/or small models"),
    ),
    references=("abadi2016dpsgd", "yousefpour2021opacus", "opacus_docs_clipping",
                "subramani2021fastdp",
                "ullah2024ghostclipping", "li2022dpllm", "williams2009roofline"),
)
