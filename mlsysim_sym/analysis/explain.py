"""``--explain``: the equations behind a prediction, with the numbers substituted."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy

from ..symbols import info, is_constant
from ..system import substitute_constants
from ..units import Q_, base_factor

__all__ = ["explain_prediction", "explain_data"]


_WANTED = ("ttft", "time_per_output_token", "memory_footprint", "memory_utilization",
           "decode_throughput", "prefill_throughput")


@lru_cache(maxsize=4)
def _needed(system) -> tuple:
    """The equations the headline outputs depend on, in dependency order."""
    needed = set()
    stack = [system.symbol(w) for w in _WANTED]
    while stack:
        sym = stack.pop()
        eq = system.definitions.get(sym)
        if eq is None or sym.name in needed:
            continue
        needed.add(sym.name)
        stack.extend(d for d in eq.rhs.free_symbols if d in system.definitions)
    return tuple(eq.name for eq in system.order if eq.name in needed)


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


def explain_data(pred) -> dict:
    """The equations a prediction used, as data: each one symbolically, with its numbers
    substituted, and its value.

    Returns
    -------
    dict
        ``heading``; ``inputs`` ``{name: text}``; ``defaults`` ``{symbol: text}``, the
        calibrated default entry each efficiency came from and how it was fitted;
        ``equations``, a list of ``{"name",
        "equation", "substituted", "value", "cite", "locator"}`` in dependency order;
        ``bottleneck``, ``bottleneck_detail`` and ``feasible``.

    Raises
    ------
    ValueError
        For a vectorised prediction (array knobs).
    """
    from ..scenarios import serving_system
    system = serving_system("kv_lora_rank" in pred._inputs)   # MLA: the latent dimensions
    needed = _needed(system)
    kernel = system.compile(needed)
    inputs = dict(pred._inputs)
    if any(np.ndim(v) for v in inputs.values()):
        raise ValueError("explain() needs a scalar prediction (no array knobs)")
    missing = [n for n in kernel.input_names if n not in inputs]
    if missing:
        raise ValueError(f"explain() covers the dense serving system (walls 1, 2, 4); this "
                         f"prediction of {pred.model.name} has no {', '.join(missing)}")
    ev = kernel.raw(*[inputs[n] for n in kernel.input_names])
    values = dict(inputs)
    values.update(dict(zip(kernel.output_names, ev[: len(kernel.output_names)])))
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
    used = pred.defaults_used() if hasattr(pred, "defaults_used") else {}
    return {"heading": f"{pred.model.name} on {pred.hardware.name}, precision {pred.precision}, "
                       f"phase {pred.phase}",
            "inputs": {n: _fmt(n, inputs[n]) for n in sorted(inputs)},
            "defaults": {sym: r.describe() for sym, r in used.items()},
            "equations": equations, "bottleneck": str(pred.bottleneck),
            "bottleneck_detail": pred.bottleneck_detail, "feasible": bool(pred.feasible)}


def explain_prediction(pred) -> str:
    """Text: each equation the prediction used, symbolically, then with numbers, then its value."""
    try:
        d = explain_data(pred)
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
    lines += ["", f"bottleneck: {d['bottleneck']} ({d['bottleneck_detail']}); "
                  f"feasible: {d['feasible']}"]
    return "\n".join(lines)
