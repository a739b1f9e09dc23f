"""Sliding-window attention: the sliding-window record bounds wall 4's attention span, the
continuous-batching record's mean context and KV slot, and the disaggregation record's prompt
cache by the window (Mistral 7B: Jiang et al. 2023, arXiv:2310.06825, Sec. 2 and Table 1;
Gemma 2: Gemma Team 2024, arXiv:2408.00118, Sec. 2 and Table 1).

Mistral 7B (registry, config.json): 32 layers, 32 heads, 8 KV heads, head_dim 128, window 4096
on every layer. A token's KV cache at 16 bits: 32 x 8 x 128 x 2 (key, value) x 2 B = 131,072 B;
the rolling buffer holds 4096 positions per layer, 536,870,912 B per sequence at any context
>= 4096 (the paper's "8x smaller on a sequence of 32k tokens": 32768 / 4096 = 8). Llama-3-8B
has the same KV shape (32 layers, 8 KV heads of 128) and full attention.
Gemma 2 9B: 42 layers, 8 KV heads, head_dim 256, window 4096 on every other layer (share 0.5).
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlsysim_sym as ms
from mlsysim_sym import symbols as s
from mlsysim_sym.equations import serving, sliding_window, walls, workloads
from mlsysim_sym.scenarios import serving_system
from mlsysim_sym.system import CompositionError, System

MISTRAL_TOKEN = 32 * 8 * 128 * 2 * 2          # B of KV per token, every layer
WINDOW = 4096
MISTRAL_SEQUENCE = MISTRAL_TOKEN * WINDOW      # 536,870,912 B
GEMMA9_TOKEN = 42 * 8 * 256 * 2 * 2            # 344,064 B


def _bytes(prediction, name="kv_cache_bytes"):
    return prediction.quantity(name).to("B").magnitude


# ------------------------------------------------------------------ the record
def test_the_record_defines_the_spans_the_other_records_read():
    assert set(sliding_window.SPANS) == {s.attention_span, s.prompt_attention_span,
                                         s.mean_context_length, s.sequence_kv_tokens,
                                         s.prompt_kv_tokens}
    assert set(serving.ATTENTION_SPANS) <= {eq.lhs for eq in walls.serving.equations}
    full = serving_system()
    assert full.definitions[s.attention_span].rhs == s.context_length
    # keys per computed prompt token: S_p/2 without a prefix cache (h = 0)
    assert full.definitions[s.prompt_attention_span].rhs == \
        s.prompt_length * (1 + s.prefix_cache_hit_rate) / 2
    assert "attention_window" not in full.input_names
    windowed = serving_system(windowed=True)
    assert {"attention_window", "windowed_layer_share"} <= set(windowed.input_names)
    for sym in sliding_window.SPANS[:4]:
        assert windowed.definitions[sym] in sliding_window.WALL.equations
    # every other equation is shared with the full-attention system
    for sym in (s.kv_cache_bytes, s.decode_flops, s.sequence_capacity, s.loaded_step_time):
        assert windowed.definitions[sym] is full.definitions[sym]


def test_composing_the_window_needs_the_swap():
    with pytest.raises(CompositionError, match="defined twice"):
        System.from_walls(walls.serving, workloads.sliding_window_attention)
    with pytest.raises(ValueError, match="Serving wall"):
        sliding_window.sliding_window(walls.compute, walls.memory)
    # with wall 4 alone, only wall 4's spans are swapped in
    records = sliding_window.sliding_window(walls.compute, walls.memory, walls.serving)
    assert {eq.lhs for eq in records[-1].equations} == set(serving.ATTENTION_SPANS)


# ------------------------------------------------------------------ hand-computed bytes and FLOPs
def test_mistral_at_32k_holds_a_4096_token_cache_per_sequence():
    r = ms.predict("mistral-7b", "h100", batch=1, seq_len=32768)
    assert _bytes(r) == pytest.approx(MISTRAL_SEQUENCE, rel=1e-12)   # 536,870,912 B
    assert MISTRAL_SEQUENCE == 536_870_912
    # Jiang et al. Sec. 2: 8x smaller than full attention at 32k (Llama-3-8B's KV shape)
    full = ms.predict("llama-3-8b", "h100", batch=1, seq_len=32768)
    assert _bytes(full) / _bytes(r) == pytest.approx(32768 / 4096, rel=1e-12)
    assert r.system.name == "serving (sliding window)"


@pytest.mark.parametrize("context", [512, 2048, 4096])
def test_within_the_window_the_cache_equals_full_attention(context):
    windowed = ms.predict("mistral-7b", "h100", batch=4, seq_len=context)
    full = ms.predict("llama-3-8b", "h100", batch=4, seq_len=context)
    assert _bytes(windowed) == pytest.approx(_bytes(full), rel=1e-12)
    assert _bytes(windowed) == pytest.approx(4 * MISTRAL_TOKEN * context, rel=1e-12)


def test_decode_attends_to_the_window_and_prefill_to_the_banded_pairs():
    m = ms.registry.model("mistral-7b")
    n = m.parameters.to("param").magnitude
    w = 2 * 32 * 128                                      # 2 H d_h per (query, key) pair
    long = ms.predict("mistral-7b", "h100", batch=1, seq_len=32768)
    # decode: 2 N + 2 L w S_att with S_att = 4096 (not 32768)
    assert long.quantity("decode_flops").to("FLOP").magnitude == pytest.approx(
        2 * n + 2 * 32 * w * 4096, rel=1e-12)
    # prefill of 32768 tokens: 2 (N - N_h) S_p + 2 N_h + 2 L w (S_p^2/2 - (S_p - W)^2/2) =
    # ... (W S_p - W^2/2); the LM head (32000 x 4096) on the last prompt token only (vLLM's
    # logits_indices)
    head = 32000 * 4096
    assert long.base_inputs()["head_parameters"] == head
    pairs = 32768 ** 2 / 2 - (32768 - 4096) ** 2 / 2
    assert pairs == 4096 * 32768 - 4096 ** 2 / 2 == 125_829_120
    assert long.quantity("prefill_flops").to("FLOP").magnitude == pytest.approx(
        2 * (n - head) * 32768 + 2 * head + 2 * 32 * w * pairs, rel=1e-12)
    # every prompt token's keys and values are still written once, and its memory-bound
    # kernels move 32 x 2 B x (10 x 4096 + 1.5 x 2 x 14336) (Mistral 7B: FFN 14336, SwiGLU)
    kernels = 32 * 2 * (10 * 4096 + 1.5 * 2 * 14336)
    assert long.quantity("prefill_bytes").to("B").magnitude == pytest.approx(
        n * 2 + (MISTRAL_TOKEN + kernels) * 32768, rel=1e-12)


def test_gemma_2_windows_every_other_layer():
    m = ms.registry.model("gemma-2-9b")
    assert m.windowed_layer_share == 0.5 and m.sliding_window.to("token").magnitude == 4096
    r = ms.predict("gemma-2-9b", "h100", batch=1, seq_len=8192)
    # 21 global layers hold 8192 tokens, 21 windowed layers 4096: 6144 per layer on average
    assert _bytes(r) == pytest.approx(GEMMA9_TOKEN * (8192 + 4096) / 2, rel=1e-12)
    assert GEMMA9_TOKEN * 6144 == 2_113_929_216


def test_registry_provenance_and_citations():
    assert ms.registry.model("mistral-7b").provenance("sliding_window").source \
        == "jiang2023-mistral7b"
    assert ms.registry.model("gemma-2-27b").provenance("windowed_layer_share").source \
        == "gemma2-report"
    assert ms.registry.model("llama-3-8b").sliding_window is None
    r = ms.predict("mistral-7b", "h100", batch=1, seq_len=8192)
    assert (r.model, "sliding_window") in r.registry_fields()
    bib = r.cite()
    assert "jiang2023mistral" in bib and "Mistral 7B" in bib


# ------------------------------------------------------------------ serving at a request rate
def _slots(m, hw, context):
    """KV slots of one H100 by hand: (0.9 x capacity - weights - workspace) / KV per sequence."""
    weights = m.parameters.to("param").magnitude * 2
    workspace = 8192 * (4096 + 2 * 14336) * 2
    pool = 0.9 * hw.memory_capacity.to("B").magnitude - weights - workspace
    return math.floor(pool / (MISTRAL_TOKEN * context))


def test_serve_holds_more_sequences_once_the_window_caps_the_cache():
    m, hw = ms.registry.model("mistral-7b"), ms.registry.hardware("h100")
    long = ms.serve("mistral-7b", "h100", qps=0.5, input_tokens=30000, output_tokens=500)
    assert long.batch == _slots(m, hw, 4096)       # 30,500 tokens, 4096 kept per layer
    short = ms.serve("mistral-7b", "h100", qps=0.5, input_tokens=3596, output_tokens=500)
    assert short.batch == long.batch == _slots(m, hw, 3596 + 500)
    small = ms.serve("mistral-7b", "h100", qps=0.5, input_tokens=1000, output_tokens=24)
    assert small.batch == _slots(m, hw, 1024)      # below the window: full attention's count
    full = ms.serve("llama-3-8b", "h100", qps=0.5, input_tokens=30000, output_tokens=500)
    assert long.batch > 7 * full.batch
    assert long.system.name == "serving (sliding window)"


# ------------------------------------------------------------------ the closed forms
_SPANS = serving_system(windowed=True).compile(
    ["attention_span", "prompt_attention_span", "mean_context_length", "sequence_kv_tokens"])


def _spans(**v):
    ev = _SPANS.evaluate(**v)
    return {n: ev.quantity(n).to("token").magnitude for n in _SPANS.output_names}


@settings(max_examples=60, deadline=None)
@given(n_in=st.integers(1, 40_000), n_out=st.integers(1, 20_000),
       window=st.integers(1, 40_000), share=st.floats(0.01, 1.0), hit=st.floats(0.0, 0.95))
def test_spans_are_the_averages_of_min_context_window(n_in, n_out, window, share, hit):
    got = _spans(context_length=f"{n_in + n_out} token", prompt_length=f"{n_in} token",
                 output_length=f"{n_out} token", attention_window=f"{window} token",
                 windowed_layer_share=share, prefix_cache_hit_rate=hit)
    span = lambda c: (1 - share) * c + share * np.minimum(c, window)  # noqa: E731
    assert got["attention_span"] == pytest.approx(span(n_in + n_out), rel=1e-9)
    assert got["sequence_kv_tokens"] == pytest.approx(span(n_in + n_out), rel=1e-9)
    # time average over the decode steps, and key average over the prompt (midpoint sums)
    steps = n_in + (np.arange(200_000) + 0.5) * n_out / 200_000
    assert got["mean_context_length"] == pytest.approx(span(steps).mean(), rel=1e-6)
    # the computed prompt tokens: past a cached prefix of a share hit of the prompt
    keys = hit * n_in + (np.arange(200_000) + 0.5) * (1 - hit) * n_in / 200_000
    assert got["prompt_attention_span"] == pytest.approx(span(keys).mean(), rel=1e-6)
    assert got["attention_span"] <= n_in + n_out


def test_a_window_beyond_every_context_changes_nothing():
    dense = ms.predict("llama-3-8b", "h100", batch=8, seq_len=2048, prefill_tokens=512)
    inputs = dict(dense.base_inputs())
    k = serving_system(windowed=True).compile(["ttft", "time_per_output_token",
                                               "memory_footprint"])
    values = {**inputs, "attention_window": 1e6, "windowed_layer_share": 1.0}
    ev = k.lazy([values[n] for n in k.input_names])
    for name in ("ttft", "time_per_output_token", "memory_footprint"):
        assert ev.value(name) == pytest.approx(dense.value(name), rel=1e-12)
