"""Serving: ``predict`` for decoder and MoE LLMs (walls 1, 2, 4 and continuous batching)."""

from .predict import (  # noqa: F401
    PRECISION_BITS, Prediction, moe_serving_system, per_token_system, predict, serving_system)

__all__ = ["predict", "Prediction", "PRECISION_BITS", "serving_system", "moe_serving_system",
           "per_token_system"]
