"""Hypothesis over symbol bounds: positive finite outputs, monotone step time, vector == scalar."""

import math

import numpy as np
from hypothesis import given, settings, strategies as st

from mlsysim_sym.equations import walls
from mlsysim_sym.system import System

SYSTEM = System.from_walls(walls.compute, walls.memory, walls.serving)
K = SYSTEM.compile(["ttft", "time_per_output_token", "memory_footprint", "decode_throughput"])

positive = dict(allow_nan=False, allow_infinity=False)
inputs = st.fixed_dictionaries({
    "parameters": st.floats(1e6, 2e12, **positive),
    "active_fraction": st.floats(0.01, 1.0, **positive),
    "layers": st.integers(1, 200), "heads": st.integers(1, 256), "kv_ratio": st.integers(0, 5),
    "head_dim": st.sampled_from([32, 64, 80, 96, 128, 256]), "hidden": st.integers(64, 32768),
    "ffn_width": st.integers(64, 131072), "batch": st.integers(1, 4096),
    "prompt_length": st.integers(1, 131072), "context_length": st.integers(1, 131072),
    "bytes": st.sampled_from([0.5, 1.0, 2.0, 4.0]),
    "peak_flops": st.floats(1e9, 1e16, **positive), "memory_bandwidth": st.floats(1e8, 1e13, **positive),
    "memory_capacity": st.floats(1e6, 1e12, **positive),
    # any measured matmul ceiling (wall 1: the weight GEMMs' share of the peak)
    "matmul_ceiling": st.floats(0.3, 1.0, **positive),
    "compute_efficiency": st.floats(0.01, 1.0, **positive),
    "memory_efficiency": st.floats(0.01, 1.0, **positive),
    "fixed_overhead": st.floats(0.0, 1e-2, **positive),
    # tensor parallelism (t = 1 makes the all-reduces exactly zero); base units: bit/s, s
    "tensor_parallel": st.integers(1, 64), "scale_up_bandwidth": st.floats(1e9, 1e13, **positive),
    "scale_up_latency": st.floats(1e-9, 1e-4, **positive),
    # peer-memory all-reduces (1: fastest of ring / one-shot / two-shot) or the ring (0)
    "scale_up_peer_access": st.sampled_from([0, 1]),
    # the engine's fixed cost per all-reduce call (launch + cross-device synchronisation)
    "allreduce_fixed_time": st.floats(0.0, 1e-4, **positive),
    "communication_efficiency": st.floats(0.01, 1.0, **positive),
    "unoverlapped_fraction": st.floats(0.0, 1.0, **positive),
    # a decode step may carry a prompt chunk (chunked prefill) within the engine's token budget
    "prefill_chunk_tokens": st.integers(0, 8192), "max_batched_tokens": st.integers(1, 65536),
    # a share of the prompt found in the prefix cache (its prefill skipped)
    "prefix_cache_hit_rate": st.floats(0.0, 0.99, **positive),
    # the attention under tensor parallelism (serve's attention_dp is tested on its own)
    "attention_data_parallel": st.just(1.0),
    # untied input lookup tables: a share of the weights, read one row of d per token
    "embedding_share": st.floats(0.0, 0.3, **positive),
    # weight-only quantisation (weights dequantised by a compute-bound pass) or not
    "dequantized_share": st.sampled_from([0.0, 1.0]),
})


def args(d, **over):
    d = {**d, **over}
    values = dict(d, active_parameters=d["parameters"] * d["active_fraction"],
                  kv_heads=max(1, d["heads"] >> d["kv_ratio"]), bytes_per_parameter=d["bytes"] * 8,
                  kv_bytes_per_element=d["bytes"] * 8, activation_bytes_per_element=d["bytes"] * 8,
                  embedding_parameters=d["parameters"] * d["embedding_share"],
                  embedding_row_width=d["hidden"] if d["embedding_share"] > 0 else 0.0,
                  head_parameters=0.0, vocab_bytes_per_parameter=d["bytes"] * 8,
                  head_peak_share=1.0)
    return [values[n] for n in K.input_names]  # base units: bytes are bits, lengths are tokens


@settings(max_examples=300, deadline=None)
@given(inputs)
def test_outputs_positive_and_finite(d):
    for v in K.raw(*args(d)):
        assert math.isfinite(v) and v > 0


@settings(max_examples=300, deadline=None)
@given(inputs, st.integers(1, 4096))
def test_decode_step_time_monotone_in_batch(d, extra):
    t1 = K.raw(*args(d))[1]
    t2 = K.raw(*args(d, batch=d["batch"] + extra))[1]
    assert t2 >= t1


@settings(max_examples=100, deadline=None)
@given(inputs, st.lists(st.integers(1, 4096), min_size=1, max_size=20))
def test_vectorised_equals_scalar(d, batches):
    vec = K.raw(*[np.array(batches, dtype=float) if n == "batch" else v
                  for n, v in zip(K.input_names, args(d))])
    for i, b in enumerate(batches):
        scalar = K.raw(*args(d, batch=b))
        for j in range(len(scalar)):
            assert np.broadcast_to(vec[j], (len(batches),))[i] == scalar[j] or \
                math.isclose(np.broadcast_to(vec[j], (len(batches),))[i], scalar[j], rel_tol=1e-12)


@settings(max_examples=200, deadline=None)
@given(inputs, st.floats(1.01, 10.0))
def test_more_bandwidth_never_slower(d, factor):
    t1 = K.raw(*args(d))[1]
    t2 = K.raw(*args(d, memory_bandwidth=d["memory_bandwidth"] * factor))[1]
    assert t2 <= t1
