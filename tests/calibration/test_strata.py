"""Source-pooled conformal bands by stratum (mlsysim_sym.calibration.strata) and the record
users read.

Synthetic held-out errors stand in for a leave-one-source-out run: the conformal logic is
tested on data whose coverage is known, without refitting anything. Sources, not rows, are
exchangeable (each source a shared offset plus row noise), as in the calibration set.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from mlsysim_sym.analysis import uncertainty as U
from mlsysim_sym.calibration import strata as S


def _synthetic(rng, n_sources=40, rows=(2, 9), category="training", regime="data-parallel",
               vendor="nvidia", scale=0.15, bias=0.0):
    """Exchangeable sources: a per-source offset plus heavy-tailed row noise (Student t, 3 dof)."""
    out = []
    for k in range(n_sources):
        src_effect = rng.normal(0.0, scale)
        for _ in range(rng.integers(*rows)):
            out.append(S.Scored(category, regime, vendor, f"{category}-{vendor}-{k}",
                                bias + src_effect + scale * 0.5 * rng.standard_t(3)))
    return out


def _coverage(scored):
    hits, widths = [], []
    for s, ((low, high), _key) in zip(scored, S.conformal_offsets(scored)):
        hits.append(low <= s.log_ratio <= high)
        widths.append(high - low)
    return float(np.mean(hits)), float(np.median(widths))


def test_conformal_quantile_is_the_finite_sample_rank():
    # n = 9 scores: the ceil(10 * 0.8) = 8th smallest
    assert S.conformal_quantile(range(1, 10), 0.8) == 8
    # too few scores for the rank: the largest (and nan for none)
    assert S.conformal_quantile([1.0, 2.0], 0.9) == 2.0
    assert math.isnan(S.conformal_quantile([], 0.9))
    assert S.conformal_quantile([3.0, float("nan"), 1.0, 2.0], 0.5) == 2.0


def test_bands_hold_80_percent_of_exchangeable_held_out_errors_not_more():
    rng = np.random.default_rng(7)
    covs = [_coverage(_synthetic(rng))[0] for _ in range(6)]
    assert 0.75 <= float(np.mean(covs)) <= 0.87, covs


def test_a_biased_stratum_gets_a_wider_band_that_still_holds_80_percent():
    # the band is centred on the point prediction (its p50): a stratum the model gets wrong in
    # one direction widens it until 80% of the other sources' errors fit
    centred = _synthetic(np.random.default_rng(3), bias=0.0)
    shifted = _synthetic(np.random.default_rng(3), bias=0.3)
    cov_c, width_c = _coverage(centred)
    cov_s, width_s = _coverage(shifted)
    assert 0.72 <= cov_s <= 0.9 and 0.72 <= cov_c <= 0.9
    assert width_s > width_c
    low, high = S.offsets([s.log_ratio for s in shifted], [s.source for s in shifted])
    assert low == -high and high > 0.3


def _source_coverage(scored):
    per = {}
    for s, ((low, high), _key) in zip(scored, S.conformal_offsets(scored)):
        per.setdefault(s.source, []).append(low <= s.log_ratio <= high)
    return float(np.mean([np.mean(v) for v in per.values()]))


def test_each_source_counts_once_so_held_out_sources_are_covered_at_80_percent():
    # sources of very unequal size (1 to 40 rows): a few large sources with small errors would
    # narrow a row-weighted band below what a new source needs
    rng = np.random.default_rng(21)
    covs = []
    for _ in range(5):
        scored = []
        for k in range(30):
            effect, n = rng.normal(0.0, 0.25), (40 if k < 3 else int(rng.integers(1, 5)))
            noise = 0.02 if k < 3 else 0.1
            scored += [S.Scored("training", "data-parallel", "nvidia", f"s{k}",
                                effect * (0.1 if k < 3 else 1.0) + noise * rng.standard_normal())
                       for _ in range(n)]
        covs.append(_source_coverage(scored))
    assert 0.72 <= float(np.mean(covs)) <= 0.88, covs


def test_pooled_quantile_weighs_each_source_once():
    # one row per source: the plain quantile of the rows
    assert S.pooled_quantile([1, 2, 3, 4, 5], "abcde", 0.8) == 4
    # a source's 100 rows at 0 weigh what one row does: the other four sources set the tail
    scores = [0.0] * 100 + [1.0, 2.0, 3.0, 4.0]
    groups = ["big"] * 100 + ["p", "q", "r", "s"]
    assert S.pooled_quantile(scores, groups, 0.8) == 3.0
    assert S.conformal_quantile(scores, 0.8) == 0.0     # row-weighted: the big source decides
    # a source with two extreme rows is one source among many, not the tail by itself
    spread = [0.1 * k for k in range(1, 13)] + [3.0, 2.6]
    who = [f"s{k}" for k in range(12)] + ["extreme", "extreme"]
    assert S.pooled_quantile(spread, who, 0.8) < 2.0
    assert math.isnan(S.pooled_quantile([float("nan")], ["a"], 0.8))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=12), st.integers(2, 6))
def test_repeating_a_sources_rows_does_not_move_its_weight(errors, copies):
    groups = [f"s{i}" for i in range(len(errors))]
    once = S.offsets(errors, groups)
    repeated = S.offsets(errors + [errors[0]] * copies, groups + [groups[0]] * copies)
    assert repeated == once


def test_a_duration_and_a_rate_with_the_same_error_get_the_same_factor():
    # the score is |ln(measured / predicted)|: whether a source published step times or
    # throughputs (the orientation flips the sign) does not move or skew the band
    rng = np.random.default_rng(13)
    rates = _synthetic(rng, n_sources=15)
    mixed = [S.Scored(s.category, s.regime, s.vendor, s.source,
                      -s.log_ratio if i % 2 else s.log_ratio) for i, s in enumerate(rates)]
    assert S.conformal_offsets(rates) == S.conformal_offsets(mixed)
    for (low, high), _key in S.conformal_offsets(rates):
        assert low == -high
    # a duration's band is the reciprocal of the rate's: 1.567 s with r = 0.3
    step = S.band(1.567, -0.3, 0.3, S.orientation("s"))
    rate = S.band(1 / 1.567, -0.3, 0.3, S.orientation("1/s"))
    assert step[0] == pytest.approx(1 / rate[2]) and step[2] == pytest.approx(1 / rate[0])


def test_the_record_holds_only_strata_a_held_out_row_could_use():
    def stratum(n_sources, vendor):
        return [S.Scored("inference", "decode", vendor, f"{vendor}{k}", 0.01 * k)
                for k in range(n_sources) for _ in range(2)]
    scored = stratum(S.MIN_SOURCES, "intel") + stratum(S.MIN_SOURCES + 1, "nvidia")
    keys = {(r["category"], r["regime"], r["vendor"]) for r in S.strata_record(scored)}
    assert ("inference", "decode", "nvidia") in keys
    assert ("inference", "decode", "intel") not in keys
    used = {key for _off, key in S.conformal_offsets(scored)}
    assert ("inference", "decode", "intel") not in used
    assert used <= keys


def test_the_band_of_a_row_never_uses_its_own_source():
    rng = np.random.default_rng(11)
    scored = _synthetic(rng, n_sources=12)
    own = scored[0].source
    moved = [S.Scored(s.category, s.regime, s.vendor, s.source,
                      s.log_ratio * 50 if s.source == own else s.log_ratio) for s in scored]
    assert S.conformal_offsets(scored)[0] == S.conformal_offsets(moved)[0]


def test_a_small_stratum_pools_up_the_hierarchy():
    rng = np.random.default_rng(5)
    big = _synthetic(rng, n_sources=S.MIN_SOURCES + 2, vendor="nvidia")
    small = _synthetic(rng, n_sources=2, rows=(2, 3), vendor="amd", scale=1.0)  # 4 rows
    res = S.conformal_offsets(big + small)
    assert {key for _off, key in res[:len(big)]} == {("training", "data-parallel", "nvidia")}
    assert {key for _off, key in res[len(big):]} == {("training", "data-parallel", None)}
    record = {(r["category"], r["regime"], r["vendor"]) for r in S.strata_record(big + small)}
    assert ("training", "data-parallel", "nvidia") in record
    assert ("training", "data-parallel", "amd") not in record
    assert ("training", None, None) in record


def test_a_category_without_other_sources_gets_no_band():
    one = [S.Scored("other", "vision", "nvidia", "only-source", 0.1 * i) for i in range(9)]
    assert all(math.isnan(off[0]) and key is None for off, key in S.conformal_offsets(one))


@settings(max_examples=30, deadline=None)
@given(st.floats(0.01, 1e4), st.floats(-2.0, 0.0), st.floats(0.0, 2.0))
def test_a_band_holds_its_prediction_and_flips_for_a_duration(pred, low, high):
    rate = S.band(pred, low, high, +1)
    time = S.band(pred, low, high, -1)
    assert rate[0] <= pred <= rate[2] and time[0] <= pred <= time[2]
    assert math.isclose(rate[0] * time[2], pred ** 2, rel_tol=1e-9)


def test_orientation_of_units():
    assert U.orientation_of("ms") == -1 and U.orientation_of("h") == -1
    assert U.orientation_of("token/s") == 1 and U.orientation_of("percent") == 1
    # costs a leaner machine makes smaller count as durations: energy and emissions
    assert U.orientation_of("kWh") == -1 and U.orientation_of("J/token") == -1
    assert U.orientation_of("tCO2e") == -1 and U.orientation_of("TFLOP/s") == 1


def test_user_bands_read_the_most_specific_recorded_stratum_and_old_records():
    record = {"strata": [
        {"category": "training", "regime": "model-parallel", "vendor": "nvidia",
         "low": -0.3, "high": 0.1},
        {"category": "training", "regime": None, "vendor": None, "low": -0.2, "high": 0.2}],
        "discrepancy": {"inference": 0.3}}
    assert U.stratum_offsets(record, "training", "model-parallel", "nvidia") == (-0.3, 0.1)
    assert U.stratum_offsets(record, "training", "model-parallel", "google") == (-0.2, 0.2)
    assert U.stratum_offsets(record, "training") == (-0.2, 0.2)
    # a record written before the strata: the category's log-sd, +-z_0.9
    assert U.stratum_offsets(record, "inference", "decode", "nvidia") == \
        pytest.approx((-U.Z90 * 0.3, U.Z90 * 0.3))
    assert U.stratum_offsets(record, "tinyml") is None


def test_band_of_is_centred_on_the_point_prediction(monkeypatch):
    record = {"strata": [{"category": "training", "regime": None, "vendor": None,
                          "low": -0.2, "high": 0.1}]}
    monkeypatch.setattr(U, "_record", lambda: record)
    draws = np.linspace(1.0, 100.0, 50)     # a wide parameter spread: not added
    rate = U.band_of(draws, "token/s", "training", point=10.0)
    assert rate.p50.magnitude == 10.0
    assert rate.p10.magnitude == pytest.approx(10 * math.exp(-0.2))
    assert rate.p90.magnitude == pytest.approx(10 * math.exp(0.1))
    step = U.band_of(draws, "s", "training", point=10.0)
    assert step.p10.magnitude == pytest.approx(10 * math.exp(-0.1))
    assert step.p90.magnitude == pytest.approx(10 * math.exp(0.2))
    # no record for the category: the draws' own spread
    free = U.band_of(draws, "s", "energy", point=10.0)
    assert free.p10.magnitude == pytest.approx(np.percentile(draws, 10))


def test_validate_reports_each_vendor_with_its_registry_name():
    from mlsysim_sym.calibration import validate
    rep = validate(category="tinyml", loso=False, cross_generation=False, external=False)
    vs = rep.vendor_summary()
    # MLPerf Tiny v1.x: ST boards (5 submissions, 10 rows in the calibration set)
    assert vs["st"]["n"] >= 5 and vs["st"]["reported"]
    assert sum(v["n"] for v in vs.values()) == len(rep.rows)
    assert {r.vendor for r in rep.rows} == set(vs)
    page = rep.markdown()
    assert "## Per vendor" in page and "| st |" in page
    assert "st " in rep.summary_text() and "vendors with fewer than 5 rows" in rep.summary_text()


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_workers_must_be_a_whole_number(bad):
    from mlsysim_sym.calibration import validate
    with pytest.raises(ValueError, match="workers must be a whole number"):
        validate(loso=False, cross_generation=False, external=False, workers=bad)


@pytest.mark.slow
def test_parallel_folds_give_the_serial_result():
    # the folds rebuild their cases in spawned processes; each fold is deterministic
    from mlsysim_sym.calibration import validate
    from mlsysim_sym.calibration.measurements import shipped_measurements
    tiny = [m for m in shipped_measurements() if m.category == "tinyml"]
    # three folds (of 14) in two processes: the same path as all of them, a third of the CPU
    kw = dict(cross_generation=False, external=False,
              sources=sorted({m.source_key for m in tiny
                              if m.spec and m.spec.get("covered") is not False})[:3])
    one, two = validate(tiny, workers=1, **kw), validate(tiny, workers=2, **kw)
    assert [r.id for r in one.rows] == [r.id for r in two.rows]
    for a, b in zip(one.rows, two.rows):
        assert b.loso == pytest.approx(a.loso, rel=1e-9, nan_ok=True)
        assert b.band == pytest.approx(a.band, rel=1e-9, nan_ok=True)
    assert set(one.fits) == set(two.fits) == set(kw["sources"])
