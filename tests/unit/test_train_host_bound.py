"""The host-bound term of a training step: the CPU issues the step's operations one by one and
runs ahead of the device, so the stages' busy time is max(device busy, host issue time)
(Yao et al. 2025, "Optimizing DeepSeek-V3 Training Performance on NVIDIA GB200 NVL72", Sec. 2);
the operations per layer come from the model's structure (tasks/training/host.py), the CPU time
per operation from Transformer Engine issue 2053 (torch.nn.Linear forward: 37.08 us on GB200's
Grace host, 13.48 us on an H100 DGX's Xeon; a TE Linear forward 99.66 us on GB200 at BF16) and
issue 761 (a TE Linear at FP8 more than 2x its BF16 host time)."""

import pytest

from mlsysim_sym.tasks.training import train
from mlsysim_sym.tasks.training import step as training_step
from mlsysim_sym.tasks.training.host import HOST_OP_US, host_op_us, host_ops_per_layer, host_syncs

TE_FP8 = 2 * 2 * 99.66 / 37.08    # a TE linear per micro-batch at FP8, forward = backward
TE_BF16 = 2 * 99.66 / 37.08
# The write-up's Sec. 3 table (TFLOPS/GPU; 8389.13 TFLOP per GPU and step at Megatron-Core's
# count, so a row's step is 8389.13 / TFLOPS s): binding the processes (bindpcie) 691.49 ->
# 762.12 on a host-bound step; fusing the scale allocation 494.46 -> 529.55 over 43,456 zero
# fills per stage step (64 micro-batches x (3 dense layers x 32 + 58 MoE layers x 92) / 8);
# fusing the swizzles 762.12 -> 797.67 over 44,688 swizzles (64 x (58 x 96 + 3 x 6) / 8)
UNBOUND = 762.12 / 691.49
ZERO = 8389.13 / 494.46 * (1 - 494.46 / 529.55) / (43456 * 37.08e-6 * UNBOUND)   # 0.633 op
SWIZZLE = 8389.13 / 762.12 * (1 - 762.12 / 797.67) / (44688 * 37.08e-6)        # 0.296 op

# the source's layout (Sec. 1): TP1 / PP8 / VPP4 / EP32 / MBS1 / GBS2048 on 256 GB200, MXFP8
DSV3 = dict(devices=256, tp=1, pp=8, interleave=4, ep=32, micro_batch=1, global_batch=2048,
            seq_len=4096, precision="fp8", recompute="none", zero_stage=1, ep_overlap=0)


def _dsv3(**kw):
    return train("deepseek-v3", "nvidia-gb200", **{**DSV3, **kw})


def test_deepseek_v3_eager_count_by_hand():
    """DeepSeek-V3 (61 layers, the first 3 dense; MLA with a query low-rank path; 256 experts,
    1 shared; EP32: 8 experts per GPU) at FP8 under Transformer Engine, AlltoAll dispatcher.
    A linear: 2 x 2 x 99.66 / 37.08 = 10.75 operations; any other op 1 forward + 1 backward.
    MLA: 5 linears + (input norm, q norm, kv norm, rotary, core, residual) x 2.
    Dense FFN: 2 linears + (norm, activation, residual) x 2.
    MoE FFN: 8 experts x (2 linears + 2); router 72 (Sec. 2.1.4) and dispatcher 12, forward
    and backward: 168; shared expert (2 linears + 2) and its add 2; norm and residual 4.
    Mean over the layers: (3 x dense + 58 x MoE) / 61."""
    r = _dsv3(token_dispatcher="alltoall")
    attn = 5 * TE_FP8 + 12
    dense = attn + 2 * TE_FP8 + 6
    moe = attn + 8 * (2 * TE_FP8 + 2) + 168 + (2 * TE_FP8 + 2) + 2 + 4
    expected = (3 * dense + 58 * moe) / 61
    assert expected == pytest.approx(433.66, rel=1e-4)
    assert r.base_inputs()["host_ops_per_layer"] == pytest.approx(expected, rel=1e-12)
    # GB200's host is a Grace CPU: 37.08 us per operation
    assert host_op_us("nvidia-gb200") == HOST_OP_US["grace"] == 37.08
    # issue time: m = 2048 / 32 = 64 micro-batches x 61/8 layers x n_h x 37.08 us
    assert r.value("host_issue_time") == pytest.approx(
        64 * 61 / 8 * expected * 37.08e-6, rel=1e-9)


def test_cuda_graphs_leave_only_the_routed_experts_eager():
    """The source's final scope (Sec. 2.3: attn moe_router moe_preprocess, shared experts in the
    router's graph): a MoE layer issues its 8 experts, the flex dispatcher's dispatch and
    combine (4 forward + 4 backward) and 2 graph launches; a dense layer 4 launches."""
    graphed = _dsv3(token_dispatcher="flex", cuda_graphs=True)
    moe = 8 * (2 * TE_FP8 + 2) + 8 + 2
    assert graphed.base_inputs()["host_ops_per_layer"] == pytest.approx(
        (3 * 4 + 58 * moe) / 61, rel=1e-12)
    eager = _dsv3(token_dispatcher="flex")
    assert graphed.value("host_issue_time") < 0.7 * eager.value("host_issue_time")
    # pooled over the step the graphed run's host time is well under its step time (what it
    # still waits is behind the dispatcher's syncs: the test of the sync below)
    assert graphed.value("host_issue_time") < 0.6 * graphed.value("training_step_time")


def test_the_eager_baseline_is_host_bound_on_grace():
    """The baseline (no CUDA graphs, AlltoAll): ~7.8 s of host time per step against ~6.5 s of
    device busy time, so the stages run at the host's pace (the source, Sec. 2: "the CPU kernel
    launch speed cannot keep up with the kernel execution speed on GPU"). The same step on an
    x86 host (13.48 us per operation) would be device-bound."""
    r = _dsv3(token_dispatcher="alltoall")
    device = (r.value("step_compute_time") + r.value("tp_comm_time") + r.value("pp_comm_time")
              + r.value("cp_comm_time") + r.value("ep_comm_time"))
    assert r.value("host_issue_time") == pytest.approx(7.85, rel=0.01)
    assert r.value("host_issue_time") > device
    assert r.value("host_issue_time") * 13.48 / 37.08 < device


def test_a_host_bound_step_runs_at_the_host_issue_time():
    """The host issue time replaces the device's busy time as the stages' busy time (the
    bubble scales with it): step = T_host / (1 - bubble) + the rest; with a CPU 10x faster
    per operation the step is the device's again."""
    r = _dsv3(token_dispatcher="alltoall")
    bubble = r.value("pipeline_bubble_fraction")
    rest = (r.value("dp_exposed_time") + r.value("offload_exposed_time")
            + r.value("optimizer_step_time") + r.base_inputs()["training_step_overhead"])
    assert r.value("training_step_time") == pytest.approx(
        r.value("host_issue_time") / (1 - bubble) + rest, rel=1e-9)
    inputs = dict(r.base_inputs())
    inputs["host_op_time"] /= 10
    names = training_step.input_names("full")
    ev = training_step.kernel("full").lazy([inputs[k] for k in names], False)
    device = (r.value("step_compute_time") + r.value("tp_comm_time") + r.value("pp_comm_time")
              + r.value("cp_comm_time") + r.value("ep_comm_time"))
    assert ev.value("host_issue_time") < device
    assert ev.value("training_step_time") == pytest.approx(device / (1 - bubble) + rest,
                                                           rel=1e-9)


def test_negligible_for_a_large_dense_model():
    """Llama 3 8B on 8 H100 at FP8 (Megatron-LM example's layout, an x86 host): 32 layers of
    4 linears and 7 other operations take the host under a tenth of the device's time."""
    r = train("llama-3-8b", "h100", devices=8, tp=1, pp=1, micro_batch=1, global_batch=128,
              seq_len=8192, precision="fp8", recompute="none", zero_stage=1)
    assert r.base_inputs()["host_ops_per_layer"] == pytest.approx(4 * TE_FP8 + 14)
    assert r.base_inputs()["host_op_time"] == pytest.approx(13.48e-6)
    assert r.value("host_issue_time") < 0.1 * r.value("training_step_time")


def test_a_tpu_step_is_one_compiled_program():
    class _Model:
        layers, moe, mla = 4, None, None
    assert host_ops_per_layer(_Model(), precision_narrow=False, ep=1, dispatcher="alltoall",
                              cuda_graphs=False, recompute=(0.0, 0.0), compiled=True) == 0.0
    assert host_ops_per_layer(_Model(), precision_narrow=False, ep=1, dispatcher="alltoall",
                              cuda_graphs=False, recompute=(0.0, 0.0)) == pytest.approx(
        4 * TE_BF16 + 8 + 6)


def test_recomputation_issues_the_forward_again():
    """Full recomputation: each layer's forward operations once more (half of a layer's, the
    forward costing the host as much as the backward); selective: the attention core's
    forward and its backward."""
    class _Model:
        layers, moe, mla = 4, None, None
    kw = dict(precision_narrow=False, ep=1, dispatcher="alltoall", cuda_graphs=False)
    base = host_ops_per_layer(_Model(), recompute=(0.0, 0.0), **kw)
    assert host_ops_per_layer(_Model(), recompute=(1.0, 1.0), **kw) == pytest.approx(
        base * 3 / 2 + 2)
    assert host_ops_per_layer(_Model(), recompute=(0.0, 1.0), **kw) == pytest.approx(base + 2)


@pytest.mark.parametrize("bad", ["yes", 1, None])
def test_cuda_graphs_must_be_a_flag(bad):
    with pytest.raises(ValueError, match="cuda_graphs must be True or False"):
        _dsv3(cuda_graphs=bad)


def test_dispatcher_sync_counts_by_hand():
    """Megatron-Core's dropless AlltoAll dispatcher syncs the stream "before_ep_alltoall" to
    read the token counts on the host (MoEAlltoAllTokenDispatcher.preprocess, megatron/core/
    transformer/moe/token_dispatcher.py); the flex dispatcher keeps a device-host sync for the
    tokens per expert (Yao et al. Sec. 3.1). One per MoE layer forward (58 of DeepSeek-V3's
    61 layers are MoE layers). After it the host issues, eagerly: AlltoAll 7 dispatcher operations (all-to-all,
    local permute and unpermute, the combine's all-to-all, unpermute and sum), flex 4, then
    8 experts x (2 linear forwards of 5.375 operations at FP8 + the activation)."""
    experts = 8 * (2 * TE_FP8 / 2 + 1)
    for dispatcher, ops in (("alltoall", 7), ("flex", 4)):
        for graphs in (False, True):   # the routed experts stay eager under CUDA graphs
            inputs = _dsv3(token_dispatcher=dispatcher, cuda_graphs=graphs).base_inputs()
            assert inputs["host_syncs_per_moe_layer"] == 1.0
            assert inputs["host_ops_after_sync"] == pytest.approx(ops + experts, rel=1e-12)


def test_no_sync_without_a_dropless_dispatcher():
    """A dropping MoE padded to capacity knows its counts on the host (no sync point in the
    dispatcher); GShard's einsum dispatch issues no count copy; a dense model has no
    dispatcher; a TPU step is one compiled program."""
    padded = _dsv3(token_dispatcher="alltoall", capacity_factor=1.25).base_inputs()
    einsum = _dsv3(token_dispatcher="einsum", capacity_factor=1.0).base_inputs()
    dense = train("llama-3-8b", "h100", devices=8, tp=1, pp=1, micro_batch=1, global_batch=128,
                  seq_len=8192, precision="fp8", recompute="none", zero_stage=1).base_inputs()
    for inputs in (padded, einsum, dense):
        assert inputs["host_syncs_per_moe_layer"] == 0.0
        assert inputs["host_ops_after_sync"] == 0.0
    assert host_syncs(type("M", (), {"layers": 4, "moe": None})(), precision_narrow=False,
                      ep=8, dispatcher="alltoall", dropping=False, recompute=(0.0, 0.0),
                      compiled=True) == (0.0, 0.0)


def test_the_sync_holds_the_graphed_step_behind_its_experts():
    """The optimized row's layout (CUDA graphs, flex): the host issues ~3.6 s per step against
    ~5.9 s of device time, so pooled over the step it never holds the device up; but after each
    MoE layer's sync it issues the 8 experts eagerly (98 operations, 3.6 ms) while the device
    runs their forward GEMMs (2 x 3 x 7168 x 2048 x 4096 x 8 FLOPs) and the two all-to-alls in
    less: busy = max(D - n D_s, H - n H_s) + n max(D_s, H_s), n = 64 x 58/8 = 464."""
    r = _dsv3(token_dispatcher="flex", cuda_graphs=True)
    x = r.base_inputs()
    device = (r.value("step_compute_time") + r.value("tp_comm_time") + r.value("pp_comm_time")
              + r.value("cp_comm_time") + r.value("ep_comm_time"))
    host = r.value("host_issue_time")
    n = 64 * 58 / 8
    rate = x["peak_flops"] * x["matmul_ceiling"] * x["compute_efficiency"]
    d_s = (2 * x["expert_parameters"] * 8 / 256 / 58 * 4096 / rate
           + r.value("ep_comm_time") / (2 * 64 * 58 / 8))
    h_s = x["host_ops_after_sync"] * x["host_op_time"]
    assert h_s == pytest.approx(98.0 * 37.08e-6, rel=1e-3)
    assert host < device and h_s > d_s
    busy = max(device - n * d_s, host - n * h_s) + n * max(d_s, h_s)
    assert r.value("host_wait_time") == pytest.approx(busy - device, rel=1e-9)
    # 0.74 s before the GB200 took its measured matmul ceiling (0.729 of its BF16 peak,
    # Bekman's MAMF table): its GEMMs now take 1/0.729 longer, so the device hides more of the
    # host's issue time; 0.628 s after the refit that followed (the fitted efficiencies, now
    # fractions of the ceiling, rose: the device hides less of it again)
    assert r.value("host_wait_time") == pytest.approx(0.628, rel=0.05)


def test_mxfp8_unfused_scales_by_hand():
    """The source's baseline (Sec. 2.1.2-2.1.3, before TE's fused scale allocation and swizzle):
    per linear and micro-batch 2 quantisations (input forward, output gradient backward; the
    weights' cast cached after the first micro-batch) x 2 torch.zeros scale tensors + 3 GEMMs x
    2 operand swizzles = 10 more operations, 4 of them forward; every routed expert's linear
    pays them (multi-stream grouped GEMM, Sec. 1 item 3). Each at its host time from the
    write-up's table (ZERO, SWIZZLE operations)."""
    r = _dsv3(token_dispatcher="alltoall", fp8_recipe="transformer_engine_mxfp8_unfused")
    assert (ZERO, SWIZZLE) == pytest.approx((0.633, 0.296), abs=1e-3)
    lin = TE_FP8 + 4 * ZERO + 6 * SWIZZLE
    attn = 5 * lin + 12
    dense = attn + 2 * lin + 6
    moe = attn + 8 * (2 * lin + 2) + 168 + (2 * lin + 2) + 2 + 4
    x = r.base_inputs()
    assert x["host_ops_per_layer"] == pytest.approx((3 * dense + 58 * moe) / 61, rel=1e-12)
    # after the sync: 7 dispatcher operations + 8 x (2 x (5.375 + 2 fills + 2 swizzles) + 1)
    fwd = TE_FP8 / 2 + 2 * ZERO + 2 * SWIZZLE
    assert x["host_ops_after_sync"] == pytest.approx(7 + 8 * (2 * fwd + 1), rel=1e-12)
    assert x["host_ops_after_sync"] == pytest.approx(130.8, rel=1e-3)


def test_mxfp8_fused_scales_by_hand():
    """Since TE PRs 1793/1934/2134/2019 (the default): the scales come from one buffer and one
    kernel swizzles all of a GEMM call's scales, 3 per linear module (1 forward); a grouped
    GEMM's 8 experts share their module's 3. Under CUDA graphs only the routed experts and the
    dispatcher stay eager."""
    r = _dsv3(token_dispatcher="flex", cuda_graphs=True, fp8_recipe="transformer_engine_mxfp8")
    x = r.base_inputs()
    moe = 8 * (2 * TE_FP8 + 2) + 2 * 3 * SWIZZLE + 8 + 2
    assert x["host_ops_per_layer"] == pytest.approx((3 * 4 + 58 * moe) / 61, rel=1e-12)
    assert x["host_ops_after_sync"] == pytest.approx(4 + 8 * (TE_FP8 + 1) + 2 * SWIZZLE,
                                                     rel=1e-12)


def test_mxfp8_scales_only_below_16_bits():
    """At BF16 nothing is quantised: the MXFP8 recipes issue no scale kernels."""
    kw = dict(token_dispatcher="alltoall", precision="bf16")
    plain = _dsv3(**kw).base_inputs()
    mx = _dsv3(fp8_recipe="transformer_engine_mxfp8_unfused", **kw).base_inputs()
    assert mx["host_ops_per_layer"] == pytest.approx(plain["host_ops_per_layer"], rel=1e-12)
    assert mx["host_ops_after_sync"] == pytest.approx(plain["host_ops_after_sync"], rel=1e-12)


def test_unknown_fp8_recipe_is_refused():
    with pytest.raises(ValueError, match="fp8_recipe must be one of"):
        _dsv3(fp8_recipe="mxfp4")
