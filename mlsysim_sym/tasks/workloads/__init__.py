"""Workload tasks: diffusion, TinyML and CNN / ViT / encoder forward passes on one chip.

``predict_diffusion``, ``predict_tinyml`` and ``predict_vision`` turn registry objects (or names)
into base-unit magnitudes, run the compiled system of their workload record (composed once per
process) and return a :class:`WorkloadPrediction` whose attributes are pint quantities created
lazily. Knobs (batch, steps, efficiencies) may be numpy arrays; they broadcast together.

Registry gaps are never filled silently: a stage or memory term the registry does not record is
either an error (what the prediction cannot do without) or left out with a line in
``result.notes`` (what only makes the prediction a bound). ``moe_inputs`` gives the inputs the MoE
record needs, for composing it with walls 1, 2 and 4.

Modules: ``common`` (registry look-ups, roofline-efficiency resolver, hardware roofs,
evaluation), ``result`` (:class:`WorkloadPrediction`), ``diffusion``, ``tinyml``, ``vision``
(CNN / ViT / encoder), ``moe`` and ``ssm`` (Mamba serving: ``predict_ssm``, whose
:class:`SSMPrediction` speaks like the LLM prediction: ttft, time per output token, phase).
"""

from .common import workload_default
from .diffusion import DiffusionPrediction, predict_diffusion
from .moe import moe_inputs
from .result import WorkloadPrediction
from .ssm import SSMPrediction, predict_ssm
from .tinyml import TinyMLPrediction, predict_tinyml
from .vision import VisionPrediction, predict_vision

__all__ = ["predict_diffusion", "predict_tinyml", "predict_vision", "WorkloadPrediction",
           "DiffusionPrediction", "TinyMLPrediction", "VisionPrediction", "moe_inputs",
           "workload_default", "predict_ssm", "SSMPrediction"]
