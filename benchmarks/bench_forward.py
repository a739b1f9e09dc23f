"""Forward-path benchmarks: import, first prediction, per-call cost, a 10^6-point sweep.

Run:  python benchmarks/bench_forward.py
Prints a table. Timings are medians of repeated runs on this machine; they are measurements,
not tests (nothing here asserts). The floor for the sweep is the same expression lambdified
bare with numpy (no cse, no unit handling, no validation).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import timeit

import numpy as np


def fresh_process(code: str, repeats: int = 5) -> float:
    """Median wall time of running ``code`` in a fresh interpreter (seconds)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def per_call(fn, number: int) -> float:
    """Median seconds per call over 5 rounds of ``number`` calls."""
    return statistics.median(timeit.repeat(fn, number=number, repeat=5)) / number


def main() -> None:
    rows = []
    baseline = fresh_process("pass")
    rows.append(("python startup (subtracted below)", baseline, "s", ""))
    t = fresh_process("import mlsysim_sym") - baseline
    rows.append(("cold import mlsysim_sym", t, "s", "target <= 1 s"))
    t = fresh_process("import mlsysim_sym as ms; ms.predict('llama-3-8b', 'h100')") - baseline
    rows.append(("import + first prediction (fresh process)", t, "s", ""))
    t0 = time.perf_counter()
    subprocess.run(["mlsysim-sym", "predict", "llama-3-8b", "h100"], check=True, capture_output=True)
    rows.append(("CLI `mlsysim-sym predict llama-3-8b h100`", time.perf_counter() - t0, "s",
                 "target <= 2 s"))

    import mlsysim_sym as ms
    from mlsysim_sym.tasks.serving import serving_kernel, serving_system

    ms.predict("llama-3-8b", "h100")  # warm: compile + caches
    t = per_call(lambda: ms.predict("llama-3-8b", "h100", batch=8, seq_len=2048), 2000)
    rows.append(("predict() scalar, full facade (returns lazy quantities)", t * 1e6, "us",
                 "target <= 20 us"))
    t = per_call(lambda: ms.predict("llama-3-8b", "h100", batch=8).time_per_output_token, 2000)
    rows.append(("predict() scalar + one pint quantity read", t * 1e6, "us", ""))
    kernel = serving_kernel()
    inputs = ms.predict("llama-3-8b", "h100").base_inputs()
    args = [inputs[n] for n in kernel.input_names]
    t = per_call(lambda: kernel.raw(*args), 20000)
    rows.append(("compiled kernel, scalar (every output + branches)", t * 1e6, "us", ""))

    batch = np.arange(1, 1_000_001, dtype=float)
    t_sweep = per_call(lambda: ms.predict("llama-3-8b", "h100", batch=batch).time_per_output_token, 3)
    rows.append(("10^6-point sweep via predict(batch=array) -> TPOT", t_sweep, "s", "target <= 1 s"))
    t_kernel = per_call(lambda: kernel.raw(*[batch if n == "batch" else v
                                             for n, v in zip(kernel.input_names, args)]), 3)
    rows.append(("10^6-point sweep, compiled kernel (every output)", t_kernel, "s", ""))

    # the floor: the same TPOT expression, bare numpy lambdify, one output
    import sympy
    from mlsysim_sym.system import substitute_constants
    system = serving_system()
    expr = substitute_constants(system.expr("time_per_output_token", constants=False))
    syms = sorted(expr.free_symbols, key=lambda s: s.name)
    bare = sympy.lambdify(syms, expr, modules="numpy")
    values = dict(zip(kernel.input_names, args))
    bare_args = [batch if s.name == "batch" else values[s.name] for s in syms]
    t_floor = per_call(lambda: bare(*bare_args), 3)
    rows.append(("10^6-point floor: bare numpy lambdify of TPOT", t_floor, "s", ""))
    rows.append(("sweep / floor (predict facade vs bare TPOT)", t_sweep / t_floor, "x",
                 "target <= 2x"))

    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':{width}s}  {'value':>10s}  unit  note")
    print("-" * (width + 30))
    for name, value, unit, note in rows:
        print(f"{name:{width}s}  {value:10.4g}  {unit:4s}  {note}")


if __name__ == "__main__":
    main()
