"""What the workload tasks share: registry look-ups, the roofline-efficiency resolver, the
hardware roofs and the evaluation of a compiled workload record.

Every value goes in as a base-unit magnitude (:func:`mlsysim_sym.checks.magnitude` for trusted
registry values and defaults, the :mod:`mlsysim_sym.checks` validators for user knobs).
Registry gaps are never filled silently: :func:`need` refuses what a prediction cannot do
without; what only makes it a bound is left out with a line in the result's ``notes``.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from ... import checks, registry, vocabulary
from ...checks import magnitude
from ...defaults import VariantKey, default
from ...symbols import info
from ...units import Q_
from .._core.knobs import EFFICIENCY_INPUTS, default_efficiency

__all__ = ["EFFICIENCY_INPUTS", "pass_workload", "check_pass_stack", "roofline_defaults", "workload_default", "precision_bits", "check_stack_name",
           "roofline_efficiency", "workload_model", "need", "input_tensor_bytes", "known_fields",
           "evaluate", "hardware_roofs"]


@lru_cache(maxsize=32)
def workload_default(name: str):
    """Default of an empirical symbol (``defaults.yaml``, with its provenance)."""
    return default(name)


def precision_bits(precision) -> int:
    """Bits per weight (and element) of ``precision`` (a clear error for an unknown one)."""
    return vocabulary.precision(precision).bits


def check_stack_name(stack, example: str) -> None:
    """Refuse a ``stack`` that is not a lower-case name (``example`` is shown in the error)."""
    if stack is not None and (not isinstance(stack, str)
                              or not re.fullmatch(r"[a-z0-9][a-z0-9._+_-]{0,40}", stack)):
        raise ValueError(f"stack must be a lower-case name such as {example!r}, got {stack!r}")


def check_pass_stack(stack) -> None:
    """Refuse a ``stack`` that is not a forward-pass framework (an LLM engine, a typo)."""
    if stack is not None and stack not in vocabulary.PASS_STACKS:
        raise ValueError(f"stack {stack!r} is not a forward-pass framework (pass_overhead); "
                         f"known stacks: {', '.join(vocabulary.PASS_STACKS)}")


def pass_workload(model):
    """``"pass"`` for a family served as one forward pass per batch (CNN, ViT, encoder: its
    own fixed overhead, ``pass_overhead``), else None (an LLM engine's step)."""
    return "pass" if getattr(model, "family", None) in vocabulary.PASS_FAMILIES else None


@lru_cache(maxsize=1)
def _cnn_compute_default() -> float:
    return magnitude("compute_efficiency", default("compute_efficiency[serve-cnn]"))


def roofline_efficiency(efficiency, hardware=None, precision=None, model=None, stack=None):
    """(compute efficiency, memory efficiency, fixed overhead) as base magnitudes.

    Defaults are the serving-regime values of the chip's generation and precision
    (:func:`mlsysim_sym.tasks._core.knobs.default_efficiency`); CNNs use the convolution
    variant (``compute_efficiency[serve-cnn]``); CNNs, ViTs and encoders the fixed overhead of
    one forward pass (``pass_overhead``, whatever the framework: an operator-dispatching
    framework's own cost is its unfused kernels and host operators, counted in the pass's
    equations), not an LLM engine's per-step ``fixed_overhead``. ``efficiency`` is one fraction for compute and memory, or a dict with
    ``compute``, ``memory`` and ``fixed_overhead``.
    """
    if isinstance(efficiency, dict) and ("fixed_overhead" in efficiency
                                         or "pass_overhead" in efficiency):
        stack = None      # the stack only selects the overhead default, and it is given
    workload = pass_workload(model)
    if workload:   # a pass's stack acts through its kernels and host operators, not a default
        check_pass_stack(stack)
        stack = None
    comp, mem, over = default_efficiency(hardware, precision, stack, workload)
    if getattr(model, "family", None) == "cnn":
        comp = _cnn_compute_default()
    if efficiency is None:
        return comp, mem, over
    if isinstance(efficiency, dict):
        for key, v in efficiency.items():
            if key in ("compute", "compute_efficiency"):
                comp = checks.fraction("compute efficiency", v)
            elif key in ("memory", "memory_efficiency"):
                mem = checks.fraction("memory efficiency", v)
            elif key in ("fixed_overhead", "pass_overhead"):   # a pass's is its fixed overhead
                over = checks.quantity(key, v, info("fixed_overhead").unit, low=0.0)
            else:
                raise ValueError(f"unknown efficiency key {key!r}; allowed: compute, memory, "
                                 "fixed_overhead (pass_overhead for a CNN / ViT / encoder)")
        return comp, mem, over
    eff = checks.fraction("efficiency", efficiency)
    return eff, eff, over


def roofline_defaults(efficiency, hardware, precision, model=None, stack=None) -> tuple:
    """``(symbol, VariantKey)`` of each calibrated default :func:`roofline_efficiency` used
    (the ones ``efficiency`` did not give): what the result's ``defaults_used()`` resolves."""
    given = set(efficiency) if isinstance(efficiency, dict) else (
        {"compute", "memory"} if efficiency is not None else set())
    if "pass_overhead" in given:
        given.add("fixed_overhead")
    if "fixed_overhead" in given or pass_workload(model):
        stack = None
    key = VariantKey.for_chip(hardware, precision, "serve", stack=stack)
    cnn = VariantKey(regime="serve", generation="cnn")
    over = "pass_overhead" if pass_workload(model) else "fixed_overhead"
    rows = []
    for sym, k in (("compute_efficiency", "compute"), ("memory_efficiency", "memory"),
                   (over, "fixed_overhead")):
        if k not in given and sym not in given:
            cnn_compute = sym == "compute_efficiency" and getattr(model, "family", None) == "cnn"
            rows.append((sym, cnn if cnn_compute else key))
    return tuple(rows)


def workload_model(model, families, function):
    """The registry model ``model``, refused unless its family is one of ``families``."""
    m = registry.model(model)
    if m.family not in families:
        raise ValueError(f"{function}() takes {', '.join(families)} models; {m.name} is a "
                         f"{m.family} model" + (" (use predict())" if m.family in
                                                 ("decoder", "moe", "ssm") else ""))
    return m


def need(value, what, model):
    """``value``, or an error saying the registry does not record ``what`` for ``model``."""
    if value is None:
        raise ValueError(f"{model.name} has no {what} in the registry; add it (with a source) "
                         "to predict this model")
    return value


def input_tensor_bytes(model, bits):
    """Bytes of the model's input tensor (resolution^2 x channels), or None if not recorded."""
    inp = model.input
    if inp is None or not inp.resolution or not inp.channels:
        return None
    return Q_(inp.resolution ** 2 * inp.channels * bits, "bit")


def known_fields(pairs):
    """The (registry object, field path) pairs whose field the entry records (with provenance)."""
    out = []
    for obj, path in pairs:
        try:
            obj.provenance(path)
        except Exception:  # a field the entry does not have
            continue
        out.append((obj, path))
    return out


def evaluate(system, outputs, names, values):
    """Compile ``outputs`` of ``system`` on ``names`` (cached) and evaluate ``values`` lazily:
    (the evaluation, ``{name: magnitude}`` of the inputs used)."""
    args = tuple(values[n] for n in names)
    vectorised = any(isinstance(a, np.ndarray) for a in args)
    if vectorised:
        checks.sweep_shape(*[(n, a) for n, a in zip(names, args) if isinstance(a, np.ndarray)],
                           arrays=len(outputs) + len(args))
    return system.compile(outputs, names).lazy(args, vectorised), dict(zip(names, args))


def hardware_roofs(hw, precision) -> dict:
    """Peak FLOP/s at ``precision``, main-memory bandwidth and capacity of ``hw`` (base)."""
    peak = hw.peak_flops(precision)
    if hw.memory_bandwidth is None:
        raise ValueError(f"{hw.name} has no main-memory bandwidth in the registry")
    return {"peak_flops": magnitude("peak_flops", peak),
            "memory_bandwidth": magnitude("memory_bandwidth", hw.memory_bandwidth),
            "memory_capacity": magnitude("memory_capacity", hw.memory_capacity)}
