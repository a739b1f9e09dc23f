"""Every quantity of the model, declared once.

A symbol is a plain ``sympy.Symbol(name, positive=True)`` plus a row in a side table
(:class:`SymbolInfo`): unit, LaTeX, description and plausible bounds. Walls import symbols from
here; they never create them. The declarations are split into one submodule per wall (``node``
holds walls 1, 2, 4 and the shared constants) so each stays readable; every name is re-exported
here, and :func:`declare` refuses a name declared twice anywhere.

Importing this package declares nothing: the declarations (and sympy) load on the first access
to a symbol or to the machinery (``symbols.flops``, ``declare``, ``lookup``, ``all_symbols``).
:func:`info` answers from the side table's snapshot in the on-disk cache
(:mod:`mlsysim_sym.symbols.table`) when the declarations are not loaded, so a prediction from
a cached kernel reads units and bounds without importing sympy.
"""

import importlib as _importlib
import importlib.util as _util

from . import table as _table

# One module per wall (and per workload family), in wall order; each declares only the symbols
# it introduces and imports the ones it reuses from earlier modules.
_MODULES = ("software", "batching", "streaming", "tail_latency", "ingestion", "transformation",
            "locality", "complexity", "reasoning", "fidelity", "communication", "fragility",
            "multitenant", "capital", "sustainability", "checkpoint", "safety", "training",
            "workloads", "continuous_batching", "speculative", "ssm", "sliding_window",
            "disaggregation")
#: the machinery re-exported from ``base`` (``info`` is this package's own, below)
_BASE_NAMES = ("SymbolInfo", "all_symbols", "constant", "declare", "is_constant", "lookup")

_rows = None        # {name: row}: base's live table once declared, else the cached snapshot
_loaded = False
_loading = False


def _load():
    """Declare every symbol (imports sympy) and re-export them here."""
    global _loading
    if _loaded or _loading:
        return
    _loading = True
    try:
        _declare_all()
    finally:
        _loading = False


def _declare_all():
    global _rows, _loaded
    base = _importlib.import_module(".base", __name__)
    node = _importlib.import_module(".node", __name__)
    g = globals()
    for k in _BASE_NAMES:
        g[k] = getattr(base, k)
    for mod in [node] + [_importlib.import_module(f".{n}", __name__) for n in _MODULES
                         if _util.find_spec(f"{__name__}.{n}") is not None]:
        g.update({k: v for k, v in vars(mod).items()
                  if not k.startswith("_") and hasattr(v, "is_Symbol")})
    _rows, _loaded = base._TABLE, True


def __getattr__(name):
    if name.startswith("__") or _loading:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _load()
    try:
        return globals()[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def info(symbol_or_name):
    """The :class:`SymbolInfo` of a symbol or a symbol name (raises KeyError with close
    matches). Before the declarations load, a :class:`~mlsysim_sym.symbols.table.SymbolRow`
    of the cached snapshot with the same fields."""
    rows = _rows if _rows is not None else _snapshot_rows()
    row = None if rows is None else rows.get(
        symbol_or_name if isinstance(symbol_or_name, str)
        else getattr(symbol_or_name, "name", None))
    if row is None:
        if not _loaded:
            _load()
        from .base import info as declared_info
        return declared_info(symbol_or_name)
    return row


def _snapshot_rows():
    global _rows
    if _rows is None and not _loading:
        rows = _table.read_snapshot()
        if rows is None:
            _load()
            _table.write_snapshot(_rows)
        else:
            _rows = rows
    return _rows      # None only while the declarations load: info() asks base directly
