"""Deprecated import path (one release): use mlsysim_sym.tasks.compression."""

from .tasks.compression import (DEFAULT_SCALE_BITS, CompressionResult,  # noqa: F401
                                accuracy_evidence, compress)

__all__ = ["compress", "CompressionResult", "accuracy_evidence", "DEFAULT_SCALE_BITS"]
