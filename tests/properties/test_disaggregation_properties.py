"""Hypothesis over loads, models and chips: in disaggregated serving each pool's latency falls
(never rises) as the pool grows, TTFT is at least the prefill plus the transfer, the decode
pool's TPOT is never above the co-located step at the same per-replica rate, and the sized
fleet's pools execute every FLOP of the load."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import mlsysim_sym as ms
from mlsysim_sym.tasks.fleet.disaggregated import evaluate_split

MODELS = ("llama-3-8b", "mistral-7b", "qwen2-5-7b", "gemma-2-9b", "llama-3-2-3b")
CHIPS = ("h100", "b200", "nvidia-a100-80gb-sxm")


@settings(max_examples=25, deadline=None)
@given(model=st.sampled_from(MODELS), chip=st.sampled_from(CHIPS),
       qps=st.floats(0.5, 50), n_in=st.integers(16, 6000), n_out=st.integers(1, 1000),
       rp=st.integers(1, 40), rd=st.integers(1, 40))
def test_latencies_fall_as_the_pools_grow(model, chip, qps, n_in, n_out, rp, rd):
    r = ms.serve(model, chip, qps=qps, input_tokens=n_in, output_tokens=n_out,
                 prefill_replicas=rp, decode_replicas=rd)
    v = r.base_inputs()
    grown = evaluate_split({**v, "prefill_replicas": np.array([rp, rp + 1, 2 * rp + 5.0]),
                            "decode_replicas": np.array([rd, rd + 1, 2 * rd + 5.0])})
    ttft = np.asarray(grown.value("disaggregated_ttft"), dtype=float)
    tpot = np.asarray(grown.value("loaded_step_time"), dtype=float)
    stable_p = np.asarray(grown.value("server_utilization")) < 1
    stable_d = np.asarray(grown.value("decode_arrival_rate")) < np.asarray(
        grown.value("saturation_rate"))
    assert np.all(np.diff(stable_p.astype(int)) >= 0) and np.all(np.diff(stable_d.astype(int)) >= 0)
    t, d = ttft[stable_p], tpot[stable_d]
    assert np.all(np.diff(t) <= 1e-12 * t[:-1]) and np.all(np.diff(d) <= 1e-12 * d[:-1])
    floor = r.prefill_time.to("s").magnitude + r.kv_transfer_time.to("s").magnitude
    assert np.all(t >= floor * (1 - 1e-12))
    # the same per-replica rate on co-located replicas: their steps also carry the prompts
    colocated = ms.serve(model, chip, qps=qps, input_tokens=n_in, output_tokens=n_out,
                         replicas=rd)
    if np.isfinite(colocated.time_per_output_token.magnitude):
        assert r.time_per_output_token.to("ms").magnitude <= \
            colocated.time_per_output_token.to("ms").magnitude * (1 + 1e-12)


@settings(max_examples=10, deadline=None)
@given(model=st.sampled_from(MODELS[:3]), chip=st.sampled_from(CHIPS[:2]),
       qps=st.floats(1, 200), n_in=st.integers(128, 4096), n_out=st.integers(16, 512))
def test_sized_pools_execute_the_load(model, chip, qps, n_in, n_out):
    r = ms.size_fleet(model, chip, qps=qps, input_tokens=n_in, output_tokens=n_out,
                      slo={"ttft": "3 s", "tpot": "100 ms"}, disaggregated=True)
    if not r.feasible:
        return
    v = r.base_inputs()
    load = float(evaluate_split(v).value("achieved_flop_rate"))
    assert r.devices * v["peak_flops"] * v["compute_efficiency"] >= load
    assert r.ttft.to("s").magnitude <= 3 and r.time_per_output_token.to("s").magnitude <= 0.1
