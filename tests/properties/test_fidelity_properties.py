"""Wall 13 (Fidelity) properties: fewer bits never more bytes, never slower decode."""

from hypothesis import given, settings, strategies as st

from mlsysim_sym.equations import walls
from mlsysim_sym.system import System

K_BYTES = System.from_walls(walls.fidelity).compile(["bytes_per_parameter", "peak_flops"])
K_DECODE = System.from_walls(walls.compute, walls.memory, walls.serving, walls.fidelity).compile(
    ["time_per_output_token"])
fin = dict(allow_nan=False, allow_infinity=False)
inputs = st.fixed_dictionaries({
    "weight_bits_per_parameter": st.floats(1, 32, **fin), "quantization_scale_bits": st.floats(0, 64, **fin),
    "quantization_group_size": st.floats(8, 1e5, **fin), "weight_density": st.floats(0.05, 1, **fin),
    "sparsity_index_bits": st.floats(0, 4, **fin), "math_density": st.floats(0.05, 1, **fin),
    "precision_peak_flops": st.floats(1e12, 1e16, **fin),
    # serving (base units: bits, tokens, FLOP/s, bit/s)
    "parameters": st.floats(1e8, 1e12, **fin), "batch": st.integers(1, 256),
    "context_length": st.integers(1, 32768), "layers": st.integers(1, 128),
    "kv_heads": st.integers(1, 16), "heads": st.integers(16, 128), "head_dim": st.sampled_from([64, 128]),
    "kv_bytes_per_element": st.sampled_from([8.0, 16.0]),
    "memory_bandwidth": st.floats(1e11, 1e14, **fin), "compute_efficiency": st.floats(0.1, 1, **fin),
    "matmul_ceiling": st.floats(0.3, 1, **fin),  # any measured matmul ceiling (wall 1)
    "memory_efficiency": st.floats(0.1, 1, **fin), "fixed_overhead": st.floats(0, 1e-3, **fin),
    # wall 4's tensor-parallel all-reduces (t = 1: zero); base units: bit, bit/s, s
    "hidden": st.integers(64, 32768), "activation_bytes_per_element": st.sampled_from([8.0, 16.0]),
    # the live FFN width: the memory-bound kernels' bytes per token (wall 4)
    "ffn_width": st.integers(64, 131072),
    "tensor_parallel": st.integers(1, 64), "scale_up_bandwidth": st.floats(1e9, 1e13, **fin),
    "scale_up_latency": st.floats(1e-9, 1e-4, **fin), "scale_up_peer_access": st.sampled_from([0, 1]),
    "allreduce_fixed_time": st.floats(0.0, 1e-4, **fin),
    "communication_efficiency": st.floats(0.01, 1, **fin),
    "unoverlapped_fraction": st.floats(0, 1, **fin),
    # a decode step may carry a prompt chunk within the engine's token budget (tokens)
    "prefill_chunk_tokens": st.integers(0, 4096), "max_batched_tokens": st.integers(1, 65536),
    "prefix_cache_hit_rate": st.floats(0, 0.99, **fin),
    # the attention under tensor parallelism (serve's attention_dp is tested on its own)
    "attention_data_parallel": st.just(1.0),
    "prompt_length": st.integers(1, 32768),
})


def run(k, d, **over):
    d = {**d, **over}
    d.setdefault("active_parameters", d["parameters"])
    # no untied lookup table, weights at the compute width (the fidelity record sets the bytes)
    for name in ("embedding_parameters", "embedding_row_width", "dequantized_share"):
        d.setdefault(name, 0.0)
    # no LM head of its own (the weights are one pool), at the GEMMs' peak
    d.setdefault("head_parameters", 0.0)
    d.setdefault("head_peak_share", 1.0)
    d.setdefault("vocab_bytes_per_parameter", 16.0)
    return dict(zip(k.output_names, k.raw(*[d[n] for n in k.input_names])))


@settings(max_examples=300, deadline=None)
@given(inputs, st.floats(0.0, 31.0))
def test_lower_bits_never_more_bytes(d, cut):
    fewer = max(1.0, d["weight_bits_per_parameter"] - cut)
    assert run(K_BYTES, d, weight_bits_per_parameter=fewer)["bytes_per_parameter"] <= \
        run(K_BYTES, d)["bytes_per_parameter"]


@settings(max_examples=300, deadline=None)
@given(inputs, st.floats(0.0, 31.0))
def test_lower_bits_never_slower_decode(d, cut):
    fewer = max(1.0, d["weight_bits_per_parameter"] - cut)
    assert run(K_DECODE, d, weight_bits_per_parameter=fewer)["time_per_output_token"] <= \
        run(K_DECODE, d)["time_per_output_token"]


@settings(max_examples=300, deadline=None)
@given(inputs, st.floats(0.05, 1.0))
def test_sparser_math_never_lower_effective_peak(d, density):
    lower = min(d["math_density"], density)
    assert run(K_BYTES, d, math_density=lower)["peak_flops"] >= run(K_BYTES, d)["peak_flops"]
