"""Fuzz the public API with malformed input (issue 15).

One argument of a valid call is replaced by a malformed value (wrong type, negative, zero, NaN,
infinities, huge, wrong-unit or malformed strings, unknown names, empty strings, nested and
ragged lists, arrays with NaN, quantities of the wrong sign or dimension). The call must either
succeed (some values are valid for some arguments) or raise one of the documented error classes
(README "Errors"): ``ValueError`` (``mlsysim_sym.InputError``, ``UnitError``, registry errors)
or ``LookupError`` (unknown names), and ``TypeError`` only for a registry-name argument given
something that is not a name. The message names the argument. No call takes more than 2
CPU-seconds once its kernels are compiled (LIMIT_S).
"""

import math
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import mlsysim_sym as ms
from mlsysim_sym.scenarios import serving_system

# A call answers (or refuses) within this much CPU time of this process: process time, not wall
# time, so other processes on shared cores (a loaded CI machine) do not fail it. The limit is a
# guard against calls that are slow every time (a huge allocation, a runaway search), not against
# the one-time compile of a kernel: each test runs its valid call once, untimed, before the
# fuzzing (its kernels compiled), and a malformed value that reaches a kernel no valid call did
# (another ZeRO stage, another phase) is called again once when its first call is over the
# limit, the second call (its kernels now compiled and in memory) then held to it. In a fresh
# kernel cache (under pytest-xdist any worker may be the first to need a kernel) a first call
# can take several CPU-seconds of sympy.
LIMIT_S = 2.0
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

BAD = st.one_of(
    st.none(), st.booleans(), st.just(float("nan")), st.just(float("inf")),
    st.just(-float("inf")), st.just(0), st.just(-1), st.just(-0.5), st.just(2.5),
    st.just(1e300), st.just(10 ** 30), st.integers(-10 ** 6, -1),
    st.text(max_size=12), st.just(""), st.just("  "), st.just("5 GB/s"), st.just("NaN ms"),
    st.just("-5 TB/s"), st.just("1e999 ms"), st.just("9**9**9 byte"), st.just("h100"),
    st.just([[1, 2], [3]]), st.just([]), st.just([1, "a"]), st.just({"a": 1}), st.just(()),
    st.just(np.array([1.0, np.nan])), st.just(np.array([[1, -2]])), st.just(object()),
    st.just(ms.Q_(-1, "ms")), st.just(ms.Q_(3, "GB")), st.just(ms.Q_(float("nan"), "TB/s")),
    st.just(complex(1, 1)),
)

# argument -> words one of which the message must contain (the argument's name as the
# message spells it)
NAMES = {
    "model": ("model",), "hardware": ("hardware",), "cluster": ("cluster", "hardware"),
    "batch": ("batch",), "seq_len": ("seq_len",), "precision": ("precision",),
    "phase": ("phase",), "efficiency": ("efficiency", "unoverlapped", "fixed_overhead"),
    "tp": ("tp",), "weight_bits": ("weight_bits",), "stack": ("stack",),
    "devices": ("devices",), "pp": ("pp", "tp x pp"), "micro_batch": ("micro_batch",),
    "global_batch": ("global_batch",), "zero_stage": ("zero_stage",),
    "recompute": ("recompute",), "qps": ("qps",), "input_tokens": ("input_tokens",),
    "output_tokens": ("output_tokens",), "replicas": ("replicas",),
    "percentile": ("percentile",), "slo": ("slo", "SLO"), "max_batch": ("max_batch",),
    "budget": ("budget",), "targets": ("target",), "unknowns": ("unknowns",),
    "given": ("given", "memory_bandwidth"), "output": ("output", "not a symbol", "system"),
    "wrt": ("wrt", "not a symbol", "system"), "at": ("at", "memory_bandwidth"),
    "unknown": ("unknown", "not a symbol", "system"), "name": ("hardware", "model", "cluster"),
}
REGISTRY_ARGS = {"model", "hardware", "cluster", "name"}
ALLOWED_WORDS = ("must", "allowed", "expected a", "did you mean", "list them", "give ", "write ",
                 "needs", "need ", "takes", "at most", "cannot be broadcast", "is expected",
                 "not defined", "use ")


def _call(fn, arg, kwargs):
    took = _timed_call(fn, arg, kwargs)
    if took >= LIMIT_S:     # a first-call compile (see LIMIT_S): the same call, warm
        took = (took, _timed_call(fn, arg, kwargs))
        assert took[1] < LIMIT_S, (arg, kwargs.get(arg), "CPU s cold, warm:", took)


def _timed_call(fn, arg, kwargs) -> float:
    """Call ``fn(**kwargs)``, check a refusal's class and message; the CPU seconds it took."""
    t0 = time.process_time()
    try:
        fn(**kwargs)
    except (ValueError, LookupError, TypeError) as exc:
        took = time.process_time() - t0
        if isinstance(exc, TypeError) and not isinstance(exc, (ValueError, LookupError)):
            assert arg in REGISTRY_ARGS and "expected a" in str(exc), (arg, repr(exc))
        msg = str(exc)
        assert any(w in msg for w in NAMES[arg]), (arg, kwargs.get(arg), msg)
        # ... and says what is allowed (a range, a list of choices, or how to list them)
        assert any(w in msg for w in ALLOWED_WORDS), (arg, kwargs.get(arg), msg)
        assert len(msg) < 2000
        return took
    return time.process_time() - t0


def _fuzz(fn, base, warm=True):
    if warm:        # the valid call first, untimed: its kernels compiled before any limit
        fn(**base)
    @SETTINGS
    @given(arg=st.sampled_from(sorted(base)), bad=BAD)
    def run(arg, bad):
        kwargs = dict(base)
        kwargs[arg] = bad
        _call(fn, arg, kwargs)
    run()


def _predict(model, hardware, **kw):
    r = ms.predict(model, hardware, **kw)
    _touch(r, ("time_per_output_token", "ttft", "memory_footprint"))


def _touch(r, names):
    for n in names:
        q = getattr(r, n)
        m = np.asarray(q.magnitude, dtype=float)
        assert not np.any(np.isnan(m)), (n, q)   # a result of accepted input is never NaN


def test_predict_fuzz():
    _fuzz(_predict, dict(model="llama-3-8b", hardware="h100", batch=4, seq_len=1024,
                         precision="fp16", phase="decode", efficiency=0.5, tp=2,
                         weight_bits=4.5, stack="vllm"))


def test_train_fuzz():
    _fuzz(ms.train, dict(model="llama-3-8b", cluster="h100", devices=8, tp=2, pp=1,
                         micro_batch=1, global_batch=16, seq_len=2048, precision="bf16",
                         zero_stage=1, recompute="selective", efficiency=0.5))


def test_serve_fuzz():
    _fuzz(ms.serve, dict(model="llama-3-8b", hardware="h100", qps=2, input_tokens=256,
                         output_tokens=64, replicas=1, tp=1, batch=8, percentile=0.99,
                         precision="fp16", efficiency=0.5))


def test_size_fleet_fuzz():
    kw = dict(model="llama-3-8b", hardware_or_candidates="h100", qps=2, input_tokens=256,
              output_tokens=64, slo={"ttft": "2 s", "tpot": "50 ms"}, percentile=0.99,
              max_batch=64, tp=[1, 2], budget="1e7 USD", precision="fp16")
    NAMES["hardware_or_candidates"] = ("hardware",)
    REGISTRY_ARGS.add("hardware_or_candidates")
    _fuzz(ms.size_fleet, kw)


def test_synthesize_fuzz():
    kw = dict(model="llama-3-8b", targets={"tpot": "20 ms"}, unknowns=["peak_flops"], batch=1,
              seq_len=2048, precision="fp16", given={"memory_bandwidth": "3 TB/s"},
              compare=False)
    NAMES["compare"] = ("compare",)
    _fuzz(ms.synthesize, {k: v for k, v in kw.items() if k != "compare"} | {"compare": False})


def test_given_and_at_values_fuzz():
    """The values inside given= / at= dicts (the reported crashes) are checked too."""
    r = ms.predict("llama-3-8b", "h100")
    calls = {
        "sens": (lambda **k: ms.sensitivity(r, "time_per_output_token", **k), "at",
                 lambda v: {"at": {"memory_bandwidth": v}}),
        "synth": (lambda **k: ms.synthesize("llama-3-8b", {"tpot": "20 ms"},
                                            unknowns=["peak_flops"], compare=False, **k),
                  "given", lambda v: {"given": {"memory_bandwidth": v}}),
        "solve": (lambda **k: ms.solve_for(serving_system(), "batch",
                                           {"time_per_output_token": "9 ms"}, **k),
                  "given", lambda v: {"given": {**{k: v_ for k, v_ in r.inputs().items()
                                                   if k != "batch"}, "memory_bandwidth": v}}),
    }
    for fn, _arg, kwargs in calls.values():    # each valid call once, untimed (see LIMIT_S)
        fn(**kwargs("3 TB/s"))

    @SETTINGS
    @given(bad=BAD, which=st.sampled_from(sorted(calls)))
    def run(bad, which):
        fn, arg, kwargs = calls[which]
        _call(fn, arg, kwargs(bad))
    run()


def test_sensitivity_fuzz():
    r = ms.predict("llama-3-8b", "h100")
    _fuzz(lambda **k: ms.sensitivity(r, **k),
          dict(output="time_per_output_token", wrt=["memory_bandwidth"],
               at={"batch": 2}))


def test_solve_for_fuzz():
    r = ms.predict("llama-3-8b", "h100")
    S = serving_system()
    given_ = dict(r.inputs())
    given_.pop("batch")
    _fuzz(lambda **k: ms.solve_for(S, **k),
          dict(unknown="batch", targets={"time_per_output_token": "9 ms"}, given=given_))


def test_registry_lookups_fuzz():
    for fn in (ms.registry.hardware, ms.registry.model, ms.registry.cluster):
        _fuzz(lambda name, fn=fn: fn(name), dict(name="h100"), warm=False)   # no kernels


@pytest.mark.parametrize("value", [float("nan"), -1, 0, "5 GB", [[1], [2, 3]]])
def test_error_messages_say_what_is_allowed(value):
    with pytest.raises(ValueError) as e:
        ms.predict("llama-3-8b", "h100", batch=value)
    assert "batch" in str(e.value) and ("between" in str(e.value) or "must" in str(e.value))
    assert not math.isnan(len(str(e.value)))
