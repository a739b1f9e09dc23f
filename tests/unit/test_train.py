"""The train() facade: registry names, clusters vs chips, vectorised layouts, bad input, ops."""

import json

import numpy as np
import pytest
import sympy

from mlsysim_sym import registry
from mlsysim_sym.tasks.training import IronLaw, TrainResult, iron_law, train

GPT3 = dict(tp=8, pp=8, micro_batch=1, global_batch=1536, recompute="full")


def test_registry_cluster_gpt3_1024_a100():
    r = train("gpt-3-175b", "a100-1024-hdr", tokens="300e9 token", **GPT3)
    assert isinstance(r, TrainResult) and r.feasible
    assert r.config["dp"] == 16 and r.config["devices"] == 1024
    assert r.micro_batches.magnitude == pytest.approx(1536 / 16)
    # the step is the sum of its terms (plus the fixed per-step overhead, an input)
    b = r.breakdown()
    terms = sum(b[k].to("s").magnitude for k in ("compute", "optimizer", "tp_communication",
                                                  "pp_communication", "cp_communication",
                                                  "ep_communication", "dp_communication",
                                                  "pp_bubble"))
    terms += r.inputs()["training_step_overhead"].to("s").magnitude
    assert r.step_time.to("s").magnitude == pytest.approx(terms, rel=1e-12)
    assert 0 < r.mfu.magnitude < r.hfu.magnitude < 1
    assert r.hfu.magnitude / r.mfu.magnitude == pytest.approx(
        (r.hardware_flops_per_token / r.model_flops_per_token).magnitude, rel=1e-12)
    assert r.bottleneck == "Compute" and r.binding_term == "compute"
    assert (r.tokens_per_s * r.step_time).to("token").magnitude == pytest.approx(1536 * 2048)
    assert r.time_to_train.to("day").magnitude == pytest.approx(
        300e9 / r.tokens_per_s.to("token/day").magnitude, rel=1e-12)
    assert "GB" in repr(r) and "MFU" in repr(r)


def test_chip_name_with_devices_uses_the_registry_node():
    r = train("llama-3-8b", "h100", devices=16, tp=2, micro_batch=2, global_batch=64)
    assert r.config["node"] == "dgx-h100"        # DGX preferred over HGX for nvidia-h100-sxm
    assert r.inputs()["devices_per_node"].magnitude == 8
    assert r.inputs()["link_bandwidth"].to("GB/s").magnitude == pytest.approx(50)   # NDR
    assert r.inputs()["scale_up_bandwidth"].to("GB/s").magnitude == pytest.approx(450)
    assert any("dgx-h100" in a for a in r.assumptions)


@pytest.mark.parametrize("devices,node,g", [(4, "tpu-v5p-host", 4), (32, "tpu-v5p-slice-64", 64),
                                            (512, "tpu-v5p-slice-6144", 6144),
                                            (8192, "tpu-v5p-slice-6144", 6144)])
def test_tpu_chip_runs_in_the_smallest_ici_slice_that_holds_the_job(devices, node, g):
    """A v5p job's collectives run over ICI within one slice (GCP TPU v5p docs: slices up to
    6144 chips, 4-chip hosts joined by ICI); only past the largest slice does traffic cross the
    data-center network (multislice). The registry node chosen for a bare chip is the smallest
    whose scale-up domain holds the devices, else the largest."""
    r = train("llama-3-8b", "tpu-v5p", devices=devices, global_batch=devices)
    assert r.config["node"] == node
    assert r.inputs()["devices_per_node"].magnitude == g
    ici = r.inputs()["scale_up_bandwidth"].to("GB/s").magnitude
    assert ici == pytest.approx(600)                                    # v5p ICI per chip


def test_tpu_slice_keeps_the_data_parallel_gradients_on_ici():
    # 405B on 512 v5p with FSDP: over ICI the gradient traffic hides under the compute; over the
    # 4-chip hosts' DCN (6.25 GB/s per chip) it would take ~24 s of a ~109 s step
    r = train("llama-3-1-405b", "tpu-v5p", devices=512, global_batch=512, seq_len=8192,
              zero_stage=3, recompute="full")
    assert r.binding_term == "compute"
    assert r.to_dict()["dp_communication"]["value"] == pytest.approx(0.0, abs=1e-9)


def test_chip_without_devices_is_an_error():
    with pytest.raises(ValueError, match="devices=N"):
        train("llama-3-8b", "h100", global_batch=8)


def test_hf_config_model(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(dict(
        model_type="llama", hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
        num_attention_heads=32, num_key_value_heads=4, vocab_size=32000,
        max_position_embeddings=2048, tie_word_embeddings=False)))
    m = registry.Model.from_hf_config(tmp_path, name="tiny-llama")
    r = train(m, "a100", devices=8, micro_batch=4, global_batch=64)
    assert r.feasible and r.model.name == "tiny-llama"


def test_infeasible_is_an_answer_with_a_reason_not_a_nan():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no "All-NaN slice" or invalid-value warning
        r = train("llama-3-70b", "h100", devices=8, tp=8, micro_batch=1, global_batch=64)
        assert not r.feasible and r.bottleneck == "Memory" and r.binding_term == "memory_capacity"
        assert r.memory_per_device > r.memory_capacity
        # the step time is what the step would take, flagged by feasible / reason
        assert np.isfinite(r.step_time.magnitude) and r.step_time.magnitude > 0
        assert np.isfinite(r.mfu.magnitude)
        assert r.step_time == r.breakdown()["step_time"]
        mem = r.memory_per_device.to("GB").magnitude
        assert r.reason.startswith("does not fit") and f"{mem:.4g} GB per device" in r.reason
        assert "activations" in r.reason and "does not fit" in repr(r)
        assert r.to_dict()["reason"] == r.reason


def test_reason_is_per_point_for_a_vectorised_plan():
    r = train("llama-3-8b", "h100", devices=8, micro_batch=np.array([1, 16]), global_batch=512,
              zero_stage=3)
    assert list(r.feasible) == [True, False]
    assert r.reason[0].startswith("fits:") and r.reason[1].startswith("does not fit:")


def test_zero_stages_shrink_the_model_states():
    mem = [train("llama-3-8b", "h100", devices=64, micro_batch=1, global_batch=64,
                 zero_stage=z).memory_per_device.to("GB").magnitude for z in range(4)]
    assert mem[0] > mem[1] > mem[2] > mem[3]


def test_vectorised_layout_search_one_call():
    tp = np.array([1, 2, 4, 8, 8])
    pp = np.array([1, 1, 2, 2, 8])
    r = train("llama-3-70b", "lab-64-h100", tp=tp, pp=pp, micro_batch=1, global_batch=512,
              zero_stage=1, recompute="full")
    assert r.step_time.magnitude.shape == (5,)
    assert list(r.config["dp"]) == [64, 32, 8, 4, 1]
    assert list(r.feasible) == [False, False, True, True, True]
    assert list(r.bottleneck[:2]) == ["Memory", "Memory"]
    one = train("llama-3-70b", "lab-64-h100", tp=4, pp=2, micro_batch=1, global_batch=512,
                zero_stage=1, recompute="full")
    assert r.step_time.magnitude[2] == pytest.approx(one.step_time.magnitude, rel=1e-9)
    assert "vectorised" in repr(r)
    d = r.to_dict()
    assert d["feasible"] == [False, False, True, True, True] and len(d["step_time"]["value"]) == 5


def test_vectorised_batch_and_sequence():
    r = train("llama-3-8b", "h100", devices=8, micro_batch=np.array([1, 2, 4]),
              global_batch=64, seq_len=np.array([[2048], [4096]]))
    assert r.tokens_per_s.magnitude.shape == (2, 3)


@pytest.mark.parametrize("kwargs,match", [
    (dict(tp=8, pp=2, dp=3), r"tp x pp x dp x cp = 8 x 2 x 3 x 1 = 48.*64 devices.*dp = 4"),
    (dict(tp=8, pp=3), r"tp x pp x cp = 8 x 3 x 1 = 24.*does not divide the 64 devices"),
    (dict(tp=16, pp=1), r"tp=16.*crosses the node boundary.*8 accelerators"),
    (dict(tp=2, global_batch=100), r"global_batch=100 must be a multiple of dp x micro_batch = "
                                   r"32 x 1 = 32; nearest valid global batches: 96, 128"),
    (dict(tp=2, global_batch=16), r"dp x micro_batch = 32 x 1 exceeds global_batch=16: "
                                  r"micro_batch must be at most global_batch / dp"),
    (dict(tp=2, ep=2), r"ep=2 needs a mixture-of-experts model"),
    (dict(tp=2, precision="fp7"), r"unknown precision"),
    (dict(tp=2, recompute="some"), r"recompute must be one of"),
    (dict(tp=2, zero_stage=4), r"zero_stage must be"),
    (dict(tp=2, efficiency=1.5), r"compute efficiency must be in"),
    (dict(tp=3), r"tp=3.*does not divide the 64 attention heads"),
    (dict(tp=2, pp=2, interleave=2, global_batch=48), r"multiple of pp"),
    (dict(tp=2, pp=2, even_layer_split="no"), r"even_layer_split must be True or False"),
])
def test_bad_input_is_a_clear_value_error(kwargs, match):
    kw = dict(micro_batch=1, global_batch=64)
    kw.update(kwargs)
    with pytest.raises(ValueError, match=match):
        train("llama-3-70b", "lab-64-h100", **kw)


def test_cross_node_tp_when_asked_uses_the_scale_out_fabric():
    inside = train("llama-3-70b", "lab-64-h100", tp=8, micro_batch=1, global_batch=64,
                   zero_stage=3)
    across = train("llama-3-70b", "lab-64-h100", tp=16, micro_batch=1, global_batch=64,
                   zero_stage=3, allow_cross_node_tp=True)
    assert across.tp_comm_time > 3 * inside.tp_comm_time


def test_more_devices_than_the_cluster_is_an_error():
    with pytest.raises(ValueError, match="exceeds cluster"):
        train("llama-3-8b", "lab-64-h100", devices=128, global_batch=128)


def test_moe_model_uses_active_parameters_and_expert_parallelism():
    r = train("mixtral-8x7b", "h100", devices=64, tp=2, ep=8, micro_batch=1, global_batch=256,
              seq_len=4096, recompute="selective", sequence_parallel=True, zero_stage=1)
    m = registry.model("mixtral-8x7b")
    # model FLOPs per token follow the ~12.9B active parameters, not the 46.7B total
    fwd_params = (r.model_flops_per_token.magnitude / 6)
    assert fwd_params < 0.5 * m.parameters.to("param").magnitude
    assert r.ep_comm_time.magnitude > 0
    dense = train("mixtral-8x7b", "h100", devices=64, tp=2, ep=1, micro_batch=1,
                  global_batch=256, seq_len=4096, recompute="selective", sequence_parallel=True,
                  zero_stage=1)
    assert r.weight_bytes < dense.weight_bytes          # experts split over 8 EP ranks


def test_context_parallelism_splits_the_activations():
    kw = dict(devices=8, tp=2, micro_batch=1, global_batch=64, seq_len=32768,
              sequence_parallel=True)
    one = train("llama-3-8b", "h100", **kw)
    two = train("llama-3-8b", "h100", cp=2, **kw)
    assert two.activation_bytes.magnitude == pytest.approx(one.activation_bytes.magnitude / 2)


def test_lora_cuts_optimizer_state_and_keeps_frozen_weights():
    full = train("llama-3-8b", "h100", devices=8, micro_batch=1, global_batch=64)
    lora = train("llama-3-8b", "h100", devices=8, micro_batch=1, global_batch=64, lora_rank=16,
                 lora_targets=("q", "k", "v", "o"))
    assert not full.feasible and lora.feasible       # 137 GB vs 25 GB per device
    assert lora.weight_bytes == full.weight_bytes
    assert lora.optimizer_bytes < full.optimizer_bytes / 100
    assert lora.step_time < full.breakdown(unchecked=True)["step_time"]
    assert lora.mfu <= lora.hfu
    with pytest.raises(ValueError, match="unknown LoRA targets"):
        train("llama-3-8b", "h100", devices=8, global_batch=64, lora_rank=8, lora_targets=("x",))


def test_ops_walls_on_demand():
    ops = dict(device_mtbf="79230 h", node_component_mtbf="126391 h", recovery_time="30 min",
               cloud_price="2 USD/h")
    r = train("llama-3-8b", "lab-64-h100", micro_batch=2, global_batch=512, zero_stage=1,
              tokens="1e12 token", ops=ops)
    assert 0.99 < r.goodput.magnitude < 1
    assert r.wall_clock_time > r.time_to_train
    assert r.expected_failures.magnitude > 0
    # rental cost = devices x hours x price (DeepSeek-V3 Table 1 arithmetic)
    hours = r.wall_clock_time.to("h").magnitude
    assert r.cost.to("USD").magnitude == pytest.approx(64 * hours * 2, rel=1e-9)
    # energy: devices x node power share x hours x PUE (us-average PUE 1.15; DGX H100 10.2 kW / 8)
    assert r.energy.to("MWh").magnitude == pytest.approx(
        64 * 10.2 / 8 * hours * 1.15 / 1000, rel=1e-9)
    assert r.carbon.to("tCO2e").magnitude == pytest.approx(
        r.energy.to("MWh").magnitude * 366 / 1000, rel=1e-9)
    assert r.water.magnitude > 0


def test_ops_without_inputs_say_what_is_missing():
    r = train("llama-3-8b", "lab-64-h100", micro_batch=2, global_batch=512, tokens="1e12 token")
    assert r.goodput.magnitude == 1 and any("goodput 1" in a for a in r.assumptions)
    with pytest.raises(ValueError, match="cloud_price"):
        r.cost
    with pytest.raises(AttributeError, match="device_mtbf"):
        r.expected_failures
    no_tokens = train("llama-3-8b", "lab-64-h100", micro_batch=2, global_batch=512)
    with pytest.raises(AttributeError, match="tokens"):
        no_tokens.time_to_train
    with pytest.raises(ValueError, match="unknown ops"):
        train("llama-3-8b", "lab-64-h100", global_batch=512, ops={"mtbf": 1})


def test_iron_law_is_an_identity_of_the_system():
    law = iron_law()
    assert isinstance(law, IronLaw) and r"\eta_{\mathrm{scaling}}" in law.latex
    assert isinstance(law.equation, sympy.Eq)
    # every term of the split step active (explicit: independent of the calibrated defaults)
    eff = {"compute": 0.6, "attention": 0.4, "memory": 0.7, "communication": 0.8,
           "step_overhead": "30 ms", "layer_overhead": "10 us"}
    r = train("gpt-3-175b", "a100-1024-hdr", tokens="300e9 token", efficiency=eff,
              model_parallel_overlap=0.5, **GPT3)
    f = law.factors
    inputs = r.inputs()
    subs = {}
    for expr in f.values():
        for sym in expr.free_symbols:
            if sym.name in inputs:
                subs[sym] = inputs[sym.name].to_base_units().magnitude
    from mlsysim_sym.system import substitute_constants
    num = {k: float(substitute_constants(v).xreplace(subs)) if k != "G" else 1.0
           for k, v in f.items()}
    t = num["C"] / (num["N"] * num["R_peak"] * num["eta_mfu"] * num["eta_scaling"] * num["G"])
    assert t == pytest.approx(r.time_to_train.to_base_units().magnitude, rel=1e-9)


def test_even_layer_split_makes_the_pipeline_wait_for_the_lm_head():
    # Llama 3 70B (vocab 128256) on 8 stages: with an even layer split the last stage runs
    # 10 layers plus the head; the step grows by the head's excess work (its GEMMs and its
    # loss kernels' bytes per logit at the memory roof), stretched by the bubble
    kw = dict(devices=64, tp=8, pp=8, micro_batch=1, global_batch=256, seq_len=8192,
              recompute="selective", sequence_parallel=True)
    fair = train("llama-3-70b", "h100", **kw)
    even = train("llama-3-70b", "h100", even_layer_split=True, **kw)
    assert even.config["even_layer_split"] and not fair.config["even_layer_split"]
    m = registry.model("llama-3-70b")
    v, h = m.vocab, m.hidden
    tokens = 256 * 8192 / 64
    rate = (fair.inputs()["peak_flops"] * fair.inputs()["compute_efficiency"]
            * fair.inputs()["matmul_ceiling"]   # the GEMMs' rate (their ceiling, and their
            * fair.inputs()["gemm_shape_efficiency"]).to("FLOP/s")  # shapes' tile/wave loss)
    bw = (fair.inputs()["memory_bandwidth"] * fair.inputs()["memory_efficiency"]).to("B/s")
    loss = fair.inputs()["loss_traffic_per_logit"].to("B").magnitude * v * tokens * (8 - 1)
    excess = 3 * 2 * v * h * tokens * (8 - 1) / rate.magnitude + loss / bw.magnitude
    grown = (even.value("step_compute_time") - fair.value("step_compute_time"))
    assert grown == pytest.approx(excess, rel=1e-9)
    assert even.step_time > fair.step_time and even.mfu < fair.mfu
    # one stage: nothing to wait for
    one = dict(kw, pp=1, tp=8)
    assert train("llama-3-70b", "h100", even_layer_split=True, **one).value(
        "training_step_time") == train("llama-3-70b", "h100", **one).value("training_step_time")
