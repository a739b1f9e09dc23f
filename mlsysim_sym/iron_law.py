"""Deprecated import path (one release): use mlsysim_sym.analysis.iron_law."""

from .analysis.iron_law import IronLaw, iron_law  # noqa: F401

__all__ = ["IronLaw", "iron_law"]
