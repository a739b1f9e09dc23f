"""predict() reports the phase's model FLOPs utilisation (wall 3) and energy per token at the
chips' TDP (wall 18), both from equations of the walls."""

import numpy as np
import pytest

import mlsysim_sym as ms
from mlsysim_sym import registry


def test_energy_per_token_is_tp_times_tdp_over_throughput():
    # H100 SXM TDP 700 W (registry, NVIDIA datasheet); two chips serve as one device at tp=2
    for tp in (1, 2):
        r = ms.predict("llama-3-8b", "h100", batch=32, tp=tp)
        tdp = registry.hardware("h100").tdp
        expect = (tp * tdp / r.throughput).to("J/token")
        assert r.energy_per_token.to("J/token").magnitude == pytest.approx(expect.magnitude,
                                                                           rel=1e-9)
    prefill = ms.predict("llama-3-8b", "h100", batch=4, phase="prefill")
    expect = (tdp / prefill.throughput).to("J/token")
    assert prefill.energy_per_token.to("J/token").magnitude == pytest.approx(expect.magnitude)


def test_mfu_is_model_flops_over_peak_times_phase_time():
    r = ms.predict("llama-3-8b", "h100", batch=16)
    peak = registry.hardware("h100").peak_flops("fp16")
    expect = (r.decode_flops / (r.time_per_output_token * peak)).to("").magnitude
    assert float(r.mfu.magnitude) == pytest.approx(expect, rel=1e-9)
    # decode at batch 1 is memory-bound: a small MFU; prefill of 2048 tokens is compute-bound
    d1 = ms.predict("llama-3-8b", "h100", batch=1)
    p1 = ms.predict("llama-3-8b", "h100", batch=1, phase="prefill")
    assert 0 < float(d1.mfu.magnitude) < 0.05 < 0.3 < float(p1.mfu.magnitude) < 1


def test_vectorised_and_in_to_dict():
    r = ms.predict("llama-3-8b", "h100", batch=np.array([1, 8, 64]))
    e = r.energy_per_token.to("J/token").magnitude
    assert e.shape == (3,) and np.all(np.diff(e) < 0)  # batching amortises the power
    d = ms.predict("llama-3-8b", "h100").to_dict()
    assert d["energy_per_token"]["unit"] == "J/tok" and 0 < d["mfu"]["value"] < 1


def test_a_chip_without_tdp_has_no_energy():
    chip = ms.Hardware.from_spec({"name": "no-tdp", "vendor": "acme", "tier": "datacenter",
                                  "peak": {"fp16": "1 PFLOP/s"},
                                  "memory": [{"tier": "hbm", "capacity": "96 GB",
                                              "bandwidth": "4 TB/s"}]})
    r = ms.predict("llama-3-8b", chip)
    assert r.energy_per_token is None and "energy_per_token" not in r.to_dict()
    assert 0 < float(r.mfu.magnitude) < 1
