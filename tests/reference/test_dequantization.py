"""Dequantisation cost of weight-only quantisation (wall 4).

Int4 / int8 weights with 16-bit activations (Lin et al. 2024, AWQ) are read packed by fused
low-bit kernels for passes of few tokens; from 256 tokens per pass on vLLM's AWQLinearMethod
dequantises them (awq_dequantize) and runs a dense fp16 GEMM (torch.matmul), as llama.cpp's
cuBLAS path does for large batches. The dequantisation kernel reads each weight at b_w and
writes it at b_a: T_dq = (N - N_e) (b_w + b_a) / (B eta_m) per pass.

Hand check: Llama 2 7B (N = 6,738,415,616 derived from config.json; untied embedding 32000 x
4096 = 131,072,000), llama.cpp Q4_0 (4 bits + a 16-bit scale per 32 weights = 4.5 bits; 4.537
with the unquantised norms, as the calibration case), on an RTX 3090 Ti (1008 GB/s, NVIDIA
GA102 whitepaper) at eta_m = 0.8: T_dq = 6,607,343,616 x (4.537/8 + 2) B / (1008e9 x 0.8 B/s)
= 21.03 ms.
"""

import pytest

import mlsysim_sym as ms
from mlsysim_sym import symbols as s
from mlsysim_sym.equations.base import dimension_of

EFF = {"compute": 0.6, "memory": 0.8, "fixed_overhead": "0 ms", "unoverlapped": 0.0}
N = 6_738_415_616 - 32000 * 4096


def test_the_dequantisation_time_is_a_time():
    from mlsysim_sym.equations.serving import WALL
    eq = next(e for e in WALL.equations if e.lhs == s.dequantization_time)
    assert dimension_of(eq.rhs, "test") == dimension_of(s.ttft, "test")


def test_llama_cpp_q4_0_prefill_pays_one_dequantisation_pass():
    hw = ms.registry.hardware("rtx-3090-ti")
    assert hw.memory_bandwidth.to("GB/s").magnitude == pytest.approx(1008)
    assert ms.registry.model("llama-2-7b").parameters.to("param").magnitude == 6_738_415_616
    q4 = ms.predict("llama-2-7b", hw, batch=1, seq_len=512, phase="prefill", weight_bits=4.537,
                    efficiency=EFF)
    t_dq = N * (4.537 / 8 + 2) / (1008e9 * 0.8)
    assert t_dq == pytest.approx(21.03e-3, rel=1e-3)
    assert q4.value("dequantization_time") == pytest.approx(t_dq, rel=1e-12)
    # compute-bound prefill: TTFT = T_c + T_dq (phi = 0, no overhead, one device)
    assert q4.bottleneck == "Compute"
    assert q4.value("ttft") == pytest.approx(q4.value("prefill_compute_time") + t_dq, rel=1e-12)


def test_few_tokens_read_the_packed_weights_without_dequantising():
    # a batch-1 decode step (one token) reads the 4.537-bit weights: no dequantisation pass
    q4 = ms.predict("llama-2-7b", "rtx-3090-ti", batch=1, seq_len=512, weight_bits=4.537,
                    efficiency=EFF)
    fp16 = ms.predict("llama-2-7b", "rtx-3090-ti", batch=1, seq_len=512, efficiency=EFF)
    assert q4.bottleneck == "Memory"
    assert q4.time_per_output_token < fp16.time_per_output_token
    # (plus the token's memory-bound kernels at the 16-bit activation width, wall 4:
    # 32 x 2 B x (10 x 4096 + 1.5 x 2 x 11008) = 4,734,976 B)
    assert q4.value("decode_bytes") / 8 == pytest.approx(
        (N + 4096) * 4.537 / 8 + q4.kv_cache.to("B").magnitude + 4_734_976, rel=1e-12)
    # 255 tokens in a pass: still the fused kernel; 256: the dequantise-then-GEMM path
    below = ms.predict("llama-2-7b", "rtx-3090-ti", batch=255, seq_len=512, weight_bits=4.537,
                       efficiency=EFF)
    at = ms.predict("llama-2-7b", "rtx-3090-ti", batch=256, seq_len=512, weight_bits=4.537,
                    efficiency=EFF)
    t_dq = N * (4.537 / 8 + 2) / (1008e9 * 0.8)
    assert below.value("time_per_output_token") < at.value("time_per_output_token")
    assert at.value("time_per_output_token") - below.value("time_per_output_token") > t_dq


@pytest.mark.parametrize("precision, weight_bits", [("fp16", None), ("int8", 8), ("fp16", 16)])
def test_weights_at_the_compute_precision_are_never_dequantised(precision, weight_bits):
    r = ms.predict("llama-2-7b", "h100", batch=64, seq_len=512, phase="prefill",
                   precision=precision, weight_bits=weight_bits, efficiency=EFF)
    assert r.value("dequantization_time") == 0.0
    assert r.value("ttft") == pytest.approx(r.value("prefill_compute_time"), rel=1e-12)


def test_moe_and_serve_pay_it_too():
    moe = ms.predict("mixtral-8x7b", "h100", batch=1, seq_len=1024, phase="prefill",
                     weight_bits=4.5, efficiency=EFF)
    assert moe.value("dequantization_time") > 0
    kw = dict(qps=5, input_tokens=2048, output_tokens=128, efficiency=EFF)
    q4 = ms.serve("llama-2-7b", "h100", weight_bits=4.5, **kw)
    assert q4.base_inputs()["dequantized_share"] == 1.0
    assert ms.serve("llama-2-7b", "h100", **kw).base_inputs()["dequantized_share"] == 0.0
