"""GEMM tile and wave quantization (equations/gemm_shape.py, NVIDIA's Matrix Multiplication
Background User's Guide, Secs. 4-5) and its factor in the training step's GEMM time."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlsysim_sym as ms
from mlsysim_sym import registry
from mlsysim_sym.registry.schema import RegistryError
from mlsysim_sym.tasks.training.gemm import gemm_quantization, gemm_shapes, shape_efficiency
from tests.unit.test_matmul_ceiling import FIXED_EFFICIENCY, SYNTHETIC_CHIP


def test_a100_one_partial_wave_by_hand():
    # Sec. 5.2: an A100 has 108 SMs and runs one 256 x 128 tile per SM in a wave. A 1792 x 1792
    # output is 7 x 14 = 98 such tiles (no tile padding): one wave with 10 SMs idle, 98/108.
    assert gemm_quantization(1792, 1792, 108) == pytest.approx(98 / 108, rel=1e-12)


def test_one_row_past_a_full_wave_by_hand():
    # H100 SXM, 132 SMs. 16896 x 256 = 132 tiles of 128 x 256 (or 66 x 2 of 256 x 128): one full
    # wave, no padding: 1. One more row needs 133 (or 134) tiles: two waves whichever the
    # orientation, so the time is 2 x 132 tile-slots of 128 x 256 for 16897 x 256 outputs.
    assert gemm_quantization(16896, 256, 132) == pytest.approx(1.0, rel=1e-12)
    assert gemm_quantization(16897, 256, 132) == pytest.approx(
        16897 * 256 / (2 * 132 * 128 * 256), rel=1e-12)


def test_tile_padding_by_hand():
    # Sec. 5.1: 200 x 256 pads 200 rows to 256, as two 128-row tiles or one 256-row tile: 2
    # tiles either way; on 2 SMs they are one full wave, so only the padding is lost
    assert gemm_quantization(200, 256, 2) == pytest.approx(200 / 256, rel=1e-12)
    # on 1000 SMs the 2 tiles also leave 998 SMs idle for the wave
    assert gemm_quantization(200, 256, 1000) == pytest.approx(200 / 256 * 2 / 1000, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 200_000), st.integers(1, 200_000), st.integers(1, 200))
def test_bounded(rows, cols, sms):
    eff = gemm_quantization(rows, cols, sms)
    assert 0 < eff <= 1 + 1e-12


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 64), st.integers(1, 64), st.integers(1, 200))
def test_one_at_exact_multiples(i, j, sms):
    # M and N multiples of the 128 x 256 tile, and the tile count a multiple of the SMs: no loss
    rows, cols = 128 * i * sms, 256 * j
    assert gemm_quantization(rows, cols, sms) == pytest.approx(1.0, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 50_000), st.integers(1, 50_000), st.integers(1, 5_000),
       st.sampled_from([108, 114, 132]))
def test_time_never_falls_as_the_gemm_grows(rows, cols, extra, sms):
    # the guide (Sec. 5): quantization lowers the efficiency, but the run time (the FLOPs over
    # the rate, here M N / eta in tile-slots) never drops when a dimension grows
    def slots(r, c):
        return r * c / gemm_quantization(r, c, sms)
    assert slots(rows + extra, cols) >= slots(rows, cols) * (1 - 1e-12)
    assert slots(rows, cols + extra) >= slots(rows, cols) * (1 - 1e-12)


def test_llama_8b_tp8_shapes():
    # Llama 3 8B (h 4096, 32 heads of 128, 8 KV heads, SwiGLU 14336, vocab 128256) at TP8 with
    # one 2048-token sequence per micro-batch: Megatron's column / row split
    m = registry.model("llama-3-8b")
    shapes = gemm_shapes(m, 8, 1, 1, 2048)
    assert [s[1:] for s in shapes] == [
        (2048, (4096 + 2 * 1024) / 8, 4096), (2048, 4096, 4096 / 8),
        (2048, 2 * 14336 / 8, 4096), (2048, 4096, 14336 / 8), (2048, 128256 / 8, 4096)]
    assert [s[0] for s in shapes] == [32, 32, 32, 32, 1]


def test_step_factor_is_the_flop_weighted_harmonic_mean():
    m, hw = registry.model("llama-3-8b"), registry.hardware("h100")
    flops = time = 0.0
    for count, rows, cols, depth in gemm_shapes(m, 8, 1, 1, 2048):
        for a, b in ((rows, cols), (rows, depth), (depth, cols)):
            flops += count * rows * cols * depth
            time += count * rows * cols * depth / gemm_quantization(a, b, 132)
    eff = shape_efficiency(m, hw, 8, 1, 1, 2048)
    assert eff == pytest.approx(flops / time, rel=1e-12)
    # e.g. the QKV forward: 2048 x 768 is 16 x 3 = 48 tiles of 128 x 256 (or 8 x 6 of 256 x
    # 128): one wave of 132 slots, 48/132; the step's GEMMs lose about a fifth at TP8
    assert gemm_quantization(2048, 768, 132) == pytest.approx(48 / 132, rel=1e-12)
    assert 0.7 < eff < 0.85


def test_no_sm_count_no_factor():
    assert registry.hardware("tpu-v5e").multiprocessors is None
    assert shape_efficiency(registry.model("llama-3-8b"), registry.hardware("tpu-v5e"),
                            8, 1, 1, 2048) == 1.0


@pytest.mark.parametrize("chip, sms", [("nvidia-a100-80gb-sxm", 108), ("nvidia-h100-sxm", 132),
                                       ("nvidia-h100-pcie", 114)])
def test_registry_sm_counts_carry_their_source(chip, sms):
    hw = registry.hardware(chip)
    assert float(hw.multiprocessors.magnitude) == sms
    prov = hw.provenance("multiprocessors")
    assert prov.source.startswith("hw-nvidia-") and "SMs" in prov.locator


_CHIP = {**SYNTHETIC_CHIP, "name": "acme-sm"}
_EFF = FIXED_EFFICIENCY


def test_sm_count_must_be_whole():
    with pytest.raises(RegistryError, match="multiprocessors"):
        ms.Hardware.from_spec({**_CHIP, "multiprocessors": "100.5"})


def test_the_factor_enters_the_training_step():
    """GEMM time = FLOPs / (peak x kappa x eta_shape x eta_c): the same chip with 132 SMs
    recorded stretches the GEMM part of the compute time by 1/eta_shape and leaves the
    attention core and the memory-bound kernels as they were."""
    kw = dict(devices=8, global_batch=64, seq_len=2048, micro_batch=1, tp=8, **_EFF)
    plain = ms.train("llama-3-8b", ms.Hardware.from_spec(_CHIP), **kw)
    shaped = ms.train("llama-3-8b", ms.Hardware.from_spec({**_CHIP, "multiprocessors": "132"}),
                      **kw)
    eff = shape_efficiency(registry.model("llama-3-8b"), registry.hardware("h100"),
                           8, 1, 1, 2048)
    assert 0.7 < eff < 0.85

    def gemm(r):
        return (r.value("step_compute_time") - r.value("attention_compute_time")
                - r.value("elementwise_time"))

    assert gemm(shaped) / gemm(plain) == pytest.approx(1 / eff, rel=1e-9)
    for name in ("attention_compute_time", "elementwise_time"):
        assert shaped.value(name) == pytest.approx(plain.value(name), rel=1e-12)
