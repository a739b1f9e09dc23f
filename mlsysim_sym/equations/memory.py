"""Wall 2 - Memory: bandwidth time, capacity, and the roofline step time.

Bounds: a step cannot finish faster than its bytes moved divided by the achieved memory
bandwidth; a workload runs at all only if its resident bytes fit in memory. The roofline step
time is the slower of the compute (wall 1) and memory times plus a fixed overhead; the argument
of the Max that is larger names the binding wall.

Regime of validity: one accelerator with one main memory tier (HBM/DRAM); compute and memory
traffic fully overlapped (hence Max, not a sum); caches ignored (bytes are main-memory traffic).

References
----------
Williams, Waterman, Patterson, "Roofline", CACM 52(4), 2009.
Pope et al., "Efficiently Scaling Transformer Inference", MLSys 2023 (capacity).
"""

import sympy

from ..symbols import (bytes_moved, compute_time, fixed_overhead, memory_bandwidth,
                       memory_capacity, memory_efficiency, memory_footprint, memory_time,
                       memory_utilization, step_time)
from .base import Constraint, Equation, Wall


def time_for(traffic):
    """Memory-roof time of ``traffic`` bytes: ``traffic / (bandwidth x efficiency)``."""
    return traffic / (memory_bandwidth * memory_efficiency)


def roofline(compute, memory, unoverlapped=None, overhead=fixed_overhead):
    """Roofline step time: ``Max(compute, memory) + fixed overhead``; with ``unoverlapped``
    (a fraction phi), ``Max + phi Min``: the share phi of the shorter roof that the kernels do
    not hide behind the longer one (phi = 0 is the classic roofline, phi = 1 no overlap).
    ``overhead``: the step's fixed overhead (an LLM engine's per-step ``fixed_overhead``; a
    CNN / encoder forward pass's ``pass_overhead``)."""
    top = sympy.Max(compute, memory, evaluate=False)
    if unoverlapped is None:
        return top + overhead
    return top + unoverlapped * sympy.Min(compute, memory, evaluate=False) + overhead


WALL = Wall(
    number=2,
    name="Memory",
    domain="node",
    summary=(
        "Every byte a step reads or writes crosses the memory interface at the achieved "
        "bandwidth, and everything resident must fit in capacity. With compute and traffic "
        "overlapped, the step takes the larger of the compute and memory times (the roofline) "
        "plus a fixed overhead; the larger term is the binding wall."
    ),
    regime="One accelerator, one main memory tier, perfect compute/traffic overlap; caches and "
           "on-chip reuse are folded into the byte count.",
    equations=(
        Equation(memory_time, time_for(bytes_moved), cite="williams2009roofline",
                 locator="Sec. 2, attainable performance bounded by peak memory bandwidth"),
        Equation(step_time, roofline(compute_time, memory_time), cite="williams2009roofline",
                 locator="Fig. 1, attainable = min(peak, intensity x bandwidth)",
                 branches={compute_time: "Compute", memory_time: "Memory"},
                 note="the fixed overhead term is ours: launch and scheduling time that neither "
                      "roof covers"),
        Equation(memory_utilization, memory_footprint / memory_capacity,
                 cite="pope2023inference",
                 locator="Sec. 2.1: weights and KV cache must fit in the chips' memory"),
    ),
    constraints=(
        Constraint("fits_in_memory", memory_footprint, memory_capacity,
                   cite="pope2023inference", kind="capacity"),
    ),
    references=("williams2009roofline", "pope2023inference"),
)
