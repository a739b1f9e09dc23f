"""Every quantity of the model, declared once.

A symbol is a plain ``sympy.Symbol(name, positive=True)`` plus a row in a side table
(:class:`SymbolInfo`): unit, LaTeX, description and plausible bounds. Walls import symbols from
here; they never create them. The declarations are split into one submodule per wall (``node``
holds walls 1, 2, 4 and the shared constants) so each stays readable; every name is re-exported
here, and :func:`declare` refuses a name declared twice anywhere.
"""

import importlib as _importlib
import importlib.util as _util

from .base import (SymbolInfo, all_symbols, constant, declare, info, is_constant,  # noqa: F401
                   lookup)
from .node import *  # noqa: F401,F403

# One module per wall (and per workload family), in wall order; each declares only the symbols
# it introduces and imports the ones it reuses from earlier modules.
_MODULES = ("software", "batching", "streaming", "tail_latency", "ingestion", "transformation",
            "locality", "complexity", "reasoning", "fidelity", "communication", "fragility",
            "multitenant", "capital", "sustainability", "checkpoint", "safety", "training",
            "workloads", "continuous_batching", "ssm")

for _name in _MODULES:
    if _util.find_spec(f"{__name__}.{_name}") is None:
        continue
    _mod = _importlib.import_module(f".{_name}", __name__)
    globals().update({k: v for k, v in vars(_mod).items()
                      if not k.startswith("_") and k not in ("constant", "declare")
                      and hasattr(v, "is_Symbol")})
