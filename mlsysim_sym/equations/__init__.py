"""The walls: one declarative module per physical limit (equations only, no numerics).

``walls`` is iterable (in wall-number order) and reachable by name: ``walls.serving``,
``walls["Serving"]``, ``walls[4]``.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util

from .base import Constraint, DimensionError, Equation, Wall, check_equation, dimension_of

__all__ = ["walls", "workloads", "Wall", "Equation", "Constraint", "DimensionError", "check_equation",
           "dimension_of", "WallSet"]


class WallSet:
    """An ordered, name-addressable collection of :class:`Wall` records."""

    def __init__(self, modules):
        self._walls = tuple(sorted((m.WALL for m in modules), key=lambda w: w.number))
        self._by_key = {w.key: w for w in self._walls}

    def __iter__(self):
        return iter(self._walls)

    def __len__(self):
        return len(self._walls)

    def __getitem__(self, item) -> Wall:
        if isinstance(item, int):
            for w in self._walls:
                if w.number == item:
                    return w
            raise KeyError(f"no wall number {item}; implemented: "
                           f"{', '.join(str(w.number) for w in self._walls)}")
        key = str(item).lower().replace(" ", "_").replace("-", "_")
        if key in self._by_key:
            return self._by_key[key]
        close = difflib.get_close_matches(key, self._by_key, n=3)
        raise KeyError(f"no wall named {item!r}." + (f" Did you mean: {', '.join(close)}?" if close
                                                     else f" Walls: {', '.join(self._by_key)}"))

    def __getattr__(self, name) -> Wall:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(str(exc)) from None

    def __dir__(self):
        """The walls by name (``dir(ms.walls)``, tab completion), then the methods."""
        return list(self._by_key) + sorted(a for a in dir(type(self)) if not a.startswith("_"))

    def __repr__(self):
        return "WallSet(" + ", ".join(f"{w.number} {w.name}" for w in self._walls) + ")"


# Wall modules in wall order, then workload families (MoE, diffusion, TinyML, encoders/CNNs,
# Mamba SSMs).
_WALL_MODULES = ("compute", "memory", "software", "serving", "batching", "streaming",
                 "tail_latency", "ingestion", "transformation", "locality", "complexity",
                 "reasoning", "fidelity", "communication", "fragility", "multitenant", "capital",
                 "sustainability", "checkpoint", "safety")
_WORKLOAD_MODULES = ("training", "moe", "diffusion", "tinyml", "encoders", "continuous_batching",
                     "speculative", "mla", "ssm", "sliding_window", "disaggregation")


def _load(names):
    mods = []
    for name in names:
        if importlib.util.find_spec(f"{__name__}.{name}") is not None:
            mods.append(importlib.import_module(f".{name}", __name__))
    return mods


walls = WallSet([m for m in _load(_WALL_MODULES) if m.WALL.kind == "wall"])
workloads = WallSet([m for m in _load(_WORKLOAD_MODULES)])
