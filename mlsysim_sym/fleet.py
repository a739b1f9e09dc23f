"""Deprecated import path (one release): use mlsysim_sym.tasks.fleet."""

from .tasks.fleet import (FleetResult, ServeResult, evaluate_load, load_inputs,  # noqa: F401
                          load_kernel, serve, size_fleet)

__all__ = ["serve", "size_fleet", "ServeResult", "FleetResult", "load_kernel", "load_inputs",
           "evaluate_load"]
