"""Symbols of the disaggregated-serving record (DistServe, Splitwise): a prefill pool and a
decode pool of replicas, and the KV cache each prompt hands from one to the other."""

from .base import declare

_T = (0, 1e12)
_RATE = (0, 1e15)

prefill_replicas = declare("prefill_replicas", "dimensionless", r"R_{p}",
                           "replicas (tensor-parallel groups) that only run prompts", (1, 1e7))
decode_replicas = declare("decode_replicas", "dimensionless", r"R_{d}",
                          "replicas (tensor-parallel groups) that only run decode steps",
                          (1, 1e7))
decode_arrival_rate = declare("decode_arrival_rate", "request/s", r"\lambda_{d}",
                              "requests per second each decode replica takes over", (0, 1e9))
kv_transfer_bandwidth = declare(
    "kv_transfer_bandwidth", "GB/s", r"B_{x}",
    "link rate each device of a prefill replica sends its share of a prompt's KV cache over "
    "(its scale-out NIC port), per direction", (1e-4, 1e5))
kv_transfer_latency = declare("kv_transfer_latency", "us", r"\alpha_{x}",
                              "start-up latency of one KV-cache transfer between the pools",
                              (0, 1e6))
prompt_kv_tokens = declare(
    "prompt_kv_tokens", "token", r"S_{p,kv}",
    "tokens per layer of a prompt's KV cache handed to the decode pool, averaged over the layers "
    "(full attention: the prompt; windowed layers: at most the window)", (0, 1e7))
prompt_kv_bytes = declare("prompt_kv_bytes", "GB", r"M_{x}",
                          "KV-cache bytes of one prompt over a tensor-parallel group", (0, 1e9))
prefill_service_time = declare(
    "prefill_service_time", "ms", r"D_{p}",
    "time a prefill replica spends on one prompt (no decode steps beside it)", _T)
kv_transfer_time = declare("kv_transfer_time", "ms", r"T_{x}",
                           "time to move one prompt's KV cache from a prefill to a decode replica",
                           _T)
kv_link_utilization = declare(
    "kv_link_utilization", "dimensionless", r"\rho_{x}",
    "busy share of the KV-transfer links on the busier side (prefill or decode replicas)",
    (0, 1e9))
prefill_pool_capacity = declare("prefill_pool_capacity", "request/s", r"\Lambda_{p}",
                                "requests per second the prefill pool completes at most", _RATE)
decode_pool_capacity = declare("decode_pool_capacity", "request/s", r"\Lambda_{d}",
                               "requests per second the decode pool sustains at most", _RATE)
kv_link_capacity = declare("kv_link_capacity", "request/s", r"\Lambda_{x}",
                           "requests per second whose KV caches the links between the pools carry "
                           "at most", _RATE)
disaggregated_ttft = declare(
    "disaggregated_ttft", "ms", r"T_{\mathrm{TTFT}}^{(p,\mathrm{dis})}",
    "p-percentile time to first token of disaggregated serving: queueing for a prefill replica + "
    "the prefill + the KV transfer", _T)
disaggregated_mean_ttft = declare(
    "disaggregated_mean_ttft", "ms", r"\bar{T}_{\mathrm{TTFT}}^{(\mathrm{dis})}",
    "mean time to first token of disaggregated serving", _T)
prefill_memory_footprint = declare(
    "prefill_memory_footprint", "GB", r"M^{(p)}",
    "resident bytes of one prefill device: weights, workspace and one prompt's KV cache",
    (0, 1e9))
