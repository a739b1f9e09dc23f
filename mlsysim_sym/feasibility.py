"""One-line feasibility reasons shared by every result (predict, workloads, train).

A plan that does not fit is an answer: ``feasible`` is False and ``reason`` says what does not
fit and by how much; a plan that fits says how much of the memory it uses.
"""

from __future__ import annotations

import numpy as np

__all__ = ["memory_reason"]


def _unit_for(capacity) -> str:
    have = float(np.max(np.asarray(capacity.to("B").magnitude, dtype=float)))
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if have >= size:
            return unit
    return "B"


def memory_reason(footprint, capacity, unit: str | None = None, parts: dict | None = None,
                  per: str = ""):
    """``"fits: X of Y"`` or ``"does not fit: X > Y capacity (part a, part b, ...)"``.

    Parameters
    ----------
    footprint, capacity : pint.Quantity
        Memory needed (scalar or array) and available (scalar or array).
    unit : str, optional
        Unit the numbers are printed in (default: TB, GB, MB, kB or B by the capacity).
    parts : dict, optional
        Name -> quantity of the footprint's terms, printed when it does not fit.
    per : str
        Suffix after the numbers, e.g. ``" per device"``.

    Returns
    -------
    str, or an object array of str when an input is an array.
    """
    unit = unit or _unit_for(capacity)
    need = np.asarray(footprint.to(unit).magnitude, dtype=float)
    have = np.asarray(capacity.to(unit).magnitude, dtype=float)
    names = list(parts or {})
    values = [np.asarray(parts[n].to(unit).magnitude, dtype=float) for n in names]
    need, have, *values = np.broadcast_arrays(need, have, *values)
    shape = need.shape
    # plain floats, point by point (formatting a float is what numpy's scalars do, faster)
    need, have = need.ravel().tolist(), have.ravel().tolist()
    values = [v.ravel().tolist() for v in values]
    lines = np.empty(len(need), dtype=object)
    for i, (n_i, h_i) in enumerate(zip(need, have)):
        if n_i <= h_i:
            lines[i] = f"fits: {n_i:.4g} {unit} of {h_i:.4g} {unit}{per}"
        else:
            detail = ", ".join(f"{n} {v[i]:.4g} {unit}" for n, v in zip(names, values))
            lines[i] = (f"does not fit: {n_i:.4g} {unit}{per} > {h_i:.4g} {unit} capacity"
                        + (f" ({detail})" if detail else ""))
    return str(lines[0]) if not shape else lines.reshape(shape)
