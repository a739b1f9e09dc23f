"""Knobs and calibrated efficiencies of a serving prediction, resolved in one place.

An efficiency given by the user (a number, an array, or a dict of named fractions and times)
is checked here; one left out comes from :mod:`mlsysim_sym.defaults` by the structured
:class:`~mlsysim_sym.defaults.VariantKey` (regime, chip generation, precision, stack), the
same key the calibration fitted, and :func:`serving_defaults` says which entry each came from.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ... import checks
from ...defaults import VariantKey, default, resolve, variant_name

__all__ = ["EFFICIENCY_INPUTS", "PASS_EFFICIENCY_INPUTS", "OVERLAP_KEYS", "check_stack", "default_efficiency",
           "efficiency_magnitudes", "serving_defaults", "unoverlapped", "communication",
           "allreduce_fixed_time", "scale_out",
           "fraction", "magnitude"]

#: the calibrated serving efficiencies, in the serving kernel's order
EFFICIENCY_INPUTS = ("compute_efficiency", "memory_efficiency", "fixed_overhead")
#: the keys of ``efficiency={...}`` that set the unoverlapped share of the shorter roof
OVERLAP_KEYS = ("unoverlapped", "unoverlapped_fraction")
_KEYS = {"compute", "memory", "fixed_overhead", "communication", "scale_up_latency",
         "allreduce_fixed_time", "scale_out",
         *OVERLAP_KEYS, *EFFICIENCY_INPUTS}


def magnitude(name, quantity) -> float:
    """Base-unit magnitude of ``quantity`` as the input ``name`` (checked: finite, in range)."""
    return checks.magnitude(name, quantity)


def fraction(name, value):
    """``value`` (a number or array) checked to lie in [0, 1]; a clear error naming ``name``."""
    return checks.fraction(name, value, zero=True)


def check_stack(stack):
    """A well-formed stack name (whether it has calibrated values is checked when its default
    is looked up: a stack whose overhead the caller gives, as a calibration does, need not)."""
    if stack is None:
        return None
    if not isinstance(stack, str) or not re.fullmatch(r"[a-z0-9][a-z0-9._+_-]{0,40}", stack):
        raise ValueError(f"stack must be a lower-case engine name such as 'trt_llm', 'vllm' or "
                         f"'llama.cpp', got {stack!r}")
    return stack


def default_efficiency(hardware=None, precision=None, stack=None, workload=None) -> tuple:
    """(compute, memory, fixed overhead) defaults of serving on ``hardware`` at ``precision``
    (``workload="pass"``: the fixed overhead of one CNN / ViT / encoder forward pass,
    ``pass_overhead``, not an LLM engine's per-step ``fixed_overhead``)."""
    return _default_efficiency_by(getattr(hardware, "architecture", None), precision, stack,
                                  workload)


#: the calibrated inputs of one CNN / ViT / encoder forward pass (its own fixed overhead)
PASS_EFFICIENCY_INPUTS = ("compute_efficiency", "memory_efficiency", "pass_overhead")


@lru_cache(maxsize=256)
def _default_efficiency_by(arch, precision, stack, workload=None) -> tuple:
    key = VariantKey(regime="serve", generation=arch, precision=precision, stack=stack)
    names = PASS_EFFICIENCY_INPUTS if workload == "pass" else EFFICIENCY_INPUTS
    return _default_values(tuple(key.name(n) for n in names))


@lru_cache(maxsize=64)
def _default_values(names) -> tuple:
    return tuple(magnitude(n.split("[")[0], default(n)) for n in names)


def serving_defaults(hardware, precision, stack=None, efficiency=None) -> dict:
    """Which default entry each calibrated serving input came from, with its provenance:
    ``{symbol: defaults.Resolved}`` for the efficiencies ``efficiency`` did not give."""
    given = set(efficiency) if isinstance(efficiency, dict) else (
        {"compute", "memory"} if efficiency is not None else set())
    aliases = {"compute_efficiency": "compute", "memory_efficiency": "memory",
               "fixed_overhead": "fixed_overhead", "communication_efficiency": "communication",
               "unoverlapped_fraction": "unoverlapped"}
    key = VariantKey.for_chip(hardware, precision, "serve", stack=stack)
    return {sym: resolve(sym, key) for sym, k in aliases.items()
            if k not in given and sym not in given}


def efficiency_magnitudes(efficiency, hardware=None, precision=None, stack=None) -> tuple:
    """(compute, memory, fixed overhead) base magnitudes: given, or the calibrated defaults."""
    if isinstance(efficiency, dict) and "fixed_overhead" in efficiency:
        stack = None      # the stack only selects the overhead default, and it is given
    base = default_efficiency(hardware, precision, stack)
    if efficiency is None:
        return base
    comp, mem, over = base
    if isinstance(efficiency, dict):
        unknown = set(efficiency) - _KEYS
        if unknown:
            raise ValueError(f"unknown efficiency keys {sorted(unknown)}; allowed: compute, memory, "
                             "fixed_overhead, communication, scale_up_latency, "
                             "allreduce_fixed_time, scale_out, unoverlapped")
        for k, v in efficiency.items():
            if k in ("compute", "compute_efficiency"):
                comp = checks.fraction("compute efficiency", v)
            elif k in ("memory", "memory_efficiency"):
                mem = checks.fraction("memory efficiency", v)
            elif k == "fixed_overhead":
                over = checks.quantity("fixed_overhead", v, "ms", low=0.0)
        return comp, mem, over
    eff = checks.fraction("efficiency", efficiency)
    return eff, eff, over


def unoverlapped(efficiency):
    """Unoverlapped share phi of the shorter roof (``efficiency={"unoverlapped": ..}``)."""
    if isinstance(efficiency, dict):
        for key in OVERLAP_KEYS:
            if key in efficiency:
                return fraction("unoverlapped (the share of the shorter roof not hidden)",
                                efficiency[key])
    return _unoverlapped_default()


@lru_cache(maxsize=1)
def _unoverlapped_default() -> float:
    return magnitude("unoverlapped_fraction", default("unoverlapped_fraction"))


def communication(efficiency):
    """Achieved fraction of the scale-up bandwidth in the TP all-reduces (serving engines)."""
    if isinstance(efficiency, dict) and "communication" in efficiency:
        return checks.fraction("communication efficiency", efficiency["communication"])
    return _communication_default()


@lru_cache(maxsize=1)
def _communication_default() -> float:
    return magnitude("communication_efficiency",
                     default(variant_name("communication_efficiency", regime="serve")))


def allreduce_fixed_time():
    """Calibrated fixed cost of one serving all-reduce call (launch + cross-device
    synchronisation), base magnitude; ``efficiency={"allreduce_fixed_time": ..}`` overrides it
    in :func:`..fabric.tp_overrides`, with the link latency."""
    return _allreduce_fixed_default()


@lru_cache(maxsize=1)
def _allreduce_fixed_default() -> float:
    return magnitude("allreduce_fixed_time", default("allreduce_fixed_time"))


def scale_out(efficiency):
    """Achieved fraction of the scale-out (NIC) link rate (``efficiency={"scale_out": ..}``;
    default: the calibrated ``scale_out_efficiency`` of the training collectives)."""
    if isinstance(efficiency, dict) and "scale_out" in efficiency:
        return checks.fraction("scale_out efficiency", efficiency["scale_out"])
    return _scale_out_default()


@lru_cache(maxsize=1)
def _scale_out_default() -> float:
    return magnitude("scale_out_efficiency", default("scale_out_efficiency"))
