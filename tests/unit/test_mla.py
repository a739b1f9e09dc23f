"""Multi-head latent attention (DeepSeek-V2/V3) in serving: the MLA record defines wall 4's KV
cache width and attention widths; predict, serve and size_fleet serve DeepSeek-V3.

DeepSeek-V3 shape (registry, from its config.json): 61 layers, 128 heads, hidden 7168,
kv_lora_rank d_c = 512, qk_rope_head_dim d_h^R = 64, qk_nope_head_dim 128, v_head_dim 128,
dense FFN 18432 (gated). MLA caches (d_c + d_h^R) l elements per token (DeepSeek-V2,
arXiv:2405.04434, Table 1): 576 x 61 = 35,136 elements, 70,272 bytes at 16 bits, 35,136 at 8.
H200 SXM: 141 GiB of HBM3e (registry).
"""

import json
import math

import pytest

import mlsysim_sym as ms
from mlsysim_sym import symbols as s
from mlsysim_sym.cli import main
from mlsysim_sym.equations import mla, serving, walls, workloads
from mlsysim_sym.scenarios import moe_serving_system, serving_system
from mlsysim_sym.system import CompositionError, System
from mlsysim_sym.units import Q_

L, H, D_C, D_R, D_NOPE, D_V, HIDDEN, FFN = 61, 128, 512, 64, 128, 128, 7168, 18432
PER_TOKEN_FP16 = 70_272          # B: (512 + 64) x 61 x 2
H200_BYTES = 141 * 2 ** 30       # 141 GiB


# ------------------------------------------------------------------ the equations
def test_the_mla_record_defines_exactly_wall_4s_attention_quantities():
    defined = {eq.lhs for eq in workloads.multi_head_latent_attention.equations}
    assert defined == set(serving.ATTENTION_WIDTHS)
    assert defined <= {eq.lhs for eq in walls.serving.equations}   # MHA/GQA/MQA definitions
    for eq in workloads.multi_head_latent_attention.equations:
        assert eq.cite == "deepseek2024v2" and eq.locator


def test_every_other_serving_equation_is_shared_by_both_variants():
    dense, latent = serving_system(), serving_system(True)
    for sym in (s.kv_cache_bytes, s.decode_flops, s.prefill_flops, s.decode_bytes,
                s.memory_footprint, s.kv_group_bytes_per_token, s.sequence_capacity):
        assert dense.definitions[sym] is latent.definitions[sym]
    for sym in serving.ATTENTION_WIDTHS:
        assert latent.definitions[sym] in mla.WALL.equations
    names = set(latent.input_names)
    assert {"kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim"} <= names
    assert not names & {"kv_heads", "head_dim"}
    assert {"kv_heads", "head_dim"} <= set(dense.input_names)
    assert moe_serving_system(True).is_output("moe_time_per_output_token")


def test_composing_mla_needs_the_swap_of_wall_4s_definitions():
    with pytest.raises(CompositionError, match="defined twice"):
        System.from_walls(walls.serving, workloads.multi_head_latent_attention)
    with pytest.raises(ValueError, match="Serving wall"):
        mla.latent_attention(walls.compute, walls.memory)


def _latent_roofline():
    return System.from_walls(*mla.latent_attention(walls.compute, walls.memory, walls.serving))


def test_kv_cache_is_the_latent_plus_the_rope_key_per_layer_replicated_over_tp():
    k = _latent_roofline().compile(["kv_cache_bytes"])
    base = dict(layers=L, kv_lora_rank=D_C, qk_rope_head_dim=D_R, batch=1,
                context_length=Q_(1, "token"), kv_bytes_per_element=Q_(2, "B"),
                tensor_parallel=1, attention_data_parallel=1)
    one = k.evaluate(**base).quantity("kv_cache_bytes").to("B").magnitude
    assert one == pytest.approx(PER_TOKEN_FP16, rel=1e-12)
    # 4096 tokens x 4 sequences at 8 bits: half the bytes per token
    big = k.evaluate(**{**base, "batch": 4, "context_length": Q_(4096, "token"),
                        "kv_bytes_per_element": Q_(1, "B")}).quantity("kv_cache_bytes")
    assert big.to("B").magnitude == pytest.approx(PER_TOKEN_FP16 / 2 * 4096 * 4, rel=1e-12)
    # a TP group of 8 holds 8 copies (one per rank: the latent cannot be split by heads)
    tp8 = k.evaluate(**{**base, "tensor_parallel": 8}).quantity("kv_cache_bytes")
    assert tp8.to("B").magnitude == pytest.approx(8 * PER_TOKEN_FP16, rel=1e-12)
    # attention data parallelism over the 8 (TensorRT-LLM enable_attention_dp: KV cache with
    # tp_size = 1): each request's latent lives on its own rank only, one copy over the group
    dp8 = k.evaluate(**{**base, "tensor_parallel": 8, "attention_data_parallel": 8})
    assert dp8.quantity("kv_cache_bytes").to("B").magnitude == pytest.approx(PER_TOKEN_FP16,
                                                                             rel=1e-12)


def test_attention_flops_absorbed_in_decode_per_head_in_prefill():
    k = _latent_roofline().compile(["decode_flops", "prefill_flops"])
    n_a, ctx = 37.55e9, 2048
    ev = k.evaluate(active_parameters=Q_(n_a, "param"), layers=L, heads=H, kv_lora_rank=D_C,
                    qk_rope_head_dim=D_R, qk_nope_head_dim=D_NOPE, v_head_dim=D_V, batch=1,
                    context_length=Q_(ctx, "token"), prompt_length=Q_(ctx, "token"),
                    prefill_chunk_tokens=Q_(0, "token"), prefix_cache_hit_rate=0,
                    # no LM head split off: 2 N_a on every prompt token
                    head_parameters=Q_(0, "param"))
    # decode: Q K^T over the latent and RoPE key (576), A V over the latent (512), 2 FLOPs each
    decode = 2 * n_a + 2 * L * H * ((D_C + D_R) + D_C) * ctx
    assert ev.quantity("decode_flops").to("FLOP").magnitude == pytest.approx(decode, rel=1e-12)
    # prefill: per-head keys of 128 + 64 and values of 128 over S_p^2 / 2 causal pairs
    prefill = 2 * n_a * ctx + 2 * L * H * ((D_NOPE + D_R) + D_V) * ctx ** 2 / 2
    assert ev.quantity("prefill_flops").to("FLOP").magnitude == pytest.approx(prefill, rel=1e-12)


# ------------------------------------------------------------------ predict
@pytest.mark.parametrize("precision,per_token", [("fp16", PER_TOKEN_FP16),
                                                 ("fp8", PER_TOKEN_FP16 // 2)])
def test_deepseek_v3_kv_cache_per_token(precision, per_token):
    m = ms.registry.model("deepseek-v3")   # 61 layers x (kv_lora_rank 512 + rope 64) elements
    assert m.layers * (m.mla.kv_lora_rank + m.mla.qk_rope_head_dim) \
        * (2 if precision == "fp16" else 1) == per_token
    r = ms.predict("deepseek-v3", "h200", batch=1, seq_len=1, precision=precision)
    assert r.kv_cache.to("B").magnitude == pytest.approx(per_token, rel=1e-12)
    r = ms.predict("deepseek-v3", "h200", batch=3, seq_len=1000, precision=precision, tp=8)
    # per device: the whole latent cache of every sequence on each of the 8 ranks
    assert (r.kv_cache / 8).to("B").magnitude == pytest.approx(per_token * 3000, rel=1e-12)


def test_deepseek_v3_fits_on_8_h200_at_fp8_and_not_on_fewer():
    r = ms.predict("deepseek-v3", "h200", precision="fp8", tp=8, batch=1, seq_len=2048)
    assert r.feasible and r.bottleneck == "Memory"
    # B: the registry's derived 671.0e9 parameters x 1 B, plus 1 B more for each weight of the
    # embedding and the LM head (2 x 129280 x 7168), which the engines keep at 16 bits
    # (ModelOpt's FP8 export excludes lm_head; vLLM's Fp8Config quantises LinearBase layers)
    weights = 671_026_404_352 + 2 * 129280 * 7168
    assert r.weights.to("B").magnitude == pytest.approx(weights, rel=1e-12)
    # one layer's live activations on a rank, 2 B each: below 16 bits the activations between
    # layers stay 16-bit (vLLM FP8 W8A8: FP8 weights and GEMM inputs, a BF16/FP16 residual
    # stream); 1 B each before that
    act = 2048 * (HIDDEN + 2 * FFN / 8) * 2
    per_device = weights / 8 + PER_TOKEN_FP16 / 2 * 2048 + act
    assert r.memory_footprint.to("B").magnitude == pytest.approx(per_device, rel=1e-12)
    assert per_device < H200_BYTES
    assert 0 < r.time_per_output_token.to("ms").magnitude < math.inf
    assert r.ttft > r.time_per_output_token
    # decode reads the experts the batch touches (8 routed at batch 1), not all 256
    assert r.outputs()["moe_decode_experts_touched"].magnitude == pytest.approx(8)
    assert r.decode_bytes_read < r.weights / 2
    assert not ms.predict("deepseek-v3", "h200", precision="fp8", tp=4).feasible
    assert "does not fit" in ms.predict("deepseek-v3", "h200", precision="fp8").reason


def test_deepseek_v3_cites_mla_and_its_registry_dimensions():
    r = ms.predict("deepseek-v3", "h200", precision="fp8", tp=8)
    assert r.system is moe_serving_system(True)
    assert "arXiv:2405.04434" in ms.cite(r)
    fields = [f for _, f in r.registry_fields()]
    assert "architecture.mla.kv_lora_rank" in fields and "head_dim" not in fields
    assert r.inputs()["kv_lora_rank"].magnitude == D_C


#: a small dense MLA model without a query latent (DeepSeek-V2-Lite's shape), shared with
#: tests/unit/test_train_step_table.py
DENSE_MLA_SPEC = {
    "name": "dense-mla-test", "display_name": "dense MLA test", "family": "decoder",
    "provenance": {"source": "hf-deepseek-v3-config", "locator": "test shape",
                   "retrieved": "2026-01-01", "basis": "paper"},
    "architecture": {"layers": 4, "hidden": 1024, "heads": 8, "ffn": 4096,
                     "ffn_gated": True, "vocab": 32000, "attention": "mla",
                     "mla": {"kv_lora_rank": 256, "qk_nope_head_dim": 64,
                             "qk_rope_head_dim": 32, "v_head_dim": 64}}}


def test_a_dense_mla_model_predicts_and_explains():
    m = ms.Model.from_spec(DENSE_MLA_SPEC)
    r = ms.predict(m, "h100", batch=2, seq_len=100)
    assert r.kv_cache.to("B").magnitude == pytest.approx(4 * (256 + 32) * 2 * 2 * 100)
    assert r.system is serving_system(True)
    text = r.explain()
    assert "kv_elements_per_layer :=" in text and "kv_lora_rank" in text


# ------------------------------------------------------------------ serve and size_fleet
def test_serve_deepseek_v3_holds_the_latent_on_every_rank():
    r = ms.serve("deepseek-v3", "h200", precision="fp8", tp=8, qps=1, input_tokens=1000,
                 output_tokens=200, memory_reserve=0.9, max_batched_tokens=8192)
    assert r.feasible and r.devices == 8
    # vLLM's KV pool per rank: 0.9 x 141 GiB - weights / 8 - workspace (8192 tokens of one
    # layer's residual stream and FFN share, 2 B each: 16-bit activations at fp8, as above);
    # a sequence holds its whole latent cache
    # (the embedding and the LM head, 2 x 129280 x 7168 weights, at 2 B: kept at 16 bits)
    weights = 671_026_404_352 + 2 * 129280 * 7168
    pool = 0.9 * H200_BYTES - weights / 8 - 8192 * (HIDDEN + 2 * FFN / 8) * 2
    assert r.batch == math.floor(pool / (PER_TOKEN_FP16 / 2 * 1200))   # 1232, not 8 x 1232
    assert 0 < r.time_per_output_token.to("ms").magnitude < 1e3


def test_size_fleet_deepseek_v3_needs_a_whole_h200_node_at_fp8():
    f = ms.size_fleet("deepseek-v3", "h200", qps=5, input_tokens=1000, output_tokens=200,
                      precision="fp8", slo={"ttft": "2 s", "tpot": "100 ms"})
    assert f.feasible and f.tp == 8 and f.devices == 8


# ------------------------------------------------------------------ the command line
def test_cli_predicts_deepseek_v3_on_8_h200_at_fp8(capsys):
    assert main(["predict", "deepseek-v3", "h200", "--precision", "fp8", "--tp", "8",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["feasible"] is True and d["model"] == "deepseek-v3"
    assert d["time_per_output_token"]["value"] > 0
    assert main(["predict", "deepseek-v3", "h200", "--precision", "fp8", "--tp", "8"]) == 0
    assert "time per output token" in capsys.readouterr().out
