"""Training: ``train`` a model on a cluster (being split into config, machine, efficiency,
result and step modules)."""

from .step import IronLaw, TrainResult, iron_law, train, training_system  # noqa: F401

__all__ = ["train", "TrainResult", "training_system", "iron_law", "IronLaw"]
