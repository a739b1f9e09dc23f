"""The composer: one definition per symbol, cycle check, dimensional check on composition."""

import numpy as np
import pytest
import sympy

from mlsysim_sym import symbols as s
from mlsysim_sym.equations import walls
from mlsysim_sym.equations.base import DimensionError, Equation, dimension_of
from mlsysim_sym.system import CompositionError, System


@pytest.fixture(scope="module")
def serving():
    return System.from_walls(walls.compute, walls.memory, walls.serving)


def test_inputs_and_outputs_are_disjoint(serving):
    assert not set(serving.inputs) & set(serving.outputs)
    assert s.ttft in serving.outputs and s.memory_bandwidth in serving.inputs
    assert not any(sym.name == "flops_per_parameter_token" for sym in serving.inputs)


def test_expr_is_closed_form_in_inputs(serving):
    e = serving.expr("time_per_output_token")
    assert e.free_symbols <= set(serving.inputs)
    assert e.has(sympy.Max)


def test_expr_of_decode_flops_matches_kaplan(serving):
    # 2 N_a B + 4 L H d_h S B  (Kaplan Table 1 per token, times batch), plus a prompt chunk of
    # c tokens at 2 (N_a - N_h) + 2 L H d_h S_p (1 + h) each (chunked prefill; 0 for a pure
    # decode step; h the prefix-cache hit rate: the computed suffix also attends to the cached
    # prefix; no LM head on prompt tokens: vLLM's logits_indices take each request's last token)
    expected = s.batch * (2 * s.active_parameters
                          + 4 * s.layers * s.heads * s.head_dim * s.context_length) \
        + s.prefill_chunk_tokens * (2 * (s.active_parameters - s.head_parameters)
                                    + 2 * s.layers * s.heads * s.head_dim * s.prompt_length
                                    * (1 + s.prefix_cache_hit_rate))
    assert sympy.expand(serving.expr("decode_flops") - expected) == 0


def test_double_definition_is_refused():
    eq1 = Equation(s.compute_time, s.flops / s.peak_flops, cite="williams2009roofline", locator="x")
    eq2 = Equation(s.compute_time, 2 * s.flops / s.peak_flops, cite="williams2009roofline", locator="x")
    with pytest.raises(CompositionError, match="defined twice"):
        System([eq1, eq2])


def test_cycle_is_refused():
    eq1 = Equation(s.compute_time, s.memory_time, cite="williams2009roofline", locator="x")
    eq2 = Equation(s.memory_time, s.compute_time, cite="williams2009roofline", locator="x")
    with pytest.raises(CompositionError, match="cycle"):
        System([eq1, eq2])


def test_dimension_error_names_equation_term_and_both_units():
    bad = Equation(s.compute_time, s.flops / s.peak_flops + s.memory_bandwidth,
                   cite="williams2009roofline", locator="x")
    with pytest.raises(DimensionError) as info:
        System([bad])
    msg = str(info.value)
    assert "compute_time" in msg and "memory_bandwidth" in msg
    assert "[time]" in msg and "[information]" in msg


def test_dimension_of_max_requires_same_dimension():
    with pytest.raises(DimensionError, match="Max"):
        dimension_of(sympy.Max(s.compute_time, s.flops))


def test_compiled_vectorised_equals_scalar(serving):
    k = serving.compile(["time_per_output_token"])
    base = {n: 1.0 for n in k.input_names}
    base.update(batch=1.0, context_length=100.0)
    scalar = [k.raw(*[dict(base, batch=b)[n] for n in k.input_names])[0] for b in (1.0, 7.0, 300.0)]
    vec = k.raw(*[np.array([1.0, 7.0, 300.0]) if n == "batch" else base[n] for n in k.input_names])[0]
    np.testing.assert_allclose(vec, scalar, rtol=1e-14)


def test_compile_is_cached(serving):
    assert serving.compile(["ttft"]) is serving.compile(["ttft"])


def test_unknown_symbol_lists_close_matches(serving):
    with pytest.raises(KeyError, match="time_per_output_token"):
        serving.symbol("time_per_output_tokn")


def test_branch_points_name_walls(serving):
    (eq, kind, branches), *_ = serving.branch_points("time_per_output_token")
    assert kind == "max" and set(branches.values()) == {"Compute", "Memory"}


def test_walls_reachable_by_name_and_number():
    assert walls.serving is walls["Serving"] is walls[4]
    numbers = [w.number for w in walls]
    assert numbers == sorted(numbers) and {1, 2, 4} <= set(numbers)
    with pytest.raises(AttributeError, match="serving"):
        walls.servng
