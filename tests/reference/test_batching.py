"""Wall 5 (Batching) against hand arithmetic and Kwon et al. (vLLM, SOSP 2023).

Published values: Sec. 3, "the KV cache of a single token demands 800 KB of space, calculated as
2 (key and value vectors) x 5120 (hidden state size) x 40 (number of layers) x 2 (bytes per
FP16)" and "the memory required to store the KV cache of one request can be as much as 1.6 GB"
(2048 tokens); Table 1: OPT-13B on one A100-40GB, 12 GB for KV cache -> 15.7K KV slots;
OPT-175B on 8 A100-80GB, 264 GB -> 60.1K slots. (The table's GB are binary: 12 GiB / 800 KiB =
15.7K; 66B's "21 GB -> 9.7K" is not reproduced by 21 GiB / 2.25 MiB = 9.56K, the table's memory
figure being rounded, so it is not tested.)
"""

import pytest

from mlsysim_sym.equations import walls
from mlsysim_sym.system import System
from mlsysim_sym.units import Q_

S = System.from_walls(walls.batching)
OUT = ["kv_bytes_per_token", "kv_pool_bytes", "kv_token_capacity", "static_batch_capacity",
       "paged_batch_capacity", "static_kv_waste_fraction", "paged_kv_waste_fraction"]
OPT_13B = dict(layers=40, kv_heads=40, head_dim=128, kv_bytes_per_element=Q_(2, "B"))


def ev(outputs=OUT, **kw):
    return S.compile(outputs).evaluate(**kw)


def test_opt13b_kv_per_token_sec3():
    # 2 x 40 x 40 x 128 x 2 B = 819,200 B = 800 KiB per token; x 2048 tokens = 1.5625 GiB
    # = 1.68 GB ("as much as 1.6 GB")
    e = ev(["kv_bytes_per_token"], **OPT_13B)
    per_token = e.quantity("kv_bytes_per_token")
    assert per_token.to("KiB/token").magnitude == pytest.approx(800, rel=1e-15)
    assert (per_token * Q_(2048, "token")).to("GiB").magnitude == pytest.approx(1.5625)
    assert round((per_token * Q_(2048, "token")).to("GB").magnitude, 1) == 1.7  # 1.68e9 B


@pytest.mark.parametrize("config,kv_gib,slots", [
    (dict(layers=40, kv_heads=40, head_dim=128), 12, 15.7e3),    # OPT-13B, 1 x A100-40GB
    (dict(layers=96, kv_heads=96, head_dim=128), 264, 60.1e3),   # OPT-175B, 8 x A100-80GB
])
def test_vllm_table1_kv_slots(config, kv_gib, slots):
    # Table 1: memory for KV cache = total - parameters (- activations); slots = pool / per-token
    # 13B: 12 GiB / 800 KiB = 15728.6 -> 15728 ("15.7K"); 175B: 264 GiB / 4.5 MiB = 60074 ("60.1K")
    e = ev(["kv_token_capacity", "kv_pool_bytes"], **config, kv_bytes_per_element=Q_(2, "B"),
           memory_capacity=Q_(kv_gib + 30, "GiB"), weight_bytes=Q_(26, "GiB"),
           activation_bytes=Q_(4, "GiB"))
    assert e.quantity("kv_pool_bytes").to("GiB").magnitude == pytest.approx(kv_gib)
    tokens = e.quantity("kv_token_capacity").to("token").magnitude
    assert tokens == int(tokens) and round(tokens, -2) == slots


def test_hand_checked_static_vs_paged():
    # 7B-class, MHA: 2 x 32 x 32 x 128 x 2 B = 524,288 B = 0.5 MiB per token
    # pool = 80 - 13.5 - 2.5 = 64 GiB -> 131,072 token slots
    # static, 4096 reserved: 131072 / 4096 = 32 sequences; waste 1 - 1000/4096 = 0.755859375
    # paged, b = 16: 1000 + 7.5 = 1007.5 slots each -> floor(130.09) = 130; waste 7.5/1007.5
    e = ev(layers=32, kv_heads=32, head_dim=128, kv_bytes_per_element=Q_(2, "B"),
           memory_capacity=Q_(80, "GiB"), weight_bytes=Q_(13.5, "GiB"),
           activation_bytes=Q_(2.5, "GiB"), mean_context_length=Q_(1000, "token"),
           max_context_length=Q_(4096, "token"), kv_block_size=Q_(16, "token"))
    assert e.quantity("kv_token_capacity").to("token").magnitude == 131072
    assert e.value("static_batch_capacity") == 32
    assert e.value("paged_batch_capacity") == 130
    assert e.value("static_kv_waste_fraction") == pytest.approx(0.755859375, rel=1e-15)
    assert e.value("paged_kv_waste_fraction") == pytest.approx(7.5 / 1007.5, rel=1e-15)


def test_block_of_one_token_wastes_nothing():
    e = ev(["paged_kv_waste_fraction"], mean_context_length=Q_(10, "token"),
           kv_block_size=Q_(1, "token"))
    assert e.value("paged_kv_waste_fraction") == 0


def test_pool_is_zero_not_negative_when_weights_do_not_fit():
    # 70B fp16 = 140 GB of weights on an 80 GB device: no KV pool, no sequence fits
    e = ev(**OPT_13B, memory_capacity=Q_(80, "GB"), weight_bytes=Q_(140, "GB"),
           activation_bytes=Q_(1, "GB"), mean_context_length=Q_(500, "token"),
           max_context_length=Q_(2048, "token"), kv_block_size=Q_(16, "token"))
    assert e.value("kv_pool_bytes") == 0
    assert e.value("paged_batch_capacity") == 0 and e.value("static_batch_capacity") == 0


def test_decode_throughput_at_the_batch_that_fits():
    # Pool 64 GiB, 0.5 MiB/token, mean 1000, max 4096, b = 16 -> B_static = 32, B_paged = 130.
    # Memory time: (13.5 GiB + B x 0.5 MiB x 1000) / (2 TB/s x 1.0)
    #   static: 13.5 GiB + 15.625 GiB = 29.125 GiB = 31.272 GB -> 15.636 ms
    #   paged : 13.5 GiB + 63.477 GiB = 76.977 GiB = 82.653 GB -> 41.327 ms
    # Compute (2 x 7e9 + 4 x 32 x 32 x 128 x 1000 FLOP per sequence = 1.45243e10) at 1000 TFLOP/s:
    #   static 32 x 1.45243e10 / 1e15 = 0.465 ms, paged 1.888 ms -> both memory-bound
    # throughput static 32 / 15.636 ms = 2046.6 tok/s, paged 130 / 41.327 ms = 3145.6 tok/s
    gib = 2 ** 30
    e = ev(["static_decode_throughput", "paged_decode_throughput", "static_decode_step_time",
            "paged_decode_step_time"],
           layers=32, kv_heads=32, heads=32, head_dim=128, kv_bytes_per_element=Q_(2, "B"),
           memory_capacity=Q_(80, "GiB"), weight_bytes=Q_(13.5, "GiB"),
           activation_bytes=Q_(2.5, "GiB"), mean_context_length=Q_(1000, "token"),
           max_context_length=Q_(4096, "token"), kv_block_size=Q_(16, "token"),
           active_parameters=Q_(7e9, "param"), peak_flops=Q_(1000, "TFLOP/s"),
           compute_efficiency=1.0, memory_bandwidth=Q_(2, "TB/s"), memory_efficiency=1.0,
           fixed_overhead=Q_(0, "ms"))
    static_ms = (13.5 * gib + 32 * 2 ** 19 * 1000) / 2e12 * 1e3
    paged_ms = (13.5 * gib + 130 * 2 ** 19 * 1000) / 2e12 * 1e3
    assert e.quantity("static_decode_step_time").to("ms").magnitude == pytest.approx(static_ms)
    assert e.quantity("paged_decode_step_time").to("ms").magnitude == pytest.approx(paged_ms)
    assert e.quantity("static_decode_throughput").to("token/s").magnitude == pytest.approx(
        32 / static_ms * 1e3)
    assert e.quantity("paged_decode_throughput").to("token/s").magnitude == pytest.approx(
        130 / paged_ms * 1e3)
    assert e.binding("paged_decode_step_time") == "Memory"


def test_composes_with_serving_wall():
    # wall 4 defines the weights and activations the pool is left from; no cycle
    system = System.from_walls(walls.serving, walls.batching)
    assert system.is_output("kv_pool_bytes") and system.is_output("weight_bytes")
    assert not system.is_output("batch")
    e = system.compile(["kv_pool_bytes"]).evaluate(
        parameters=Q_(7e9, "param"), bytes_per_parameter=Q_(2, "B/param"), batch=1,
        # no vocabulary tables of their own (their width then reads nothing)
        embedding_parameters=Q_(0, "param"), head_parameters=Q_(0, "param"),
        vocab_bytes_per_parameter=Q_(2, "B/param"),
        prompt_length=Q_(1000, "token"), hidden=4096, ffn_width=2 * 11008,
        activation_bytes_per_element=Q_(2, "B"), memory_capacity=Q_(80, "GB"),
        # one device, no prompt chunk, vLLM's token budget (1000 tokens fit in it)
        tensor_parallel=1, prefill_chunk_tokens=Q_(0, "token"),
        max_batched_tokens=Q_(8192, "token"))
    # 80 GB - 14 GB - 1000 x (4096 + 22016) x 2 B = 80 - 14 - 0.052224 GB
    assert e.quantity("kv_pool_bytes").to("GB").magnitude == pytest.approx(65.947776)


def test_capacity_constraint_is_declared():
    (c,) = walls.batching.constraints
    assert c.kind == "capacity" and c.rhs.name == "kv_pool_bytes"


def test_sensitivity_sees_memory_buying_sequences():
    # floor differentiates as its relaxation: elasticity of the paged batch to capacity is
    # capacity / pool = 80 / 64 = 1.25 (pool = 80 - 13.5 - 2.5 GiB)
    from mlsysim_sym.solvers.sensitivity import sensitivity
    at = dict(layers=32, kv_heads=32, head_dim=128, kv_bytes_per_element=Q_(2, "B"),
              memory_capacity=Q_(80, "GiB"), weight_bytes=Q_(13.5, "GiB"),
              activation_bytes=Q_(2.5, "GiB"), mean_context_length=Q_(1000, "token"),
              kv_block_size=Q_(16, "token"))
    s = sensitivity(S, "paged_batch_capacity", wrt=["memory_capacity"], at=at)
    assert s.elasticities["memory_capacity"] == pytest.approx(80 / 64 * 130.09 / 130, rel=1e-3)
