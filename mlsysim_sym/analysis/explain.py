"""``explain()`` and ``--explain``: the equations behind a result, with the numbers substituted.

Any result can be explained that exposes

- ``system``: the composed :class:`~mlsysim_sym.system.System` it was computed with, and
- ``base_inputs()``: ``{input name: base-unit magnitude}`` (or, failing that, ``inputs()``:
  ``{input name: quantity}``, converted here),

and optionally ``defaults_used()`` (``{symbol: defaults.Resolved}``, the calibrated defaults
it used). The explanation starts from the result's headline outputs (``EXPLAIN`` on the result
when it names them, otherwise those of its system's family in :data:`HEADLINE_OUTPUTS`) and
lists every equation they depend on, in dependency order: symbolically, with the numbers
substituted, and its value. A result that cannot be explained (a sweep, no system) gets one
line saying why.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy

from ..checks import magnitude
from ..symbols import info, is_constant
from ..system import System, substitute_constants
from ..units import Q_, base_factor

__all__ = ["explain", "explain_data", "explain_prediction", "HEADLINE_OUTPUTS"]

#: per model family, ``(an output only that family's system defines, the outputs an explanation
#: starts from)``; the first whose marker the result's system defines applies (so the MoE record
#: comes before the dense serving system it extends). Outputs whose inputs the result lacks are
#: left out (a training result without a token budget has no ``time_to_train``).
HEADLINE_OUTPUTS = (
    ("moe_ttft", ("moe_ttft", "moe_time_per_output_token", "memory_footprint",
                  "memory_utilization", "moe_decode_throughput")),
    ("ttft", ("ttft", "time_per_output_token", "memory_footprint", "memory_utilization",
              "decode_throughput", "prefill_throughput")),
    ("training_step_time", ("training_step_time", "training_throughput",
                            "model_flops_utilization", "hardware_flops_utilization",
                            "training_memory_utilization")),
    # workloads: diffusion, TinyML, encoders (CNN / ViT / BERT), state-space models (Mamba)
    ("diffusion_latency", ("diffusion_latency", "image_throughput",
                           "diffusion_memory_utilization")),
    ("tinyml_latency", ("tinyml_latency", "tinyml_throughput", "tinyml_sram_utilization",
                        "tinyml_flash_utilization")),
    ("encoder_latency", ("encoder_latency", "encoder_throughput", "encoder_memory_utilization")),
    ("ssm_ttft", ("ssm_ttft", "ssm_time_per_output_token", "ssm_memory_footprint",
                  "ssm_memory_utilization", "ssm_decode_throughput", "ssm_prefill_throughput")),
)


def _headline(result, system) -> tuple:
    """The output names the explanation of ``result`` starts from."""
    named = tuple(getattr(result, "EXPLAIN", ()) or ())
    if named:
        return named
    outputs = {o.name for o in system.outputs}
    for marker, names in HEADLINE_OUTPUTS:
        if marker in outputs:
            return names
    raise ValueError(f"explain() knows no headline outputs of system {system.name!r}; "
                     f"{type(result).__name__} can name them in EXPLAIN")


def _closure(system, name) -> tuple:
    """(equation names, input names) that output ``name`` depends on."""
    needed, inputs, stack = set(), set(), [system.symbol(name)]
    while stack:
        sym = stack.pop()
        if sym.name in needed or sym.name in inputs:
            continue
        eq = system.definitions.get(sym)
        if eq is None:
            if not is_constant(sym):
                inputs.add(sym.name)
            continue
        needed.add(sym.name)
        stack.extend(eq.rhs.free_symbols)
    return needed, inputs


@lru_cache(maxsize=32)
def _needed(system, wanted: tuple, available: frozenset) -> tuple:
    """The equations the ``wanted`` outputs depend on, in dependency order (outputs whose
    inputs are not all ``available`` are left out), and the inputs the rest lack."""
    names = {o.name for o in system.outputs}
    needed, lacking = set(), set()
    for w in wanted:
        if w not in names:
            continue
        eqs, inputs = _closure(system, w)
        if inputs <= available:
            needed |= eqs
        else:
            lacking |= inputs - available
    return tuple(eq.name for eq in system.order if eq.name in needed), tuple(sorted(lacking))


class _NumberPrinter(sympy.printing.str.StrPrinter):
    """Prints each symbol as its value, keeping the expression's structure (no merging)."""

    def __init__(self, numbers):
        super().__init__()
        self._numbers = numbers

    def _print_Symbol(self, expr):
        return self._numbers.get(expr.name, expr.name)


def _fmt(name, base_value) -> str:
    unit = info(name).unit
    q = Q_(float(base_value) / base_factor(unit), unit)
    if unit == "dimensionless":
        return f"{q.magnitude:.4g}"
    return f"{q.magnitude:.4g} {q.units:~P}"


def _base_inputs(result) -> dict:
    """The result's inputs as base-unit magnitudes: ``base_inputs()``, else ``inputs()``."""
    if callable(getattr(result, "base_inputs", None)):
        return dict(result.base_inputs())
    if callable(getattr(result, "inputs", None)):
        return {n: magnitude(n, q) for n, q in result.inputs().items()}
    raise ValueError(f"explain(): {type(result).__name__} does not record its inputs "
                     f"(base_inputs())")


def _system_and_inputs(result) -> tuple:
    """(system, base-unit inputs) of an explainable result; ValueError saying why not."""
    system = getattr(result, "system", None)
    if not isinstance(system, System):
        raise ValueError(f"explain(): {type(result).__name__} has no composed system to "
                         f"explain (a result of predict or train has one)")
    inputs = _base_inputs(result)
    if any(np.ndim(v) for v in inputs.values()):
        raise ValueError("explain() needs a scalar prediction (no array knobs)")
    return system, inputs


def _equations(system, needed, values) -> list:
    """Each needed equation: symbolically, with the numbers substituted, and its value."""
    equations = []
    for eq in system.order:
        if eq.name not in needed:
            continue
        rhs = substitute_constants(eq.rhs)
        numbers = {s.name: f"({_fmt(s.name, values[s.name])})" for s in rhs.free_symbols
                   if not is_constant(s)}
        equations.append({"name": eq.name, "equation": str(rhs),
                          "substituted": _NumberPrinter(numbers).doprint(rhs),
                          "value": _fmt(eq.name, values[eq.name]), "cite": eq.cite,
                          "locator": eq.locator})
    return equations


def _heading(result, system) -> str:
    """``model on hardware, precision p, phase q`` (what the result has of them)."""
    model, hardware = getattr(result, "model", None), getattr(result, "hardware", None)
    if model is not None and hardware is not None:
        head = f"{getattr(model, 'name', model)} on {getattr(hardware, 'name', hardware)}"
    else:
        head = f"{type(result).__name__} of system {system.name!r}"
    for label in ("precision", "phase"):
        value = getattr(result, label, None)
        if isinstance(value, str) and value:
            head += f", {label} {value}"
    return head


def explain_data(result) -> dict:
    """The equations a result used, as data: each one symbolically, with its numbers
    substituted, and its value.

    Returns
    -------
    dict
        ``heading``; ``system`` (its name); ``inputs`` ``{name: text}``; ``defaults``
        ``{symbol: text}``, the calibrated default entry each efficiency came from and how it
        was fitted; ``equations``, a list of ``{"name", "equation", "substituted", "value",
        "cite", "locator"}`` in dependency order; ``bottleneck``, ``bottleneck_detail`` and
        ``feasible`` (None when the result has no such attribute).

    Raises
    ------
    ValueError
        One line saying why the result cannot be explained: a vectorised result (array
        knobs), no composed system or recorded inputs, or inputs its headline outputs lack.
    """
    system, inputs = _system_and_inputs(result)
    needed, lacking = _needed(system, _headline(result, system), frozenset(inputs))
    if not needed:
        raise ValueError(f"explain(): this {type(result).__name__} of system {system.name!r} "
                         f"has no {', '.join(lacking)}")
    kernel = system.compile(needed)
    ev = kernel.raw(*[inputs[n] for n in kernel.input_names])
    values = dict(inputs)
    values.update(dict(zip(kernel.output_names, ev[: len(kernel.output_names)])))
    used = result.defaults_used() if callable(getattr(result, "defaults_used", None)) else {}
    bottleneck, feasible = getattr(result, "bottleneck", None), getattr(result, "feasible", None)
    return {"heading": _heading(result, system), "system": system.name,
            "inputs": {n: _fmt(n, inputs[n]) for n in sorted(inputs)},
            "defaults": {sym: r.describe() for sym, r in (used or {}).items()},
            "equations": _equations(system, needed, values),
            "bottleneck": None if bottleneck is None else str(bottleneck),
            "bottleneck_detail": getattr(result, "bottleneck_detail", None),
            "feasible": None if feasible is None else bool(feasible)}


def _closing(d) -> str:
    """The last line: the bottleneck (and why) and whether the result is feasible."""
    parts = []
    if d["bottleneck"] is not None:
        detail = f" ({d['bottleneck_detail']})" if d["bottleneck_detail"] else ""
        parts.append(f"bottleneck: {d['bottleneck']}{detail}")
    if d["feasible"] is not None:
        parts.append(f"feasible: {d['feasible']}")
    return "; ".join(parts)


def explain(result) -> str:
    """Text: each equation the result used, symbolically, then with numbers, then its value.

    A result that cannot be explained (a sweep, a result with no composed system) gets one
    line saying why, not an exception.
    """
    try:
        d = explain_data(result)
    except ValueError as exc:
        return str(exc)
    lines = [d["heading"], "", "inputs:"]
    for n, text in d["inputs"].items():
        lines.append(f"  {n:32s} = {text}")
    if d.get("defaults"):
        lines += ["", "calibrated defaults used (defaults.yaml: entry, value, how it was fitted):"]
        for text in d["defaults"].values():
            lines.append(f"  {text}")
    lines += ["", "equations (symbolic, then substituted):"]
    for eq in d["equations"]:
        lines.append(f"  {eq['name']} := {eq['equation']}    [{eq['cite']}, {eq['locator']}]")
        lines.append(f"      = {eq['substituted']}")
        lines.append(f"      = {eq['value']}")
    closing = _closing(d)
    if closing:
        lines += ["", closing]
    return "\n".join(lines)


#: the name of the serving-only version, kept: every result is explained the same way now
explain_prediction = explain
