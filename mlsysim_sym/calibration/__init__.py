"""Calibration and validation: fit the empirical parameters to published measurements.

``calibrate(measurements, parameters=[...], model=...)`` fits chosen parameters by least squares
(with confidence intervals and identifiability); ``validate()`` runs every measurement through
the model in sample, leave-one-source-out and across hardware generations, with p10/p90 bands.
The shipped measurement set (``data/measurements.yaml``, 145 published numbers, and its
extension ``data/measurements_more.yaml``, 134) and how each is reproduced (``data/cases.yaml``,
``data/cases_more/*.yaml``) travel with the package.
"""

from .cases import Case, NotCovered, build_cases
from .fit import CalibrationResult, ParameterEstimate, calibrate
from .measurements import Measurement, MeasurementError, load_measurements, shipped_measurements
from .validate import ValidationReport, validate

__all__ = ["calibrate", "validate", "load_measurements", "shipped_measurements", "build_cases",
           "Case", "NotCovered", "Measurement", "MeasurementError", "CalibrationResult",
           "ParameterEstimate", "ValidationReport"]
