"""Uncertainty bands of predict, train and serve."""

import pytest

import mlsysim_sym as ms


def _ordered(band, point):
    lo, mid, hi = (q.to(point.units).magnitude for q in band)
    assert lo <= mid <= hi
    assert lo <= point.magnitude <= hi


def test_predict_bands_bracket_the_point_prediction():
    r = ms.predict("llama-3-8b", "h100", batch=8, seq_len=1024, uncertainty=200)
    _ordered(r.bands["time_per_output_token"], r.time_per_output_token)
    _ordered(r.bands["ttft"], r.ttft)
    assert r.bands["latency"] is r.bands["time_per_output_token"]


def test_train_bands_bracket_the_point_prediction():
    r = ms.train("llama-3-8b", "h100", devices=8, micro_batch=1, global_batch=64,
                 seq_len=4096, zero_stage=1, tokens="1e9 token", uncertainty=200)
    _ordered(r.bands["step_time"], r.step_time)
    _ordered(r.bands["mfu"], r.mfu)
    assert set(r.bands) >= {"step_time", "mfu", "tokens_per_s", "time_to_train"}


def test_serve_bands():
    r = ms.serve("llama-3-8b", "h100", qps=5, input_tokens=256, output_tokens=128, batch=32,
                 uncertainty=20)
    b = r.bands["time_per_output_token"]
    assert b.p10 <= b.p50 <= b.p90


def test_bands_widen_with_the_spread_they_carry():
    r = ms.predict("llama-3-8b", "h100", batch=1, seq_len=512, uncertainty=500)
    b = r.bands["time_per_output_token"]
    assert (b.p90 / b.p10).to("").magnitude > 1.05  # the model is not certain


@pytest.mark.parametrize("bad", [-3, 5, 2.5, "yes"])
def test_bad_sample_counts_are_refused(bad):
    with pytest.raises(ValueError, match="uncertainty must be True or a number of samples"):
        ms.predict("llama-3-8b", "h100", uncertainty=bad)


def test_bands_need_scalar_knobs():
    import numpy as np
    with pytest.raises(ValueError, match="scalar knobs"):
        ms.predict("llama-3-8b", "h100", batch=np.arange(1, 4), uncertainty=True)


def test_train_bands_keep_the_attention_kernel():
    # the Monte Carlo path re-runs train(); the kernel choice must survive it
    kw = dict(devices=8, micro_batch=1, global_batch=64, seq_len=4096, zero_stage=1)
    fa2 = ms.train("llama-3-8b", "h100", attention_kernel="fa2", uncertainty=50, **kw)
    assert fa2.config["attention_kernel"] == "fa2"
    assert fa2.step_time == ms.train("llama-3-8b", "h100", attention_kernel="fa2", **kw).step_time


def test_serve_bands_keep_every_input_of_the_point_run():
    # the Monte Carlo re-run must see the same memory reserve, token budget, stack and weight
    # width as the point run: the point result with uncertainty equals the plain one, and the
    # p50 of TPOT sits nearer to it than to the run with 16-bit weights (which a re-run without
    # weight_bits=4.5 would be: other bytes per decode step, no dequantisation pass)
    kw = dict(qps=2, input_tokens=256, output_tokens=128, batch=16, memory_reserve=0.6,
              max_batched_tokens=2048, stack="vllm", weight_bits=4.5)
    plain = ms.serve("llama-3-8b", "h100", **kw)
    r = ms.serve("llama-3-8b", "h100", uncertainty=40, **kw)
    assert r.time_per_output_token.to("ms").magnitude == pytest.approx(
        plain.time_per_output_token.to("ms").magnitude, rel=1e-9)
    mid = r.bands["time_per_output_token"].p50.to("ms").magnitude
    assert mid == pytest.approx(plain.time_per_output_token.to("ms").magnitude, rel=0.5)
    fp16 = ms.serve("llama-3-8b", "h100", **{**kw, "weight_bits": None})
    point, other = (x.time_per_output_token.to("ms").magnitude for x in (plain, fp16))
    assert abs(point - other) > 0.1 * point
    assert abs(mid - point) < abs(mid - other)


def test_serve_bands_refuse_an_unknown_stack_like_the_point_run():
    with pytest.raises(ValueError, match="known stacks"):
        ms.serve("llama-3-8b", "h100", qps=2, input_tokens=256, output_tokens=128,
                 stack="tensorrt-llm", uncertainty=10)
