"""Refit the shipped defaults on the calibration set and regenerate what depends on them.

    python scripts/calibrate_defaults.py            # fit, validate, write the three files
    python scripts/calibrate_defaults.py --check    # exit 1 if docs/validation.md is stale
    python scripts/calibrate_defaults.py --workers 2  # the folds in 2 processes (default: cores)

1. ``calibrate()`` every calibrated parameter on the shipped measurements (all categories but
   energy, whose training layouts are assumptions), from the neutral starting point
   (``calibration/data/start.yaml``); write the values, their 95% intervals, log-spreads and the
   fit's provenance into ``mlsysim_sym/defaults/defaults.yaml``.
2. ``validate()`` with those defaults: in sample, leave one source out, cross generation, bands;
   record the per-category and per-vendor results and the strata discrepancies of the bands in
   ``mlsysim_sym/calibration/data/validation.yaml`` (read by the uncertainty bands and by the
   regression test).
3. Write ``docs/validation.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlsysim_sym.calibration import calibrate, validate  # noqa: E402
from mlsysim_sym.calibration.fit import F_SCALE, as_cases  # noqa: E402
from mlsysim_sym.calibration.measurements import DATA_DIR  # noqa: E402
from mlsysim_sym.calibration.parameters import CALIBRATED, parameter, split_name  # noqa: E402
from mlsysim_sym.defaults.keys import SUCCEEDS  # noqa: E402
from mlsysim_sym.defaults.schema import RETIRED  # noqa: E402
from mlsysim_sym.calibration.validate import (FIT_EXCLUDED, literature_held,  # noqa: E402
                                              neutral_start)

DEFAULTS = ROOT / "mlsysim_sym" / "defaults" / "defaults.yaml"
RECORD = ROOT / "mlsysim_sym" / "calibration" / "data" / "validation.yaml"
DOC = ROOT / "docs" / "validation.md"

HEADER = """\
# Default values of the empirical symbols, each with its provenance.
# Entries with `basis: fitted` are written by scripts/calibrate_defaults.py: a robust
# least-squares fit (scipy least_squares, soft_l1 loss on ln(predicted/measured)) of the
# calibration set (mlsysim_sym/calibration/data/measurements.yaml and measurements_more.yaml,
# published measurements) from
# the neutral start (calibration/data/start.yaml). `fit` says how (data, method, residual, 95%
# interval); `spread` is the standard deviation of ln(value) (uncertainty bands). `variants`
# are per hardware generation / precision / regime (serve) / software stack, fitted as
# deviations from their parent (see mlsysim_sym/calibration/fit.py). Do not edit fitted
# entries by hand: rerun the script.
"""


def _sig(x, n=4):
    return float(f"{x:.{n}g}") if math.isfinite(x) else x


def _fmt(value, unit):
    v = f"{_sig(value):g}"
    return v if unit in ("", "dimensionless") else f"{v} {unit}"


def unfitted_and_superseded(table: dict, fitted: set, start: dict | None = None) -> dict:
    """Complete ``table`` (defaults.yaml as parsed) after a fit that produced ``fitted``: a
    calibrated symbol no fitted case uses (so the fit leaves it out; today the EP overlap, whose
    only training rows state their framework's overlap) and that has no entry of its own gets
    its neutral start (start.yaml) as an assumption, instead of resolving for ever to the
    symbol it succeeds; a symbol no longer calibrated whose successors
    (``defaults.keys.SUCCEEDS``) all have entries now is dropped (``model_parallel_overlap``
    once the three per-class overlaps have theirs)."""
    if start is None:
        with open(DATA_DIR / "start.yaml", encoding="utf-8") as fh:
            start = yaml.safe_load(fh)
    for name in CALIBRATED:
        if name in table or name in fitted or not isinstance(start.get(name), dict):
            continue
        table[name] = {"value": _fmt(float(start[name]["value"]), parameter(name).unit),
                       "basis": "assumption",
                       "source": "mlsysim_sym/calibration/data/start.yaml (the neutral start)",
                       "locator": name,
                       "note": "ASSUMPTION: no fitted measurement uses it (the rows with this "
                               "traffic state their framework's value); held at the neutral "
                               f"start: {start[name].get('why', '')}"}
    for old in set(SUCCEEDS.values()) - set(CALIBRATED):
        if old in table and all(new in table for new, was in SUCCEEDS.items() if was == old):
            del table[old]
    return table


def fit_defaults():
    cases, _ = as_cases(None)
    fitted = [c for c in cases if c.category not in FIT_EXCLUDED]
    result = calibrate(fitted, model=neutral_start(), fixed=literature_held())
    today = dt.date.today().isoformat()
    with open(DEFAULTS, encoding="utf-8") as fh:
        table = yaml.safe_load(fh)
    for name in RETIRED:                    # symbols the physics no longer has
        table.pop(name, None)
    # a fitted variant this fit no longer produces (its rows left, or its parameter became a
    # different symbol) is stale: drop it rather than ship an old fit's number
    for base, entry in table.items():
        variants = entry.get("variants") or {}
        for var in [v for v, row in variants.items()
                    if row.get("basis") == "fitted" and f"{base}[{v}]" not in result.parameters]:
            del variants[var]
        if "variants" in entry and not variants:
            del entry["variants"]
    for name, est in result.parameters.items():
        base, var = split_name(name)
        unit = parameter(name).unit
        row = {"value": _fmt(est.value, unit), "basis": "fitted",
               "source": "calibration set: mlsysim_sym/calibration/data/measurements.yaml "
                         "and measurements_more.yaml",
               "locator": f"robust least-squares fit of {result.n} measurements "
                          f"({', '.join(sorted({c.category for c in fitted}))}); "
                          f"retrieved {today}",
               "note": f"fitted by scripts/calibrate_defaults.py: {parameter(name).description}"}
        if est.identifiable:
            row["fit"] = {"method": "scipy least_squares trf, soft_l1 loss (f_scale "
                                    f"{F_SCALE}: least absolute deviations) on "
                                    "ln(predicted / measured)",
                          "measurements": result.n,
                          "rms_log_error": _sig(result.rms_log_error, 3),
                          "ci95": [_sig(est.ci[0], 3), _sig(est.ci[1], 3)]}
            row["spread"] = _sig(est.log_sd, 3) if math.isfinite(est.log_sd) else 0.0
        elif est.note.startswith("pinned"):
            row["note"] = f"fitted, but {est.note}"
            row["spread"] = 0.0
        else:
            row["basis"] = "assumption"
            row["note"] = (f"ASSUMPTION: not identifiable from the calibration set ({est.note}); "
                           "held at the neutral start value (calibration/data/start.yaml)")
        if var is None:
            old = table.get(base, {})
            keep = {k: v for k, v in old.items() if k == "variants"}
            table[base] = {**row, **keep}
        else:
            entry = table.setdefault(base, {"value": _fmt(result.values.get(base, est.value),
                                                          unit)})
            entry.setdefault("variants", {})[var] = row
    unfitted_and_superseded(table, set(result.parameters))
    with open(DEFAULTS, "w", encoding="utf-8") as fh:
        fh.write(HEADER)
        yaml.safe_dump(table, fh, sort_keys=False, width=100, allow_unicode=False)
    return result


def run_validation(progress=True, workers=1):
    return validate(progress=(lambda s: print(s, flush=True)) if progress else None,
                    workers=workers)


def _sigs(mapping, n=4):
    return {k: (_sig(v, n) if isinstance(v, float) else v) for k, v in mapping.items()}


def write_record(report, fit):
    s = report.summary()
    record = {
        "generated": dt.date.today().isoformat(),
        "note": "written by scripts/calibrate_defaults.py; the regression test fails when a "
                "leave-one-source-out median |error| rises past these values (+ tolerance)",
        "fit": {"measurements": fit.n, "rms_log_error": _sig(fit.rms_log_error, 3),
                "residual_sd": _sig(fit.residual_sd, 3)},
        "categories": {cat: {k: (_sig(v, 4) if isinstance(v, float) else v)
                             for k, v in vals.items()} for cat, vals in s.items()},
        # per category: the equivalent log-sd of the pooled stratum (readers before the strata)
        "discrepancy": {k: _sig(v, 3) for k, v in sorted(report.discrepancy.items())},
        # the bands' strata, most specific first (mlsysim_sym.analysis.uncertainty reads them)
        "strata": [_sigs(st, 4) for st in report.strata],
        "vendors": {v: _sigs(vals) for v, vals in report.vendor_summary().items()},
        "cross_generation": {k: (_sig(v, 4) if isinstance(v, float) else v)
                             for k, v in report.cross_generation.items()
                             if k != "parameters"},
        "external": {k: (_sig(v, 4) if isinstance(v, float) else v)
                     for k, v in report.external_summary().items()},
    }
    with open(RECORD, "w", encoding="utf-8") as fh:
        yaml.safe_dump(record, fh, sort_keys=False, width=100)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="only check that docs/validation.md matches a fresh validation run")
    ap.add_argument("--validate-only", action="store_true",
                    help="skip the fit: validate the current defaults, write the record and doc")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="processes for the leave-one-source-out folds (default: the cores)")
    args = ap.parse_args(argv)
    if args.workers < 1:
        ap.error(f"--workers must be >= 1, got {args.workers}")
    if args.check:
        from mlsysim_sym.calibration.report import pages_agree
        report = run_validation(progress=False, workers=args.workers)
        same, why = pages_agree(DOC.read_text(encoding="utf-8"), report.markdown())
        if not same:
            print(f"docs/validation.md is stale ({why}): run python scripts/calibrate_defaults.py")
            return 1
        return 0
    if not args.validate_only:
        fit = fit_defaults()
        print(fit.report())
        # validate in a fresh process: every module-level cache then sees the new defaults
        import subprocess
        return subprocess.call([sys.executable, __file__, "--validate-only",
                                "--workers", str(args.workers)])
    fit = calibrate([c for c in as_cases(None)[0] if c.category not in FIT_EXCLUDED],
                    model=neutral_start(), fixed=literature_held())
    report = run_validation(workers=args.workers)
    write_record(report, fit)
    DOC.write_text(report.markdown(), encoding="utf-8")
    print(report.summary_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
