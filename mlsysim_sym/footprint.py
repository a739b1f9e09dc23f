"""Deprecated import path (one release): use mlsysim_sym.tasks.footprint."""

from .tasks.footprint import fleet_footprint, FleetFootprint  # noqa: F401

__all__ = ["fleet_footprint", "FleetFootprint"]
