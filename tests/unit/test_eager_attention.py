"""Eager (unfused) attention: its score traffic is memory-bound work, its kernels a variant."""

import pytest

from mlsysim_sym import registry
from mlsysim_sym.defaults import variant_name
from mlsysim_sym.training_scenarios import train

KW = dict(devices=8, tp=8, micro_batch=2, global_batch=2, seq_len=2048, precision="bf16",
          efficiency={"compute": 0.7, "attention": 0.5, "memory": 0.8, "elementwise": 2.0})


def _elementwise(**kw):
    r = train("llama-2-7b", "a100", **{**KW, **kw})
    return r, r._raw("elementwise_time")


@pytest.mark.parametrize("recompute, r_a", [("none", 0.0), ("selective", 1.0)])
def test_eager_adds_korthikanti_score_bytes_per_pass(recompute, r_a):
    # Korthikanti et al. Table 2: 5 a s^2 b bytes per layer for the scores, softmax and dropout,
    # split over t; written in the forward, read and written in the backward (3 passes), once
    # more when the attention core is recomputed; at kappa x bytes / (BW x eta_m)
    fused, t_fused = _elementwise(recompute=recompute, flash_attention=True)
    _eager, t_eager = _elementwise(recompute=recompute, flash_attention=False)
    m = registry.model("llama-2-7b")
    a, L, S, b, t = m.heads, m.layers, 2048, 2, 8
    bw = registry.hardware("a100").memory_bandwidth.to("B/s").magnitude
    extra = 2.0 * L * (3 + r_a) * 5 * a * S * S * b / t / (bw * 0.8)
    assert t_eager - t_fused == pytest.approx(extra, rel=1e-9)


def test_eager_attention_has_its_own_efficiency_variant():
    a100 = registry.hardware("a100")
    assert variant_name("attention_efficiency", a100, eager_attention=True) == \
        "attention_efficiency[ampere-eager]"
    assert variant_name("attention_efficiency", a100) == "attention_efficiency[ampere]"
    # the GEMMs do not care which attention kernel runs
    assert variant_name("compute_efficiency", a100, "bf16", eager_attention=True) == \
        "compute_efficiency[ampere]"
