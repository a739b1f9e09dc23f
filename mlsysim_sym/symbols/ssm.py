"""Symbols of the selective state-space (Mamba) serving record.

Names carry the ``ssm_`` prefix so they never collide with wall 4's transformer serving symbols
(``ttft``, ``kv_cache_bytes``, ...); shared quantities (``parameters``, ``layers``, ``hidden``,
``batch``, ``prompt_length``, ``weight_bytes``, the roofs) are reused from :mod:`.node`.
"""

from .base import constant, declare

_T = (0, 1e12)  # times in ms
_B = (0, 1e18)  # bytes

ssm_inner_width = declare("ssm_inner_width", "dimensionless", r"d_{\mathrm{inner}}",
                          "channels of the selective scan: expand x model width (d_inner)",
                          (1, 1e7), integer=True)
ssm_state_size = declare("ssm_state_size", "dimensionless", r"d_{\mathrm{state}}",
                         "state elements per scan channel (d_state)", (1, 1e4), integer=True)
ssm_conv_width = declare("ssm_conv_width", "dimensionless", r"d_{\mathrm{conv}}",
                         "columns of the causal depthwise convolution's rolling window held per "
                         "channel (d_conv)", (1, 1e3), integer=True)
ssm_state_bytes_per_element = declare("ssm_state_bytes_per_element", "B", r"b_{s}",
                                      "bytes per recurrent-state element (SSM and conv state)",
                                      (0.0625, 8))
ssm_scan_flops_per_state_element = constant(
    "ssm_scan_flops_per_state_element", 9, "FLOP/token", "9",
    "FLOPs of the selective scan per token, channel and state element (Gu, state-spaces/mamba "
    "issue #110: 9 L N per channel)")
ssm_state_passes = constant("ssm_state_passes", 2, "dimensionless", "2",
                            "a decode step reads the recurrent state once and writes it once")
ssm_in_proj_branches = constant("ssm_in_proj_branches", 2, "dimensionless", "2",
                                "the input projection makes two d_inner-wide branches per token "
                                "(the scan input x and the gate z)")

ssm_state_bytes = declare("ssm_state_bytes", "GB", r"M_{s}",
                          "recurrent state of the batch: SSM state plus convolution window of every "
                          "layer (constant in the sequence length)", (0, 1e9))
ssm_activation_bytes = declare("ssm_activation_bytes", "GB", r"M_{a}^{\mathrm{SSM}}",
                               "peak live activations of one Mamba layer for the step's tokens",
                               (0, 1e9))
ssm_decode_flops = declare("ssm_decode_flops", "FLOP", r"W_{d}^{\mathrm{SSM}}",
                           "FLOPs of one SSM decode step (whole batch)", (0, 1e27))
ssm_decode_bytes = declare("ssm_decode_bytes", "B", r"Q_{d}^{\mathrm{SSM}}",
                           "bytes one SSM decode step moves: weights once, the state read and "
                           "written", _B)
ssm_decode_compute_time = declare("ssm_decode_compute_time", "ms", r"T_{d,c}^{\mathrm{SSM}}",
                                  "SSM decode step time if compute-bound", _T)
ssm_decode_memory_time = declare("ssm_decode_memory_time", "ms", r"T_{d,m}^{\mathrm{SSM}}",
                                 "SSM decode step time if memory-bound", _T)
ssm_time_per_output_token = declare("ssm_time_per_output_token", "ms",
                                    r"T_{\mathrm{TPOT}}^{\mathrm{SSM}}",
                                    "SSM time per output token (one recurrent decode step)", _T)
ssm_decode_throughput = declare("ssm_decode_throughput", "token/s", r"X_{d}^{\mathrm{SSM}}",
                                "SSM output tokens per second of the whole batch", (0, 1e12))
ssm_prefill_flops = declare("ssm_prefill_flops", "FLOP", r"W_{p}^{\mathrm{SSM}}",
                            "FLOPs of one SSM prefill pass (whole batch)", (0, 1e30))
ssm_prefill_bytes = declare("ssm_prefill_bytes", "B", r"Q_{p}^{\mathrm{SSM}}",
                            "bytes one SSM prefill pass moves: weights once, the final state "
                            "written", _B)
ssm_prefill_compute_time = declare("ssm_prefill_compute_time", "ms", r"T_{p,c}^{\mathrm{SSM}}",
                                   "SSM prefill time if compute-bound", _T)
ssm_prefill_memory_time = declare("ssm_prefill_memory_time", "ms", r"T_{p,m}^{\mathrm{SSM}}",
                                  "SSM prefill time if memory-bound", _T)
ssm_ttft = declare("ssm_ttft", "ms", r"T_{\mathrm{TTFT}}^{\mathrm{SSM}}",
                   "SSM time to first token (one prefill pass)", _T)
ssm_prefill_throughput = declare("ssm_prefill_throughput", "token/s", r"X_{p}^{\mathrm{SSM}}",
                                 "SSM prompt tokens processed per second", (0, 1e15))
ssm_memory_footprint = declare("ssm_memory_footprint", "GB", r"M^{\mathrm{SSM}}",
                               "resident bytes: weights, recurrent state, live activations",
                               (0, 1e9))
ssm_memory_utilization = declare("ssm_memory_utilization", "dimensionless", r"u_{M}^{\mathrm{SSM}}",
                                 "SSM footprint over memory capacity (feasible iff <= 1)", (0, 1e9))
