"""Inverse roofline: synthesized specs meet the targets exactly; registry chips are compared."""

import pytest

import mlsysim_sym as ms
from mlsysim_sym.registry import Hardware

# explicit efficiencies (the defaults are calibrated, per hardware generation): the synthesized
# requirement and the forward predictions below use the same ones; the classic roofline
# (unoverlapped 0) so the bandwidth requirement is bytes / (BW x eta_m) exactly
GIVEN = {"compute_efficiency": 0.64, "memory_efficiency": 0.8, "fixed_overhead": "0 ms",
         "unoverlapped_fraction": 0.0}
EFF = {"compute": 0.64, "memory": 0.8, "fixed_overhead": "0 ms", "unoverlapped": 0.0}


def test_synthesized_bandwidth_meets_tpot_exactly():
    r = ms.synthesize("llama-3-8b", targets={"tpot": "5 ms"}, unknowns=["memory_bandwidth"],
                      batch=1, seq_len=2048, precision="fp16", given=GIVEN, compare=False)
    res = r["memory_bandwidth"]
    assert res.feasible and res.method == "closed-form" and r.binding_target["memory_bandwidth"] == \
        "time_per_output_token"
    # forward check with the same efficiencies: bytes / (BW x 0.8) = 5 ms; a decode step reads
    # every weight but the untied input embedding (128256 x 4096, Llama 3 config.json), of which
    # it reads the one row of its token
    table = (128256 * 4096 - 4096) * 2.0
    bytes_moved = (16.06e9 + 268435456) * 1.0 - table  # weights + KV (B), fp16 at 2048
    p = ms.predict("llama-3-8b", "h100", efficiency=EFF)
    # plus the token's memory-bound kernels (wall 4: 32 x 2 B x (10 x 4096 + 1.5 x 28672))
    w_kv = (p.weights + p.kv_cache).to("B").magnitude - table + 32 * 2 * (10 * 4096 + 1.5 * 28672)
    eff = p.inputs()["memory_efficiency"].magnitude
    assert res.value.to("B/s").magnitude == pytest.approx(w_kv / (eff * 5e-3), rel=1e-12)
    assert abs(w_kv - bytes_moved) / bytes_moved < 1e-3


def test_requirement_binds_on_the_harder_target():
    r = ms.synthesize("llama-3-8b", targets={"tpot": "50 ms", "ttft": "20 ms"},
                      unknowns=["peak_flops"], batch=1, seq_len=2048, given=GIVEN, compare=False)
    # TTFT (compute-heavy prefill) sets the FLOP/s requirement
    assert r.binding_target["peak_flops"] == "ttft"
    per = r.per_target["peak_flops"]
    assert per["ttft"].value > per["time_per_output_token"].value


def test_memory_capacity_requirement_is_the_footprint():
    r = ms.synthesize("llama-3-70b", targets={"tpot": "50 ms"}, unknowns=["memory_capacity"],
                      batch=4, seq_len=8192, precision="fp8", compare=False)
    p = ms.predict("llama-3-70b", "mi300x", batch=4, seq_len=8192, precision="fp8")
    assert r["memory_capacity"].value.to("GB").magnitude == pytest.approx(
        p.memory_footprint.to("GB").magnitude, rel=1e-12)


def test_chip_comparison_flags_chips_that_meet_the_requirements():
    r = ms.synthesize("llama-3-8b", targets={"tpot": "10 ms"},
                      unknowns=["memory_bandwidth", "memory_capacity"], batch=1, seq_len=2048,
                      given=GIVEN)
    rows = {row["name"]: row for row in r.chips}
    assert rows["nvidia-h100-sxm"]["meets"] is True
    assert rows["nvidia-l4"]["meets"] is False  # 300 GB/s, 24 GB
    # a chip that meets the requirement predicts a TPOT within the target
    assert ms.predict("llama-3-8b", "h100", efficiency=EFF).time_per_output_token.to(
        "ms").magnitude <= 10


def test_unreachable_target_is_reported_not_raised():
    r = ms.synthesize("llama-3-8b", targets={"ttft": "1 us"}, unknowns=["peak_flops"],
                      batch=1, seq_len=2048, compare=False)
    assert not r["peak_flops"].feasible and r["peak_flops"].best_reachable is not None


@pytest.mark.parametrize("kwargs,match", [
    ({"unknowns": ["hbm"]}, "unknowns"), ({"targets": {"latency99": "1 ms"}}, "target"),
    ({"targets": {}}, "targets"), ({"batch": 0}, "batch"), ({"precision": "fp5"}, "precision"),
    ({"targets": {"tpot": "20 GB"}}, "GB"),
])
def test_bad_input(kwargs, match):
    args = dict(targets={"tpot": "20 ms"}, unknowns=["memory_bandwidth"], compare=False)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ms.synthesize("llama-3-8b", **args)
