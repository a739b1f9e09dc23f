"""Training-step workload against hand arithmetic, the cited papers and calibration rows.

Sources
-------
- Narayanan et al., SC21 (arXiv:2104.04473): eq. (3) FLOPs, Sec. 2.2 bubble, Sec. 3.2 TP volume.
- Korthikanti et al., MLSys 2023 (arXiv:2205.05198): Table 2 activation memory per layer,
  App. A FLOPs, Table 5 end-to-end iteration times (values as encoded in calculon-ai/calculon
  calculon/llm/validation.py, commit caa4b11f; layouts validation/seqsel/tab5/*.json).
- Rajbhandari et al., ZeRO, SC20: Figure 1 (7.5B parameters, N_d = 64, K = 12).
- Hu et al., LoRA, ICLR 2022: Table 4 (GPT-3 175B, 4.7M and 37.7M trainable parameters),
  Sec. 4.2 footnote 5 (32.5 vs 43.1 tokens/s per V100).
- MosaicML llm-foundry scripts/train/benchmarking/README.md (commit 8c8dd48f): MPT MFU tables.
"""

import json

import pytest

from mlsysim_sym.equations import workloads
from mlsysim_sym.equations.base import check_constraint, check_equation
from mlsysim_sym.equations import training as tr
from mlsysim_sym import registry
from mlsysim_sym.registry import Model
from mlsysim_sym.tasks.training import train, training_system
from mlsysim_sym.tasks.training.config import PLACEMENT_NAMES

GB = 1e9  # decimal gigabytes, as the papers print them

# A complete set of inputs in the symbols' declared units (GPT-3 175B shape, A100 DGX numbers).
BASE = dict(parameters=175e9, active_parameters=175e9, expert_parameters=0,
            trainable_parameters=175e9, layers=96, heads=96, kv_heads=96, head_dim=128,
            hidden=12288, vocabulary=51200, ffn_width=4 * 12288, ffn_gated=0,  # GPT: 4h GeLU
            parallel_block=0,
            moe_layers=0, experts_per_token=0, peak_flops=312, memory_bandwidth=2039,
            memory_capacity=80, scale_up_bandwidth=300, scale_up_latency=1, link_bandwidth=25,
            link_latency=1, devices_per_node=8, bytes_per_parameter=2,
            gathered_bytes_per_parameter=2, gradient_bytes_per_parameter=2,
            optimizer_bytes_per_parameter=12,
            activation_bytes_per_element=2, gemm_input_bytes_per_element=2,
            compute_efficiency=0.5, memory_efficiency=0.8,
            communication_efficiency=1.0, scale_out_efficiency=1.0, dp_overlap=1.0,
            tensor_parallel=1, pipeline_parallel=1,
            data_parallel=1, context_parallel=1, expert_parallel=1, pipeline_interleave=1,
            micro_batch=1, global_batch=1, sequence_length=2048, recomputed_dense_fraction=0,
            recomputed_attention_fraction=0, recomputed_op_fraction=0, recomputed_dots_fraction=0, recomputed_custom_fraction=0, host_link_bandwidth=31.5,
        **{f"{w}_{k}": 0 for k in PLACEMENT_NAMES for w in ("device", "offload")},
            sequence_parallel=0,
            attention_scores_stored=1,
            dropout_masks_stored=1,  # Korthikanti's GPT trains with dropout
            logits_bytes_per_element=6, loss_traffic_per_logit=52, framework_workspace=0,
            parameter_shard_factor=1, gradient_shard_factor=1, optimizer_shard_factor=1,
            parameter_gather_passes=1, gradient_reduce_passes=1, head_stage_imbalance=1,
            training_tokens=1e12,
            # the pre-split step time (hand arithmetic below): no memory-bound kernel traffic,
            # no fixed overheads, no model-parallel overlap; attention at the GEMM rate (evaluate)
            training_step_overhead=0, layer_pass_overhead=0, tensor_parallel_overlap=0,
            pipeline_parallel_overlap=0,
            # the GEMMs at the datasheet peak (no measured matmul ceiling: the hand arithmetic)
            matmul_ceiling=1,
            # and with no tile or wave quantization (the shapes' factor is tested in
            # tests/unit/test_gemm_shape.py)
            gemm_shape_efficiency=1,
            # GPT-3's layer: 4h GeLU FFN, learned positions; Megatron's fused kernel set
            rotary_embedding=0, fused_memory_kernels=1,
            fp8_activation_casts=0,
            # a dense model: the MoE routing inputs change nothing (dropless, sort dispatch)
            moe_experts=1, expert_capacity_factor=1, dense_dispatch=0, token_permute_passes=2,
            # no host-bound term in the hand arithmetic (the host issues nothing)
            host_ops_per_layer=0, host_op_time=13.48, loss_vocab_tiles=1,
            gradients_live_at_loss=1, host_syncs_per_moe_layer=0, host_ops_after_sync=0,
            # fixed-length sequences, the LM head on every token (causal LM)
            sequence_fill=1, head_token_fraction=1, recomputed_module_flops=0,
            stage_layer_imbalance=1)


def evaluate(outputs, mode="full", **over):
    k = training_system(mode).compile(tuple(outputs))
    vals = {**BASE, **over}
    vals.setdefault("attention_efficiency", vals["compute_efficiency"])
    vals.setdefault("attention_peak_flops", vals["peak_flops"])
    vals.setdefault("head_peak_flops", vals["peak_flops"])
    vals.setdefault("expert_parallel_overlap", 0)
    ev = k.evaluate(**{n: vals[n] for n in k.input_names})
    return {o: ev.value(o) for o in outputs}


def test_record_is_dimensionally_consistent_and_cited():
    w = workloads.training_step
    assert w.kind == "workload" and w.number == 0 and w.domain == "fleet"
    for eq in list(w.equations) + [tr.ACTIVE_FORWARD, *tr.LORA]:
        check_equation(eq)
        assert eq.locator
    for c in w.constraints:
        check_constraint(c)


# ---- FLOPs: Narayanan eq. (3), Korthikanti App. A ------------------------------------------
@pytest.mark.parametrize("rd,ra,coef,attn,logit", [
    (1, 1, 96, 1 / 6, 1 / 16),      # full recomputation: Narayanan eq. (3)
    (0, 0, 72, 1 / 6, 1 / 12),      # none: Korthikanti App. A model FLOPs
    (0, 1, 72, 2 / 9, 1 / 12),      # selective: attention core recomputed once (see note)
])
def test_flops_per_step_narayanan_eq3(rd, ra, coef, attn, logit):
    # N_a = 12 l h^2 + V h makes the per-token FLOPs exactly Narayanan's GEMM count
    B, s, l, h, V = 1536, 2048, 96, 12288, 51200
    n_a = 12 * l * h ** 2 + V * h
    out = evaluate(["hardware_flops_per_token", "model_flops_per_token"], parameters=n_a,
                   active_parameters=n_a, trainable_parameters=n_a,
                   recomputed_dense_fraction=rd, recomputed_attention_fraction=ra)
    expected = coef * B * s * l * h ** 2 * (1 + attn * s / h + logit * V / (l * h))
    assert out["hardware_flops_per_token"] * B * s == pytest.approx(expected, rel=1e-12)
    model = 72 * B * s * l * h ** 2 * (1 + s / (6 * h) + V / (12 * l * h))
    assert out["model_flops_per_token"] * B * s == pytest.approx(model, rel=1e-12)


# ---- Activation memory: Korthikanti Table 2 ------------------------------------------------
SBH = 2048 * 1 * 12288  # GPT-3 175B: s = 2048, b = 1, h = 12288, a = 96, t = 8


@pytest.mark.parametrize("t,sp,rd,ra,scores,per_layer", [
    (1, 0, 0, 0, 1, SBH * (34 + 5 * 96 * 2048 / 12288)),            # no parallelism: 114 sbh
    (8, 0, 0, 0, 1, SBH * (10 + 24 / 8 + 5 * 96 * 2048 / (12288 * 8))),  # TP: 23 sbh
    (8, 1, 0, 0, 1, SBH / 8 * (34 + 5 * 96 * 2048 / 12288)),        # TP + SP: 14.25 sbh
    (8, 0, 0, 1, 1, SBH * (10 + 24 / 8)),                            # TP + selective: 13 sbh
    (8, 1, 0, 1, 1, 34 * SBH / 8),                                   # TP + SP + selective
    (8, 0, 1, 1, 1, 2 * SBH),                                        # full recomputation
    (8, 1, 0, 0, 0, 34 * SBH / 8),                                   # FlashAttention: no s^2 term
])
def test_activation_memory_per_layer_korthikanti_table2(t, sp, rd, ra, scores, per_layer):
    # one layer, one stage, one micro-batch in flight: the Table 2 entry itself (bytes)
    out = evaluate(["activation_memory"], layers=1, tensor_parallel=t, sequence_parallel=sp,
                   recomputed_dense_fraction=rd, recomputed_attention_fraction=ra,
                   attention_scores_stored=scores)
    assert out["activation_memory"] / 8 == pytest.approx(per_layer, rel=1e-12)


def test_sequence_parallel_plus_selective_is_5x_smaller_than_tp_alone():
    # Korthikanti abstract: the two techniques reduce activation memory by about 5x
    for h, a in ((12288, 96), (20480, 128)):  # GPT-3 175B, MT-NLG 530B (Table 3)
        tp_only = 10 + 24 / 8 + 5 * a * 2048 / (h * 8)
        assert 4.5 < tp_only / (34 / 8) < 5.5
        shape = dict(layers=1, hidden=h, heads=a, kv_heads=a, head_dim=h // a,
                     ffn_width=4 * h)  # MHA, 4h FFN: Table 2's shapes
        both = evaluate(["activation_memory"], tensor_parallel=8, sequence_parallel=1,
                        recomputed_attention_fraction=1, **shape)
        tp = evaluate(["activation_memory"], tensor_parallel=8, **shape)
        assert tp["activation_memory"] / both["activation_memory"] == pytest.approx(
            tp_only / (34 / 8), rel=1e-12)


def test_first_stage_holds_L_layers_and_interleaving_factor():
    # Korthikanti Sec. 4.2.3: 1F1B first stage stores p micro-batches of L/p layers = L layers;
    # interleaved with v chunks: L (1 + (p - 1)/(p v)) layers
    one = evaluate(["activation_memory"], layers=1)["activation_memory"]
    pipe = evaluate(["activation_memory"], layers=96, pipeline_parallel=8, global_batch=64)
    assert pipe["activation_memory"] == pytest.approx(96 * one, rel=1e-12)
    inter = evaluate(["activation_memory"], layers=96, pipeline_parallel=8, global_batch=64,
                     pipeline_interleave=3)
    assert inter["activation_memory"] == pytest.approx(96 * one * (1 + 7 / 24), rel=1e-12)


# ---- ZeRO Figure 1 -------------------------------------------------------------------------
@pytest.mark.parametrize("stage,expected_gb", [(0, 120.0), (1, 31.4), (2, 16.6), (3, 1.9)])
def test_zero_figure1_model_states_7_5B_on_64_gpus(stage, expected_gb):
    # (2 + 2 + K) Psi with K = 12, Psi = 7.5B, N_d = 64: 120, 31.4, 16.6, 1.88 GB
    shard = 1 / 64
    out = evaluate(["weight_memory", "gradient_memory", "optimizer_memory"], parameters=7.5e9,
                   active_parameters=7.5e9, trainable_parameters=7.5e9, data_parallel=64,
                   global_batch=64, optimizer_shard_factor=shard if stage >= 1 else 1,
                   gradient_shard_factor=shard if stage >= 2 else 1,
                   parameter_shard_factor=shard if stage >= 3 else 1)
    states = sum(out.values()) / 8 / GB
    hand = {0: 16 * 7.5, 1: 4 * 7.5 + 12 * 7.5 / 64, 2: 2 * 7.5 + 14 * 7.5 / 64,
            3: 16 * 7.5 / 64}[stage]
    assert states == pytest.approx(hand, rel=1e-12)
    assert states == pytest.approx(expected_gb, abs=0.05)


def test_zero3_moves_one_and_a_half_times_the_baseline_bytes():
    # ZeRO Sec. 7.2: baseline and ZeRO-1/2 move 2 Psi, ZeRO-3 3 Psi (bandwidth term; alpha = 0)
    kw = dict(data_parallel=64, global_batch=64, link_latency=0, scale_up_latency=0,
              tensor_parallel=8, parameters=7.5e9, active_parameters=7.5e9,
              trainable_parameters=7.5e9, heads=96)
    base = evaluate(["dp_comm_time"], **kw)["dp_comm_time"]
    z3 = evaluate(["dp_comm_time"], parameter_gather_passes=2, **kw)["dp_comm_time"]
    assert z3 / base == pytest.approx(1.5, rel=1e-12)
    # hand: ring all-reduce of 7.5e9 x 2 B / 8 over 64 ranks on 25 GB/s: 2 x 63/64 x M / B
    assert base == pytest.approx(2 * 63 / 64 * 7.5e9 * 2 / 8 / 25e9, rel=1e-12)


def test_zero3_gathers_and_reduces_in_every_micro_batch():
    # PyTorch FSDP / ZeRO-3: weights are all-gathered for each forward and backward and the
    # gradients reduce-scattered in each micro-batch's backward (no unsharded gradient is kept),
    # so m micro-batches move m times the bytes of one; the overlap window grows with them
    kw = dict(data_parallel=64, link_latency=0, scale_up_latency=0, tensor_parallel=8,
              parameters=7.5e9, active_parameters=7.5e9, trainable_parameters=7.5e9, heads=96,
              link_bandwidth=0.01)  # GB/s: slow enough to be comm-bound
    one = evaluate(["dp_comm_time", "dp_exposed_time", "step_compute_time"], global_batch=64,
                   parameter_gather_passes=2, gradient_reduce_passes=1, **kw)
    four = evaluate(["dp_comm_time", "dp_exposed_time", "step_compute_time"], global_batch=256,
                    parameter_gather_passes=8, gradient_reduce_passes=4, **kw)
    assert four["dp_comm_time"] == pytest.approx(4 * one["dp_comm_time"], rel=1e-12)
    assert four["step_compute_time"] == pytest.approx(4 * one["step_compute_time"], rel=1e-9)
    # exposed = m x (per-micro-batch traffic - that micro-batch's compute), here comm-bound
    assert one["dp_exposed_time"] > 0
    assert four["dp_exposed_time"] == pytest.approx(4 * one["dp_exposed_time"], rel=1e-9)


def test_train_counts_zero_passes_per_micro_batch():
    from mlsysim_sym.tasks.training import train
    kw = dict(devices=16, seq_len=2048, precision="bf16", micro_batch=1)
    for z, (rs, ag) in {0: (1, 1), 1: (1, 1), 2: (4, 1), 3: (4, 8)}.items():
        r = train("llama-2-7b", "h100", global_batch=64, zero_stage=z, **kw)
        assert r.inputs()["gradient_reduce_passes"] == rs
        assert r.inputs()["parameter_gather_passes"] == ag


# ---- Pipeline bubble and tensor-parallel volume (Narayanan) --------------------------------
@pytest.mark.parametrize("p,m,v", [(8, 8, 1), (8, 64, 1), (4, 16, 2), (35, 280, 3)])
def test_bubble_is_p_minus_1_over_vm_of_the_ideal_time(p, m, v):
    out = evaluate(["pipeline_bubble_fraction", "pipeline_bubble_time", "step_compute_time",
                    "pp_comm_time"], pipeline_parallel=p, global_batch=m, pipeline_interleave=v,
                   link_latency=0, scale_up_latency=0)
    assert out["pipeline_bubble_fraction"] == pytest.approx((p - 1) / (v * m + p - 1), rel=1e-12)
    busy = out["step_compute_time"] + out["pp_comm_time"]
    assert out["pipeline_bubble_time"] / busy == pytest.approx((p - 1) / (v * m), rel=1e-12)


def test_tp_volume_is_8bsh_t_minus_1_over_t_per_layer():
    # Sec. 3.2: 8 b s h (t - 1)/t bytes-elements per layer per device per micro-batch (fp16: x2)
    out = evaluate(["tp_comm_time"], tensor_parallel=8, layers=1, scale_up_latency=0)
    assert out["tp_comm_time"] == pytest.approx(8 * SBH * 7 / 8 * 2 / 300e9, rel=1e-12)
    full = evaluate(["tp_comm_time"], tensor_parallel=8, layers=1, scale_up_latency=0,
                    recomputed_dense_fraction=1)
    assert full["tp_comm_time"] / out["tp_comm_time"] == pytest.approx(1.5, rel=1e-12)


# ---- The LM head's GEMMs at the precision it runs in -----------------------------------------
@pytest.mark.parametrize("p", [1, 4])
def test_lm_head_gemms_run_at_the_head_peak(p):
    # The FP8 recipes keep the output layer in BF16 (Megatron-Core gpt_model.py: output_layer is a
    # ColumnParallelLinear outside Transformer Engine; torchtitan float8.py: fqn != "output"):
    # halving the head's peak adds the head's 3 x 2 V h FLOPs per token once more at the GEMM
    # rate, on the last stage (p - 1)/p of them more with an even layer split (head imbalance).
    kw = dict(pipeline_parallel=p, global_batch=4 * p, link_latency=0, scale_up_latency=0)
    same = evaluate(["step_compute_time", "tokens_per_step"], **kw)
    half = evaluate(["step_compute_time"], head_peak_flops=156, **kw)
    head = 3 * 2 * 51200 * 12288                      # FLOP per token: forward + 2 backward
    tok_dev = same["tokens_per_step"] / p             # tokens per device (d = t = c = 1)
    extra = head * tok_dev * (1 + (p - 1)) / (312e12 * 0.5)
    assert half["step_compute_time"] - same["step_compute_time"] == pytest.approx(extra,
                                                                                   rel=1e-9)


def test_fp8_training_prices_the_lm_head_at_the_16bit_rate():
    # H100 SXM: 989 dense BF16 TFLOP/s, 1979 FP8 (registry); the head's peak is the BF16 one
    r8 = train("llama-3-8b", "h100", devices=8, global_batch=8, seq_len=4096,
               precision="fp8")
    r16 = train("llama-3-8b", "h100", devices=8, global_batch=8, seq_len=4096,
                precision="bf16")
    i8 = r8.base_inputs()
    assert i8["head_peak_flops"] == pytest.approx(r16.base_inputs()["peak_flops"], rel=1e-12)
    assert i8["head_peak_flops"] == pytest.approx(i8["peak_flops"] / 2, rel=1e-3)
    assert r16.base_inputs()["head_peak_flops"] == r16.base_inputs()["peak_flops"]


# ---- LoRA (Hu et al.) ----------------------------------------------------------------------
@pytest.mark.parametrize("rank,table4", [(1, 4.7e6), (8, 37.7e6)])
def test_lora_trainable_parameters_gpt3_table4(rank, table4):
    # W_q and W_v adapted in all 96 layers: r (d + k) = r (12288 + 12288) per matrix
    m = _gpt2("gpt3-lora", 96, 12288, 96, 50257, 2048)
    r = train(m, "a100", devices=64, tp=8, pp=8, micro_batch=1, global_batch=64,
              lora_rank=rank, lora_targets=("q", "v"))
    assert r.trainable_parameters.to("param").magnitude == pytest.approx(
        rank * 2 * 96 * 24576, rel=1e-12)
    assert r.trainable_parameters.to("param").magnitude == pytest.approx(table4, rel=0.01)


def test_lora_speedup_matches_hu_et_al_footnote5_with_full_recomputation():
    # GPT-3 175B on V100: 32.5 tokens/s (fine-tuning) vs 43.1 (LoRA) per GPU = 1.326x. With full
    # recomputation a compute-bound step does 8N vs 6N FLOPs per token = 1.333x (assumption:
    # the paper does not state its recomputation setting; without it the model says 1.5x).
    # The memory-bound kernels (norms, GeLU, residual adds) run in full under LoRA too (the
    # activation gradients are still needed), which pulls the GEMM-only 1.333 to about 1.30.
    m = _gpt2("gpt3-lora", 96, 12288, 96, 50257, 2048)
    kw = dict(devices=64, tp=8, pp=8, micro_batch=1, global_batch=512, recompute="full",
              **_flat(0.64))
    full = train(m, "a100", **kw).compute_time.magnitude
    lora = train(m, "a100", lora_rank=4, **kw).compute_time.magnitude
    assert full / lora == pytest.approx(43.1 / 32.5, rel=0.03)


# ---- Calibration rows (reported honestly; nothing tuned) -----------------------------------
def _flat(compute, memory=0.8, chip="a100"):
    """train() settings of the pre-split step: every FLOP (attention too) at ``compute`` x peak,
    the memory-bound kernels' bytes at ``memory`` x the HBM bandwidth, no fixed overheads, no
    model-parallel overlap. Explicit, so these checks do not move when the defaults are
    calibrated. The GEMMs' efficiency counts from the chip's measured matmul ceiling (registry
    ``matmul_ceiling``: Bekman's MAMF table, 85.9% of the A100 SXM peak, 80.1% of the H100
    SXM's), the attention core's from the datasheet peak: ``compute`` / ceiling keeps every FLOP
    at ``compute`` x peak, as these checks were written."""
    ceiling = float(registry.hardware(chip).matmul_ceiling.magnitude)
    return dict(efficiency={"compute": compute / ceiling, "attention": compute, "memory": memory,
                            "communication": 1.0, "step_overhead": 0,
                            "layer_overhead": 0}, model_parallel_overlap=0.0)


def _gpt2(name, layers, hidden, heads, vocab, seq):
    # the config.json in a directory of this call's own (not a fixed path: parallel test
    # workers, or two runs on one machine, would write and read the same file at once)
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory(prefix="mlsysim-gpt2-") as d:
        path = Path(d) / "config.json"
        path.write_text(json.dumps(dict(
            model_type="gpt2", n_layer=layers, n_embd=hidden, n_head=heads, vocab_size=vocab,
            n_positions=seq)))
        return Model.from_hf_config(path, name=name)


# Korthikanti Table 5 (A100 80GB, DP = 1, fp16): (name, L, h, a, GPUs, tp, pp, v, B, b,
# full-recompute s, selective + SP s). Vocabulary 51,200 (Narayanan Sec. 5.1; not in Calculon).
TABLE5 = [("22b", 48, 6144, 64, 8, 8, 1, 1, 4, 4, 1.42, 1.10),
          ("175b", 96, 12288, 96, 64, 8, 8, 3, 64, 1, 18.13, 13.75),
          ("530b", 105, 20480, 128, 280, 8, 35, 3, 280, 1, 49.05, 37.83),
          ("1t", 128, 25600, 160, 512, 8, 64, 1, 512, 1, 94.42, 71.49)]


@pytest.mark.parametrize("row", TABLE5, ids=[r[0] for r in TABLE5])
def test_korthikanti_table5_iteration_times_default_efficiency(row):
    # The pre-calibration default compute efficiency (0.64, derived from a TensorRT-LLM A100
    # prefill row, not from these), passed explicitly with the pre-split step (_flat):
    # predictions fall within [0.75, 1.15] of the measured times (observed 0.81-1.05),
    # and the full/selective ratio within 6% of the measured one (observed 1.02-1.055 x: the
    # memory-bound kernels cost full recomputation more, as its h-wide kernels are replicated
    # over t = 8 without sequence parallelism and their forward runs twice).
    name, L, h, a, n, t, p, v, B, b, t_full, t_sel = row
    m = _gpt2(f"korthikanti-{name}", L, h, a, 51200, 2048)
    kw = dict(devices=n, tp=t, pp=p, interleave=v, micro_batch=b, global_batch=B,
              precision="fp16", flash_attention=False, **_flat(0.64))
    full = train(m, "a100", recompute="full", **kw)
    sel = train(m, "a100", recompute="selective", sequence_parallel=True, **kw)
    assert full.feasible and sel.feasible
    pf, ps = full.step_time.to("s").magnitude, sel.step_time.to("s").magnitude
    assert 0.75 < pf / t_full < 1.15 and 0.75 < ps / t_sel < 1.15
    assert (pf / ps) / (t_full / t_sel) == pytest.approx(1, abs=0.06)


# llm-foundry H100 BF16 rows: (id, params, L, h, a, seq, GPUs, micro, global, ckpt, sharding,
# measured MFU). V = 50,368; NumParams equals the GPT-2-style count with learned positions.
FOUNDRY_H100 = [
    ("70b-x512", 80, 8192, 64, 2048, 512, 8, 4096, True, 3, 0.4120),
    ("30b-x256", 48, 7168, 56, 2048, 256, 8, 2048, True, 3, 0.4094),
    ("13b-x128", 40, 5120, 40, 2048, 128, 16, 2048, True, 3, 0.4217),
    ("7b-x512", 32, 4096, 32, 2048, 512, 6, 3072, False, 3, 0.4221),
    ("3b-x256", 32, 2560, 20, 2048, 256, 8, 2048, False, 2, 0.4125),
    ("1b-x128", 24, 2048, 16, 2048, 128, 12, 1536, False, 2, 0.4060),
    ("70b-x32", 80, 8192, 64, 2048, 32, 2, 1024, True, 3, 0.3615),
    ("30b-x32", 48, 7168, 56, 2048, 32, 14, 1344, True, 3, 0.4394),
    ("13b-x8-s4096", 40, 5120, 40, 4096, 8, 10, 240, True, 3, 0.4160),
    ("7b-x8-s8192", 32, 4096, 32, 8192, 8, 2, 96, True, 3, 0.3708),
]


def _foundry(row, compute):
    name, L, h, a, s, n, b, B, ckpt, zero, mfu = row
    m = _gpt2(f"mpt-{name}", L, h, a, 50368, s)
    return train(m, "h100", devices=n, micro_batch=b, global_batch=B, seq_len=s,
                 recompute="full" if ckpt else "none", zero_stage=zero,
                 **_flat(compute, chip="h100")), mfu


def test_llmfoundry_h100_mfu_with_an_efficiency_from_one_other_row():
    # Derive the H100 BF16 compute efficiency from ONE row (7b on 512 GPUs, no checkpointing:
    # its MFU is the efficiency times the scaling efficiency), then predict the other nine.
    # One efficiency for every FLOP, attention included, the memory-bound kernels' bytes at 0.8
    # of the HBM bandwidth and no fixed overheads (_flat): the MFU then rises with it while
    # the step is compute-bound.
    # (the anchor at the H100's matmul ceiling, 0.801 of the peak: the GEMMs' efficiency from
    # that ceiling may not pass 1)
    ceiling = float(registry.hardware("h100").matmul_ceiling.magnitude)
    anchor, measured = _foundry(FOUNDRY_H100[3], ceiling)
    eta = ceiling * measured / anchor.mfu.magnitude
    # 0.422 when the memory-bound kernels were not charged; 0.471 for the GEMMs alone now that
    # their bytes (norms, GeLU, residual adds, the loss: about 10% of this step) take their
    # own time, with the anchor at the full peak; 0.462 with the anchor at the matmul ceiling
    # (the memory-bound time does not scale with the anchor's efficiency, so the linear
    # inversion depends on where it is taken); 0.471 since the GEMMs also pay their shapes'
    # tile and wave quantization (nvidia2023matmul Sec. 5: 6 x 2048 rows by 4096-16384 columns
    # on 132 SMs lose about 2%, so the same measured MFU needs a higher eta)
    assert eta == pytest.approx(0.471, abs=0.002)
    ratios = []
    for row in FOUNDRY_H100[:3] + FOUNDRY_H100[4:]:
        res, meas = _foundry(row, eta)
        assert res.feasible
        ratios.append(res.mfu.magnitude / meas)
    # observed 0.72 - 1.04: checkpointed large-model rows run at a higher hardware efficiency
    # than the anchor (llm-foundry's HFU for them is ~0.55), which one efficiency cannot carry
    assert 0.7 < min(ratios) and max(ratios) < 1.15


def test_llmfoundry_a100_mfu_with_the_default_efficiency():
    # A100 80GB rows (3B-70B), the pre-calibration default efficiency 0.64 with the pre-split
    # step (_flat): observed 0.86-1.07 of the measured MFU
    rows = [("70b-a100-x64", 80, 8192, 64, 2048, 64, 2, 1024, True, 3, 0.5330),
            ("30b-a100-x8", 48, 7168, 56, 2048, 8, 3, 168, True, 3, 0.5527),
            ("13b-a100-x8-s8192", 40, 5120, 40, 8192, 8, 1, 64, True, 3, 0.5609),
            ("3b-a100-x8", 32, 2560, 20, 2048, 8, 8, 512, False, 2, 0.6208)]
    for name, L, h, a, s, n, b, B, ckpt, zero, mfu in rows:
        m = _gpt2(f"mpt-{name}", L, h, a, 50368, s)
        res = train(m, "a100", devices=n, micro_batch=b, global_batch=B, seq_len=s,
                    recompute="full" if ckpt else "none", zero_stage=zero, **_flat(0.64))
        assert 0.8 < res.mfu.magnitude / mfu < 1.15


def test_gpt3_on_1024_a100_is_near_narayanan_34_days():
    # Narayanan Sec. 5.1: GPT-3 175B, 300B tokens, 1024 A100, batch 1536, 140 TFLOP/s per GPU
    # (eq. 3 FLOPs, i.e. HFU 0.449) -> 34 days. With the same achieved HFU our time agrees to a
    # few per cent (eq. (4) drops the attention and logit terms that eq. (3) keeps).
    r = train("gpt-3-175b", "a100-1024-hdr", tp=8, pp=8, micro_batch=1, global_batch=1536,
              recompute="full", tokens="300e9 token", **_flat(0.64))
    assert r.feasible
    hfu = r.hfu.magnitude
    days = r.time_to_train.to("day").magnitude * hfu / (140 / 312)
    assert days == pytest.approx(34, rel=0.1)
