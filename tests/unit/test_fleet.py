"""serve() and size_fleet(): the M/M/c replica model, exact integer fleet sizing, bad input."""

import numpy as np
import pytest

import mlsysim_sym as ms
from mlsysim_sym.fleet import _queue, _replica_grid, serve, size_fleet

KW = dict(qps=20, input_tokens=512, output_tokens=128, slo={"ttft": "400 ms", "tpot": "40 ms"})
# explicit efficiencies: sizing checks that do not move when the defaults are calibrated
EFF = {"compute": 0.64, "memory": 0.8, "fixed_overhead": "0 ms", "communication": 1.0}


def test_serve_reports_latency_capacity_and_binding():
    r = serve("llama-3-8b", "h100", qps=5, input_tokens=512, output_tokens=256, batch=32)
    assert r.feasible and r.batch == 32 and r.devices == 1
    # TTFT percentile = waiting percentile + prefill >= prefill-only TTFT of predict()
    p = ms.predict("llama-3-8b", "h100", batch=1, seq_len=512, phase="prefill")
    assert r.ttft.to("ms").magnitude >= p.ttft.to("ms").magnitude * (1 - 1e-12)
    # capacity = slots / service time; at 5 req/s the utilisation is 5 / capacity
    assert r.utilization == pytest.approx((5 / r.capacity.to("request/s").magnitude), rel=1e-9)


def test_serve_overload_is_flagged_not_nan():
    r = serve("llama-3-8b", "h100", qps=1e5, input_tokens=512, output_tokens=256, batch=8)
    assert not r.feasible and r.bottleneck == "Tail latency"
    assert np.isinf(r.ttft.magnitude)


def _brute_force(model, hw, tps, max_batch, lam, n_in, n_out, slo_ttft, slo_tpot, p, eff=None):
    """Least devices by exhaustive linear search over replicas for every (tp, batch)."""
    m, h = ms.registry.model(model), ms.registry.hardware(hw)
    batches = np.arange(1, max_batch + 1, dtype=float)
    decode, _, prefill, util = _replica_grid(m, h, "fp16", tps, batches, n_in, n_out, eff)
    best = None
    for i, tp in enumerate(tps):
        for j, b in enumerate(batches):
            if util[i, j] > 1 or decode[i, j] > slo_tpot or prefill[i, j] > slo_ttft:
                continue
            service = prefill[i, j] + n_out * decode[i, j]
            for reps in range(1, 200):
                w, rho, _ = _queue(lam / reps, service, b, p)
                if rho < 1 and w + prefill[i, j] <= slo_ttft:
                    if best is None or reps * tp < best:
                        best = reps * tp
                    break
    return best


def test_fleet_sizing_is_exact_against_brute_force():
    # V100 32GB: an NVLink chip, so tp = 2 replicas are searched and pay wall 4's all-reduces
    f = size_fleet("llama-3-8b", "v100-32gb", tp=(1, 2), max_batch=48, efficiency=EFF, **KW)
    assert f.feasible
    brute = _brute_force("llama-3-8b", "v100-32gb", (1, 2), 48, 20.0, 512, 128, 0.4, 0.04, 0.99,
                         EFF)
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
