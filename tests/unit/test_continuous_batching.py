"""Continuous batching (issue 16): the fixed point by hand, Little's law, saturation, and the
done-when targets of predict / serve / size_fleet on one serving system.

Llama-3-8B shape from its Hugging Face config.json (32 layers, 32 query heads, 8 KV heads,
head_dim 128, hidden 4096, SwiGLU FFN 14336; 8.03e9 parameters, model card). H100 SXM: 3.35 TB/s
HBM3, 989.4 TFLOP/s dense FP16 (NVIDIA H100 datasheet), 80 GiB (nvidia-smi: 81,559 MiB).
vLLM defaults (vllm/engine/arg_utils.py, docs "Engine Arguments"): gpu_memory_utilization 0.9,
max_num_batched_tokens 8192 on >= 70 GiB GPUs.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlsysim_sym as ms
from mlsysim_sym.tasks.serving import serving_kernel, serving_system
from mlsysim_sym.tasks._core.inputs import SERVING_INPUTS as _ALL_INPUTS
from mlsysim_sym.tasks._core.inputs import NO_SPECULATION
from mlsysim_sym.tasks._core.knobs import default_efficiency as _default_efficiency
from mlsysim_sym.units import Q_

LLAMA3_8B = dict(parameters=Q_(8.03e9, "param"), active_parameters=Q_(8.03e9, "param"),
                 layers=32, heads=32, kv_heads=8, head_dim=128, hidden=4096, ffn_width=2 * 14336,
                 embedding_parameters=0, embedding_row_width=0,
                 dequantized_share=0, head_parameters=0,
                 vocab_bytes_per_parameter=2, head_peak_share=1)
# matmul_ceiling 1: the hand arithmetic runs the GEMMs against the datasheet peak
H100 = dict(peak_flops=Q_(989.4, "TFLOP/s"), memory_bandwidth=Q_(3.35, "TB/s"),
            memory_capacity=Q_(80, "GiB"), matmul_ceiling=1.0)
FP16 = dict(bytes_per_parameter=Q_(2, "B/param"), kv_bytes_per_element=Q_(2, "B"),
            activation_bytes_per_element=Q_(2, "B"))
ENGINE = dict(tensor_parallel=1, scale_up_bandwidth=Q_(450, "GB/s"), scale_up_latency=Q_(5, "us"),
              scale_up_peer_access=0, allreduce_fixed_time=Q_(0, "us"),
              communication_efficiency=1.0, unoverlapped_fraction=0.0, compute_efficiency=0.5,
              memory_efficiency=0.8, fixed_overhead=Q_(1, "ms"),
              max_batched_tokens=Q_(8192, "token"), memory_reserve=0.9,
              max_running_sequences=1e6, latency_percentile=0.99, prefix_cache_hit_rate=0.0,
              attention_data_parallel=1, sharded_parameters=Q_(0, "param"), **NO_SPECULATION)
LOAD = dict(request_rate=Q_(10, "request/s"), serving_replicas=1,
            prompt_length=Q_(1024, "token"), output_length=Q_(128, "token"))


def _evaluate(outputs, **over):
    values = {**LLAMA3_8B, **H100, **FP16, **ENGINE, **LOAD, **over}
    k = serving_system().compile(outputs)
    return k.evaluate(**{n: values[n] for n in k.input_names})


def test_fixed_point_by_hand():
    # Agrawal et al. 2024 (Sarathi-Serve) hybrid steps at lambda = 10 req/s, n_in 1024, n_out 128:
    # A_m = weights / (B eta_m) = 16.06e9 / (3.35e12 x 0.8)                  = 5.99254 ms
    # f_d = 2 x 8.03e9 + 4 x 32 x 32 x 128 x (1024 + 64)                    = 16.630425344e9
    # f_p = 2 x 8.03e9 + 2 x 32 x 32 x 128 x 1024                           = 16.328435456e9
    # w_c = (128 f_d + 1024 f_p) / (989.4e12 x 0.5)                          = 38.1019 ms
    # w_m = (131072 B x (128 x 1088 + 1024) + 5,373,952 B x (128 + 1024)) / (3.35e12 x 0.8)
    #     = 9.7497 ms: the KV traffic and each token's memory-bound kernels (wall 4: 32 x 2 B x
    #       (10 x 4096 + 1.5 x 28672), 2 norms, 2 residual adds, SwiGLU)
    # phi = 0, t = 1: T*_c = 1 ms / (1 - 10 w_c), T*_m = (A_m + 1 ms) / (1 - 10 w_m)
    a_m = 16.06e9 / (3.35e12 * 0.8)
    f_d = 2 * 8.03e9 + 4 * 32 * 32 * 128 * 1088
    f_p = 2 * 8.03e9 + 2 * 32 * 32 * 128 * 1024
    w_c = (128 * f_d + 1024 * f_p) / (989.4e12 * 0.5)
    kernels = 32 * 2 * (10 * 4096 + 1.5 * 2 * 14336)
    w_m = (131072 * (128 * 1088 + 1024) + kernels * (128 + 1024)) / (3.35e12 * 0.8)
    t_c, t_m = 1e-3 / (1 - 10 * w_c), (a_m + 1e-3) / (1 - 10 * w_m)
    assert t_m == pytest.approx(7.6986e-3, rel=1e-4) and t_c < t_m
    ev = _evaluate(["loaded_step_time", "running_batch", "loaded_prefill_chunk"])
    assert ev.quantity("loaded_step_time").to("s").magnitude == pytest.approx(t_m, rel=1e-12)
    assert ev.binding("loaded_step_time") == "Memory"
    # Little's law: B* = lambda n_out T*, c* = lambda n_in T*
    assert ev.value("running_batch") == pytest.approx(10 * 128 * t_m, rel=1e-12)
    assert ev.quantity("loaded_prefill_chunk").to("token").magnitude == pytest.approx(
        10 * 1024 * t_m, rel=1e-12)


def test_the_fixed_point_is_wall_4s_step_at_its_own_batch_and_chunk():
    ev = _evaluate(["loaded_step_time", "running_batch", "loaded_prefill_chunk"],
                   unoverlapped_fraction=0.5, tensor_parallel=2, request_rate=Q_(30, "request/s"))
    b, c = ev.value("running_batch"), ev.quantity("loaded_prefill_chunk")
    step = _evaluate(["time_per_output_token"], unoverlapped_fraction=0.5, tensor_parallel=2,
                     batch=b, context_length=Q_(1024 + 64, "token"), prefill_chunk_tokens=c)
    assert step.value("time_per_output_token") == pytest.approx(ev.value("loaded_step_time"),
                                                                rel=1e-9)


def test_kv_capacity_and_saturation_by_hand():
    # KV pool = 0.9 x 80 GiB - 16.06e9 - 8192 x (4096 + 28672) x 2 B
    #         = 77.309e9 - 16.06e9 - 0.537e9 = 60.712e9 B; a sequence at full context holds
    #           131,072 B x 1152 tokens = 150.99e6 B -> 402 sequences
    pool = 0.9 * 80 * 2**30 - 16.06e9 - 8192 * 32768 * 2
    slots = math.floor(pool / (131072 * 1152))
    ev = _evaluate(["sequence_capacity", "kv_saturation_rate", "roof_saturation_rate",
                    "saturation_rate"])
    assert ev.value("sequence_capacity") == slots == 402
    # the batch fills the slots at lambda = B / (n_out A_i + B K_i), the smaller over branches
    a_m = 16.06e9 / (3.35e12 * 0.8) + 1e-3
    f_d = 2 * 8.03e9 + 4 * 32 * 32 * 128 * 1088
    f_p = 2 * 8.03e9 + 2 * 32 * 32 * 128 * 1024
    w_c = (128 * f_d + 1024 * f_p) / (989.4e12 * 0.5)
    w_m = 131072 * (128 * 1088 + 1024) / (3.35e12 * 0.8)
    kv = min(slots / (128 * 1e-3 + slots * w_c), slots / (128 * a_m + slots * w_m))
    assert ev.quantity("kv_saturation_rate").to("request/s").magnitude == pytest.approx(kv, rel=1e-9)
    assert ev.quantity("roof_saturation_rate").to("request/s").magnitude == pytest.approx(
        1 / w_c, rel=1e-9)
    assert ev.quantity("saturation_rate") <= ev.quantity("roof_saturation_rate")


# ------------------------------------------------------------------------- done-when targets
def test_size_fleet_llama3_70b_at_1000_qps():
    kw = dict(qps=1000, input_tokens=1024, output_tokens=256, slo={"ttft": "2 s", "tpot": "50 ms"})
    # by hand (issue 16): prefill 1000 x 2 x 70.6e9 x 1024 = 1.45e17 FLOP/s + decode 3.6e16 FLOP/s
    f16 = ms.size_fleet("llama-3-70b", "h100", **kw)
    assert f16.feasible and 300 <= f16.devices <= 1000, f16
    f8 = ms.size_fleet("llama-3-70b", "h100", precision="fp8", **kw)
    assert f8.feasible and 150 <= f8.devices <= 500, f8


def test_serve_llama3_8b_saturates_between_20_and_32_requests_per_second():
    r = ms.serve("llama-3-8b", "h100", qps=1, input_tokens=1024, output_tokens=128)
    assert 20 <= r.capacity.to("request/s").magnitude <= 32
    # beyond it the replica is flagged, not NaN
    over = ms.serve("llama-3-8b", "h100", qps=40, input_tokens=1024, output_tokens=128)
    assert not over.feasible and math.isinf(over.ttft.magnitude)


def test_max_concurrent_4k_sequences_of_llama3_8b_on_one_h100():
    r = ms.serve("llama-3-8b", "h100", qps=0.1, input_tokens=4000, output_tokens=96)
    assert 100 <= r.batch <= 125
    # (0.9 x 80 GiB - 16.06 GB weights - 0.537 GB workspace) / 536.9 MB per 4096-token sequence
    assert r.batch == math.floor((0.9 * 80 * 2**30 - 2 * 8.03e9 - 8192 * 32768 * 2)
                                 / (131072 * 4096))


def test_predict_serve_and_size_fleet_agree_on_footprint_and_step():
    n_in, n_out, b = 1024, 128, 64
    r = ms.serve("llama-3-8b", "h100", qps=1e-6, input_tokens=n_in, output_tokens=n_out, batch=b)
    lam = r.saturation.to("request/s").magnitude * (1 - 1e-12)  # the running batch fills b slots
    at = ms.serve("llama-3-8b", "h100", qps=lam, input_tokens=n_in, output_tokens=n_out, batch=b)
    assert at.running_batch == pytest.approx(b, rel=1e-6)
    p = ms.predict("llama-3-8b", "h100", batch=b, seq_len=n_in + n_out // 2, prompt_len=n_in,
                   prefill_tokens=b * n_in // n_out)
    assert p.time_per_output_token.to("ms").magnitude == pytest.approx(
        at.time_per_output_token.to("ms").magnitude, rel=1e-6)
    full = ms.predict("llama-3-8b", "h100", batch=b, seq_len=n_in + n_out)
    assert full.memory_footprint.to("GB").magnitude == pytest.approx(
        at.memory_footprint.to("GB").magnitude, rel=1e-12)
    f = ms.size_fleet("llama-3-70b", "h100", qps=50, input_tokens=n_in, output_tokens=n_out,
                      slo={"ttft": "2 s", "tpot": "60 ms"})
    s = ms.serve("llama-3-70b", "h100", qps=50, input_tokens=n_in, output_tokens=n_out,
                 replicas=f.replicas, tp=f.tp, batch=4096)
    assert s.batch == f.batch and s.feasible
    assert s.time_per_output_token.to("ms").magnitude == pytest.approx(
        f.time_per_output_token.to("ms").magnitude, rel=1e-12)
    assert s.memory_footprint.to("GB").magnitude == pytest.approx(
        f.memory_footprint.to("GB").magnitude, rel=1e-12)
    q = ms.predict("llama-3-70b", "h100", batch=f.batch, seq_len=n_in + n_out, tp=f.tp)
    assert q.memory_footprint.to("GB").magnitude == pytest.approx(
        f.memory_footprint.to("GB").magnitude, rel=1e-12)


@pytest.mark.parametrize("tp", [1, 2, 4])
def test_tpot_elasticity_wrt_tensor_parallel_matches_a_finite_difference(tp):
    r = ms.predict("llama-3-70b", "h100", batch=16, seq_len=2048, tp=tp)
    e = ms.sensitivity(r, "time_per_output_token")["tensor_parallel"]
    assert e < 0
    args = [r.base_inputs()[n] for n in _ALL_INPUTS]
    i, h = _ALL_INPUTS.index("tensor_parallel"), 1e-4
    kernel = serving_kernel()
    slot = kernel.output_names.index("time_per_output_token")
    up = list(args); up[i] = tp * (1 + h)
    down = list(args); down[i] = tp * (1 - h)
    fd = (math.log(kernel.raw(*up)[slot]) - math.log(kernel.raw(*down)[slot])) \
        / (math.log(1 + h) - math.log(1 - h))
    assert e == pytest.approx(fd, rel=0.02)


# ---------------------------------------------------------------------------- properties
CHIPS = ("h100", "a100-80gb", "h200", "l40s", "mi300x")
loads = st.fixed_dictionaries({
    "model": st.sampled_from(["llama-3-8b", "llama-3-70b"]), "chip": st.sampled_from(CHIPS),
    "qps": st.floats(0.5, 2000), "n_in": st.integers(16, 8192), "n_out": st.integers(1, 1024),
})


def _load_flops(model, qps, n_in, n_out):
    """FLOP/s of the load by hand: 2 N_a per token + causal prefill attention 2 L H d_h n_in^2
    + decode attention 4 L H d_h per output token at the mean context n_in + n_out / 2."""
    m = ms.registry.model(model)
    n_a = m.active_parameters.to("param").magnitude
    lhd = m.layers * m.heads * m.head_dim
    return qps * (2 * n_a * (n_in + n_out) + 2 * lhd * n_in ** 2
                  + 4 * lhd * n_out * (n_in + n_out / 2))


@settings(max_examples=25, deadline=None)
@given(loads)
def test_a_sized_fleet_can_execute_its_load(d):
    f = ms.size_fleet(d["model"], d["chip"], qps=d["qps"], input_tokens=d["n_in"],
                      output_tokens=d["n_out"], slo={"ttft": "30 s", "tpot": "500 ms"})
    if not f.feasible:
        return
    peak = f.hardware.peak_flops("fp16").to("FLOP/s").magnitude
    eta = _default_efficiency(f.hardware, "fp16")[0]
    assert f.devices * peak * eta >= _load_flops(d["model"], d["qps"], d["n_in"], d["n_out"])


@settings(max_examples=30, deadline=None)
@given(loads, st.floats(1.01, 3.0))
def test_littles_law_and_tpot_monotone_in_the_rate(d, k):
    kw = dict(input_tokens=d["n_in"], output_tokens=d["n_out"])
    lo = ms.serve(d["model"], d["chip"], qps=d["qps"], replicas=64, **kw)
    hi = ms.serve(d["model"], d["chip"], qps=d["qps"] * k, replicas=64, **kw)
    if lo.feasible:
        t = lo.time_per_output_token.to("s").magnitude
        assert lo.running_batch == pytest.approx(d["qps"] / 64 * d["n_out"] * t, rel=1e-9)
        # saturation: the steps never run faster than the chips' calibrated peak
        peak = lo.hardware.peak_flops("fp16").to("FLOP/s").magnitude
        eta = _default_efficiency(lo.hardware, "fp16")[0]
        assert _load_flops(d["model"], d["qps"], d["n_in"], d["n_out"]) <= 64 * peak * eta
        assert hi.time_per_output_token >= lo.time_per_output_token
