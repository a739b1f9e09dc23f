"""The validation harness: cross-validated accuracy is a regression-tested property.

The module is marked ``slow``: the default ``pytest`` skips it, CI runs it in a second step
(``pytest -m slow``), at one of two depths:

- **sampled** (the default, about a minute): the current code recomputes the in-sample column
  of every row, the cross-generation fit, the external check, the bands and strata and the whole
  ``docs/validation.md`` page from the leave-one-source-out (LOSO) predictions that page
  records; and a deterministic sample of folds (the largest source of each category,
  :func:`validation_record.sample_sources`) is refitted from the neutral start and must
  reproduce its rows' recorded LOSO predictions. A change to the physics, a case, the fit or
  the start moves the in-sample column or every sampled fold, so a stale record fails here as
  it fails the full run; what only the full run sees is a change confined to an unsampled
  source's own fold.
- **full** (``pytest -m slow --full-validation`` or ``MLSYSIM_FULL_VALIDATION=1``: all 53
  folds, about 8 CPU-minutes in two processes): every test below on the freshly computed
  report, every fold compared with the record.

Nothing here pins a number: the records are read (the lead's refit,
``scripts/calibrate_defaults.py``, writes them).
"""

import math
from pathlib import Path

import pytest
import yaml

from mlsysim_sym.calibration import validate
from mlsysim_sym.calibration.report import pages_agree
from mlsysim_sym.calibration.measurements import DATA_DIR
from tests.calibration.validation_record import (close, full_validation, recorded_loso,
                                                 recorded_rows, sample_sources)

ROOT = Path(__file__).resolve().parents[2]
RECORD = yaml.safe_load((DATA_DIR / "validation.yaml").read_text())
TOLERANCE = 0.005  # half a percentage point of median |error|

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def full(request):
    return full_validation(request.config)


@pytest.fixture(scope="module")
def report(full):
    """The validation report: every fold refitted (full), or the recorded LOSO column with
    everything else recomputed by the current code (sampled)."""
    if full:
        return validate(workers=2)
    return validate(loso=recorded_loso())


@pytest.fixture(scope="module")
def folds(full, report):
    """Refitted folds: all of them (full) or the sample, on the report's cases."""
    if full:
        return report
    return validate([r.case for r in report.rows], sources=sample_sources(),
                    cross_generation=False, bands=False, external=False)


def test_the_sample_spans_the_fitted_categories(report):
    sample = sample_sources()
    assert len(sample) == len(set(sample)) >= 4
    assert {r.category for r in report.rows if r.source in sample} >= \
        {"training", "inference", "tinyml"}


def test_refitted_folds_reproduce_the_recorded_predictions(folds, full):
    # each fold starts from the neutral start and is deterministic; another machine's BLAS or a
    # newer scipy can land a fold of the flat L1 objective in a neighbouring optimum, so up to
    # 2% of the rows (at least one) may differ by more than 1%, none by more than 10%
    rec = recorded_rows()
    rows = [r for r in folds.rows if math.isfinite(r.loso)]
    assert rows and {r.source for r in rows} == (
        {r.source for r in folds.rows} if full else set(sample_sources()))
    missing = [r.id for r in rows if r.id not in rec]
    assert not missing, f"rows not in docs/validation.md (stale: rerun the refit): {missing}"
    far = [(r.id, r.loso, rec[r.id]["loso"]) for r in rows
           if not close(r.loso, rec[r.id]["loso"], 0.01)]
    assert len(far) <= max(1, 0.02 * len(rows)), (
        f"{len(far)} of {len(rows)} refitted LOSO predictions differ from docs/validation.md "
        f"by more than 1% (stale record: rerun python scripts/calibrate_defaults.py): {far[:5]}")
    assert all(close(now, was, 0.10) for _i, now, was in far), far


def test_the_in_sample_column_is_the_recorded_one(report):
    # the shipped defaults evaluated on every case: no fit, so every row agrees
    rec = recorded_rows()
    assert {r.id for r in report.rows} == set(rec), "rows added or removed: rerun the refit"
    far = [(r.id, r.in_sample, rec[r.id]["in_sample"]) for r in report.rows
           if not close(r.in_sample, rec[r.id]["in_sample"], 0.005)]
    assert not far, f"in-sample predictions moved (rerun the refit): {far[:5]}"


@pytest.mark.parametrize("category", ["training", "inference", "tinyml", "all"])
def test_cross_validated_median_error_does_not_regress(report, category):
    recorded = RECORD["categories"][category]["loso_median"]
    now = report.summary()[category]["loso_median"]
    assert now <= recorded + TOLERANCE, (
        f"{category}: leave-one-source-out median |error| {now:.1%} is worse than the recorded "
        f"{recorded:.1%}; if intended, rerun scripts/calibrate_defaults.py")


def test_in_sample_error_does_not_regress(report):
    for cat in ("training", "inference", "tinyml"):
        assert report.summary()[cat]["in_sample_median"] <= \
            RECORD["categories"][cat]["in_sample_median"] + TOLERANCE


def test_bands_hold_about_80_percent_of_held_out_measurements_not_more(report):
    # p10..p90 of the other sources' errors: 80% nominal; coverage reached by width (above 90%)
    # fails as surely as bands that miss
    # (issue 17: 75-90% per category; source-pooled quantiles, calibration/strata.py)
    s = report.summary()
    assert 0.75 <= s["all"]["band_coverage"] <= 0.90, s["all"]
    for cat in ("training", "inference", "tinyml"):
        assert 0.75 <= s[cat]["band_coverage"] <= 0.90, (cat, s[cat])


def test_the_recorded_strata_are_the_ones_users_read(report):
    from mlsysim_sym.analysis.uncertainty import stratum_offsets
    assert report.strata and RECORD.get("strata")
    recorded = {(s["category"], s["regime"], s["vendor"]): s for s in RECORD["strata"]}
    for st in report.strata:
        key = (st["category"], st["regime"], st["vendor"])
        assert key in recorded, f"{key}: stratum missing from validation.yaml"
        assert stratum_offsets(RECORD, *key) == pytest.approx((st["low"], st["high"]),
                                                              abs=0.02)


def test_every_vendor_with_enough_rows_is_reported(report):
    vs = report.vendor_summary()
    assert sum(v["n"] for v in vs.values()) == len(report.rows)
    assert all(v["reported"] == (v["n"] >= 5) for v in vs.values())
    assert "## Per vendor" in report.markdown()


def test_no_fold_saw_the_source_it_predicts(folds):
    assert folds.fits
    for row in folds.rows:
        fit = folds.fits.get(row.source)
        if fit is None:
            continue
        assert all(r.source != row.source for r in fit.rows), row.id


def test_every_cross_validated_prediction_differs_from_the_fitted_one(folds):
    # a fold that never saw a row cannot reproduce the all-data fit exactly, row after row:
    # in the refitted folds and in the record (its columns printed alike, 4 digits)
    same = [r for r in folds.rows if r.category != "energy" and r.loso == r.in_sample]
    assert len(same) < len(folds.rows) / 10
    rec = [r for r in recorded_rows().values() if math.isfinite(r["loso"])]
    assert sum(r["loso"] == r["in_sample"] for r in rec) < len(rec) / 10


def test_cross_generation_is_reported(report):
    cg = report.cross_generation
    assert cg["n"] > 10 and cg["n_fit"] > 10
    assert 0 < cg["median"] < 1


def test_docs_validation_page_is_current(report):
    page = (ROOT / "docs" / "validation.md").read_text()
    same, why = pages_agree(page, report.markdown())
    assert same, f"docs/validation.md is stale ({why}): run python scripts/calibrate_defaults.py"


def test_external_check_is_never_fitted_and_does_not_regress(report, folds):
    from mlsysim_sym.calibration.measurements import external_measurements, shipped_measurements
    ext = {m.id for m in external_measurements()}
    assert ext and not ext & {m.id for m in shipped_measurements()}
    # no fold and no shipped-defaults fit saw an external row or its source
    ext_sources = {r.source for r in report.external}
    for fit in folds.fits.values():
        assert not {r.id for r in fit.rows} & ext
        assert not {r.source for r in fit.rows} & ext_sources
    s = report.external_summary()
    assert s["n"] == len(ext) == len(report.external)
    assert s["median"] <= RECORD["external"]["median"] + TOLERANCE, (
        f"external check median |error| {s['median']:.1%} is worse than the recorded "
        f"{RECORD['external']['median']:.1%}; if intended, rerun scripts/calibrate_defaults.py")
    assert all(r.in_sample > 0 and r.band[0] <= r.in_sample <= r.band[2]
               for r in report.external)


def test_external_check_can_be_switched_off_or_given(report):
    from mlsysim_sym.calibration.measurements import external_measurements
    cases = [r.case for r in report.rows]        # the shipped cases, not built again
    off = validate(cases, loso=False, cross_generation=False, external=False)
    assert off.external == [] and off.external_summary() == {}
    given = validate(cases, loso=False, cross_generation=False, external=external_measurements())
    assert len(given.external) == len(external_measurements())
    assert all(r.band[0] != r.band[0] for r in given.external)   # no LOSO: no band (nan)


def test_unknown_sources_are_refused_with_what_is_allowed(report):
    cases = [r.case for r in report.rows]
    with pytest.raises(ValueError, match="unknown source.*no such publication"):
        validate(cases, sources=["no such publication"], loso=False, cross_generation=False)
    one = validate(cases, sources=sample_sources()[-1], loso=False, cross_generation=False)
    assert one.rows and {r.source for r in one.rows} == {sample_sources()[-1]}
