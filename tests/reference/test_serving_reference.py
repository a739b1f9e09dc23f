"""Wall 4 against hand-computed values (arithmetic shown) and the published formulas.

Llama-3-8B shape from its Hugging Face config.json (meta-llama/Meta-Llama-3-8B): 32 layers,
32 query heads, 8 KV heads, head_dim 128, hidden 4096, FFN 14336 (SwiGLU); 8.03e9 parameters
(model card). H100 SXM: 3.35 TB/s HBM3, 989.4 TFLOP/s dense BF16/FP16 (NVIDIA H100 datasheet,
Technical Specifications table).
"""

import pytest

from mlsysim_sym.equations import walls
from mlsysim_sym.system import System
from mlsysim_sym.units import Q_

LLAMA3_8B = dict(parameters=Q_(8.03e9, "param"), active_parameters=Q_(8.03e9, "param"),
                 layers=32, heads=32, kv_heads=8, head_dim=128, hidden=4096, ffn_width=2 * 14336,
                 embedding_parameters=0, embedding_row_width=0,
                 dequantized_share=0, head_parameters=0,
                 vocab_bytes_per_parameter=2, head_peak_share=1)
# matmul_ceiling 1: the hand arithmetic below runs the GEMMs against the datasheet peak (the
# registry's measured ceiling, 0.801 for the H100 SXM, is tested on its own below)
H100 = dict(peak_flops=Q_(989.4, "TFLOP/s"), memory_bandwidth=Q_(3.35, "TB/s"),
            memory_capacity=Q_(80, "GB"), matmul_ceiling=1.0)
FP16 = dict(bytes_per_parameter=Q_(2, "B/param"), kv_bytes_per_element=Q_(2, "B"),
            activation_bytes_per_element=Q_(2, "B"))
# one device (H100 SXM scale-up link 450 GB/s): the tensor-parallel all-reduces are exactly 0
# scale_up_peer_access 0: the ring (NCCL), whose arithmetic the TP tests below spell out
TP1 = dict(tensor_parallel=1, scale_up_bandwidth=Q_(450, "GB/s"), scale_up_latency=Q_(5, "us"),
           communication_efficiency=1.0, scale_up_peer_access=0,
           allreduce_fixed_time=Q_(0, "us"))
# the classic roofline (the shorter roof fully hidden) unless a test says otherwise
CLASSIC = dict(unoverlapped_fraction=0.0)
# a pure decode step (no prompt chunk) with vLLM's token budget on large GPUs
STEP = dict(prefill_chunk_tokens=Q_(0, "token"), max_batched_tokens=Q_(8192, "token"),
            prefix_cache_hit_rate=0, attention_data_parallel=1)


@pytest.fixture(scope="module")
def system():
    return System.from_walls(walls.compute, walls.memory, walls.serving)


def evaluate(system, outputs, **over):
    values = {**LLAMA3_8B, **H100, **FP16, **TP1, **CLASSIC, **STEP, "compute_efficiency": 1.0,
              "memory_efficiency": 1.0,
              "fixed_overhead": Q_(0, "ms"), "batch": 1, "prompt_length": Q_(2048, "token"),
              "context_length": Q_(2048, "token")}
    values.update(over)
    k = system.compile(outputs)
    return k.evaluate(**{n: values[n] for n in k.input_names})


def test_kv_cache_llama3_8b_2048_tokens(system):
    # 2 (K,V) x 32 layers x 8 kv heads x 128 dims x 2048 tokens x 1 seq x 2 bytes
    # = 268,435,456 B = exactly 256 MiB
    ev = evaluate(system, ["kv_cache_bytes"])
    assert ev.quantity("kv_cache_bytes").to("MiB").magnitude == pytest.approx(256.0, rel=1e-12)


def test_kv_cache_scales_with_gqa_ratio(system):
    # MHA (32 KV heads) holds 4x the cache of GQA with 8 KV heads (Ainslie et al.)
    gqa = evaluate(system, ["kv_cache_bytes"]).quantity("kv_cache_bytes")
    mha = evaluate(system, ["kv_cache_bytes"], kv_heads=32).quantity("kv_cache_bytes")
    assert (mha / gqa).to("").magnitude == pytest.approx(4.0)


def test_decode_time_batch1_h100_is_weight_read_time(system):
    # bytes: weights 8.03e9 x 2 = 16.06e9 B, KV 268,435,456 B, the token's memory-bound
    # kernels (2 norms, 2 residual adds, SwiGLU; Korthikanti et al. Sec. 4.1):
    # 32 x 2 B x (10 x 4096 + 1.5 x 28672) = 5,373,952 B -> 16.333809408e9 B
    # memory time = 16.333809408e9 B / 3.35e12 B/s = 4.8758 ms
    # FLOPs: 2 x 8.03e9 + 4 x 32 x 32 x 128 x 2048 = 16.06e9 + 1.073741824e9 = 17.133741824e9
    # compute time = 17.13e9 / 989.4e12 = 17.3 us  -> memory-bound
    ev = evaluate(system, ["time_per_output_token", "decode_compute_time", "decode_memory_time"])
    tpot = ev.quantity("time_per_output_token").to("ms").magnitude
    assert tpot == pytest.approx(16.333809408e9 / 3.35e12 * 1e3, rel=1e-12)
    assert ev.quantity("decode_compute_time").to("us").magnitude == pytest.approx(
        17.133741824e9 / 989.4e12 * 1e6, rel=1e-12)
    assert ev.binding("time_per_output_token") == "Memory"


def test_unoverlapped_share_of_the_shorter_roof_adds_to_the_step(system):
    # the same batch-1 decode with phi = 0.4: T = max(4.8742 ms, 17.3 us) + 0.4 x 17.3 us;
    # prefill of 2048 tokens (compute-bound: 3.399e13 FLOP / 989.4e12 = 34.35 ms against
    # 16.06e9 + 268,435,456 + 2048 x 5,373,952 kernel B = 27.334289152e9 B / 3.35e12 = 8.16 ms
    # of traffic) pays 0.4 x the traffic time
    ev = evaluate(system, ["time_per_output_token", "ttft"], unoverlapped_fraction=0.4)
    m, c = 16.333809408e9 / 3.35e12, 17.133741824e9 / 989.4e12
    assert ev.quantity("time_per_output_token").to("s").magnitude == pytest.approx(
        m + 0.4 * c, rel=1e-12)
    pc, pm = 3.3990391627776e13 / 989.4e12, 27.334289152e9 / 3.35e12
    assert ev.quantity("ttft").to("s").magnitude == pytest.approx(pc + 0.4 * pm, rel=1e-12)
    assert ev.binding("time_per_output_token") == "Memory" and ev.binding("ttft") == "Compute"


def test_decode_becomes_compute_bound_at_large_batch(system):
    # Crossover where 2 N B / R = (2N + KV(B)) / BW: at ~S=1 context, B* ~ R/BW = 295 (ops:byte).
    small = evaluate(system, ["time_per_output_token"], batch=8, context_length=Q_(16, "token"))
    large = evaluate(system, ["time_per_output_token"], batch=1024, context_length=Q_(16, "token"))
    assert small.binding("time_per_output_token") == "Memory"
    assert large.binding("time_per_output_token") == "Compute"


def test_prefill_flops_llama3_8b(system):
    # 2 N S + 2 L H d_h S^2 = 2 x 8.03e9 x 2048 + 2 x 32 x 32 x 128 x 2048^2
    #                       = 3.289088e13 + 1.099511627776e12 = 3.3990391627776e13 FLOP
    ev = evaluate(system, ["prefill_flops", "ttft"])
    assert ev.quantity("prefill_flops").to("FLOP").magnitude == pytest.approx(3.3990391627776e13, rel=1e-12)
    assert ev.binding("ttft") == "Compute"
    assert ev.quantity("ttft").to("ms").magnitude == pytest.approx(3.3990391627776e13 / 989.4e12 * 1e3)


def test_footprint_is_weights_plus_kv_plus_activations(system):
    # activations = 1 x 2048 x (4096 + 28672) x 2 B = 134,217,728 B
    ev = evaluate(system, ["memory_footprint", "activation_bytes", "memory_utilization"])
    assert ev.quantity("activation_bytes").to("B").magnitude == pytest.approx(134217728)
    total = 16.06e9 + 268435456 + 134217728
    assert ev.quantity("memory_footprint").to("B").magnitude == pytest.approx(total)
    assert ev.quantity("memory_utilization").magnitude == pytest.approx(total / 80e9)


def test_decode_activations_are_bounded_by_the_token_budget(system):
    # batch 80 at 4K: the old footprint charged 80 x 4096 x (4096 + 28672) x 2 B = 21.47 GB;
    # the engine runs at most max_num_batched_tokens = 8192 tokens per step:
    # 8192 x 32768 x 2 B = 536,870,912 B
    ev = evaluate(system, ["activation_bytes"], batch=80, prompt_length=Q_(4096, "token"),
                  context_length=Q_(4096, "token"))
    assert ev.quantity("activation_bytes").to("B").magnitude == pytest.approx(536870912)


def test_tensor_parallel_shards_weights_and_replicates_kv_heads(system):
    # per device at t = 4: weights 16.06e9 / 4; KV 8 heads / 4 = 2 heads per rank:
    # 268,435,456 / 4 B; activations 2048 x (4096 + 28672 / 4) x 2 B = 46,137,344 B
    ev = evaluate(system, ["memory_footprint", "kv_cache_bytes"], tensor_parallel=4)
    assert ev.quantity("memory_footprint").to("B").magnitude == pytest.approx(
        16.06e9 / 4 + 268435456 / 4 + 46137344)
    # t = 16 > 8 KV heads: each rank still holds one whole head, the group 16 heads:
    # 2 x 32 x 16 x 128 x 2048 x 2 B = 536,870,912 B
    ev = evaluate(system, ["kv_cache_bytes"], tensor_parallel=16)
    assert ev.quantity("kv_cache_bytes").to("B").magnitude == pytest.approx(536870912)


def test_a_decode_step_carries_a_prompt_chunk(system):
    # Sarathi-Serve hybrid batch: 512 prompt tokens of a 2048-token prompt ride along.
    # extra FLOPs per prompt token = 2 x 8.03e9 + 2 x 32 x 32 x 128 x 2048 = 16.597e9
    #   (attention over S_p/2 keys on average, two matmuls) -> x 512 = 8.4978e12
    # extra bytes = the chunk's KV, 512 x 131,072 B = 67,108,864 B, and its tokens' memory-bound
    # kernels, 512 x 5,373,952 B = 2,751,463,424 B: 2,818,572,288 B
    base = evaluate(system, ["decode_flops", "decode_bytes"])
    step = evaluate(system, ["decode_flops", "decode_bytes"],
                    prefill_chunk_tokens=Q_(512, "token"))
    extra = (2 * 8.03e9 + 2 * 32 * 32 * 128 * 2048) * 512
    assert (step.quantity("decode_flops") - base.quantity("decode_flops")).to("FLOP").magnitude \
        == pytest.approx(extra, rel=1e-12)
    assert (step.quantity("decode_bytes") - base.quantity("decode_bytes")).to("B").magnitude \
        == pytest.approx(2_818_572_288, rel=1e-12)


def test_tensor_parallel_all_reduces_by_hand(system):
    # Megatron TP (Shoeybi et al. Sec. 3): two all-reduces of the layer output per layer, each a
    # ring (Thakur et al.): 2 (t - 1) alpha + 2 (t - 1)/t x bytes / B. t = 8, B = 450 GB/s,
    # alpha = 5 us, fp16 activations.
    # decode, batch 1: 1 x 4096 x 2 B = 8192 B -> 14 x 5e-6 + 2 x 7/8 x 8192 / 450e9
    #   = 70.0318578 us, x 2 x 32 layers = 4.482039 ms, added to the memory roof (of one rank)
    # prefill, 2048 tokens: 16,777,216 B -> 70 us + 65.2449 us = 135.2449 us, x 64 = 8.6557 ms
    out = ["tp_decode_comm_time", "tp_prefill_comm_time", "time_per_output_token",
           "decode_memory_time"]
    ev = evaluate(system, out, tensor_parallel=8)
    per_decode = 14 * 5e-6 + 2 * 7 / 8 * 8192 / 450e9
    per_prefill = 14 * 5e-6 + 2 * 7 / 8 * 2048 * 8192 / 450e9
    assert ev.quantity("tp_decode_comm_time").to("s").magnitude == pytest.approx(
        2 * 32 * per_decode, rel=1e-12)
    assert ev.quantity("tp_prefill_comm_time").to("s").magnitude == pytest.approx(
        2 * 32 * per_prefill, rel=1e-12)
    tpot = ev.quantity("time_per_output_token") - ev.quantity("decode_memory_time")
    assert tpot.to("s").magnitude == pytest.approx(2 * 32 * per_decode, rel=1e-12)
    # one device: no collective, whatever the link
    one = evaluate(system, out[:2], scale_up_latency=Q_(1, "ms"))
    assert one.quantity("tp_decode_comm_time").magnitude == 0
    assert one.quantity("tp_prefill_comm_time").magnitude == 0
