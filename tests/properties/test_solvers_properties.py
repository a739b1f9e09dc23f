"""Inverse and sensitivity round trips over the serving system (hypothesis over symbol bounds).

forward(solve_for(target)) reproduces the target; solve_for(forward(x)) reproduces x where the
unknown is identifiable; derivatives equal central finite differences away from kinks.
"""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from mlsysim_sym.equations import walls
from mlsysim_sym.solvers.inverse import solve_for
from mlsysim_sym.solvers.sensitivity import sensitivity
from mlsysim_sym.system import System

SYSTEM = System.from_walls(walls.compute, walls.memory, walls.serving)
BASE = dict(parameters=8.03e9, active_parameters=8.03e9, layers=32, heads=32, kv_heads=8,
            head_dim=128, hidden=4096, ffn_width=28672, bytes_per_parameter=2,
            embedding_parameters=0, embedding_row_width=0, dequantized_share=0,
            head_parameters=0, vocab_bytes_per_parameter=2, head_peak_share=0.5,
            kv_bytes_per_element=2, activation_bytes_per_element=2, peak_flops=989.4,
            memory_bandwidth=3350, memory_capacity=80, matmul_ceiling=0.801, compute_efficiency=0.6,
            memory_efficiency=0.8, fixed_overhead=0.0, batch=8, prompt_length=2048,
            context_length=2048,
            # one device: wall 4's tensor-parallel all-reduces are exactly zero
            tensor_parallel=1, scale_up_bandwidth=450, scale_up_latency=5, scale_up_peer_access=0,
            allreduce_fixed_time=0,
            communication_efficiency=1.0,
            # the shorter roof is 30% exposed (Max + 0.3 Min): round trips cover the new term
            unoverlapped_fraction=0.3,
            # a pure decode step (no prompt chunk) within vLLM's token budget
            prefill_chunk_tokens=0, max_batched_tokens=8192, prefix_cache_hit_rate=0.0,
            attention_data_parallel=1.0)
UNKNOWNS = ["memory_bandwidth", "peak_flops", "batch", "context_length", "parameters",
            "memory_efficiency", "compute_efficiency"]
OUTPUTS = ["time_per_output_token", "ttft", "memory_footprint", "kv_cache_bytes"]

point = st.fixed_dictionaries({
    "batch": st.integers(1, 2048), "context_length": st.integers(16, 65536),
    "memory_bandwidth": st.floats(100, 10000), "peak_flops": st.floats(10, 5000),
    "parameters": st.floats(1e8, 4e11),
})


def forward(output, values):
    return SYSTEM.evaluate([output], **values)[output]


@settings(max_examples=60, deadline=None)
@given(point, st.sampled_from(UNKNOWNS), st.sampled_from(OUTPUTS))
def test_solve_for_forward_round_trip(p, unknown, output):
    values = {**BASE, **p, "active_parameters": p["parameters"], "prompt_length": p["context_length"]}
    k = SYSTEM.compile([output])
    assume(unknown in k.input_names)
    y = forward(output, {n: values[n] for n in k.input_names})
    given_ = {n: values[n] for n in k.input_names if n != unknown}
    r = solve_for(SYSTEM, unknown, {output: y}, given_)
    if r.feasible:
        back = forward(output, {**given_, unknown: r.value})
        assert back.to(y.units).magnitude == pytest.approx(y.magnitude, rel=1e-7)
        if r.identifiable:
            # the solved input reproduces the original where the output is strictly monotone in it
            sens = sensitivity(SYSTEM, output, wrt=[unknown], at={n: values[n] for n in k.input_names})
            if abs(sens[unknown]) > 1e-6 and not sens.one_sided:
                x0 = values[unknown]
                assert r.value.to(SYSTEM_unit(unknown)).magnitude == pytest.approx(x0, rel=1e-5)
    else:
        # our own forward value must always be reachable unless the unknown does not matter
        assert not r.identifiable


def SYSTEM_unit(name):
    from mlsysim_sym.symbols import info
    return info(name).unit


@settings(max_examples=40, deadline=None)
@given(point, st.sampled_from(OUTPUTS))
def test_derivatives_match_central_differences(p, output):
    values = {**BASE, **p, "active_parameters": p["parameters"], "prompt_length": p["context_length"]}
    k = SYSTEM.compile([output])
    at = {n: values[n] for n in k.input_names}
    sens = sensitivity(SYSTEM, output, at=at)
    y0 = forward(output, at).magnitude
    for name, e in sens.items():
        if name in sens.one_sided:
            continue
        if SYSTEM_unit(name) == "dimensionless" and at[name] >= 1.0 and name.endswith("efficiency"):
            continue  # a fraction at its physical bound 1: no central difference (1 + h is refused)
        h = 1e-5
        up = forward(output, {**at, name: at[name] * (1 + h)}).to(sens.value.units).magnitude
        dn = forward(output, {**at, name: at[name] * (1 - h)}).to(sens.value.units).magnitude
        fd = (up - dn) / (2 * h) / y0 if y0 else 0.0
        # skip points within h of a kink (the two sides differ there)
        if (up - y0) * (y0 - dn) < 0 or not math.isclose(up - y0, y0 - dn, rel_tol=1e-2, abs_tol=1e-14 * abs(y0)):
            continue
        assert e == pytest.approx(fd, rel=1e-4, abs=1e-7)


@pytest.mark.parametrize("phi", [0.0, 0.3])
def test_unreachable_target_is_infeasible_with_best_value(phi):
    at = {n: {**BASE, "unoverlapped_fraction": phi}[n]
          for n in SYSTEM.compile(["time_per_output_token"]).input_names if n != "peak_flops"}
    r = solve_for(SYSTEM, "peak_flops", {"time_per_output_token": "1 ms"}, at)
    # batch 8 decode is memory-bound: no peak FLOP/s makes it faster than the weight-read time
    assert not r.feasible
    assert r.best_reachable.to("ms").magnitude > 1
    assert "Memory" in str(r.binding)
    if phi == 0:  # classic roofline: above the ridge the compute roof drops out entirely
        assert not r.identifiable and "no longer matters" in r.message


def test_closed_form_bandwidth_for_a_tpot_target():
    at = {n: BASE[n] for n in SYSTEM.compile(["time_per_output_token"]).input_names
          if n != "memory_bandwidth"}
    r = solve_for(SYSTEM, "memory_bandwidth", {"time_per_output_token": "20 ms"}, at)
    assert r.method == "closed-form" and r.converged and r.residual < 1e-12
    # bytes = 16.06e9 + 8 x 268,435,456 + 8 tokens' memory-bound kernels (wall 4, FFN width
    # from BASE) = 18.207483648e9 B + 8 K
    # FLOPs = 8 x (2 x 8.03e9 + 2 x 2 x 32 layers x 4096 x 2048) = 137.069934592e9, of which
    # the weight GEMMs 8 x 2 x 8.03e9 = 128.48e9 run at the matmul ceiling (0.801, the H100
    # SXM's in Bekman's MAMF table) and the attention 8.589934592e9 at the peak:
    # compute time c = 128.48e9 / (989.4e12 x 0.6 x 0.801) + 8.59e9 / (989.4e12 x 0.6)
    # = 284.66 us, exposed 0.3 c
    # T = bytes / (BW x 0.8) + 0.3 c  ->  BW = bytes / (0.8 x (20 ms - 0.3 c))
    c = 128.48e9 / (989.4e12 * 0.6 * 0.801) + 8.589934592e9 / (989.4e12 * 0.6)
    kernels = 8 * 32 * 2 * (10 * 4096 + 1.5 * BASE["ffn_width"])
    assert r.value.to("B/s").magnitude == pytest.approx(
        (18.207483648e9 + kernels) / (0.8 * (0.020 - 0.3 * c)))
    assert r.binding == {"time_per_output_token": "Memory"}


@pytest.mark.parametrize("phi", [0.0, 0.3])
def test_sensitivity_names_memory_bandwidth_for_decode(phi):
    at = {n: {**BASE, "unoverlapped_fraction": phi}[n]
          for n in SYSTEM.compile(["time_per_output_token"]).input_names}
    s = sensitivity(SYSTEM, "time_per_output_token", at=at)
    # T = m + phi c (no overhead): the elasticities are -m/T and -phi c/T and sum to -1
    assert s["memory_bandwidth"] + s["peak_flops"] == pytest.approx(-1.0)
    if phi == 0:
        assert s["memory_bandwidth"] == pytest.approx(-1.0)
        assert s["peak_flops"] == 0.0
    else:
        assert -1.0 < s["memory_bandwidth"] < -0.9 and -0.1 < s["peak_flops"] < 0.0
    assert s.dominant in ("memory_bandwidth", "memory_efficiency", "parameters", "bytes_per_parameter")


def test_sensitivity_one_sided_at_the_kink():
    S = System.from_walls(walls.compute, walls.memory)
    at = dict(flops=1e12, peak_flops=100, compute_efficiency=0.5, bytes_moved=20e9,
              memory_bandwidth=1000, memory_efficiency=1.0, fixed_overhead=0.0)
    s = sensitivity(S, "step_time", at=at)
    assert set(s.one_sided["memory_bandwidth"]) == {-1.0, 0.0}
    assert set(s.one_sided["peak_flops"]) == {-1.0, 0.0}


def test_vectorised_sensitivity():
    S = System.from_walls(walls.compute, walls.memory)
    at = dict(flops=1e12, peak_flops=100, compute_efficiency=0.5, bytes_moved=np.array([1e9, 1e11]),
              memory_bandwidth=1000, memory_efficiency=1.0, fixed_overhead=0.0)
    s = sensitivity(S, "step_time", at=at)
    np.testing.assert_allclose(s["memory_bandwidth"], [0.0, -1.0])


def test_closed_form_on_the_training_data_parallel_term():
    # the exposed data-parallel time has four Max nodes and large rational coefficients; its
    # closed forms come from the linear formula on derivatives (sympy.solve / Poly took minutes)
    from mlsysim_sym.tasks.training import train, training_system
    r = train("llama-2-7b", "h100", devices=64, global_batch=256, micro_batch=1, zero_stage=3,
              overlap=0.0)
    system, known = training_system("full"), dict(r.inputs())
    k = system.compile(["dp_exposed_time"])
    at = {n: known[n] for n in k.input_names if n != "link_bandwidth"}
    target = r.breakdown()["dp_communication"]
    res = solve_for(system, "link_bandwidth", {"dp_exposed_time": target}, at)
    assert res.method == "closed-form" and res.residual < 1e-9
    assert target.magnitude > 0
    assert res.value.to("GB/s").magnitude == pytest.approx(
        known["link_bandwidth"].to("GB/s").magnitude, rel=1e-9)


def test_quadratic_roots_by_formula():
    import sympy
    from mlsysim_sym.solvers.inverse import _low_degree_coefficients, _polynomial_roots
    x, a, b = sympy.symbols("x a b", positive=True)
    coeffs = _low_degree_coefficients((a * x + 1) * (x - b), x)  # a x^2 + (1 - a b) x - b
    roots = _polynomial_roots(coeffs)
    vals = {a: 2.0, b: 3.0}
    assert sorted(float(r.subs(vals)) for r in roots) == pytest.approx([-0.5, 3.0])
    assert _low_degree_coefficients(x ** 3 + a, x) is None
    assert _low_degree_coefficients(sympy.exp(x), x) is None
