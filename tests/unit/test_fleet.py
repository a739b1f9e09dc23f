"""serve() and size_fleet(): continuous batching at a request rate (one serving system), exact
integer fleet sizing, bad input."""

import numpy as np
import pytest

import mlsysim_sym as ms
from mlsysim_sym.tasks.fleet import serve, size_fleet

KW = dict(qps=20, input_tokens=512, output_tokens=128, slo={"ttft": "400 ms", "tpot": "40 ms"})
# explicit efficiencies: sizing checks that do not move when the defaults are calibrated
EFF = {"compute": 0.64, "memory": 0.8, "fixed_overhead": "0 ms", "communication": 1.0}


def test_serve_reports_latency_capacity_and_binding():
    r = serve("llama-3-8b", "h100", qps=5, input_tokens=512, output_tokens=256, batch=32)
    assert r.feasible and r.batch == 32 and r.devices == 1
    # TTFT percentile = waiting percentile + the prompt's prefill (its steps also carry the
    # running batch) >= the prefill-only TTFT of predict()
    p = ms.predict("llama-3-8b", "h100", batch=1, seq_len=512, phase="prefill")
    assert r.ttft.to("ms").magnitude >= p.ttft.to("ms").magnitude * (1 - 1e-12)
    # M/M/c with one server per KV slot, each held for n_out steps: rho = B* / slots
    assert r.utilization == pytest.approx(r.running_batch / 32, rel=1e-9)
    assert r.capacity >= ms.Q_(5, "request/s")


def test_serve_overload_is_flagged_not_nan():
    r = serve("llama-3-8b", "h100", qps=1e5, input_tokens=512, output_tokens=256, batch=8)
    assert not r.feasible and r.bottleneck == "Tail latency"
    assert np.isinf(r.ttft.magnitude)


def _brute_force(model, hw, tps, max_batch, slo_ttft, slo_tpot, eff=None, **load):
    """Least devices by exhaustive linear search over replicas for every tp (serve())."""
    best = None
    for tp in tps:
        for reps in range(1, 400):
            r = serve(model, hw, replicas=reps, tp=tp, batch=max_batch, efficiency=eff, **load)
            if r.feasible and r.ttft <= ms.Q_(slo_ttft, "s") and \
                    r.time_per_output_token <= ms.Q_(slo_tpot, "s"):
                if best is None or reps * tp < best:
                    best = reps * tp
                break
    return best


def test_fleet_sizing_is_exact_against_brute_force():
    # V100 32GB: an NVLink chip, so tp = 2 replicas are searched and pay wall 4's all-reduces
    f = size_fleet("llama-3-8b", "v100-32gb", tp=(1, 2), max_batch=48, efficiency=EFF, **KW)
    assert f.feasible
    brute = _brute_force("llama-3-8b", "v100-32gb", (1, 2), 48, 0.4, 0.04, EFF, qps=20,
                         input_tokens=512, output_tokens=128)
    assert f.devices == brute


def test_tensor_parallel_replicas_need_a_scale_up_link():
    # the L4 has no scale-up link in the registry: tp > 1 is refused, the default search is tp = 1
    with pytest.raises(ValueError, match="scale-up link"):
        size_fleet("llama-3-8b", "l4", tp=(1, 2), max_batch=48, **KW)
    f = size_fleet("llama-3-8b", "l4", max_batch=64, precision="fp8", efficiency=EFF, **KW)
    assert f.feasible and f.tp == 1


def test_one_device_fewer_violates_a_constraint():
    f = size_fleet("llama-3-8b", "l4", tp=(1,), max_batch=64, precision="fp8", efficiency=EFF,
                   **KW)
    assert f.feasible and f.tp == 1 and f.replicas >= 2
    fewer = serve("llama-3-8b", "l4", qps=20, input_tokens=512, output_tokens=128,
                  replicas=f.replicas - 1, batch=f.batch, precision="fp8", efficiency=EFF)
    violates = (not fewer.feasible) or fewer.ttft > ms.Q_(400, "ms") or \
        fewer.time_per_output_token > ms.Q_(40, "ms")
    assert violates
    same = serve("llama-3-8b", "l4", qps=20, input_tokens=512, output_tokens=128,
                 replicas=f.replicas, batch=f.batch, precision="fp8", efficiency=EFF)
    assert same.feasible and same.ttft <= ms.Q_(400, "ms") + ms.Q_(1e-9, "ms")


def test_several_candidates_and_regions_pick_the_least_devices():
    f = size_fleet("llama-3-70b", ["h100", "mi300x", "h200"], qps=50, input_tokens=1024,
                   output_tokens=256, precision="fp8", datacenter=["quebec", "poland"])
    assert f.feasible and f.devices == min(c["devices"] for c in f.candidates if c["feasible"])
    assert f.carbon is not None and f.datacenter == "quebec"


def test_unreachable_slo_is_infeasible_with_reasons():
    f = size_fleet("llama-3-70b", "h100", qps=10, input_tokens=1024, output_tokens=256,
                   slo={"ttft": "1 ms", "tpot": "50 ms"})
    assert not f.feasible and "h100" in f.message


def test_budget_without_price_is_reported():
    f = size_fleet("llama-3-8b", "h100", budget="1e6 USD", **KW)
    assert not f.feasible and "price" in f.message


@pytest.mark.parametrize("kwargs,match", [
    ({"qps": -1}, "qps"), ({"qps": "5 GB/s"}, "GB"), ({"input_tokens": 0}, "input_tokens"),
    ({"slo": {"p99": "1 ms"}}, "SLO"), ({"percentile": 1.5}, "percentile"),
    ({"precision": "fp7"}, "precision"), ({"objective": "speed"}, "objective"),
])
def test_bad_input(kwargs, match):
    args = dict(KW)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        size_fleet("llama-3-8b", "h100", **args)


def test_an_infeasible_serve_says_why_in_its_headline_and_dict():
    """Both ways a fleet fails: no sequence fits (Llama 4 Maverick's ~800 GB of bf16 weights
    on 8 x 80 GB), and a request rate above what one replica saturates at."""
    mem = ms.serve("llama-4-maverick", "h100", tp=8, qps=5, input_tokens=128, output_tokens=2048)
    assert mem.feasible is False and mem.bottleneck == "Memory"
    assert mem.to_dict()["reason"].startswith("memory:")
    assert "infeasible: memory:" in mem.headline() and "GB" in mem.headline()
    hot = ms.serve("llama-3-8b", "h100", qps=500, input_tokens=1024, output_tokens=512)
    assert hot.feasible is False and hot.bottleneck == "Tail latency"
    assert "saturation rate" in hot.to_dict()["reason"] and "replicas" in hot.headline()
    ok = ms.serve("llama-3-8b", "h100", qps=1, input_tokens=1024, output_tokens=512)
    assert ok.feasible and "reason" not in ok.to_dict()
