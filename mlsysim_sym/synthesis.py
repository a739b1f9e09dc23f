"""Deprecated import path (one release): use mlsysim_sym.tasks.synthesis."""

from .tasks.synthesis import Synthesis, synthesize  # noqa: F401

__all__ = ["synthesize", "Synthesis"]
