"""MoE workload record against hand arithmetic and published parameter counts.

Mixtral 8x7B shape (registry, from its config.json): 32 layers, hidden 4096, SwiGLU experts of
width 14336, 8 experts, top-2, no shared experts. Jiang et al. 2024 (Abstract): "each token has
access to 47B parameters, but only uses 13B active parameters"; Mistral's announcement gives
46.7B and 12.9B. DeepSeek-V3 report (Abstract): 671B total, 37B activated per token.
H100 SXM: 989.5 TFLOP/s dense fp16, 3.35 TB/s.
"""

import pytest

from mlsysim_sym.equations import walls, workloads
from mlsysim_sym.system import System
from mlsysim_sym.units import Q_
from mlsysim_sym.tasks.workloads import moe_inputs

SYSTEM = System.from_walls(walls.compute, walls.memory, walls.serving, workloads.moe)

# expert = 3 x 4096 x 14336 = 176,160,768 param; dense part (embeddings 131,072,000 + attention
# 1,342,177,280 + router 1,048,576 + norms 266,240 + LM head 131,072,000) = 1,605,636,096 param
MIXTRAL = dict(moe_dense_parameters=Q_(1_605_636_096, "param"),
               moe_expert_parameters=Q_(176_160_768, "param"), moe_experts=8,
               experts_per_token=2, moe_shared_experts=0, moe_layers=32, layers=32, heads=32,
               kv_heads=8, head_dim=128, hidden=4096, ffn_width=2 * 14336,
                 embedding_parameters=0, embedding_row_width=0,
                 dequantized_share=0, head_parameters=0,
                 vocab_bytes_per_parameter=2, head_peak_share=1)
# matmul_ceiling 1: the hand arithmetic runs the GEMMs against the datasheet peak
H100 = dict(peak_flops=Q_(989.5, "TFLOP/s"), memory_bandwidth=Q_(3.35, "TB/s"),
            memory_capacity=Q_(80, "GB"), matmul_ceiling=1.0, compute_efficiency=1.0,
            memory_efficiency=1.0,
            fixed_overhead=Q_(0, "ms"))
FP16 = dict(bytes_per_parameter=Q_(2, "B/param"), kv_bytes_per_element=Q_(2, "B"),
            activation_bytes_per_element=Q_(2, "B"))
SINGLE = dict(expert_parallel=1, link_bandwidth=Q_(50, "GB/s"), link_latency=Q_(5, "us"),
              communication_efficiency=1.0, moe_routing_imbalance=1.0,
              # one device: wall 4's tensor-parallel all-reduces are exactly zero
              tensor_parallel=1, scale_up_bandwidth=Q_(450, "GB/s"),
              scale_up_latency=Q_(5, "us"), scale_up_peer_access=0,
              allreduce_fixed_time=Q_(0, "us"),
              unoverlapped_fraction=0.0,  # the classic roofline: max(compute, memory, a2a)
              # a pure decode step (no prompt chunk), vLLM's token budget
              prefill_chunk_tokens=Q_(0, "token"), max_batched_tokens=Q_(8192, "token"),
              prefix_cache_hit_rate=0, attention_data_parallel=1)


def evaluate(outputs, **over):
    values = {**MIXTRAL, **H100, **FP16, **SINGLE, "batch": 1,
              "prompt_length": Q_(1024, "token"), "context_length": Q_(1024, "token")}
    values.update(over)
    k = SYSTEM.compile(outputs)
    return k.evaluate(**{n: values[n] for n in k.input_names})


def test_mixtral_total_and_active_parameters_hand_and_paper():
    ev = evaluate(["parameters", "active_parameters"])
    total = ev.quantity("parameters").to("param").magnitude
    active = ev.quantity("active_parameters").to("param").magnitude
    # 1,605,636,096 + 32 x 8 x 176,160,768 = 46,702,792,704
    assert total == pytest.approx(46_702_792_704, rel=1e-12)
    # 1,605,636,096 + 32 x 2 x 176,160,768 = 12,879,925,248
    assert active == pytest.approx(12_879_925_248, rel=1e-12)
    # Jiang et al. 2024 Abstract (47B / 13B); announcement 46.7B / 12.9B
    assert total == pytest.approx(46.7e9, rel=2e-3) and active == pytest.approx(12.9e9, rel=2e-3)


def test_moe_inputs_reproduce_the_registry_counts():
    from mlsysim_sym import registry
    for name in ("mixtral-8x7b", "deepseek-v3", "qwen3-235b-a22b"):
        m = registry.model(name)
        ev = evaluate(["parameters", "active_parameters"], **moe_inputs(name))
        assert ev.quantity("parameters").to("param").magnitude == pytest.approx(
            m.parameters.to("param").magnitude, rel=1e-12)
        assert ev.quantity("active_parameters").to("param").magnitude == pytest.approx(
            m.active_parameters.to("param").magnitude, rel=1e-12)


def test_deepseek_v3_published_total_and_active():
    # DeepSeek-V3 report, Abstract: 671B total, 37B activated (the derived count includes
    # embedding and LM head: 37.55B; README_WEIGHTS gives 36.7B)
    ev = evaluate(["parameters", "active_parameters"], **moe_inputs("deepseek-v3"))
    assert ev.quantity("parameters").to("param").magnitude == pytest.approx(671e9, rel=1e-3)
    assert ev.quantity("active_parameters").to("param").magnitude == pytest.approx(37e9, rel=0.02)


@pytest.mark.parametrize("experts,k,batch,expected", [
    (8, 2, 1, 2.0),                              # batch 1 reads exactly the top-k
    (8, 2, 2, 8 * (1 - 0.75 ** 2)),              # = 8 x 0.4375 = 3.5
    (8, 2, 16, 8 * (1 - 0.75 ** 16)),            # = 8 x (1 - 0.0100226) = 7.91982
    (256, 8, 32, 256 * (1 - (31 / 32) ** 32)),   # DeepSeek-V3 routing: 163.19 of 256
])
def test_distinct_experts_touched_by_hand(experts, k, batch, expected):
    ev = evaluate(["moe_decode_experts_touched"], moe_experts=experts, experts_per_token=k,
                  batch=batch)
    assert ev.quantity("moe_decode_experts_touched").magnitude == pytest.approx(expected, rel=1e-12)


def test_batch1_decode_reads_active_weights_not_all():
    # bytes = 12,879,925,248 param x 2 B + KV (2 x 32 x 8 x 128 x 1024 x 2 B = 134,217,728 B)
    #       + the token's memory-bound kernels (wall 4: 32 x 2 B x (10 x 4096 + 1.5 x 28672)
    #       = 5,373,952 B) = 25,899,442,176 B; / 3.35e12 B/s = 7.73117 ms (memory-bound)
    ev = evaluate(["moe_decode_bytes", "moe_time_per_output_token", "time_per_output_token"])
    assert ev.quantity("moe_decode_bytes").to("B").magnitude == pytest.approx(25_899_442_176)
    assert ev.quantity("moe_time_per_output_token").to("ms").magnitude == pytest.approx(
        25_899_442_176 / 3.35e12 * 1e3, rel=1e-12)
    assert ev.binding("moe_time_per_output_token") == "Memory"
    # the dense view (wall 4 alone) streams all 46.7B weights: 3.6x slower
    ratio = (ev.quantity("time_per_output_token") / ev.quantity("moe_time_per_output_token")).to("")
    assert ratio.magnitude == pytest.approx((46_702_792_704 * 2 + 134_217_728 + 5_373_952)
                                            / 25_899_442_176, rel=1e-12)


def test_large_batch_decode_reads_every_expert():
    # batch 256: 8 (1 - 0.75^256) = 8 - 5e-32 experts: all 46.7B weights are read each step
    # (beside the KV cache and the 256 tokens' memory-bound kernels, 5,373,952 B each)
    ev = evaluate(["moe_decode_bytes", "kv_cache_bytes"], batch=256)
    weights = (ev.quantity("moe_decode_bytes") - ev.quantity("kv_cache_bytes")).to("B").magnitude
    assert weights == pytest.approx(46_702_792_704 * 2 + 256 * 5_373_952, rel=1e-12)


def test_routing_imbalance_stretches_only_expert_compute():
    # batch 512 decode: expert FLOPs = 2 x 32 x 2 x 176,160,768 x 512 = 1.1546e13 FLOP;
    # rho = 1.5 adds 0.5 x that: 5.7727e12 FLOP / 989.5e12 FLOP/s = 5.8340 ms
    names = ["moe_decode_compute_time", "moe_expert_decode_flops"]
    base = evaluate(names, batch=512)
    skew = evaluate(names, batch=512, moe_routing_imbalance=1.5)
    expert = 2 * 32 * 2 * 176_160_768 * 512
    assert base.quantity("moe_expert_decode_flops").to("FLOP").magnitude == pytest.approx(expert)
    extra = (skew.quantity("moe_decode_compute_time") - base.quantity("moe_decode_compute_time"))
    assert extra.to("ms").magnitude == pytest.approx(0.5 * expert / 989.5e12 * 1e3, rel=1e-12)


def test_all_to_all_time_by_hand_and_zero_without_expert_parallelism():
    # EP = 8, batch 64: one rank sends 64 x 2 x 4096 x 2 B / 8 = 131,072 B per all-to-all;
    # pairwise exchange: 7 x 5 us + 7/8 x 131,072 B / 50 GB/s = 35 us + 2.29376 us = 37.29376 us;
    # x 2 (dispatch, combine) x 32 MoE layers = 2.3868 ms
    ev = evaluate(["moe_decode_all_to_all_time"], batch=64, expert_parallel=8)
    per = 7 * 5e-6 + 7 / 8 * 131_072 / 50e9
    assert ev.quantity("moe_decode_all_to_all_time").to("s").magnitude == pytest.approx(
        2 * 32 * per, rel=1e-12)
    assert evaluate(["moe_decode_all_to_all_time"], batch=64).quantity(
        "moe_decode_all_to_all_time").magnitude == 0


def test_prefill_is_priced_on_active_parameters():
    # prefill FLOPs = wall 4's with active params: 2 x 12,879,925,248 x S + 2 x 32 x 4096 x S^2.
    # S = 1024: 2.6830e13 FLOP -> 27.11 ms, but every expert is touched, so 93.4 GB of weights
    # take 27.92 ms: still (just) memory-bound. S = 4096: 1.1002e14 FLOP -> 111.2 ms, compute-bound.
    short = evaluate(["moe_ttft", "moe_prefill_experts_touched"])
    assert short.binding("moe_ttft") == "Memory"
    assert short.quantity("moe_prefill_experts_touched").magnitude == pytest.approx(8.0)
    s = 4096
    ev = evaluate(["prefill_flops", "moe_ttft"], prompt_length=Q_(s, "token"),
                  context_length=Q_(s, "token"))
    flops = 2 * 12_879_925_248 * s + 2 * 32 * 4096 * s ** 2
    assert ev.quantity("prefill_flops").to("FLOP").magnitude == pytest.approx(flops, rel=1e-12)
    assert ev.binding("moe_ttft") == "Compute"
    assert ev.quantity("moe_ttft").to("s").magnitude == pytest.approx(flops / 989.5e12, rel=1e-12)
