"""A sweep's numpy kernels rewritten for the inputs that are arrays (numeric._ScalarsFirst).

``Kernel.raw`` / ``many`` / ``single`` on arrays run the generated numpy kernel with the scalar
factors of each product multiplied together before they meet an array, ``reduce(maximum,
[a, b])`` as ``maximum(a, b)`` and ``1.0 * x`` as ``x``: fewer passes over the arrays, the same
numbers up to the rounding of a reordered product. These tests hold the rewritten kernels to
the plain generated kernel and to the scalar ``math`` kernel at rel 1e-12, over random design
points with random inputs swept.
"""

from __future__ import annotations

import ast

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import mlsysim_sym as ms
from mlsysim_sym import numeric
from mlsysim_sym.tasks.serving import system as serving

REL = 1e-12
MODELS = ("llama-3-8b", "mistral-7b", "gemma-2-9b", "llama-3-70b")
#: inputs a sweep varies, each with a range of values it may take (base units)
SWEPT = {"batch": (1, 4096), "prompt_length": (1, 131072), "context_length": (1, 131072),
         "compute_efficiency": (0.05, 1.0), "memory_efficiency": (0.05, 1.0),
         "prefix_cache_hit_rate": (0.0, 0.95), "prefill_chunk_tokens": (0, 8192),
         "unoverlapped_fraction": (0.0, 1.0)}


def _close(got, want):
    got, want = np.broadcast_arrays(np.asarray(got, dtype=float), np.asarray(want, dtype=float))
    np.testing.assert_allclose(got, want, rtol=REL, atol=0)


def _variant(name):
    from mlsysim_sym.tasks._core.inputs import latent_attention, sliding_window
    m = ms.registry.model(name)
    return latent_attention(m), sliding_window(m)


@settings(max_examples=40, deadline=None)
@given(model=st.sampled_from(MODELS), chip=st.sampled_from(("h100", "a100-80gb", "mi300x")),
       swept=st.lists(st.sampled_from(sorted(SWEPT)), min_size=1, max_size=3, unique=True),
       tp=st.sampled_from((1, 2, 8)), one_device=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_the_rewritten_sweep_kernel_equals_the_plain_kernel(model, chip, swept, tp, one_device,
                                                            seed):
    """Every output and branch argument of the rewritten kernel equals the plain generated
    numpy kernel's, and the scalar kernel's point by point, with 1 to 3 inputs swept (as 1-D
    arrays or broadcasting against each other)."""
    tp = 1 if one_device else tp
    kernel = serving.serving_kernel(*_variant(model), one_device=one_device)
    base = ms.predict(model, chip, tp=tp).base_inputs()
    rng = np.random.default_rng(seed)
    values = dict(base)
    for k, name in enumerate(swept):
        low, high = SWEPT[name]
        v = rng.uniform(low, high, size=5)
        if isinstance(low, int):
            v = np.round(v)
        values[name] = v.reshape((5,) + (1,) * k)          # each swept input on its own axis
    args = [values[n] for n in kernel.input_names]
    got = kernel.raw(*args)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        plain = kernel._kernel(True)(*args)
    plain = kernel._widened(range(len(plain)), plain, args) if kernel._widen else plain
    assert len(got) == len(plain)
    for g, p in zip(got, plain):
        assert np.shape(g) == np.shape(p)
        _close(g, p)
    # and point by point, the scalar (math) kernel
    shape = np.broadcast_shapes(*(np.shape(a) for a in args))
    for index in ((0,) * len(shape), tuple(s - 1 for s in shape)):
        point = [float(np.broadcast_to(a, shape)[index]) for a in args]
        for g, p in zip(got, kernel.raw(*point)):
            _close(np.broadcast_to(g, shape)[index], p)


def test_many_and_single_are_rewritten_too_and_agree_with_raw():
    """The outputs read one by one (single) and a few at once (many) on arrays come from the
    rewritten kernels (one per pattern of array inputs) and equal the whole kernel's."""
    r = ms.predict("llama-3-8b", "h100", batch=np.arange(1.0, 65.0),
                   seq_len=np.array([[512.0], [4096.0]]))
    kernel, args = r._ev.compiled, r._ev.args
    whole = kernel.raw(*args)
    arrays = numeric._array_positions(args)
    assert arrays and all(np.ndim(args[i]) for i in arrays)
    for name in ("time_per_output_token", "ttft", "memory_footprint"):
        _close(kernel.single(name, args), whole[kernel._slot_of[name]])
        assert (name, arrays) in kernel._many
    names = ("decode_throughput", ("branch", "time_per_output_token", "Memory"))
    for name, v in zip(names, kernel.many(names, args)):
        _close(v, whole[kernel._slot_of[name]])
    assert (names, arrays) in kernel._many


@pytest.mark.parametrize("model, kw", [
    ("mixtral-8x7b", {}),                                        # the MoE kernel
    ("llama-3-70b", {"tp": 4, "speculative": {"draft": "llama-3.2-1b", "tokens": 4,
                                              "acceptance": 0.7}}),  # the speculative kernel
    ("llama-3-8b", {"tp": 2}),                                   # the general kernel
])
def test_a_predict_sweep_equals_its_points(model, kw):
    """predict() on arrays (rewritten kernels) gives each point's scalar prediction."""
    batch = np.array([1.0, 16.0, 256.0])
    sweep = ms.predict(model, "h100", batch=batch, **kw)
    sweep.prefetch()
    for i, b in enumerate(batch):
        point = ms.predict(model, "h100", batch=int(b), **kw)
        for name in ("ttft", "time_per_output_token", "memory_footprint", "decode_throughput"):
            _close(sweep.value(name)[i], point.value(name))
        assert sweep.bottleneck[i] == point.bottleneck
        _close(sweep.mfu.magnitude[i], point.mfu.magnitude)


# -- the rewrite itself, on generated source -------------------------------------------------

_SOURCE = '''def f(a, b, c, d):
    x0 = 2.0 * a * b * c * 3.0
    x1 = reduce(maximum, [x0, b * c, 1.0 * a])
    x2 = a / c / d * 1.0 * b + c * d * a / 2.0
    return [x0, x1, x2, 1.0 * a / x1, c * d * 5.0, a * (b * (c * 2.0))]
'''
_ENTRY = {"source": _SOURCE, "function": "f",
          "globals": {"maximum": ["numpy", "maximum"], "reduce": ["functools", "reduce"]}}


def _rewritten_text(arrays):
    seen = {}
    original = numeric._rebuild

    def spy(entry, flavour, what):
        seen["source"] = entry["source"]
        return original(entry, flavour, what)

    numeric._rebuild = spy
    try:
        fn = numeric._pruned(_ENTRY, None, "test", arrays)
    finally:
        numeric._rebuild = original
    return fn, seen["source"]


@settings(max_examples=60, deadline=None)
@given(arrays=st.lists(st.integers(0, 3), unique=True, max_size=4),
       values=st.lists(st.floats(1e-3, 1e3), min_size=4, max_size=4))
def test_scalars_first_gives_the_same_numbers(arrays, values):
    """The rewritten function equals the plain one (rel 1e-12) for any set of array inputs."""
    plain = numeric._rebuild(_ENTRY, "numpy", "plain")
    fn, _ = _rewritten_text(tuple(sorted(arrays)))
    rng = np.random.default_rng(int(values[0] * 1000))
    args = [v * (1.0 + rng.random(7)) if i in arrays else v for i, v in enumerate(values)]
    for got, want in zip(fn(*args), plain(*args)):
        _close(got, want)


def test_scalars_first_groups_scalars_and_folds_reduce():
    """With ``b`` the only array: the scalar factors of a product are multiplied first, the
    n-ary Max is nested ``maximum`` calls, ``1.0 *`` is gone from products with an array;
    products without a pass to save, and products of scalars, keep their order."""
    _, text = _rewritten_text((1,))
    tree = ast.parse(text).body[0]
    steps = {s.targets[0].id: ast.unparse(s.value) for s in tree.body[:-1]}
    assert steps["x0"] == "2.0 * a * c * 3.0 * b"
    assert steps["x1"] == "maximum(maximum(x0, b * c), 1.0 * a)"   # scalars: as written
    assert "reduce" not in text
    assert steps["x2"] == "a / c / d * b + c * d * a / 2.0"   # one pass either way: as written
    assert ast.unparse(tree.body[-1].value.elts[5]) == "a * c * 2.0 * b"
    assert ast.unparse(tree.body[-1].value.elts[3]) == "a / x1"
    # no array: nothing reordered
    _, text = _rewritten_text(())
    assert "2.0 * a * b * c * 3.0" in text
