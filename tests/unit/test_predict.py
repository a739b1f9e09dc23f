"""The predict() facade: registry names, vectorised knobs, binding wall, bad input."""

import math

import numpy as np
import pytest

import mlsysim_sym as ms


# explicit efficiencies (no fixed overhead) where a test checks a number: defaults are calibrated
# the classic roofline (the shorter roof fully hidden: unoverlapped 0) for the hand checks
EFF = {"compute": 0.64, "memory": 0.8, "fixed_overhead": "0 ms", "unoverlapped": 0.0}


def test_predict_llama3_8b_h100_decode_is_memory_bound():
    r = ms.predict("llama-3-8b", "h100", batch=1, seq_len=2048, precision="fp16", efficiency=EFF)
    assert r.bottleneck == "Memory" and r.feasible
    # weights ~16 GB dominate: TPOT ~ bytes / (3.35 TB/s x memory efficiency); of the untied
    # input embedding (128256 x 4096 weights, Llama 3 config.json) the step reads only the row
    # of its one token (2 x 4096 B), the LM head (another 128256 x 4096) whole; plus the
    # token's memory-bound kernels, 32 layers x 2 B x (10 x 4096 + 1.5 x 2 x 14336) (2 norms,
    # 2 residual adds, SwiGLU: Korthikanti et al. Sec. 4.1)
    table = (128256 * 4096 - 4096) * 2
    kernels = 32 * 2 * (10 * 4096 + 1.5 * 2 * 14336)
    bytes_moved = (r.weights + r.kv_cache).to("B").magnitude - table + kernels
    eff = ms.registry.hardware("h100")  # registry object
    expected = bytes_moved / (eff.memory_bandwidth.to("B/s").magnitude
                              * r.inputs()["memory_efficiency"].magnitude)
    assert r.time_per_output_token.to("s").magnitude == pytest.approx(expected, rel=1e-9)
    assert r.latency == r.time_per_output_token
    assert r.throughput.to("token/s").magnitude == pytest.approx(1 / expected, rel=1e-9)


def test_kv_cache_llama3_8b_2048_tokens_is_256_mib():
    r = ms.predict("llama-3-8b", "h100", batch=1, seq_len=2048, precision="fp16")
    assert r.kv_cache.to("MiB").magnitude == pytest.approx(256.0)


def test_prefill_phase_is_compute_bound_and_latency_is_ttft():
    r = ms.predict("llama-3-8b", "h100", batch=1, seq_len=2048, phase="prefill")
    assert r.bottleneck == "Compute" and r.latency == r.ttft
    assert r.throughput.units == ms.ureg.Unit("token/s")


def test_vectorised_batch_sweep_crosses_from_memory_to_compute():
    batch = np.array([1, 8, 64, 512, 4096])
    r = ms.predict("llama-3-8b", "h100", batch=batch, seq_len=128)
    b = r.bottleneck
    assert b[0] == "Memory" and b[-1] in ("Compute", "Memory")
    tpot = r.time_per_output_token.magnitude
    assert tpot.shape == (5,) and np.all(np.diff(tpot) >= 0)
    # every point equals the scalar prediction
    for i, bb in enumerate(batch):
        s = ms.predict("llama-3-8b", "h100", batch=int(bb), seq_len=128)
        assert s.time_per_output_token.to("ms").magnitude == pytest.approx(
            r.time_per_output_token.to("ms").magnitude[i], rel=1e-12)
        assert s.bottleneck == b[i] or not s.feasible


def test_does_not_fit_is_flagged_with_footprint_and_capacity():
    r = ms.predict("llama-3-70b", "h100", batch=1, seq_len=2048, precision="fp16")
    assert r.feasible is False
    assert r.memory_footprint > r.memory_capacity
    assert "does not fit" in r.bottleneck_detail and "GB" in r.bottleneck_detail


def test_json_dict_has_every_output_with_units():
    d = ms.predict("llama-3-8b", "h100").to_dict()
    for key in ("latency", "throughput", "ttft", "time_per_output_token", "memory_footprint",
                "kv_cache"):
        assert set(d[key]) == {"value", "unit"} and math.isfinite(d[key]["value"])
    assert d["bottleneck"] in ("Compute", "Memory") and isinstance(d["feasible"], bool)


def test_efficiency_override_scales_memory_time():
    # one number sets both fractions (the fixed overhead keeps its default)
    one = ms.predict("llama-3-8b", "h100", efficiency=0.5).inputs()
    assert one["compute_efficiency"].magnitude == one["memory_efficiency"].magnitude == 0.5
    a = ms.predict("llama-3-8b", "h100",
                   efficiency={"compute": 1.0, "memory": 1.0, "fixed_overhead": "0 ms"})
    b = ms.predict("llama-3-8b", "h100",
                   efficiency={"compute": 0.5, "memory": 0.5, "fixed_overhead": "0 ms"})
    assert (b.time_per_output_token / a.time_per_output_token).to("").magnitude == pytest.approx(2.0)
    a = ms.predict("llama-3-8b", "h100", efficiency={"compute": 1.0, "memory": 1.0,
                                                     "fixed_overhead": "0 ms", "unoverlapped": 0})
    c = ms.predict("llama-3-8b", "h100", efficiency={"memory": 1.0, "fixed_overhead": "1 ms",
                                                     "unoverlapped": 0})
    assert (c.time_per_output_token - a.time_per_output_token).to("ms").magnitude == pytest.approx(1.0)


@pytest.mark.parametrize("kwargs,match", [
    ({"batch": 0}, "batch"), ({"batch": -4}, "batch"), ({"batch": float("nan")}, "batch"),
    ({"batch": 2.5}, "batch"), ({"seq_len": 0}, "seq_len"), ({"batch": np.array([1, -1])}, "batch"),
    ({"efficiency": 0.0}, "efficiency"), ({"efficiency": 1.5}, "efficiency"),
    ({"efficiency": float("nan")}, "efficiency"), ({"precision": "fp3"}, "precision"),
    ({"phase": "train"}, "phase"), ({"efficiency": {"bogus": 1}}, "efficiency"),
    ({"efficiency": {"unoverlapped": 1.5}}, r"unoverlapped .* \[0, 1\]"),
    ({"efficiency": {"unoverlapped": "half"}}, "unoverlapped"),
])
def test_bad_knobs_raise_value_error_naming_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ms.predict("llama-3-8b", "h100", **kwargs)


def test_wrong_dimension_names_both_units():
    with pytest.raises(ValueError, match=r"GB.*s|s.*GB"):
        ms.predict("llama-3-8b", "h100", efficiency={"fixed_overhead": "3 GB"})


def test_unknown_names_list_close_matches():
    with pytest.raises(LookupError) as e:
        ms.predict("llama-3-8", "h100")
    assert "llama-3-8b" in str(e.value)
    with pytest.raises(LookupError) as e:
        ms.predict("llama-3-8b", "h10")
    assert "h100" in str(e.value).lower()


def test_explain_shows_equations_with_numbers():
    text = ms.predict("llama-3-8b", "h100").explain()
    assert "kv_cache_bytes :=" in text and "time_per_output_token :=" in text
    assert "pope2023inference" in text and "GB" in text


def test_moe_prediction_reads_only_touched_experts_at_batch_1():
    r = ms.predict("mixtral-8x7b", "h200", batch=1, seq_len=1024)
    assert r.parameters.to("param").magnitude == pytest.approx(46.7e9, rel=0.01)
    assert r.active_parameters.to("param").magnitude == pytest.approx(12.9e9, rel=0.01)
    # batch 1 decode reads the dense part + 2 experts per layer, far less than all weights
    assert r.decode_bytes_read < r.weights
    big = ms.predict("mixtral-8x7b", "h200", batch=512, seq_len=1024)
    assert big.decode_bytes_read.to("GB").magnitude > 0.99 * big.weights.to("GB").magnitude


def test_predict_dispatches_non_llm_families():
    assert "inference" in str(ms.predict("ds-cnn", "stm32f746").throughput.units)
    assert ms.predict("resnet-50", "h100", batch=8).throughput.to("image/s").magnitude > 0
    assert ms.predict("dit-xl-2-256", "h100").latency.to("s").magnitude > 0
    with pytest.raises(ValueError, match="options"):
        ms.predict("llama-3-8b", "h100", steps=10)


def test_infeasible_prediction_says_what_does_not_fit():
    from mlsysim_sym import predict
    r = predict("llama-3-70b", "h100", batch=64, seq_len=8192)
    assert not r.feasible
    need = r.memory_footprint.to("GB").magnitude
    # the H100's 80 GiB (nvidia-smi: 81,559 MiB) = 85.9 GB
    assert r.reason.startswith(f"does not fit: {need:.4g} GB > 85.9 GB capacity")
    assert "weights" in r.reason and "KV cache" in r.reason
    assert r.to_dict()["reason"] == r.reason
    ok = predict("llama-3-8b", "h100", batch=1, seq_len=2048)
    assert ok.feasible and ok.reason.startswith("fits:")


def test_whole_number_knobs_accept_whole_floats_and_integer_arrays_only():
    ok = ms.predict("llama-3-8b", "h100", batch=np.array([1.0, 4.0]))
    assert list(ok.bottleneck) == ["Memory", "Memory"]
    assert ms.predict("llama-3-8b", "h100", batch=np.arange(1, 5, dtype=np.int16)).feasible.all()
    for bad, shown in ((np.array([1.5, 2.0]), "1.5"), (np.array([1.0, np.nan]), "nan"),
                       (np.array([2.0, np.inf]), "inf"), (np.array([0, 3]), "0.0")):
        with pytest.raises(ms.checks.InputError, match=f"whole numbers.*e.g. {shown}"):
            ms.predict("llama-3-8b", "h100", batch=bad)
