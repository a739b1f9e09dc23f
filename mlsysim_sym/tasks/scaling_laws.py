"""``compute_optimal()``: the compute-optimal model size and data for a training budget.

A task function: it picks a published fit (``symbols.complexity.FITS``) and evaluates wall 11
(Complexity) with it; the physics is the wall's equations. The default fit is Besiroglu et al.'s
(2024) refit of Hoffmann et al.'s Approach 3 (``DEFAULT_FIT``).

Example::

    import mlsysim_sym as ms
    r = ms.compute_optimal("1e24 FLOP")                 # 96B parameters on 1.7T tokens
    ms.compute_optimal("1e24 FLOP", fit="hoffmann-approach3").parameters   # 41B: rounded fit
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import pint

from ..symbols.complexity import DEFAULT_FIT, FITS, ScalingFit
from ..units import UnitError, as_quantity, quantity_json
from ._core.result import Result

__all__ = ["compute_optimal", "ComputeOptimal", "FITS", "DEFAULT_FIT"]

_OUTPUTS = {
    "parametric": ("compute_optimal_parameters", "compute_optimal_tokens",
                   "compute_optimal_tokens_per_parameter", "compute_optimal_loss"),
    "power_law": ("power_law_optimal_parameters", "power_law_optimal_tokens",
                  "power_law_optimal_tokens_per_parameter"),
}


@dataclass(frozen=True)
class ComputeOptimal(Result):
    """The compute-optimal allocation of a training budget under one fit.

    Attributes
    ----------
    fit : ScalingFit
        The fit used, with its citation (``fit.cite``, ``fit.locator``).
    compute_budget : pint.Quantity
        [FLOP]
    parameters : pint.Quantity
        [param]
    tokens : pint.Quantity
        [token]
    tokens_per_parameter : pint.Quantity
        [token/param]
    loss : pint.Quantity or None
        Predicted loss [nats/token, dimensionless] of a parametric fit; None for a power law.
    """

    HEADLINE = ("compute_budget", "parameters", "tokens", "tokens_per_parameter", "loss")

    fit: ScalingFit
    compute_budget: pint.Quantity
    parameters: pint.Quantity
    tokens: pint.Quantity
    tokens_per_parameter: pint.Quantity
    loss: Optional[pint.Quantity] = None

    def to_dict(self) -> dict:
        """JSON-ready dict: the fit by name with its source, quantities as ``{"value", "unit"}``
        (``loss`` is None for a power-law fit)."""
        d = {"fit": self.fit.name, "source": f"{self.fit.cite}, {self.fit.locator}"}
        for k in ("compute_budget", "parameters", "tokens", "tokens_per_parameter", "loss"):
            d[k] = quantity_json(getattr(self, k))
        return d

    @property
    def system(self):
        """The composed system the allocation was evaluated with (wall 11, Complexity)."""
        return _complexity_system()

    def title(self) -> str:
        """The fit the allocation comes from."""
        return f"compute-optimal allocation ({self.fit.name})"

    def __str__(self) -> str:
        n = self.parameters.to("param").magnitude
        d = self.tokens.to("token").magnitude
        return (f"{self.compute_budget.to('FLOP').magnitude:.3g} FLOP -> {n / 1e9:.1f}B parameters "
                f"on {d / 1e12:.2f}T tokens ({d / n:.1f} tokens per parameter); fit "
                f"{self.fit.name} [{self.fit.cite}, {self.fit.locator}]")


@lru_cache(maxsize=1)
def _complexity_system():
    from ..equations import walls
    from ..system import System
    return System.from_walls(walls.complexity)


@lru_cache(maxsize=None)
def _compiled(kind: str):
    return _complexity_system().compile(_OUTPUTS[kind])


def compute_optimal(compute_budget, *, fit: str = DEFAULT_FIT) -> ComputeOptimal:
    """Compute-optimal model size and training tokens for a training budget (C = 6ND).

    Parameters
    ----------
    compute_budget : quantity, str or number
        Training compute [FLOP] (a bare number means FLOP), e.g. ``"1e24 FLOP"``.
    fit : str
        One of ``besiroglu2024`` (default: Besiroglu et al. 2024's refit of Approach 3),
        ``hoffmann-approach1``, ``hoffmann-approach2``, ``hoffmann-approach3`` (the constants as
        printed, rounded) or ``tokens-per-parameter-20``; see ``symbols.complexity.FITS``.

    Returns
    -------
    ComputeOptimal

    Raises
    ------
    ValueError
        For an unknown fit name, or a budget that is not a positive, finite amount of FLOP.
    """
    if not isinstance(fit, str) or fit not in FITS:
        raise ValueError(f"fit must be one of {', '.join(FITS)}; got {fit!r}")
    spec = FITS[fit]
    try:
        budget = as_quantity(compute_budget, "FLOP", what="compute_budget").to("FLOP")
    except UnitError as exc:
        raise UnitError(f"compute_budget: {exc}") from None
    mag = budget.magnitude
    if not isinstance(mag, (int, float)) or isinstance(mag, bool) or not math.isfinite(mag) \
            or mag <= 0:
        raise ValueError(f"compute_budget must be a positive, finite amount of FLOP; got "
                         f"{compute_budget!r}")
    ev = _compiled(spec.kind).evaluate(compute_budget=budget, **spec.values)
    names = _OUTPUTS[spec.kind]
    return ComputeOptimal(
        fit=spec, compute_budget=budget, parameters=ev.quantity(names[0]).to("param"),
        tokens=ev.quantity(names[1]).to("token"),
        tokens_per_parameter=ev.quantity(names[2]).to("token/param"),
        loss=ev.quantity(names[3]) if len(names) > 3 else None)
