"""Prediction's public reading surface (issue 14): value(), quantity(), base_inputs(),
latency_branches(), and the serving kernel's arguments built by name."""

import numpy as np
import pytest

import mlsysim_sym as ms
from mlsysim_sym.tasks._core.inputs import SERVING_INPUTS, args
from mlsysim_sym.tasks._core.result import Result
from mlsysim_sym.tasks.serving import OUTPUTS, Prediction, moe_kernel, serving_kernel
from mlsysim_sym.tasks.serving.system import MOE_INPUTS
from mlsysim_sym.vocabulary import BOTTLENECKS

CASES = [("llama-3-8b", {}), ("llama-3-8b", {"phase": "prefill", "batch": 4}),
         ("llama-3-70b", {"tp": 4, "precision": "fp8", "batch": 16}),
         ("mixtral-8x7b", {}), ("mixtral-8x7b", {"phase": "prefill", "batch": 8}),
         ("deepseek-v3", {"tp": 8, "precision": "fp8"})]


@pytest.mark.parametrize("model,kw", CASES)
def test_value_is_the_base_magnitude_of_the_quantity(model, kw):
    r = ms.predict(model, "h100", **kw)
    for name in OUTPUTS:
        q = r.quantity(name)
        assert r.value(name) == pytest.approx(q.to_base_units().magnitude, rel=1e-12, abs=0.0)
    # the properties read the same quantities
    assert r.value("time_per_output_token") == pytest.approx(
        r.time_per_output_token.to("s").magnitude, rel=1e-12)
    # bytes are held in bits, the base unit of information
    assert r.value("kv_cache_bytes") == pytest.approx(r.kv_cache.to("bit").magnitude, rel=1e-12)


def test_value_of_a_sweep_is_an_array_per_point():
    batch = np.array([1.0, 8.0, 64.0])
    r = ms.predict("mixtral-8x7b", "h100", batch=batch)
    for name in ("time_per_output_token", "prefill_throughput", "memory_footprint"):
        v = r.value(name)
        assert isinstance(v, np.ndarray) and v.shape == (3,)
        np.testing.assert_allclose(v, r.quantity(name).to_base_units().magnitude, rtol=1e-12)
        for i, b in enumerate(batch):
            one = ms.predict("mixtral-8x7b", "h100", batch=int(b))
            assert v[i] == pytest.approx(one.value(name), rel=1e-12)


def test_moe_value_reads_the_moe_record_outputs():
    r = ms.predict("mixtral-8x7b", "h100")
    # Mixtral 8x7B: 46.7e9 total, 12.9e9 active parameters (Mistral AI model card)
    assert r.value("parameters") == pytest.approx(46.7e9, rel=0.01)
    assert r.value("active_parameters") == pytest.approx(12.9e9, rel=0.01)
    assert r.value("moe_decode_experts_touched") == pytest.approx(2.0)


def test_value_of_an_unknown_name_names_the_outputs_and_inputs():
    r = ms.predict("llama-3-8b", "h100")
    with pytest.raises(ValueError, match="not an output or input of this prediction.*ttft.*"
                                         "inputs: parameters"):
        r.value("latency_p99")
    with pytest.raises(ValueError, match="not an output of this prediction"):
        r.quantity("batch")   # quantity() is for outputs; inputs() gives the inputs


def test_value_of_an_input_is_its_base_magnitude():
    r = ms.predict("llama-3-8b", "h100", batch=8, seq_len=4096)
    assert r.value("batch") == 8.0 and r.value("context_length") == 4096.0
    # a dense model's parameters are an input (the registry's count), an MoE model's an output
    assert r.value("parameters") == pytest.approx(r.parameters.to("param").magnitude)
    moe = ms.predict("mixtral-8x7b", "h100")
    assert moe.value("parameters") == pytest.approx(moe.parameters.to("param").magnitude)


def test_base_inputs_are_every_kernel_input_by_name_and_a_copy():
    r = ms.predict("llama-3-8b", "h100", batch=8)
    inputs = r.base_inputs()
    assert tuple(inputs) == SERVING_INPUTS and inputs["batch"] == 8.0
    inputs["batch"] = 1e6
    assert r.base_inputs()["batch"] == 8.0
    assert tuple(ms.predict("mixtral-8x7b", "h100").base_inputs()) == MOE_INPUTS
    # multi-head latent attention: the latent dimensions in place of kv_heads and head_dim
    mla = ms.predict("deepseek-v3", "h200", tp=8).base_inputs()
    assert tuple(mla) == moe_kernel(True).input_names
    assert "kv_lora_rank" in mla and "kv_heads" not in mla
    # the kernel's arguments built by name give the prediction back
    kernel = serving_kernel()
    raw = kernel.raw(*args(r.base_inputs(), kernel.input_names))
    slot = kernel.output_names.index("time_per_output_token")
    assert raw[slot] == r.value("time_per_output_token")


def test_args_orders_by_name_and_names_what_is_missing():
    assert args({"b": 2.0, "a": 1.0}, ("a", "b")) == (1.0, 2.0)
    assert args({"b": 2.0, "a": 1.0}, ["b"]) == (2.0,)
    assert args({}, ()) == ()
    with pytest.raises(ValueError, match="missing.*batch"):
        args({k: 1.0 for k in SERVING_INPUTS if k != "batch"}, SERVING_INPUTS)


@pytest.mark.parametrize("model,kw", CASES)
def test_latency_branches_bind_where_the_bottleneck_says(model, kw):
    r = ms.predict(model, "h100", **kw)
    kind, branches = r.latency_branches()
    assert kind in ("max", "min") and set(branches) <= {"Compute", "Memory", "Communication",
                                                       "Software"}
    pick = max if kind == "max" else min
    binding = pick(branches, key=branches.get)
    assert binding == r.bottleneck or not r.feasible


def test_prediction_is_a_result_with_a_headline():
    r = ms.predict("llama-3-8b", "h100")
    assert isinstance(r, Prediction) and isinstance(r, Result)
    line = r.headline()
    assert line.startswith("llama-3-8b on nvidia-h100-sxm: latency ")
    assert "throughput" in line and "memory footprint" in line and "memory-bound" in line


# ---- a sweep's outputs from one kernel call; bottlenecks as codes (issue 19) ----------------
GRID = dict(batch=np.array([1, 3, 17, 64, 300, 2048])[:, None],
            seq_len=np.array([128, 2048, 32768])[None, :])


@pytest.mark.parametrize("model,kw", CASES)
def test_prefetched_outputs_equal_the_scalar_predictions(model, kw):
    kw = {k: v for k, v in kw.items() if k != "batch"}
    every = ms.predict(model, "h100", **GRID, **kw)
    every.prefetch()                       # all outputs and branches, one call
    some = ms.predict(model, "h100", **GRID, **kw)
    some.prefetch(("latency", "throughput", "bottleneck"))   # a pruned kernel
    read = (("ttft", "prefill_throughput") if kw.get("phase") == "prefill" else
            ("time_per_output_token", "decode_throughput")) + ("memory_utilization",)
    shape = (6, 3)
    for i, j in [(0, 0), (2, 1), (4, 2), (5, 0), (3, 2)]:
        point = ms.predict(model, "h100", batch=int(GRID["batch"][i, 0]),
                           seq_len=int(GRID["seq_len"][0, j]), **kw)
        for name in OUTPUTS:
            # the scalar path runs the math kernel, arrays numpy's: equal to rounding (1e-12)
            assert np.broadcast_to(every.value(name), shape)[i, j] == pytest.approx(
                point.value(name), rel=1e-12), name
        for name in read:
            assert np.broadcast_to(some.value(name), shape)[i, j] == pytest.approx(
                point.value(name), rel=1e-12), name
        assert np.broadcast_to(some.bottleneck, shape)[i, j] == point.bottleneck
        assert some.bottleneck_code[i, j] == point.bottleneck_code


def test_a_sweeps_bottleneck_is_int8_codes_with_names_on_read():
    r = ms.predict("llama-3-8b", "h100", batch=np.array([1, 64, 4096, 65536]), seq_len=128)
    codes, names = r.bottleneck_code, r.bottleneck
    assert codes.dtype == np.int8 and codes.shape == names.shape == (4,)
    assert names.dtype == object
    assert list(names) == [BOTTLENECKS[c] for c in codes]
    assert names[0] == "Memory" and names[-1] == "Memory" and not r.feasible[-1]
    point = ms.predict("llama-3-8b", "h100", batch=1, seq_len=2048, phase="prefill")
    assert isinstance(point.bottleneck_code, int) and isinstance(point.bottleneck, str)
    assert BOTTLENECKS[point.bottleneck_code] == point.bottleneck == "Compute"


def test_magnitude_is_the_quantitys_magnitude_without_pint():
    r = ms.predict("mixtral-8x7b", "h100", **GRID)
    for name in OUTPUTS:
        np.testing.assert_array_equal(r.magnitude(name), r.quantity(name).magnitude)
    with pytest.raises(ValueError, match="not an output"):
        r.magnitude("nonsense")


def test_binding_codes_pick_as_argmax_and_argmin_do_with_ties_and_nans():
    from mlsysim_sym.tasks._core.result import binding_codes
    rng = np.random.default_rng(7)
    labels = ("Compute", "Memory", "Communication")
    for trial in range(200):
        k = int(rng.integers(1, 4))
        vals = [rng.choice([0.0, 1.0, 2.0, np.nan], size=40) for _ in range(k)]
        feasible = rng.random(40) > 0.2
        for kind, pick in (("max", np.argmax), ("min", np.argmin)):
            want = np.where(feasible, pick(np.stack(vals), axis=0), 1)
            got = binding_codes(kind, dict(zip(labels, vals)), feasible)
            assert got.dtype == np.int8 and np.array_equal(got, want), (trial, kind)
    # one branch, broadcast against a wider feasibility mask
    got = binding_codes("max", {"Compute": np.ones((3, 1))}, np.array([True, False]))
    assert got.shape == (3, 2) and got.tolist() == [[0, 1]] * 3
    with pytest.raises(ValueError, match="not one of"):
        binding_codes("max", {"Safety": np.ones(2)}, True)


def test_many_is_the_whole_kernel_pruned_compiled_or_cached():
    """Kernel.many gives the numpy kernel's own values for the slots asked (same bits), from
    a pruned copy of its source; without a source it indexes the whole kernel."""
    from mlsysim_sym import numeric
    from mlsysim_sym.tasks._core.inputs import with_model
    from mlsysim_sym.tasks.serving.system import SERVING_INPUTS, serving_system
    cached = serving_kernel()
    compiled = serving_system().compile(OUTPUTS, with_model(SERVING_INPUTS, False))
    base = ms.predict("llama-3-8b", "h100").base_inputs()
    arrays = {"batch": np.arange(1.0, 301.0)[:, None],
              "context_length": np.array([256.0, 4096.0, 65536.0])}
    names = ("decode_throughput", "memory_utilization",
             ("branch", "time_per_output_token", "Memory"), "ttft")
    for kernel in (cached, compiled):
        args = [arrays.get(n, base[n]) for n in kernel.input_names]
        whole = kernel.raw(*args)
        some = kernel.many(names, args)
        # the pruned source (rewritten for which inputs are arrays), not a copy
        assert kernel._many[names, numeric._array_positions(args)].__defaults__ is None
        for name, v in zip(names, some):
            np.testing.assert_array_equal(v, whole[kernel._slot_of[name]])
    assert numeric._pruned(None, [0], "none") is None
    assert numeric._pruned({"source": "def f(a):\n    if a:\n        x0 = a\n    return [a]\n",
                            "function": "f", "globals": {}}, [0], "branchy") is None


def test_blocked_evaluation_equals_the_whole_call():
    """Kernel.many slices big arrays along their first axis (numeric.BLOCK points a slice):
    the same values, results that do not vary along that axis kept as they are."""
    from mlsysim_sym import numeric

    def fn(a, b, c):
        return [a * b + c, b * 2.0, c + 1.0, a / b]

    rng = np.random.default_rng(3)
    for rows, cols in ((1001, 37), (64, 1), (5, 4000), (300, 300)):
        a = rng.random((rows, 1)) + 0.5
        b = rng.random((1, cols)) + 0.5
        c = 0.25
        whole, parts = fn(a, b, c), numeric._blocked(fn, [a, b, c], 1000)
        for w, p in zip(whole, parts):
            assert np.shape(w) == np.shape(p)
            np.testing.assert_array_equal(w, p)
    # a big sweep through predict: sliced, and still the scalar predictions' bits
    r = ms.predict("llama-3-8b", "h100", batch=np.arange(1, 2001)[:, None],
                   seq_len=np.arange(1, 65)[None, :] * 512)
    r.prefetch(("time_per_output_token", "bottleneck"), block=numeric.BLOCK)
    assert r.bottleneck_code.shape == (2000, 64) and 2000 * 64 > 2 * numeric.BLOCK
    for i, j in ((0, 0), (1999, 63), (777, 5)):
        p = ms.predict("llama-3-8b", "h100", batch=i + 1, seq_len=(j + 1) * 512)
        assert r.value("time_per_output_token")[i, j] == pytest.approx(
            p.value("time_per_output_token"), rel=1e-12)
        assert r.bottleneck[i, j] == p.bottleneck
