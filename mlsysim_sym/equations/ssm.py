"""Workload - Selective state-space models (Mamba): recurrent decode with a constant state.

Bounds: a Mamba language model (Gu & Dao 2023) replaces attention by a selective scan, so
generation is recurrent: each layer carries a fixed-size state per sequence and there is no KV
cache. A decode step reads every weight once and, per sequence, the state of every layer (read
and written back); its work is 2 FLOPs per weight per token (Kaplan et al. Table 1's forward
cost) plus the scan's 9 FLOPs per channel and state element (Gu's count for the selective scan,
state-spaces/mamba issue #110). Neither depends on how many tokens came before: the step time
and the footprint are flat in the context length, unlike wall 4's KV cache. A prefill pass does
the same work per prompt token and writes the final state once. Both phases are rooflines
(walls 1 and 2) with the classic max: no measurement here calibrates an SSM's overlap.

State per sequence and layer: d_inner x d_state SSM elements (Sec. 3.3.1: the recurrent mode keeps
h_t of size (D, N)) plus the convolution window. The reference implementation
(``mamba_simple.py``, ``allocate_inference_cache``) holds d_conv columns per channel (the new
input rolled in, then all d_conv convolved); the causal minimum is d_conv - 1, one column (5%
of Mamba-2.8B's state) fewer. It allocates both in the weights' dtype (a float32 line is
commented out), so the state element width is an input, by default the serving precision.

Footprint = weights + the batch's state + the live activations of one layer (the residual
stream plus the two d_inner-wide branches of the input projection) for at most the engine's
token budget per step, as wall 4 bounds a transformer's.

Regime of validity: Mamba (S6) blocks, one accelerator, equal-length sequences in a batch;
prefill traffic counts weights and the state written (the hardware-aware scan keeps the
expanded state in SRAM, Sec. 3.3.2; layer inputs and outputs are not counted: the memory time
is a lower bound); the LM head runs on every token as in wall 4.

References
----------
Gu & Dao, "Mamba: Linear-Time Sequence Modeling with Selective State Spaces", arXiv:2312.00752.
Gu, state-spaces/mamba issue #110 (FLOPs of the selective scan), 2024.
Kaplan et al., "Scaling Laws for Neural Language Models", 2020, Table 1.
Williams, Waterman, Patterson, "Roofline", CACM 52(4), 2009.
"""

import sympy

from .. import symbols as s
from . import compute, memory
from .base import Constraint, Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("gu2023mamba", "Gu, Albert and Dao, Tri",
              "Mamba: Linear-Time Sequence Modeling with Selective State Spaces",
              "arXiv:2312.00752", 2023, url="https://arxiv.org/abs/2312.00752", kind="misc"),
    Reference("gu2024mambaflops", "Gu, Albert",
              "How to compute MACs or FLOPs of mamba (maintainer's answer: 9 L N FLOPs per scan "
              "channel)", "state-spaces/mamba issue #110", 2024,
              url="https://github.com/state-spaces/mamba/issues/110", kind="misc"),
    Reference("mamba2023code", "Gu, Albert and Dao, Tri",
              "mamba_ssm/modules/mamba_simple.py (Mamba.step, allocate_inference_cache)",
              "state-spaces/mamba repository", 2023,
              url="https://github.com/state-spaces/mamba/blob/main/mamba_ssm/modules/"
                  "mamba_simple.py", kind="misc"),
)

_ROOF = ("Compute", "Memory")

#: FLOPs of one token: 2 per weight (matmuls, tied LM head) plus the scan over every layer
_TOKEN_FLOPS = (s.flops_per_parameter_token * s.parameters
                + s.ssm_scan_flops_per_state_element * s.layers * s.ssm_inner_width
                * s.ssm_state_size)


def _phase(flops, traffic, compute_sym, memory_sym, time_sym, locator):
    """A phase's compute roof, memory roof and roofline time (classic max + fixed overhead)."""
    return (
        Equation(compute_sym, compute.time_for(flops), cite="williams2009roofline",
                 locator="compute roof (wall 1)"),
        Equation(memory_sym, memory.time_for(traffic), cite="williams2009roofline",
                 locator="memory roof (wall 2)"),
        Equation(time_sym, memory.roofline(compute_sym, memory_sym), cite="gu2023mamba",
                 locator=locator, branches=dict(zip((compute_sym, memory_sym), _ROOF)),
                 note="classic max: no SSM serving measurement calibrates the overlap phi"),
    )


WALL = Wall(
    number=0,
    name="SSM",
    domain="workload",
    summary=(
        "A selective state-space model (Mamba) generates recurrently: every layer keeps a fixed "
        "state per sequence instead of a KV cache, so a decode step streams the weights plus the "
        "batch's state and does 2 FLOPs per weight per token plus the scan, whatever the context "
        "length. Decode is memory-bound at small batch; the footprint grows with the batch, not "
        "with the sequence."
    ),
    regime="Mamba (S6) blocks on one accelerator, equal-length sequences; state element width "
           "an input (the reference code keeps the weights' dtype); prefill traffic counts weights "
           "and the final state only (a lower bound); classic max roofline.",
    equations=(
        Equation(s.weight_bytes, s.parameters * s.bytes_per_parameter, cite="pope2023inference",
                 locator="Sec. 2.1, memory costs: weights"),
        Equation(s.ssm_state_bytes,
                 s.batch * s.layers * s.ssm_inner_width * (s.ssm_state_size + s.ssm_conv_width)
                 * s.ssm_state_bytes_per_element, cite="mamba2023code",
                 locator="allocate_inference_cache: conv_state (B, d_inner, d_conv) and ssm_state "
                         "(B, d_inner, d_state) per layer",
                 note="Gu & Dao Sec. 3.3.1: the recurrent state h_t is (D, N) per sequence; the "
                      "causal convolution needs d_conv - 1 past inputs, the reference code holds "
                      "d_conv"),
        Equation(s.ssm_activation_bytes,
                 sympy.Min(s.batch * s.prompt_length, s.max_batched_tokens)
                 * (s.hidden + s.ssm_in_proj_branches * s.ssm_inner_width)
                 * s.activation_bytes_per_element * s.per_token,
                 cite="gu2023mamba", locator="Sec. 3.4, Fig. 3: the Mamba block projects the "
                 "residual stream to two d_inner-wide branches (x and the gate z)",
                 note="one layer's live activations for at most the engine's token budget per "
                      "step, as wall 4 bounds a transformer's"),
        Equation(s.ssm_memory_footprint,
                 s.weight_bytes + s.ssm_state_bytes + s.ssm_activation_bytes,
                 cite="gu2023mamba", locator="Sec. 3.3.1: constant memory per sequence in the "
                 "recurrent mode (no KV cache)"),
        Equation(s.ssm_memory_utilization, s.ssm_memory_footprint / s.memory_capacity,
                 cite="pope2023inference", locator="Sec. 2.1: weights and state must fit"),
        Equation(s.ssm_decode_flops, _TOKEN_FLOPS * s.tokens_per_decode_step * s.batch,
                 cite="gu2024mambaflops", locator="maintainer's answer: 9 L N FLOPs per scan "
                 "channel (L tokens, N = d_state), over d_inner = expand x d_model channels",
                 note="plus Kaplan et al. Table 1's 2 N_params per token; the reference step() "
                      "updates each state element with 7 arithmetic ops and one exp"),
        Equation(s.ssm_decode_bytes, s.weight_bytes + s.ssm_state_passes * s.ssm_state_bytes,
                 cite="mamba2023code", locator="Mamba.step: ssm_state and conv_state read and "
                 "copied back each token"),
        *_phase(s.ssm_decode_flops, s.ssm_decode_bytes, s.ssm_decode_compute_time,
                s.ssm_decode_memory_time, s.ssm_time_per_output_token,
                "Sec. 3.3.1 and 4.5: recurrent mode, constant time per generated token"),
        Equation(s.ssm_decode_throughput,
                 s.tokens_per_decode_step * s.batch / s.ssm_time_per_output_token,
                 cite="gu2023mamba", locator="Sec. 4.5, Fig. 8: inference (generation) throughput"),
        Equation(s.ssm_prefill_flops, _TOKEN_FLOPS * s.prompt_length * s.batch,
                 cite="gu2024mambaflops", locator="9 L N FLOPs per scan channel (the parallel "
                 "scan's 2L associative operations included)"),
        Equation(s.ssm_prefill_bytes, s.weight_bytes + s.ssm_state_bytes, cite="gu2023mamba",
                 locator="Sec. 3.3.2: the expanded state stays in SRAM; weights read and the "
                 "final state written once"),
        *_phase(s.ssm_prefill_flops, s.ssm_prefill_bytes, s.ssm_prefill_compute_time,
                s.ssm_prefill_memory_time, s.ssm_ttft,
                "Sec. 3.3.2: the prompt runs as one parallel scan (time to first token)"),
        Equation(s.ssm_prefill_throughput, s.prompt_length * s.batch / s.ssm_ttft,
                 cite="gu2023mamba", locator="Sec. 4.5: throughput of the scan over the prompt"),
    ),
    constraints=(
        Constraint("ssm_fits_in_memory", s.ssm_memory_footprint, s.memory_capacity,
                   cite="pope2023inference", kind="capacity"),
    ),
    references=("gu2023mamba", "gu2024mambaflops", "mamba2023code", "kaplan2020scaling",
                "williams2009roofline", "pope2023inference"),
    kind="workload",
)
