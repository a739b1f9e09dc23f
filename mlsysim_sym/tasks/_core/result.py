"""The base class of every task's result: one way out.

A result knows its numbers (:meth:`Result.to_dict`, JSON-ready), says them in one line
(:meth:`Result.headline`, what the command line prints first for any model family), and
explains and cites itself (:meth:`Result.explain`, :meth:`Result.cite`). Notebook display,
``to_frame`` and ``plot`` come from :class:`~mlsysim_sym.display.ResultDisplay`.

Bottlenecks of a vectorised result are small integer codes into
:data:`~mlsysim_sym.vocabulary.BOTTLENECKS` (:attr:`Result.bottleneck_code`, ``numpy.int8``);
names are made from them only when read (:func:`bottleneck_names`: one take from a table of
five names, not a comparison of Python strings per point).
"""

from __future__ import annotations

import numpy as np

from ...display import ResultDisplay
from ...vocabulary import BOTTLENECKS

__all__ = ["Result", "format_value", "BOTTLENECKS", "bottleneck_names", "binding_codes"]

_CODE = {name: i for i, name in enumerate(BOTTLENECKS)}
_NAMES = np.asarray(BOTTLENECKS, dtype=object)
_MEMORY = np.int8(_CODE["Memory"])


def bottleneck_names(codes):
    """Names of bottleneck codes: a str for a scalar code, an object array of names (shaped
    like ``codes``) for an array."""
    if np.ndim(codes) == 0:
        return BOTTLENECKS[int(codes)]
    return _NAMES[codes]


def binding_codes(kind, branches: dict, feasible):
    """Codes of the binding branch of a Max (``kind == "max"``) or Min over ``branches``
    (``{wall name: magnitudes}``, broadcast together), ``Memory`` where ``feasible`` is False.

    The first of equal branches binds, and a NaN binds as ``numpy.argmax`` / ``argmin`` pick it
    (the rule :meth:`mlsysim_sym.numeric.Evaluation.binding` applies to names)."""
    labels = list(branches)
    unknown = [k for k in labels if k not in _CODE]
    if unknown:
        raise ValueError(f"bottleneck {unknown[0]!r} is not one of {', '.join(BOTTLENECKS)}")
    vals = [np.asarray(branches[k], dtype=float) for k in labels]
    any_nan = any(np.isnan(np.min(v)) for v in vals)  # min propagates NaN
    best, codes = vals[0], np.int8(_CODE[labels[0]])
    nan = np.isnan(best) if any_nan else False
    for i, (label, v) in enumerate(zip(labels[1:], vals[1:])):
        better = (v > best) if kind == "max" else (v < best)
        if any_nan:  # a NaN binds where no earlier branch was NaN
            v_nan = np.isnan(v)
            better = (better | v_nan) & ~nan
            nan = nan | v_nan
        codes = _pick(better, np.int8(_CODE[label]), codes)
        if i + 2 < len(labels):
            best = np.where(better, v, best)
    out = _pick(np.logical_not(feasible), _MEMORY, codes)
    shape = np.broadcast_shapes(out.shape, *(v.shape for v in vals))
    return out if out.shape == shape else np.broadcast_to(out, shape).copy()


def _pick(mask, code, codes):
    """``numpy.where(mask, code, codes)`` for int8 codes, as arithmetic on the mask's 0/1 bytes
    (``codes + mask * (code - codes)``): no branch per point, so a mask that changes often
    costs no more than one that does not (``where`` with a scalar is ~100x slower on a
    random mask)."""
    mask = np.asarray(mask, dtype=bool)
    codes = np.asarray(codes, dtype=np.int8)
    return (codes + mask.view(np.int8) * (np.int8(code) - codes)).astype(np.int8, copy=False)


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

    @property
    def bottleneck_code(self):
        """The bottleneck as an index into :data:`~mlsysim_sym.vocabulary.BOTTLENECKS` (an int,
        or a ``numpy.int8`` array for a sweep): ``BOTTLENECKS[code]`` is :attr:`bottleneck`.
        Results that compute their bottleneck from numbers give the codes directly; this
        default encodes the names."""
        names = self.bottleneck
        if np.ndim(names) == 0:
            return _CODE[str(names)]
        codes = np.full(np.shape(names), -1, dtype=np.int8)
        for name, code in _CODE.items():
            codes[names == name] = code
        if (codes < 0).any():
            raise ValueError(f"bottleneck {np.asarray(names)[codes < 0].flat[0]!r} is not one of "
                             f"{', '.join(BOTTLENECKS)}")
        return codes

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
