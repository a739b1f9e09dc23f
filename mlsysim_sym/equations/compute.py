"""Wall 1 - Compute: the time a step's floating-point work takes at the achieved compute rate.

Bounds: peak dense FLOP/s of one accelerator at the chosen precision, derated by the achieved
fraction of peak (``compute_efficiency``; wall 3 decomposes it). A weight GEMM cannot run faster
than the best-shaped GEMM the chip sustains: its datasheet peak times the measured matmul ceiling
kappa_mm (Maximum Achievable Matmul FLOPS / peak, Bekman: the clocks a chip holds under
tensor-core load at its power limit, 0.80 of an H100 SXM's peak, 0.60 of an MI300X's), so GEMM
time is work / (peak kappa_mm eta_c) (:func:`gemm_time`), with eta_c then the fraction of that
ceiling the kernels reach; training and serving both charge their weight GEMMs this way.

Regime of validity: one accelerator executing a known FLOP count; FLOPs are the algorithmic
count (multiply + add = 2 FLOPs), so work that the kernels do not perform (masked attention
blocks skipped, sparsity) must be removed from the count, not from the efficiency.

References
----------
Williams, Waterman, Patterson, "Roofline", CACM 52(4), 2009 (the compute roof).
Bekman, "Machine Learning Engineering Open Book", Maximum Achievable Matmul FLOPS table.
"""

from ..symbols import compute_efficiency, compute_time, flops, matmul_ceiling, peak_flops
from .base import Equation, Wall
from .references import Reference, add_all

add_all(Reference("bekman2024mamf", "Bekman, Stas", "Machine Learning Engineering Open Book: "
                  "compute/accelerator, Maximum Achievable Matmul FLOPS comparison table (BF16 "
                  "matmul, best shape of mamf-finder.py: A100 SXM 85.9%, H100 SXM 80.1%, MI300X "
                  "60.1% of peak)", "GitHub repository stas00/ml-engineering", 2024,
                  url="https://github.com/stas00/ml-engineering/tree/master/compute/accelerator",
                  kind="misc"))


def time_for(work):
    """Compute-roof time of ``work`` FLOPs: ``work / (peak x efficiency)``."""
    return work / (peak_flops * compute_efficiency)


def gemm_time(work):
    """Compute time of ``work`` weight-GEMM FLOPs: wall 1's roof lowered to the best-shaped
    GEMM's measured rate (peak x kappa_mm: the clocks the chip holds under tensor-core load at
    its power limit; Bekman's Maximum Achievable Matmul FLOPS), then the achieved fraction of
    that rate: ``work / (peak x kappa_mm x efficiency)``. kappa_mm = 1 (no measured ceiling) is
    :func:`time_for`."""
    return time_for(work) / matmul_ceiling


WALL = Wall(
    number=1,
    name="Compute",
    domain="node",
    summary=(
        "A step cannot finish faster than its floating-point work divided by the rate the chip "
        "achieves: the peak dense FLOP/s at the chosen precision times the achieved fraction of "
        "that peak. This is the flat roof of the roofline."
    ),
    regime="Any single-accelerator step whose FLOP count is known and whose kernels run at a "
           "steady achieved rate; excludes launch overhead (wall 2's fixed term).",
    equations=(
        Equation(compute_time, time_for(flops), cite="williams2009roofline",
                 locator="Sec. 2, attainable performance bounded by peak floating-point performance"),
    ),
    references=("williams2009roofline",),
)
