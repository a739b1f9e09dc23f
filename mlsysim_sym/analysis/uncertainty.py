"""Uncertainty bands: p10 / p50 / p90 of a prediction, by vectorised Monte Carlo.

Every calibrated parameter a prediction uses carries a spread (``spread`` in ``defaults.yaml``:
the standard deviation of ln(value) from its fit). A band draws ``samples`` parameter sets
(log-normal around the defaults, independent, clipped to the parameter's physical range),
evaluates the prediction once with array-valued efficiencies (the compiled kernels broadcast),
and multiplies each draw by a model-discrepancy factor exp(N(0, sigma^2)), where sigma is set
by the category's leave-one-source-out errors (``calibration/data/validation.yaml``): the 80th
percentile of their |ln(predicted/measured)| over z_0.9, so that +-z_0.9 sigma holds 80% of
them (split conformal; the errors are heavy-tailed): the part of the error no parameter
explains. The harness (``mlsysim-sym validate``) reports how
often published measurements fall inside these bands.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import yaml

from ..defaults import default, spread

__all__ = ["Band", "sample_parameters", "band_of", "discrepancy", "DEFAULT_SAMPLES",
           "VALIDATION_RECORD"]

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


def discrepancy(category: str) -> float:
    """Log-sd of the model error no parameter explains, for a category (0 if unknown)."""
    return float((_record().get("discrepancy") or {}).get(category, 0.0) or 0.0)


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


def band_of(values, unit: str, category: str, seed: int = 1) -> Band:
    """Band of sampled ``values`` (array of draws, in ``unit``) with the category's discrepancy."""
    from ..units import Q_
    v = np.asarray(values, dtype=float).reshape(-1)
    sd = discrepancy(category)
    if sd > 0:
        v = v * np.exp(sd * np.random.default_rng(seed).standard_normal(v.size))
    p10, p50, p90 = np.nanpercentile(v, _Q)
    return Band(Q_(p10, unit), Q_(p50, unit), Q_(p90, unit))
