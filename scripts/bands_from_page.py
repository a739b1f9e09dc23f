"""Recompute the p10..p90 bands of a recorded validation without refitting anything.

    python scripts/bands_from_page.py                  # docs/validation.md's LOSO column
    python scripts/bands_from_page.py --page other.md  # another generated page
    python scripts/bands_from_page.py --rows           # and every row's band, old and new

The leave-one-source-out predictions of the last full validation are in the generated page's
"Every measurement" table. This reads them, builds the rows' cases (category, source, regime,
vendor: the in-sample pass only, a few seconds), applies the band method of the code in this
checkout (``validate.assign_bands``, :mod:`mlsysim_sym.calibration.strata`) and prints, per
category and per vendor, the coverage of the held-out measurements (per row and averaged per
source) and the median half-width, next to the bands the page recorded. It writes nothing.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mlsysim_sym.calibration import validate  # noqa: E402
from mlsysim_sym.calibration.report import page_rows  # noqa: E402
from mlsysim_sym.calibration.validate import assign_bands  # noqa: E402


def _stats(rows, bands):
    hits, widths, per_source = [], [], defaultdict(list)
    for r, (lo, hi) in zip(rows, bands):
        if not (math.isfinite(lo) and r.loso > 0):
            continue
        inside = lo <= r.measured <= hi
        hits.append(inside)
        widths.append((hi - lo) / 2.0 / r.loso)
        per_source[r.source].append(inside)
    if not hits:
        return "-"
    by_source = np.mean([np.mean(v) for v in per_source.values()])
    return (f"{np.mean(hits):6.1%} rows  {by_source:6.1%} sources  half-width "
            f"{np.median(widths):6.1%}  ({len(hits)} rows, {len(per_source)} sources)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--page", default=str(ROOT / "docs" / "validation.md"))
    ap.add_argument("--rows", action="store_true", help="print every row's old and new band")
    args = ap.parse_args(argv)
    recorded = page_rows(Path(args.page).read_text(encoding="utf-8"))
    report = validate(loso=False, cross_generation=False, external=False)
    rows = [r for r in report.rows if r.id in recorded]
    for r in rows:
        r.loso = recorded[r.id]["loso"]
    assign_bands(report, rows)
    old = [(recorded[r.id]["p10"], recorded[r.id]["p90"]) for r in rows]
    new = [(r.band[0], r.band[2]) for r in rows]
    groups = defaultdict(list)
    for i, r in enumerate(rows):
        groups[r.category].append(i)
        groups["all"].append(i)
        groups[f"{r.category}/{r.vendor or '-'}"].append(i)
    for name in sorted(groups, key=lambda g: ("/" in g, g == "all", g)):
        idx = groups[name]
        if "/" in name and len(idx) < 5:
            continue
        sub = [rows[i] for i in idx]
        print(f"{name:22s} recorded: {_stats(sub, [old[i] for i in idx])}")
        print(f"{'':22s} this code: {_stats(sub, [new[i] for i in idx])}")
    print("strata (every source):")
    for s in report.strata:
        print(f"  {s['category']:10s} {s['regime'] or 'any':15s} {s['vendor'] or 'any':8s} "
              f"{s['rows']:4d} rows {s['sources']:3d} sources  p10 x{math.exp(s['low']):.3f}  "
              f"p90 x{math.exp(s['high']):.3f} (of a rate)")
    if args.rows:
        for r, (lo0, hi0), (lo1, hi1) in zip(rows, old, new):
            print(f"{r.id[:60]:60s} {r.unit:8s} measured {r.measured:<10.4g} LOSO "
                  f"{r.loso:<10.4g} recorded {lo0:.4g}..{hi0:.4g}  now {lo1:.4g}..{hi1:.4g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
