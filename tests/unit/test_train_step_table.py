"""The host and recomputation terms the DeepSeek-V3 GB200 write-up's own optimisation history
times (Yao et al. 2025, "Optimizing DeepSeek-V3 Training Performance on NVIDIA GB200 NVL72",
Megatron-LM docs/discussions/deepseek-v3-gb200-optimization, Sec. 3 table, TFLOPS/GPU):
MXFP8 scale kernels, CPU binding (bindpcie) and Megatron-Core's recomputation of the MLA
up-projections (``recompute_modules``). A row's step is 8389.13 / TFLOPS s (8389.13 TFLOP per
GPU and step: Megatron-Core's count, 256.016 GFLOP per token x 2048 x 4096 tokens / 256 GPUs).
"""

import pytest

import mlsysim_sym as ms
from mlsysim_sym.tasks.training import train
from mlsysim_sym.tasks.training.host import host_op_us
from tests.unit.test_mla import DENSE_MLA_SPEC

F = 8389.13   # TFLOP per GPU and step


def step(tflops):
    return F / tflops


# the source's layout (Sec. 1): TP1 / PP8 / VPP4 / EP32 / MBS1 / GBS2048, MXFP8; m = 64
# micro-batches, 61 / 8 layers per stage: 488 layer passes per stage and step
DSV3 = dict(devices=256, tp=1, pp=8, interleave=4, ep=32, micro_batch=1, global_batch=2048,
            seq_len=4096, precision="fp8", zero_stage=1, ep_overlap=0,
            model_parallel_overlap=0.33, recompute="selective")
PASSES = 64 * 61 / 8
# the baseline (Sec. 1): AlltoAll, scales before TE's fusions, unbound, mlp and up_proj recomputed
BASELINE = dict(token_dispatcher="alltoall", fp8_recipe="transformer_engine_mxfp8_unfused",
                cpu_binding=False, recompute_modules=("mlp", "mla_up_proj"))
# the "PDL ... & Fuse MXFP8 swizzle" row's predecessor: DeepEP, CUDA graphs, bound, mlp moe_act
ROW8 = dict(token_dispatcher="flex", fp8_recipe="transformer_engine_mxfp8_unfused_swizzle",
            cuda_graphs=True, recompute_modules=("mlp", "moe_act"))


def _dsv3(**kw):
    return train("deepseek-v3", "nvidia-gb200", **{**DSV3, **kw})


def test_fused_scale_allocation_saves_the_tables_time():
    """494.46 -> 529.55 TFLOPS (Fuse torch.zeros for scaling factor allocation): 1.124 s of a
    host-bound step. The 43,456 zero fills of a stage's step (64 x (3 x 32 + 58 x 92) / 8: 4
    per linear, 2 per recomputed dense-MLP linear; the recomputed up-projection is timed
    whole) at their table-derived host time."""
    saved = step(494.46) - step(529.55)
    assert saved == pytest.approx(1.1242, abs=1e-3)
    before, after = _dsv3(**BASELINE), _dsv3(**{
        **BASELINE, "fp8_recipe": "transformer_engine_mxfp8_unfused_swizzle"})
    host = before.value("host_issue_time") - after.value("host_issue_time")
    assert host == pytest.approx(saved, rel=1e-3)
    # the baseline is host-bound: the step falls by the same time
    assert (before.step_time - after.step_time).magnitude == pytest.approx(saved, rel=0.1)


def test_fused_swizzle_saves_the_tables_host_time():
    """762.12 -> 797.67 TFLOPS (Fuse MXFP8 swizzle scaling factor): 0.491 s over 44,688
    swizzles (96 per MoE layer pass with the shared expert eager, 6 per dense one). Under
    ``cuda_graphs`` the model captures the shared expert too (the later row), so 90 per MoE
    layer pass: 64 x 58 / 8 x 90 x 11.0 us = 0.46 s of host time."""
    saved = step(762.12) - step(797.67)
    assert saved == pytest.approx(0.4906, abs=1e-3)
    before = _dsv3(**ROW8)
    after = _dsv3(**{**ROW8, "fp8_recipe": "transformer_engine_mxfp8"})
    host = before.value("host_issue_time") - after.value("host_issue_time")
    assert host == pytest.approx(64 * 58 / 8 * 90 * saved / 44688, rel=1e-3)
    assert host == pytest.approx(saved, rel=0.07)


def test_an_unbound_grace_host_costs_1_102x_per_operation():
    """CPU-side optimization (bindpcie, Sec. 2.4): 691.49 -> 762.12 TFLOPS on a host-bound
    step, per-operation host time x 762.12 / 691.49. Measured on Grace only: an x86 host keeps
    its 13.48 us (TE issue 2053)."""
    assert host_op_us("nvidia-gb200", False) == pytest.approx(37.08 * 1.10214, rel=1e-5)
    assert host_op_us("nvidia-h100-sxm", False) == host_op_us("nvidia-h100-sxm") == 13.48
    bound, unbound = _dsv3(**{**BASELINE, "cpu_binding": True}), _dsv3(**BASELINE)
    assert unbound.value("host_issue_time") / bound.value("host_issue_time") == pytest.approx(
        762.12 / 691.49, rel=1e-9)
    assert unbound.step_time > bound.step_time


def test_mla_up_projection_recompute_flops_by_hand():
    """--recompute-modules mla_up_proj re-runs every layer's query up-projection (q_lora_rank
    1536 -> 128 heads x (128 + 64)) and key-value up-projection (kv_lora_rank 512 -> 128 x
    (128 + 128)): 2 x 61 x 128 x (1536 x 192 + 512 x 256) = 6.652 GFLOP per token; mlp the 3
    dense layers' gated MLP: 2 x 3 x 3 x 7168 x 18432 = 2.378 GFLOP."""
    up = 2 * 61 * 128 * (1536 * 192 + 512 * 256)
    mlp = 2 * 3 * 3 * 7168 * 18432
    for modules, extra in ((("mla_up_proj",), up), (("mlp",), mlp), (("mla_up_proj", "mlp"),
                                                                       up + mlp)):
        r = _dsv3(token_dispatcher="flex", recompute_modules=modules)
        hw = r.hardware_flops_per_token.to("FLOP/token").magnitude
        model = r.model_flops_per_token.to("FLOP/token").magnitude
        assert hw - model == pytest.approx(extra, rel=1e-9)
    assert up == pytest.approx(6.652e9, rel=1e-3)


def test_mla_up_projection_recompute_host_time_from_the_table():
    """Remove up_proj recompute (566.07 -> 610.71 TFLOPS, unbound): 1.083 s of a host-bound
    step over its 488 layer passes at 40.87 us per operation: 54.3 operations per layer pass;
    none under CUDA graphs (the attention's backward graph holds it)."""
    saved = step(566.07) - step(610.71)
    assert saved == pytest.approx(1.0833, abs=1e-3)
    kw = dict(BASELINE, fp8_recipe="transformer_engine_mxfp8_unfused_swizzle",
              token_dispatcher="flex")
    with_up, without = _dsv3(**kw), _dsv3(**{**kw, "recompute_modules": ("mlp",)})
    per_pass = (with_up.base_inputs()["host_ops_per_layer"]
                - without.base_inputs()["host_ops_per_layer"])
    assert per_pass == pytest.approx(saved / (PASSES * 37.08e-6 * 762.12 / 691.49), rel=1e-6)
    assert per_pass == pytest.approx(54.3, abs=0.05)
    assert with_up.value("host_issue_time") - without.value("host_issue_time") == \
        pytest.approx(saved, rel=1e-6)
    graphed = dict(kw, cuda_graphs=True)
    assert _dsv3(**graphed).base_inputs()["host_ops_per_layer"] == pytest.approx(
        _dsv3(**{**graphed, "recompute_modules": ("mlp",)}).base_inputs()["host_ops_per_layer"])


def test_moe_act_recompute_issues_each_local_experts_activation_again():
    """moe_act: the 8 local experts' activations once more per MoE layer pass (58 of 61)."""
    a = _dsv3(token_dispatcher="flex", recompute_modules=("mlp",)).base_inputs()
    b = _dsv3(token_dispatcher="flex", recompute_modules=("mlp", "moe_act")).base_inputs()
    assert b["host_ops_per_layer"] - a["host_ops_per_layer"] == pytest.approx(8 * 58 / 61)


def test_selective_recompute_by_module():
    """recompute="selective" recomputes the attention core (Megatron-Core's default module
    core_attn); recompute_modules replaces that default."""
    from mlsysim_sym.tasks.training.config import TrainConfig
    kw = dict(model="deepseek-v3", cluster="nvidia-gb200", global_batch=8, recompute="selective")
    assert TrainConfig(**kw).recompute_fractions[1] == 1.0
    assert TrainConfig(**kw, recompute_modules=("mlp",)).recompute_fractions[1] == 0.0
    assert TrainConfig(**kw, recompute_modules=["core_attn", "mlp"]).recompute_fractions[1] == 1.0
    assert TrainConfig(**kw, recompute_modules=["mlp", "core_attn"]).modules == ("mlp",)


@pytest.mark.parametrize("kw, match", [
    (dict(recompute="none", recompute_modules=("mlp",)), "needs recompute='selective'"),
    (dict(recompute="selective", recompute_modules=("moe",)), "is not one of"),
    (dict(recompute="selective", recompute_modules=(1,)), "tuple of module names"),
    (dict(recompute="selective", cpu_binding="yes"), "cpu_binding must be True or False"),
])
def test_bad_recompute_modules_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        train("deepseek-v3", "nvidia-gb200", devices=256, pp=8, ep=32, global_batch=2048,
              precision="fp8", **kw)


def test_mla_up_proj_needs_an_mla_model():
    with pytest.raises(ValueError, match="needs a multi-head latent attention model"):
        train("llama-3-8b", "nvidia-h100-sxm", devices=8, global_batch=8,
              recompute="selective", recompute_modules=("mla_up_proj",))


def test_an_mla_model_without_a_query_latent_up_projects_from_the_hidden_state():
    """Without q_lora_rank the query projection reads the hidden state (DeepSeek-V2-Lite's
    shape): 2 L H (h (d_nope + d_rope) + d_c (d_nope + d_v)) FLOPs per token."""
    m = ms.Model.from_spec(DENSE_MLA_SPEC)
    r = train(m, "nvidia-h100-sxm", devices=8, global_batch=8, recompute="selective",
              recompute_modules=("mla_up_proj",))
    hw = r.hardware_flops_per_token.to("FLOP/token").magnitude
    model = r.model_flops_per_token.to("FLOP/token").magnitude
    assert hw - model == pytest.approx(2 * 4 * 8 * (1024 * 96 + 256 * 128), rel=1e-9)


def test_the_busiest_pipeline_rank_sets_the_pace():
    """The source's layout Et|(tt|)*30L (Sec. 1): 32 virtual stages over 8 ranks (VPP 4), ranks
    1-6 with 8 layers, against the even 61/8 = 7.625: the stage's busy time and its bubble
    x 8 / 7.625 (stage_imbalance_time the extra)."""
    even = _dsv3(**BASELINE)
    laid = _dsv3(**BASELINE, stage_layers=8)
    # the even split's busy time: its step less the bubble and the terms after the pipeline
    rest = sum(even.value(k) for k in ("dp_exposed_time", "offload_exposed_time",
                                        "optimizer_step_time", "training_step_overhead"))
    busy = (even.step_time - even.pp_bubble_time).magnitude - rest
    assert laid.value("stage_imbalance_time") == pytest.approx(busy * (8 / 7.625 - 1), rel=1e-9)
    assert laid.pp_bubble_time.magnitude == pytest.approx(
        even.pp_bubble_time.magnitude * 8 / 7.625, rel=1e-9)
    assert laid.breakdown()["pp_imbalance"].to("s").magnitude == pytest.approx(
        laid.value("stage_imbalance_time"))
    assert even.value("stage_imbalance_time") == 0


@pytest.mark.parametrize("layers, match", [(7, "must be between L/pp"), (62, "must be between"),
                                           ("8", "stage_layers")])
def test_stage_layers_outside_the_model_are_refused(layers, match):
    with pytest.raises(ValueError, match=match):
        _dsv3(**BASELINE, stage_layers=layers)
