"""Strata of the model discrepancy and split-conformal p10..p90 bands.

The band of a prediction is ``prediction * exp(low) .. prediction * exp(high)``, where ``low``
and ``high`` are conformal quantiles of the held-out (leave-one-source-out) errors in the
prediction's *stratum*: what is extrapolated, as (category, regime, vendor).

- **Score**: the oriented log ratio ``ln(measured / LOSO prediction)`` (sign flipped for a
  duration, so "the model is too fast" has one sign for a time and a rate). A LOSO prediction
  was made with parameters fitted without the row's source, so its error already contains that
  fold's parameter-estimation error: the fitted parameters' spread is not added again (the
  bands of issue 17 did, and held 95% of the rows instead of 80%).
- **Quantiles**: each tail one-sided at 0.9 with ``n`` scores: the ``ceil((n + 1) * 0.9)``-th
  smallest (split conformal), so on exchangeable data each tail holds 10% (a little less for
  small n): nominal p10..p90 means 80%, not more. Two tails, not one |error| quantile: a
  stratum the model over-predicts gets a band shifted towards the measurements (the band is
  widened only to hold the prediction itself).
- **Strata**: (category, regime, vendor) -> (category, regime) -> (category, vendor) ->
  (category); the first level with at least :data:`MIN_ROWS` scores from at least
  :data:`MIN_SOURCES` sources is used (the category level needs :data:`MIN_CATEGORY_ROWS`: a
  small category keeps its own scale rather than borrowing another category's).
- **No leakage**: the band of a held-out row uses only the scores of the *other* sources
  (:func:`conformal_offsets`); the record shipped for users' predictions
  (:func:`strata_record`) uses every source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..analysis.uncertainty import Z90, orientation_of as orientation, training_regime

__all__ = ["COVERAGE", "MIN_ROWS", "MIN_SOURCES", "MIN_CATEGORY_ROWS", "Z90", "Scored",
           "REGIMES", "regime_of", "vendor_of", "orientation", "levels", "conformal_quantile",
           "offsets", "band", "conformal_offsets", "strata_record"]

COVERAGE = 0.8                    # p10 .. p90
MIN_ROWS = 8
MIN_SOURCES = 2
MIN_CATEGORY_ROWS = 3

#: the regime of a reproduction (``mlsysim.predict`` of a measurement): which part of the
#: physics the prediction rests on
REGIMES = {"ttft": "prefill", "prefill_rate": "prefill", "decode_rate": "decode",
           "itl": "decode", "batch_latency": "decode", "serve_static": "decode",
           "max_load": "load", "serve_load": "load", "vision": "vision", "vision_train": "vision",
           "tinyml": "mcu", "gpu_hours": "gpu-hours", "emissions": "emissions"}


def _spec(case) -> dict:
    return getattr(getattr(case, "measurement", None), "spec", None) or {}


def regime_of(case) -> str:
    """The regime of a case: training is ``model-parallel`` (TP x PP > 1: the traffic the
    model is least sure of) or ``data-parallel``; others by their reproduction kind."""
    kind = getattr(case, "kind", "") or ""
    if kind in ("train", "time_to_train"):
        spec = _spec(case)
        return training_regime(spec.get("tp", 1), spec.get("pp", 1))
    return REGIMES.get(kind, kind)


@lru_cache(maxsize=None)
def _vendor(hardware: str) -> str:
    from .. import registry
    return registry.hardware(hardware).vendor


def vendor_of(case) -> str:
    """The vendor of the case's accelerator (the registry entry's ``vendor``; '' if none)."""
    hw = _spec(case).get("hardware")
    return _vendor(hw) if isinstance(hw, str) else ""


def levels(category, regime, vendor) -> list:
    """Stratum keys from the most specific to the category."""
    return [(category, regime, vendor), (category, regime, None), (category, None, vendor),
            (category, None, None)]


@dataclass(frozen=True)
class Scored:
    """A held-out prediction: its stratum, its source and its oriented log ratio
    ``orientation * ln(measured / predicted)`` (> 0: the model was too pessimistic)."""

    category: str
    regime: str
    vendor: str
    source: str
    log_ratio: float

    def within(self, key) -> bool:
        cat, regime, vendor = key
        return (self.category == cat and (regime is None or self.regime == regime)
                and (vendor is None or self.vendor == vendor))


def conformal_quantile(scores, coverage: float) -> float:
    """The ``ceil((n + 1) * coverage)``-th smallest score (the largest if that is past n)."""
    s = np.sort(np.asarray([x for x in scores if math.isfinite(x)], dtype=float))
    if s.size == 0:
        return float("nan")
    k = math.ceil((s.size + 1) * coverage)
    return float(s[min(k, s.size) - 1])


def offsets(log_ratios) -> tuple:
    """(low, high): ln(p10 / prediction), ln(p90 / prediction) of a rate-like output from
    held-out oriented log ratios: each tail a one-sided conformal quantile at 0.9, widened to
    hold the prediction itself (low <= 0 <= high)."""
    tail = 1.0 - (1.0 - COVERAGE) / 2.0
    x = [v for v in log_ratios if math.isfinite(v)]
    if not x:
        return float("nan"), float("nan")
    high = conformal_quantile(x, tail)
    low = -conformal_quantile([-v for v in x], tail)
    return min(low, 0.0), max(high, 0.0)


def band(prediction: float, low: float, high: float, sign: int = 1) -> tuple:
    """(p10, p50, p90) around ``prediction`` for an output of orientation ``sign``."""
    lo, hi = (low, high) if sign > 0 else (-high, -low)
    return prediction * math.exp(lo), prediction, prediction * math.exp(hi)


def _enough(items, key) -> bool:
    need = MIN_CATEGORY_ROWS if key[1] is None and key[2] is None else MIN_ROWS
    return len(items) >= need and len({i.source for i in items}) >= MIN_SOURCES


def _stratum(scored, key, exclude_source=None):
    return [s for s in scored if s.within(key) and math.isfinite(s.log_ratio)
            and s.source != exclude_source]


def conformal_offsets(scored: list) -> list:
    """Per item: ((low, high), stratum key used), from the *other* sources' log ratios only;
    ((nan, nan), None) when its category has too few."""
    out = []
    for s in scored:
        for key in levels(s.category, s.regime, s.vendor):
            items = _stratum(scored, key, exclude_source=s.source)
            if _enough(items, key):
                out.append((offsets([i.log_ratio for i in items]), key))
                break
        else:
            out.append(((float("nan"), float("nan")), None))
    return out


def strata_record(scored: list) -> list:
    """Every stratum with enough rows (all sources): what users' bands read, most specific
    first: ``{category, regime, vendor, rows, sources, low, high, sd}`` (``regime`` / ``vendor``
    None at a pooled level; ``low``/``high`` as :func:`offsets`; ``sd`` = (high - low) / 2
    z_0.9, the equivalent log-normal spread)."""
    keys = []
    for s in scored:
        for key in levels(s.category, s.regime, s.vendor):
            if key not in keys:
                keys.append(key)
    keys.sort(key=lambda k: (k[0], k[1] is None, k[2] is None, k[1] or "", k[2] or ""))
    out = []
    for key in keys:
        items = _stratum(scored, key)
        if not _enough(items, key):
            continue
        low, high = offsets([i.log_ratio for i in items])
        out.append({"category": key[0], "regime": key[1], "vendor": key[2],
                    "rows": len(items), "sources": len({i.source for i in items}),
                    "low": low, "high": high, "sd": (high - low) / (2 * Z90)})
    return out
