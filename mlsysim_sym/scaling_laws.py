"""Deprecated import path (one release): use mlsysim_sym.tasks.scaling_laws."""

from .tasks.scaling_laws import compute_optimal, ComputeOptimal, FITS, DEFAULT_FIT  # noqa: F401

__all__ = ["compute_optimal", "ComputeOptimal", "FITS", "DEFAULT_FIT"]
