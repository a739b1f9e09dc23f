"""Wall 13 (Fidelity): bytes and FLOPs of compressed weights, and speedups out of the roofline.

Published values used:
- NVIDIA H100 SXM datasheet (Technical Specifications table): FP16/BF16 Tensor Core 989.4
  TFLOP/s dense and 1,979 TFLOP/s "with sparsity"; INT8 Tensor Core 3,958 TOPS with sparsity
  (1,979 dense); 3.35 TB/s HBM3.
- Lin et al. 2024 (AWQ), Table 4: INT4-g128 weight-only; Llama-2 WikiText-2 perplexity FP16
  5.47 / 4.88 / 3.32 -> AWQ 5.60 / 4.97 / 3.41 (7B / 13B / 70B).
- Mishra et al. 2021: 2:4 keeps 2 of every 4 weights with a 2-bit index each; sparse tensor
  cores double math throughput.
Llama-3-8B shape as in test_serving_reference.py.
"""

import pytest

from mlsysim_sym.equations import fidelity, walls
from mlsysim_sym.system import System
from mlsysim_sym.units import Q_

FIDELITY = System.from_walls(walls.fidelity)
ROOFLINE = System.from_walls(walls.compute, walls.memory, walls.serving, walls.fidelity)

FP16 = dict(weight_bits_per_parameter=Q_(16, "bit/param"), quantization_scale_bits=Q_(0, "bit"),
            quantization_group_size=Q_(128, "param"), weight_density=1.0,
            sparsity_index_bits=Q_(0, "bit/param"), math_density=1.0)
# INT4-g128 (AWQ/GPTQ grouping): 4-bit codes, an fp16 scale and an fp16 zero point per 128
# weights (an upper bound: packed 4-bit zeros give 4.16 bits)
INT4_G128 = dict(FP16, weight_bits_per_parameter=Q_(4, "bit/param"),
                 quantization_scale_bits=Q_(32, "bit"))
SPARSE_2_4 = dict(FP16, weight_density=0.5, sparsity_index_bits=Q_(2, "bit/param"), math_density=0.5)
LLAMA3_8B_H100 = dict(parameters=Q_(8.03e9, "param"), active_parameters=Q_(8.03e9, "param"),
                      layers=32, heads=32, kv_heads=8, head_dim=128, hidden=4096,
                      ffn_width=2 * 14336, embedding_parameters=0, embedding_row_width=0,
                      dequantized_share=0, head_parameters=0, vocab_bytes_per_parameter=2,
                      head_peak_share=1,
                      memory_bandwidth=Q_(3.35, "TB/s"), matmul_ceiling=1.0,  # datasheet peak
                      memory_capacity=Q_(80, "GB"), kv_bytes_per_element=Q_(2, "B"),
                      activation_bytes_per_element=Q_(2, "B"), compute_efficiency=1.0,
                      memory_efficiency=1.0, fixed_overhead=Q_(0, "ms"), batch=1,
                      prompt_length=Q_(2048, "token"), context_length=Q_(2048, "token"),
                      precision_peak_flops=Q_(989.4, "TFLOP/s"),
                      baseline_bits_per_parameter=Q_(16, "bit/param"),
                      # one device: wall 4's tensor-parallel all-reduces are exactly zero
                      tensor_parallel=1, scale_up_bandwidth=Q_(450, "GB/s"),
                      scale_up_latency=Q_(5, "us"), scale_up_peer_access=0,
                      allreduce_fixed_time=Q_(0, "us"),
                      communication_efficiency=1.0,
                      unoverlapped_fraction=0.0,  # the classic roofline
                      # a pure decode step within vLLM's token budget
                      prefill_chunk_tokens=Q_(0, "token"), max_batched_tokens=Q_(8192, "token"),
                      prefix_cache_hit_rate=0, attention_data_parallel=1)


def evaluate(system, outputs, **values):
    k = system.compile(outputs)
    return k.evaluate(**{n: values[n] for n in k.input_names})


def test_bytes_per_parameter_by_hand():
    # fp16: 1 x 16 + 0/128 = 16 bit = 2 B; INT4-g128: 4 + 32/128 = 4.25 bit = 0.53125 B;
    # 2:4 fp16: 0.5 x (16 + 2) = 9 bit = 1.125 B
    for cfg, expect in ((FP16, 2.0), (INT4_G128, 0.53125), (SPARSE_2_4, 1.125)):
        ev = evaluate(FIDELITY, ["bytes_per_parameter"], **cfg)
        assert ev.quantity("bytes_per_parameter").to("B/param").magnitude == pytest.approx(expect)


def test_compression_ratio_against_fp32():
    # 32 / 4.25 = 7.5294 (the "32 / bits" ratio with the scale overhead counted)
    ev = evaluate(FIDELITY, ["compression_ratio"], baseline_bits_per_parameter=Q_(32, "bit/param"),
                  **INT4_G128)
    assert ev.quantity("compression_ratio").magnitude == pytest.approx(32 / 4.25)


def test_sparse_peak_matches_h100_datasheet():
    # 989.4 / 0.5 = 1978.8 TFLOP/s: the datasheet's 1,979 "with sparsity"
    ev = evaluate(FIDELITY, ["peak_flops"], precision_peak_flops=Q_(989.4, "TFLOP/s"), **SPARSE_2_4)
    assert ev.quantity("peak_flops").to("TFLOP/s").magnitude == pytest.approx(1979, abs=0.5)


def test_int4_weight_only_decode_speedup_comes_from_the_memory_roof():
    # fp16 decode: (8.03e9 x 2 + 268,435,456 KV) B / 3.35e12 B/s = 4.8742 ms (memory-bound)
    # int4-g128:   (8.03e9 x 0.53125 + 268,435,456) B / 3.35e12 = 1.3535 ms (still memory-bound)
    # speedup 16.328435456e9 / 4.534372956e9 = 3.6010 (not 16/4.25 = 3.76: the KV cache stays fp16)
    out = ["time_per_output_token", "ttft"]
    fp16 = evaluate(ROOFLINE, out, **LLAMA3_8B_H100, **FP16)
    int4 = evaluate(ROOFLINE, out, **LLAMA3_8B_H100, **INT4_G128)
    t16 = fp16.quantity("time_per_output_token").to("s").magnitude
    t4 = int4.quantity("time_per_output_token").to("s").magnitude
    # each also moves the token's memory-bound kernels at the 16-bit activation width (wall 4:
    # 32 x 2 B x (10 x 4096 + 1.5 x 28672) = 5,373,952 B), which quantisation does not shrink
    assert t16 == pytest.approx((16.328435456e9 + 5373952) / 3.35e12)
    assert t4 == pytest.approx((8.03e9 * 0.53125 + 268435456 + 5373952) / 3.35e12)
    assert t16 / t4 == pytest.approx(16.333809408 / 4.539746908)
    assert fp16.binding("time_per_output_token") == int4.binding("time_per_output_token") == "Memory"
    # prefill is compute-bound at the unchanged fp16 peak: weight-only quantization barely helps
    ratio = fp16.quantity("ttft").magnitude / int4.quantity("ttft").magnitude
    assert int4.binding("ttft") == "Compute" and ratio == pytest.approx(1.0)


def test_w8a8_speeds_up_prefill_through_the_compute_roof():
    # W8A8 runs the matmuls at the INT8 peak, 1979 TOP/s dense (datasheet 3,958 with sparsity / 2)
    # prefill FLOPs 3.3990391627776e13 / 1979e12 vs / 989.4e12: speedup 1979 / 989.4 = 2.0002
    w8a8 = dict(FP16, weight_bits_per_parameter=Q_(8, "bit/param"))
    base = evaluate(ROOFLINE, ["ttft"], **LLAMA3_8B_H100, **FP16)
    fast = evaluate(ROOFLINE, ["ttft"], **{**LLAMA3_8B_H100, "precision_peak_flops": Q_(1979, "TFLOP/s")},
                    **w8a8)
    assert fast.binding("ttft") == "Compute"
    assert base.quantity("ttft").magnitude / fast.quantity("ttft").magnitude == pytest.approx(1979 / 989.4)


def test_published_accuracy_ranges_are_recorded_with_sources():
    awq = fidelity.ACCURACY_DELTAS["awq_int4_g128_llama2"]
    assert "Table 4" in awq["source"]
    deltas = [q - f for f, q in zip(awq["fp16"], awq["quantized"])]
    assert deltas == pytest.approx([0.13, 0.09, 0.09])
    for entry in fidelity.ACCURACY_DELTAS.values():
        assert entry["source"] and entry["metric"]
