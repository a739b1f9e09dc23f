"""Paper output: ``latex(obj)`` and ``cite(result)``.

``cite`` returns the BibTeX of exactly the sources a result depended on: the references of the
equations it was computed with, and the registry sources of every registry value it used (with
the locators as notes). ``values_used(result)`` lists those registry values one by one.
"""

from __future__ import annotations

import sympy

__all__ = ["latex", "cite", "values_used"]


def latex(obj) -> str:
    """LaTeX of a wall, a composed system, an equation, a sympy expression (closed-form inverse,
    derivative) or a result (the system it was computed with)."""
    from ..equations.base import Constraint, Equation, Wall
    from ..report import latex_expr
    from ..system import System
    if isinstance(obj, (Wall, System, Equation, Constraint)):
        return obj.latex()
    if isinstance(obj, sympy.Basic):
        return latex_expr(obj)
    system = getattr(obj, "system", None)
    if isinstance(system, System):
        return system.latex()
    raise TypeError(f"latex() takes a Wall, System, Equation, sympy expression or a result; "
                    f"got {type(obj).__name__}")


def values_used(result) -> list:
    """Registry values a result used: dicts with entry, field, value and provenance."""
    rows = []
    used = getattr(result, "registry_fields", None)
    if used is None:
        raise TypeError(f"{type(result).__name__} does not record the registry values it used")
    for obj, field in used():
        prov = obj.provenance(field)
        try:
            value = obj.value(field).quantity if hasattr(obj.value(field), "quantity") else None
        except Exception:  # architecture integers have no Value record
            value = None
        rows.append({"entry": obj.name, "field": field, "value": value, "source": prov.source,
                     "locator": prov.locator, "basis": prov.basis, "note": prov.note})
    return rows


def cite(result) -> str:
    """BibTeX of every source ``result`` depended on (equations and registry values)."""
    from .. import registry
    from ..equations.references import bibtex as ref_bibtex
    parts = []
    system = getattr(result, "system", None)
    if system is not None:
        parts.append(ref_bibtex(system.references()))
    if hasattr(result, "registry_fields"):
        provs = [obj.provenance(field) for obj, field in result.registry_fields()]
        parts.append(registry.bibtex(provs).rstrip())
    if hasattr(result, "defaults_used"):
        used = result.defaults_used()
        if used:
            note = "; ".join(r.describe().replace("{", "(").replace("}", ")")
                             for r in used.values())
            parts.append("@misc{mlsysim_sym_defaults,\n"
                         "  title = {Calibrated defaults of mlsysim_sym (defaults.yaml), fitted on "
                         "published measurements},\n"
                         f"  note = {{{note}}}\n}}")
    if not parts:
        raise TypeError(f"cannot cite a {type(result).__name__}: pass a result of predict/train/serve")
    return "\n\n".join(p for p in parts if p) + "\n"
