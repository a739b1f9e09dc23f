"""Uncertainty bands: p10 / p50 / p90 of a prediction.

The band is the calibrated model discrepancy of the prediction's *stratum* (category, regime,
vendor) around the point prediction: ``prediction * exp(low) .. prediction * exp(high)``, where
``-low = high`` is the 0.8 quantile of the leave-one-source-out |ln(measured / predicted)| in
that stratum, each source weighing the same (``calibration/data/validation.yaml``, written by
``scripts/calibrate_defaults.py``; the strata and the quantile are
:mod:`mlsysim_sym.calibration.strata`). A stratum with too few sources reads the pooled level
above it: (category, regime, vendor) -> (category, regime) -> (category, vendor) ->
(category). The fitted parameters' spread is not added: each held-out error was made with
parameters fitted without its source, so it already contains their estimation error (adding
the spread again made bands that held 95% of held-out measurements instead of 80%). Where no
record exists (a category never validated), the band is the Monte Carlo spread of the draws
over the parameters' spreads (``spread`` in ``defaults.yaml``). The harness
(``mlsysim-sym validate``) reports how often published measurements fall inside these bands.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import yaml

from ..defaults import default, spread

__all__ = ["Band", "sample_parameters", "band_of", "discrepancy", "stratum_offsets",
           "orientation_of", "training_regime", "DEFAULT_SAMPLES", "VALIDATION_RECORD", "Z90"]

Z90 = 1.2815515655446004          # standard normal quantile at 0.9 (p10 .. p90)

DEFAULT_SAMPLES = 2000
_Q = (10.0, 50.0, 90.0)
#: log-spread cap: a parameter the data barely constrain (interval wider than a factor of
#: e^1.5 = 4.5 either way at 1 sigma) is sampled at this spread, within its physical range
MAX_LOG_SPREAD = 1.5


@dataclass(frozen=True)
class Band:
    """p10, p50 and p90 of an output (pint quantities)."""

    p10: object
    p50: object
    p90: object

    def __iter__(self):
        return iter((self.p10, self.p50, self.p90))

    def to_dict(self) -> dict:
        """``{"p10", "p50", "p90"}`` magnitudes in the p50's unit, and ``"unit"``."""
        unit = self.p50.units
        return {"p10": float(self.p10.to(unit).magnitude), "p50": float(self.p50.magnitude),
                "p90": float(self.p90.to(unit).magnitude), "unit": f"{unit:~P}"}

    def __repr__(self):
        return f"Band(p10={self.p10:.4g~P}, p50={self.p50:.4g~P}, p90={self.p90:.4g~P})"


#: the leave-one-source-out record (``scripts/calibrate_defaults.py`` writes it), read as package
#: data by path: the calibration modules (fits, cases, the harness) sit above the tasks that draw
#: bands, so importing them from here would make a cycle
VALIDATION_RECORD = ("calibration", "data", "validation.yaml")


@lru_cache(maxsize=1)
def _record() -> dict:
    path = resources.files("mlsysim_sym")
    for part in VALIDATION_RECORD:
        path = path.joinpath(part)
    if not path.is_file():  # pragma: no cover - shipped with the package
        return {}
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def stratum_offsets(record: dict, category: str, regime=None, vendor=None):
    """(low, high) log offsets of p10 / p90 from the prediction of a rate-like output (higher
    is faster; a record written since the source-pooled bands has low = -high) for the most
    specific recorded stratum: (category, regime, vendor) ->
    (category, regime) -> (category, vendor) -> (category); the old record's per-category
    log-sd (``discrepancy``) as +-z_0.9 sd; None when nothing is recorded."""
    strata = {(s.get("category"), s.get("regime"), s.get("vendor")): s
              for s in (record.get("strata") or [])}
    for key in ((category, regime, vendor), (category, regime, None),
                (category, None, vendor), (category, None, None)):
        if key in strata:
            s = strata[key]
            return float(s["low"]), float(s["high"])
    sd = (record.get("discrepancy") or {}).get(category)
    if sd:
        return -Z90 * float(sd), Z90 * float(sd)
    return None


def discrepancy(category: str, regime=None, vendor=None) -> float:
    """Equivalent log-sd of the model error no parameter explains, for a stratum:
    (high - low) / 2 z_0.9 of its p10..p90 offsets (0 if nothing is recorded)."""
    off = stratum_offsets(_record(), category, regime, vendor)
    return 0.0 if off is None else (off[1] - off[0]) / (2 * Z90)


def training_regime(tp, pp) -> str:
    """The band stratum of a training run: ``model-parallel`` when TP x PP > 1 (the traffic
    the model is least sure of), else ``data-parallel``."""
    return "model-parallel" if int(tp or 1) * int(pp or 1) > 1 else "data-parallel"


def orientation_of(unit: str) -> int:
    """-1 for a cost a faster or leaner machine makes smaller (a duration: s, ms, h, GPU-hours;
    an energy: J, kWh, per anything; emissions: tCO2e), +1 otherwise (a rate, a utilisation)."""
    from ..units import parse_unit
    try:
        dims = parse_unit(unit).dimensionality
    except Exception:  # noqa: BLE001 - an unparsable unit counts as a rate
        return 1
    energy = dims.get("[mass]", 0) == 1 and dims.get("[length]", 0) == 2 and \
        dims.get("[time]", 0) == -2
    return -1 if dims.get("[time]", 0) > 0 or dims.get("[emissions]", 0) > 0 or energy else 1


def _check_samples(samples) -> int:
    if samples is True:
        return DEFAULT_SAMPLES
    from ..checks import InputError, count
    try:
        n = count("uncertainty", samples, 10, 1_000_000)
        if not isinstance(n, float):
            raise InputError("an array")
    except InputError:
        raise InputError(f"uncertainty must be True or a number of samples in [10, 1e6], got "
                         f"{samples!r:.60}") from None
    return int(n)


def sample_parameters(names: dict, samples, seed: int = 0) -> dict:
    """Draws of each parameter: ``{key: array}`` for ``names = {key: (default name, unit,
    (low, high))}``; magnitudes in ``unit``."""
    n = _check_samples(samples)
    rng = np.random.default_rng(seed)
    out = {}
    for key, (name, unit, (lo, hi)) in names.items():
        centre = float(default(name).to(unit).magnitude)
        sd = min(spread(name), MAX_LOG_SPREAD)
        draws = centre * np.exp(sd * rng.standard_normal(n)) if sd > 0 and centre > 0 \
            else np.full(n, centre)
        out[key] = np.clip(draws, max(lo, 1e-12) if centre > 0 else lo, hi)
    return out


def band_of(values, unit: str, category: str, *, point=None, regime=None,
            vendor=None) -> Band:
    """Band of a prediction in ``unit``: the recorded stratum discrepancy of ``category`` /
    ``regime`` / ``vendor`` around ``point`` (default: the median of ``values``); with no
    record, the p10 / p50 / p90 of the Monte Carlo draws ``values``."""
    from ..units import Q_
    v = np.asarray(values, dtype=float).reshape(-1)
    off = stratum_offsets(_record(), category, regime, vendor)
    if off is None:
        p10, p50, p90 = np.nanpercentile(v, _Q)
        return Band(Q_(p10, unit), Q_(p50, unit), Q_(p90, unit))
    centre = float(np.nanmedian(v)) if point is None else float(point)
    low, high = off if orientation_of(unit) > 0 else (-off[1], -off[0])
    low, high = min(low, 0.0), max(high, 0.0)
    return Band(Q_(centre * np.exp(low), unit), Q_(centre, unit), Q_(centre * np.exp(high), unit))
