"""Deprecated import path (one release): use mlsysim_sym.tasks.serving."""

from .tasks.serving import (  # noqa: F401
    PRECISION_BITS, Prediction, moe_serving_system, per_token_system, predict, serving_system)
from .tasks._core.inputs import (  # noqa: F401  (public here before the move)
    check_tp, max_batched_tokens_magnitude, scale_up_domain, serving_inputs, tp_magnitudes)
from .tasks._core.knobs import serving_defaults  # noqa: F401

__all__ = ["predict", "Prediction", "PRECISION_BITS", "serving_system", "moe_serving_system",
           "per_token_system"]
