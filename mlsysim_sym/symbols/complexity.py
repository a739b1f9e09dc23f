"""Symbols of wall 11 (Complexity): training compute and the Chinchilla compute-optimal frontier.

The fit constants are *symbols*, not constants: they are empirical, and the published fits
disagree (Hoffmann et al.'s printed Approach-3 constants put 41B parameters on 4.0T tokens at
1e24 FLOPs; their Approaches 1 and 2, the 20-tokens-per-parameter rule and Besiroglu et al.'s
2024 refit put 81-96B on 1.7-2.1T). Two kinds of fit are modelled:

* a parametric loss L(N, D) = E + A / N^alpha + B / D^beta, whose minimum on C = 6ND is the
  closed-form frontier (``compute_optimal_*``; Hoffmann et al. Approach 3, Besiroglu et al.);
* a power law through one point of a published frontier, N_opt = N_ref (C / C_ref)^a,
  D_opt = C / (6 N_opt) (``power_law_optimal_*``; Hoffmann et al. Approaches 1 and 2, whose
  exponents are in their Table 2 and projections in Tables 3 / A3, and the 20-tokens rule).

:data:`FITS` holds each published fit with its provenance; :data:`DEFAULT_FIT` is the
Besiroglu et al. (2024) refit. ``mlsysim_sym.compute_optimal(budget, fit=...)`` evaluates them.
"""

from dataclasses import dataclass, field
from types import MappingProxyType

from .base import constant, declare

one_parameter = constant("one_parameter", 1, "param", "1",
                         "unit parameter count: Hoffmann et al. fit L(N, D) with N a pure count")
one_token = constant("one_token", 1, "token", "1",
                     "unit token count: Hoffmann et al. fit L(N, D) with D a pure count")

training_tokens = declare("training_tokens", "token", r"D", "tokens seen during training",
                          (1, 1e17))
training_compute = declare("training_compute", "FLOP", r"C",
                           "model FLOPs of training: forward + backward over D tokens", (0, 1e32))
recomputed_forward_fraction = declare(
    "recomputed_forward_fraction", "dimensionless", r"r",
    "fraction of the forward pass recomputed in the backward pass (0: none; 1: full activation "
    "recomputation)", (0, 1))
training_hardware_compute = declare(
    "training_hardware_compute", "FLOP", r"C_{\mathrm{hw}}",
    "hardware FLOPs of training, including recomputation (the numerator of HFU)", (0, 1e32))
scaling_irreducible_loss = declare("scaling_irreducible_loss", "dimensionless", r"E",
                                   "irreducible loss of the parametric fit [nats/token]", (0, 10))
scaling_parameter_coefficient = declare("scaling_parameter_coefficient", "dimensionless", r"A",
                                        "coefficient of the model-size term of the fit", (0, 1e6))
scaling_data_coefficient = declare("scaling_data_coefficient", "dimensionless", r"B",
                                   "coefficient of the data term of the fit", (0, 1e6))
scaling_parameter_exponent = declare("scaling_parameter_exponent", "dimensionless", r"\alpha",
                                     "exponent of the model-size term of the fit", (0.01, 2))
scaling_data_exponent = declare("scaling_data_exponent", "dimensionless", r"\beta",
                                "exponent of the data term of the fit", (0.01, 2))
training_loss = declare("training_loss", "dimensionless", r"\hat{L}",
                        "final pre-training loss predicted by the parametric fit [nats/token]",
                        (0, 100))
compute_budget = declare("compute_budget", "FLOP", r"C_{\mathrm{budget}}",
                         "training compute available for the compute-optimal allocation",
                         (1e6, 1e32))
compute_optimal_parameters = declare("compute_optimal_parameters", "param", r"N_{\mathrm{opt}}",
                                     "model size minimising the parametric loss L(N, D) at the "
                                     "compute budget", (0, 1e16))
compute_optimal_tokens = declare("compute_optimal_tokens", "token", r"D_{\mathrm{opt}}",
                                 "training tokens minimising the parametric loss L(N, D) at the "
                                 "compute budget", (0, 1e18))
compute_optimal_tokens_per_parameter = declare(
    "compute_optimal_tokens_per_parameter", "token/param", r"\tau_{\mathrm{opt}}",
    "tokens per parameter of the parametric fit's compute-optimal allocation (at 1e24 FLOPs: 18 "
    "with Besiroglu et al. 2024's refit, 98 with Hoffmann et al.'s printed Approach-3 constants)",
    (0, 1e6))
compute_optimal_loss = declare("compute_optimal_loss", "dimensionless", r"\hat{L}_{\mathrm{opt}}",
                               "predicted loss of the compute-optimal allocation [nats/token]",
                               (0, 100))
frontier_parameter_exponent = declare(
    "frontier_parameter_exponent", "dimensionless", "a",
    "exponent of a power-law fit of the compute-optimal model size, N_opt ~ C^a", (0.01, 1))
frontier_reference_compute = declare(
    "frontier_reference_compute", "FLOP", r"C_{\mathrm{ref}}",
    "training compute of one published point of the compute-optimal frontier", (1e6, 1e32))
frontier_reference_parameters = declare(
    "frontier_reference_parameters", "param", r"N_{\mathrm{ref}}",
    "compute-optimal model size at the reference compute of the frontier fit", (1, 1e16))
power_law_optimal_parameters = declare(
    "power_law_optimal_parameters", "param", r"N_{\mathrm{opt}}^{\mathrm{pl}}",
    "compute-optimal model size at the budget by a power-law frontier fit", (0, 1e16))
power_law_optimal_tokens = declare(
    "power_law_optimal_tokens", "token", r"D_{\mathrm{opt}}^{\mathrm{pl}}",
    "compute-optimal training tokens at the budget by a power-law frontier fit (C = 6ND)",
    (0, 1e18))
power_law_optimal_tokens_per_parameter = declare(
    "power_law_optimal_tokens_per_parameter", "token/param", r"\tau_{\mathrm{opt}}^{\mathrm{pl}}",
    "tokens per parameter of a power-law frontier fit (at 1e24 FLOPs: 21 by Hoffmann et al.'s "
    "Approach 1, 26 by Approach 2, 20 by the 20-tokens rule)", (0, 1e6))

#: Hoffmann et al. 2022, Approach 3 fit (Sec. 3.3, Eq. 2; values in App. D.2). These are the
#: rounded values printed in the paper; Besiroglu et al. 2024 ("Chinchilla Scaling: A replication
#: attempt", arXiv:2404.10102) show the rounding biases the frontier they imply.
HOFFMANN2022_APPROACH3 = dict(scaling_irreducible_loss=1.69, scaling_parameter_coefficient=406.4,
                              scaling_data_coefficient=410.7, scaling_parameter_exponent=0.34,
                              scaling_data_exponent=0.28)


@dataclass(frozen=True)
class ScalingFit:
    """A published compute-optimal fit and where its numbers come from.

    Attributes
    ----------
    name : str
    kind : str
        ``parametric`` (values for E, A, B, alpha, beta) or ``power_law`` (values for
        ``frontier_parameter_exponent``, ``frontier_reference_compute`` [FLOP],
        ``frontier_reference_parameters`` [param]).
    values : mapping
        Symbol name -> value in the symbol's declared unit.
    cite : str
        Reference key (``mlsysim_sym.equations.references``).
    locator : str
        Table / section of the numbers.
    note : str
        How a value was derived, if it was.
    """

    name: str
    kind: str
    values: dict = field(hash=False)
    cite: str
    locator: str
    note: str = ""

    def __post_init__(self):
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))


_CHINCHILLA_ROW = "Hoffmann et al. Sec. 4: Chinchilla, 70B parameters trained on 1.4T tokens"

#: The published fits, by name. Values are exactly as published (rounded as printed).
FITS = MappingProxyType({f.name: f for f in (
    ScalingFit(
        "besiroglu2024", "parametric",
        dict(scaling_irreducible_loss=1.8172, scaling_parameter_coefficient=482.01,
             scaling_data_coefficient=2085.43, scaling_parameter_exponent=0.3478,
             scaling_data_exponent=0.3658),
        "besiroglu2024chinchilla",
        "Table 1, 'Our estimate' (standard errors 0.03, 124.58, 1293.23, 0.02, 0.02)",
        "refit of Approach 3 to data reconstructed from Hoffmann et al. Fig. 4 (Huber loss summed, "
        "not averaged); a = beta / (alpha + beta) = 0.513, compatible with Approaches 1 and 2"),
    ScalingFit(
        "hoffmann-approach3", "parametric", dict(HOFFMANN2022_APPROACH3),
        "hoffmann2022chinchilla", "Sec. 3.3 eq. (2), values of App. D.2 as printed (rounded)",
        "Besiroglu et al. 2024 show the printed rounding and an unconverged optimiser bias this "
        "frontier towards small models"),
    ScalingFit(
        "hoffmann-approach1", "power_law",
        dict(frontier_parameter_exponent=0.50, frontier_reference_compute=5.76e23,
             frontier_reference_parameters=67e9),
        "hoffmann2022chinchilla",
        "Table 2, Approach 1: a = 0.50; Table 3 row: 67B parameters, 5.76e23 FLOPs, 1.5T tokens"),
    ScalingFit(
        "hoffmann-approach2", "power_law",
        dict(frontier_parameter_exponent=0.49, frontier_reference_compute=6 * 67e9 * 1.7e12,
             frontier_reference_parameters=67e9),
        "hoffmann2022chinchilla",
        "Table 2, Approach 2: a = 0.49; Table A3 row: 67B parameters, 1.7T tokens",
        "reference compute = 6 x 67e9 x 1.7e12 = 6.834e23 FLOPs (C = 6ND); Table A3 as "
        "transcribed in Karpathy's nanoGPT scaling_laws.ipynb ('Approach 2 numbers')"),
    ScalingFit(
        "tokens-per-parameter-20", "power_law",
        dict(frontier_parameter_exponent=0.5, frontier_reference_compute=6 * 70e9 * 1.4e12,
             frontier_reference_parameters=70e9),
        "hoffmann2022chinchilla", _CHINCHILLA_ROW + " (20 tokens per parameter)",
        "a = 1/2 through Chinchilla's point keeps D / N = 20 at every budget: "
        "N = sqrt(C / 120), D = 20 N"),
)})

#: The fit used when none is named: Besiroglu et al. (2024)'s refit of Approach 3.
DEFAULT_FIT = "besiroglu2024"

