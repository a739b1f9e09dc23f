"""The base class of every task's result: one way out.

A result knows its numbers (:meth:`Result.to_dict`, JSON-ready), says them in one line
(:meth:`Result.headline`, what the command line prints first for any model family), and
explains and cites itself (:meth:`Result.explain`, :meth:`Result.cite`). Notebook display,
``to_frame`` and ``plot`` come from :class:`~mlsysim_sym.display.ResultDisplay`.
"""

from __future__ import annotations

from ...display import ResultDisplay

__all__ = ["Result", "format_value"]


def format_value(v) -> str:
    """A ``to_dict`` entry as short text: ``{"value", "unit"}`` as ``12.3 ms``, lists by length."""
    if isinstance(v, dict) and "value" in v and "unit" in v:
        val, unit = v["value"], v["unit"]
        if isinstance(val, list):
            return f"[{len(val)} values] {unit}".rstrip()
        return f"{val:.4g} {unit}".rstrip() if isinstance(val, (int, float)) else f"{val} {unit}"
    if isinstance(v, list):
        return f"[{len(v)} values]"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


class Result(ResultDisplay):
    """Base of the task results: ``to_dict``, ``headline``, ``explain``, ``cite``.

    Subclasses implement :meth:`to_dict` and name in :attr:`HEADLINE` the entries of it that
    :meth:`headline` shows (the first that are present); ``feasible`` and ``reason`` are
    appended when the result has them.
    """

    __slots__ = ()

    #: ``to_dict`` keys the one-line headline shows, in order
    HEADLINE: tuple = ("latency", "throughput", "memory_footprint")
    #: output symbols :meth:`explain` starts from; empty: those of the system's model family
    #: (:data:`mlsysim_sym.analysis.explain.HEADLINE_OUTPUTS`)
    EXPLAIN: tuple = ()

    def to_dict(self) -> dict:
        """JSON-ready dict of every output (``{"value", "unit"}`` per quantity)."""
        raise NotImplementedError(f"{type(self).__name__} must implement to_dict()")

    def title(self) -> str:
        """What the result is about: ``model on hardware`` when it has them."""
        d = self.to_dict()
        model, hw = d.get("model"), d.get("hardware")
        if model and hw:
            return f"{model} on {hw}"
        return str(model or hw or type(self).__name__)

    def headline(self) -> str:
        """One line for any model family: the title, the headline figures, and whether it is
        feasible (with the reason when it is not)."""
        d = self.to_dict()
        parts = [f"{k.replace('_', ' ')} {format_value(d[k])}" for k in self.HEADLINE
                 if k in d and d[k] is not None]
        line = f"{self.title()}: " + ", ".join(parts)
        feasible = d.get("feasible")
        if feasible is False:
            line += f"; infeasible: {d.get('reason', '')}".rstrip(": ")
        elif "bottleneck" in d and isinstance(d["bottleneck"], str):
            line += f"; {d['bottleneck'].lower()}-bound"
        return line

    def explain(self) -> str:
        """The equations behind this result's headline outputs: each symbolically, with the
        numbers substituted, and its value; the calibrated defaults it used. Needs ``system``
        and ``base_inputs()`` (or ``inputs()``); otherwise one line says why it cannot."""
        from ...analysis.explain import explain
        return explain(self)

    def rows(self) -> list:
        """``(label, value)`` rows of the result's figures, the way a table or the command line
        shows them: by default every output of :meth:`outputs` plus the memory capacity; a
        family with a richer breakdown (LLM serving: latencies and the memory split) overrides
        it. The command line prints these for any family, with no code of its own per family."""
        outputs = getattr(self, "outputs", None)
        if outputs is None:
            d = self.to_dict()
            return [(k.replace("_", " "), d[k]) for k in self.HEADLINE if k in d]
        from ...units import readable
        rows = [(name.replace("_", " "), readable(q)) for name, q in outputs().items()]
        capacity = getattr(self, "memory_capacity", None)
        return rows + ([("memory capacity", readable(capacity))] if capacity is not None else [])

    def cite(self) -> str:
        """BibTeX of every source this result depended on (equations, registry values, the
        calibrated defaults and their fit)."""
        from ...analysis.citations import cite
        return cite(self)

    def __repr__(self):
        try:
            return f"{type(self).__name__}({self.headline()})"
        except (AttributeError, KeyError, TypeError, ValueError):  # half-built: still print
            return f"{type(self).__name__}(...)"
