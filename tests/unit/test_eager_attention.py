"""Eager (unfused) attention: its score traffic is memory-bound work, its kernels a variant."""

import pytest

from mlsysim_sym import registry
from mlsysim_sym.defaults import variant_name
from mlsysim_sym.tasks.training import train

KW = dict(devices=8, tp=8, micro_batch=2, global_batch=2, seq_len=2048, precision="bf16",
          efficiency={"compute": 0.7, "attention": 0.5, "memory": 0.8})


def _elementwise(**kw):
    r = train("llama-2-7b", "a100", **{**KW, **kw})
    return r, r.value("elementwise_time")


@pytest.mark.parametrize("kernels, fwd, bwd", [("fused", 4, 7), ("unfused", 8, 11)])
@pytest.mark.parametrize("recompute, r_a", [("none", 0.0), ("selective", 1.0)])
def test_eager_adds_the_score_chain_bytes_per_pass(recompute, r_a, kernels, fwd, bwd):
    # Dao et al. 2022, Algorithm 0 / App. B.3 (standard attention, HBM accesses per score
    # element): forward S written, read and P written by the (fused scale-mask-)softmax, P read
    # = 4; backward dP written, softmax backward reads P and dP and writes dS, dS read twice, P
    # read once = 7. PyTorch eager runs scale and mask as two more kernels (+2 each pass).
    # Split over t heads-wise; the forward again when the attention core is recomputed; 2-byte
    # elements at bandwidth x eta_m; no dropout (Llama)
    kw = dict(recompute=recompute, memory_kernels=kernels)
    _fused, t_fused = _elementwise(flash_attention=True, **kw)
    _eager, t_eager = _elementwise(flash_attention=False, **kw)
    m = registry.model("llama-2-7b")
    a, L, S, b, t = m.heads, m.layers, 2048, 2, 8
    bw = registry.hardware("a100").memory_bandwidth.to("B/s").magnitude
    extra = 2.0 * L * ((1 + r_a) * fwd + bwd) * a * S * S * b / t \
        / (bw * 0.8)
    assert t_eager - t_fused == pytest.approx(extra, rel=1e-9)


def test_attention_kernels_have_their_own_efficiency_variants():
    a100 = registry.hardware("a100")
    assert variant_name("attention_efficiency", a100, attention_kernel="eager") == \
        "attention_efficiency[ampere-eager]"
    assert variant_name("attention_efficiency", a100, attention_kernel="fa2") == \
        "attention_efficiency[ampere-fa2]"
    assert variant_name("attention_efficiency", a100) == "attention_efficiency[ampere]"
    # the GEMMs do not care which attention kernel runs
    assert variant_name("compute_efficiency", a100, "bf16", attention_kernel="eager") == \
        "compute_efficiency[ampere]"
    with pytest.raises(ValueError, match="unknown attention kernel"):
        variant_name("attention_efficiency", a100, attention_kernel="fa9")


def test_flashattention2_uses_its_published_utilization():
    # Shah et al. 2024 (FlashAttention-3), abstract: FlashAttention-2 reaches 35% of the H100
    # peak; Dao 2023, abstract: 50-73% of the A100 peak (geometric middle 0.604)
    kw = dict(devices=8, micro_batch=1, global_batch=8, seq_len=8192, precision="bf16",
              zero_stage=3, recompute="full")
    for chip, value in (("h100", 0.35), ("a100", 0.604)):
        r = train("llama-2-7b", chip, attention_kernel="fa2", **kw)
        assert r.inputs()["attention_efficiency"].magnitude == pytest.approx(value)
    fused = train("llama-2-7b", "h100", **kw)
    fa2 = train("llama-2-7b", "h100", attention_kernel="fa2", **kw)
    # the step orders as the two kernels' efficiencies do: the fused default is the fitted
    # attention_efficiency[hopper] (0.325 in the issue-17 refit, below FA2's published 0.35:
    # the fit, not a benchmark, decides which is faster), FA2 its published figure
    fitted = fused.inputs()["attention_efficiency"].magnitude
    assert (fa2.step_time > fused.step_time) == (fitted > 0.35)
    assert fa2.step_time != fused.step_time
    with pytest.raises(ValueError, match="attention_kernel must be"):
        train("llama-2-7b", "h100", attention_kernel="fa3", **kw)
    with pytest.raises(ValueError, match="contradicts flash_attention=False"):
        train("llama-2-7b", "h100", attention_kernel="fa2", flash_attention=False, **kw)
