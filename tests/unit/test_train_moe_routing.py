"""MoE routing in train(): capacity padding and GShard's one-hot dispatch einsums (FLOPs),
token permutes per dispatcher (memory-bound bytes) and the expert-parallel overlap."""

import pytest

from mlsysim_sym import registry
from mlsysim_sym.tasks.training import train

# Mixtral 8x7B (Jiang et al. 2024: 32 layers, h 4096, 8 experts of SwiGLU width 14336, top-2)
MIXTRAL = dict(devices=8, tp=1, pp=1, micro_batch=1, global_batch=8, seq_len=4096,
               zero_stage=3)
H, K, E, S, L_MOE, F = 4096, 2, 8, 4096, 32, 14336


def _run(**kw):
    return train("mixtral-8x7b", "h100", **{**MIXTRAL, **kw})



def test_dropless_sparse_dispatch_adds_no_flops():
    r = _run()
    assert r.value("moe_padding_flops_per_token") == 0
    assert r.value("moe_dispatch_flops_per_token") == 0
    assert r.value("moe_routing_flops_per_token") == 0


def test_gshard_einsum_dispatch_and_padding_reference_values():
    """MaxText's dense_matmul (maxtext2024moe) with capacity factor 1.25: capacity per sequence
    C = S k / E x 1.25 (generate_masks), dispatch 'BSM,BSEC -> EBCM' and combine
    'EBCM,BSEC -> BSM' each 2 h E C FLOPs per token (GShard, Algorithm 2); the experts run on
    1.25 x the routed rows, 0.25 x 2 x (3 h F per expert) x k extra per MoE layer."""
    cf = 1.25
    r = _run(capacity_factor=cf, token_dispatcher="einsum")
    capacity = S * K / E * cf                                  # 1280 slots per expert
    dispatch = L_MOE * 2 * (2 * H * E * capacity)              # both einsums, all MoE layers
    assert r.value("moe_dispatch_flops_per_token") == pytest.approx(dispatch, rel=1e-12)
    assert dispatch == pytest.approx(5.368709e9, rel=1e-6)
    padding = (cf - 1) * 2 * L_MOE * K * 3 * H * F
    assert r.value("moe_padding_flops_per_token") == pytest.approx(padding, rel=1e-12)
    # forward + backward: expert GEMMs 3x, the einsums 2 + 3 forwards of 2 (no recomputation)
    assert r.value("moe_routing_flops_per_token") == pytest.approx(
        3 * padding + 2.5 * dispatch, rel=1e-12)
    # the one-hot dispatch needs no token permutes: less memory-bound time than the sort path
    assert r.value("elementwise_time") < _run(capacity_factor=cf).value("elementwise_time")


def test_capacity_factor_finite_difference_matches_the_padded_gemm_time():
    """d T_compute / d c_f = 3 x 2 N_exp k / E x tokens per device / (peak x kappa_mm x eta_shape x
    eta_c) (kappa_mm: the chip's measured matmul ceiling, 1 where none is recorded; eta_shape:
    the GEMM shapes' tile and wave quantization, 1 without a recorded SM count)."""
    lo, hi = _run(capacity_factor=1.2), _run(capacity_factor=1.3)
    slope = (hi.value("step_compute_time") - lo.value("step_compute_time")) / 0.1
    b = lo.base_inputs()
    n_exp = registry.model("mixtral-8x7b").parameter_breakdown()["experts"]
    tokens = MIXTRAL["global_batch"] * S / MIXTRAL["devices"]
    expected = 3 * 2 * n_exp * K / E * tokens / (b["peak_flops"] * b["matmul_ceiling"]
                                                  * b["gemm_shape_efficiency"]
                                                  * b["compute_efficiency"])
    assert slope == pytest.approx(expected, rel=1e-9)


def test_alltoall_dispatcher_permutes_twice_as_often_as_flex_under_ep():
    """Megatron-Core's AlltoAll dispatcher: global permute + local sort on each side of the
    all-to-all (4 passes per forward); flex (DeepEP / HybridEP) fuses the global one into the
    communication (2). Each pass reads and writes k h 16-bit elements per token, forward and
    backward, over the stage's MoE layers."""
    kw = dict(devices=64, tp=1, ep=8, global_batch=64)
    a2a, flex = _run(token_dispatcher="alltoall", **kw), _run(token_dispatcher="flex", **kw)
    b = a2a.base_inputs()
    tokens = kw["global_batch"] * S / kw["devices"]
    extra_bytes = 2 * 2 * 2 * 2 * K * H * L_MOE * tokens       # 2 passes x fwd/bwd x r/w x 2 B
    expected = extra_bytes / (b["memory_bandwidth"] / 8 * b["memory_efficiency"])
    assert a2a.value("elementwise_time") - flex.value("elementwise_time") == pytest.approx(
        expected, rel=1e-9)
    # without expert parallelism the AlltoAll dispatcher needs no local sort: the same bytes
    one = dict(kw, ep=1)
    assert _run(token_dispatcher="alltoall", **one).value("elementwise_time") == pytest.approx(
        _run(token_dispatcher="flex", **one).value("elementwise_time"), rel=1e-12)


def test_ep_overlap_hides_a_share_of_the_all_to_alls():
    kw = dict(devices=64, tp=1, ep=8, global_batch=64)
    exposed = _run(ep_overlap=0.0, **kw).value("ep_comm_time")
    assert exposed > 0
    assert _run(ep_overlap=0.25, **kw).value("ep_comm_time") == pytest.approx(
        0.75 * exposed, rel=1e-12)
    # model_parallel_overlap sets every class, EP included
    assert _run(model_parallel_overlap=0.4, **kw).value("ep_comm_time") == pytest.approx(
        0.6 * exposed, rel=1e-12)
    # a capacity buffer c_f x larger is sent c_f x longer (bandwidth term)
    assert _run(ep_overlap=0.0, capacity_factor=2.0, **kw).value("ep_comm_time") > 1.9 * exposed


@pytest.mark.parametrize("kwargs, match", [
    (dict(token_dispatcher="einsum"), "needs a capacity_factor"),
    (dict(token_dispatcher="deepep"), "token_dispatcher must be one of"),
    (dict(capacity_factor=0.5), "capacity_factor"),
    (dict(ep_overlap=1.5), "ep_overlap"),
])
def test_bad_routing_input_is_a_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _run(**kwargs)
