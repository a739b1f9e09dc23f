"""Strata of the model discrepancy and source-pooled conformal p10..p90 bands.

The band of a prediction is ``prediction * exp(-r) .. prediction * exp(r)``: ``r`` is the 0.8
quantile of the held-out (leave-one-source-out) absolute log errors in the prediction's
*stratum* (what is extrapolated: category, regime, vendor), each *source* weighing the same.

- **Score**: ``|ln(measured / LOSO prediction)|``, the size of the error whatever its sign, so
  the band is the same factor either way for a time and a rate (a rate's band is the inverse
  of its duration's) and p50, the point prediction, is its centre in log. A LOSO prediction
  was made with parameters fitted without the row's source, so its error already contains
  that fold's parameter-estimation error: the fitted parameters' spread is not added again
  (the bands of issue 17 did, and held 95% of the rows instead of 80%).
- **Sources, not rows, are the units**: a source's rows share its setup, software and
  reporting, so their errors move together (one source's rows are all too fast or all too
  slow); the held-out errors are exchangeable between sources, not between rows. The quantile
  is that of the pooled distribution in which each source weighs 1 and each of its n rows 1/n
  (CDF pooling, Dunn, Wasserman & Ramdas 2023, "Distribution-free prediction sets for two-layer
  hierarchical models", JASA 118, arXiv:1809.07441): a source with 34 rows counts once, and so
  does one with 2 extreme rows. Nominal 80% is then coverage of a new *source*'s rows.
- **One two-sided score, not two one-sided tails**: the 0.8 quantile of |error| has 20% of
  the weight above it; two one-sided 0.9 tails need the top 10% of each side, which in a
  stratum of a few sources is a single source's extreme row (a 2-row source at +258% gave a
  training band of 0.82x..3.6x).
- **Strata**: (category, regime, vendor) -> (category, regime) -> (category, vendor) ->
  (category); the first level whose scores come from at least :data:`MIN_SOURCES` sources
  (other than the held-out one) is used: below that, less than two sources' weight lies above
  the 0.8 quantile and one source sets the band. The category level needs
  :data:`MIN_CATEGORY_SOURCES` sources (a small category keeps its own scale rather than
  borrowing another category's).
- **No leakage**: the band of a held-out row uses only the scores of the *other* sources
  (:func:`conformal_offsets`); the record shipped for users' predictions
  (:func:`strata_record`) holds the strata a held-out row could use (enough sources with one
  left out), from every source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..analysis.uncertainty import Z90, orientation_of as orientation, training_regime

__all__ = ["COVERAGE", "MIN_SOURCES", "MIN_CATEGORY_SOURCES", "MIN_CATEGORY_ROWS", "Z90",
           "Scored", "REGIMES", "regime_of", "vendor_of", "orientation", "levels",
           "conformal_quantile", "pooled_quantile", "offsets", "band", "conformal_offsets",
           "strata_record"]

COVERAGE = 0.8                    # p10 .. p90
#: sources a stratum finer than its category needs: (1 - COVERAGE) * 10 = 2 sources' weight
#: above the quantile
MIN_SOURCES = 10
MIN_CATEGORY_SOURCES = 2
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
    """The ``ceil((n + 1) * coverage)``-th smallest score (the largest if that is past n): the
    split-conformal rank for exchangeable rows."""
    s = np.sort(np.asarray([x for x in scores if math.isfinite(x)], dtype=float))
    if s.size == 0:
        return float("nan")
    k = math.ceil((s.size + 1) * coverage)
    return float(s[min(k, s.size) - 1])


def pooled_quantile(scores, groups, level: float) -> float:
    """The smallest score at which the pooled distribution reaches ``level``: each group (a
    source) weighs 1 and each of its n scores 1/n (CDF pooling); non-finite scores dropped."""
    pairs = [(float(x), g) for x, g in zip(scores, groups) if math.isfinite(x)]
    if not pairs:
        return float("nan")
    sizes: dict = {}
    for _x, g in pairs:
        sizes[g] = sizes.get(g, 0) + 1
    order = sorted(pairs, key=lambda p: p[0])
    weights = np.array([1.0 / sizes[g] for _x, g in order]) / len(sizes)
    k = int(np.searchsorted(np.cumsum(weights), level - 1e-12))
    return order[min(k, len(order) - 1)][0]


def offsets(log_ratios, sources=None) -> tuple:
    """(low, high) = (-r, r): ln(p10 / prediction), ln(p90 / prediction) from held-out log
    ratios, r their :data:`COVERAGE` quantile of |ln(measured / predicted)| with each source
    weighing the same (``sources``: one name per ratio; None: each ratio its own source)."""
    x = list(log_ratios)
    groups = list(range(len(x))) if sources is None else list(sources)
    r = pooled_quantile([abs(v) for v in x], groups, COVERAGE)
    return (-r, r) if math.isfinite(r) else (float("nan"), float("nan"))


def band(prediction: float, low: float, high: float, sign: int = 1) -> tuple:
    """(p10, p50, p90) around ``prediction`` for an output of orientation ``sign`` (a record's
    offsets are a rate's: a duration's are negated and swapped; the same for (-r, r))."""
    lo, hi = (low, high) if sign > 0 else (-high, -low)
    return prediction * math.exp(lo), prediction, prediction * math.exp(hi)


def _enough(items, key, held_out: bool = True) -> bool:
    """Whether a stratum's scores can set a band: enough sources (``held_out``: the held-out
    row's source already removed; else one more, so that any row left out still finds it)."""
    category = key[1] is None and key[2] is None
    need = (MIN_CATEGORY_SOURCES if category else MIN_SOURCES) + (0 if held_out else 1)
    return len({i.source for i in items}) >= need and \
        (not category or len(items) >= MIN_CATEGORY_ROWS)


def _stratum(scored, key, exclude_source=None):
    return [s for s in scored if s.within(key) and math.isfinite(s.log_ratio)
            and s.source != exclude_source]


def _offsets_of(items) -> tuple:
    return offsets([i.log_ratio for i in items], [i.source for i in items])


def conformal_offsets(scored: list) -> list:
    """Per item: ((low, high), stratum key used), from the *other* sources' log ratios only;
    ((nan, nan), None) when its category has too few."""
    out = []
    for s in scored:
        for key in levels(s.category, s.regime, s.vendor):
            items = _stratum(scored, key, exclude_source=s.source)
            if _enough(items, key):
                out.append((_offsets_of(items), key))
                break
        else:
            out.append(((float("nan"), float("nan")), None))
    return out


def strata_record(scored: list) -> list:
    """Every stratum a held-out row could use (all sources): what users' bands read, most
    specific first: ``{category, regime, vendor, rows, sources, low, high, sd}`` (``regime`` /
    ``vendor`` None at a pooled level; ``low``/``high`` as :func:`offsets`; ``sd`` = (high -
    low) / 2 z_0.9, the equivalent log-normal spread)."""
    keys = []
    for s in scored:
        for key in levels(s.category, s.regime, s.vendor):
            if key not in keys:
                keys.append(key)
    keys.sort(key=lambda k: (k[0], k[1] is None, k[2] is None, k[1] or "", k[2] or ""))
    out = []
    for key in keys:
        items = _stratum(scored, key)
        if not _enough(items, key, held_out=False):
            continue
        low, high = _offsets_of(items)
        out.append({"category": key[0], "regime": key[1], "vendor": key[2],
                    "rows": len(items), "sources": len({i.source for i in items}),
                    "low": low, "high": high, "sd": (high - low) / (2 * Z90)})
    return out
