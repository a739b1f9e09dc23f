"""Issue 15: one validation layer for the inputs of the public API (mlsysim_sym.checks).

Each user-reported crash has a regression test here; the fuzz test over the public functions is
tests/properties/test_fuzz_public_api.py.
"""

import json
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import mlsysim_sym as ms
from mlsysim_sym import checks
from mlsysim_sym.scenarios import serving_system
from mlsysim_sym.units import UnitError

EFF = {"compute": 0.64, "memory": 0.8, "fixed_overhead": "0 ms", "unoverlapped": 0.0}


# ------------------------------------------------------------------ 1. synthesize(given=...)
@pytest.mark.parametrize("value,match", [
    ("-5 TB/s", r"memory_bandwidth must be a positive number .*got '-5 TB/s'"),
    ("NaN TB/s", r"memory_bandwidth: 'NaN TB/s' is not a quantity"),
    (float("inf"), "memory_bandwidth must be a positive"),
    ("5 ms", r"memory_bandwidth.*ms.*GB/s|memory_bandwidth.*GB/s.*ms"),
    (0, "memory_bandwidth must be a positive"),
])
def test_synthesize_given_is_range_checked(value, match):
    with pytest.raises(ValueError, match=match):
        ms.synthesize("llama-3-8b", {"tpot": "20 ms"}, unknowns=["peak_flops"],
                      given={"memory_bandwidth": value}, compare=False)


def test_synthesize_given_fraction_above_one_and_unknown_key_are_refused():
    with pytest.raises(checks.InputError, match=r"compute_efficiency must be in \(0, 1\]"):
        ms.synthesize("llama-3-8b", {"tpot": "20 ms"}, unknowns=["memory_bandwidth"],
                      given={"compute_efficiency": 1.5}, compare=False)
    with pytest.raises(checks.InputError, match="given: 'memory_bandwith' is not an input"):
        ms.synthesize("llama-3-8b", {"tpot": "20 ms"}, unknowns=["peak_flops"],
                      given={"memory_bandwith": "3 TB/s"}, compare=False)


def test_synthesize_valid_given_is_unchanged():
    # a positive given value is used as before: more bandwidth needs no less compute here
    r = ms.synthesize("llama-3-8b", {"tpot": "20 ms"}, unknowns=["peak_flops"],
                      given={"memory_bandwidth": "3.35 TB/s"}, compare=False)
    assert r["peak_flops"].feasible and r["peak_flops"].value.to("TFLOP/s").magnitude > 0


# ------------------------------------------------------------------ 2. sensitivity(at=...)
@pytest.fixture(scope="module")
def decode():
    return ms.predict("llama-3-8b", "h100", batch=1, seq_len=2048, efficiency=EFF)


def test_sensitivity_at_accepts_quantities_strings_and_declared_unit_numbers(decode):
    out = "time_per_output_token"
    a = ms.sensitivity(decode, out, at={"memory_bandwidth": ms.Q_(4.8, "TB/s")})
    b = ms.sensitivity(decode, out, at={"memory_bandwidth": "4.8 TB/s"})
    c = ms.sensitivity(decode, out, at={"memory_bandwidth": 4800})   # GB/s, the declared unit
    assert ms.symbols.info("memory_bandwidth").unit == "GB/s"
    for s in (b, c):
        assert s.value.to("ms").magnitude == pytest.approx(a.value.to("ms").magnitude, rel=1e-12)
    # 4800 GB/s is faster than the H100's 3350 GB/s, not 4800 B/s (3.3e10 ms before)
    assert a.value.to("ms").magnitude < decode.time_per_output_token.to("ms").magnitude < 100


@pytest.mark.parametrize("value,cls", [
    ("NaN TB/s", UnitError), (float("nan"), checks.InputError), (-1, checks.InputError),
    (float("inf"), checks.InputError), ("3 ms", UnitError), (ms.Q_(-2, "TB/s"), checks.InputError),
    ([1.0, float("nan")], checks.InputError), ("", checks.InputError),
])
def test_sensitivity_at_refuses_bad_values_with_the_argument_named(decode, value, cls):
    with pytest.raises(cls, match="memory_bandwidth"):
        ms.sensitivity(decode, "time_per_output_token", at={"memory_bandwidth": value})


def test_sensitivity_at_unknown_input_is_named(decode):
    with pytest.raises(checks.InputError, match="'memory_bandwith' is not an input.*memory_bandwidth"):
        ms.sensitivity(decode, "time_per_output_token", at={"memory_bandwith": 1})


# ------------------------------------------------------------------ 3. sweep size guard
# "Refused before allocation" is checked by what is allocated, not by how long it takes:
# tracemalloc sees numpy's array buffers, and an evaluation (or an element-wise range check) of
# 1e8 points allocates at least one array of 1e8 bytes (a boolean mask) to 8e8 bytes (float64);
# before the size check, the out-of-range array below cost 2.6 GB. The refusals here allocate
# about 0.2 MB.
FULL_SIZE_BYTES = 100_000_000


def _peak_allocation(call):
    """The peak bytes allocated (Python objects and numpy buffers) while ``call()`` runs, and
    the exception it raised."""
    tracemalloc.start()
    try:
        # the instrument itself: a 1e6-float array is seen (numpy reports to tracemalloc)
        tracemalloc.reset_peak()
        np.ones(1_000_000)
        assert tracemalloc.get_traced_memory()[1] >= 8_000_000
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        try:
            call()
        except Exception as exc:  # noqa: BLE001  returned to the test, which checks it
            raised = exc
        else:
            raised = None
        return tracemalloc.get_traced_memory()[1] - base, raised
    finally:
        tracemalloc.stop()


def test_a_huge_grid_is_refused_before_allocation_with_memory_and_chunking():
    batch = np.arange(1, 10_001)[:, None]
    seq = np.arange(1, 10_001)[None, :]
    ms.predict("llama-3-8b", "h100")        # registry and kernel loaded outside the measurement
    peak, e = _peak_allocation(lambda: ms.predict("llama-3-8b", "h100", batch=batch,
                                                  seq_len=seq))
    assert isinstance(e, checks.SweepTooLargeError), e
    assert peak < FULL_SIZE_BYTES / 20, peak        # nothing of the grid's size was built
    msg = str(e)
    assert "100,000,000 points" in msg and "max_sweep_points" in msg and "GB" in msg
    assert "ms.sweep" in msg and "array_split" in msg and "MLSYSIM_MAX_SWEEP_POINTS" in msg


def test_a_huge_out_of_range_array_is_refused_by_its_size_before_its_values_are_read():
    # the user's 1e8 values (a read-only view of one number: the test holds no 800 MB), every
    # one out of range: refused for its size, before any element-wise check or evaluation
    # would build a mask or a result of that size (was 4.3 s and 2.6 GB before the size check)
    big = np.broadcast_to(np.float64(-1.0), (100_000_000,))
    ms.predict("llama-3-8b", "h100")
    peak, e = _peak_allocation(lambda: ms.predict("llama-3-8b", "h100", batch=big))
    assert isinstance(e, checks.SweepTooLargeError), e
    assert "batch has 100,000,000 points" in str(e)
    assert peak < FULL_SIZE_BYTES / 20, peak


def test_the_limit_is_configurable(monkeypatch):
    batch = np.arange(1, 101)
    old = ms.config.max_sweep_points
    try:
        ms.config.max_sweep_points = 50
        with pytest.raises(checks.SweepTooLargeError, match="max_sweep_points = 50"):
            ms.predict("llama-3-8b", "h100", batch=batch)
        ms.config.max_sweep_points = None          # back to the environment / default
        monkeypatch.setenv("MLSYSIM_MAX_SWEEP_POINTS", "20")
        with pytest.raises(checks.SweepTooLargeError):
            ms.predict("llama-3-8b", "h100", batch=batch)
        monkeypatch.delenv("MLSYSIM_MAX_SWEEP_POINTS")
        assert ms.predict("llama-3-8b", "h100", batch=batch).time_per_output_token.shape == (100,)
        with pytest.raises(checks.InputError):
            ms.config.max_sweep_points = -3
    finally:
        ms.config.max_sweep_points = None if old == checks._DEFAULT_MAX_POINTS else old


def test_train_sweeps_are_guarded_too():
    with pytest.raises(checks.SweepTooLargeError, match="micro_batch"):
        ms.train("llama-3-8b", "h100", devices=8, micro_batch=np.ones((4000, 1)),
                 global_batch=np.full((1, 4000), 64), seq_len=2048)


def test_system_evaluate_sweeps_are_guarded():
    S = serving_system()
    p = ms.predict("llama-3-8b", "h100")
    with pytest.raises(checks.SweepTooLargeError):
        S.evaluate("ttft", p, batch=np.ones((5000, 1)), memory_bandwidth=np.full((1, 5000), 3350.0))


# ------------------------------------------------------------------ 4. tensor parallelism
@pytest.mark.parametrize("call", [
    lambda: ms.predict("llama-3-8b", "h100", tp=3),
    lambda: ms.serve("llama-3-8b", "h100", qps=1, input_tokens=128, output_tokens=64, tp=3),
    lambda: ms.size_fleet("llama-3-8b", "h100", qps=1, input_tokens=128, output_tokens=64, tp=[3]),
])
def test_tp_must_divide_the_heads(call):
    with pytest.raises(checks.InputError,
                       match=r"tp=3 does not divide the 32 attention heads.*allowed tp: \[1, 2, 4, 8\]"):
        call()


@pytest.mark.parametrize("call", [
    lambda: ms.predict("llama-3-8b", "h100", tp=16),
    lambda: ms.predict("llama-3-8b", "h100", tp=np.array([1, 16])),
    lambda: ms.serve("llama-3-8b", "h100", qps=1, input_tokens=128, output_tokens=64, tp=16),
])
def test_tp_must_fit_the_scale_up_domain(call):
    with pytest.raises(checks.InputError, match=r"tp=16 exceeds the scale-up domain.*8 accelerators"):
        call()


def test_scale_up_domain_comes_from_the_registry_nodes():
    from mlsysim_sym.scenarios import scale_up_domain
    assert scale_up_domain(ms.registry.hardware("h100"))[0] == 8        # DGX/HGX H100
    assert scale_up_domain(ms.registry.hardware("gb200"))[0] == 72      # GB200 NVL72
    assert scale_up_domain(ms.registry.hardware("google-tpu-v5p")) is None   # ICI spans hosts
    # valid degrees keep their numbers
    a = ms.predict("llama-3-70b", "h100", tp=8, efficiency=EFF)
    assert a.time_per_output_token.to("ms").magnitude > 0


# ------------------------------------------------------------------ 5. integer unknowns
def test_solve_for_a_whole_batch_with_margin():
    p = ms.predict("llama-3-8b", "h100", batch=8, efficiency=EFF)
    S = serving_system()
    r = ms.solve_for(S, "batch", {"time_per_output_token": "9 ms"}, p)
    b = r.value.to("").magnitude
    assert b == int(b) and r.feasible and r.margin >= 0
    at_b = ms.predict("llama-3-8b", "h100", batch=int(b), efficiency=EFF)
    above = ms.predict("llama-3-8b", "h100", batch=int(b) + 1, efficiency=EFF)
    assert at_b.time_per_output_token.to("ms").magnitude <= 9 < \
        above.time_per_output_token.to("ms").magnitude      # the largest batch within 9 ms
    assert r.margin == pytest.approx(1 - at_b.time_per_output_token.to("ms").magnitude / 9)
    # a throughput goal: the smallest whole batch that reaches it
    r = ms.solve_for(S, "batch", {"decode_throughput": "5000 token/s"}, p)
    b = int(r.value.to("").magnitude)
    assert ms.predict("llama-3-8b", "h100", batch=b, efficiency=EFF).throughput \
        .to("token/s").magnitude >= 5000 > ms.predict("llama-3-8b", "h100", batch=b - 1,
                                                      efficiency=EFF).throughput \
        .to("token/s").magnitude
    assert "whole number" in r.message and r.margin >= 0


def test_solve_for_whole_devices():
    from mlsysim_sym.equations import walls
    from mlsysim_sym.system import System
    S = System.from_walls(walls.sustainability)
    k = S.compile(["facility_energy"])
    assert "devices" in k.input_names
    given = {"device_idle_power": "100 W", "device_peak_power": "700 W",
             "device_utilization": 0.8, "job_duration": "1 h", "pue": 1.2}
    r = ms.solve_for(S, "devices", {"facility_energy": "5 kWh"}, given)
    n = r.value.to("").magnitude
    assert n == int(n) and r.margin is not None and r.margin >= 0
    assert ms.symbols.info("devices").integer and ms.symbols.info("batch").integer
    # the joint (least-squares) path answers the same whole number
    j = ms.solve_for(S, "devices", {"facility_energy": "5 kWh"}, given, method="least_squares")
    assert j["devices"].value.to("").magnitude == n
    assert j["devices"].margin == pytest.approx(r.margin, rel=1e-6)


def test_solve_for_refuses_bad_targets_and_given():
    S = serving_system()
    p = ms.predict("llama-3-8b", "h100")
    with pytest.raises(ValueError, match="target time_per_output_token must be a positive"):
        ms.solve_for(S, "batch", {"time_per_output_token": "-9 ms"}, p)
    with pytest.raises(checks.InputError, match="targets must be a dict"):
        ms.solve_for(S, "batch", ["time_per_output_token"], p)
    with pytest.raises(checks.InputError, match="memory_bandwidth"):
        ms.solve_for(S, "batch", {"time_per_output_token": "9 ms"},
                     {**p.inputs(), "memory_bandwidth": float("nan")})


# ------------------------------------------------------------------ 7. public names stay
@pytest.mark.parametrize("code", [
    "import mlsysim_sym as ms; ms.train",
    "import mlsysim_sym.training_scenarios",
    "import mlsysim_sym.iron_law",
    "import mlsysim_sym as ms; ms.iron_law; import mlsysim_sym.training_scenarios",
    "from mlsysim_sym.iron_law import IronLaw",
    "import mlsysim_sym.analysis.iron_law; from mlsysim_sym.analysis.iron_law import iron_law",
])
def test_public_names_stay_callable_whatever_was_imported(code):
    check = ("import mlsysim_sym as ms; assert callable(ms.iron_law), ms.iron_law; "
             "assert callable(ms.train) and callable(ms.predict); "
             "from mlsysim_sym import iron_law; assert callable(iron_law); "
             # the Iron Law's module loads on demand (it needs sympy); loading it shadows
             # nothing
             "import importlib; "
             "assert importlib.import_module('mlsysim_sym.analysis.iron_law').IronLaw; "
             "assert callable(ms.iron_law) and callable(ms.train)")
    subprocess.run([sys.executable, "-c", f"{code}\n{check}"], check=True, timeout=120)


def test_iron_law_is_callable_after_train_in_process():
    ms.train("llama-3-8b", "h100", devices=8, tp=2, micro_batch=1, global_batch=8)
    assert callable(ms.iron_law)


# ------------------------------------------------------------------ 8. schema and evaluate
def test_results_export_a_json_schema():
    import pydantic
    from mlsysim_sym.calibration.validate import ValidationReport, ValidationRow
    from mlsysim_sym.tasks.fleet import FleetResult, ServeResult
    for cls in (ValidationRow, ValidationReport, ServeResult, FleetResult):
        json.dumps(pydantic.TypeAdapter(cls).json_schema())   # raised PydanticInvalidForJsonSchema
    for r in (ms.predict("llama-3-8b", "h100"),
              ms.train("llama-3-8b", "h100", devices=8, tp=2, micro_batch=1, global_batch=8),
              ms.predict("resnet-50", "h100")):
        schema = type(r).json_schema()
        json.dumps(schema)
        d = r.to_dict()
        assert set(schema["required"]) <= set(d)
        for key, value in d.items():
            spec = schema["properties"].get(key, schema["additionalProperties"])
            if spec.get("required") == ["value", "unit"]:
                assert isinstance(value, dict) and set(value) == {"value", "unit"}, key
            elif "anyOf" in spec:
                kinds = {k["type"] for k in spec["anyOf"]}
                assert ("string" in kinds and isinstance(value, str)) or (
                    "boolean" in kinds and isinstance(value, bool)) or isinstance(value, list), key


def test_system_evaluate_takes_what_the_readme_shows():
    S = ms.System.from_walls(ms.walls.compute, ms.walls.memory, ms.walls.serving)
    p = ms.predict("llama-3-8b", "h100")
    same = S.evaluate(["ttft"], p)["ttft"].to("ms").magnitude
    assert same == pytest.approx(p.ttft.to("ms").magnitude, rel=1e-12)
    d = S.evaluate("ttft", {**p.inputs(), "batch": 8})["ttft"]
    k = S.evaluate(["ttft"], p, batch=8, memory_bandwidth="4.8 TB/s")
    assert d.to("ms").magnitude > same and "binding" in k
    with pytest.raises(checks.InputError, match="outputs must be"):
        S.evaluate(..., p)
    with pytest.raises(checks.InputError, match="inputs must be a dict"):
        S.evaluate(["ttft"], ...)
    with pytest.raises(checks.InputError, match="not symbols: bogus"):
        S.evaluate(["ttft"], p, bogus=1)
    # a declared symbol of another wall is ignored, with a note naming it (issue 18 item 7)
    noted = S.evaluate(["ttft"], p, carbon_intensity="400 gCO2e/kWh")
    assert noted["ttft"] == S.evaluate(["ttft"], p)["ttft"]
    assert "carbon_intensity" in noted["notes"][0] and "ignored" in noted["notes"][0]


# ------------------------------------------------------------------ the checks themselves
def _calls(call) -> int:
    """How many Python and C functions ``call()`` calls (sys.setprofile)."""
    n = 0

    def count(frame, event, arg):
        nonlocal n
        n += event in ("call", "c_call")
    sys.setprofile(count)
    try:
        call()
    finally:
        sys.setprofile(None)
    return n


def test_checks_are_vectorised_and_name_the_argument():
    # vectorised: the calls the check makes do not grow with the array (no loop over values)
    small, arr = np.arange(1.0, 1_001.0), np.arange(1.0, 1_000_001.0)
    assert checks.count("batch", small, 1, 1e6).shape == small.shape   # first call: warm
    assert _calls(lambda: checks.count("batch", arr, 1, 1e6)) == \
        _calls(lambda: checks.count("batch", small, 1, 1e6))
    assert checks.count("batch", arr, 1, 1e6).shape == arr.shape
    with pytest.raises(checks.InputError, match=r"batch must hold whole numbers.*2 value"):
        checks.count("batch", np.array([1, 2.5, np.nan]), 1, 10)
    with pytest.raises(checks.InputError, match="x must be"):
        checks.number("x", [[1, 2], [3]])
    with pytest.raises(checks.InputError, match="x is an empty array"):
        checks.number("x", [])
    with pytest.raises(checks.InputError, match="x must be"):
        checks.number("x", {"a": 1})
    assert checks.quantity("t", "2 ms", "ms") == pytest.approx(2e-3)
    assert checks.symbol_value("fixed_overhead", 0) == 0.0   # zero overhead is physical
