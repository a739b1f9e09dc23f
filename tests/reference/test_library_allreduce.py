"""Serving all-reduces above the peer kernels' size limit run in the collective library.

vLLM's custom all-reduce serves only buffers below max_size (8 MB; custom_all_reduce.py
should_custom_ar), TensorRT-LLM's AUTO strategy likewise hands large ones to NCCL: so with peer
access the engine's all-reduce is the fastest of one-shot, two-shot (at the peer kernels'
fraction eta) and the library's ring at its own large-message fraction eta_lib, the fabric's
published nccl-tests bus bandwidth (NVLink 4 + NVSwitch: 480.7 GB/s of 450 GB/s = 1.068 with
SHARP, Bekman's all_reduce_bench on 8x H200).
"""

import pytest
import sympy

import mlsysim_sym as ms
from mlsysim_sym.equations.communication import serving_allreduce

B, ALPHA, FIXED, ETA, LIB = 450e9, 1.31e-6, 21.57e-6, 0.2884, 1.068


def _time(size, library=LIB):
    m, t, b, a, e, lib = sympy.symbols("m t b a e lib", positive=True)
    expr = serving_allreduce(m, t, b, a, 1, e, fixed=FIXED,
                             library=None if library is None else lib)
    return float(expr.subs({m: size, t: 8, b: B, a: ALPHA, e: ETA, lib: LIB}))


def test_a_large_buffer_takes_the_library_ring():
    # 256 MiB over 8 ranks: ring 14 alpha + 2 (7/8) M / (B eta_lib) = 0.996 ms, two-shot at
    # the peer kernels' 0.2884 would take 3.62 ms
    m = 2 ** 28
    ring = 14 * ALPHA + 1.75 * m / (B * LIB)
    two_shot = 2 * ALPHA + 1.75 * m / (B * ETA)
    assert ring == pytest.approx(9.958e-4, rel=1e-3) and two_shot > 3 * ring
    assert _time(m) == pytest.approx(FIXED + ring, rel=1e-12)
    # without a library fraction the ring never beats two-shot (the previous behaviour)
    assert _time(m, library=None) == pytest.approx(FIXED + two_shot, rel=1e-12)


def test_a_small_buffer_stays_on_the_peer_kernels():
    # 64 KiB: two-shot 2 alpha + 1.75 M / (B eta) = 3.50 us beats the ring's 14 alpha = 18.3 us
    m = 2 ** 16
    two_shot = 2 * ALPHA + 1.75 * m / (B * ETA)
    assert _time(m) == pytest.approx(FIXED + two_shot, rel=1e-12)


def test_predict_reads_the_fabric_fraction():
    # H100 (NVLink 4, peer access): the published 1.068; Gaudi 2 (RoCE mesh, no peer access):
    # the published HCCL fraction is already the ring's, both the same
    h = ms.predict("llama-3-1-70b", "h100", tp=4).base_inputs()
    assert h["collective_library_efficiency"] == pytest.approx(1.068)
    g = ms.predict("llama-3-1-70b", "intel-gaudi2", tp=4, precision="fp8").base_inputs()
    assert g["collective_library_efficiency"] == g["communication_efficiency"]
    # a given communication fraction is the peer kernels' (the calibration fits it so): the
    # library keeps the fabric's published one; without peer access it is the ring's own
    e = ms.predict("llama-3-1-70b", "h100", tp=4, efficiency={"communication": 0.5})
    assert e.base_inputs()["communication_efficiency"] == 0.5
    assert e.base_inputs()["collective_library_efficiency"] == pytest.approx(1.068)
    e = ms.predict("llama-3-1-70b", "intel-gaudi2", tp=4, precision="fp8",
                   efficiency={"communication": 0.5})
    assert e.base_inputs()["collective_library_efficiency"] == 0.5
