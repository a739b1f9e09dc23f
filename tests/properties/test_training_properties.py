"""Hypothesis properties of the training-step workload over plausible layouts.

Inputs are base-unit magnitudes (s, bit, FLOP, token, param) in ``K.input_names`` order.
"""

import math

import numpy as np
from hypothesis import given, settings, strategies as st

from mlsysim_sym.symbols import info
from mlsysim_sym.tasks.training import training_system
from mlsysim_sym.tasks.training.config import PLACEMENT_NAMES
from mlsysim_sym.units import base_factor

OUT = ["training_step_time", "model_flops_utilization", "hardware_flops_utilization",
       "training_throughput", "training_memory", "pipeline_bubble_fraction", "scaling_efficiency",
       "tp_comm_time", "pp_comm_time", "cp_comm_time", "ep_comm_time", "dp_exposed_time",
       "pipeline_bubble_time", "optimizer_step_time", "activation_memory", "step_compute_time",
       "host_issue_time", "host_wait_time"]
K = training_system("full").compile(OUT)

pow2 = lambda lo, hi: st.integers(lo, hi).map(lambda k: 2 ** k)  # noqa: E731
layout = st.fixed_dictionaries({
    "layers": st.sampled_from([24, 32, 48, 64, 80, 96]),
    "hidden": st.sampled_from([2048, 4096, 8192, 12288]),
    "head_dim": st.just(128),
    "vocabulary": st.sampled_from([32000, 50257, 128256]),
    "tensor_parallel": pow2(0, 3),
    "pipeline_parallel": pow2(0, 4),
    "data_parallel": pow2(0, 6),
    "context_parallel": pow2(0, 1),
    "pipeline_interleave": st.sampled_from([1, 2]),
    "micro_batch": pow2(0, 2),
    "accumulation": pow2(0, 6),
    "sequence_length": st.sampled_from([512, 2048, 8192]),
    "recompute": st.sampled_from([(0, 0), (0, 1), (1, 1), (0.5, 0.5)]),
    "sequence_parallel": st.sampled_from([0, 1]),
    "attention_scores_stored": st.sampled_from([0, 1]),
    "zero": st.integers(0, 3),
    "compute_efficiency": st.floats(0.2, 1.0),
    "attention_efficiency": st.floats(0.2, 1.0),
    "memory_efficiency": st.floats(0.05, 1.0),
    "ffn_gated": st.sampled_from([0, 1]),
    "rotary_embedding": st.sampled_from([0, 1]),
    "fused_memory_kernels": st.sampled_from([0, 1]),
    "fp8_activation_casts": st.sampled_from([0, 1]),
    "dropout_masks_stored": st.sampled_from([0, 1]),
    "training_step_overhead": st.floats(0.0, 100.0),   # ms
    "layer_pass_overhead": st.floats(0.0, 100.0),      # us
    "model_parallel_overlap": st.floats(0.0, 1.0),
    "communication_efficiency": st.floats(0.2, 1.0),
    "scale_out_efficiency": st.floats(0.2, 1.0),
    "dp_overlap": st.floats(0.0, 1.0),
    "link_bandwidth": st.floats(5, 100),
    "head_stage_imbalance": st.sampled_from([0, 1]),
    # the chip's measured matmul ceiling (Bekman's MAMF table: 0.60 MI300X .. 0.86 A100 SXM)
    "matmul_ceiling": st.floats(0.5, 1.0),
})


def values(x, **over):
    x = {**x, **over}
    h, L = x["hidden"], x["layers"]
    n = 12 * L * h * h + 2 * x["vocabulary"] * h
    d, c = x["data_parallel"], x["context_parallel"]
    shard = 1 / (d * c)
    z = x["zero"]
    p = x["pipeline_parallel"]
    v = x["pipeline_interleave"] if p > 1 else 1
    m = x["accumulation"] * p if v > 1 else x["accumulation"]
    rd, ra = x["recompute"]
    vals = dict(
        parameters=n, active_parameters=n, expert_parameters=0, trainable_parameters=n,
        layers=L, heads=h // 128, kv_heads=h // 128, head_dim=128, hidden=h,
        parallel_block=0,
        vocabulary=x["vocabulary"], moe_layers=x.get("moe_layers", 0), experts_per_token=0, peak_flops=989,
        memory_bandwidth=3350, memory_capacity=80, scale_up_bandwidth=450, scale_up_latency=1,
        link_bandwidth=x["link_bandwidth"], link_latency=1, devices_per_node=8,
        bytes_per_parameter=2, gathered_bytes_per_parameter=2, gradient_bytes_per_parameter=2,
        optimizer_bytes_per_parameter=12,
        activation_bytes_per_element=2, gemm_input_bytes_per_element=2,
        compute_efficiency=x["compute_efficiency"],
        attention_efficiency=x["attention_efficiency"], attention_peak_flops=989,
        head_peak_flops=989,
        matmul_ceiling=x.get("matmul_ceiling", 1.0),
        gemm_shape_efficiency=x.get("gemm_shape_efficiency", 1.0),
        training_step_overhead=x["training_step_overhead"],
        layer_pass_overhead=x["layer_pass_overhead"],
        tensor_parallel_overlap=x["model_parallel_overlap"],
        pipeline_parallel_overlap=x["model_parallel_overlap"],
        memory_efficiency=x.get("memory_efficiency", 0.8),
        ffn_width=2 * (8 * h // 3) if x.get("ffn_gated", 0) else 4 * h,
        ffn_gated=x.get("ffn_gated", 0), rotary_embedding=x.get("rotary_embedding", 0),
        fused_memory_kernels=x.get("fused_memory_kernels", 1),
        fp8_activation_casts=x.get("fp8_activation_casts", 0),
        communication_efficiency=x["communication_efficiency"],
        scale_out_efficiency=x["scale_out_efficiency"],
        dp_overlap=x["dp_overlap"], tensor_parallel=x["tensor_parallel"], pipeline_parallel=p,
        data_parallel=d, context_parallel=c, expert_parallel=1, pipeline_interleave=v,
        micro_batch=x["micro_batch"], global_batch=m * d * x["micro_batch"],
        sequence_length=x["sequence_length"], recomputed_dense_fraction=rd,
        recomputed_attention_fraction=ra, recomputed_op_fraction=0, recomputed_dots_fraction=0, recomputed_custom_fraction=0, host_link_bandwidth=31.5,
        **{f"{w}_{k}": 0 for k in PLACEMENT_NAMES for w in ("device", "offload")},
        sequence_parallel=x["sequence_parallel"],
        attention_scores_stored=x["attention_scores_stored"],
        dropout_masks_stored=x.get("dropout_masks_stored", 0),
        logits_bytes_per_element=6, loss_traffic_per_logit=52, framework_workspace=2,
        parameter_shard_factor=shard if z >= 3 else 1, gradient_shard_factor=shard if z >= 2 else 1,
        optimizer_shard_factor=shard if z >= 1 else 1, parameter_gather_passes=2 * m if z == 3 else 1,
        gradient_reduce_passes=m if z >= 2 else 1,
        head_stage_imbalance=x.get("head_stage_imbalance", 1), training_tokens=1e12,
        # a dense model: no routed experts, so the MoE routing inputs change nothing
        moe_experts=1, expert_capacity_factor=1, dense_dispatch=0, token_permute_passes=2,
        expert_parallel_overlap=x["model_parallel_overlap"],
        # the host-bound term off unless a test sets it (TE issue 2053: 13.48 us per op on x86)
        host_ops_per_layer=x.get("host_ops_per_layer", 0), host_op_time=13.48,
        loss_vocab_tiles=1, gradients_live_at_loss=1, sequence_fill=1, head_token_fraction=1,
        # ZeRO-3 gathers whole layers (PyTorch FSDP); the tensor sizes matter only per tensor
        gather_per_tensor=0, largest_weight_tensor=x["vocabulary"] * h, largest_expert_tensor=0,
        host_syncs_per_moe_layer=x.get("host_syncs_per_moe_layer", 0),
        host_ops_after_sync=x.get("host_ops_after_sync", 0), recomputed_module_flops=0,
        stage_layer_imbalance=1)
    return vals


def run(x, **over):
    vals = values(x, **over)
    res = K.raw(*[vals[n] * base_factor(info(n).unit) for n in K.input_names])
    return dict(zip(OUT, res)), vals


@settings(max_examples=150, deadline=None)
@given(layout)
def test_step_time_positive_and_terms_nonnegative(x):
    out, _ = run(x)
    assert 0 < out["training_step_time"] < math.inf
    for k in ("tp_comm_time", "pp_comm_time", "cp_comm_time", "ep_comm_time", "dp_exposed_time",
              "pipeline_bubble_time", "optimizer_step_time"):
        assert out[k] >= 0
    assert 0 < out["scaling_efficiency"] <= 1 + 1e-12
    assert 0 <= out["pipeline_bubble_fraction"] < 1


@settings(max_examples=150, deadline=None)
@given(layout)
def test_mfu_at_most_hfu_at_most_compute_efficiency(x):
    # attention kernels no faster than the GEMMs (same peak): no FLOP beats compute_efficiency
    x = {**x, "attention_efficiency": min(x["attention_efficiency"], x["compute_efficiency"])}
    out, vals = run(x)
    assert out["model_flops_utilization"] <= out["hardware_flops_utilization"] * (1 + 1e-12)
    assert out["hardware_flops_utilization"] <= vals["compute_efficiency"] * (1 + 1e-9)
    # in general the hardware FLOPs run at most at the faster of the two kernel rates
    free, vals = run(x, attention_efficiency=x["compute_efficiency"] ** 0.5)
    assert free["hardware_flops_utilization"] <= max(
        vals["compute_efficiency"], vals["attention_efficiency"]) * (1 + 1e-9)


@settings(max_examples=150, deadline=None)
@given(layout)
def test_throughput_times_step_time_is_the_global_batch_in_tokens(x):
    out, vals = run(x)
    tokens = vals["global_batch"] * vals["sequence_length"]
    assert math.isclose(out["training_throughput"] * out["training_step_time"], tokens,
                        rel_tol=1e-9)


@settings(max_examples=150, deadline=None)
@given(layout.filter(lambda x: x["data_parallel"] <= 32))
def test_more_data_parallelism_never_increases_memory_with_zero3(x):
    # doubling d at a fixed global batch: ZeRO-3 shards all model states over d c, and the
    # micro-batches per pipeline (hence in-flight activations) can only fall
    x = {**x, "zero": 3}
    base, vals = run(x)
    more, _ = run({**x, "data_parallel": 2 * x["data_parallel"],
                   "accumulation": max(1, x["accumulation"] // 2)})
    assert more["training_memory"] <= base["training_memory"] * (1 + 1e-12)


@settings(max_examples=150, deadline=None)
@given(layout.filter(lambda x: x["pipeline_parallel"] > 1))
def test_bubble_falls_with_more_micro_batches(x):
    a, _ = run(x)
    b, _ = run({**x, "accumulation": 2 * x["accumulation"]})
    assert b["pipeline_bubble_fraction"] < a["pipeline_bubble_fraction"]


def _recompute_costs_time(x):
    # recomputation adds compute; the compute that hides communication is one budget (the
    # attention hiding the context-parallel exchange does not also hide the data-parallel
    # traffic), so added compute can hide at most its own time: the step never gets shorter
    for chain in (((0, 0), (0, 1), (1, 1)), ((0, 0), (0.5, 0.5), (1, 1))):
        outs = [run(x, recompute=r)[0] for r in chain]
        for less, more in zip(outs, outs[1:]):
            assert more["activation_memory"] <= less["activation_memory"] * (1 + 1e-12)
            assert more["training_step_time"] >= less["training_step_time"] * (1 - 1e-12)


@settings(max_examples=60, deadline=None)
@given(layout)
def test_more_recomputation_saves_memory_and_costs_time(x):
    _recompute_costs_time(x)


@settings(max_examples=100, deadline=None)
@given(layout.map(lambda x: {**x, "context_parallel": 2,
                             "data_parallel": max(2, x["data_parallel"])}))
def test_recomputation_costs_time_with_context_and_data_parallel_overlap(x):
    # the case that found the double counting: cp > 1 and dp > 1 both hide traffic behind the
    # (recomputed) backward
    _recompute_costs_time(x)


@settings(max_examples=100, deadline=None)
@given(layout)
def test_last_stage_runs_the_lm_head_on_top_of_its_even_share(x):
    # Megatron's even layer split: the last stage also runs the head (forward, input and weight
    # gradients: 3 x 2 V h FLOP per token), (p - 1)/p of it more than an even share of the
    # model; a split that accounts for it (iota_h = 0) or a single stage (p = 1) has no excess.
    # Its loss kernels too: q_l bytes per logit (V/t logits per token) at the memory roof
    even, vals = run(x, head_stage_imbalance=1)
    fair, _ = run(x, head_stage_imbalance=0)
    p = vals["pipeline_parallel"]
    n = p * vals["tensor_parallel"] * vals["data_parallel"] * vals["context_parallel"]
    tokens = vals["global_batch"] * vals["sequence_length"] / n
    head = 3 * 2 * vals["vocabulary"] * vals["hidden"] * tokens * (p - 1)
    rate = (vals["peak_flops"] * base_factor(info("peak_flops").unit) * vals["compute_efficiency"]
            * vals["matmul_ceiling"])   # the GEMMs' rate: peak x ceiling x eta_c
    loss = (vals["loss_traffic_per_logit"] * base_factor("B") * vals["vocabulary"] * tokens
            * (p - 1))
    bw = vals["memory_bandwidth"] * base_factor(info("memory_bandwidth").unit) \
        * vals["memory_efficiency"]
    assert math.isclose(even["step_compute_time"] - fair["step_compute_time"],
                        head / rate + loss / bw, rel_tol=1e-9, abs_tol=1e-15)
    assert even["training_step_time"] >= fair["training_step_time"] * (1 - 1e-12)


def test_vectorised_evaluation_equals_pointwise():
    rng = np.random.default_rng(0)
    base = dict(layers=32, hidden=4096, head_dim=128, vocabulary=50257, tensor_parallel=2,
                pipeline_parallel=2, data_parallel=4, context_parallel=1, pipeline_interleave=1,
                micro_batch=1, accumulation=8, sequence_length=2048, recompute=(0, 1),
                sequence_parallel=1, attention_scores_stored=0, zero=1, compute_efficiency=0.5,
                attention_efficiency=0.4,
                training_step_overhead=10.0, layer_pass_overhead=20.0, model_parallel_overlap=0.5,
                communication_efficiency=0.8, scale_out_efficiency=0.8, dp_overlap=1.0,
                link_bandwidth=50)
    vals = values(base)
    seq = rng.choice([512, 1024, 4096], size=7).astype(float)
    args = [vals[n] * base_factor(info(n).unit) for n in K.input_names]
    i = K.input_names.index("sequence_length")
    args[i] = seq * base_factor("token")
    vec = K.raw(*args)
    for j, sj in enumerate(seq):
        args[i] = float(sj) * base_factor("token")
        point = K.raw(*args)
        for o, name in enumerate(OUT):
            assert math.isclose(float(np.asarray(vec[o])[j]) if np.ndim(vec[o]) else vec[o],
                                point[o], rel_tol=1e-9)


@settings(max_examples=60, deadline=None)
@given(layout, st.floats(0, 1e5))
def test_host_issue_time_bounds_the_step_from_below(x, ops):
    """The host issues m L/p n_h operations of t_h each and the device cannot finish before
    they are issued: the step time is at least the host issue time, never less than without
    it, and non-decreasing in the operations issued."""
    base, _ = run(x)
    out, vals = run(x, host_ops_per_layer=ops)
    more, _ = run(x, host_ops_per_layer=ops * 2 + 1)
    assert out["training_step_time"] >= out["host_issue_time"] * (1 - 1e-12)
    assert out["training_step_time"] >= base["training_step_time"] * (1 - 1e-12)
    assert more["training_step_time"] >= out["training_step_time"] * (1 - 1e-12)
    assert out["host_wait_time"] >= 0


@settings(max_examples=60, deadline=None)
@given(layout, st.floats(0, 1e4), st.floats(0, 2), st.floats(0, 1e3))
def test_device_to_host_syncs_never_shorten_the_step(x, ops, syncs, after):
    """A device-to-host sync (a dropless MoE dispatcher's token counts) only stops the host
    from running ahead: the busy time max(D - n D_s, H - n H_s) + n max(D_s, H_s) is at least
    max(D, H) and non-decreasing in the syncs per MoE layer; the host wait stays >= 0. Every
    layer counted as an MoE layer (no routed-expert GEMMs here: the sync's device time is its
    all-to-alls)."""
    x = {**x, "moe_layers": x["layers"]}
    free, _ = run(x, host_ops_per_layer=ops)
    out, _ = run(x, host_ops_per_layer=ops, host_syncs_per_moe_layer=syncs, host_ops_after_sync=after)
    more, _ = run(x, host_ops_per_layer=ops, host_syncs_per_moe_layer=2 * syncs + 0.5,
                  host_ops_after_sync=after)
    assert out["training_step_time"] >= free["training_step_time"] * (1 - 1e-12)
    assert more["training_step_time"] >= out["training_step_time"] * (1 - 1e-12)
    assert out["host_wait_time"] >= -1e-12 * out["training_step_time"]
