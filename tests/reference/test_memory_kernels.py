"""Memory-bound kernels of one layer: bytes per token checked by hand against Korthikanti et al.
(MLSys 2023, Sec. 4.1) tensor list and Dao et al. (2022) standard-attention HBM accesses."""

import math

import pytest

from mlsysim_sym.equations import memory_kernels
from mlsysim_sym.equations.base import check_equation
from mlsysim_sym.tasks.training import train, training_system
from mlsysim_sym.units import base_factor

OUT = ["memory_kernel_forward_traffic", "memory_kernel_traffic"]
BASE = dict(kv_heads=96, head_dim=128, activation_bytes_per_element=2, fused_memory_kernels=0,
            fp8_activation_casts=0,
            # dense layers: no MoE token permutes (their bytes: tests/unit/test_train_moe_routing)
            token_permute_passes=0, moe_layers=0, experts_per_token=0, layers=1)


def evaluate(outputs, **over):
    """Outputs in B/token of the training system at ``over`` (inputs in declared units)."""
    k = training_system("full").compile(tuple(outputs))
    vals = {**BASE, **over}
    ev = k.evaluate(**{n: vals[n] for n in k.input_names})
    return {o: ev.value(o) / base_factor("B/token") for o in outputs}
# GPT-3 175B's layer as Korthikanti et al. Sec. 4.1 list it: h = 12288, a = 96, s = 2048,
# 16-bit activations, 1-byte dropout masks, 4h GeLU FFN, eager attention, t = 1
GPT = dict(hidden=12288, heads=96, sequence_length=2048, ffn_width=4 * 12288,
           ffn_gated=0, rotary_embedding=0, dropout_masks_stored=1, attention_scores_stored=1,
           tensor_parallel=1, sequence_parallel=0, recomputed_dense_fraction=0,
           recomputed_attention_fraction=0)


def _bytes(**over):
    return evaluate(OUT, **{**GPT, **over})


def test_equations_are_dimensionally_consistent_and_cited():
    for eq in memory_kernels.EQUATIONS:
        check_equation(eq)
        assert eq.locator


def test_unfused_forward_reads_and_writes_korthikanti_tensors():
    # Per token, bytes of Korthikanti's Sec. 4.1 tensors (2h: a 16-bit h-wide tensor, 8h: the
    # 4h GeLU input, h: a 1-byte mask): LN1 r 2h w 2h = 4h; dropout after the projection r 2h,
    # w 2h + mask h = 5h; residual add r 4h w 2h = 6h; LN2 4h; GeLU r 8h w 8h = 16h; dropout
    # after fc2 5h; residual add 6h: 46h. Score chain per score element (a s per token): QK^T
    # writes 2, scale r w 4, mask r w 4, softmax r w 4, dropout r w 4 + mask 1, AV reads 2: 21
    h, a, s = 12288, 96, 2048
    out = _bytes(fused_memory_kernels=0)
    assert out["memory_kernel_forward_traffic"] == pytest.approx(46 * h + 21 * a * s,
                                                                 rel=1e-12)
    # backward: 2 norms (r x, r dy, w dx: 6h each), 2 residual-fork gradient sums (6h each),
    # 2 dropouts (r dy 2h, r mask h, w 2h), GeLU (r x, r dy, w dx: 24h) = 58h; scores: dP
    # written 2, dropout 4 + 1, mask 4, scale 4, softmax r P r dP w dS 6, dS read twice 4, P
    # read 2: 27
    assert out["memory_kernel_traffic"] - out["memory_kernel_forward_traffic"] == \
        pytest.approx(58 * h + 27 * a * s, rel=1e-12)


def test_fused_set_is_megatron_fusions_and_dao_standard_attention():
    # fused bias-dropout-add: the dropout only writes its mask (forward 46h - 2 x 4h = 38h);
    # Megatron's scale-mask-softmax: Dao et al. 2022 Algorithm 0, 4 accesses per score element
    # forward and (App. B.3) 7 backward, plus dropout (4 + 1 each pass); 2 bytes each
    h, a, s = 12288, 96, 2048
    out = _bytes(fused_memory_kernels=1)
    fwd = 38 * h + (2 * (4 + 2) + 1) * a * s
    assert out["memory_kernel_forward_traffic"] == pytest.approx(fwd, rel=1e-12)
    assert out["memory_kernel_traffic"] == pytest.approx(
        fwd + 58 * h + (2 * (7 + 2) + 1) * a * s, rel=1e-12)


def test_flash_attention_keeps_the_scores_on_chip_and_recomputation_repeats_the_forward():
    flash = _bytes(attention_scores_stored=0, fused_memory_kernels=1)
    re = _bytes(attention_scores_stored=0, fused_memory_kernels=1, recomputed_dense_fraction=1,
                recomputed_attention_fraction=1)
    assert re["memory_kernel_traffic"] - flash["memory_kernel_traffic"] == pytest.approx(
        flash["memory_kernel_forward_traffic"], rel=1e-12)
    # no score bytes: linear in the width (f = 4h): doubling h doubles the bytes
    wide = _bytes(attention_scores_stored=0, fused_memory_kernels=1, hidden=2 * 12288,
                  ffn_width=8 * 12288)
    assert wide["memory_kernel_traffic"] == pytest.approx(2 * flash["memory_kernel_traffic"],
                                                          rel=1e-12)


def test_sequence_length_elasticity_is_the_score_share():
    # eager attention: the score bytes grow as s per token, the rest does not depend on s, so
    # d ln Q / d ln s = score bytes / all bytes (central finite difference)
    base = _bytes()["memory_kernel_traffic"]
    flash = _bytes(attention_scores_stored=0)["memory_kernel_traffic"]
    eps = 1e-4
    up = _bytes(sequence_length=2048 * (1 + eps))["memory_kernel_traffic"]
    down = _bytes(sequence_length=2048 * (1 - eps))["memory_kernel_traffic"]
    elasticity = (math.log(up) - math.log(down)) / (math.log1p(eps) - math.log1p(-eps))
    assert elasticity == pytest.approx((base - flash) / base, rel=1e-6)


def test_swiglu_rope_and_tensor_parallel_split():
    # Llama-style layer, fused set, FlashAttention: h-wide kernels 10h forward + 12h backward
    # (replicated over t without SP, split with it); SwiGLU 3f + 5f and RoPE 2 + 2 on q and k,
    # both split over t; 2 bytes each
    h, f, a, kv, d, t = 4096, 14336, 32, 8, 128, 8
    kw = dict(hidden=h, heads=a, kv_heads=kv, head_dim=d, ffn_width=2 * f, ffn_gated=1,
              rotary_embedding=1, dropout_masks_stored=0, attention_scores_stored=0,
              fused_memory_kernels=1, tensor_parallel=t)
    for sp, hdiv in ((0, 1), (1, t)):
        out = _bytes(sequence_parallel=sp, **kw)
        q = 2 * (22 * h / hdiv + 8 * f / t + 4 * (a + kv) * d / t)
        assert out["memory_kernel_traffic"] == pytest.approx(q, rel=1e-12)
    unfused = _bytes(sequence_parallel=0, **{**kw, "fused_memory_kernels": 0})
    # PyTorch eager: SwiGLU 5f + 9f, RoPE 10 + 10
    assert unfused["memory_kernel_traffic"] == pytest.approx(
        2 * (22 * h + 14 * f / t + 20 * (a + kv) * d / t), rel=1e-12)


def test_train_names_the_kernel_set():
    kw = dict(devices=8, micro_batch=1, global_batch=8, seq_len=2048)
    fused = train("llama-2-7b", "a100", **kw)
    eager = train("llama-2-7b", "a100", memory_kernels="unfused", **kw)
    assert eager.value("elementwise_time") > fused.value("elementwise_time") > 0
    assert eager.value("training_step_time") > fused.value("training_step_time")
    with pytest.raises(ValueError, match="memory_kernels must be 'fused'"):
        train("llama-2-7b", "a100", memory_kernels="triton", **kw)


def test_loss_kernel_bytes_per_logit_sum_their_kernels():
    # Megatron-Core vocab-parallel cross-entropy (fp32 upcast, max, subtract, exp, sum, divide;
    # backward in place, cast): 38 + 14; PyTorch cross_entropy on an fp32 upcast (cast,
    # log_softmax, nll_loss and log_softmax backward, cast back): 22 + 26
    from mlsysim_sym.tasks.training.config import LOSS_TRAFFIC
    assert LOSS_TRAFFIC["fused"] == (2 + 4) + 4 + 8 + 8 + 4 + 8 + (8 + 6)
    assert LOSS_TRAFFIC["unfused"] == (2 + 4) + 16 + 4 + 16 + 6


def test_fp8_casts_every_gemm_operand_row_and_column_wise():
    # Transformer Engine FP8: the inputs of QKV, proj, fc1 and fc2 (forward: h + q + h + f) and
    # the output gradients of the four GEMMs (backward: q + 2 kv + h + 2f + h for SwiGLU) are
    # read in 16 bits (2 B) and written as FP8 row- and column-wise (1 + 1 B): 4 B each
    h, f, a, kv, d = 4096, 14336, 32, 8, 128
    kw = dict(hidden=h, heads=a, kv_heads=kv, head_dim=d, ffn_width=2 * f, ffn_gated=1,
              rotary_embedding=1, dropout_masks_stored=0, attention_scores_stored=0,
              fused_memory_kernels=1)
    bf16, fp8 = _bytes(**kw), _bytes(fp8_activation_casts=1, **kw)
    fwd = 4 * (h + a * d + h + f)
    bwd = 4 * ((a + 2 * kv) * d + h + 2 * f + h)
    assert fp8["memory_kernel_forward_traffic"] - bf16["memory_kernel_forward_traffic"] == \
        pytest.approx(fwd, rel=1e-12)
    assert fp8["memory_kernel_traffic"] - bf16["memory_kernel_traffic"] == pytest.approx(
        fwd + bwd, rel=1e-12)
    # and train() sets it from the precision
    kw = dict(devices=8, micro_batch=1, global_batch=8, seq_len=2048)
    assert train("llama-2-7b", "h100", precision="fp8", **kw).inputs()[
        "fp8_activation_casts"].magnitude == 1
    assert train("llama-2-7b", "h100", **kw).inputs()["fp8_activation_casts"].magnitude == 0
