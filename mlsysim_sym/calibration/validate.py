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
- **Bands**: p10 / p50 / p90 of each LOSO prediction from the model discrepancy of its
  stratum (category, regime, vendor): the 0.8 quantile of the *other* sources' absolute LOSO
  log errors, each source weighing the same (:mod:`.strata`; the parameters' spread is inside
  those errors, not added), and how often the measured value falls inside.
- **Per vendor**: the same columns per accelerator vendor (NVIDIA, Google, AMD, Intel, Apple,
  the MCU vendors...), from the registry entry of each row's hardware.
- **External check**: published measurements outside the calibration set
  (``data/external.yaml``), which no fit, default or fold has seen, predicted with the shipped
  defaults, with the LOSO band of its stratum around each.

A number fitted from a measurement is never presented as a prediction of it: the LOSO and
cross-generation columns are the predictions; the in-sample column is labelled as such.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import yaml

from ..analysis.uncertainty import Z90, stratum_offsets
from .cases import Case, build_cases
from .fit import CalibrationResult, as_cases, calibrate, evaluate, starting_values
from .measurements import CATEGORIES, DATA_DIR, Measurement, external_measurements
from .parameters import split_name
from .strata import (Scored, band as stratum_band, conformal_offsets, orientation, regime_of,
                     strata_record, vendor_of)

__all__ = ["validate", "assign_bands", "ValidationReport", "ValidationRow", "neutral_start",
           "ARCHITECTURE_ERAS", "Z90", "FIT_EXCLUDED", "VENDOR_MIN_ROWS"]

#: a vendor with at least this many rows is a line of its own in the per-vendor tables
VENDOR_MIN_ROWS = 5
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
    #: the registry vendor of the row's accelerator and the regime of its reproduction
    vendor = property(lambda self: vendor_of(self.case))
    regime = property(lambda self: regime_of(self.case))

    @property
    def half_width(self) -> float:
        """Half the p10..p90 width over the p50 (nan: no band)."""
        lo, mid, hi = self.band
        return (hi - lo) / 2.0 / mid if math.isfinite(lo) and mid > 0 else float("nan")

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


def _median(xs):
    xs = [x for x in xs if math.isfinite(x)]
    return float(np.median(xs)) if xs else float("nan")


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
    discrepancy: dict = field(default_factory=dict)   # category -> equivalent log-sd
    #: the strata discrepancies (every source): :func:`.strata.strata_record`
    strata: list = field(default_factory=list)

    def summary(self) -> dict:
        """Per category: counts, in-sample and LOSO median / max |error|, band coverage and
        median band half-width (half the p10..p90 width over the prediction)."""
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
                "band_half_width": _median(r.half_width for r in rs),
            }
        return out

    def vendor_summary(self) -> dict:
        """Per accelerator vendor (most rows first): rows, sources, in-sample and LOSO median /
        max |error|, band coverage; ``reported`` is True from :data:`VENDOR_MIN_ROWS` rows."""
        vendors = {}
        for r in self.rows:
            vendors.setdefault(r.vendor or "-", []).append(r)
        out = {}
        for v, rs in sorted(vendors.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            out[v] = {"n": len(rs), "sources": len({r.source for r in rs}),
                      "reported": len(rs) >= VENDOR_MIN_ROWS,
                      "in_sample_median": _med(r.in_sample_error for r in rs),
                      "loso_median": _med(r.loso_error for r in rs),
                      "loso_max": _max(r.loso_error for r in rs),
                      "band_coverage": _coverage(rs)}
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
                 f"{'LOSO median':>12s} {'max':>8s} {'in p10-p90':>11s} {'half-width':>11s} "
                 f"{'not covered':>12s}"]
        def pct(x, width, digits=1):  # '-' for what was not run (no LOSO: no LOSO error)
            return f"{x:{width}.{digits}%}" if math.isfinite(x) else f"{'-':>{width}s}"

        for cat, v in s.items():
            lines.append(f"{cat:10s} {v['n']:4d} {pct(v['in_sample_median'], 17)} "
                         f"{pct(v['in_sample_max'], 8)} {pct(v['loso_median'], 12)} "
                         f"{pct(v['loso_max'], 8)} {pct(v['band_coverage'], 11, 0)} "
                         f"{pct(v['band_half_width'], 11, 0)} {v['not_covered']:12d}")
        lines.append(f"{'vendor':10s} {'n':>4s} {'in-sample median':>17s} {'':>8s} "
                     f"{'LOSO median':>12s} {'max':>8s} {'in p10-p90':>11s} {'sources':>11s}")
        vs = self.vendor_summary()
        for ven, v in ((k, v) for k, v in vs.items() if v["reported"]):
            lines.append(f"{ven[:10]:10s} {v['n']:4d} {pct(v['in_sample_median'], 17)} "
                         f"{'':>8s} {pct(v['loso_median'], 12)} {pct(v['loso_max'], 8)} "
                         f"{pct(v['band_coverage'], 11, 0)} {v['sources']:11d}")
        few = [f"{k} ({v['n']})" for k, v in vs.items() if not v["reported"]]
        if few:
            lines.append(f"vendors with fewer than {VENDOR_MIN_ROWS} rows: {', '.join(few)}")
        ext = self.external_summary()
        if ext:
            lines.append(f"external check (never fitted; {', '.join(ext['categories'])}): "
                         f"{ext['n']} rows from {ext['sources']} source(s), median |error| "
                         f"{ext['median']:.1%}, max {ext['max']:.1%}, in p10-p90 "
                         f"{pct(ext['band_coverage'], 0, 0).strip()}")
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


def _fold(cases, src, start, max_nfev):
    """One leave-one-source-out fold: (fit without ``src``, predictions of its cases)."""
    train = [c for c in cases if c.source != src and c.category not in FIT_EXCLUDED]
    fit = _fold_fit(train, start, max_nfev)
    return fit, _predict_with(fit, start, [c for c in cases if c.source == src])


#: the cases of a worker process (built once per process from picklable measurements: a case
#: holds its prediction as a closure, which does not pickle)
_WORKER_CASES: list = []


def _worker_start(measurements):
    _WORKER_CASES[:] = build_cases(measurements)[0]


def _worker_fold(src, start, max_nfev):
    fit, preds = _fold(_WORKER_CASES, src, start, max_nfev)
    return src, fit, [c.id for c in _WORKER_CASES if c.source == src], preds


def _loso(cases, rows, sources, start, max_nfev, workers, say):
    """Run the folds (``workers`` > 1: in that many processes); fill ``rows``' LOSO column and
    return source -> fit. Each fold is deterministic, so the result does not depend on it."""
    by_id = {r.id: r for r in rows}
    fits = {}
    parallel = workers > 1 and len(sources) > 1 and \
        all(isinstance(c.measurement, Measurement) for c in cases)
    if not parallel:
        for i, src in enumerate(sources):
            say(f"[{i + 1}/{len(sources)}] refitting without {src[:70]}")
            fit, preds = _fold(cases, src, start, max_nfev)
            held = [c for c in cases if c.source == src]
            for c, y in zip(held, preds):
                by_id[c.id].loso = y
            fits[src] = fit
            say(f"[{i + 1}/{len(sources)}] without {src[:70]}: {len(held)} rows predicted")
        return fits
    import multiprocessing
    say(f"leave one source out: {len(sources)} folds in {workers} processes")
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_start,
                             initargs=([c.measurement for c in cases],)) as pool:
        futures = [pool.submit(_worker_fold, src, start, max_nfev) for src in sources]
        for done, fut in enumerate(as_completed(futures)):
            src, fit, ids, preds = fut.result()
            for i, y in zip(ids, preds):
                by_id[i].loso = y
            fits[src] = fit
            say(f"[{done + 1}/{len(sources)}] without {src[:70]}: {len(ids)} rows predicted")
    return {src: fits[src] for src in sources}


def validate(measurements=None, *, category=None, sources=None, loso=True,
             cross_generation: bool = True, bands: bool = True, defaults=None,
             max_nfev: int = 200, progress=None, external=None,
             workers: int = 1) -> ValidationReport:
    """Run measurements through the model: in sample, leave one source out, across generations.

    Parameters
    ----------
    measurements : path, list or None
        As :func:`~mlsysim_sym.calibration.calibrate` (None: the shipped 145 + 134 measurements).
    category : str or list of str, optional
        Restrict the rows reported (training, inference, tinyml, energy, other); folds still
        refit on every other source.
    sources : str or list of str, optional
        Restrict the rows reported, and the leave-one-source-out folds run, to these
        publications (a row's ``source``), e.g. the one whose cases you are writing; each fold
        still refits on every other source.
    loso : bool or mapping
        Whether to run the leave-one-source-out folds (one refit per source: seconds each), or
        a mapping of row id -> the LOSO prediction an earlier run recorded (the LOSO column of
        ``docs/validation.md``): the bands, strata and summaries are then computed from it
        without refitting (a row it lacks has no LOSO prediction).
    cross_generation, bands : bool
        Which further analyses to run.
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
    workers : int
        Processes for the leave-one-source-out folds (1: in this process). Each fold rebuilds
        its cases from the measurements in its process, so the result is the serial one;
        with user-built :class:`~.cases.Case` objects the folds run in this process. The
        processes are spawned: a script calling this with ``workers > 1`` needs the usual
        ``if __name__ == "__main__":`` guard.

    Returns
    -------
    ValidationReport
    """
    say = progress or (lambda line: None)
    if not (isinstance(workers, int) and not isinstance(workers, bool) and workers >= 1):
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
    cats = None if category is None else ([category] if isinstance(category, str)
                                          else list(category))
    if cats is not None:
        bad = [c for c in cats if c not in CATEGORIES]
        if bad:
            raise ValueError(f"unknown category {bad}; allowed: {', '.join(CATEGORIES)}")
    srcs = None if sources is None else ({sources} if isinstance(sources, str)
                                         else set(sources))
    cases, uncovered = as_cases(measurements)
    if srcs is not None:
        unknown = sorted(srcs - {c.source for c in cases})
        if unknown:
            raise ValueError(f"unknown source(s) {unknown}; allowed: the sources of the "
                             "measurements (ValidationRow.source)")
    say(f"in sample: {len(cases)} measurements with the defaults")
    used = sorted({u for c in cases for u in c.uses})
    shipped = starting_values(defaults, used)
    in_sample = evaluate(cases, shipped)
    rows = [ValidationRow(c, float(np.asarray(y, dtype=float).reshape(-1)[0]))
            for c, y in zip(cases, in_sample)]
    report = ValidationReport(rows, list(uncovered))
    start = neutral_start()
    wanted = [r for r in rows if (cats is None or r.category in cats)
              and (srcs is None or r.source in srcs)]
    recorded = isinstance(loso, Mapping)
    if recorded:
        for r in rows:
            r.loso = float(loso.get(r.id, float("nan")))
    elif loso:
        sources = sorted({r.source for r in wanted})
        report.fits = _loso(cases, rows, sources, start, max_nfev, workers, say)
    if (recorded or loso) and bands:
        assign_bands(report, rows)
    if cross_generation:
        say("cross-generation: fitting the older generations, predicting the newer")
        report.cross_generation = _cross_generation(cases, rows, start, max_nfev)
    if external is None and measurements is None:
        external = external_measurements()
    if external is not False and external is not None:
        say("external check: predicting measurements never fitted")
        report.external = _external(external, defaults, report, cats)
    report.rows = wanted
    report.not_covered = [u for u in uncovered if (cats is None or u.category in cats)
                          and (srcs is None or u.measurement.source_key in srcs)]
    return report


def _external(measurements, defaults, report, cats) -> list:
    """Rows of measurements no fit has seen, predicted with ``defaults`` (the shipped ones);
    the band is the LOSO discrepancy of the row's stratum (as users' bands read it)."""
    cases, _uncovered = as_cases(measurements)
    cases = [c for c in cases if cats is None or c.category in cats]
    if not cases:
        return []
    values = starting_values(defaults, sorted({u for c in cases for u in c.uses}))
    record = {"strata": report.strata, "discrepancy": report.discrepancy}
    out = []
    for c, y in zip(cases, evaluate(cases, values)):
        r = ValidationRow(c, float(np.asarray(y, dtype=float).reshape(-1)[0]))
        off = stratum_offsets(record, c.category, r.regime, r.vendor)
        if r.in_sample > 0 and off is not None:
            r.band = stratum_band(r.in_sample, *off, orientation(r.unit))
        out.append(r)
    return out


def _scored(rows) -> list:
    """The held-out errors of ``rows`` as conformal scores (oriented ln(measured / LOSO))."""
    out = []
    for r in rows:
        ok = r.loso > 0 and r.measured > 0
        out.append(Scored(r.category, r.regime, r.vendor, r.source,
                          orientation(r.unit) * math.log(r.measured / r.loso) if ok
                          else float("nan")))
    return out


def assign_bands(report, rows=None):
    """p10/p50/p90 around each LOSO prediction from its stratum's discrepancy, measured on the
    OTHER sources' LOSO errors (so the band of a row never uses its own source's errors);
    the strata record (every source) for users' bands and the external check. ``rows``
    (default: the report's) need only their ``loso`` column: ``scripts/bands_from_page.py``
    recomputes the bands of a recorded validation without refitting."""
    rows = report.rows if rows is None else rows
    scored = _scored(rows)
    for r, ((low, high), _key) in zip(rows, conformal_offsets(scored)):
        if r.loso > 0 and math.isfinite(low):
            r.band = stratum_band(r.loso, low, high, orientation(r.unit))
    report.strata = strata_record(scored)
    report.discrepancy = {s["category"]: s["sd"] for s in report.strata
                          if s["regime"] is None and s["vendor"] is None}


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
    # one efficiency per parameter (no generation variants) fitted on the older generation;
    # a published kernel measurement per generation (FlashAttention-2: 60% of the A100's peak,
    # 35% of the H100's, which its Ampere-era instructions cannot reach) is an input, not a
    # fitted factor: held in both generations, as every fold holds it
    held = literature_held()
    flat = [_without_generation(c, held) for c in train]
    fit = calibrate(flat, model=start, max_nfev=max_nfev, fixed=held)
    preds = _predict_with(fit, start, [_without_generation(r.case, held) for r in target])
    for r, y in zip(target, preds):
        r.cross_generation = y
    errs = [y / r.measured - 1 for r, y in zip(target, preds)]
    return {"fit_eras": list(fit_eras), "predict_eras": list(pred_eras), "n": len(target),
            "n_fit": len(train), "median": _med(errs), "max": _max(errs),
            "parameters": {k: v.value for k, v in fit.parameters.items()}}


def _without_generation(case: Case, held=frozenset()) -> Case:
    """The case with its generation variants mapped to their base parameters, but for the
    ``held`` ones (published per-generation measurements, kept as they are)."""
    from .cases import GENERATION_PARAMETERS
    mapping = {}
    for name in case.uses:
        base, var = split_name(name)
        mapping[name] = base if (var and base in GENERATION_PARAMETERS
                                 and name not in held) else name

    def predict(params, _c=case, _m=mapping):
        vals = dict(params)
        for full, base in _m.items():
            if full != base and base in vals:
                vals[full] = vals[base]
        return _c.predict(vals)

    return Case(case.measurement, case.kind, tuple(dict.fromkeys(mapping.values())), predict,
                case.assumptions)
