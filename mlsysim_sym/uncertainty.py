"""Deprecated import path (one release): use mlsysim_sym.analysis.uncertainty."""

from .analysis.uncertainty import (DEFAULT_SAMPLES, MAX_LOG_SPREAD, Band,  # noqa: F401
                                   band_of, discrepancy, sample_parameters)

__all__ = ["Band", "sample_parameters", "band_of", "discrepancy", "DEFAULT_SAMPLES",
           "MAX_LOG_SPREAD"]
