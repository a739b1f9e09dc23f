"""Calibration and uncertainty benchmarks.

Run:  python benchmarks/bench_calibration.py
Prints a table (measurements, not tests): building the cases of the 145 shipped measurements,
one evaluation of every case, one full fit, one leave-one-source-out fold, and the cost of
p10/p50/p90 bands on predict / train / serve against the plain call.
"""

from __future__ import annotations

import statistics
import time


def timed(fn, repeat=3):
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main() -> None:
    import mlsysim_sym as ms
    from mlsysim_sym.calibration import calibrate, shipped_measurements
    from mlsysim_sym.calibration.cases import build_cases
    from mlsysim_sym.calibration.fit import evaluate, starting_values
    from mlsysim_sym.calibration.validate import FIT_EXCLUDED, neutral_start

    rows = []
    t0 = time.perf_counter()
    cases, _ = build_cases(shipped_measurements())
    rows.append(("build 140 cases from the 145 measurements", time.perf_counter() - t0, "s"))
    values = starting_values(None, {u for c in cases for u in c.uses})
    t = timed(lambda: evaluate(cases, values))
    rows.append(("evaluate every case once (scalar parameters)", t * 1e3, "ms"))
    fit_cases = [c for c in cases if c.category not in FIT_EXCLUDED]
    t = timed(lambda: calibrate(fit_cases, model=neutral_start()), repeat=1)
    rows.append(("full calibration fit (all parameters, neutral start)", t, "s"))
    src = fit_cases[0].source
    fold = [c for c in fit_cases if c.source != src]
    t = timed(lambda: calibrate(fold, model=neutral_start()), repeat=1)
    rows.append(("one leave-one-source-out fold", t, "s"))

    ms.predict("llama-3-8b", "h100", batch=8)
    t_plain = timed(lambda: ms.predict("llama-3-8b", "h100", batch=8).time_per_output_token, 20)
    t_band = timed(lambda: ms.predict("llama-3-8b", "h100", batch=8, uncertainty=2000), 5)
    rows.append(("predict, point", t_plain * 1e6, "us"))
    rows.append(("predict, p10/p50/p90 of 4 outputs (2000 draws, one vectorised call)",
                 t_band * 1e3, "ms"))
    kw = dict(devices=8, micro_batch=1, global_batch=64, seq_len=4096, zero_stage=1)
    ms.train("llama-3-8b", "h100", **kw)
    t_plain = timed(lambda: ms.train("llama-3-8b", "h100", **kw).step_time, 20)
    t_band = timed(lambda: ms.train("llama-3-8b", "h100", uncertainty=2000, **kw), 5)
    rows.append(("train, point", t_plain * 1e6, "us"))
    rows.append(("train, p10/p50/p90 (2000 draws, one vectorised call)", t_band * 1e3, "ms"))
    t_band = timed(lambda: ms.serve("llama-3-8b", "h100", qps=5, input_tokens=256,
                                    output_tokens=128, batch=32, uncertainty=500), 1)
    rows.append(("serve, p10/p50/p90 (500 draws, one serve() each)", t_band, "s"))

    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':{width}s}  {'median':>10s}  unit")
    for name, value, unit in rows:
        print(f"{name:{width}s}  {value:10.3g}  {unit}")


if __name__ == "__main__":
    main()
