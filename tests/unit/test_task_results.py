"""The fleet, planning, scaling-law, compression and footprint tasks (mlsysim_sym.tasks): their
results share the task layer's Result base (to_dict, headline, cite), their single-value inputs
are refused as arrays with the messages the checks give, and the old import paths still work."""

from __future__ import annotations

import importlib
import json
import re

import numpy as np
import pytest

import mlsysim_sym as ms
from mlsysim_sym import checks
from mlsysim_sym.tasks._core.result import Result, format_value

LOAD = dict(qps=2, input_tokens=256, output_tokens=64)


@pytest.fixture(scope="module")
def results():
    return {
        "serve": ms.serve("llama-3-8b", "h100", datacenter="quebec", **LOAD),
        "size_fleet": ms.size_fleet("llama-3-8b", "h100", qps=20, input_tokens=512,
                                    output_tokens=128),
        "best_parallelism": ms.best_parallelism("llama-3-8b", "h100", devices=8, global_batch=16,
                                                zero_stages=(0,), recompute=("none",)),
        "compute_optimal": ms.compute_optimal("1e24 FLOP"),
        "compress": ms.compress("llama-3-70b", bits=4),
        "fleet_footprint": ms.fleet_footprint("h100", 64, days=30, datacenter="quebec"),
    }


@pytest.mark.parametrize("task", ["serve", "size_fleet", "best_parallelism", "compute_optimal",
                                  "compress", "fleet_footprint"])
def test_each_result_is_a_result_with_a_json_dict_and_a_headline(results, task):
    r = results[task]
    assert isinstance(r, Result)
    d = r.to_dict()
    json.dumps(d)
    shown = [k for k in r.HEADLINE if k in d and d[k] is not None]
    assert shown, f"{task}: HEADLINE names no key of to_dict"
    line = r.headline()
    assert line.startswith(r.title() + ": ")
    for k in shown:
        assert f"{k.replace('_', ' ')} {format_value(d[k])}" in line


def test_reprs_stay_the_result_own_text(results):
    starts = {"serve": "ServeResult(llama-3-8b on 1 x 1 nvidia-h100-sxm, batch ",
              "best_parallelism": "Plan(best of ",
              "compute_optimal": "ComputeOptimal(fit=ScalingFit(",
              "compress": "CompressionResult(llama-3-70b: 4-bit, 4.25 bit/param",
              "fleet_footprint": "FleetFootprint(64 x nvidia-h100-sxm for 30 days"}
    for task, start in starts.items():
        assert repr(results[task]).startswith(start), task
    assert re.match(r"FleetResult\(\d+ x nvidia-h100-sxm = \d+ replicas x TP\d",
                    repr(results["size_fleet"]))


def test_compute_optimal_to_dict_holds_its_quantities():
    r = ms.compute_optimal("1e24 FLOP")
    d = r.to_dict()
    assert d["fit"] == "besiroglu2024" and d["source"].startswith(r.fit.cite)
    assert d["parameters"] == {"value": r.parameters.magnitude, "unit": "param"}
    assert d["compute_budget"]["value"] == pytest.approx(1e24)
    assert d["loss"]["value"] == pytest.approx(float(r.loss.magnitude))
    assert ms.compute_optimal("1e24 FLOP", fit="tokens-per-parameter-20").to_dict()["loss"] is None


@pytest.mark.parametrize("task,key", [("serve", "little1961"), ("size_fleet", "kingman1961"),
                                      ("compute_optimal", "hoffmann2022chinchilla"),
                                      ("compress", "lin2024awq"),
                                      ("fleet_footprint", "greengrid2012pue")])
def test_results_cite_the_walls_they_evaluated(results, task, key):
    assert re.search(r"@\w+\{" + key + ",", results[task].cite())


def test_an_infeasible_fleet_says_why_in_its_headline():
    f = ms.size_fleet("llama-3-70b", "h100", qps=10, input_tokens=1024, output_tokens=256,
                      slo={"ttft": "1 ms", "tpot": "50 ms"})
    assert f.headline() == f"no fleet meets the SLO: {f.message}"
    assert "TTFT SLO below the prefill time" in f.headline()


def test_checks_one_passes_a_number_and_refuses_an_array():
    assert checks.one(checks.count("replicas", 3, 1, 10), "one please") == 3.0
    with pytest.raises(checks.InputError, match="^one please$"):
        checks.one(checks.count("replicas", [3, 4], 1, 10), "one please")


@pytest.mark.parametrize("kwargs,match", [
    ({"qps": [1, 2]}, r"qps must be one positive rate here, such as '20 request/s'"),
    ({"output_tokens": [1, 2]}, r"output_tokens must be a single whole number here"),
    ({"percentile": [0.5, 0.9]}, r"percentile must be one number in \(0, 1\), such as 0.99"),
    ({"replicas": [1, 2]}, r"replicas must be one whole number between 1 and 1e\+07 here"),
    ({"cloud_price": [1, 2]}, r"cloud_price must be one value here, such as '1 USD/h'"),
    ({"memory_reserve": 1.5}, r"memory_reserve must be in \(0, 1\]"),
    ({"memory_reserve": [0.5, 0.6]}, r"memory_reserve must be one fraction in \(0, 1\] here"),
])
def test_serve_refuses_a_bad_or_array_value_by_name(kwargs, match):
    with pytest.raises(checks.InputError, match=match):
        ms.serve("llama-3-8b", "h100", **{**LOAD, **kwargs})


@pytest.mark.parametrize("kwargs,match", [
    ({"budget": [1, 2]}, r"budget must be one value here, such as '1 USD'"),
    ({"slo": {"ttft": [1, 2]}}, r"slo ttft must be one value here, such as '1 ms'"),
    ({"max_batch": [1, 2]}, r"max_batch must be one whole number between 1 and 1e\+06 here"),
    ({"datacenter": []}, r"datacenter is an empty list"),
])
def test_size_fleet_refuses_a_bad_or_array_value_by_name(kwargs, match):
    with pytest.raises(checks.InputError, match=match):
        ms.size_fleet("llama-3-8b", "h100", **{**LOAD, **kwargs})


@pytest.mark.parametrize("old,new", [("fleet", "tasks.fleet"), ("planning", "tasks.planning"),
                                     ("scaling_laws", "tasks.scaling_laws"),
                                     ("compression", "tasks.compression"),
                                     ("footprint", "tasks.footprint")])
def test_old_import_paths_re_export_the_same_objects(old, new):
    a = importlib.import_module(f"mlsysim_sym.{old}")
    b = importlib.import_module(f"mlsysim_sym.{new}")
    assert a.__all__ and a.__doc__.startswith("Deprecated import path")
    for name in a.__all__:
        assert getattr(a, name) is getattr(b, name), name
    assert not any(n.startswith("_") and not n.startswith("__") for n in vars(a)
                   if n not in ("annotations",))


def test_public_api_points_at_the_tasks_package():
    assert ms.serve.__module__ == "mlsysim_sym.tasks.fleet.service"
    assert ms.size_fleet.__module__ == "mlsysim_sym.tasks.fleet.size"
    assert ms.best_parallelism.__module__ == "mlsysim_sym.tasks.planning"
    assert ms.compute_optimal.__module__ == "mlsysim_sym.tasks.scaling_laws"
    assert ms.fleet_footprint.__module__ == "mlsysim_sym.tasks.footprint"


def test_the_load_kernel_evaluates_arrays_of_replicas_once():
    from mlsysim_sym import registry
    from mlsysim_sym.tasks.fleet import evaluate_load, load_inputs
    m, hw = registry.model("llama-3-8b"), registry.hardware("h100")
    reps = np.array([1.0, 2.0, 4.0])
    ev = evaluate_load(load_inputs(m, hw, "fp16", tp=1.0, replicas=reps, lam=50.0, n_in=512,
                                   n_out=128))
    rho = np.asarray(ev.value("server_utilization"))
    assert rho.shape == (3,)
    for i, n in enumerate(reps):      # one replica count at a time gives the same numbers
        one = evaluate_load(load_inputs(m, hw, "fp16", tp=1.0, replicas=float(n), lam=50.0,
                                        n_in=512, n_out=128))
        assert float(one.value("server_utilization")) == pytest.approx(rho[i], rel=1e-12)
    assert rho[0] > rho[1] > rho[2]   # more replicas, each less busy
