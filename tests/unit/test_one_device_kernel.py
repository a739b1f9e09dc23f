"""The serving kernels specialised to one device (tensor_parallel = attention_data_parallel = 1)
and to unquantised weights (dequantized_share = 0).

``predict`` with a scalar ``tp`` of 1 runs :func:`serving_kernel(..., one_device=True)` (and
``unquantised=True`` at a precision without weight-only quantisation): the serving system with
those inputs substituted before compiling, so the all-reduce terms, the TP Max/Min and the
dequantisation step fold away. It must give the general kernel's numbers (rel 1e-12, every output and
every branch argument) wherever those inputs are 1, the same shapes in a sweep, and never share
a cache entry with the general kernel.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlsysim_sym as ms
from mlsysim_sym import cache, numeric
from mlsysim_sym.tasks.serving import system as serving

REL = 1e-12
#: dense decoders of each attention variant the dense kernel compiles: GQA, sliding window
MODELS = ("llama-3-8b", "mistral-7b", "gemma-2-9b", "llama-3-70b")


def _variant(name):
    from mlsysim_sym.tasks._core.inputs import latent_attention, sliding_window
    m = ms.registry.model(name)
    return latent_attention(m), sliding_window(m)


def _close(a, b):
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    assert np.shape(a) == np.shape(b)
    np.testing.assert_allclose(a, b, rtol=REL, atol=0)


def _base(model, chip="h100", **kw):
    return ms.predict(model, chip, **kw).base_inputs()


@settings(max_examples=60)
@given(model=st.sampled_from(MODELS), chip=st.sampled_from(("h100", "a100-80gb", "mi300x")),
       batch=st.integers(1, 4096), seq=st.integers(1, 131072), prompt=st.integers(1, 131072),
       chunk=st.sampled_from((0.0, 64.0, 512.0, 8192.0)), hit=st.floats(0, 0.95),
       share=st.sampled_from((0.0, 0.5, 1.0)), eff=st.floats(0.05, 1.0),
       phi=st.floats(0.0, 1.0))
def test_one_device_kernel_equals_the_general_kernel(model, chip, batch, seq, prompt, chunk,
                                                     hit, share, eff, phi):
    """Every output and branch argument of the specialised kernel equals the general kernel's
    at random points with tp = 1 and no attention DP (the dequantised share and the prompt
    chunk cover the dequantisation step on both sides of its threshold)."""
    variant = _variant(model)
    general = serving.serving_kernel(*variant)
    specials = [serving.serving_kernel(*variant, one_device=True)] + (
        [serving.serving_kernel(*variant, one_device=True, unquantised=True),
         serving.serving_kernel(*variant, unquantised=True)] if share == 0 else [])
    for special in specials:
        assert special.input_names == general.input_names
        assert special.output_names == general.output_names
        assert special.branch_kind == general.branch_kind
    values = _base(model, chip)
    values.update(batch=float(batch), context_length=float(seq), prompt_length=float(prompt),
                  prefill_chunk_tokens=chunk, prefix_cache_hit_rate=hit,
                  dequantized_share=share, compute_efficiency=eff, unoverlapped_fraction=phi)
    assert values["tensor_parallel"] == 1 and values["attention_data_parallel"] == 1
    args = [values[n] for n in general.input_names]
    # and on arrays (the numpy kernels), shapes included
    arrays = [np.array([v, 2 * v]) if n in ("batch", "prefill_chunk_tokens") else v
              for n, v in zip(general.input_names, args)]
    for special in specials:
        for got, want in zip(special.raw(*args), general.raw(*args)):
            _close(got, want)
        for got, want in zip(special.raw(*arrays), general.raw(*arrays)):
            _close(got, want)
            assert np.shape(got) == np.shape(want)


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("kw", [{}, {"batch": 64, "seq_len": 8192},
                                {"phase": "prefill", "seq_len": 4096, "weight_bits": 4},
                                {"batch": 8, "prefill_tokens": 512, "prefix_cache_hit_rate": 0.5},
                                {"efficiency": {"compute": 0.5, "memory": 0.7}}])
def test_predict_at_tp_1_runs_the_one_device_kernel_with_the_general_numbers(model, kw):
    """``predict(tp=1)`` (the memoised hot path too) evaluates the specialised kernel; its
    outputs, bottleneck and to_dict equal the general kernel's on the same inputs."""
    for _ in range(2):                       # the second call takes the memoised hot path
        r = ms.predict(model, "h100", **kw)
        special = serving.serving_kernel(*_variant(model), one_device=True,
                                         unquantised=r.base_inputs()["dequantized_share"] == 0)
        assert r._ev.compiled is special
        general = serving.serving_kernel(*_variant(model))
        ev = general.lazy([r.base_inputs()[n] for n in general.input_names])
        for name in general.output_names:
            _close(r.value(name), ev.value(name))
        owner = "ttft" if r.phase == "prefill" else "time_per_output_token"
        assert r.bottleneck == (ev.binding(owner) if r.feasible else "Memory")
        for label, v in ev.branches(owner).items():
            _close(r._ev.branches(owner)[label], v)


def test_tp_above_1_and_tp_arrays_run_the_general_kernel():
    general = serving.serving_kernel()
    unquantised = serving.serving_kernel(unquantised=True)
    assert ms.predict("llama-3-70b", "h100", tp=4)._ev.compiled is unquantised
    assert ms.predict("llama-3-70b", "h100", tp=np.array([1, 2, 4]))._ev.compiled is unquantised
    assert ms.predict("llama-3-70b", "h100", tp=4, weight_bits=4)._ev.compiled is general


def test_a_tp_1_sweep_equals_the_general_kernel_output_by_output():
    """A vectorised sweep (batch and context arrays, tp = 1): every output, read together and
    one by one, has the general kernel's values and shape (folded terms still arrays)."""
    batch = np.arange(1.0, 2049.0)
    seq = np.array([[512.0], [8192.0], [65536.0]])
    r = ms.predict("llama-3-8b", "h100", batch=batch, seq_len=seq)
    assert r._ev.compiled is serving.serving_kernel(one_device=True, unquantised=True)
    general = serving.serving_kernel()
    ev = general.lazy([r.base_inputs()[n] for n in general.input_names])
    r.prefetch()
    one_by_one = ms.predict("llama-3-8b", "h100", batch=batch, seq_len=seq)
    for name in general.output_names:
        want = ev.value(name)
        for got in (r.value(name), one_by_one.value(name)):
            assert np.shape(got) == np.shape(want)
            _close(got, want)
    # folded to 0, still an array over the batch (the all-reduce's size is the batch's)
    assert np.shape(r.value("tp_decode_comm_time")) == (2048,)
    kind, branches = r.latency_branches()
    for label, v in ev.branches("time_per_output_token").items():
        _close(branches[label], v)


def test_serve_at_tp_1_is_unchanged_by_the_one_device_kernel():
    """serve() evaluates the load kernel (not specialised): its numbers at tp = 1 agree with
    the per-step prediction's decode step through the one-device kernel (a consistency check
    of the two paths, not a new number)."""
    s = ms.serve("llama-3-8b", "h100", qps=1, input_tokens=512, output_tokens=128)
    assert s.feasible in (True, False)
    p = ms.predict("llama-3-8b", "h100", batch=1, seq_len=512)
    assert p._ev.compiled is serving.serving_kernel(one_device=True, unquantised=True)
    assert p.value("tp_decode_comm_time") == 0.0 and p.value("tp_prefill_comm_time") == 0.0


def test_the_one_device_kernel_has_its_own_cache_entry(tmp_path, monkeypatch):
    """The variant is part of the entry's identity: the two kernels are two files, and each,
    read back by a process that has neither in memory, is the one asked for."""
    monkeypatch.setenv(cache.ENV, str(tmp_path))
    monkeypatch.setattr(numeric, "_KERNELS", {})
    serving._serving_kernel.cache_clear()
    try:
        values = _base("llama-3-8b", batch=8, seq_len=2048)
        args = [values[n] for n in serving.serving_kernel().input_names]
        want = serving.serving_kernel().raw(*args)
        got = serving.serving_kernel(one_device=True).raw(*args)
        files = sorted((tmp_path / "kernels").glob("*.json"))
        assert len(files) >= 2
        idents = [f.read_text().split("\n", 1)[0] for f in files]
        assert sum("('fixed'," in i for i in idents) == 1
        monkeypatch.setattr(numeric, "_KERNELS", {})
        serving._serving_kernel.cache_clear()
        general, special = serving.serving_kernel(), serving.serving_kernel(one_device=True)
        assert special._widen and not general._widen
        for a, b, c, d in zip(general.raw(*args), special.raw(*args), want, got):
            _close(a, c)
            _close(b, d)
        # the general kernel at tp = 2 is not the specialised one's numbers
        args2 = [2.0 if n == "tensor_parallel" else v
                 for n, v in zip(general.input_names, args)]
        comm = general.output_names.index("tp_decode_comm_time")
        assert general.raw(*args2)[comm] > 0 == special.raw(*args2)[comm]
    finally:
        serving._serving_kernel.cache_clear()


# -- the MoE and speculative kernels, specialised the same way -------------------------------

SPEC = {"draft": "llama-3.2-1b", "tokens": 4, "acceptance": 0.7}


def _kernels_of(r):
    """(the specialised kernel a prediction ran, the general kernel of its family)."""
    variant = (("kv_lora_rank" in r.base_inputs()), ("attention_window" in r.base_inputs()))
    if r._speculative:
        return r._ev.compiled, serving.speculative_kernel(*variant)
    return r._ev.compiled, serving.moe_kernel(*variant)


@pytest.mark.parametrize("model, kw", [
    ("mixtral-8x7b", {}), ("mixtral-8x7b", {"batch": 64, "seq_len": 8192}),
    ("mixtral-8x7b", {"phase": "prefill", "seq_len": 4096, "weight_bits": 4}),
    ("deepseek-v3", {"batch": 8, "prefill_tokens": 512, "prefix_cache_hit_rate": 0.5}),
    ("llama-3-8b", {"speculative": SPEC}),
    ("llama-3-8b", {"speculative": SPEC, "batch": 32, "seq_len": 8192, "weight_bits": 4}),
])
def test_moe_and_speculative_predictions_at_tp_1_run_specialised_kernels(model, kw):
    """At a scalar tp of 1 the MoE and speculative kernels are specialised like the dense one
    (``one_device``, and ``unquantised`` without weight-only quantisation): every output and
    branch argument equals the general kernel's (rel 1e-12), as scalars and on arrays."""
    for _ in range(2):                       # the second call takes the memoised hot path
        r = ms.predict(model, "h100", **kw)
        special, general = _kernels_of(r)
        assert special is not general and special.input_names == general.input_names
        assert special.output_names == general.output_names
        base = r.base_inputs()
        args = [base[n] for n in general.input_names]
        for got, want in zip(special.raw(*args), general.raw(*args)):
            _close(got, want)
        arrays = [np.array([v, 4 * v]) if n in ("batch", "context_length") else v
                  for n, v in zip(general.input_names, args)]
        for got, want in zip(special.raw(*arrays), general.raw(*arrays)):
            assert np.shape(got) == np.shape(want)
            _close(got, want)
    assert ms.predict(model, "h100", tp=2, **kw)._ev.compiled is not special


@settings(max_examples=25, deadline=None)
@given(batch=st.integers(1, 4096), seq=st.integers(16, 65536), hit=st.floats(0, 0.95),
       share=st.sampled_from((0.0, 0.5, 1.0)), eff=st.floats(0.05, 1.0),
       spec=st.booleans())
def test_specialised_moe_and_speculative_kernels_equal_the_general_ones(batch, seq, hit, share,
                                                                        eff, spec):
    """Random points with tp = 1 and no attention DP: the specialised MoE / speculative
    kernels give the general kernels' numbers, every output and branch argument."""
    r = ms.predict("llama-3-8b" if spec else "mixtral-8x7b", "h100",
                   **({"speculative": SPEC} if spec else {}))
    _, general = _kernels_of(r)
    variant = (False, False)
    make = serving.speculative_kernel if spec else serving.moe_kernel
    values = dict(r.base_inputs(), batch=float(batch), context_length=float(seq),
                  prefix_cache_hit_rate=hit, dequantized_share=share, compute_efficiency=eff)
    args = [values[n] for n in general.input_names]
    specials = [make(*variant, one_device=True)] + (
        [make(*variant, one_device=True, unquantised=True)] if share == 0 else [])
    for special in specials:
        for got, want in zip(special.raw(*args), general.raw(*args)):
            _close(got, want)
