"""Deprecated import path (one release): use mlsysim_sym.tasks.training."""

from .tasks.training import (IronLaw, TrainResult, iron_law, train,  # noqa: F401
                             training_system)

__all__ = ["train", "TrainResult", "training_system", "iron_law", "IronLaw"]
