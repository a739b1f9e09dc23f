"""What the slow validation checks read: the recorded numbers and the sample of folds they refit.

The lead's refit (``scripts/calibrate_defaults.py``) writes ``docs/validation.md`` and
``calibration/data/validation.yaml`` from one leave-one-source-out run; nothing here pins a
number: the checks read them.
"""

from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "validation.md"
#: refit every fold instead of the sample: ``pytest -m slow --full-validation`` (or this
#: environment variable set to 1)
FULL_ENV = "MLSYSIM_FULL_VALIDATION"

def full_validation(config) -> bool:
    """Whether this run refits all folds (the option or the environment variable)."""
    return bool(config.getoption("--full-validation", default=False)) or \
        os.environ.get(FULL_ENV, "") not in ("", "0")


@lru_cache(maxsize=1)
def recorded_rows() -> dict:
    """id -> {unit, measured, in_sample, loso, p10, p90} from the page's "Every measurement"
    table (4 significant digits: what the lead's last refit recorded)."""
    from mlsysim_sym.calibration.report import page_rows
    out = page_rows(PAGE.read_text(encoding="utf-8"))
    assert out, f"{PAGE}: no 'Every measurement' rows found"
    return out


def recorded_loso() -> dict:
    """id -> recorded LOSO prediction (rows with one)."""
    return {i: r["loso"] for i, r in recorded_rows().items() if math.isfinite(r["loso"])}


#: the categories a fold is sampled from (energy rows are never fitted: their fold is the
#: all-data fit, which the in-sample column already checks)
SAMPLED_CATEGORIES = ("training", "inference", "tinyml", "other")


@lru_cache(maxsize=1)
def sample_sources() -> tuple:
    """The folds the default slow run refits: per category, the source with the most
    reproduced rows (ties: the first name). Deterministic, one per category, and the folds
    whose left-out rows weigh most on the fit (the largest source of each category)."""
    from mlsysim_sym.calibration.measurements import shipped_measurements
    counts = defaultdict(Counter)
    for m in shipped_measurements():
        if m.spec is not None and m.spec.get("covered") is not False:
            counts[m.category][m.source_key] += 1
    out = []
    for cat in SAMPLED_CATEGORIES:
        if counts[cat]:
            out.append(min(counts[cat].items(), key=lambda kv: (-kv[1], kv[0]))[0])
    return tuple(out)


def close(now: float, recorded: float, rel: float) -> bool:
    """``now`` agrees with a number printed to 4 significant digits within ``rel``."""
    if not (math.isfinite(now) and math.isfinite(recorded)):
        return math.isfinite(now) == math.isfinite(recorded)
    digit = 10 ** (math.floor(math.log10(abs(recorded))) - 3) if recorded else 0.0
    return abs(now - recorded) <= max(rel * abs(recorded), digit)
