"""The validation harness: every measurement through the model, in sample and cross-validated.

- **In sample**: each measurement predicted with the shipped defaults, which were fitted on all
  of them (``defaults.yaml``): how well the model *can* describe the data.
- **Leave one source out** (LOSO): for each publication, the parameters are refitted without
  any of its rows, starting from the neutral starting point (``data/start.yaml``, never from the
  shipped defaults, which have seen every row), and its rows are predicted: how well the model
  predicts a source it has never seen. A variant parameter (a chip generation, a software
  stack) that only the left-out source measures falls back to its base value.
- **Cross generation**: the training parameters fitted on A100-era rows (Ampere and Volta) alone,
  then H100-era rows (Hopper) predicted: whether the efficiency transfers across generations.
- **Bands**: p10 / p50 / p90 of each prediction from the parameters' spread and the category's
  model discrepancy (the scatter of the *other* sources' LOSO errors), and how often the
  measured value falls inside.
- **External check**: published measurements outside the calibration set
  (``data/external.yaml``), which no fit, default or fold has seen, predicted with the shipped
  defaults, with the category's LOSO band around each.

A number fitted from a measurement is never presented as a prediction of it: the LOSO and
cross-generation columns are the predictions; the in-sample column is labelled as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import yaml

from ..defaults import parent
from .cases import Case
from .fit import CalibrationResult, as_cases, calibrate, evaluate, starting_values
from .measurements import CATEGORIES, DATA_DIR, external_measurements
from .parameters import split_name

__all__ = ["validate", "ValidationReport", "ValidationRow", "neutral_start",
           "ARCHITECTURE_ERAS", "Z90", "FIT_EXCLUDED"]

Z90 = 1.2815515655446004          # standard normal quantile at 0.9 (p10 .. p90 band)
#: categories predicted but never fitted: the energy rows need training layouts their sources
#: do not publish (assumptions), so they test the model and never tune it
FIT_EXCLUDED = ("energy",)
#: which hardware generations count as "A100 era" and "H100 era" in the cross-generation test
ARCHITECTURE_ERAS = {"fit": ("ampere", "volta"), "predict": ("hopper",)}


def neutral_start() -> dict:
    """The starting point of every fit (``data/start.yaml``): literature-level values."""
    return {k: float(v["value"] if isinstance(v, dict) else v) for k, v in _start().items()}


@lru_cache(maxsize=1)
def _start() -> dict:
    with open(DATA_DIR / "start.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def literature_held() -> frozenset:
    """Parameters whose value is a published measurement (``fixed: true`` in start.yaml):
    every fit and fold holds them instead of fitting them."""
    return frozenset(k for k, v in _start().items() if isinstance(v, dict) and v.get("fixed"))


@dataclass
class ValidationRow:
    """One measurement: measured, in-sample, cross-validated and band predictions."""

    case: Case
    in_sample: float
    loso: float = float("nan")
    band: tuple = (float("nan"), float("nan"), float("nan"))
    cross_generation: float = float("nan")

    id = property(lambda self: self.case.id)
    category = property(lambda self: self.case.category)
    source = property(lambda self: self.case.source)
    measured = property(lambda self: self.case.measured)
    unit = property(lambda self: self.case.unit)

    @property
    def in_sample_error(self) -> float:
        return self.in_sample / self.measured - 1.0

    @property
    def loso_error(self) -> float:
        return self.loso / self.measured - 1.0

    @property
    def in_band(self) -> bool:
        lo, _mid, hi = self.band
        return bool(lo <= self.measured <= hi)


def _med(xs):
    xs = [abs(x) for x in xs if math.isfinite(x)]
    return float(np.median(xs)) if xs else float("nan")


def _coverage(rows):
    """Share of the rows with a band whose measured value falls inside it (nan: no band)."""
    banded = [r for r in rows if math.isfinite(r.band[0])]
    return sum(r.in_band for r in banded) / len(banded) if banded else float("nan")


def _max(xs):
    xs = [abs(x) for x in xs if math.isfinite(x)]
    return float(max(xs)) if xs else float("nan")


@dataclass
class ValidationReport:
    """What :func:`validate` returns: rows, per-category summaries, text and Markdown."""

    rows: list
    not_covered: list
    fits: dict = field(default_factory=dict)          # source -> CalibrationResult (LOSO)
    external: list = field(default_factory=list)      # ValidationRow: prediction = in_sample
    cross_generation: dict = field(default_factory=dict)
    discrepancy: dict = field(default_factory=dict)   # category -> log-sd of LOSO errors

    def summary(self) -> dict:
        """Per category: counts, in-sample and LOSO median / max |error|, band coverage."""
        out = {}
        cats = [c for c in CATEGORIES if any(r.category == c for r in self.rows)]
        for cat in cats + ["all"]:
            rs = [r for r in self.rows if cat == "all" or r.category == cat]
            out[cat] = {
                "n": len(rs),
                "not_covered": sum(1 for u in self.not_covered
                                   if cat == "all" or u.category == cat),
                "in_sample_median": _med(r.in_sample_error for r in rs),
                "in_sample_max": _max(r.in_sample_error for r in rs),
                "loso_median": _med(r.loso_error for r in rs),
                "loso_max": _max(r.loso_error for r in rs),
                "band_coverage": _coverage(rs),
            }
        return out

    def table(self) -> str:
        """Plain-text table: one line per measurement, then the per-category summary."""
        lines = [f"{'measurement':58s} {'measured':>11s} {'in-sample':>10s} {'err':>7s} "
                 f"{'LOSO':>10s} {'err':>7s} {'p10..p90':>21s}"]
        for r in self.rows:
            lo, _m, hi = r.band
            lines.append(f"{r.id[:58]:58s} {r.measured:11.4g} {r.in_sample:10.4g} "
                         f"{r.in_sample_error:+7.1%} {r.loso:10.4g} {r.loso_error:+7.1%} "
                         f"{lo:10.4g}..{hi:<10.4g}")
        if self.external:
            lines += ["", f"{'external check (never fitted)':58s} {'measured':>11s} "
                          f"{'predicted':>10s} {'err':>7s} {'':>18s} {'p10..p90':>21s}"]
            for r in self.external:
                lo, _m, hi = r.band
                lines.append(f"{r.id[:58]:58s} {r.measured:11.4g} {r.in_sample:10.4g} "
                             f"{r.in_sample_error:+7.1%} {'':>18s} {lo:10.4g}..{hi:<10.4g}")
        lines.append("")
        lines.append(self.summary_text())
        return "\n".join(lines)

    def summary_text(self) -> str:
        s = self.summary()
        lines = [f"{'category':10s} {'n':>4s} {'in-sample median':>17s} {'max':>8s} "
                 f"{'LOSO median':>12s} {'max':>8s} {'in p10-p90':>11s} {'not covered':>12s}"]
        def pct(x, width, digits=1):  # '-' for what was not run (no LOSO: no LOSO error)
            return f"{x:{width}.{digits}%}" if math.isfinite(x) else f"{'-':>{width}s}"

        for cat, v in s.items():
            lines.append(f"{cat:10s} {v['n']:4d} {pct(v['in_sample_median'], 17)} "
                         f"{pct(v['in_sample_max'], 8)} {pct(v['loso_median'], 12)} "
                         f"{pct(v['loso_max'], 8)} {pct(v['band_coverage'], 11, 0)} "
                         f"{v['not_covered']:12d}")
        ext = self.external_summary()
        if ext:
            lines.append(f"external check (never fitted; {', '.join(ext['categories'])}): "
                         f"{ext['n']} rows from {ext['sources']} source(s), median |error| "
                         f"{ext['median']:.1%}, max {ext['max']:.1%}, in p10-p90 "
                         f"{ext['band_coverage']:.0%}")
        cg = self.cross_generation
        if cg:
            lines.append(f"cross-generation (training; fit on {', '.join(cg['fit_eras'])}, "
                         f"predict {', '.join(cg['predict_eras'])}): {cg['n']} rows, median "
                         f"|error| {cg['median']:.1%}, max {cg['max']:.1%}")
        return "\n".join(lines)

    def external_summary(self) -> dict:
        """The external check: rows, sources, median / max |error|, band coverage."""
        rs = self.external
        if not rs:
            return {}
        return {"n": len(rs), "sources": len({r.source for r in rs}),
                "categories": sorted({r.category for r in rs}),
                "median": _med(r.in_sample_error for r in rs),
                "max": _max(r.in_sample_error for r in rs),
                "band_coverage": _coverage(rs)}

    def markdown(self) -> str:
        from .report import validation_markdown
        return validation_markdown(self)

    def to_frame(self):
        """pandas DataFrame, one row per measurement (:func:`mlsysim_sym.display.validation_frame`)."""
        from ..display import validation_frame
        return validation_frame(self)


def _fold_fit(cases, start, max_nfev):
    return calibrate(cases, model=start, max_nfev=max_nfev, fixed=literature_held())


def _predict_with(fit: CalibrationResult, start, cases):
    values = dict(start)
    values.update(fit.values)
    # a variant no fitted case measured falls back to its base (cases pick base when absent);
    # a held published value stays
    held = literature_held()
    values = {k: v for k, v in values.items()
              if split_name(k)[1] is None or k in fit.parameters or k in held}
    return [float(np.asarray(y, dtype=float).reshape(-1)[0]) for y in evaluate(cases, values)]


def _discrepancy_sd(x):
    """Log-sd whose +-Z90 band holds 80% of the held-out log errors ``x`` (split conformal:
    the 80th percentile of |log error| over Z90). The errors are heavy-tailed (a source the
    model cannot express errs by 2x), so a Gaussian sd from their spread would make
    p10..p90 bands that hold fewer than 80% of new measurements."""
    x = np.asarray([v for v in x if math.isfinite(v)], dtype=float)
    if x.size < 3:
        return float("nan")
    return float(np.quantile(np.abs(x), 0.8) / Z90)


def validate(measurements=None, *, category=None, loso: bool = True,
             cross_generation: bool = True, bands: bool = True, defaults=None,
             max_nfev: int = 200, progress=None, external=None) -> ValidationReport:
    """Run measurements through the model: in sample, leave one source out, across generations.

    Parameters
    ----------
    measurements : path, list or None
        As :func:`~mlsysim_sym.calibration.calibrate` (None: the shipped 145 measurements).
    category : str or list of str, optional
        Restrict the rows reported (training, inference, tinyml, energy, other); folds still
        refit on every other source.
    loso, cross_generation, bands : bool
        Which analyses to run (LOSO refits once per source: about a second each).
    defaults : mapping, optional
        Parameter values for the in-sample column (default: the shipped defaults).
    progress : callable(str), optional
        Called with one line per step: the in-sample pass, each leave-one-source-out fold
        (``"[3/41] without <source>: 4 rows predicted"``), the cross-generation fit and the
        external check (:class:`mlsysim_sym.progress.Progress` shows them with the elapsed
        time).
    external : path, list, False or None
        Measurements outside the calibration set to predict with the defaults (never fitted):
        None means the shipped external check (``data/external.yaml``) when ``measurements`` is
        None, else none; False for none.

    Returns
    -------
    ValidationReport
    """
    say = progress or (lambda line: None)
    cats = None if category is None else ([category] if isinstance(category, str)
                                          else list(category))
    if cats is not None:
        bad = [c for c in cats if c not in CATEGORIES]
        if bad:
            raise ValueError(f"unknown category {bad}; allowed: {', '.join(CATEGORIES)}")
    cases, uncovered = as_cases(measurements)
    say(f"in sample: {len(cases)} measurements with the defaults")
    used = sorted({u for c in cases for u in c.uses})
    shipped = starting_values(defaults, used)
    in_sample = evaluate(cases, shipped)
    rows = [ValidationRow(c, float(np.asarray(y, dtype=float).reshape(-1)[0]))
            for c, y in zip(cases, in_sample)]
    report = ValidationReport(rows, list(uncovered))
    start = neutral_start()
    wanted = [r for r in rows if cats is None or r.category in cats]
    if loso:
        sources = sorted({r.source for r in wanted})
        for i, src in enumerate(sources):
            say(f"[{i + 1}/{len(sources)}] refitting without {src[:70]}")
            train = [c for c in cases if c.source != src and c.category not in FIT_EXCLUDED]
            held = [r for r in rows if r.source == src]
            fit = _fold_fit(train, start, max_nfev)
            preds = _predict_with(fit, start, [r.case for r in held])
            for r, y in zip(held, preds):
                r.loso = y
            report.fits[src] = fit
            say(f"[{i + 1}/{len(sources)}] without {src[:70]}: {len(held)} rows predicted")
        if bands:
            _bands(report, rows)
    if cross_generation:
        say("cross-generation: fitting the older generations, predicting the newer")
        report.cross_generation = _cross_generation(cases, rows, start, max_nfev)
    if external is None and measurements is None:
        external = external_measurements()
    if external is not False and external is not None:
        say("external check: predicting measurements never fitted")
        report.external = _external(external, defaults, report.discrepancy, cats)
    report.rows = wanted
    report.not_covered = [u for u in uncovered if cats is None or u.category in cats]
    return report


def _external(measurements, defaults, discrepancy, cats) -> list:
    """Rows of measurements no fit has seen, predicted with ``defaults`` (the shipped ones);
    the band is the category's LOSO discrepancy around the prediction."""
    cases, _uncovered = as_cases(measurements)
    cases = [c for c in cases if cats is None or c.category in cats]
    if not cases:
        return []
    values = starting_values(defaults, sorted({u for c in cases for u in c.uses}))
    out = []
    for c, y in zip(cases, evaluate(cases, values)):
        r = ValidationRow(c, float(np.asarray(y, dtype=float).reshape(-1)[0]))
        sd = discrepancy.get(c.category, float("nan"))
        if r.in_sample > 0 and math.isfinite(sd):
            r.band = (r.in_sample * math.exp(-Z90 * sd), r.in_sample,
                      r.in_sample * math.exp(Z90 * sd))
        out.append(r)
    return out


def _bands(report, rows):
    """p10/p50/p90 around each LOSO prediction: the category's discrepancy measured on the
    OTHER sources' LOSO errors (so the band of a row never uses that row's own error)."""
    logs = {r.id: math.log(r.loso / r.measured) if r.loso > 0 else float("nan") for r in rows}
    for cat in {r.category for r in rows}:
        report.discrepancy[cat] = _discrepancy_sd([logs[r.id] for r in rows
                                                   if r.category == cat])
    for r in rows:
        if not (r.loso > 0):
            continue
        others = [logs[o.id] for o in rows if o.category == r.category and o.source != r.source]
        sd = _discrepancy_sd(others)
        if not math.isfinite(sd):
            continue
        fit = report.fits.get(r.source)
        sd_par = _parameter_log_sd(fit, r.case) if fit is not None else 0.0
        total = math.sqrt(sd ** 2 + sd_par ** 2)
        r.band = (r.loso * math.exp(-Z90 * total), r.loso, r.loso * math.exp(Z90 * total))


def _parameter_log_sd(fit, case) -> float:
    """Propagated log-sd of a prediction from the fitted parameters' log-sds (independent)."""
    base = dict(fit.values)
    y0 = np.asarray(case.predict(base), dtype=float).reshape(-1)[0]
    if not (y0 > 0):
        return 0.0
    var = 0.0
    for name in case.uses:
        key = name
        while key is not None and key not in fit.parameters:
            key = parent(key)
        est = fit.parameters.get(key) if key else None
        if est is None or not est.identifiable or not math.isfinite(est.log_sd):
            continue
        bumped = dict(base)
        bumped[key] = est.value * math.exp(-1e-3)   # downwards: never past an upper bound
        if key != name and name in bumped:
            bumped[name] = bumped[key]
        try:
            y1 = np.asarray(case.predict(bumped), dtype=float).reshape(-1)[0]
        except ValueError:
            continue
        if not (y1 > 0):
            continue
        elasticity = math.log(y1 / y0) / -1e-3
        var += (elasticity * est.log_sd) ** 2
    return math.sqrt(var)


def _arch(case):
    for name in case.uses:
        base, var = split_name(name)
        if base == "compute_efficiency" and var:
            return var
    return None


def _cross_generation(cases, rows, start, max_nfev) -> dict:
    fit_eras, pred_eras = ARCHITECTURE_ERAS["fit"], ARCHITECTURE_ERAS["predict"]
    train = [c for c in cases if c.category == "training" and _arch(c) in fit_eras]
    target = [r for r in rows if r.category == "training" and _arch(r.case) in pred_eras]
    if not train or not target:
        return {}
    # one efficiency per parameter (no generation variants) fitted on the older generation
    flat = [_without_generation(c) for c in train]
    fit = calibrate(flat, model=start, max_nfev=max_nfev)
    preds = _predict_with(fit, start, [_without_generation(r.case) for r in target])
    for r, y in zip(target, preds):
        r.cross_generation = y
    errs = [y / r.measured - 1 for r, y in zip(target, preds)]
    return {"fit_eras": list(fit_eras), "predict_eras": list(pred_eras), "n": len(target),
            "n_fit": len(train), "median": _med(errs), "max": _max(errs),
            "parameters": {k: v.value for k, v in fit.parameters.items()}}


def _without_generation(case: Case) -> Case:
    """The case with its generation variants mapped to their base parameters."""
    from .cases import GENERATION_PARAMETERS
    mapping = {}
    for name in case.uses:
        base, var = split_name(name)
        mapping[name] = base if (var and base in GENERATION_PARAMETERS) else name

    def predict(params, _c=case, _m=mapping):
        vals = dict(params)
        for full, base in _m.items():
            if full != base and base in vals:
                vals[full] = vals[base]
        return _c.predict(vals)

    return Case(case.measurement, case.kind, tuple(dict.fromkeys(mapping.values())), predict,
                case.assumptions)
