"""Serving: ``predict`` for decoder and MoE LLMs (walls 1, 2, 4 and continuous batching).

- ``system``: the serving systems (dense, MoE, disaggregated, per token) and their compiled
  kernels, with the kernels' input and output names;
- ``moe``: an MoE model's expert structure as the MoE record's inputs;
- ``result``: :class:`Prediction`, the result of :func:`predict`;
- ``llm``: :func:`predict` (inputs by name, one kernel call, uncertainty bands, and the
  dispatch of diffusion, TinyML, CNN / ViT / encoder models to the workloads package).
"""

from .llm import PRECISION_BITS, predict
from .result import Prediction
from .system import (OUTPUTS, disaggregated_system, moe_kernel, moe_serving_system,
                     per_token_system, serving_kernel, serving_system)

__all__ = ["predict", "Prediction", "PRECISION_BITS", "serving_system", "moe_serving_system",
           "disaggregated_system", "per_token_system", "serving_kernel", "moe_kernel", "OUTPUTS"]
