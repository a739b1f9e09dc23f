"""The on-disk kernel cache (mlsysim_sym.cache, numeric.cached_kernel, the symbols' snapshot).

A warm cache answers a prediction without sympy; a cached kernel gives the numbers of the
kernel compiled from the system; a corrupt, stale or unwritable cache is rebuilt or bypassed,
never fatal. Every test points MLSYSIM_CACHE_DIR at its own tmp_path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mlsysim_sym import cache, numeric
from mlsysim_sym.tasks.serving import system as serving
from mlsysim_sym.tasks import training
from mlsysim_sym.tasks.training import step as training_step
from mlsysim_sym.tasks.fleet import load as fleet
from mlsysim_sym.symbols import base as symbols_base
from mlsysim_sym.symbols import table
from mlsysim_sym.tasks._core import inputs as serving_in


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh cache directory and an empty in-process kernel memo."""
    monkeypatch.setenv(cache.ENV, str(tmp_path))
    monkeypatch.setattr(numeric, "_KERNELS", {})
    return tmp_path


def _kernel_files(root):
    return sorted((root / "kernels").glob("*.json"))


# ---- no sympy on a warm cache ------------------------------------------------------------------

_PROBE = """
import sys
from mlsysim_sym.cli import main
rc = main({argv!r})
print("RESULT", rc, 'sympy' in sys.modules, 'mlsysim_sym.equations' in sys.modules)
"""


def _probe(argv, root):
    env = dict(os.environ, **{cache.ENV: str(root)})
    p = subprocess.run([sys.executable, "-c", _PROBE.format(argv=argv)], capture_output=True,
                       text=True, timeout=300, env=env)
    line = [x for x in p.stdout.splitlines() if x.startswith("RESULT")]
    assert line, (p.stdout, p.stderr)
    _, rc, sympy_loaded, walls_loaded = line[-1].split()
    return rc, sympy_loaded == "True", walls_loaded == "True", p.stdout


@pytest.mark.parametrize("argv", [["predict", "llama-3-8b", "h100"],
                                  ["predict", "mixtral-8x7b", "h100", "--batch", "8"]])
def test_cli_predict_on_a_warm_cache_imports_neither_sympy_nor_the_walls(tmp_path, argv):
    rc, sympy_cold, walls_cold, cold = _probe(argv, tmp_path)
    assert rc == "0" and sympy_cold and walls_cold      # cold: the kernel is compiled
    assert _kernel_files(tmp_path) and list((tmp_path / "symbols").glob("*.json"))
    rc, sympy_warm, walls_warm, warm = _probe(argv, tmp_path)
    assert rc == "0" and not sympy_warm and not walls_warm
    strip = lambda out: [x for x in out.splitlines() if not x.startswith("RESULT")]  # noqa: E731
    assert strip(warm) == strip(cold)                    # the same table, digit for digit


def test_train_and_fleet_on_a_warm_cache_import_no_sympy(tmp_path):
    code = ("import sys, mlsysim_sym as ms\n"
            "r = ms.train('llama-3-8b', 'h100', devices=64, global_batch=512, tp=8)\n"
            "f = ms.size_fleet('llama-3-8b', ['h100', 'a100'], qps=10, input_tokens=512, "
            "output_tokens=128)\n"
            "print('RESULT', float(r.step_time.to('s').magnitude), f.devices, "
            "'sympy' in sys.modules)\n")
    env = dict(os.environ, **{cache.ENV: str(tmp_path)})
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           timeout=300, env=env) for _ in range(2)]
    lines = [[x for x in p.stdout.splitlines() if x.startswith("RESULT")][-1].split()
             for p in runs]
    assert lines[0][3] == "True" and lines[1][3] == "False", [p.stderr for p in runs]
    assert lines[0][1:3] == lines[1][1:3]


# ---- the cached kernel computes what the compiled one does --------------------------------------

def _assert_same(a, b):
    for x, y in zip(a, b):
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        assert x.shape == y.shape or x.size == 1 or y.size == 1
        both_nan = np.isnan(x) & np.isnan(y)
        np.testing.assert_allclose(np.where(both_nan, 0, x), np.where(both_nan, 0, y),
                                   rtol=1e-12, atol=0)


def _serving_args(model, chip, batch, seq, tp):
    from mlsysim_sym import registry
    m, hw = registry.model(model), registry.hardware(chip)
    values = serving_in.serving_inputs(m, hw, "fp16", tp=tp)
    values.update(batch=batch, prompt_length=seq, context_length=seq,
                  prefill_chunk_tokens=0.0, prefix_cache_hit_rate=0.0,
                  max_batched_tokens=serving_in.max_batched_tokens_magnitude(None))
    return values


@pytest.mark.parametrize("model,chip,batch,seq,tp", [
    ("llama-3-8b", "h100", 1.0, 2048.0, 1.0), ("llama-3-70b", "h100", 64.0, 8192.0, 8.0),
    ("llama-3-8b", "a100", 256.0, 512.0, 2.0)])
def test_cached_serving_kernel_matches_the_compiled_one(cache_dir, model, chip, batch, seq, tp):
    fresh = serving.serving_system().compile(serving.OUTPUTS, serving_in.SERVING_INPUTS)
    writer = numeric.cached_kernel("serving", serving.OUTPUTS, serving_in.SERVING_INPUTS,
                                   serving.serving_system)
    args = serving_in.args(_serving_args(model, chip, batch, seq, tp), writer.input_names)
    sweep = [np.array([1.0, 8.0, 512.0]) if n == "batch" else a
             for n, a in zip(writer.input_names, args)]
    writer.raw(*args)                                           # stores the math kernel,
    writer.raw(*sweep)                                          # the numpy kernel
    ev = writer.lazy(sweep)
    ev.values, ev.branch_values                                 # and every per-output one
    numeric._KERNELS.clear()
    cached = numeric.cached_kernel("serving", serving.OUTPUTS, serving_in.SERVING_INPUTS,
                                   _refusing(serving.serving_system))   # reads it back
    assert isinstance(cached, numeric.CachedKernel)
    assert cached.input_names == fresh.input_names and cached.output_names == fresh.output_names
    assert cached.branch_kind == fresh.branch_kind
    _assert_same(cached.raw(*args), fresh.raw(*args))          # math kernel, every slot
    ev_c, ev_f = cached.lazy(list(args)), fresh.lazy(list(args))
    for name in fresh.output_names:
        assert ev_c.quantity(name) == ev_f.quantity(name)
    for owner in fresh.branch_kind:
        assert ev_c.binding(owner) == ev_f.binding(owner)
    # arrays: the numpy kernel and the per-output kernels of a lazy sweep
    _assert_same(cached.raw(*sweep), fresh.raw(*sweep))
    ev_c, ev_f = cached.lazy(sweep), fresh.lazy(sweep)
    for name in fresh.output_names:
        _assert_same([ev_c.value(name)], [ev_f.value(name)])
    for owner in fresh.branch_kind:
        assert list(ev_c.binding(owner)) == list(ev_f.binding(owner))


def _refusing(build):
    """A build function with ``build``'s key (the key hashes the file that defines it) that
    fails if called: the kernel must come from the cache."""
    def must_not_build(*args, **kwargs):
        raise AssertionError("the system was built although the cache holds the kernel")
    must_not_build.__wrapped__ = build
    return must_not_build


def _read(r):
    return [getattr(r, n) for n in ("step_time", "mfu", "tokens_per_s", "memory_per_device")] \
        + [r.bottleneck]


def _clear_training_memos():
    training_step.kernel.cache_clear()
    training_step._zero_kernel.cache_clear()
    numeric._KERNELS.clear()
    numeric._FUNCTIONS.clear()


@pytest.mark.parametrize("kw", [dict(devices=64, global_batch=512, tp=8, pp=2),
                                dict(devices=256, global_batch=1024, tp=4, zero_stage=3,
                                     recompute="full", micro_batch=2),
                                dict(devices=64, global_batch=512, tp=np.array([2, 4, 8]),
                                     zero_stage=1)])
def test_cached_training_kernels_match_the_compiled_ones(cache_dir, monkeypatch, kw):
    """The step kernel and the ZeRO glue: compiled in memory (cache off), then written to the
    cache and read back by a process that never compiles."""
    _clear_training_memos()
    monkeypatch.setenv(cache.ENV, "")            # disk cache off: compiled in memory
    try:
        ref = training.train("llama-3-70b", "h100", **kw)
        assert isinstance(training_step.kernel("full"), numeric.Compiled)
        _clear_training_memos()
        monkeypatch.setenv(cache.ENV, str(cache_dir))
        _read(training.train("llama-3-70b", "h100", **kw))                # writes
        _clear_training_memos()
        monkeypatch.setattr(training_step, "training_system", _refusing(
            training_step.training_system))
        monkeypatch.setattr(training_step, "_zero_glue", _refusing(training_step._zero_glue))
        got = training.train("llama-3-70b", "h100", **kw)                 # reads
        assert isinstance(training_step.kernel("full"), numeric.CachedKernel)
        for a, b in zip(_read(got), _read(ref)):
            if hasattr(a, "magnitude"):
                assert a.units == b.units
                _assert_same([a.magnitude], [b.magnitude])
            else:                                 # the bottleneck: a name or array of names
                np.testing.assert_array_equal(a, b)
    finally:
        _clear_training_memos()


def test_a_sweep_adds_the_numpy_kernels_to_a_scalar_entry(cache_dir):
    """A cold prediction stores the math kernel only (it costs what compiling did before the
    cache); the first sweep compiles the system once and adds the numpy kernels it uses."""
    built = []

    def build():
        built.append(1)
        return _small_system()

    k = numeric.cached_kernel("small", _OUT, None, build)
    point = _inputs(k)
    want = k.raw(*point)
    assert len(built) == 1
    numeric._KERNELS.clear()
    k = numeric.cached_kernel("small", _OUT, None, build)
    assert k.raw(*point) == want and len(built) == 1            # scalar: from the entry
    sweep = [np.array([v, 2 * v]) for v in point]
    ev = k.lazy(sweep)
    got = [ev.value(n) for n in _OUT]
    assert len(built) == 2                                     # compiled once for the sweep
    numeric._KERNELS.clear()
    k = numeric.cached_kernel("small", _OUT, None, _refusing(build))
    ev = k.lazy(sweep)
    _assert_same([ev.value(n) for n in _OUT], got)             # now stored
    _assert_same([g[0] for g in got], want)     # the sweep's first point is the scalar one
    with pytest.raises(AssertionError, match="was built"):
        k.raw(*sweep)                      # the full numpy kernel was never asked for: not stored


def test_cached_load_kernel_matches_the_compiled_one(cache_dir):
    """The fleet's load kernel: Piecewise queues and scipy.special's gamma functions."""
    from mlsysim_sym import registry
    fresh = serving.serving_system().compile(fleet.LOAD_OUTPUTS)
    m, hw = registry.model("llama-3-8b"), registry.hardware("h100")

    def args_at(kernel, lam):
        values = fleet.load_inputs(m, hw, "fp16", tp=1.0, replicas=2.0, lam=lam, n_in=512.0,
                                   n_out=256.0)
        args = [values[n] for n in kernel.input_names]
        if isinstance(lam, np.ndarray):
            args = [np.full(lam.shape, a, dtype=float) if np.ndim(a) == 0 else a for a in args]
        return args

    sweep = np.array([0.1, 5.0, 80.0, 4000.0])
    writer = numeric.cached_kernel("serving", fleet.LOAD_OUTPUTS, None, serving.serving_system)
    writer.raw(*args_at(writer, 0.5))            # stores the math kernel
    writer.raw(*args_at(writer, sweep))          # and the numpy kernel
    numeric._KERNELS.clear()
    cached = numeric.cached_kernel("serving", fleet.LOAD_OUTPUTS, None,
                                   _refusing(serving.serving_system))
    for lam in (0.5, 20.0, sweep):
        _assert_same(cached.raw(*args_at(cached, lam)), fresh.raw(*args_at(fresh, lam)))


# ---- corrupt, stale, unwritable ----------------------------------------------------------------

def _small_system():
    from mlsysim_sym import System, walls
    return System.from_walls(walls.compute, walls.memory)


_OUT = ("compute_time", "memory_time")


def _inputs(k):
    return [{"flops": 2e12, "peak_flops": 1e15, "compute_efficiency": 0.5, "bytes_moved": 4e9,
             "memory_bandwidth": 3e12, "memory_efficiency": 0.8}[n] for n in k.input_names]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "tampered payload", "empty",
                                    "wrong format", "bad source"])
def test_a_corrupt_entry_is_rebuilt_never_fatal(cache_dir, damage):
    built = []

    def build():
        built.append(1)
        return _small_system()

    first = numeric.cached_kernel("small", _OUT, None, build)
    want = first.raw(*_inputs(first))
    (path,) = _kernel_files(cache_dir)
    raw = path.read_bytes()
    head, body = raw.split(b"\n", 1)
    if damage == "garbage":
        path.write_bytes(b"\x00\xff not json at all")
    elif damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "tampered payload":
        path.write_bytes(head + b"\n" + body.replace(b"compute_efficiency", b"memory_efficiency"))
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "wrong format":
        h = json.loads(head)
        h["format"] = 0
        path.write_bytes(json.dumps(h).encode() + b"\n" + body)
    elif damage == "bad source":      # a consistent entry whose code does not compile
        payload = json.loads(body)
        payload["kernels"]["math"]["source"] = "def _lambdifygenerated(:\n"
        h = json.loads(head)
        assert cache.write("kernels", h["identity"], h["key"], payload)
    numeric._KERNELS.clear()
    again = numeric.cached_kernel("small", _OUT, None, build)
    assert again.raw(*_inputs(again)) == want
    assert len(built) == 2                       # refused and rebuilt
    numeric._KERNELS.clear()
    assert numeric.cached_kernel("small", _OUT, None, _refusing(build)).raw(*_inputs(again)) \
        == want                                  # and the rebuilt entry is valid again


def test_an_edited_source_file_rebuilds_the_kernel(cache_dir, tmp_path):
    dep = tmp_path / "composition.py"
    dep.write_text("v1")
    built = []

    def build():
        built.append(1)
        return _small_system()

    def evaluate():
        numeric._KERNELS.clear()
        k = numeric.cached_kernel("small", _OUT, None, build, depends=(dep,))
        return k.raw(*_inputs(k))

    want = evaluate()
    assert evaluate() == want and len(built) == 1
    dep.write_text("v2")
    cache._files_digest.cache_clear()            # a new process re-reads the files
    assert evaluate() == want and len(built) == 2
    assert len(_kernel_files(cache_dir)) == 1    # the stale entry was replaced, not kept


def test_an_unwritable_or_disabled_cache_falls_back_to_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setattr(numeric, "_KERNELS", {})
    monkeypatch.setenv(cache.ENV, str(blocker))       # mkdir fails: nothing written, no error
    k = numeric.cached_kernel("small", _OUT, None, _small_system)
    assert k.raw(*_inputs(k))[0] == pytest.approx(2e12 / (1e15 * 0.5))
    assert not cache.write("kernels", "x", "y", {"a": 1}) and cache.read("kernels", "x", "y") \
        is None
    monkeypatch.setenv(cache.ENV, "")                 # turned off: compiled in memory
    monkeypatch.setattr(numeric, "_KERNELS", {})
    assert cache.directory() is None
    assert isinstance(numeric.cached_kernel("small", _OUT, None, _small_system),
                      numeric.Compiled)


def test_cache_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.ENV, str(tmp_path / "x"))
    assert cache.directory() == tmp_path / "x"
    monkeypatch.delenv(cache.ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.directory() == tmp_path / "xdg" / "mlsysim_sym"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.directory() == tmp_path / "home" / ".cache" / "mlsysim_sym"


# ---- the symbols' snapshot ---------------------------------------------------------------------

def test_symbol_snapshot_has_every_row_of_the_declared_table(cache_dir):
    declared = symbols_base.all_symbols()
    assert table.write_snapshot(declared)
    rows = table.read_snapshot()
    assert set(rows) == set(declared)
    for name, r in declared.items():
        s = rows[name]
        assert (s.unit, s.latex, s.description, s.bounds, s.integer, s.value, s.is_constant) \
            == (r.unit, r.latex, r.description, r.bounds, r.integer, r.value, r.is_constant)
    assert rows["batch"].symbol is declared["batch"].symbol     # .symbol: the sympy symbol


def test_a_corrupt_symbol_snapshot_is_refused(cache_dir):
    assert table.write_snapshot(symbols_base.all_symbols())
    (path,) = (cache_dir / "symbols").glob("*.json")
    head, body = path.read_bytes().split(b"\n", 1)
    payload = json.loads(body)
    payload["batch"][3] = "not a number"
    h = json.loads(head)
    assert cache.write("symbols", h["identity"], h["key"], payload)
    assert table.read_snapshot() is None
    path.write_bytes(b"{")
    assert table.read_snapshot() is None


def test_a_cached_kernel_builds_its_system_only_when_asked(cache_dir):
    built = []

    def build():
        built.append(1)
        return _small_system()

    k = numeric.cached_kernel("small", _OUT, None, build)
    k.raw(*_inputs(k))
    numeric._KERNELS.clear()
    k = numeric.cached_kernel("small", _OUT, None, build)
    k.raw(*_inputs(k))
    assert isinstance(k, numeric.CachedKernel) and len(built) == 1
    assert {o.name for o in k.system.outputs} >= set(_OUT) and len(built) == 2
