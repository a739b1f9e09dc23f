"""Wall 6 - Streaming: weights fed layer by layer into a wafer-scale chip.

Bounds: a chip with no off-chip DRAM of its own (the Cerebras wafer-scale engine: tens of GB of
SRAM, PB/s of on-chip bandwidth) either holds the whole model in SRAM (layer-pipelined
execution) or keeps the activations on the wafer and streams the weights in, one layer at a
time, from an external parameter store (MemoryX) over the system I/O (weight streaming). The
streaming of layer l+1 overlaps the compute of layer l, so a layer takes

    T_layer = max(W_layer / (peak x eta_c), M_w,layer / B_w),

the roofline (Williams et al.) with the weight feed in place of DRAM, and a pass over the model
takes L x T_layer. The weight feed B_w is the on-chip SRAM bandwidth when the weights fit in
SRAM (M_w <= M_SRAM) and the injection bandwidth when they do not (a Piecewise on capacity).
Streaming needs one layer's weights and the live activations on the wafer (a capacity
constraint). Because the injection link is orders of magnitude slower than SRAM (1.2 Tbit/s vs
21 PB/s on a CS-3), a streamed model is compute-bound only when a pass does enough FLOPs per
weight byte: many tokens per pass (large batch x sequence), the wafer's analogue of batching.

Regime of validity: uniform layers (FLOPs and weights split evenly over L), weight feed fully
overlapped with compute (the parameter store keeps up with the link, as Cerebras states; the
first layer's load is not hidden and is neglected), activations resident on the wafer. For
training, each of the forward and backward passes streams the weights once (gradients stream
out the other direction of the full-duplex link), so apply the wall per pass. A Piecewise, not a
Max, chooses the regime: more SRAM is never slower as long as the SRAM bandwidth exceeds the
injection bandwidth, which holds for every wafer-scale part.

References
----------
Cerebras Systems, "Cerebras execution modes" (weight streaming; layer pipelined) and
"Glossary: MemoryX", Cerebras developer documentation.
Lie, "Cerebras Architecture Deep Dive: First Look Inside the HW/SW Co-Design for Deep Learning",
Hot Chips 34, 2022 (IEEE Micro 43(3), 2023).
Williams, Waterman, Patterson, "Roofline", CACM 52(4), 2009.
"""

import sympy

from .. import symbols as s
from . import compute
from .base import Constraint, Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("cerebras2023executionmodes", "Cerebras Systems",
              "Cerebras Execution Modes: Weight Streaming and Layer Pipelined Execution",
              "Cerebras developer documentation", 2023,
              url="https://docs.cerebras.net/en/latest/wsc/cerebras-basics/"
                  "cerebras-execution-modes.html", kind="misc"),
    Reference("lie2022cerebras", "Lie, Sean",
              "Cerebras Architecture Deep Dive: First Look Inside the HW/SW Co-Design for Deep "
              "Learning", "Hot Chips 34 (IEEE Micro 43(3), 2023)", 2022,
              url="https://www.cerebras.net/blog/cerebras-architecture-deep-dive-first-look-"
                  "inside-the-hw/sw-co-design-for-deep-learning", kind="misc"),
)

WALL = Wall(
    number=6,
    name="Streaming",
    domain="node",
    summary=(
        "A wafer-scale chip keeps activations in SRAM and, when the model does not fit, streams "
        "the weights in layer by layer over its injection link; each layer then takes the "
        "longer of its compute and its weight transfer, so the injection bandwidth replaces "
        "HBM bandwidth as the memory roof unless a pass does enough FLOPs per weight byte."
    ),
    regime="Uniform layers; weight transfer overlapped with compute; activations on the wafer; "
           "one pass (forward, or each training pass) streams all weights once.",
    equations=(
        Equation(s.layer_weight_bytes, s.weight_bytes / s.layers,
                 cite="cerebras2023executionmodes",
                 locator="weight streaming mode: the model is loaded one layer at a time",
                 note="uniform layers"),
        Equation(s.layer_flops, s.flops / s.layers, cite="cerebras2023executionmodes",
                 locator="weight streaming mode: one layer computed per step",
                 note="uniform layers"),
        Equation(s.weight_feed_bandwidth,
                 sympy.Piecewise((s.sram_bandwidth, s.weight_bytes <= s.sram_capacity),
                                 (s.injection_bandwidth, True)),
                 cite="cerebras2023executionmodes",
                 locator="layer pipelined execution: all weights in on-chip memory; weight "
                         "streaming: weights flow from MemoryX to the WSE"),
        Equation(s.layer_compute_time, compute.time_for(s.layer_flops),
                 cite="williams2009roofline", locator="compute roof (wall 1), per layer"),
        Equation(s.layer_weight_time, s.layer_weight_bytes / s.weight_feed_bandwidth,
                 cite="cerebras2023executionmodes",
                 locator="weight streaming runtime: the weight data of each layer flows from the "
                         "MemoryX server to the WSE"),
        Equation(s.layer_time, sympy.Max(s.layer_compute_time, s.layer_weight_time,
                                         evaluate=False),
                 cite="williams2009roofline",
                 locator="Fig. 1: attainable = min(peak, intensity x bandwidth), with the weight "
                         "feed as the bandwidth roof",
                 branches={s.layer_compute_time: "Compute", s.layer_weight_time: "Streaming"},
                 note="overlap of the next layer's weights with this layer's compute (Cerebras "
                      "glossary, MemoryX: streaming is pipelined, latency hidden)"),
        Equation(s.streaming_pass_time, s.layers * s.layer_time,
                 cite="cerebras2023executionmodes",
                 locator="weight streaming runtime: one layer after another"),
    ),
    constraints=(
        Constraint("streamed_layer_and_activations_fit_in_sram",
                   s.layer_weight_bytes + s.activation_bytes, s.sram_capacity,
                   cite="cerebras2023executionmodes", kind="capacity",
                   locator="weight streaming: one layer's weights fit in memory; activations "
                           "stay on the wafer"),
    ),
    references=("cerebras2023executionmodes", "lie2022cerebras", "williams2009roofline"),
)
