"""Serving fleets: ``serve()`` (forward) and ``size_fleet()`` (the minimum fleet for an SLO)."""

from .size import (FleetResult, ServeResult, evaluate_load, load_inputs, load_kernel, serve,
                   size_fleet)

__all__ = ["serve", "size_fleet", "ServeResult", "FleetResult", "load_kernel", "load_inputs",
           "evaluate_load"]
