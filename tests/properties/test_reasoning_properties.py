"""Wall 12 (Reasoning) properties."""

from hypothesis import given, settings, strategies as st

from mlsysim_sym.equations import walls
from mlsysim_sym.system import System

K = System.from_walls(walls.reasoning).compile(
    ["speculative_tokens_per_pass", "speculative_speedup", "reasoning_latency"])
fin = dict(allow_nan=False, allow_infinity=False)
inputs = st.fixed_dictionaries({
    "draft_acceptance_rate": st.floats(0, 0.999, **fin),  # (1 - a^(g+1)) / (1 - a) cancels at 1
    "draft_length": st.integers(1, 32), "draft_cost_ratio": st.floats(0, 1, **fin),
    "verify_cost_ratio": st.floats(1, 8, **fin),
    "time_per_output_token": st.floats(1e-5, 1, **fin),
    "reasoning_steps": st.integers(1, 1000), "tokens_per_reasoning_step": st.integers(1, 2000),
    "reasoning_samples": st.integers(1, 256), "concurrent_samples": st.integers(1, 256),
})


def run(d, **over):
    d = {**d, **over}
    return dict(zip(K.output_names, K.raw(*[d[n] for n in K.input_names])))


@settings(max_examples=400, deadline=None)
@given(inputs)
def test_expected_tokens_between_one_and_gamma_plus_one(d):
    e = run(d)["speculative_tokens_per_pass"]  # base unit: tokens
    assert 1 - 1e-12 <= e <= d["draft_length"] + 1 + 1e-9


@settings(max_examples=400, deadline=None)
@given(inputs, st.floats(1e-6, 1.0))
def test_expected_tokens_increasing_in_acceptance(d, step):
    a = d["draft_acceptance_rate"]
    higher = min(0.999, a + step)
    assert run(d, draft_acceptance_rate=higher)["speculative_tokens_per_pass"] >= \
        run(d)["speculative_tokens_per_pass"] * (1 - 1e-12)


@settings(max_examples=300, deadline=None)
@given(inputs, st.integers(1, 16))
def test_longer_drafts_never_fewer_tokens_per_pass(d, extra):
    assert run(d, draft_length=d["draft_length"] + extra)["speculative_tokens_per_pass"] >= \
        run(d)["speculative_tokens_per_pass"] * (1 - 1e-12)


@settings(max_examples=300, deadline=None)
@given(inputs, st.integers(1, 64))
def test_latency_monotone_in_samples_and_concurrency(d, extra):
    base = run(d)["reasoning_latency"]
    assert run(d, reasoning_samples=d["reasoning_samples"] + extra)["reasoning_latency"] >= base
    assert run(d, concurrent_samples=d["concurrent_samples"] + extra)["reasoning_latency"] <= base
