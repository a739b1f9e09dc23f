"""Workload tasks: diffusion, TinyML and CNN / ViT / encoder forward passes, and the MoE inputs."""

from .common import (DiffusionPrediction, TinyMLPrediction, VisionPrediction,  # noqa: F401
                     WorkloadPrediction, moe_inputs, predict_diffusion, predict_tinyml,
                     predict_vision, workload_default)
