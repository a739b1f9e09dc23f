"""SSM (Mamba) serving record and ``predict`` on Mamba-2.8B, checked by hand.

Mamba-2.8B (state-spaces/mamba README, Pretrained Models table; Mamba block defaults): 64 layers,
d_model 2560, expand 2 -> d_inner 5120, d_state 16, d_conv 4, dt_rank ceil(2560/16) = 160,
vocab 50280, tied embeddings. Parameters by hand (mamba_simple.py's modules, per layer):
in_proj 2560 x 10240 = 26,214,400; conv1d 5120 x 4 + 5120 = 25,600; x_proj 5120 x (160 + 2 x 16)
= 983,040; dt_proj 160 x 5120 + 5120 = 824,320; A_log 5120 x 16 = 81,920; D 5120; out_proj
5120 x 2560 = 13,107,200; norm 2560; sum 41,244,160, x 64 = 2,639,626,240; plus the embedding
50280 x 2560 = 128,716,800 and the final norm 2560: 2,768,345,600.

Recurrent state per sequence (mamba_simple.py allocate_inference_cache: conv_state (B, d_inner,
d_conv), ssm_state (B, d_inner, d_state), in the weights' dtype): 64 x 5120 x (16 + 4)
= 6,553,600 elements, x 2 B at fp16 = 13,107,200 B. (The causal minimum, d_conv - 1 = 3 columns,
would be 64 x 5120 x 19 x 2 = 12,451,840 B.)

Decode step at batch 1: 2 x 2,768,345,600 + 9 x 64 x 5120 x 16 (Gu, state-spaces/mamba #110)
= 5,536,691,200 + 47,185,920 = 5,583,877,120 FLOP; bytes 5,536,691,200 + 2 x 13,107,200
= 5,562,905,600 B. H100 SXM (registry): 989.5 TFLOP/s fp16 dense, 3.35 TB/s. At efficiency 1
and no overhead: compute 5.64 us, memory 5,562,905,600 / 3.35e12 = 1.66057 ms: memory-bound,
0.48% above the weights alone (5,536,691,200 / 3.35e12 = 1.65274 ms).
"""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlsysim_sym as ms
from mlsysim_sym import registry

IDEAL = {"compute": 1.0, "memory": 1.0, "fixed_overhead": 0.0}
PARAMS = 2_768_345_600
STATE_PER_SEQ = 64 * 5120 * (16 + 4) * 2          # B at fp16
DECODE_FLOPS = 2 * PARAMS + 9 * 64 * 5120 * 16
DECODE_BYTES = 2 * PARAMS + 2 * STATE_PER_SEQ


def test_registry_shape_and_parameters_by_hand():
    m = registry.model("mamba-2-8b")
    assert (m.layers, m.hidden, m.ssm.expand, m.ssm.d_state, m.ssm.d_conv) == (64, 2560, 2, 16, 4)
    per_layer = (2560 * 10240 + 5120 * 4 + 5120 + 5120 * (160 + 32) + 160 * 5120 + 5120
                 + 5120 * 16 + 5120 + 5120 * 2560 + 2560)
    assert per_layer == 41_244_160
    assert m.parameters.to("param").magnitude == 64 * per_layer + 50280 * 2560 + 2560 == PARAMS


def test_state_bytes_by_hand():
    r = ms.predict("mamba-2-8b", "h100")
    assert STATE_PER_SEQ == 13_107_200
    assert r.state.to("B").magnitude == pytest.approx(STATE_PER_SEQ, rel=1e-12)
    r64 = ms.predict("mamba-2-8b", "h100", batch=64)
    assert r64.state.to("B").magnitude == pytest.approx(64 * STATE_PER_SEQ, rel=1e-12)
    fp32 = ms.predict("mamba-2-8b", "h100", state_precision="fp32")
    assert fp32.state.to("B").magnitude == pytest.approx(2 * STATE_PER_SEQ, rel=1e-12)


def test_decode_at_batch_1_on_h100_is_the_weight_read():
    hw = registry.hardware("h100")
    assert hw.memory_bandwidth.to("TB/s").magnitude == pytest.approx(3.35)
    assert hw.peak_flops("fp16").to("TFLOP/s").magnitude == pytest.approx(989.5)
    r = ms.predict("mamba-2-8b", "h100", efficiency=IDEAL)
    assert r.decode_flops.to("FLOP").magnitude == pytest.approx(DECODE_FLOPS, rel=1e-12)
    assert r.decode_bytes_read.to("B").magnitude == pytest.approx(DECODE_BYTES, rel=1e-12)
    tpot = r.time_per_output_token.to("ms").magnitude
    assert tpot == pytest.approx(DECODE_BYTES / 3.35e12 * 1e3, rel=1e-9)      # 1.66057 ms
    assert tpot == pytest.approx(2 * PARAMS / 3.35e12 * 1e3, rel=0.01)        # weights / BW
    assert r.bottleneck == "Memory" and r.latency == r.time_per_output_token
    assert r.throughput.to("token/s").magnitude == pytest.approx(1e3 / tpot)
    # with the calibrated efficiencies (the vision/diffusion serving defaults) still memory-bound
    assert ms.predict("mamba-2-8b", "h100").bottleneck == "Memory"


def test_prefill_by_hand_is_compute_bound():
    r = ms.predict("mamba-2-8b", "h100", phase="prefill", seq_len=2048, efficiency=IDEAL)
    flops = (2 * PARAMS + 9 * 64 * 5120 * 16) * 2048
    assert r.prefill_flops.to("FLOP").magnitude == pytest.approx(flops, rel=1e-12)
    assert r.ttft.to("ms").magnitude == pytest.approx(flops / 989.5e12 * 1e3, rel=1e-9)
    assert r.bottleneck == "Compute" and r.latency == r.ttft


def test_footprint_and_step_are_flat_in_the_context_unlike_a_llama():
    """No KV cache: past the engine's token budget (8192) nothing in a Mamba step depends on the
    context length; Llama 3.2 3B (3.2e9 parameters, a similar size) grows by its KV cache."""
    mamba = [ms.predict("mamba-2-8b", "h100", seq_len=s) for s in (16384, 131072)]
    llama = [ms.predict("llama-3-2-3b", "h100", seq_len=s) for s in (16384, 131072)]
    f = [r.memory_footprint.to("GB").magnitude for r in mamba]
    assert f[0] == f[1]
    assert mamba[0].time_per_output_token == mamba[1].time_per_output_token
    g = [r.memory_footprint.to("GB").magnitude for r in llama]
    kv = [r.kv_cache.to("GB").magnitude for r in llama]
    assert g[1] - g[0] == pytest.approx(kv[1] - kv[0]) and kv[1] == pytest.approx(8 * kv[0])
    assert kv[0] == pytest.approx(28 * 8 * 128 * 2 * 2 * 16384 / 1e9)  # L H_kv d_h (K,V) 2 B S
    assert llama[1].time_per_output_token > llama[0].time_per_output_token
    # a 128k-token Llama sequence holds more KV cache than 64 Mamba sequences hold state
    assert kv[1] > 64 * STATE_PER_SEQ / 1e9


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 4096), s1=st.integers(1, 10**6), s2=st.integers(1, 10**6))
def test_decode_step_never_depends_on_the_context(batch, s1, s2):
    a = ms.predict("mamba-2-8b", "h100", batch=batch, seq_len=s1)
    b = ms.predict("mamba-2-8b", "h100", batch=batch, seq_len=s2)
    assert a.time_per_output_token == b.time_per_output_token
    assert a.state == b.state


def test_vectorised_batch_is_monotone_and_matches_scalars():
    batches = np.array([1, 8, 64, 512, 4096])
    r = ms.predict("mamba-2-8b", "h100", batch=batches)
    t = r.time_per_output_token.to("ms").magnitude
    assert np.all(np.diff(t) > 0) and np.all(np.diff(r.throughput.magnitude) > 0)
    one = ms.predict("mamba-2-8b", "h100", batch=64).time_per_output_token.to("ms").magnitude
    assert t[2] == pytest.approx(one, rel=1e-12)
    assert list(r.to_dict()["bottleneck"]) == list(r.bottleneck)
