"""Deprecated import path (one release): use mlsysim_sym.tasks.training."""

from .tasks.training import (EFFICIENCY_KEYS, IronLaw, TrainResult,  # noqa: F401
                             attention_variant, efficiency_default, iron_law,
                             published_link_efficiencies, train, training_system)

__all__ = ["train", "TrainResult", "training_system", "iron_law", "IronLaw", "EFFICIENCY_KEYS",
           "attention_variant", "efficiency_default", "published_link_efficiencies"]
