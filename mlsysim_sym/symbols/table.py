"""The symbols' side table without sympy: what a prediction reads of a symbol (its unit,
bounds, whether it is a count) from the on-disk cache (:mod:`mlsysim_sym.cache`).

Declaring the ~600 symbols creates sympy objects, and importing sympy is most of a cold
prediction's time. The table's rows are plain data, so once a process has declared them they
are stored as a snapshot keyed by the hash of ``symbols/*.py`` and the unit files; a later
process answers :func:`mlsysim_sym.symbols.info` from the snapshot and declares the symbols
(importing sympy) only when something asks for a sympy symbol, an equation, or a name the
snapshot does not hold.
"""

from __future__ import annotations

from .. import cache

__all__ = ["SymbolRow", "SNAPSHOT_SOURCES", "read_snapshot", "write_snapshot"]

#: the files the side table is derived from (relative to the package)
SNAPSHOT_SOURCES = ("symbols/*.py", "units.py", "units.txt")
_IDENTITY = "symbols: side table"


class SymbolRow:
    """A row of the side table read from the snapshot: the fields of
    :class:`~mlsysim_sym.symbols.base.SymbolInfo`; ``.symbol`` declares the symbols (sympy)."""

    __slots__ = ("name", "unit", "latex", "description", "bounds", "integer", "value")

    def __init__(self, name, unit, latex, description, bounds, integer=False, value=None):
        self.name, self.unit, self.latex, self.description = name, unit, latex, description
        self.bounds, self.integer, self.value = bounds, integer, value

    @property
    def is_constant(self) -> bool:
        return self.value is not None

    @property
    def symbol(self):
        from . import lookup
        return lookup(self.name)

    def __repr__(self):
        return f"SymbolRow({self.name!r}, unit={self.unit!r}, bounds={self.bounds})"


def _key() -> str:
    return cache.fingerprint(_IDENTITY, SNAPSHOT_SOURCES)


def read_snapshot():
    """``{name: SymbolRow}`` from the cache, or None (no cache, stale or malformed entry)."""
    payload = cache.read("symbols", _IDENTITY, _key())
    if not isinstance(payload, dict) or not payload:
        return None
    rows = {}
    try:
        for name, (unit, latex, description, lo, hi, integer, value) in payload.items():
            if not (isinstance(name, str) and isinstance(unit, str) and isinstance(latex, str)
                    and isinstance(description, str) and isinstance(integer, bool)
                    and all(isinstance(x, (int, float)) for x in (lo, hi))
                    and (value is None or isinstance(value, (int, float)))):
                return None
            rows[name] = SymbolRow(name, unit, latex, description, (float(lo), float(hi)),
                                   integer, None if value is None else float(value))
    except (TypeError, ValueError):      # a row of the wrong shape
        return None
    return rows


def write_snapshot(table: dict) -> bool:
    """Store the declared side table (``{name: SymbolInfo}``) for later processes."""
    payload = {name: [r.unit, r.latex, r.description, r.bounds[0], r.bounds[1], bool(r.integer),
                      r.value] for name, r in table.items()}
    return cache.write("symbols", _IDENTITY, _key(), payload)
