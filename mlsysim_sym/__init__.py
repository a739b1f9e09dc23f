"""mlsysim_sym: a symbolic, unit-checked, analytical model of ML systems.

Quick start::

    import mlsysim_sym as ms
    r = ms.predict("llama-3-8b", "h100", batch=1, seq_len=2048, precision="fp16")
    r.latency, r.bottleneck, r.memory_footprint
    ms.walls.serving.latex()

The public API re-exports only; heavy modules are imported on first use.
"""

from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"

_LAZY = {
    # pint takes a quarter of a second to import: the command line answers a wrong name or
    # precision before it (and sympy) load
    "Q_": ("units", "Q_"),
    "ureg": ("units", "ureg"),
    "predict": ("tasks.serving", "predict"),
    "Prediction": ("tasks.serving", "Prediction"),
    "System": ("system", "System"),
    "walls": ("equations", "walls"),
    "Wall": ("equations", "Wall"),
    "Equation": ("equations", "Equation"),
    "Constraint": ("equations", "Constraint"),
    "registry": ("registry", None),
    "symbols": ("symbols", None),
    "latex": ("analysis.citations", "latex"),
    "cite": ("analysis.citations", "cite"),
    "Model": ("registry", "Model"),
    "solve_for": ("solvers.inverse", "solve_for"),
    "sensitivity": ("solvers.sensitivity", "sensitivity"),
    "pareto_front": ("solvers.optimize", "pareto_front"),
    "synthesize": ("tasks.synthesis", "synthesize"),
    "train": ("tasks.training", "train"),
    "serve": ("tasks.fleet", "serve"),
    "best_parallelism": ("tasks.planning", "best_parallelism"),
    "size_fleet": ("tasks.fleet", "size_fleet"),
    "compute_optimal": ("tasks.scaling_laws", "compute_optimal"),
    "compress": ("tasks.compression", "compress"),
    "CompressionResult": ("tasks.compression", "CompressionResult"),
    "fleet_footprint": ("tasks.footprint", "fleet_footprint"),
    "FleetFootprint": ("tasks.footprint", "FleetFootprint"),
    "TrainResult": ("tasks.training", "TrainResult"),
    "iron_law": ("tasks.training", "iron_law"),
    "Hardware": ("registry", "Hardware"),
    "sweep": ("sweeps", "sweep"),
    "reduce": ("sweeps.reductions", None),
    "SweepResult": ("sweeps", "SweepResult"),
    "config": ("checks", "config"),
    "InputError": ("checks", "InputError"),
    "UnitError": ("units", "UnitError"),
}

__all__ = ["Q_", "ureg", "__version__", *_LAZY]


def __getattr__(name):
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'mlsysim_sym' has no attribute {name!r}") from None
    mod = importlib.import_module(f".{module}", __name__)
    value = mod if attr is None else getattr(mod, attr)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


class _Package(types.ModuleType):
    """The package module: a public name stays what ``_LAZY`` says it is.

    Importing a submodule binds it as an attribute of its package; for ``mlsysim_sym.iron_law``
    (the module) that would replace ``ms.iron_law`` (the function) as soon as anything imported
    the module. Such a binding is skipped here (the submodule stays in ``sys.modules``).
    """

    def __setattr__(self, name, value):
        if isinstance(value, types.ModuleType) and _LAZY.get(name, (None, None))[1] is not None:
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
