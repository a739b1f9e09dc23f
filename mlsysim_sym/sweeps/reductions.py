"""Streamed reductions of a sweep: each chunk gives a small partial state, states merge.

Every merge is associative and commutative, and ties are broken by the points' flat grid
index, so a sweep gives the same answer however it is chunked and in whatever order the chunks
finish (one process, or a Dask cluster). Available as ``ms.reduce``::

    ms.reduce.count_feasible()                 # points that fit and meet the constraints
    ms.reduce.argmin("time_per_output_token")  # the best admissible point (argmax likewise)
    ms.reduce.pareto("time_per_output_token", "-decode_throughput")   # "-" maximises
    ms.reduce.quantiles("ttft", [0.1, 0.5, 0.9])                      # relative accuracy 0.1%
    ms.reduce.histogram("ttft", bins=20, range=(0, 500))              # in the column's unit

Only *admissible* points (feasible, and inside every constraint of the sweep) enter a
reduction; ``count_feasible`` counts them.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Reduction", "count_feasible", "argmin", "argmax", "pareto", "quantiles", "histogram",
           "SweepError"]


class SweepError(ValueError):
    """A sweep's grid, outputs, constraints or reductions are not valid (one-line message)."""


def _name(output, what):
    if not isinstance(output, str) or not output.strip():
        raise SweepError(f"{what} needs an output name such as 'time_per_output_token', got "
                         f"{output!r}")
    return output.strip()


class Reduction:
    """Base class: ``partial(chunk)`` -> state, ``merge(a, b)`` -> state, ``finalize``."""

    label = "reduction"
    needs: tuple = ()

    def partial(self, chunk):  # pragma: no cover - interface
        raise NotImplementedError

    def merge(self, a, b):  # pragma: no cover - interface
        raise NotImplementedError

    def finalize(self, state, ctx):
        return state

    def __repr__(self):
        return f"ms.reduce.{self.label}"


def _points(ctx, gidx, cols):
    """Grid points as dicts: axis values, then outputs keyed by their column names."""
    coords = ctx.grid.coords(np.asarray(gidx, dtype=np.int64))
    rows = []
    for i in range(len(gidx)):
        row = {n: v[i].item() if isinstance(v[i], np.generic) else v[i]
               for n, v in coords.items()}
        for name, v in cols.items():
            row[ctx.column(name)] = ctx.decode(name, v[i].item())
        rows.append(row)
    return rows


class count_feasible(Reduction):
    """Number of admissible points: feasible (fits in memory) and inside every constraint."""

    label = "count_feasible()"

    def partial(self, chunk):
        return int(np.count_nonzero(chunk.admissible))

    def merge(self, a, b):
        return (a or 0) + (b or 0)

    def finalize(self, state, ctx):
        return int(state or 0)


class argmin(Reduction):
    """The admissible point with the smallest ``output`` (first in grid order on ties)."""

    sign = 1.0

    def __init__(self, output):
        self.output = _name(output, type(self).__name__)
        self.needs = (self.output,)
        self.label = f"{type(self).__name__}({self.output})"

    def partial(self, chunk):
        v = np.asarray(chunk.values[self.output], dtype=float) * self.sign
        ok = chunk.admissible & np.isfinite(v)
        if not ok.any():
            return None
        i = int(np.argmin(np.where(ok, v, np.inf)))
        return (float(v[i]), int(chunk.gidx(i)), chunk.rows([i]))

    def merge(self, a, b):
        if a is None or b is None:
            return a if b is None else b
        return min(a, b, key=lambda s: (s[0], s[1]))

    def finalize(self, state, ctx):
        return None if state is None else _points(ctx, [state[1]], state[2])[0]


class argmax(argmin):
    """The admissible point with the largest ``output`` (first in grid order on ties)."""

    sign = -1.0


class pareto(Reduction):
    """Pareto front of two outputs; prefix a name with "-" to maximise it.

    Each chunk keeps only its own front (a strided sample's front first discards the points it
    strictly dominates, then :func:`mlsysim_sym.solvers.optimize.pareto_front` runs on the
    survivors); fronts merge by running ``pareto_front`` on their union, ordered by flat index
    so that of two equal points the first in grid order stays.
    """

    _SAMPLE = 4096

    def __init__(self, x, y):
        x, y = _name(x, "pareto"), _name(y, "pareto")
        self.max_x, self.max_y = x.startswith("-"), y.startswith("-")
        self.x, self.y = x.lstrip("-").strip(), y.lstrip("-").strip()
        if self.x == self.y:
            raise SweepError(f"pareto needs two different outputs, got {x!r} and {y!r}")
        self.needs = (self.x, self.y)
        self.label = f"pareto({x}, {y})"

    def partial(self, chunk):
        sx = np.asarray(chunk.values[self.x], dtype=float)
        sy = np.asarray(chunk.values[self.y], dtype=float)
        sx, sy = (-sx if self.max_x else sx), (-sy if self.max_y else sy)
        ok = chunk.admissible & np.isfinite(sx) & np.isfinite(sy)
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            return None
        from ..solvers.optimize import pareto_front
        if idx.size > 4 * self._SAMPLE:
            sample = idx[:: idx.size // self._SAMPLE]
            f = sample[pareto_front(sx[sample], sy[sample])]
            fx, fy = sx[f], sy[f]          # fx ascending, fy strictly descending
            px, py = sx[idx], sy[idx]
            k = np.searchsorted(fx, px, side="right") - 1
            kk = np.maximum(k, 0)
            # strictly dominated: some front point is <= in both and < in one
            dominated = (k >= 0) & ((fy[kk] < py) | ((fy[kk] == py) & (fx[kk] < px)))
            idx = idx[~dominated]
        keep = idx[pareto_front(sx[idx], sy[idx])]
        keep.sort()
        return {"x": sx[keep], "y": sy[keep], "gidx": np.atleast_1d(chunk.gidx(keep)),
                "rows": chunk.rows(keep)}

    def merge(self, a, b):
        if a is None or b is None:
            return a if b is None else b
        from ..solvers.optimize import pareto_front
        g = np.concatenate([a["gidx"], b["gidx"]])
        order = np.argsort(g, kind="stable")
        x = np.concatenate([a["x"], b["x"]])[order]
        y = np.concatenate([a["y"], b["y"]])[order]
        keep = order[np.sort(pareto_front(x, y))]
        return {"x": np.concatenate([a["x"], b["x"]])[keep],
                "y": np.concatenate([a["y"], b["y"]])[keep], "gidx": g[keep],
                "rows": {k: np.concatenate([a["rows"][k], b["rows"][k]])[keep]
                         for k in a["rows"]}}

    def finalize(self, state, ctx):
        """The front's points (axis values and outputs), ordered by the first objective."""
        if state is None:
            return []
        order = np.lexsort((state["gidx"], state["y"], state["x"]))
        return _points(ctx, state["gidx"][order], {k: v[order] for k, v in state["rows"].items()})


class quantiles(Reduction):
    """Quantiles of ``output`` over the admissible points, from a log-bucketed histogram.

    Values fall into buckets ``(g^(k-1), g^k]`` with ``g = (1 + a) / (1 - a)`` (the DDSketch
    mapping: Masson, Rim and Lee, VLDB 2019); a quantile is reported as the bucket's centre
    ``2 g^k / (g + 1)``, within a relative error ``a`` (``relative_accuracy``, default 0.1%) of
    the exact order statistic at rank ``floor(q (n - 1))`` (numpy's ``method="lower"``).
    Negative values are bucketed by magnitude, zeros counted apart; NaN and infinities are
    left out. Merging adds bucket counts, so the answer does not depend on the chunking.
    """

    def __init__(self, output, q=(0.1, 0.5, 0.9), *, relative_accuracy=1e-3):
        self.output = _name(output, "quantiles")
        qs = np.atleast_1d(np.asarray(q, dtype=float)) if not isinstance(q, str) else None
        if qs is None or qs.size == 0 or not np.all((qs >= 0) & (qs <= 1)):
            raise SweepError(f"quantiles q must be numbers in [0, 1], got {q!r}")
        a = float(relative_accuracy) if isinstance(relative_accuracy, (int, float)) else -1.0
        if not 1e-6 <= a <= 0.5:
            raise SweepError(f"quantiles relative_accuracy must be in [1e-6, 0.5], got "
                             f"{relative_accuracy!r}")
        self.q, self.a = tuple(float(x) for x in qs), a
        self._log_g = math.log((1 + a) / (1 - a))
        self.needs = (self.output,)
        self.label = f"quantiles({self.output})"

    def _buckets(self, v):
        if v.size == 0:
            return None
        k = np.ceil(np.log(v) / self._log_g).astype(np.int64)
        lo = int(k.min())
        return (lo, np.bincount(k - lo))

    def partial(self, chunk):
        v = np.asarray(chunk.values[self.output], dtype=float)[chunk.admissible]
        v = v[np.isfinite(v)]
        return {"pos": self._buckets(v[v > 0]), "neg": self._buckets(-v[v < 0]),
                "zero": int(np.count_nonzero(v == 0)), "n": int(v.size)}

    @staticmethod
    def _add(a, b):
        if a is None or b is None:
            return a if b is None else b
        lo = min(a[0], b[0])
        hi = max(a[0] + a[1].size, b[0] + b[1].size)
        out = np.zeros(hi - lo, dtype=np.int64)
        out[a[0] - lo:a[0] - lo + a[1].size] += a[1]
        out[b[0] - lo:b[0] - lo + b[1].size] += b[1]
        return (lo, out)

    def merge(self, a, b):
        if a is None or b is None:
            return a if b is None else b
        return {"pos": self._add(a["pos"], b["pos"]), "neg": self._add(a["neg"], b["neg"]),
                "zero": a["zero"] + b["zero"], "n": a["n"] + b["n"]}

    def finalize(self, state, ctx):
        """{q: value in the output's unit}; NaN for every q when no point is admissible."""
        if not state or state["n"] == 0:
            return {q: float("nan") for q in self.q}
        g = math.exp(self._log_g)
        centre = lambda k: 2.0 * g ** k / (g + 1.0)  # noqa: E731
        keys, values = [], []
        if state["neg"] is not None:  # most negative first
            lo, c = state["neg"]
            ks = np.arange(lo, lo + c.size)[::-1]
            keys += [-centre(k) for k in ks]
            values += list(c[::-1])
        keys.append(0.0)
        values.append(state["zero"])
        if state["pos"] is not None:
            lo, c = state["pos"]
            ks = np.arange(lo, lo + c.size)
            keys += [centre(k) for k in ks]
            values += list(c)
        cum = np.cumsum(values)
        n = state["n"]
        out = {}
        for q in self.q:
            rank = math.floor(q * (n - 1))
            out[q] = float(keys[int(np.searchsorted(cum, rank, side="right"))])
        return out


class histogram(Reduction):
    """Counts of ``output`` over the admissible points in fixed bins (in the column's unit).

    ``bins`` is a number of equal bins over ``range=(low, high)`` (both required: the edges
    must be known before the first chunk so that chunk counts add up), equal in log10 with
    ``log=True``. Values below ``low``/above ``high`` are counted in ``under``/``over``.
    """

    def __init__(self, output, bins=20, range=None, *, log=False):  # noqa: A002
        self.output = _name(output, "histogram")
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) \
                or not 1 <= bins <= 10 ** 6:
            raise SweepError(f"histogram bins must be a whole number of bins in [1, 1e6], got "
                             f"{bins!r}")
        if range is None or len(range) != 2:
            raise SweepError(f"histogram of {self.output!r} needs range=(low, high) in the "
                             "output's unit, so that every chunk uses the same bins")
        self.bins, self.log, self._range = int(bins), bool(log), tuple(range)
        self.lo = self.hi = None
        self.needs = (self.output,)
        self.label = f"histogram({self.output})"

    def bind(self, unit):
        """Resolve the range in ``unit`` (called once the output's unit is known)."""
        from ..units import as_quantity
        lo, hi = (float(np.asarray(as_quantity(r, unit, what=f"histogram range of "
                                                             f"{self.output}").to(unit).magnitude))
                  for r in self._range)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi) or (self.log and lo <= 0):
            raise SweepError(f"histogram range of {self.output!r} must be low < high"
                             f"{' with low > 0 (log bins)' if self.log else ''}, got "
                             f"{self._range!r}")
        self.lo, self.hi = lo, hi

    def edges(self):
        if self.log:
            return np.logspace(math.log10(self.lo), math.log10(self.hi), self.bins + 1)
        return np.linspace(self.lo, self.hi, self.bins + 1)

    def partial(self, chunk):
        v = np.asarray(chunk.values[self.output], dtype=float)[chunk.admissible]
        v = v[np.isfinite(v)]
        t = np.log10(v[v > 0]) if self.log else v
        lo, hi = (math.log10(self.lo), math.log10(self.hi)) if self.log else (self.lo, self.hi)
        counts, _ = np.histogram(t, bins=self.bins, range=(lo, hi))
        return {"counts": counts.astype(np.int64), "under": int(np.count_nonzero(t < lo))
                + (int(np.count_nonzero(v <= 0)) if self.log else 0),
                "over": int(np.count_nonzero(t > hi))}

    def merge(self, a, b):
        if a is None or b is None:
            return a if b is None else b
        return {"counts": a["counts"] + b["counts"], "under": a["under"] + b["under"],
                "over": a["over"] + b["over"]}

    def finalize(self, state, ctx):
        """{"counts", "edges", "under", "over", "unit"}."""
        counts = np.zeros(self.bins, dtype=np.int64) if state is None else state["counts"]
        return {"counts": counts, "edges": self.edges(),
                "under": 0 if state is None else state["under"],
                "over": 0 if state is None else state["over"], "unit": ctx.units[self.output]}
