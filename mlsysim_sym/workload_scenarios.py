"""Deprecated import path (one release): use mlsysim_sym.tasks.workloads."""

from .tasks.workloads import (DiffusionPrediction, TinyMLPrediction,  # noqa: F401
                              VisionPrediction, WorkloadPrediction, moe_inputs, predict_diffusion,
                              predict_tinyml, predict_vision, workload_default)

__all__ = ["predict_diffusion", "predict_tinyml", "predict_vision", "WorkloadPrediction",
           "DiffusionPrediction", "TinyMLPrediction", "VisionPrediction", "moe_inputs",
           "workload_default"]
