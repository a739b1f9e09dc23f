"""Deprecated import path (one release): use mlsysim_sym.analysis.explain."""

from .analysis.explain import explain, explain_data, explain_prediction  # noqa: F401

__all__ = ["explain", "explain_data", "explain_prediction"]
