"""Deprecated import path (one release): use mlsysim_sym.analysis.citations."""

from .analysis.citations import cite, latex, values_used  # noqa: F401

__all__ = ["latex", "cite", "values_used"]
