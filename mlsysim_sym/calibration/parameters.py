"""The calibrated parameters: the empirical symbols a fit may move, their ranges and defaults.

Each parameter is a declared symbol (unit, bounds and description come from
:mod:`mlsysim_sym.symbols`) whose default value lives in ``defaults.yaml`` with its provenance.
A parameter may have *variants* written ``name[variant]`` (for example one MAC efficiency per
microcontroller software stack); a variant without its own default falls back to the parameter's.
Values are magnitudes in the symbol's declared unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..symbols import info

__all__ = ["Parameter", "parameter", "split_name", "CALIBRATED"]

_VARIANT = re.compile(r"^([a-z_][a-z0-9_]*)(?:\[([a-z0-9][a-z0-9._+_-]*)\])?$")

#: the empirical symbols the calibration may fit, with the range a fit may explore (tighter than
#: or equal to the symbol's plausible bounds: a fit never leaves the physical range)
CALIBRATED = {
    "compute_efficiency": (0.02, 1.0),
    # no published fused-attention kernel exceeds 75% of its chip's peak (FlashAttention-3 on
    # H100, FP16 forward: 740 TFLOP/s, "75% utilization", Shah et al. 2024, abstract); without
    # this ceiling a fit that lost the torchtitan rows' low figures drifted to 0.79
    "attention_efficiency": (0.02, 0.75),
    "memory_efficiency": (0.05, 1.0),
    "communication_efficiency": (0.02, 1.0),
    "scale_out_efficiency": (0.02, 1.0),
    "training_step_overhead": (0.0, 1e5),
    "layer_pass_overhead": (0.0, 1e4),
    # one overlap per model-parallel traffic class (issue 17): a single fraction for TP and PP
    # let two PP/EP-heavy rows (DeepSeek-V3 on GB200) set the TP rows' overlap too
    "tensor_parallel_overlap": (0.0, 1.0),
    "pipeline_parallel_overlap": (0.0, 1.0),
    "expert_parallel_overlap": (0.0, 1.0),
    "fixed_overhead": (0.0, 1e3),
    "pass_overhead": (0.0, 1e3),
    "unoverlapped_fraction": (0.0, 1.0),
    "scale_up_latency": (0.0, 1e3),
    "allreduce_fixed_time": (0.0, 1e3),
    "tinyml_mac_efficiency": (1e-3, 1.0),
}


@dataclass(frozen=True)
class Parameter:
    """A calibrated parameter: ``name`` (maybe ``base[variant]``), its symbol, unit and range."""

    name: str
    symbol: str
    variant: str | None
    unit: str
    bounds: tuple

    @property
    def description(self) -> str:
        return info(self.symbol).description


def split_name(name: str) -> tuple[str, str | None]:
    """``"tinyml_mac_efficiency[plumerai]"`` -> ``("tinyml_mac_efficiency", "plumerai")``."""
    m = _VARIANT.match(name) if isinstance(name, str) and len(name) <= 120 else None
    if m is None:
        raise ValueError(f"{name!r} is not a parameter name (a symbol name, optionally followed "
                         "by [variant])")
    return m.group(1), m.group(2)


def parameter(name: str) -> Parameter:
    """The :class:`Parameter` called ``name``; a clear error for an unknown one."""
    symbol, variant = split_name(name)
    if symbol not in CALIBRATED:
        from difflib import get_close_matches
        close = get_close_matches(symbol, CALIBRATED, n=3)
        raise ValueError(f"{name!r} is not a calibrated parameter"
                         + (f"; did you mean {', '.join(close)}?" if close else "")
                         + f" (calibrated: {', '.join(CALIBRATED)})")
    return Parameter(name, symbol, variant, info(symbol).unit, CALIBRATED[symbol])
