"""Hypothesis properties of the workload records (MoE, diffusion, TinyML, encoders).

Values are drawn in each symbol's declared unit and converted to base units once; the compiled
kernels are called with ``raw`` for speed.
"""

import math

from hypothesis import assume, given, settings, strategies as st

from mlsysim_sym.equations import walls, workloads
from mlsysim_sym.symbols import info
from mlsysim_sym.system import System
from mlsysim_sym.units import base_factor

finite = dict(allow_nan=False, allow_infinity=False)


def kernel(system, outputs):
    k = system.compile(outputs)

    def run(values):  # the outputs, without the branch arguments raw() appends
        return k.raw(*[values[n] * base_factor(info(n).unit) for n in k.input_names])[:len(outputs)]
    return run


# ---------------------------------------------------------------------------------------- MoE
MOE = System.from_walls(walls.compute, walls.memory, walls.serving, workloads.moe)
touched = kernel(MOE, ["moe_decode_experts_touched"])
moe_step = kernel(MOE, ["moe_time_per_output_token", "moe_decode_bytes", "weight_bytes",
                        "kv_cache_bytes", "moe_ttft", "memory_kernel_bytes_per_token"])

routing = st.integers(1, 512).flatmap(lambda e: st.tuples(st.just(e), st.integers(1, e)))
moe_model = st.fixed_dictionaries({
    "moe_dense_parameters": st.floats(1e6, 1e11, **finite),
    "moe_expert_parameters": st.floats(1e5, 1e10, **finite),
    "moe_shared_experts": st.integers(0, 4), "moe_layers": st.integers(1, 96),
    "layers": st.integers(1, 96), "heads": st.integers(1, 128), "kv_heads": st.integers(1, 8),
    "head_dim": st.sampled_from([64, 128]), "hidden": st.integers(256, 16384),
    "ffn_width": st.integers(256, 65536), "context_length": st.integers(1, 32768),
    "prompt_length": st.integers(1, 32768),
    "peak_flops": st.floats(1, 5000, **finite), "memory_bandwidth": st.floats(10, 1e4, **finite),
    "memory_capacity": st.floats(1, 1e3, **finite), "expert_parallel": st.integers(1, 64),
    "matmul_ceiling": st.floats(0.3, 1, **finite),  # any measured matmul ceiling (wall 1)
    "moe_routing_imbalance": st.floats(1, 4, **finite), "link_bandwidth": st.floats(1, 1e3, **finite),
    "link_latency": st.floats(0.1, 50, **finite),
    # wall 4's tensor-parallel all-reduces (t = 1: zero)
    "tensor_parallel": st.integers(1, 16), "scale_up_bandwidth": st.floats(10, 2000, **finite),
    "scale_up_latency": st.floats(0.1, 50, **finite), "scale_up_peer_access": st.sampled_from([0, 1]),
    "allreduce_fixed_time": st.floats(0.0, 50, **finite),
    "unoverlapped_fraction": st.floats(0, 1, **finite),
})
FIXED = dict(bytes_per_parameter=2, kv_bytes_per_element=2, activation_bytes_per_element=2,
             compute_efficiency=0.6, memory_efficiency=0.8, communication_efficiency=0.7,
             fixed_overhead=0.0, embedding_parameters=0.0, embedding_row_width=0.0,
             dequantized_share=0.0, head_parameters=0.0, vocab_bytes_per_parameter=2,
             head_peak_share=1.0,
             # a pure decode step (no prompt chunk) within vLLM's token budget
             prefill_chunk_tokens=0, max_batched_tokens=8192, prefix_cache_hit_rate=0.0,
             attention_data_parallel=1.0)


@settings(max_examples=300, deadline=None)
@given(routing, st.integers(1, 100_000), st.integers(1, 1000))
def test_experts_touched_between_k_and_e_and_increasing_in_batch(ek, batch, extra):
    e, k = ek
    t1 = touched(dict(moe_experts=e, experts_per_token=k, batch=batch))[0]
    t2 = touched(dict(moe_experts=e, experts_per_token=k, batch=batch + extra))[0]
    assert k * (1 - 1e-12) <= t1 <= e * (1 + 1e-12)
    assert t2 >= t1 * (1 - 1e-12)
    if batch == 1:
        assert math.isclose(t1, k, rel_tol=1e-12)


@settings(max_examples=200, deadline=None)
@given(moe_model, routing, st.integers(1, 2048), st.integers(1, 2048))
def test_moe_decode_reads_at_most_all_weights_and_grows_with_batch(d, ek, batch, extra):
    values = {**d, **FIXED, "moe_experts": ek[0], "experts_per_token": ek[1], "batch": batch}
    tpot, moe_bytes, weights, kv, ttft, kernels = moe_step(values)
    assert all(math.isfinite(v) and v > 0 for v in (tpot, moe_bytes, ttft))
    # every weight at most, the KV cache and the batch's memory-bound kernels (wall 4)
    assert moe_bytes <= (weights + kv + batch * kernels) * (1 + 1e-9)
    bigger = moe_step({**values, "batch": batch + extra})
    assert bigger[0] >= tpot * (1 - 1e-12) and bigger[1] >= moe_bytes * (1 - 1e-12)


# ---------------------------------------------------------------------------------------- diffusion
DIFF = System.from_walls(workloads.diffusion)
diffusion = kernel(DIFF, ["diffusion_latency", "diffusion_step_flops", "image_throughput"])
pipeline = st.fixed_dictionaries({
    "parameters": st.floats(1e7, 2e10, **finite), "bytes_per_parameter": st.sampled_from([1, 2, 4]),
    "diffusion_backbone_flops": st.floats(1, 1e5, **finite),
    "diffusion_text_encoder_flops": st.floats(0, 1e3, **finite),
    "diffusion_vae_decoder_flops": st.floats(0, 1e4, **finite),
    "diffusion_text_encoder_bytes": st.floats(0, 10, **finite),
    "diffusion_vae_decoder_bytes": st.floats(0, 1, **finite),
    "batch": st.integers(1, 256), "diffusion_steps": st.integers(1, 1000),
    "peak_flops": st.floats(1, 5000, **finite), "memory_bandwidth": st.floats(10, 1e4, **finite),
    "memory_capacity": st.floats(1, 1e3, **finite), "compute_efficiency": st.floats(0.05, 1, **finite),
    "memory_efficiency": st.floats(0.05, 1, **finite), "fixed_overhead": st.floats(0, 5, **finite),
})


@settings(max_examples=300, deadline=None)
@given(pipeline)
def test_cfg_doubles_backbone_flops(d):
    one = diffusion({**d, "guidance_passes": 1})[1]
    two = diffusion({**d, "guidance_passes": 2})[1]
    assert math.isclose(two, 2 * one, rel_tol=1e-12)


@settings(max_examples=300, deadline=None)
@given(pipeline, st.integers(1, 2), st.integers(1, 500))
def test_diffusion_latency_positive_and_increasing_in_steps(d, g, extra):
    values = {**d, "guidance_passes": g}
    lat, _, rate = diffusion(values)
    assert math.isfinite(lat) and lat > 0 and rate > 0
    more = diffusion({**values, "diffusion_steps": d["diffusion_steps"] + extra})[0]
    assert more > lat


# ---------------------------------------------------------------------------------------- TinyML
TINY = System.from_walls(workloads.tinyml)
tiny = kernel(TINY, ["tinyml_latency", "tinyml_sram_utilization", "tinyml_flash_utilization"])
mcu = st.fixed_dictionaries({
    "parameters": st.floats(1e3, 2e6, **finite), "bytes_per_parameter": st.sampled_from([0.5, 1, 2]),
    "tinyml_macs": st.floats(1e3, 1e9, **finite), "tinyml_peak_activation_bytes": st.floats(0, 2048, **finite),
    "mcu_clock_frequency": st.floats(8, 1000, **finite), "tinyml_cycles_per_mac": st.floats(0.05, 50, **finite),
    "mcu_sram_capacity": st.floats(16, 4096, **finite), "mcu_sram_bandwidth": st.floats(10, 1e4, **finite),
    "mcu_flash_capacity": st.floats(64, 16384, **finite),
    "mcu_flash_read_bytes_per_cycle": st.floats(0.1, 32, **finite), "fixed_overhead": st.floats(0, 1, **finite),
    "tinyml_output_elements": st.floats(0, 1e7, **finite),
    "tinyml_dense_macs": st.floats(0, 1e9, **finite), "tinyml_dense_extra_slots": st.floats(0, 1, **finite),
    "tinyml_depthwise_macs": st.floats(0, 1e9, **finite),
    "tinyml_depthwise_extra_slots": st.floats(0, 3, **finite),
})


@settings(max_examples=400, deadline=None)
@given(mcu, st.floats(1.0, 64.0, **finite))
def test_more_sram_is_never_slower_nor_less_feasible(d, factor):
    lat, sram_u, flash_u = tiny(d)
    assert math.isfinite(lat) and lat > 0
    lat2, sram_u2, flash_u2 = tiny({**d, "mcu_sram_capacity": d["mcu_sram_capacity"] * factor})
    assert lat2 <= lat * (1 + 1e-12)
    if sram_u <= 1 and flash_u <= 1:
        assert sram_u2 <= 1 and flash_u2 <= 1


@settings(max_examples=300, deadline=None)
@given(mcu, st.floats(1.01, 10, **finite))
def test_faster_clock_never_slower(d, factor):
    assume(d["tinyml_macs"] > 0)
    lat = tiny(d)[0]
    assert tiny({**d, "mcu_clock_frequency": d["mcu_clock_frequency"] * factor})[0] <= lat


@settings(max_examples=300, deadline=None)
@given(mcu, st.floats(1.01, 10, **finite))
def test_more_output_elements_never_faster(d, factor):
    # each output element adds a requantization epilogue: more outputs, never a shorter latency
    lat = tiny(d)[0]
    more = {**d, "tinyml_output_elements": d["tinyml_output_elements"] * factor + 1}
    assert tiny(more)[0] >= lat * (1 - 1e-12)


@settings(max_examples=300, deadline=None)
@given(mcu, st.floats(0.0, 1.0, **finite))
def test_dense_layers_never_faster_than_convolutions(d, share):
    # a fully connected MAC costs 1 + x_fc convolution MACs (no weight reuse across output
    # columns in the SIMD kernel): moving MACs into dense layers never shortens the latency
    conv = tiny({**d, "tinyml_dense_macs": 0.0})[0]
    dense = tiny({**d, "tinyml_dense_macs": d["tinyml_macs"] * share})[0]
    assert dense >= conv * (1 - 1e-12)


@settings(max_examples=300, deadline=None)
@given(mcu, st.floats(0.0, 1.0, **finite))
def test_depthwise_layers_never_faster_than_convolutions(d, share):
    # a depthwise MAC under CMSIS-NN's kernel costs 1 + x_dw convolution MACs (x_dw >= 0):
    # moving MACs into depthwise layers never shortens the latency
    conv = tiny({**d, "tinyml_depthwise_macs": 0.0})[0]
    dw = tiny({**d, "tinyml_depthwise_macs": d["tinyml_macs"] * share})[0]
    assert dw >= conv * (1 - 1e-12)


# ---------------------------------------------------------------------------------------- encoders
ENC = System.from_walls(workloads.encoders)
encoder = kernel(ENC, ["encoder_latency", "encoder_throughput", "encoder_sample_flops"])
arch = st.fixed_dictionaries({
    "parameters": st.floats(1e6, 1e10, **finite), "encoder_dense_parameters": st.floats(1e6, 1e10, **finite),
    "encoder_sequence_length": st.integers(1, 8192), "layers": st.integers(1, 48),
    "heads": st.integers(1, 64), "head_dim": st.sampled_from([32, 64, 128]),
    "hidden": st.integers(64, 8192), "ffn_width": st.integers(64, 32768),
    "bytes_per_parameter": st.sampled_from([1, 2, 4]), "activation_bytes_per_element": st.sampled_from([1, 2, 4]),
    "batch": st.integers(1, 4096), "peak_flops": st.floats(1, 5000, **finite),
    "memory_bandwidth": st.floats(10, 1e4, **finite), "memory_capacity": st.floats(1, 1e3, **finite),
    "compute_efficiency": st.floats(0.05, 1, **finite), "memory_efficiency": st.floats(0.05, 1, **finite),
    "pass_overhead": st.floats(0, 1, **finite),
    # an eager framework's unfused kernels and host operators (0: a compiled engine)
    "encoder_sample_unfused_elements": st.sampled_from([0.0, 5.2e7]) | st.floats(0, 1e8, **finite),
    "encoder_host_ops": st.sampled_from([0.0, 174.0]) | st.floats(0, 1e3, **finite),
    "host_op_time": st.floats(0, 50, **finite),
})


@settings(max_examples=300, deadline=None)
@given(arch, st.integers(1, 4096))
def test_encoder_latency_positive_monotone_in_batch_and_below_compute_roof(d, extra):
    lat, rate, w1 = encoder(d)
    assert math.isfinite(lat) and lat > 0
    # (at a few ulps: a host-bound pass's latency is the same sum, rounded per batch size)
    assert encoder({**d, "batch": d["batch"] + extra})[0] >= lat * (1 - 1e-12)
    # the device never runs ahead of the host issuing the operators (s: host_op_time in us,
    # pass_overhead in ms)
    host = d["encoder_host_ops"] * d["host_op_time"] * 1e-6 + d["pass_overhead"] * 1e-3
    assert lat >= host * (1 - 1e-9)
    # unfused kernels and the host's issue only add time
    assert lat >= encoder({**d, "encoder_sample_unfused_elements": 0.0,
                           "encoder_host_ops": 0.0})[0] * (1 - 1e-9)
    # throughput never beats the compute roof: R x eta / W_1 samples per second
    roof = d["peak_flops"] * 1e12 * d["compute_efficiency"] / w1
    assert rate <= roof * (1 + 1e-9)
