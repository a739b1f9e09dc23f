"""Wall 3 - Software: how much of the peak FLOP/s a training job turns into model progress.

Bounds: the achieved fraction of peak. It is not one fudge factor: the rate a device sustains is
decomposed into compute (``compute_efficiency``, FLOP/s), memory (``memory_efficiency``, bytes/s)
and communication (``communication_efficiency``, link bytes/s in collectives) fractions, the
"ceilings" below the roofs of Williams et al. (Sec. 4), each calibrated on its own and carried
across hardware separately. Walls 1, 2 and 14 consume them.

Utilisation is measured two ways (Chowdhery et al. 2022, App. B). Model FLOPs utilisation (MFU)
counts only the work the model needs: a forward pass costs 2N + 4LHQT FLOPs per token (N
parameters; L layers, H heads, Q head size, T sequence length: Q K^T and A V, two FLOPs per
multiply-add, no causal halving), training three forward passes, so 6N + 12LHQT per token, and
MFU = throughput x (6N + 12LHQT) / (devices x peak). Hardware FLOPs utilisation (HFU) also counts
the recomputed forward work of activation checkpointing (Korthikanti et al. 2022): a fraction
r of the forward pass recomputed gives (3 + r) forward passes per token (r = 1 is full
recomputation, Narayanan et al. eq. (3): 96 vs 72), so HFU / MFU = (3 + r) / 3 >= 1: the
hardware does more work than the model needs, and MFU is the fair measure across recomputation
strategies. The throughput the devices would reach if they only computed, at the achieved rate
X = peak x compute_efficiency, Theta_c = devices x X / hardware FLOPs per token (Narayanan et al.
Sec. 5.1: training time ~ 8TP / (nX)), links the calibrated compute efficiency to the measured
utilisation: HFU = compute_efficiency x Theta / Theta_c, equal to it only when nothing else
(bubbles, exposed communication, stalls) is exposed. The throughput Theta itself (tokens per
step / step time) comes from the training-step composition or from a measurement.

Regime of validity: decoder-only transformer training (N is the active parameters: all of
them for a dense model, shared + routed top-k for MoE),
matmul FLOPs only (softmax, norms and the optimizer are not counted, as in PaLM App. B); the
peak is the dense peak at the training precision; a uniform fraction r of every layer's forward
pass recomputed.

References
----------
Chowdhery et al., "PaLM: Scaling Language Modeling with Pathways", 2022, App. B, Table 3.
Korthikanti et al., "Reducing Activation Recomputation in Large Transformer Models", MLSys 2023.
Narayanan et al., "Efficient Large-Scale Language Model Training on GPU Clusters Using
Megatron-LM", SC21, eq. (3), Sec. 5.1.
Williams, Waterman, Patterson, "Roofline", CACM 52(4), 2009, Sec. 4 (ceilings).
"""

from .. import symbols as s
from .base import Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("chowdhery2022palm", "Chowdhery, Aakanksha and Narang, Sharan and Devlin, Jacob "
              "and others", "PaLM: Scaling Language Modeling with Pathways", "arXiv:2204.02311",
              2022, url="https://arxiv.org/abs/2204.02311", kind="misc"),
    Reference("korthikanti2022recomputation", "Korthikanti, Vijay Anand and Casper, Jared and "
              "Lym, Sangkug and McAfee, Lawrence and Andersch, Michael and Shoeybi, Mohammad and "
              "Catanzaro, Bryan", "Reducing Activation Recomputation in Large Transformer Models",
              "Proceedings of MLSys 2023", 2023, url="https://arxiv.org/abs/2205.05198",
              kind="inproceedings"),
    Reference("narayanan2021megatron", "Narayanan, Deepak and Shoeybi, Mohammad and Casper, Jared "
              "and others", "Efficient Large-Scale Language Model Training on GPU Clusters Using "
              "Megatron-LM", "Proceedings of SC21", 2021, doi="10.1145/3458817.3476209",
              kind="inproceedings"),
)

_attention = 2 * s.attention_flops_per_pair * s.layers * s.heads * s.head_dim * s.sequence_length
_forward = s.forward_flops_per_token
_peak_rate = s.devices * s.peak_flops

WALL = Wall(
    number=3,
    name="Software",
    domain="node",
    summary=(
        "Hardware peaks are never reached: each device sustains a fraction of its peak compute, "
        "memory and link rates (three separately calibrated efficiencies). Of the FLOPs it does "
        "execute, some are recomputation, so model FLOPs utilisation (6N + 12LHQT per token over "
        "the peak) is below hardware FLOPs utilisation, and is the honest measure of progress."
    ),
    regime="Dense transformer training with matmul FLOPs counted as in PaLM App. B; a uniform "
           "recomputed fraction of the forward pass; dense peak at the training precision.",
    equations=(
        Equation(s.achieved_flops_rate, s.peak_flops * s.compute_efficiency,
                 cite="williams2009roofline",
                 locator="Sec. 4: in-core ceilings below the peak-FLOP/s roof"),
        Equation(s.achieved_memory_bandwidth, s.memory_bandwidth * s.memory_efficiency,
                 cite="williams2009roofline",
                 locator="Sec. 4: bandwidth ceilings below the peak-bandwidth roof"),
        Equation(_forward,
                 s.flops_per_parameter_token * s.active_parameters + _attention,
                 cite="chowdhery2022palm",
                 locator="App. B: 6N + 12LHQT per token = 3 x (2N + 4LHQT) forward",
                 note="N = parameters a token passes through (active parameters; all of them for "
                      "a dense model); attention over all T positions (no causal halving), as in "
                      "PaLM"),
        Equation(s.model_flops_per_token, 3 * _forward, cite="chowdhery2022palm",
                 locator="App. B: model FLOPs per token 6N + 12LHQT (backward = 2 x forward, "
                         "no rematerialisation)"),
        Equation(s.hardware_flops_per_token, (3 + s.recomputed_forward_fraction) * _forward,
                 cite="korthikanti2022recomputation",
                 locator="evaluation, MFU vs HFU: hardware FLOPs add the recomputed forward work "
                         "(full recomputation: Narayanan et al. eq. (3), 96 vs 72)",
                 note="r is the share of forward FLOPs recomputed; selective recomputation "
                      "recomputes only part of the attention, a small r"),
        Equation(s.model_flops_utilization,
                 s.model_flops_per_token * s.training_throughput / _peak_rate,
                 cite="chowdhery2022palm",
                 locator="App. B: MFU = observed throughput / (peak FLOP/s / (6N + 12LHQT)); "
                         "Table 3"),
        Equation(s.hardware_flops_utilization,
                 s.hardware_flops_per_token * s.training_throughput / _peak_rate,
                 cite="chowdhery2022palm",
                 locator="App. B: HFU includes rematerialisation FLOPs (57.8% vs 46.2% MFU)"),
        Equation(s.recompute_flops_ratio, s.hardware_flops_per_token / s.model_flops_per_token,
                 cite="korthikanti2022recomputation",
                 locator="evaluation, MFU vs HFU: HFU / MFU = hardware FLOPs / model FLOPs"),
        Equation(s.decode_flops_utilization,
                 s.decode_flops / (s.time_per_output_token * s.tensor_parallel * s.peak_flops),
                 cite="chowdhery2022palm",
                 locator="App. B: MFU = model FLOPs per second achieved / peak FLOP/s",
                 note="serving: the decode step's model FLOPs (wall 4) over its time and the "
                      "peak of the t tensor-parallel chips together (peak_flops is one chip's)"),
        Equation(s.prefill_flops_utilization,
                 s.prefill_flops / (s.ttft * s.tensor_parallel * s.peak_flops),
                 cite="chowdhery2022palm",
                 locator="App. B: MFU = model FLOPs per second achieved / peak FLOP/s",
                 note="serving: the prefill pass's model FLOPs (wall 4) over the TTFT"),
        Equation(s.compute_bound_training_throughput,
                 s.devices * s.achieved_flops_rate / s.hardware_flops_per_token,
                 cite="narayanan2021megatron",
                 locator="Sec. 5.1: end-to-end time ~ 8TP / (nX), X the achieved per-GPU rate",
                 note="8TP: 8 FLOPs per parameter per token with full recomputation; here the "
                      "hardware FLOPs per token of this wall"),
    ),
    references=("chowdhery2022palm", "korthikanti2022recomputation", "narayanan2021megatron",
                "williams2009roofline"),
)
