"""Symbols of the speculative-decoding record (a draft model's decode pass and the target's
verification pass as rooflines at a batch; wall 12 holds the acceptance rate, the draft length
and the speed-up). A draft "absent" is all zeros: no parameters, no layers."""

from .base import declare

# ------------------------------------------------------------------ the draft model's shape
draft_parameters = declare("draft_parameters", "param", r"N_{D}",
                           "weights of the draft model (dense: all touched per token; 0: none)",
                           (0, 1e14))
draft_layers = declare("draft_layers", "dimensionless", r"L_{D}",
                       "transformer layers of the draft model (a cost ratio c stands for c "
                       "times the target's layers)", (0, 1e3))
draft_heads = declare("draft_heads", "dimensionless", r"H_{D}",
                      "query attention heads per layer of the draft model", (0, 1e3))
draft_kv_heads = declare("draft_kv_heads", "dimensionless", r"H_{kv}^{D}",
                         "key/value heads per layer of the draft model", (0, 1e3))
draft_head_dim = declare("draft_head_dim", "dimensionless", r"d_{h}^{D}",
                         "elements per attention head of the draft model", (0, 1e4))
draft_hidden = declare("draft_hidden", "dimensionless", r"d_{D}",
                       "residual stream width of the draft model", (0, 1e6))

# ------------------------------------------------------------------------ per pass and ratios
draft_weight_bytes = declare("draft_weight_bytes", "GB", r"W_{D}",
                             "bytes of the draft model's weights", (0, 1e9))
draft_kv_group_bytes_per_token = declare(
    "draft_kv_group_bytes_per_token", "kB/token", r"m_{kv}^{D}",
    "draft KV-cache bytes of one token across a tensor-parallel group", (0, 1e9))
draft_step_time = declare("draft_step_time", "ms", r"T_{D}",
                          "one decode pass of the draft model over the batch (MagicDec T_D)",
                          (0, 1e12))
verify_compute_time = declare("verify_compute_time", "ms", r"T_{V,c}",
                              "compute-roof time of the verification pass", (0, 1e12))
verify_memory_time = declare("verify_memory_time", "ms", r"T_{V,m}",
                             "memory-roof time of the verification pass", (0, 1e12))
verify_step_time = declare(
    "verify_step_time", "ms", r"T_{V}",
    "one target pass verifying gamma drafted tokens of every sequence of the batch "
    "(gamma + 1 positions each; MagicDec T_V(gamma))", (0, 1e12))
speculative_decode_throughput = declare(
    "speculative_decode_throughput", "token/s", r"R_{\mathrm{dec}}^{\mathrm{spec}}",
    "output tokens per second of the batch with speculative decoding", (0, 1e15))
speculative_memory_footprint = declare(
    "speculative_memory_footprint", "GB", r"M^{\mathrm{spec}}",
    "per-device memory with the draft model's weights and KV cache", (0, 1e9))
speculative_memory_utilization = declare(
    "speculative_memory_utilization", "dimensionless", r"U_{M}^{\mathrm{spec}}",
    "speculative memory footprint over the device memory capacity", (0, 1e6))
