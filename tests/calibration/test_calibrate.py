"""calibrate(): recovers known parameters, reports intervals and identifiability honestly."""

import math

import numpy as np
import pytest

from mlsysim_sym.calibration import calibrate, load_measurements
from mlsysim_sym.calibration.fit import evaluate
from tests.calibration.shipped import shipped_cases

# measurements synthesised BY THE MODEL at known parameters: a fit must give them back
TRUE = {"memory_efficiency[serve]": 0.62, "fixed_overhead[llama.cpp]": 0.9}
SPECS = [
    dict(predict="decode_rate", unit="token/s", hardware=hw, model=m, batch=b,
         input_tokens=0, output_tokens=128, precision="fp16", stack="llama.cpp")
    for hw in ("nvidia-rtx-4090", "nvidia-l40s") for m in ("llama-2-7b", "llama-3-2-1b")
    for b in (1, 4)
]


def _entries(values):
    raw = [{"id": f"s{i}", "category": "inference",
            "measured": {"metric": "decode rate", "value": 1.0, "unit": "tokens/s"},
            "mlsysim": spec} for i, spec in enumerate(SPECS)]
    from mlsysim_sym.calibration.cases import build_cases
    cases, _ = build_cases(load_measurements(raw))
    truth = evaluate(cases, values)
    for entry, y in zip(raw, truth):
        entry["measured"]["value"] = float(y)
    return raw


def test_fit_recovers_the_parameters_that_made_the_data():
    data = _entries(TRUE)
    start = {"memory_efficiency": 0.8, "fixed_overhead": 0.2}
    r = calibrate(data, parameters=list(TRUE), model=start, loss="linear")
    for name, true in TRUE.items():
        est = r.parameters[name]
        assert est.identifiable
        assert est.value == pytest.approx(true, rel=1e-3), name
    assert r.median_abs_error < 1e-4


def test_fitted_values_reproduce_their_measurements():
    data = _entries(TRUE)
    r = calibrate(data, parameters=list(TRUE), model={"memory_efficiency": 0.8,
                                                      "fixed_overhead": 0.2}, loss="linear")
    for row in r.rows:
        assert row.predicted == pytest.approx(row.measured, rel=1e-4)


def test_noisy_data_gives_intervals_that_cover_the_truth():
    data = _entries(TRUE)
    rng = np.random.default_rng(3)
    for e in data:
        e["measured"]["value"] *= math.exp(0.005 * rng.standard_normal())
    r = calibrate(data, parameters=list(TRUE), model={"memory_efficiency": 0.8,
                                                      "fixed_overhead": 0.2}, loss="linear")
    for name, true in TRUE.items():
        lo, hi = r.parameters[name].ci
        assert lo < true < hi, (name, lo, true, hi)


def test_a_parameter_the_data_cannot_move_is_reported_not_fitted():
    data = _entries(TRUE)
    r = calibrate(data, parameters=list(TRUE) + ["tinyml_mac_efficiency"],
                  model={"memory_efficiency": 0.8, "fixed_overhead": 0.2,
                         "tinyml_mac_efficiency": 0.3})
    est = r.parameters["tinyml_mac_efficiency"]
    assert not est.identifiable
    assert est.value == 0.3 and "do not depend" in est.note


def test_a_variant_without_measurements_stays_at_its_parent():
    data = _entries(TRUE)
    r = calibrate(data, parameters=list(TRUE) + ["fixed_overhead[vllm]"],
                  model={"memory_efficiency": 0.8, "fixed_overhead": 0.2})
    est = r.parameters["fixed_overhead[vllm]"]
    assert not est.identifiable and "equals fixed_overhead" in est.note
    # the base was fitted alongside (not asked for): it is in auxiliary, not in parameters
    assert "fixed_overhead" not in r.parameters
    assert est.value == pytest.approx(r.auxiliary["fixed_overhead"].value)
    assert r.values["fixed_overhead"] == r.auxiliary["fixed_overhead"].value


def test_unknown_parameter_names_close_matches():
    with pytest.raises(ValueError, match="did you mean memory_efficiency"):
        calibrate(_entries(TRUE), parameters=["memory_eficiency"])


def test_nothing_reproducible_is_an_error():
    with pytest.raises(ValueError, match="no measurement can be reproduced"):
        calibrate([{"id": "a", "category": "training",
                    "measured": {"metric": "x", "value": 1.0, "unit": "s"}}])


def test_a_fixed_base_stays_put_while_its_variants_are_fitted():
    # the base is held (a literature value, say); the serving variant still moves to the data
    data = _entries(TRUE)
    r = calibrate(data, parameters=["memory_efficiency[serve]"], fixed=["memory_efficiency"],
                  model={"memory_efficiency": 0.8, "fixed_overhead": 0.9}, loss="linear",
                  variant_spread=100.0)   # a flat prior: the exact data alone decide
    assert "memory_efficiency" not in r.parameters
    est = r.parameters["memory_efficiency[serve]"]
    assert est.identifiable and est.value == pytest.approx(0.62, rel=1e-3)


def test_published_kernel_values_are_held_in_every_fit():
    # FlashAttention-2's utilization is a published measurement (start.yaml, fixed: true):
    # the shipped fit and every LOSO fold hold it, and the fa2 rows predict with it
    from mlsysim_sym.calibration.validate import _predict_with, literature_held, neutral_start
    held = literature_held()
    assert {"attention_efficiency[hopper-fa2]", "attention_efficiency[ampere-fa2]"} <= held
    cases, _ = shipped_cases()      # as_cases(None), built once per session
    foundry = [c for c in cases if c.id.startswith("train-llmfoundry-mpt7b-h100-x8")]
    assert foundry and all("attention_efficiency[hopper-fa2]" in c.uses for c in foundry)
    start = neutral_start()
    r = calibrate(foundry, parameters=["compute_efficiency[hopper]"], model=start,
                  fixed=held)
    assert not any(k in r.parameters for k in held)
    # the held value is what the prediction uses: moving it moves the prediction
    base = _predict_with(r, start, foundry)
    values = dict(start, **r.values)
    assert float(evaluate(foundry, values)[0]) == pytest.approx(base[0], rel=1e-12)
    values["attention_efficiency[hopper-fa2]"] = 0.7
    assert float(evaluate(foundry, values)[0]) > base[0] * 1.01   # faster attention, more MFU
    assert start["attention_efficiency[hopper-fa2]"] == 0.35


# ------------------------------------------------------------------ issue 15: honest intervals
def _two_points():
    return _entries(TRUE)[:2]


def test_as_many_parameters_as_measurements_is_not_determined():
    # two measurements, two free parameters (the bases held): an exact fit, no residual left;
    # before, the interval was zero-width (3.333 .. 3.333 ms)
    data = _two_points()
    r = calibrate(data, parameters=list(TRUE), fixed=["memory_efficiency", "fixed_overhead"],
                  model={"memory_efficiency": 0.8, "fixed_overhead": 0.2}, loss="linear")
    assert set(r.parameters) == set(TRUE)
    for name, est in r.parameters.items():
        assert not est.determined, name
        assert "no residual" in est.note and "2 measurement(s) for 2 free" in est.note
        assert all(math.isnan(v) for v in est.ci)
        assert "not determined" in str(est)
    assert "not determined" in r.report()


def test_asking_for_one_parameter_returns_exactly_it():
    data = _entries(TRUE)
    r = calibrate(data, parameters=["memory_efficiency[serve]"],
                  model={"memory_efficiency": 0.8, "fixed_overhead": 0.9}, loss="linear")
    assert list(r.parameters) == ["memory_efficiency[serve]"]
    assert "memory_efficiency" in r.auxiliary          # its base, fitted alongside
    assert "fitted alongside" in r.report()


@pytest.mark.parametrize("loss", ["linear", "soft_l1"])
def test_intervals_never_cross_a_physical_bound(loss):
    # few, noisy measurements: a linear interval on an efficiency would cross 0 or 1
    data = _entries(TRUE)[:4]
    rng = np.random.default_rng(7)
    for e in data:
        e["measured"]["value"] *= math.exp(0.3 * rng.standard_normal())
    r = calibrate(data, parameters=list(TRUE), fixed=["memory_efficiency", "fixed_overhead"],
                  model={"memory_efficiency": 0.8, "fixed_overhead": 0.2}, loss=loss)
    eff = r.parameters["memory_efficiency[serve]"]
    over = r.parameters["fixed_overhead[llama.cpp]"]
    for est, (lo_b, hi_b) in ((eff, (0.0, 1.0)), (over, (0.0, math.inf))):
        if est.determined and est.identifiable:
            lo, hi = est.ci
            assert lo_b <= lo <= est.value <= hi <= hi_b, (est.name, est.ci)


def test_interval_transform_is_logit_for_fractions_and_log_otherwise():
    from mlsysim_sym.calibration.fit import _interval
    lo, hi = _interval(0.9, 0.5, float("nan"), 2.0, (0.05, 1.0))   # linear: -0.1 .. 1.9
    assert 0 < lo < 0.9 < hi < 1
    lo, hi = _interval(3.0, 4.0, float("nan"), 2.0, (0.0, 1e3))    # linear: -5 .. 11
    assert 0 < lo < 3.0 < hi and lo * hi == pytest.approx(9.0)
