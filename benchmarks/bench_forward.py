"""Forward-path benchmarks: import, first prediction, the CLI with a cold and a warm cache
(compiled kernels and the validated registry), the registry read from the YAML and from the
cache, per-call cost, a 10^6-point sweep (one output, and every output with the bottleneck).

Run:  python benchmarks/bench_forward.py
Prints a table with the target of each row (issue 19's done-when). Per-call rows are CPU time
(``time.process_time``: user + sys of this process, so another process on the shared cores
does not inflate them), the best of 7 rounds; the fresh-process rows are wall (or the
children's CPU) time as each says. They are measurements, not tests (nothing here asserts).
The floor for the sweep is the same expression lambdified bare with numpy (no cse, no unit
handling, no validation).
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
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


def cli_best(argv, warm: bool, repeats: int = 5) -> tuple:
    """(best wall seconds, best user+sys CPU seconds) of ``argv`` in a fresh process over
    ``repeats`` runs, with the cache (``MLSYSIM_CACHE_DIR``: kernels and the registry) in a
    temporary directory: emptied before each run (cold) or filled by one run first (warm)."""
    root = tempfile.mkdtemp(prefix="mlsysim-bench-cache-")
    env = dict(os.environ, MLSYSIM_CACHE_DIR=root)
    try:
        if warm:
            subprocess.run(argv, check=True, capture_output=True, env=env)
        walls, cpus = [], []
        for _ in range(repeats):
            if not warm:
                shutil.rmtree(root)
                os.mkdir(root)
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run(argv, check=True, capture_output=True, env=env)
            walls.append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        return min(walls), min(cpus)
    finally:
        shutil.rmtree(root, ignore_errors=True)


_REGISTRY_LOAD = ("import time, mlsysim_sym.units\n"
                  "t = time.process_time()\n"
                  "from mlsysim_sym.registry.loader import Registry\n"
                  "Registry.from_directory()\n"
                  "print(time.process_time() - t)\n")


def registry_load(cached: bool, repeats: int = 5) -> float:
    """Best CPU seconds, in a fresh process with pint already imported, to build the shipped
    registry: from the cache filled by a first run, or validated from the YAML (cache off:
    importing PyYAML, pydantic and the schema included)."""
    root = tempfile.mkdtemp(prefix="mlsysim-bench-cache-")
    env = dict(os.environ, MLSYSIM_CACHE_DIR=root if cached else "")
    try:
        runs = [float(subprocess.run([sys.executable, "-c", _REGISTRY_LOAD], check=True,
                                     capture_output=True, text=True, env=env).stdout)
                for _ in range(repeats + 1)]
        return min(runs[1:])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def per_call(fn, number: int, repeat: int = 7) -> float:
    """CPU seconds per call: the best of ``repeat`` rounds of ``number`` calls."""
    return min(timeit.repeat(fn, number=number, repeat=repeat, timer=time.process_time)) / number


def _refused(call) -> None:
    """``call()``, which must raise the sweep-size error."""
    from mlsysim_sym import checks
    try:
        call()
    except checks.SweepTooLargeError:
        return
    raise AssertionError("not refused")


def main() -> None:
    # the cache of this run (and of its subprocesses) lives in a temporary directory:
    # the rows do not depend on what ~/.cache holds, and nothing is left behind
    root = tempfile.mkdtemp(prefix="mlsysim-bench-cache-")
    os.environ["MLSYSIM_CACHE_DIR"] = root
    try:
        _rows()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _rows() -> None:
    rows = []
    baseline = fresh_process("pass")
    rows.append(("python startup (subtracted below)", baseline, "s", ""))
    t = fresh_process("import mlsysim_sym") - baseline
    rows.append(("cold import mlsysim_sym", t, "s", "target <= 0.25 s"))
    _, cpu = cli_best([sys.executable, "-c", "import mlsysim_sym"], True)
    rows.append(("import mlsysim_sym, CPU (python startup included)", cpu, "s",
                 "user + sys, best of 5, target <= 0.25 s"))
    t = fresh_process("import mlsysim_sym as ms; ms.predict('llama-3-8b', 'h100')") - baseline
    rows.append(("import + first prediction (fresh process)", t, "s",
                 "median of 5: the first fills the kernel cache"))
    cli = ["mlsysim-sym", "predict", "llama-3-8b", "h100"]
    for warm in (False, True):
        wall, cpu = cli_best(cli, warm)
        state = "warm" if warm else "cold"
        rows.append((f"CLI `mlsysim-sym predict llama-3-8b h100`, {state} cache, wall",
                     wall, "s", "best of 5" + (", target <= 0.5 s" if warm else "")))
        rows.append((f"CLI `mlsysim-sym predict llama-3-8b h100`, {state} cache, CPU",
                     cpu, "s", "user + sys, best of 5" + (", target <= 0.5 s" if warm else "")))
    api = [sys.executable, "-c", "import mlsysim_sym as ms; ms.predict('llama-3-8b', 'h100')"]
    wall, cpu = cli_best(api, True)
    rows.append(("import + first prediction, warm cache, CPU", cpu, "s",
                 "user + sys, best of 5"))
    rows.append(("shipped registry validated from the YAML (pint loaded), CPU",
                 registry_load(False), "s", "best of 5: PyYAML, pydantic, schema, validation"))
    rows.append(("shipped registry read from the cache (pint loaded), CPU",
                 registry_load(True), "s", "best of 5"))

    import mlsysim_sym as ms
    from mlsysim_sym.tasks.serving import serving_kernel, serving_system

    ms.predict("llama-3-8b", "h100")  # warm: compile + caches
    t_predict = per_call(lambda: ms.predict("llama-3-8b", "h100"), 5000)
    rows.append(('predict("llama-3-8b", "h100") scalar, lazy result', t_predict * 1e6, "us",
                 "target <= 5 us"))
    t = per_call(lambda: ms.predict("llama-3-8b", "h100", batch=8, seq_len=4096), 5000)
    rows.append(("predict() scalar, batch=8, seq_len=4096", t * 1e6, "us", "target <= 5 us"))
    t = per_call(lambda: ms.predict("llama-3-8b", "h100", batch=8).value("time_per_output_token"),
                 5000)
    rows.append(("predict() scalar + one output read as a number (.value)", t * 1e6, "us", ""))
    t = per_call(lambda: ms.predict("llama-3-8b", "h100", batch=8).time_per_output_token, 2000)
    rows.append(("predict() scalar + one pint quantity read", t * 1e6, "us", ""))
    t = per_call(lambda: ms.predict("llama-3-8b", "h100", prefill_tokens=0.0), 2000)
    rows.append(("predict() scalar, checked path (every knob checked, no memo)", t * 1e6, "us",
                 ""))
    kernel = serving_kernel()
    inputs = ms.predict("llama-3-8b", "h100").base_inputs()
    args = [inputs[n] for n in kernel.input_names]
    t_kernel = per_call(lambda: kernel.lazy(args, False), 20000)
    rows.append(("compiled kernel, scalar (every output + branches)", t_kernel * 1e6, "us", ""))
    rows.append(("predict() / compiled kernel", t_predict / t_kernel, "x", ""))
    one = serving_kernel(one_device=True, unquantised=True)   # what predict runs here
    t = per_call(lambda: one.lazy(args, False), 20000)
    rows.append(("compiled kernel, scalar, one device, fp16 (what predict runs here)",
                 t * 1e6, "us", ""))

    kw = dict(devices=8, micro_batch=1, global_batch=64, seq_len=4096, zero_stage=1)
    ms.train("llama-3-8b", "h100", **kw)
    t = per_call(lambda: ms.train("llama-3-8b", "h100", **kw), 500)
    rows.append(("train() one point (llama-3-8b, 8 x H100, ZeRO-1)", t * 1e6, "us",
                 "target <= 150 us"))
    ms.train("llama-3-70b", "lab-64-h100", tp=8, pp=2, global_batch=256)
    t = per_call(lambda: ms.train("llama-3-70b", "lab-64-h100", tp=8, pp=2, global_batch=256),
                 500)
    rows.append(("train() one point (llama-3-70b, a 64-GPU cluster, tp 8 pp 2)", t * 1e6, "us",
                 "target <= 150 us"))

    # input checks (tests/unit/test_inputs.py checks these properties without a clock: the
    # refusal allocates nothing of the array's size; the checks make no per-value calls)
    from mlsysim_sym import checks
    big = np.full(100_000_000, -1.0)      # 800 MB the user already holds, every value invalid
    t = per_call(lambda: _refused(lambda: ms.predict("llama-3-8b", "h100", batch=big)), 20)
    rows.append(("refusal of a 10^8-point out-of-range batch array (by its size)", t * 1e6,
                 "us", "was 4.3 s and 2.6 GB before the size check"))
    del big
    grid = (np.arange(1, 10_001)[:, None], np.arange(1, 10_001)[None, :])
    t = per_call(lambda: _refused(lambda: ms.predict("llama-3-8b", "h100", batch=grid[0],
                                                     seq_len=grid[1])), 20)
    rows.append(("refusal of a 10^4 x 10^4 batch x seq_len grid", t * 1e6, "us", ""))
    values = np.arange(1.0, 1_000_001.0)
    t = per_call(lambda: checks.count("batch", values, 1, 1e6), 5)
    rows.append(("checks.count over 10^6 values", t * 1e3, "ms", ""))

    batch = np.arange(1, 1_000_001, dtype=float)
    t_sweep = per_call(lambda: ms.predict("llama-3-8b", "h100", batch=batch).time_per_output_token, 3)
    rows.append(("10^6-point sweep via predict(batch=array) -> TPOT", t_sweep, "s", ""))
    t_kernel = per_call(lambda: kernel.raw(*[batch if n == "batch" else v
                                             for n, v in zip(kernel.input_names, args)]), 3)
    rows.append(("10^6-point sweep, compiled kernel (every output)", t_kernel, "s", ""))

    # every output of a 10^6-point sweep, the bottleneck included (names on read from int8
    # codes; the outputs from one kernel call), from a fresh prediction each time
    from mlsysim_sym.tasks.serving import OUTPUTS

    def read_all():
        r = ms.predict("llama-3-8b", "h100", batch=batch)
        r.outputs()                    # the 18 kernel outputs, latency, throughput, mfu, energy
        return r.feasible, r.bottleneck

    def read_each():
        r = ms.predict("llama-3-8b", "h100", batch=batch)
        out = [r.quantity(n) for n in OUTPUTS] + [r.latency, r.throughput, r.mfu,
                                                  r.energy_per_token]
        return out, r.feasible, r.bottleneck

    read_all(), read_each()
    rows.append(("10^6-point sweep: every output via outputs() + feasible + bottleneck",
                 per_call(read_all, 1), "s", "target <= 0.1 s"))
    rows.append(("10^6-point sweep: the same outputs read one by one + feasible + bottleneck",
                 per_call(read_each, 1), "s", "one kernel per output"))

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
    print(f"{'benchmark':{width}s}  {'value':>10s}  unit  target / note")
    print("-" * (width + 30))
    for name, value, unit, note in rows:
        print(f"{name:{width}s}  {value:10.4g}  {unit:4s}  {note}")


if __name__ == "__main__":
    main()
