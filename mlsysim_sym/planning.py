"""Deprecated import path (one release): use mlsysim_sym.tasks.planning."""

from .tasks.planning import best_parallelism, Plan  # noqa: F401

__all__ = ["best_parallelism", "Plan"]
