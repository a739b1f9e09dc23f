"""The host-bound term of a training step: the CPU issues the step's operations one by one and
runs ahead of the device, so the stages' busy time is max(device busy, host issue time)
(Yao et al. 2025, "Optimizing DeepSeek-V3 Training Performance on NVIDIA GB200 NVL72", Sec. 2);
the operations per layer come from the model's structure (tasks/training/host.py), the CPU time
per operation from Meta's Holistic Trace Analysis documentation (5-20 us per launch: 10 us)."""

import pytest

from mlsysim_sym.tasks.training import train
from mlsysim_sym.tasks.training import step as training_step
from mlsysim_sym.tasks.training.host import HOST_OP_US, host_ops_per_layer

# the source's layout (Sec. 1): TP1 / PP8 / VPP4 / EP32 / MBS1 / GBS2048 on 256 GB200, MXFP8
DSV3 = dict(devices=256, tp=1, pp=8, interleave=4, ep=32, micro_batch=1, global_batch=2048,
            seq_len=4096, precision="fp8", recompute="none", zero_stage=1, ep_overlap=0)


def _dsv3(**kw):
    return train("deepseek-v3", "nvidia-gb200", **{**DSV3, **kw})


def test_deepseek_v3_eager_count_by_hand():
    """DeepSeek-V3 (61 layers, the first 3 dense; MLA with a query low-rank path; 256 experts,
    1 shared; EP32: 8 experts per GPU) at FP8 under Transformer Engine, AlltoAll dispatcher.
    A linear: 1 GEMM + 1 cast forward, 2 GEMMs + 1 cast backward = 5; any other op 1 + 1.
    MLA: 5 linears + (input norm, q norm, kv norm, rotary, core, residual) = 25 + 12 = 37.
    Dense FFN: 2 linears + (norm, activation, residual) = 10 + 6 = 16 -> 53 per dense layer.
    MoE FFN: 8 experts x (2 x 5 + 2) = 96; router 72 (Sec. 2.1.4) and dispatcher 12, forward
    and backward: 168; shared expert 12 + its add 2 = 14; norm and residual 4 -> 282;
    with attention 319 per MoE layer. Mean over the layers: (3 x 53 + 58 x 319) / 61."""
    r = _dsv3(token_dispatcher="alltoall")
    expected = (3 * 53 + 58 * 319) / 61
    assert expected == pytest.approx(305.918, rel=1e-5)
    assert r.base_inputs()["host_ops_per_layer"] == pytest.approx(expected, rel=1e-12)
    # issue time: m = 2048 / 32 = 64 micro-batches x 61/8 layers x n_h x 10 us
    assert r.value("host_issue_time") == pytest.approx(
        64 * 61 / 8 * expected * HOST_OP_US * 1e-6, rel=1e-9)


def test_cuda_graphs_leave_only_the_routed_experts_eager():
    """The source's final scope (Sec. 2.3: attn moe_router moe_preprocess, shared experts in the
    router's graph): a MoE layer issues its 8 experts (96), the flex dispatcher's dispatch and
    combine (4 forward + 4 backward) and 2 graph launches = 106; a dense layer 4 launches."""
    graphed = _dsv3(token_dispatcher="flex", cuda_graphs=True)
    assert graphed.base_inputs()["host_ops_per_layer"] == pytest.approx(
        (3 * 4 + 58 * 106) / 61, rel=1e-12)
    eager = _dsv3(token_dispatcher="flex")
    assert graphed.value("host_issue_time") < 0.6 * eager.value("host_issue_time")


def test_the_structural_count_leaves_deepseek_v3_device_bound():
    """By the count, the baseline's host issue time (~1.5 s) stays below its device busy time
    (~6.5 s): the step time is the device's, as before this term. (The source's measured
    494 TFLOPS implies ~17 s per step: a host-bound step needs ~10x this count.)"""
    r = _dsv3(token_dispatcher="alltoall")
    assert r.value("host_issue_time") == pytest.approx(1.49, rel=0.01)
    assert r.value("host_issue_time") < 0.3 * r.value("training_step_time")


def test_a_host_bound_step_runs_at_the_host_issue_time():
    """With a CPU time per op 50x larger, the host issue time exceeds the device's busy time and
    becomes the stages' busy time (the bubble scales with it): step = T_host / (1 - bubble) +
    the rest, instead of the device's."""
    r = _dsv3(token_dispatcher="alltoall")
    inputs = dict(r.base_inputs())
    inputs["host_op_time"] *= 50
    names = training_step.input_names("full")
    ev = training_step.kernel("full").lazy([inputs[k] for k in names], False)
    host = ev.value("host_issue_time")
    device = (r.value("step_compute_time") + r.value("tp_comm_time") + r.value("pp_comm_time")
              + r.value("cp_comm_time") + r.value("ep_comm_time"))
    assert host > device
    bubble = ev.value("pipeline_bubble_fraction")
    rest = (r.value("dp_exposed_time") + r.value("offload_exposed_time")
            + r.value("optimizer_step_time") + r.base_inputs()["training_step_overhead"])
    assert ev.value("training_step_time") == pytest.approx(host / (1 - bubble) + rest, rel=1e-9)
    assert device / (1 - bubble) + rest == pytest.approx(r.value("training_step_time"), rel=1e-9)


def test_negligible_for_a_large_dense_model():
    """Llama 3 8B on 8 H100 at FP8 (Megatron-LM example's layout): 32 layers of 34 operations
    (2 x 5 + 8 attention, 2 x 5 + 6 FFN) take the host far less than the device's time."""
    r = train("llama-3-8b", "h100", devices=8, tp=1, pp=1, micro_batch=1, global_batch=128,
              seq_len=8192, precision="fp8", recompute="none", zero_stage=1)
    assert r.base_inputs()["host_ops_per_layer"] == pytest.approx(34.0)
    assert r.value("host_issue_time") < 0.05 * r.value("training_step_time")


def test_a_tpu_step_is_one_compiled_program():
    class _Model:
        layers, moe, mla = 4, None, None
    assert host_ops_per_layer(_Model(), precision_narrow=False, ep=1, dispatcher="alltoall",
                              cuda_graphs=False, recompute=(0.0, 0.0), compiled=True) == 0.0
    assert host_ops_per_layer(_Model(), precision_narrow=False, ep=1, dispatcher="alltoall",
                              cuda_graphs=False, recompute=(0.0, 0.0)) == 2 * 3 + 8 + 2 * 3 + 6


def test_recomputation_issues_the_forward_again():
    """Full recomputation: each layer's forward ops once more (a third of a 16-bit dense layer's
    26 operations); selective: the attention core's forward and its backward."""
    class _Model:
        layers, moe, mla = 4, None, None
    kw = dict(precision_narrow=False, ep=1, dispatcher="alltoall", cuda_graphs=False)
    base = host_ops_per_layer(_Model(), recompute=(0.0, 0.0), **kw)
    assert host_ops_per_layer(_Model(), recompute=(1.0, 1.0), **kw) == pytest.approx(
        base * 4 / 3 + 2)
    assert host_ops_per_layer(_Model(), recompute=(0.0, 1.0), **kw) == pytest.approx(base + 2)


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_cuda_graphs_must_be_a_flag(bad):
    with pytest.raises(ValueError, match="cuda_graphs must be True or False"):
        _dsv3(cuda_graphs=bad)
