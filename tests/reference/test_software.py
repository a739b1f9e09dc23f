"""Wall 3 (Software) against hand arithmetic and published MFU / training-time numbers.

Sources: Chowdhery et al. 2022 (PaLM), App. B and Table 3 (PaLM 540B: 238.3K tokens/s on 6144
TPU v4 chips of 275 TFLOP/s peak, MFU 46.2%, HFU 57.8%; L = 118, H = 48, Q = 256, T = 2048);
Narayanan et al. SC21, Sec. 5.1 (GPT-3 175B on 300B tokens with 1024 A100s at 140 TFLOP/s
each: about 34 days, from time ~ 8TP / (nX)) and eq. (3) (96 vs 72: full recomputation = 4/3).
"""

import pytest

from mlsysim_sym.equations import walls
from mlsysim_sym.system import System
from mlsysim_sym.units import Q_

S = System.from_walls(walls.software)
OUT = ["forward_flops_per_token", "model_flops_per_token", "hardware_flops_per_token",
       "model_flops_utilization", "hardware_flops_utilization", "recompute_flops_ratio",
       "achieved_flops_rate", "compute_bound_training_throughput"]

PALM_540B = dict(active_parameters=Q_(540e9, "param"), layers=118, heads=48, head_dim=256,
                 sequence_length=Q_(2048, "token"), training_throughput=Q_(238.3e3, "token/s"),
                 devices=6144, peak_flops=Q_(275, "TFLOP/s"), compute_efficiency=0.6,
                 recomputed_forward_fraction=0.0)


def ev(**kw):
    return S.compile(OUT).evaluate(**kw)


def test_hand_checked_small_model():
    # N = 1e9, L = 2, H = 4, Q = 8, T = 16: forward = 2e9 + 2 x 2 x 2 x 4 x 8 x 16 = 2e9 + 4096
    # model = 3 x forward = 6.000012288e9; r = 0.5: hardware = 3.5 x forward = 7.000014336e9
    # throughput 1e3 token/s on 2 devices of 10 TFLOP/s: MFU = 6.000012288e12 / 2e13 = 0.3000006
    e = ev(active_parameters=1e9, layers=2, heads=4, head_dim=8, sequence_length=16,
           training_throughput=1e3, devices=2, peak_flops=10, compute_efficiency=0.5,
           recomputed_forward_fraction=0.5)
    assert e.quantity("forward_flops_per_token").to("FLOP/token").magnitude == pytest.approx(
        2e9 + 4096, rel=1e-15)
    assert e.value("model_flops_utilization") == pytest.approx(0.3000006144, rel=1e-12)
    assert e.value("hardware_flops_utilization") == pytest.approx(0.3500007168, rel=1e-12)
    assert e.value("recompute_flops_ratio") == pytest.approx(3.5 / 3, rel=1e-15)
    # achieved rate 10 x 0.5 = 5 TFLOP/s; compute-bound throughput 2 x 5e12 / 7.000014336e9
    assert e.quantity("achieved_flops_rate").to("TFLOP/s").magnitude == pytest.approx(5.0)
    assert e.quantity("compute_bound_training_throughput").to("token/s").magnitude == \
        pytest.approx(1e13 / 7.000014336e9, rel=1e-12)


def test_palm_540b_mfu_table3():
    # PaLM App. B: (6N + 12LHQT) = 6 x 540e9 + 12 x 118 x 48 x 256 x 2048 = 3.24e12 + 3.5635e10
    # = 3.27564e12 FLOP/token; x 238.3e3 token/s / (6144 x 275e12) = 0.46200 -> "46.2%"
    e = ev(**PALM_540B)
    assert e.quantity("model_flops_per_token").to("FLOP/token").magnitude == pytest.approx(
        6 * 540e9 + 12 * 118 * 48 * 256 * 2048, rel=1e-15)
    assert round(e.value("model_flops_utilization"), 3) == 0.462


def test_palm_hfu_is_mfu_times_hardware_over_model_flops():
    # PaLM Table 3: HFU 57.8% with rematerialisation; the recomputed share of the forward pass
    # this implies is r = 3 (57.8 / 46.2 - 1) = 0.7532; with it the wall gives HFU = 57.8%
    r = 3 * (57.8 / 46.2 - 1)
    e = ev(**{**PALM_540B, "recomputed_forward_fraction": r})
    assert e.value("hardware_flops_utilization") == pytest.approx(0.578, abs=5e-4)
    assert e.value("hardware_flops_utilization") / e.value("model_flops_utilization") == \
        pytest.approx(e.value("recompute_flops_ratio"), rel=1e-12)


def test_full_recomputation_is_four_thirds():
    # Narayanan et al. eq. (3): 96 B s l h^2 with full recomputation vs 72 without = 4/3
    e = ev(**{**PALM_540B, "recomputed_forward_fraction": 1.0})
    assert e.value("recompute_flops_ratio") == pytest.approx(96 / 72, rel=1e-15)


def test_gpt3_training_time_narayanan_sec51():
    # 8TP/(nX) = 8 x 300e9 x 175e9 / (1024 x 140e12) = 2.930e6 s = 33.9 days ("34 days").
    # The wall also counts attention (12LHQT): hardware FLOPs per token with full recomputation
    # = 4 (2N + 4LHQT); the ratio to 8N is 1 + 2LHQT / N with L = 96, H = 96, Q = 128, T = 2048.
    e = ev(active_parameters=Q_(175e9, "param"), layers=96, heads=96, head_dim=128,
           sequence_length=Q_(2048, "token"), training_throughput=Q_(1, "token/s"), devices=1024,
           peak_flops=Q_(312, "TFLOP/s"), compute_efficiency=140 / 312,
           recomputed_forward_fraction=1.0)
    seconds = 300e9 / e.quantity("compute_bound_training_throughput").to("token/s").magnitude
    narayanan = 8 * 300e9 * 175e9 / (1024 * 140e12)
    assert narayanan / 86400 == pytest.approx(34, abs=0.5)
    assert seconds / narayanan == pytest.approx(1 + 2 * 96 * 96 * 128 * 2048 / 175e9, rel=1e-12)


def test_hfu_is_compute_efficiency_times_exposed_compute_share():
    # HFU = eta_c x Theta / Theta_c: at the compute-bound throughput HFU equals eta_c exactly
    e = ev(**PALM_540B)
    theta_c = e.quantity("compute_bound_training_throughput").to("token/s").magnitude
    full = ev(**{**PALM_540B, "training_throughput": Q_(theta_c, "token/s")})
    assert full.value("hardware_flops_utilization") == pytest.approx(0.6, rel=1e-12)
    half = ev(**{**PALM_540B, "training_throughput": Q_(theta_c / 2, "token/s")})
    assert half.value("hardware_flops_utilization") == pytest.approx(0.3, rel=1e-12)


def test_three_separate_efficiencies():
    from mlsysim_sym import symbols
    for name in ("compute_efficiency", "memory_efficiency"):
        row = symbols.info(name)
        assert row.unit == "dimensionless" and row.bounds[1] == 1.0
    # a collective's bus bandwidth over the link rate exceeds 1 when the switch reduces
    # (NVLink SHARP: nccl-tests 480.7 GB/s bus bandwidth on 450 GB/s NVLink 4, 8x H200)
    row = symbols.info("communication_efficiency")
    assert row.unit == "dimensionless" and 1.0 < row.bounds[1] <= 2.0
    e = S.compile(["achieved_memory_bandwidth"]).evaluate(memory_bandwidth=Q_(3.35, "TB/s"),
                                                          memory_efficiency=0.8)
    assert e.quantity("achieved_memory_bandwidth").to("TB/s").magnitude == pytest.approx(2.68)


def test_composes_with_training_workload_throughput():
    from mlsysim_sym.equations import workloads
    names = {w.key for w in workloads}
    if "training_step" not in names:
        pytest.skip("training workload not present")
    system = System.from_walls(*walls, workloads.training_step)
    assert system.is_output("model_flops_utilization") and system.is_output("training_throughput")
