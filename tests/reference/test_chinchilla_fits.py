"""compute_optimal(): every published Chinchilla fit against its own paper's numbers.

Sources:
- Besiroglu, Erdil, Barnett, You 2024, "Chinchilla Scaling: A replication attempt"
  (arXiv:2404.10102), Table 1, their estimate: E = 1.8172, A = 482.01, B = 2085.43,
  alpha = 0.3478, beta = 0.3658; their Fig. 1: the optimal ratio is consistent with the
  20 tokens per parameter Chinchilla was trained at, and a = beta/(alpha+beta) is compatible
  with Hoffmann et al.'s Approaches 1 and 2.
- Hoffmann et al. 2022 (arXiv:2203.15556): Table 2 exponents a (N_opt ~ C^a): Approach 1 0.50,
  Approach 2 0.49, Approach 3 0.46; Table 3 (Approach 1) projections: 1B -> 1.21e20 FLOPs,
  10B -> 1.23e22, 67B -> 5.76e23 (1.5T tokens), 175B -> 3.85e24, 1T -> 1.27e26; Table A3
  (Approach 2; as transcribed in Karpathy's nanoGPT scaling_laws.ipynb) tokens: 1B -> 20.0B,
  67B -> 1.7T, 175B -> 4.3T, 1T -> 26.5T, 10T -> 292.0T; Sec. 4: Chinchilla 70B on 1.4T tokens;
  App. D.2 printed Approach-3 constants E = 1.69, A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28.
"""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlsysim_sym as ms
from mlsysim_sym.symbols import info
from mlsysim_sym.symbols.complexity import DEFAULT_FIT, FITS


def n_d(fit, flops):
    r = ms.compute_optimal(f"{flops} FLOP", fit=fit)
    return r.parameters.to("param").magnitude, r.tokens.to("token").magnitude


def loglog_interp(p1, p2, c):
    """Model size at compute c on the straight log-log line through two table rows (N, C)."""
    (n1, c1), (n2, c2) = p1, p2
    return n1 * (c / c1) ** (math.log(n2 / n1) / math.log(c2 / c1))


def test_default_fit_is_the_besiroglu_refit_and_gives_80_to_110B_at_1e24():
    assert DEFAULT_FIT == "besiroglu2024"
    r = ms.compute_optimal("1e24 FLOP")
    assert r.fit.name == "besiroglu2024" and r.fit.cite == "besiroglu2024chinchilla"
    # by hand: G = (0.3478 x 482.01 / (0.3658 x 2085.43))^(1/0.7136) = 0.119630,
    # a = 0.3658 / 0.7136 = 0.512612; N = G (1e24/6)^a = 9.586e10; D = (1e24/6) / N = 1.739e12
    alpha, beta = 0.3478, 0.3658
    g = (alpha * 482.01 / (beta * 2085.43)) ** (1 / (alpha + beta))
    assert g == pytest.approx(0.119630, rel=1e-5)
    n = g * (1e24 / 6) ** (beta / (alpha + beta))
    assert r.parameters.to("param").magnitude == pytest.approx(n, rel=1e-9)
    assert r.parameters.to("param").magnitude == pytest.approx(9.586e10, rel=1e-3)
    assert 80e9 <= n <= 110e9
    assert r.tokens.to("token").magnitude == pytest.approx(1.739e12, rel=1e-3)
    assert r.loss is not None and r.loss.magnitude > 1.8172


def test_besiroglu_refit_agrees_with_chinchillas_allocation_and_approaches_1_2():
    # Besiroglu et al. Fig. 1: consistent with Chinchilla's 70B on 1.4T (20 tokens/parameter)
    n, d = n_d("besiroglu2024", 5.76e23)
    assert n == pytest.approx(70e9, rel=0.05)           # 72.2B
    assert 15 < d / n < 25                               # 18.4
    a = 0.3658 / (0.3478 + 0.3658)                       # 0.513 vs Table 2: 0.50 / 0.49
    assert a == pytest.approx(0.50, abs=0.025)
    n1, _ = n_d("besiroglu2024", 1e21)
    n2, _ = n_d("besiroglu2024", 1e25)
    assert math.log(n2 / n1) / math.log(1e4) == pytest.approx(a, rel=1e-9)


@pytest.mark.parametrize("params,flops", [(1e9, 1.21e20), (10e9, 1.23e22), (67e9, 5.76e23),
                                          (175e9, 3.85e24), (1e12, 1.27e26)])
def test_approach1_reproduces_table3(params, flops):
    n, d = n_d("hoffmann-approach1", flops)
    assert n == pytest.approx(params, rel=0.035)
    assert 6 * n * d == pytest.approx(flops, rel=1e-9)


def test_approach1_at_1e24_is_table3_interpolated():
    n, d = n_d("hoffmann-approach1", 1e24)
    table = loglog_interp((67e9, 5.76e23), (175e9, 3.85e24), 1e24)   # 88.5B
    assert n == pytest.approx(table, rel=0.01) and n == pytest.approx(88.28e9, rel=1e-3)
    assert d == pytest.approx(1.888e12, rel=1e-3)


@pytest.mark.parametrize("params,tokens", [(1e9, 20.0e9), (67e9, 1.7e12), (175e9, 4.3e12),
                                           (1e12, 26.5e12), (10e12, 292.0e12)])
def test_approach2_reproduces_table_a3(params, tokens):
    n, d = n_d("hoffmann-approach2", 6 * params * tokens)
    assert n == pytest.approx(params, rel=0.04)


def test_approach2_at_1e24_is_table_a3_interpolated():
    n, d = n_d("hoffmann-approach2", 1e24)
    table = loglog_interp((67e9, 6 * 67e9 * 1.7e12), (175e9, 6 * 175e9 * 4.3e12), 1e24)  # 81.3B
    assert n == pytest.approx(table, rel=0.01) and n == pytest.approx(80.74e9, rel=1e-3)
    assert d == pytest.approx(2.064e12, rel=1e-3)


def test_printed_approach3_constants_give_41B_on_4T_at_1e24():
    # G = 1.344711, a = 0.28/0.62: N = G (1e24/6)^a = 4.130e10, D = 4.036e12 (98 tokens/param)
    r = ms.compute_optimal("1e24 FLOP", fit="hoffmann-approach3")
    n, d = r.parameters.to("param").magnitude, r.tokens.to("token").magnitude
    assert n == pytest.approx(1.344711 * (1e24 / 6) ** (0.28 / 0.62), rel=1e-6)
    assert n == pytest.approx(4.130e10, rel=1e-3) and d == pytest.approx(4.036e12, rel=1e-3)
    assert d / n == pytest.approx(97.7, abs=0.1)
    # its exponent is Table 2's Approach 3 (0.46) within the printed rounding
    n2, _ = n_d("hoffmann-approach3", 1e25)
    assert math.log(n2 / n) / math.log(10) == pytest.approx(0.46, abs=0.01)


@pytest.mark.parametrize("flops", [1e20, 5.88e23, 1e24, 1e27])
def test_twenty_tokens_rule(flops):
    # D = 20 N and C = 6ND: N = sqrt(C / 120); at 1e24, 91.29B on 1.826T
    n, d = n_d("tokens-per-parameter-20", flops)
    assert n == pytest.approx(math.sqrt(flops / 120), rel=1e-9)
    assert d / n == pytest.approx(20, rel=1e-9)
    if flops == 5.88e23:  # Chinchilla's own point (Sec. 4)
        assert n == pytest.approx(70e9, rel=1e-9) and d == pytest.approx(1.4e12, rel=1e-9)


def test_every_fit_but_the_printed_approach3_gives_80_to_100B_at_1e24():
    sizes = {name: n_d(name, 1e24)[0] for name in FITS}
    assert sizes["hoffmann-approach3"] < 50e9
    assert all(80e9 < n < 100e9 for k, n in sizes.items() if k != "hoffmann-approach3"), sizes


def test_symbol_descriptions_state_the_ratios_the_fits_give():
    ratio = {k: ms.compute_optimal(1e24, fit=k).tokens_per_parameter.magnitude for k in FITS}
    text = info("compute_optimal_tokens_per_parameter").description
    assert f"{ratio['besiroglu2024']:.0f} with Besiroglu" in text
    assert f"{ratio['hoffmann-approach3']:.0f} with Hoffmann" in text
    text = info("power_law_optimal_tokens_per_parameter").description
    assert f"{ratio['hoffmann-approach1']:.0f} by Hoffmann et al.'s Approach 1" in text
    assert f"{ratio['hoffmann-approach2']:.0f} by Approach 2" in text
    assert f"{ratio['tokens-per-parameter-20']:.0f} by the 20-tokens rule" in text


def test_every_fit_is_cited_with_a_locator():
    from mlsysim_sym.equations.references import REFERENCES
    for fit in FITS.values():
        assert fit.cite in REFERENCES and fit.locator
        assert fit.kind in ("parametric", "power_law")


@pytest.mark.parametrize("kwargs,match", [
    ({"compute_budget": "1e24 FLOP", "fit": "chinchilla"}, "fit must be one of"),
    ({"compute_budget": "1e24 FLOP", "fit": None}, "fit must be one of"),
    ({"compute_budget": -1e24}, "compute_budget"),
    ({"compute_budget": 0}, "compute_budget"),
    ({"compute_budget": float("inf")}, "compute_budget"),
    ({"compute_budget": "5 s"}, "compute_budget"),
    ({"compute_budget": "lots"}, "compute_budget"),
])
def test_bad_input_is_refused_with_a_clear_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ms.compute_optimal(**kwargs)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(FITS)), st.floats(1e18, 1e28))
def test_every_fit_spends_exactly_the_budget(fit, flops):
    n, d = n_d(fit, flops)
    assert 6 * n * d == pytest.approx(flops, rel=1e-9)
    n2, _ = n_d(fit, flops * 10)
    assert n2 > n  # more compute, bigger optimal model
