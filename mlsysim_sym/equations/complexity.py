"""Wall 11 - Complexity: how much compute training takes, and how to split a budget between
model size and data.

Bounds: a dense transformer costs about 2 FLOPs per parameter per token forward and twice that
backward, so training N parameters on D tokens costs C = 6 N D model FLOPs (Kaplan et al. Sec.
2.1). Full activation recomputation repeats the forward pass, 8 N D hardware FLOPs (the 96
vs 72 of Narayanan et al. eq. 3); a fraction r of it gives (6 + 2 r) N D.

The compute-optimal split is an empirical fit, and the published fits disagree, so the fit is an
input (``symbols.complexity.FITS``; ``mlsysim_sym.compute_optimal(budget, fit=...)``):

* a parametric loss L(N, D) = E + A / N^alpha + B / D^beta (Hoffmann et al. Approach 3):
  minimising it on C = 6 N D gives the closed-form frontier N_opt = G (C/6)^a,
  D_opt = G^-1 (C/6)^b with G = (alpha A / (beta B))^(1/(alpha+beta)), a = beta/(alpha+beta),
  b = alpha/(alpha+beta) (``compute_optimal_*``). N and D are pure counts in the fit, so they
  are divided by one parameter / one token here; loss is in nats per token (dimensionless).
* a power law through one published point of the frontier, N_opt = N_ref (C / C_ref)^a and
  D_opt = C / (6 N_opt) (``power_law_optimal_*``): Hoffmann et al.'s Approaches 1 and 2 (a from
  their Table 2, the point from their projections in Tables 3 and A3) and the 20-tokens-per-
  parameter rule (a = 1/2 through Chinchilla's 70B parameters on 1.4T tokens).

At 1e24 FLOPs the default, Besiroglu et al.'s (2024) refit of Approach 3, gives 96B parameters
on 1.7T tokens (18 tokens per parameter); Approach 1 gives 88B / 1.9T, Approach 2 81B / 2.1T,
the 20-tokens rule 91B / 1.8T. Hoffmann et al.'s Approach-3 constants as printed (rounded) give
41B / 4.0T (98 tokens per parameter): Besiroglu et al. trace the gap to the rounding and to an
optimiser stopped before convergence.

Regime of validity: dense decoder-only transformers with N >> attention FLOPs per token
(n_ctx << 12 d_model, Kaplan et al. Sec. 2.1); single-epoch training on fresh data; the fits'
range (Hoffmann et al.: 70M-16B parameters, 5B-500B tokens) is extrapolated beyond it.

References
----------
Hoffmann et al., "Training Compute-Optimal Large Language Models", NeurIPS 2022.
Besiroglu et al., "Chinchilla Scaling: A replication attempt", arXiv:2404.10102, 2024.
Kaplan et al., "Scaling Laws for Neural Language Models", 2020.
Narayanan et al., "Efficient Large-Scale Language Model Training on GPU Clusters Using
Megatron-LM", SC21.
"""

from .. import symbols as s
from .base import Equation, Wall
from .references import Reference, add_all

add_all(
    Reference("hoffmann2022chinchilla", "Hoffmann, Jordan and Borgeaud, Sebastian and Mensch, "
              "Arthur and others", "Training Compute-Optimal Large Language Models",
              "Advances in NeurIPS 35", 2022, url="https://arxiv.org/abs/2203.15556",
              kind="inproceedings"),
    Reference("besiroglu2024chinchilla", "Besiroglu, Tamay and Erdil, Ege and Barnett, Matthew "
              "and You, Josh", "Chinchilla Scaling: A replication attempt", "arXiv:2404.10102",
              2024, url="https://arxiv.org/abs/2404.10102", kind="misc"),
    Reference("narayanan2021megatron", "Narayanan, Deepak and Shoeybi, Mohammad and Casper, Jared "
              "and others", "Efficient Large-Scale Language Model Training on GPU Clusters Using "
              "Megatron-LM", "Proceedings of SC21", 2021, doi="10.1145/3458817.3476209",
              kind="inproceedings"),
)

_E, _A, _B = s.scaling_irreducible_loss, s.scaling_parameter_coefficient, s.scaling_data_coefficient
_alpha, _beta = s.scaling_parameter_exponent, s.scaling_data_exponent
_G = (_alpha * _A / (_beta * _B)) ** (1 / (_alpha + _beta))
# C / 6 as a pure count of (parameter x token) products, Hoffmann et al.'s units
_c6 = s.compute_budget / (3 * s.flops_per_parameter_token * s.one_parameter * s.one_token)


def parametric_loss(n, d):
    """Hoffmann et al. eq. (2): E + A / N^alpha + B / D^beta (N in param, D in token)."""
    return _E + _A * (n / s.one_parameter) ** (-_alpha) + _B * (d / s.one_token) ** (-_beta)


WALL = Wall(
    number=11,
    name="Complexity",
    domain="algorithm",
    summary=(
        "Training compute is about 6 FLOPs per parameter per token (8 with full recomputation, "
        "counted as hardware FLOPs). For a fixed budget, a fitted scaling law splits compute "
        "between model size and data: the minimum of a parametric loss on C = 6ND (Hoffmann et "
        "al. Approach 3; Besiroglu et al.'s 2024 refit, the default) or a power-law frontier "
        "through a published point (Approaches 1 and 2, 20 tokens per parameter)."
    ),
    regime="Dense transformers, attention FLOPs small next to 2N per token; one epoch over "
           "fresh data; fit constants are empirical and extrapolated beyond 16B parameters.",
    equations=(
        Equation(s.training_compute,
                 3 * s.flops_per_parameter_token * s.parameters * s.training_tokens,
                 cite="kaplan2020scaling",
                 locator="Sec. 2.1: C ~ 6N per token (2N forward + 4N backward); Hoffmann et al. "
                         "Sec. 3: FLOPs(N, D) ~ 6ND"),
        Equation(s.training_hardware_compute,
                 (3 + s.recomputed_forward_fraction) * s.flops_per_parameter_token
                 * s.parameters * s.training_tokens,
                 cite="narayanan2021megatron",
                 locator="eq. (3): 96 B s l h^2 (1 + ...) with full recomputation vs 72 without "
                         "(4 passes vs 3)"),
        Equation(s.training_loss, parametric_loss(s.parameters, s.training_tokens),
                 cite="hoffmann2022chinchilla",
                 locator="Sec. 3.3 eq. (2); Approach-3 fit values App. D.2"),
        Equation(s.compute_optimal_parameters,
                 _G * _c6 ** (_beta / (_alpha + _beta)) * s.one_parameter,
                 cite="hoffmann2022chinchilla", locator="Sec. 3.3 eq. (4): N_opt(C) = G (C/6)^a"),
        Equation(s.compute_optimal_tokens,
                 _c6 ** (_alpha / (_alpha + _beta)) / _G * s.one_token,
                 cite="hoffmann2022chinchilla",
                 locator="Sec. 3.3 eq. (4): D_opt(C) = G^-1 (C/6)^b"),
        Equation(s.compute_optimal_tokens_per_parameter,
                 s.compute_optimal_tokens / s.compute_optimal_parameters,
                 cite="hoffmann2022chinchilla",
                 locator="Sec. 3.3 eq. (4): D_opt / N_opt = G^-2 (C/6)^(b - a)"),
        Equation(s.compute_optimal_loss,
                 parametric_loss(s.compute_optimal_parameters, s.compute_optimal_tokens),
                 cite="hoffmann2022chinchilla",
                 locator="Sec. 3.3: loss on the efficient frontier"),
        Equation(s.power_law_optimal_parameters,
                 s.frontier_reference_parameters
                 * (s.compute_budget / s.frontier_reference_compute) ** s.frontier_parameter_exponent,
                 cite="hoffmann2022chinchilla",
                 locator="Sec. 3.1-3.2 and Table 2: N_opt ~ C^a, through a projection of Table 3 "
                         "(Approach 1) or Table A3 (Approach 2)"),
        Equation(s.power_law_optimal_tokens,
                 s.compute_budget / (3 * s.flops_per_parameter_token
                                     * s.power_law_optimal_parameters),
                 cite="hoffmann2022chinchilla", locator="Sec. 3: FLOPs(N, D) ~ 6ND, so D = C / 6N"),
        Equation(s.power_law_optimal_tokens_per_parameter,
                 s.power_law_optimal_tokens / s.power_law_optimal_parameters,
                 cite="hoffmann2022chinchilla",
                 locator="Table 3: about 20 tokens per parameter (Approach 1)"),
    ),
    references=("kaplan2020scaling", "hoffmann2022chinchilla", "besiroglu2024chinchilla",
                "narayanan2021megatron"),
)
