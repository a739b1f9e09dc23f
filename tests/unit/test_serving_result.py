"""Prediction's public reading surface (issue 14): value(), quantity(), base_inputs(),
latency_branches(), and the serving kernel's arguments built by name."""

import numpy as np
import pytest

import mlsysim_sym as ms
from mlsysim_sym.tasks._core.inputs import SERVING_INPUTS, args
from mlsysim_sym.tasks._core.result import Result
from mlsysim_sym.tasks.serving import OUTPUTS, Prediction, moe_kernel, serving_kernel
from mlsysim_sym.tasks.serving.system import MOE_INPUTS

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
